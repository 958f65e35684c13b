import { z } from 'zod';

/**
 * The Meta Lead Ads webhook (object `page`, field `leadgen`) as zod schemas
 * and the parsed, camel-cased shape the rest of the package works with.
 * Every Meta id stays a string: they exceed 2^53.
 */

const metaId = z.string().regex(/^\d{1,32}$/, 'must be a numeric id string');

/** One `leadgen` change's `value`. `ad_id`/`adgroup_id` are absent for organic leads. */
export const leadgenChangeValueSchema = z.object({
  leadgen_id: metaId,
  page_id: metaId.optional(),
  form_id: metaId,
  ad_id: metaId.nullish(),
  adgroup_id: metaId.nullish(),
  created_time: z.number().int().nonnegative().optional(),
});

const changeSchema = z
  .object({ field: z.string(), value: z.unknown().optional() })
  .superRefine((change, ctx) => {
    if (change.field !== 'leadgen') return;
    const result = leadgenChangeValueSchema.safeParse(change.value);
    if (result.success) return;
    for (const issue of result.error.issues) {
      ctx.addIssue({ code: 'custom', message: issue.message, path: ['value', ...issue.path] });
    }
  });

const entrySchema = z.object({
  id: metaId,
  time: z.number().int().nonnegative(),
  changes: z.array(changeSchema).optional(),
});

/** A webhook body for object `page`, validated but not yet reshaped. */
export const pageWebhookSchema = z.object({
  object: z.literal('page'),
  entry: z.array(entrySchema),
});

/** Any Meta webhook body: only `object` is known before routing on it. */
export const metaWebhookEnvelopeSchema = z.object({ object: z.string().min(1) });

/** One lead announced by a webhook. */
export interface LeadgenChange {
  leadgenId: string;
  /** `value.page_id`, or the entry's page id when the change omits it. */
  pageId: string;
  formId: string;
  adId: string | null;
  adgroupId: string | null;
  /** Unix seconds, when Meta sent it. */
  createdTime: number | null;
}

/** One `entry[]` item: one page, its leadgen changes and the fields it ignored. */
export interface LeadgenEntry {
  pageId: string;
  /** Unix seconds: when Meta first produced the event (retries keep it). */
  time: number;
  changes: LeadgenChange[];
  /** Fields of changes that are not `leadgen` (answered 200, not processed). */
  ignoredFields: string[];
}

/** A parsed Meta webhook. `entries` is empty when `object` is not `page`. */
export interface LeadgenWebhook {
  object: string;
  entries: LeadgenEntry[];
}
