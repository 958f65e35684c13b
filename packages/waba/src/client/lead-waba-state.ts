import type { CoreStore, Lead } from '@leadrelay/core';
import { z } from 'zod';
import type { EntryPoint } from '../policy/decide-send.js';

/**
 * What WhatsApp sending remembers about a lead beyond core's columns
 * (`optedOut`, `lastInboundAt`, `lastOutboundAt`): the free entry point it
 * arrived through and a marketing-only opt-out. It lives in
 * `lead.attributes.waba`, so no core table changes for it.
 */
export interface LeadWabaState {
  entryPoint:
    | (EntryPoint & { sourceId: string | null; ctwaClid: string | null; headline: string | null })
    | null;
  /** The lead stopped marketing messages (Cloud API error 131050). */
  marketingOptedOut: boolean;
}

const stateSchema = z.object({
  entryPoint: z
    .object({
      source: z.enum(['ctwa', 'page_cta']),
      at: z.coerce.date(),
      qualifyingReplyAt: z.coerce.date().nullable().default(null),
      sourceId: z.string().nullable().default(null),
      ctwaClid: z.string().nullable().default(null),
      headline: z.string().nullable().default(null),
    })
    .nullable()
    .default(null),
  marketingOptedOut: z.boolean().default(false),
});

const KEY = 'waba';

/**
 * Reads the lead's WhatsApp state; anything unreadable counts as no state.
 *
 * @example readLeadWabaState(lead).entryPoint?.source // 'ctwa'
 */
export function readLeadWabaState(lead: Pick<Lead, 'attributes'>): LeadWabaState {
  const parsed = stateSchema.safeParse(lead.attributes[KEY] ?? {});
  return parsed.success ? parsed.data : { entryPoint: null, marketingOptedOut: false };
}

/**
 * Applies a change to the lead's WhatsApp state (and any core lead fields in
 * `fields`). Only the state fields the change touched are written, merged
 * into `attributes.waba` at the database, so a concurrent writer of another
 * field (a delivery status marking a marketing opt-out while a send records
 * its entry-point reply) or of another attribute is never overwritten.
 *
 * @example await updateLeadWabaState(store, tenantId, leadId, (s) => ({ ...s, marketingOptedOut: true }));
 */
export async function updateLeadWabaState(
  store: Pick<CoreStore, 'leads'>,
  clientAccountId: string,
  leadId: string,
  change: (state: LeadWabaState, lead: Lead) => LeadWabaState,
  fields: Parameters<CoreStore['leads']['update']>[2] = {},
): Promise<Lead> {
  const lead = await store.leads.get(clientAccountId, leadId);
  if (!lead) return store.leads.update(clientAccountId, leadId, fields);
  const before = serialise(readLeadWabaState(lead));
  const after = serialise(change(readLeadWabaState(lead), lead));
  const changed: Record<string, unknown> = {};
  for (const field of Object.keys(after) as (keyof typeof after)[]) {
    if (JSON.stringify(after[field]) !== JSON.stringify(before[field])) changed[field] = after[field];
  }
  const { attributes, ...rest } = fields;
  return store.leads.update(clientAccountId, leadId, {
    ...rest,
    mergeAttributes: { set: attributes ?? {}, patch: { [KEY]: changed } },
  });
}

function serialise(state: LeadWabaState) {
  return {
    entryPoint: state.entryPoint
      ? {
          ...state.entryPoint,
          at: state.entryPoint.at.toISOString(),
          qualifyingReplyAt: state.entryPoint.qualifyingReplyAt?.toISOString() ?? null,
        }
      : null,
    marketingOptedOut: state.marketingOptedOut,
  };
}
