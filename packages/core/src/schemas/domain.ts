import { z } from 'zod';

/**
 * Domain schemas shared by every package. Stored rows and API bodies are
 * parsed with these once, at the edge; inside, the inferred types are trusted.
 * Secret fields hold secret-box envelopes (`…Encrypted`), never plain text.
 */

const id = z.string().min(1).max(200);
/** Meta ids exceed 2^53: always strings. */
const metaId = z.string().regex(/^\d{1,32}$/, 'must be a numeric id string');
const e164 = z.string().regex(/^\+[1-9]\d{6,14}$/, 'must be an E.164 phone number');
const country = z
  .string()
  .regex(/^[A-Za-z]{2}$/, 'must be an ISO 3166-1 alpha-2 country code')
  .transform((c) => c.toUpperCase());
const timeZone = z.string().refine((tz) => {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}, 'must be an IANA time zone');
const timestamp = z.date();

export const idSchema = id;
export const metaIdSchema = metaId;
export const e164Schema = e164;
export const countrySchema = country;
export const timeZoneSchema = timeZone;

// ---------------------------------------------------------------------------
// Tenant (client account)

export const tenantStatusSchema = z.enum(['active', 'suspended', 'archived']);

export const tenantSchema = z.object({
  id,
  name: z.string().min(1).max(255),
  status: tenantStatusSchema,
  /** Country for phone numbers written in national form. */
  defaultCountry: country,
  /** Default IANA time zone for quiet hours and appointments. */
  timeZone,
  facebookAppId: metaId.nullable(),
  facebookAppSecretEncrypted: z.string().nullable(),
  /** The secret being rotated out: webhooks signed with it still verify. */
  facebookAppSecretPreviousEncrypted: z.string().nullable(),
  metaVerifyTokenEncrypted: z.string().nullable(),
  settings: z.record(z.string(), z.unknown()),
  createdAt: timestamp,
  updatedAt: timestamp,
});
export type Tenant = z.infer<typeof tenantSchema>;

export const tenantInputSchema = z.object({
  id: id.optional(),
  name: z.string().min(1).max(255),
  status: tenantStatusSchema.default('active'),
  defaultCountry: country.default('IN'),
  timeZone: timeZone.default('UTC'),
  facebookAppId: metaId.nullable().default(null),
  facebookAppSecretEncrypted: z.string().nullable().default(null),
  facebookAppSecretPreviousEncrypted: z.string().nullable().default(null),
  metaVerifyTokenEncrypted: z.string().nullable().default(null),
  settings: z.record(z.string(), z.unknown()).default({}),
});
export type TenantInput = z.input<typeof tenantInputSchema>;

// ---------------------------------------------------------------------------
// Facebook page

export const facebookPageStatusSchema = z.enum(['active', 'needs_reauth', 'disabled']);

export const facebookPageSchema = z.object({
  id,
  clientAccountId: id,
  pageId: metaId,
  pageName: z.string().max(255).nullable(),
  accessTokenEncrypted: z.string().nullable(),
  webhookSubscribed: z.boolean(),
  status: facebookPageStatusSchema,
  /** Overrides the tenant's default country for this page's leads. */
  defaultCountry: country.nullable(),
  createdAt: timestamp,
  updatedAt: timestamp,
});
export type FacebookPage = z.infer<typeof facebookPageSchema>;

export const facebookPageInputSchema = z.object({
  id: id.optional(),
  clientAccountId: id,
  pageId: metaId,
  pageName: z.string().max(255).nullable().default(null),
  accessTokenEncrypted: z.string().nullable().default(null),
  webhookSubscribed: z.boolean().default(false),
  status: facebookPageStatusSchema.default('active'),
  defaultCountry: country.nullable().default(null),
});
export type FacebookPageInput = z.input<typeof facebookPageInputSchema>;

// ---------------------------------------------------------------------------
// WABA configuration

export const wabaProviderSchema = z.enum(['gupshup', 'cloud_api']);
export type WabaProviderName = z.infer<typeof wabaProviderSchema>;

export const wabaConfigurationSchema = z.object({
  id,
  clientAccountId: id,
  /** The business's WhatsApp number. */
  wabaNumber: e164,
  provider: wabaProviderSchema,
  displayName: z.string().max(255).nullable(),
  /** Gupshup API key or Cloud API access token, sealed. */
  credentialsEncrypted: z.string(),
  /** Secret that authenticates the provider's webhooks to us (Gupshup), sealed. */
  webhookSecretEncrypted: z.string().nullable(),
  /** Gupshup `appName`; Cloud API `phoneNumberId` and `businessAccountId`. */
  providerConfig: z.record(z.string(), z.unknown()),
  businessProfile: z.record(z.string(), z.unknown()),
  /** Messages per second for this number; default 80. */
  messagesPerSecond: z.number().int().positive().nullable(),
  status: z.enum(['active', 'disabled']),
  createdAt: timestamp,
  updatedAt: timestamp,
});
export type WabaConfiguration = z.infer<typeof wabaConfigurationSchema>;

export const wabaConfigurationInputSchema = z.object({
  id: id.optional(),
  clientAccountId: id,
  wabaNumber: e164,
  provider: wabaProviderSchema,
  displayName: z.string().max(255).nullable().default(null),
  credentialsEncrypted: z.string(),
  webhookSecretEncrypted: z.string().nullable().default(null),
  providerConfig: z.record(z.string(), z.unknown()).default({}),
  businessProfile: z.record(z.string(), z.unknown()).default({}),
  messagesPerSecond: z.number().int().positive().nullable().default(null),
  status: z.enum(['active', 'disabled']).default('active'),
});
export type WabaConfigurationInput = z.input<typeof wabaConfigurationInputSchema>;

// ---------------------------------------------------------------------------
// Bot profile

export const botProfileSchema = z.object({
  id,
  clientAccountId: id,
  profileName: z.string().min(1).max(255),
  /** Free-form personality: name, greeting, qualification questions, persona prompt… */
  personalityConfig: z.record(z.string(), z.unknown()),
  conversationStyle: z.string().max(100).nullable(),
  responseTone: z.string().max(100).nullable(),
  isDefault: z.boolean(),
  createdAt: timestamp,
  updatedAt: timestamp,
});
export type BotProfile = z.infer<typeof botProfileSchema>;

export const botProfileInputSchema = z.object({
  id: id.optional(),
  clientAccountId: id,
  profileName: z.string().min(1).max(255),
  personalityConfig: z.record(z.string(), z.unknown()).default({}),
  conversationStyle: z.string().max(100).nullable().default(null),
  responseTone: z.string().max(100).nullable().default(null),
  isDefault: z.boolean().default(false),
});
export type BotProfileInput = z.input<typeof botProfileInputSchema>;

// ---------------------------------------------------------------------------
// Lead

/** The known lead sources; any other non-empty label is accepted too. */
export const LEAD_SOURCES = ['WA Direct', 'Facebook Lead Ad', 'Referral', 'Website'] as const;
export type KnownLeadSource = (typeof LEAD_SOURCES)[number];
export const leadSourceSchema = z.string().min(1).max(100);
export type LeadSource = KnownLeadSource | (string & {});

export const leadStatusSchema = z.enum([
  'new',
  'contacted',
  'qualified',
  'appointment_booked',
  'unqualified',
  'closed_won',
  'closed_lost',
]);
export type LeadStatus = z.infer<typeof leadStatusSchema>;

const answerValue = z.union([z.string(), z.array(z.string())]);

export const leadSchema = z.object({
  id,
  clientAccountId: id,
  phone: e164.nullable(),
  name: z.string().max(255).nullable(),
  email: z.string().email().max(320).nullable(),
  source: leadSourceSchema,
  /** Every other source this lead arrived through, without duplicates. */
  additionalSources: z.array(leadSourceSchema),
  status: leadStatusSchema,
  facebookPageId: metaId.nullable(),
  leadFormId: metaId.nullable(),
  wabaConfigurationId: id.nullable(),
  botProfileId: id.nullable(),
  agentId: id.nullable(),
  /** Answers to form and bot questions, keyed by question. */
  answers: z.record(z.string(), answerValue),
  /** Source facts: ad, ad set and campaign ids, platform, organic and test flags… */
  attributes: z.record(z.string(), z.unknown()),
  timeZone: timeZone.nullable(),
  optedOut: z.boolean(),
  optedOutAt: timestamp.nullable(),
  lastInboundAt: timestamp.nullable(),
  lastOutboundAt: timestamp.nullable(),
  createdAt: timestamp,
  updatedAt: timestamp,
});
export type Lead = z.infer<typeof leadSchema>;

export const leadInputSchema = z.object({
  clientAccountId: id,
  phone: e164.nullable().default(null),
  name: z.string().max(255).nullable().default(null),
  email: z.string().email().max(320).nullable().default(null),
  source: leadSourceSchema.default('WA Direct'),
  status: leadStatusSchema.default('new'),
  facebookPageId: metaId.nullable().default(null),
  leadFormId: metaId.nullable().default(null),
  wabaConfigurationId: id.nullable().default(null),
  botProfileId: id.nullable().default(null),
  agentId: id.nullable().default(null),
  answers: z.record(z.string(), answerValue).default({}),
  attributes: z.record(z.string(), z.unknown()).default({}),
  timeZone: timeZone.nullable().default(null),
});
export type LeadInput = z.input<typeof leadInputSchema>;

/** Keys to set in and remove from a JSON record field, applied by the store in one write. */
const jsonMergeSchema = <V extends z.ZodType>(value: V) =>
  z.object({
    set: z.record(z.string(), value).optional(),
    remove: z.array(z.string()).max(1000).optional(),
  });

/**
 * Fields a caller may change on an existing lead. `answers` and `attributes`
 * replace the whole record; `mergeAnswers` and `mergeAttributes` set and
 * remove single keys at the database, so concurrent writers of other keys
 * are kept (`mergeAttributes.patch` merges into the object under a key, one
 * level down, for packages that keep a namespace of their own). `expectedUpdatedAt` applies the patch only to the version the
 * caller read (`ConflictError` `lead_modified` otherwise).
 */
export const leadPatchSchema = z
  .object({
    name: z.string().max(255).nullable(),
    email: z.string().email().max(320).nullable(),
    status: leadStatusSchema,
    wabaConfigurationId: id.nullable(),
    botProfileId: id.nullable(),
    agentId: id.nullable(),
    answers: z.record(z.string(), answerValue),
    attributes: z.record(z.string(), z.unknown()),
    mergeAnswers: jsonMergeSchema(answerValue),
    mergeAttributes: jsonMergeSchema(z.unknown()).extend({
      patch: z.record(z.string(), z.record(z.string(), z.unknown())).optional(),
    }),
    expectedUpdatedAt: timestamp,
    timeZone: timeZone.nullable(),
    optedOut: z.boolean(),
    lastInboundAt: timestamp.nullable(),
    lastOutboundAt: timestamp.nullable(),
  })
  .partial();
export type LeadPatch = z.input<typeof leadPatchSchema>;

// ---------------------------------------------------------------------------
// Message (conversation history)

export const messageDirectionSchema = z.enum(['inbound', 'outbound']);
export const messageStatusSchema = z.enum([
  'received',
  'queued',
  'sent',
  'delivered',
  'read',
  'failed',
  'held',
]);
export type MessageStatus = z.infer<typeof messageStatusSchema>;

export const messageSchema = z.object({
  id,
  clientAccountId: id,
  leadId: id,
  direction: messageDirectionSchema,
  /** text, template, image, document, video, audio, interactive, location, button_reply… */
  kind: z.string().min(1).max(50),
  /** What the lead reads or wrote, as text (rendered template, caption, reply title). */
  body: z.string().nullable(),
  /** The message as sent or received, for re-rendering and audits. */
  payload: z.record(z.string(), z.unknown()),
  status: messageStatusSchema,
  provider: z.string().max(50).nullable(),
  /** The id the provider answered the send with (Gupshup messageId, Cloud API wamid). */
  providerMessageId: z.string().max(255).nullable(),
  /** The other id of the same message (the WhatsApp wamid behind a Gupshup gsId). */
  providerAltId: z.string().max(255).nullable(),
  templateName: z.string().max(255).nullable(),
  errorCode: z.string().max(50).nullable(),
  errorReason: z.string().max(1000).nullable(),
  statusAt: timestamp.nullable(),
  createdAt: timestamp,
});
export type Message = z.infer<typeof messageSchema>;

export const messageInputSchema = z.object({
  id: id.optional(),
  clientAccountId: id,
  leadId: id,
  direction: messageDirectionSchema,
  kind: z.string().min(1).max(50),
  body: z.string().nullable().default(null),
  payload: z.record(z.string(), z.unknown()).default({}),
  status: messageStatusSchema,
  provider: z.string().max(50).nullable().default(null),
  providerMessageId: z.string().max(255).nullable().default(null),
  providerAltId: z.string().max(255).nullable().default(null),
  templateName: z.string().max(255).nullable().default(null),
  errorCode: z.string().max(50).nullable().default(null),
  errorReason: z.string().max(1000).nullable().default(null),
  createdAt: timestamp.optional(),
});
export type MessageInput = z.input<typeof messageInputSchema>;

// ---------------------------------------------------------------------------
// Agent

export const agentSchema = z.object({
  id,
  clientAccountId: id,
  name: z.string().min(1).max(255),
  email: z.string().email().max(320).nullable(),
  phone: e164.nullable(),
  calendarId: z.string().max(255).nullable(),
  active: z.boolean(),
  createdAt: timestamp,
  updatedAt: timestamp,
});
export type Agent = z.infer<typeof agentSchema>;

export const agentInputSchema = z.object({
  id: id.optional(),
  clientAccountId: id,
  name: z.string().min(1).max(255),
  email: z.string().email().max(320).nullable().default(null),
  phone: e164.nullable().default(null),
  calendarId: z.string().max(255).nullable().default(null),
  active: z.boolean().default(true),
});
export type AgentInput = z.input<typeof agentInputSchema>;

// ---------------------------------------------------------------------------
// Appointment

export const appointmentStatusSchema = z.enum(['scheduled', 'cancelled', 'completed', 'no_show']);

export const appointmentSchema = z.object({
  id,
  clientAccountId: id,
  leadId: id,
  agentId: id.nullable(),
  startsAt: timestamp,
  endsAt: timestamp,
  timeZone,
  status: appointmentStatusSchema,
  location: z.string().max(500).nullable(),
  meetingUrl: z.string().max(2000).nullable(),
  calendarEventId: z.string().max(255).nullable(),
  notes: z.string().max(5000).nullable(),
  createdAt: timestamp,
  updatedAt: timestamp,
});
export type Appointment = z.infer<typeof appointmentSchema>;

export const appointmentInputSchema = z
  .object({
    id: id.optional(),
    clientAccountId: id,
    leadId: id,
    agentId: id.nullable().default(null),
    startsAt: timestamp,
    endsAt: timestamp,
    timeZone: timeZone.default('UTC'),
    status: appointmentStatusSchema.default('scheduled'),
    location: z.string().max(500).nullable().default(null),
    meetingUrl: z.string().max(2000).nullable().default(null),
    calendarEventId: z.string().max(255).nullable().default(null),
    notes: z.string().max(5000).nullable().default(null),
  })
  .refine((a) => a.endsAt > a.startsAt, { message: 'endsAt must be after startsAt', path: ['endsAt'] });
export type AppointmentInput = z.input<typeof appointmentInputSchema>;

// ---------------------------------------------------------------------------
// Template usage log

export const templateCategorySchema = z.enum(['MARKETING', 'UTILITY', 'AUTHENTICATION']);
export type TemplateCategory = z.infer<typeof templateCategorySchema>;

export const templateUsageStatusSchema = z.enum(['sent', 'failed', 'refused']);

export const templateUsageRecordSchema = z.object({
  id,
  clientAccountId: id,
  templateName: z.string().min(1).max(255),
  language: z.string().max(20).nullable(),
  category: templateCategorySchema.nullable(),
  phoneNumber: e164,
  leadId: id.nullable(),
  agentId: id.nullable(),
  status: templateUsageStatusSchema,
  providerMessageId: z.string().max(255).nullable(),
  /** Stable reason or provider error code when not sent. */
  errorCode: z.string().max(100).nullable(),
  pricingCategory: z.string().max(50).nullable(),
  billable: z.boolean().nullable(),
  createdAt: timestamp,
});
export type TemplateUsageRecord = z.infer<typeof templateUsageRecordSchema>;

export const templateUsageInputSchema = z.object({
  clientAccountId: id,
  templateName: z.string().min(1).max(255),
  language: z.string().max(20).nullable().default(null),
  category: templateCategorySchema.nullable().default(null),
  phoneNumber: e164,
  leadId: id.nullable().default(null),
  agentId: id.nullable().default(null),
  status: templateUsageStatusSchema,
  providerMessageId: z.string().max(255).nullable().default(null),
  errorCode: z.string().max(100).nullable().default(null),
  pricingCategory: z.string().max(50).nullable().default(null),
  billable: z.boolean().nullable().default(null),
});
export type TemplateUsageInput = z.input<typeof templateUsageInputSchema>;
