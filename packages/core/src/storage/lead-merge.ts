import type { z } from 'zod';
import { ValidationError } from '../errors/errors.js';
import { type Lead, type LeadInput, leadInputSchema } from '../schemas/domain.js';
import { parseOrThrow } from '../schemas/parse.js';

/** A lead input after parsing (defaults applied). */
export type ParsedLeadInput = z.output<typeof leadInputSchema>;

/**
 * True for values a merge may overwrite: null, `""`, `[]` and `{}`.
 * The SQL adapter applies the same rule inside its upsert statement.
 *
 * @example isEmptyLeadValue([]); // true — an empty answer may be filled by a later arrival
 */
export function isEmptyLeadValue(value: unknown): boolean {
  if (value === null || value === undefined || value === '') return true;
  if (Array.isArray(value)) return value.length === 0;
  if (typeof value === 'object' && !(value instanceof Date)) return Object.keys(value).length === 0;
  return false;
}

function mergeRecord<V>(existing: Record<string, V>, incoming: Record<string, V>): Record<string, V> {
  const merged: Record<string, V> = { ...existing };
  for (const [key, value] of Object.entries(incoming)) {
    if (!(key in existing) || isEmptyLeadValue(existing[key])) merged[key] = value;
  }
  return merged;
}

const fill = <T>(existing: T | null, incoming: T | null): T | null =>
  isEmptyLeadValue(existing) ? (incoming ?? existing) : existing;

/**
 * Merges a new arrival of a lead into the stored one: the stored source stays
 * primary and a different new source joins `additionalSources` once (order
 * kept); answers and attributes gain new keys and fill empty ones; empty
 * scalar fields (name, email, page, form, WABA, bot, agent, time zone) are
 * filled; everything already known is kept.
 *
 * @example const merged = mergeLead(stored, parsedInput, clock.now());
 */
export function mergeLead(existing: Lead, incoming: ParsedLeadInput, now: Date): Lead {
  const additionalSources =
    incoming.source === existing.source || existing.additionalSources.includes(incoming.source)
      ? existing.additionalSources
      : [...existing.additionalSources, incoming.source];
  return {
    ...existing,
    name: fill(existing.name, incoming.name),
    email: fill(existing.email, incoming.email),
    facebookPageId: fill(existing.facebookPageId, incoming.facebookPageId),
    leadFormId: fill(existing.leadFormId, incoming.leadFormId),
    wabaConfigurationId: fill(existing.wabaConfigurationId, incoming.wabaConfigurationId),
    botProfileId: fill(existing.botProfileId, incoming.botProfileId),
    agentId: fill(existing.agentId, incoming.agentId),
    timeZone: fill(existing.timeZone, incoming.timeZone),
    additionalSources,
    answers: mergeRecord(existing.answers, incoming.answers),
    attributes: mergeRecord(existing.attributes, incoming.attributes),
    updatedAt: now,
  };
}

/**
 * Parses the input of `upsertByPhone`: a lead input whose phone is required,
 * since the phone is the key the merge happens on.
 *
 * @example const input = parseLeadUpsert({ clientAccountId, phone: '+919876543210', source: 'Website' });
 */
export function parseLeadUpsert(input: LeadInput): ParsedLeadInput & { phone: string } {
  const parsed = parseOrThrow(leadInputSchema, input, 'lead');
  if (parsed.phone === null) {
    throw new ValidationError('Invalid lead at phone: a phone is required to upsert by phone', {
      issues: [{ path: ['phone'], message: 'required' }],
    });
  }
  return { ...parsed, phone: parsed.phone };
}
