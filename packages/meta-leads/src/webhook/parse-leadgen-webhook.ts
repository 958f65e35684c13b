import { parseOrThrow, ValidationError } from '@leadrelay/core';
import {
  type LeadgenEntry,
  type LeadgenWebhook,
  metaWebhookEnvelopeSchema,
  pageWebhookSchema,
} from './leadgen-webhook.js';
import { readLeadgenWebhookFast } from './read-leadgen-webhook-fast.js';

const ID_KEYS = new Set(['id', 'leadgen_id', 'page_id', 'form_id', 'ad_id', 'adgroup_id']);

/**
 * A sender that wrote an id as a JSON number loses digits past 2^53 in
 * `JSON.parse`; reading the number's source text keeps every digit.
 */
function reviveIdSource(this: unknown, key: string, value: unknown, context?: { source?: string }): unknown {
  if (typeof value === 'number' && ID_KEYS.has(key) && context?.source !== undefined) return context.source;
  return value;
}

// TypeScript's lib does not know the reviver's third (source) argument yet.
type Reviver = (this: unknown, key: string, value: unknown) => unknown;

function hasNumericId(json: unknown): boolean {
  const entries = (json as { entry?: unknown })?.entry;
  if (!Array.isArray(entries)) return false;
  for (const entry of entries) {
    if (typeof entry?.id === 'number') return true;
    const changes = entry?.changes;
    if (!Array.isArray(changes)) continue;
    for (const change of changes) {
      const value = change?.value;
      if (value === null || typeof value !== 'object') continue;
      for (const key of ID_KEYS) if (typeof value[key] === 'number') return true;
    }
  }
  return false;
}

const utf8 = new TextDecoder('utf-8');

function parseJsonText(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new ValidationError('Body is not valid JSON', { code: 'invalid_json', cause: error });
  }
}

/**
 * Parses the JSON text of a body. Ids sent as JSON numbers are converted to
 * their exact digits. Throws `ValidationError` code `invalid_json`. Used to
 * read the page ids before the tenant (and so the secret) is known.
 *
 * @example const json = parseMetaWebhookJson(rawBody); const webhook = toLeadgenWebhook(json);
 */
export function parseMetaWebhookJson(body: string | Uint8Array): unknown {
  const text = typeof body === 'string' ? body : utf8.decode(body);
  const json = parseJsonText(text);
  return hasNumericId(json) ? JSON.parse(text, reviveIdSource as Reviver) : json;
}

/**
 * Validates an already-parsed webhook body and reshapes it. Ids must be
 * strings here: a number past 2^53 has already lost digits.
 * Throws `ValidationError` (code `validation_failed`) naming the bad path.
 *
 * @example const webhook = toLeadgenWebhook(JSON.parse(text));
 */
export function toLeadgenWebhook(json: unknown): LeadgenWebhook {
  return readLeadgenWebhookFast(json) ?? toLeadgenWebhookWithSchema(json);
}

/**
 * The zod path alone: the reference the fast reader is tested against, and
 * what produces the error when the fast reader declines.
 *
 * @example toLeadgenWebhookWithSchema(json) // same result as toLeadgenWebhook(json), slower
 */
export function toLeadgenWebhookWithSchema(json: unknown): LeadgenWebhook {
  const { object } = parseOrThrow(metaWebhookEnvelopeSchema, json, 'Meta webhook');
  if (object !== 'page') return { object, entries: [] };
  const page = parseOrThrow(pageWebhookSchema, json, 'Meta webhook');
  const entries: LeadgenEntry[] = page.entry.map((entry) => {
    const result: LeadgenEntry = { pageId: entry.id, time: entry.time, changes: [], ignoredFields: [] };
    for (const change of entry.changes ?? []) {
      if (change.field !== 'leadgen') {
        result.ignoredFields.push(change.field);
        continue;
      }
      // Validated by the schema's refinement above.
      const value = change.value as Record<string, unknown>;
      result.changes.push({
        leadgenId: value.leadgen_id as string,
        pageId: (value.page_id as string | undefined) ?? entry.id,
        formId: value.form_id as string,
        adId: (value.ad_id as string | null | undefined) ?? null,
        adgroupId: (value.adgroup_id as string | null | undefined) ?? null,
        createdTime: (value.created_time as number | undefined) ?? null,
      });
    }
    return result;
  });
  return { object, entries };
}

/**
 * Parses and validates a Meta webhook body (after its signature verified).
 * Every entry and every change is read; `leadgen` changes are validated and
 * returned, other fields are listed as ignored. Objects other than `page`
 * come back with no entries. Ids a sender wrote as JSON numbers are kept
 * digit for digit. Throws `ValidationError` with the reason: code
 * `invalid_json`, or `validation_failed` with the path of the bad field.
 *
 * @example
 * const webhook = parseLeadgenWebhook(rawBody);
 * for (const entry of webhook.entries) for (const change of entry.changes) queue(change.leadgenId);
 */
export function parseLeadgenWebhook(body: string | Uint8Array): LeadgenWebhook {
  const text = typeof body === 'string' ? body : utf8.decode(body);
  let json = parseJsonText(text);
  // The common case: string ids, valid shape, one pass.
  const fast = readLeadgenWebhookFast(json);
  if (fast !== undefined) return fast;
  if (hasNumericId(json)) json = JSON.parse(text, reviveIdSource as Reviver);
  return toLeadgenWebhook(json);
}
