import { createHash } from 'node:crypto';
import {
  type CoreStore,
  type InboxEvent,
  type InboxEventInput,
  type InboxRetry,
  isLeadRelayError,
  type Lead,
  type Message,
  type MessageStatus,
  type Tenant,
  type WabaConfiguration,
} from '@leadrelay/core';
import { resolveBotProfile } from '../bot/bot-profiles.js';
import { consentKeyword } from '../inbound/consent-keywords.js';
import type {
  InboundConsentEvent,
  InboundMessageEvent,
  InboundStatusEvent,
  WabaInboundEvent,
} from '../inbound/inbound-event.js';
import type { WabaEvent } from '../inbound/waba-event.js';
import type { ClientContext } from './client-context.js';
import { readLeadWabaState, updateLeadWabaState } from './lead-waba-state.js';

/** The inbox topic of WhatsApp webhook events. */
export const WABA_INBOX_TOPIC = 'waba';

export interface ReceiveOptions {
  /** The configuration the events arrived for (filled into new leads). */
  waba?: WabaConfiguration | null;
}

export interface RecordResult {
  /** Events new to the inbox: each is applied once, in order per lead. */
  received: number;
  /** Events recorded before (a provider's redelivery) and skipped. */
  duplicates: number;
}

export interface ReceiveResult extends RecordResult {
  /** Events the processing pass that followed applied (this tenant's due events, these among them). */
  processed: number;
}

/** What an inbox row of this topic holds: the normalised event and the number it arrived for. */
interface StoredInbound {
  event: WabaInboundEvent;
  wabaConfigurationId: string | null;
}

/** Events of one lead share a key; a status without a recipient keys on its message. */
function orderKeyOf(event: WabaInboundEvent): string {
  switch (event.type) {
    case 'message':
      return event.from;
    case 'status':
      return event.recipient ?? `message:${event.providerMessageId}`;
    default:
      return event.phone;
  }
}

/**
 * Records events in the durable inbox in one statement, before the webhook
 * is answered: once recorded, an event is applied exactly once, even across
 * a crash, and never twice for a redelivery.
 */
export async function recordEvents(
  ctx: ClientContext,
  tenant: Tenant,
  events: readonly WabaInboundEvent[],
  options: ReceiveOptions = {},
): Promise<RecordResult> {
  const wabaConfigurationId = options.waba?.id ?? null;
  const inputs: InboxEventInput[] = events.map((event) => ({
    topic: WABA_INBOX_TOPIC,
    clientAccountId: tenant.id,
    dedupeKey: `${event.provider}:${event.eventId}`,
    orderKey: orderKeyOf(event),
    payload: { event, wabaConfigurationId } satisfies StoredInbound,
  }));
  const { recorded, duplicates } = await ctx.wabaStore.inbox.record(inputs, ctx.clock.now());
  return { received: recorded.length, duplicates };
}

export interface UnparsedCallback {
  provider: string;
  /** What the body says it is (`type`, `object`), for the log; `unknown` when it says nothing. */
  type: string;
  body: Uint8Array;
  /** Why no parser read it. */
  reason: string;
}

/**
 * Keeps an authenticated callback that no parser reads, raw, as an
 * `unparsed` inbox row (deduplicated by its bytes): never processed, counted
 * by `inbound.counts()`, kept for a person or a later parser.
 */
export async function recordUnparsed(
  ctx: ClientContext,
  tenant: Tenant,
  callback: UnparsedCallback,
): Promise<{ recorded: boolean }> {
  const digest = createHash('sha256').update(callback.body).digest('hex');
  const type = callback.type.slice(0, 64);
  const { recorded } = await ctx.wabaStore.inbox.record(
    [
      {
        topic: WABA_INBOX_TOPIC,
        clientAccountId: tenant.id,
        dedupeKey: `unparsed:${callback.provider}:${digest}`,
        orderKey: `unparsed:${digest}`,
        payload: {
          provider: callback.provider,
          type,
          reason: callback.reason.slice(0, 500),
          body: Buffer.from(callback.body).toString('utf8'),
        },
        status: 'unparsed',
      },
    ],
    ctx.clock.now(),
  );
  ctx.logger.warn(
    { tenant: tenant.id, provider: callback.provider, type, reason: callback.reason.slice(0, 200) },
    'webhook callback of an unknown shape kept unparsed',
  );
  return { recorded: recorded.length > 0 };
}

function revive(payload: unknown): StoredInbound {
  const stored = payload as StoredInbound;
  return { ...stored, event: { ...stored.event, at: new Date(stored.event.at) } };
}

// A status can arrive before its send stored the message: look again a couple of times, then go on without it.
const UNKNOWN_MESSAGE_RETRIES_MS = [1_000, 3_000];

/**
 * Applies one recorded event to the stored state. Every effect is
 * idempotent (a message is stored once per provider id, statuses only move
 * forward, opt-outs and entry points are set, not toggled), so an event
 * applied again after a crash changes nothing twice. Then the client's
 * `onEvent` runs, and the bot answers an inbound message, under the same
 * lease: one lead's events, and the bot's replies to them, go in order.
 */
export async function applyInboxEvent(ctx: ClientContext, row: InboxEvent): Promise<InboxRetry | undefined> {
  const { event, wabaConfigurationId } = revive(row.payload);
  const tenant = await ctx.registry.get(row.clientAccountId);
  const waba = wabaConfigurationId
    ? await ctx.store.wabaConfigurations.get(tenant.id, wabaConfigurationId)
    : null;
  if (event.type === 'status') {
    const wait = UNKNOWN_MESSAGE_RETRIES_MS[row.attempts - 1];
    if (wait !== undefined && !(await findStatusMessage(ctx.store, tenant.id, event))) {
      return { retryAfterMs: wait, reason: 'the message of this status is not stored yet' };
    }
  }
  const applied = await apply(ctx, tenant, waba, event);
  for (const item of applied) await ctx.onEvent?.(item);
  const inbound = applied[0];
  if (inbound?.type === 'message' && applied.length === 1 && ctx.botResponder && !inbound.lead.optedOut) {
    await botReply(ctx, tenant, inbound.lead, inbound.message, inbound.event);
  }
  return undefined;
}

async function findStatusMessage(
  store: Pick<CoreStore, 'messages'>,
  clientAccountId: string,
  event: InboundStatusEvent,
): Promise<Message | null> {
  return (
    (await store.messages.findByProviderId(clientAccountId, event.providerMessageId)) ??
    (event.altProviderMessageId
      ? await store.messages.findByProviderId(clientAccountId, event.altProviderMessageId)
      : null)
  );
}

// Later statuses never move a message back: a late `sent` after `read` is ignored.
const RANK: Record<MessageStatus, number> = {
  received: 0,
  queued: 0,
  held: 1,
  sent: 2,
  delivered: 3,
  read: 4,
  failed: 5,
};

function statusMoves(current: MessageStatus, next: MessageStatus): boolean {
  if (next === 'failed') return current === 'queued' || current === 'held' || current === 'sent';
  return RANK[next] > RANK[current];
}

const laterOf = (a: Date | null, b: Date) => (a && a.getTime() > b.getTime() ? a : b);

async function apply(
  ctx: ClientContext,
  tenant: Tenant,
  waba: WabaConfiguration | null,
  event: WabaInboundEvent,
): Promise<WabaEvent[]> {
  switch (event.type) {
    case 'message':
      return applyMessage(ctx, tenant, waba, event);
    case 'status':
      return applyStatus(ctx, tenant, waba, event);
    case 'opt_out':
    case 'opt_in':
      return applyConsent(ctx, tenant, waba, event);
  }
}

async function applyMessage(
  ctx: ClientContext,
  tenant: Tenant,
  waba: WabaConfiguration | null,
  event: InboundMessageEvent,
): Promise<WabaEvent[]> {
  const { store } = ctx;
  const keyword =
    event.content.kind === 'text' ? consentKeyword(event.content.text, ctx.consentKeywords) : null;
  const upserted = await store.leads.upsertByPhone({
    clientAccountId: tenant.id,
    phone: event.from,
    name: event.profileName,
    source: 'WA Direct',
    wabaConfigurationId: waba?.id ?? null,
  });
  const message =
    (await store.messages.findByProviderId(tenant.id, event.providerMessageId)) ??
    (await store.messages.create({
      clientAccountId: tenant.id,
      leadId: upserted.lead.id,
      direction: 'inbound',
      kind: event.content.kind,
      body: event.content.text,
      payload: {
        content: event.content,
        ...(event.referral ? { referral: event.referral } : {}),
        ...(event.replyToProviderId ? { replyToProviderId: event.replyToProviderId } : {}),
      },
      status: 'received',
      provider: event.provider,
      providerMessageId: event.providerMessageId,
      createdAt: event.at,
    }));

  const fields = {
    lastInboundAt: laterOf(upserted.lead.lastInboundAt, event.at),
    ...(keyword ? { optedOut: keyword === 'opt_out' } : {}),
  };
  const referral = event.referral;
  const lead = referral
    ? await updateLeadWabaState(
        store,
        tenant.id,
        upserted.lead.id,
        (state) => ({
          ...state,
          entryPoint: {
            source: referral.source,
            at: event.at,
            qualifyingReplyAt: null,
            sourceId: referral.sourceId,
            ctwaClid: referral.ctwaClid,
            headline: referral.headline,
          },
        }),
        fields,
      )
    : await store.leads.update(tenant.id, upserted.lead.id, fields);

  const emitted: WabaEvent[] = [
    { type: 'message', tenant, waba, lead, leadCreated: upserted.created, message, event },
  ];
  if (keyword) {
    const consent: InboundConsentEvent = {
      type: keyword,
      provider: event.provider,
      eventId: `${event.eventId}:${keyword}`,
      route: event.route,
      at: event.at,
      phone: event.from,
      via: 'keyword',
    };
    emitted.push({ type: keyword, tenant, waba, lead, event: consent });
  }
  return emitted;
}

async function applyStatus(
  ctx: ClientContext,
  tenant: Tenant,
  waba: WabaConfiguration | null,
  event: InboundStatusEvent,
): Promise<WabaEvent[]> {
  const { store } = ctx;
  let message = await findStatusMessage(store, tenant.id, event);
  const next = event.status;
  if (next === null) {
    // A status the provider added later: kept for listeners, but it ranks nowhere, so the message stays.
    ctx.logger.warn(
      {
        provider: event.provider,
        providerMessageId: event.providerMessageId,
        providerStatus: event.providerStatus.slice(0, 64),
      },
      'unknown provider status; the message is not moved',
    );
  }
  if (!message) {
    ctx.logger.warn(
      {
        provider: event.provider,
        providerMessageId: event.providerMessageId,
        status: event.status,
        providerStatus: event.providerStatus.slice(0, 64),
      },
      'status for an unknown message',
    );
    return [{ type: 'status', tenant, waba, message: null, event }];
  }
  const learnsAltId = event.altProviderMessageId !== null && message.providerAltId === null;
  const moves = next !== null && statusMoves(message.status, next);
  if (moves || learnsAltId) {
    message = await store.messages.updateStatus(tenant.id, message.id, {
      status: moves ? next : message.status,
      ...(moves ? { statusAt: event.at } : {}),
      ...(learnsAltId ? { providerAltId: event.altProviderMessageId } : {}),
      ...(moves && event.error
        ? {
            errorCode: event.error.code.slice(0, 50),
            errorReason: event.error.reason?.slice(0, 1000) ?? null,
          }
        : {}),
    });
  }
  // Cloud API 131050: the lead stopped marketing messages from this business.
  if (
    event.error?.code === '131050' &&
    !readLeadWabaState((await store.leads.get(tenant.id, message.leadId)) ?? { attributes: {} })
      .marketingOptedOut
  ) {
    await updateLeadWabaState(store, tenant.id, message.leadId, (state) => ({
      ...state,
      marketingOptedOut: true,
    }));
  }
  return [{ type: 'status', tenant, waba, message, event }];
}

async function applyConsent(
  ctx: ClientContext,
  tenant: Tenant,
  waba: WabaConfiguration | null,
  event: InboundConsentEvent,
): Promise<WabaEvent[]> {
  const { lead: found } = await ctx.store.leads.upsertByPhone({
    clientAccountId: tenant.id,
    phone: event.phone,
    source: 'WA Direct',
    wabaConfigurationId: waba?.id ?? null,
  });
  const lead = await ctx.store.leads.update(tenant.id, found.id, { optedOut: event.type === 'opt_out' });
  return [{ type: event.type, tenant, waba, lead, event }];
}

async function recentConversation(
  store: Pick<CoreStore, 'messages'>,
  clientAccountId: string,
  leadId: string,
  limit: number,
): Promise<Message[]> {
  const recent: Message[] = [];
  let cursor: string | null = null;
  do {
    const page = await store.messages.listByLead(clientAccountId, leadId, { limit: 100, cursor });
    recent.push(...page.items);
    if (recent.length > limit) recent.splice(0, recent.length - limit);
    cursor = page.nextCursor;
  } while (cursor);
  return recent;
}

// Send failures a retry cannot change: the reply went out before, may have, or is refused.
const SETTLED_REPLY_CODES = new Set(['send_outcome_unknown', 'idempotency_conflict']);

async function botReply(
  ctx: ClientContext,
  tenant: Tenant,
  lead: Lead,
  message: Message,
  event: InboundMessageEvent,
): Promise<void> {
  const responder = ctx.botResponder!;
  const profile = await resolveBotProfile(ctx.store, tenant.id, lead);
  const conversation = await recentConversation(ctx.store, tenant.id, lead.id, ctx.conversationLimit);
  const reply = await responder({ tenant, lead, message, conversation, profile, event });
  if (!reply || !lead.phone) return;
  try {
    await ctx.send({
      tenant: tenant.id,
      to: lead.phone,
      message: reply,
      leadId: lead.id,
      // A message applied again (a crash, a retry) never gets a second answer.
      idempotencyKey: `bot-reply:${message.id}`,
      context: { inReplyTo: message.id, ...(profile ? { botProfileId: profile.id } : {}) },
    });
  } catch (error) {
    const code = (error as { code?: string }).code ?? '';
    // Anything else (the provider was not reached, storage is down) retries the event, and with it the reply.
    if (!SETTLED_REPLY_CODES.has(code) && !(isLeadRelayError(error) && error.status < 500)) throw error;
    ctx.logger.warn(
      { err: error, tenant: tenant.id, leadId: lead.id, messageId: message.id, code },
      'bot reply not sent',
    );
  }
}
