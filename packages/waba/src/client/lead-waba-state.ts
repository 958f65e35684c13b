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
 * `fields`). Only the `waba` attribute key is written (an atomic merge), so
 * concurrent writers of other attributes are kept.
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
  const next = change(readLeadWabaState(lead), lead);
  const { attributes, ...rest } = fields;
  // Only this package's key is written: other writers' attributes are merged around it, never overwritten.
  return store.leads.update(clientAccountId, leadId, {
    ...rest,
    mergeAttributes: { set: { ...(attributes ?? {}), [KEY]: serialise(next) } },
  });
}

function serialise(state: LeadWabaState): Record<string, unknown> {
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
