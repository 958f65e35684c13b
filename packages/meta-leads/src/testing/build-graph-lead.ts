import type { GraphLeadInput } from '../graph/graph-lead.js';

export interface BuildGraphLeadOptions {
  leadgenId: string;
  fullName?: string;
  firstName?: string;
  lastName?: string;
  phone?: string;
  email?: string;
  /** Other answers by field name. */
  fields?: Record<string, string | string[]>;
  consents?: Record<string, boolean>;
  formId?: string;
  adId?: string;
  adName?: string;
  adsetId?: string;
  adsetName?: string;
  campaignId?: string;
  campaignName?: string;
  /** `fb` (default) or `ig`. */
  platform?: string;
  isOrganic?: boolean;
  /** Graph's format, e.g. `2026-11-25T09:15:02+0000`; default now. */
  createdTime?: string;
}

/**
 * A lead as the Graph API answers `GET /{leadgen_id}`, for msw handlers and
 * local test servers.
 *
 * @example buildGraphLead({ leadgenId: '9000000000000001', fullName: 'Priya Sharma', phone: '+919812345678' })
 */
export function buildGraphLead(options: BuildGraphLeadOptions): GraphLeadInput {
  const fieldData: { name: string; values: string[] }[] = [];
  const add = (name: string, value: string | string[] | undefined) => {
    if (value !== undefined) fieldData.push({ name, values: Array.isArray(value) ? value : [value] });
  };
  add('full_name', options.fullName);
  add('first_name', options.firstName);
  add('last_name', options.lastName);
  add('phone_number', options.phone);
  add('email', options.email);
  for (const [name, value] of Object.entries(options.fields ?? {})) add(name, value);
  const organic = options.isOrganic ?? false;
  return {
    id: options.leadgenId,
    created_time: options.createdTime ?? new Date().toISOString().replace(/\.\d{3}Z$/, '+0000'),
    ...(organic
      ? {}
      : {
          ad_id: options.adId ?? '23850000000001',
          ...(options.adName !== undefined ? { ad_name: options.adName } : {}),
          adset_id: options.adsetId ?? '23850000000002',
          ...(options.adsetName !== undefined ? { adset_name: options.adsetName } : {}),
          campaign_id: options.campaignId ?? '23850000000003',
          ...(options.campaignName !== undefined ? { campaign_name: options.campaignName } : {}),
        }),
    form_id: options.formId ?? '770000000000001',
    platform: options.platform ?? 'fb',
    is_organic: organic,
    field_data: fieldData,
    ...(options.consents
      ? {
          custom_disclaimer_responses: Object.entries(options.consents).map(([checkbox_key, checked]) => ({
            checkbox_key,
            is_checked: checked ? '1' : '0',
          })),
        }
      : {}),
  };
}
