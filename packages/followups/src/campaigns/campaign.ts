import { idSchema, leadStatusSchema } from '@leadrelay/core';
import { z } from 'zod';
import { conditionSchema } from '../conditions/condition-schema.js';
import { durationSchema } from '../time/duration.js';
import { isValidTimeZone } from '../time/zoned-time.js';

/**
 * The campaign model. A campaign belongs to one tenant; every saved change
 * bumps `version`, and enrolments keep running on the version they started
 * with (stored in `follow_up_campaign_versions`).
 */

const hhmm = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'must be a 24-hour time HH:MM');
const timeZone = z.string().refine(isValidTimeZone, 'must be an IANA time zone');

/**
 * A template parameter: a literal, or a JSON Logic expression over the lead
 * snapshot such as `{"var": "lead.name"}` or `{"var": ["lead.name", "there"]}`.
 */
export const parameterValueSchema = z.union([z.string(), z.number(), z.boolean(), conditionSchema]);
export type ParameterValue = z.infer<typeof parameterValueSchema>;

export const templateSpecSchema = z.object({
  type: z.literal('template'),
  name: z.string().regex(/^[a-z0-9_]{1,512}$/, 'must be lower-case letters, digits and underscores'),
  language: z.string().min(2).max(20).optional(),
  parameters: z
    .object({
      body: z.union([z.array(parameterValueSchema), z.record(z.string(), parameterValueSchema)]).optional(),
    })
    .optional(),
});
export type TemplateSpec = z.infer<typeof templateSpecSchema>;

export const textSpecSchema = z.object({
  type: z.literal('text'),
  /** Free text with `{{lead.name}}` or `{{lead.firstName|there}}` placeholders (path, optional default). */
  text: z.string().min(1).max(4096),
  /** Sent instead when the 24-hour window is closed; without it the step is skipped. */
  fallbackTemplate: templateSpecSchema.omit({ type: true }).optional(),
});
export type TextSpec = z.infer<typeof textSpecSchema>;

export const stepMessageSchema = z.discriminatedUnion('type', [templateSpecSchema, textSpecSchema]);
export type StepMessage = z.infer<typeof stepMessageSchema>;

export const campaignStepSchema = z.object({
  id: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be 1–64 letters, digits, _ or -'),
  /** Wait before this step: from enrolment for the first step, from the previous step's send otherwise. */
  delay: durationSchema,
  message: stepMessageSchema,
  /** Evaluated when the step is due; a false condition skips the step (the next one still follows). */
  condition: conditionSchema.optional(),
});
export type CampaignStep = z.infer<typeof campaignStepSchema>;

export const triggerTypeSchema = z.enum(['lead_created', 'lead_updated', 'inbound_message', 'no_reply']);
export type TriggerType = z.infer<typeof triggerTypeSchema>;

export const campaignTriggerSchema = z
  .object({
    type: triggerTypeSchema,
    /** For `no_reply`: how long the lead stays silent before the first step's delay starts. */
    after: durationSchema.optional(),
    condition: conditionSchema.optional(),
  })
  .refine((t) => t.type !== 'no_reply' || t.after !== undefined, {
    message: 'a no_reply trigger needs "after" (an ISO-8601 duration)',
    path: ['after'],
  });
export type CampaignTrigger = z.infer<typeof campaignTriggerSchema>;

export const exitRulesSchema = z.object({
  onReply: z.boolean().default(true),
  onAppointmentBooked: z.boolean().default(true),
  /** Opting out always stops a campaign; `false` is refused. */
  onOptOut: z.literal(true).default(true),
  leadStatusIn: z.array(leadStatusSchema).default([]),
});
export type ExitRules = z.infer<typeof exitRulesSchema>;

export const campaignScheduleSchema = z.object({
  quietHours: z.object({ start: hhmm, end: hhmm }).nullable().default({ start: '21:00', end: '09:00' }),
  allowedDays: z.array(z.number().int().min(1).max(7)).min(1).default([1, 2, 3, 4, 5, 6, 7]),
  /** Used when a lead has no zone of its own and its phone's country is not in the table (before the tenant's). */
  timeZone: timeZone.optional(),
});
export type CampaignSchedule = z.infer<typeof campaignScheduleSchema>;

export const reentrySchema = z.object({
  mode: z.enum(['never', 'after_exit', 'always']).default('never'),
  /** Minimum time between the end of one enrolment (`after_exit`) or its start (`always`) and the next. */
  cooldown: durationSchema.optional(),
});
export type Reentry = z.infer<typeof reentrySchema>;

export const campaignStatusSchema = z.enum(['draft', 'active', 'paused', 'archived']);
export type CampaignStatus = z.infer<typeof campaignStatusSchema>;

const definitionShape = {
  name: z.string().min(1).max(255),
  description: z.string().max(2000).nullable().default(null),
  trigger: campaignTriggerSchema,
  steps: z
    .array(campaignStepSchema)
    .min(1)
    .max(50)
    .superRefine((steps, ctx) => {
      const seen = new Set<string>();
      steps.forEach((s, i) => {
        if (seen.has(s.id))
          ctx.addIssue({ code: 'custom', message: `duplicate step id "${s.id}"`, path: [i, 'id'] });
        seen.add(s.id);
      });
    }),
  exitRules: exitRulesSchema.default({
    onReply: true,
    onAppointmentBooked: true,
    onOptOut: true,
    leadStatusIn: [],
  }),
  schedule: campaignScheduleSchema.default({
    quietHours: { start: '21:00', end: '09:00' },
    allowedDays: [1, 2, 3, 4, 5, 6, 7],
  }),
  /** Follow-up sends to one lead in any rolling 24 hours, across the tenant's campaigns. */
  maxSendsPerLeadPerDay: z.number().int().min(1).max(100).default(3),
  reentry: reentrySchema.default({ mode: 'never' }),
};

/** What a caller supplies to create a campaign. */
export const campaignInputSchema = z.object({
  id: idSchema.optional(),
  clientAccountId: idSchema,
  status: campaignStatusSchema.default('draft'),
  ...definitionShape,
});
export type CampaignInput = z.input<typeof campaignInputSchema>;
export type ParsedCampaignInput = z.output<typeof campaignInputSchema>;

/** What a caller may change; any change to the definition bumps the version. */
export const campaignPatchSchema = z.object({ status: campaignStatusSchema, ...definitionShape }).partial();
export type CampaignPatch = z.input<typeof campaignPatchSchema>;

export const campaignSchema = z.object({
  id: idSchema,
  clientAccountId: idSchema,
  status: campaignStatusSchema,
  version: z.number().int().min(1),
  ...definitionShape,
  createdAt: z.date(),
  updatedAt: z.date(),
});
export type Campaign = z.infer<typeof campaignSchema>;

/** The versioned part of a campaign: everything except identity, status and timestamps. */
export type CampaignDefinition = Pick<
  Campaign,
  | 'name'
  | 'description'
  | 'trigger'
  | 'steps'
  | 'exitRules'
  | 'schedule'
  | 'maxSendsPerLeadPerDay'
  | 'reentry'
>;

/**
 * The definition fields of a campaign, in a stable order (what a version stores).
 *
 * @example const def = campaignDefinition(campaign);
 */
export function campaignDefinition(c: CampaignDefinition): CampaignDefinition {
  return {
    name: c.name,
    description: c.description,
    trigger: c.trigger,
    steps: c.steps,
    exitRules: c.exitRules,
    schedule: c.schedule,
    maxSendsPerLeadPerDay: c.maxSendsPerLeadPerDay,
    reentry: c.reentry,
  };
}
