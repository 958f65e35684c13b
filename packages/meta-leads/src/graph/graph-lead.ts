import { z } from 'zod';

/** The fields asked of the Graph API for each lead. */
export const GRAPH_LEAD_FIELDS = [
  'id',
  'created_time',
  'ad_id',
  'ad_name',
  'adset_id',
  'adset_name',
  'campaign_id',
  'campaign_name',
  'form_id',
  'field_data',
  'is_organic',
  'platform',
  'custom_disclaimer_responses',
] as const;

// Graph answers ids and values as strings; a number or boolean is read as its text.
const text = z.union([z.string(), z.number(), z.boolean()]).transform(String);
const optionalText = text.nullish().transform((v) => v ?? undefined);

/** A lead as `GET /{leadgen_id}` answers it. Unknown fields are ignored. */
export const graphLeadSchema = z.object({
  id: text,
  created_time: optionalText,
  ad_id: optionalText,
  ad_name: optionalText,
  adset_id: optionalText,
  adset_name: optionalText,
  campaign_id: optionalText,
  campaign_name: optionalText,
  form_id: optionalText,
  platform: optionalText,
  is_organic: z.boolean().nullish(),
  field_data: z
    .array(
      z.object({
        name: z.string(),
        values: z
          .array(text)
          .nullish()
          .transform((v) => v ?? []),
      }),
    )
    .nullish()
    .transform((v) => v ?? []),
  custom_disclaimer_responses: z
    .array(z.object({ checkbox_key: z.string(), is_checked: text.nullish() }))
    .nullish()
    .transform((v) => v ?? []),
});

export type GraphLead = z.output<typeof graphLeadSchema>;
/** A lead as the Graph API writes it (what `buildGraphLead` and test servers produce). */
export type GraphLeadInput = z.input<typeof graphLeadSchema>;
