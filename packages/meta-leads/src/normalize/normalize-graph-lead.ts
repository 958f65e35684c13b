import { type LeadInput, tryNormalizePhone } from '@leadrelay/core';
import { z } from 'zod';
import type { GraphLead } from '../graph/graph-lead.js';

/** The lead source every Lead Ads lead carries. */
export const FACEBOOK_LEAD_AD_SOURCE = 'Facebook Lead Ad';

export interface NormalizeGraphLeadOptions {
  clientAccountId: string;
  /** Country for phone numbers written in national form: the page's, else the tenant's. */
  defaultCountry?: string;
  /** The Meta page id the lead came from. */
  pageId?: string | null;
}

// The same rule core's lead schema applies, so a kept email is one it accepts.
const emailSchema = z.string().email().max(320);
const NAME_LIMIT = 255;
const PHONE_FIELDS = new Set(['phone_number', 'phone']);
const TRUE_VALUES = new Set(['1', 'true', 'yes', 'on']);
/** What Meta's Lead Ads Testing Tool writes into every field it was not given a value for. */
const TEST_TOOL_VALUE = /^<test lead: /i;

const PLATFORMS: Record<string, string> = {
  fb: 'facebook',
  facebook: 'facebook',
  ig: 'instagram',
  instagram: 'instagram',
};

/** Graph writes `2026-11-25T09:15:02+0000`; ISO wants `+00:00`. */
function isoTime(value: string | undefined): string | null {
  if (!value) return null;
  const time = Date.parse(value.replace(/([+-]\d{2})(\d{2})$/, '$1:$2'));
  return Number.isNaN(time) ? null : new Date(time).toISOString();
}

const clip = (value: string) => (value.length > NAME_LIMIT ? value.slice(0, NAME_LIMIT) : value);

/**
 * Turns a Graph API lead into core's `LeadInput`:
 * - name: `full_name`, else `first_name` + `last_name`;
 * - phone: E.164 with the given default country; a number that does not
 *   parse stays in `answers` under its field name;
 * - email: trimmed, lower-cased and validated; an invalid one stays in `answers`;
 * - every other field, and each consent checkbox (`custom_disclaimer_responses`,
 *   `"1"`/`"0"`), in `answers` (one value as a string, several as a list);
 * - `attributes`: leadgenId, formId, adId, adName, adsetId, adsetName,
 *   campaignId, campaignName, platform (`facebook`/`instagram`), isOrganic,
 *   isTest, createdTime (ISO), consents (checkbox → boolean);
 * - source `Facebook Lead Ad`.
 *
 * `isTest` is true when the form has a truthy `is_test` field, or when a value
 * is the testing tool's placeholder (`<test lead: dummy data for …>`). Meta
 * gives no reliable flag: a test lead created with real-looking values through
 * the testing tool or `/{form_id}/test_leads` is not recognised.
 *
 * @example
 * const input = normalizeGraphLead(graphLead, { clientAccountId: tenant.id, defaultCountry: 'IN', pageId });
 * await store.leads.upsertByPhone({ ...input, phone: input.phone! });
 */
export function normalizeGraphLead(lead: GraphLead, options: NormalizeGraphLeadOptions): LeadInput {
  const answers: Record<string, string | string[]> = {};
  let fullName: string | null = null;
  let firstName: string | null = null;
  let lastName: string | null = null;
  let phone: string | null = null;
  let email: string | null = null;
  let isTest = false;

  for (const field of lead.field_data) {
    const key = field.name.trim();
    const values = field.values.map((v) => v.trim()).filter((v) => v !== '');
    if (values.some((v) => TEST_TOOL_VALUE.test(v))) isTest = true;
    const first = values[0];
    const lower = key.toLowerCase();
    if (lower === 'is_test') {
      if (first !== undefined && TRUE_VALUES.has(first.toLowerCase())) isTest = true;
      continue;
    }
    if (first === undefined) continue;
    if (lower === 'full_name' && fullName === null) {
      fullName = first;
      continue;
    }
    if (lower === 'first_name' && firstName === null) {
      firstName = first;
      continue;
    }
    if (lower === 'last_name' && lastName === null) {
      lastName = first;
      continue;
    }
    if (PHONE_FIELDS.has(lower) && phone === null) {
      phone = tryNormalizePhone(
        first,
        options.defaultCountry ? { defaultCountry: options.defaultCountry } : {},
      );
      if (phone !== null) continue;
    } else if (lower === 'email' && email === null) {
      const candidate = first.toLowerCase();
      if (emailSchema.safeParse(candidate).success) {
        email = candidate;
        continue;
      }
    }
    answers[key] = values.length === 1 ? first : values;
  }

  const consents: Record<string, boolean> = {};
  for (const response of lead.custom_disclaimer_responses) {
    const checked = (response.is_checked ?? '').trim();
    consents[response.checkbox_key] = TRUE_VALUES.has(checked.toLowerCase());
    const key = response.checkbox_key in answers ? `consent:${response.checkbox_key}` : response.checkbox_key;
    answers[key] = checked;
  }

  const name = fullName ?? ([firstName, lastName].filter(Boolean).join(' ') || null);
  const platform = lead.platform ? (PLATFORMS[lead.platform.toLowerCase()] ?? lead.platform) : null;
  const attributes: Record<string, unknown> = { leadgenId: lead.id };
  const put = (key: string, value: unknown) => {
    if (value !== undefined && value !== null && value !== '') attributes[key] = value;
  };
  put('formId', lead.form_id);
  put('adId', lead.ad_id);
  put('adName', lead.ad_name);
  put('adsetId', lead.adset_id);
  put('adsetName', lead.adset_name);
  put('campaignId', lead.campaign_id);
  put('campaignName', lead.campaign_name);
  put('platform', platform);
  attributes.isOrganic = lead.is_organic ?? !lead.ad_id;
  attributes.isTest = isTest;
  put('createdTime', isoTime(lead.created_time));
  if (Object.keys(consents).length > 0) attributes.consents = consents;

  const formId = lead.form_id && /^\d{1,32}$/.test(lead.form_id) ? lead.form_id : null;
  return {
    clientAccountId: options.clientAccountId,
    phone,
    name: name === null ? null : clip(name),
    email,
    source: FACEBOOK_LEAD_AD_SOURCE,
    facebookPageId: options.pageId ?? null,
    leadFormId: formId,
    answers,
    attributes,
  };
}
