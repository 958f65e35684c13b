import type { LeadgenChange, LeadgenEntry, LeadgenWebhook } from './leadgen-webhook.js';

/**
 * A hand-written reader for the hot path: it accepts exactly what the zod
 * schemas in `leadgen-webhook.ts` accept and builds the same result, but in
 * one pass without allocating issue lists. When anything is off it answers
 * `undefined` and the caller runs the zod schemas, which produce the error
 * with its path. A property test holds the two to identical results.
 */

function isMetaId(value: unknown): value is string {
  if (typeof value !== 'string') return false;
  const length = value.length;
  if (length === 0 || length > 32) return false;
  for (let i = 0; i < length; i++) {
    const c = value.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isUnixTime(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

/**
 * Ids already checked in this body. A batch repeats its page, form, ad and ad
 * set ids in every change; comparing with the last good value is far cheaper
 * than checking the digits again, and a string equal to a valid id is valid.
 */
interface SeenIds {
  page: string | null;
  form: string | null;
  ad: string | null;
  adgroup: string | null;
}

function readChange(value: unknown, entryPageId: string, seen: SeenIds): LeadgenChange | undefined {
  if (!isRecord(value)) return undefined;
  const { leadgen_id, page_id, form_id, ad_id, adgroup_id, created_time } = value;
  if (!isMetaId(leadgen_id)) return undefined;
  if (seen.form === null || form_id !== seen.form) {
    if (!isMetaId(form_id)) return undefined;
    seen.form = form_id;
  }
  if (page_id !== undefined && (seen.page === null || page_id !== seen.page)) {
    if (!isMetaId(page_id)) return undefined;
    seen.page = page_id;
  }
  if (ad_id !== undefined && ad_id !== null && (seen.ad === null || ad_id !== seen.ad)) {
    if (!isMetaId(ad_id)) return undefined;
    seen.ad = ad_id;
  }
  if (
    adgroup_id !== undefined &&
    adgroup_id !== null &&
    (seen.adgroup === null || adgroup_id !== seen.adgroup)
  ) {
    if (!isMetaId(adgroup_id)) return undefined;
    seen.adgroup = adgroup_id;
  }
  if (created_time !== undefined && !isUnixTime(created_time)) return undefined;
  return {
    leadgenId: leadgen_id,
    pageId: (page_id as string | undefined) ?? entryPageId,
    formId: form_id as string,
    adId: (ad_id as string | null | undefined) ?? null,
    adgroupId: (adgroup_id as string | null | undefined) ?? null,
    createdTime: created_time ?? null,
  };
}

/** The fast reader: the parsed webhook, or `undefined` when the zod path must decide. */
export function readLeadgenWebhookFast(json: unknown): LeadgenWebhook | undefined {
  if (!isRecord(json)) return undefined;
  const object = json.object;
  if (typeof object !== 'string' || object.length === 0) return undefined;
  if (object !== 'page') return { object, entries: [] };
  const rawEntries = json.entry;
  if (!Array.isArray(rawEntries)) return undefined;
  const entries: LeadgenEntry[] = new Array(rawEntries.length);
  const seen: SeenIds = { page: null, form: null, ad: null, adgroup: null };
  for (let e = 0; e < rawEntries.length; e++) {
    const entry = rawEntries[e];
    if (!isRecord(entry)) return undefined;
    const { id, time, changes: rawChanges } = entry;
    if (!isMetaId(id) || !isUnixTime(time)) return undefined;
    const result: LeadgenEntry = { pageId: id, time, changes: [], ignoredFields: [] };
    if (rawChanges !== undefined) {
      if (!Array.isArray(rawChanges)) return undefined;
      for (let c = 0; c < rawChanges.length; c++) {
        const change = rawChanges[c];
        if (!isRecord(change) || typeof change.field !== 'string') return undefined;
        if (change.field !== 'leadgen') {
          result.ignoredFields.push(change.field);
          continue;
        }
        const parsed = readChange(change.value, id, seen);
        if (parsed === undefined) return undefined;
        result.changes.push(parsed);
      }
    }
    entries[e] = result;
  }
  return { object, entries };
}
