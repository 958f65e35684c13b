import { templateCategorySchema } from '@leadrelay/core';
import { z } from 'zod';

/**
 * A WhatsApp message template as registered for one tenant: what WhatsApp
 * approved (category, status, components) and what LeadRelay needs to send
 * and render it (the body text with its `{{…}}` placeholders, the Gupshup
 * template id).
 */

export const templateStatusSchema = z.enum(['APPROVED', 'PENDING', 'REJECTED', 'PAUSED', 'DISABLED']);
export type TemplateStatus = z.infer<typeof templateStatusSchema>;

export const templateHeaderSchema = z.discriminatedUnion('format', [
  z.object({ format: z.literal('TEXT'), text: z.string().min(1).max(60) }),
  z.object({ format: z.literal('IMAGE') }),
  z.object({ format: z.literal('VIDEO') }),
  z.object({ format: z.literal('DOCUMENT') }),
  z.object({ format: z.literal('LOCATION') }),
]);
export type TemplateHeader = z.infer<typeof templateHeaderSchema>;

export const templateButtonSchema = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('QUICK_REPLY'),
    text: z.string().min(1).max(25),
  }),
  z.object({
    type: z.literal('URL'),
    text: z.string().min(1).max(25),
    /** May end in `{{1}}`: the suffix is then a parameter of the send. */
    url: z.string().min(1).max(2000),
  }),
  z.object({
    type: z.literal('PHONE_NUMBER'),
    text: z.string().min(1).max(25),
    phoneNumber: z.string().min(1).max(20),
  }),
]);
export type TemplateButton = z.infer<typeof templateButtonSchema>;

/** The parameters a template takes, derived from its texts by `templateParameterSpec`. */
export interface TemplateParameterSpec {
  /** `positional` for `{{1}}`-style placeholders, `named` for `{{first_name}}`. */
  format: 'positional' | 'named';
  /** Placeholder names of a TEXT header, in order of first appearance. */
  header: string[];
  /** The media a media header needs, or `null`. */
  headerMedia: 'image' | 'video' | 'document' | 'location' | null;
  /** Placeholder names of the body, in order of first appearance. */
  body: string[];
  /** Buttons whose send needs a value: URL buttons with a `{{1}}` suffix. */
  buttons: { index: number; type: 'url' }[];
}

export const wabaTemplateSchema = z.object({
  id: z.string().min(1),
  clientAccountId: z.string().min(1),
  name: z.string().min(1).max(512),
  language: z.string().min(2).max(20),
  category: templateCategorySchema,
  status: templateStatusSchema,
  header: templateHeaderSchema.nullable(),
  /** The body as approved, with `{{1}}` or `{{name}}` placeholders. */
  bodyText: z.string().min(1).max(1024),
  footerText: z.string().max(60).nullable(),
  buttons: z.array(templateButtonSchema).max(10),
  /** Gupshup's template id (a uuid); Cloud API sends by name and leaves it `null`. */
  providerTemplateId: z.string().max(255).nullable(),
  createdAt: z.date(),
  updatedAt: z.date(),
});
export type WabaTemplate = z.infer<typeof wabaTemplateSchema>;

export const wabaTemplateInputSchema = z.object({
  clientAccountId: z.string().min(1).max(200),
  name: z
    .string()
    .min(1)
    .max(512)
    .regex(/^[a-z0-9_]+$/, 'must be lower-case letters, digits and underscores'),
  language: z
    .string()
    .min(2)
    .max(20)
    .regex(/^[a-z]{2,3}(_[A-Za-z]{2,4})?$/, 'must be a language code such as en or en_US'),
  category: templateCategorySchema,
  status: templateStatusSchema.default('APPROVED'),
  header: templateHeaderSchema.nullable().default(null),
  bodyText: z.string().min(1).max(1024),
  footerText: z.string().max(60).nullable().default(null),
  buttons: z.array(templateButtonSchema).max(10).default([]),
  providerTemplateId: z.string().max(255).nullable().default(null),
});
export type WabaTemplateInput = z.input<typeof wabaTemplateInputSchema>;
export type WabaTemplateRecord = z.output<typeof wabaTemplateInputSchema>;
