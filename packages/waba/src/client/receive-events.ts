import type { CoreStore, Lead, Message, MessageStatus, Tenant, WabaConfiguration } from '@leadrelay/core';
import { resolveBotProfile } from '../bot/bot-profiles.js';
import { consentKeyword } from '../inbound/consent-keywords.js';
import type {
  InboundConsentEvent,
  InboundMessageEvent,
  InboundStatusEvent,
  WabaInboundEvent,
} from '../inbound/inbound-event.js';
import type { WabaEvent, WabaEventHandler } from '../inbound/waba-event.js';
import type { ClientContext } from './client-context.js';
import { readLeadWabaState, updateLeadWabaState } from './lead-waba-state.js';

export interface ReceiveOptions {
  /** The configuration the events arrived for (filled into new leads). */
  waba?: WabaConfiguration | null;
  /** Called after the client's own `onEvent`, for each applied event. */
  onEvent?: WabaEventHandler;
}

export interface ReceiveResult {
  /** Events applied now. */
  processed: number;
  /** Events seen before and skipped. */
  duplicates: number;
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

/**
 * Applies normalised provider events to the stored state, once each: inbound
 * messages are stored in the lead's conversation (the lead found or created by
 * phone, source `WA Direct`) and open the service window; a referral records
 * the free entry point; STOP-like keywords and consent events opt the lead
 * out (or back in); statuses move the stored message forward. Each applied
 * event goes to `onEvent`; the bot answers inbound messages in the background.
 * A failure un-records the event so the provider's retry applies it.
 */
export async function receiveEvents(
  ctx: ClientContext,
  tenant: Tenant,
  events: readonly WabaInboundEvent[],
  options: ReceiveOptions = {},
): Promise<ReceiveResult> {
  const result: ReceiveResult = { processed: 0, duplicates: 0 };
  const waba = options.waba ?? null;
  for (const event of events) {
    const fresh = await ctx.wabaStore.inboundEvents.claim(
      tenant.id,
      event.provider,
      event.eventId,
      ctx.clock.now(),
    );
    if (!fresh) {
      result.duplicates++;
      continue;
    }
    try {
      const applied = await apply(ctx, tenant, waba, event);
      for (const item of applied) {
        await ctx.onEvent?.(item);
        await options.onEvent?.(item);
      }
    } catch (error) {
      await ctx.wabaStore.inboundEvents
        .release(tenant.id, event.provider, event.eventId)
        .catch((releaseError: unknown) =>
          ctx.logger.error(
            { err: releaseError, eventId: event.eventId },
            'could not release an inbound event',
          ),
        );
      throw error;
    }
    result.processed++;
  }
  return result;
}

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
  } else if (ctx.botResponder && !lead.optedOut) {
    scheduleBotReply(ctx, tenant, lead, message, event);
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
  let message =
    (await store.messages.findByProviderId(tenant.id, event.providerMessageId)) ??
    (event.altProviderMessageId
      ? await store.messages.findByProviderId(tenant.id, event.altProviderMessageId)
      : null);
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

function scheduleBotReply(
  ctx: ClientContext,
  tenant: Tenant,
  lead: Lead,
  message: Message,
  event: InboundMessageEvent,
): void {
  const responder = ctx.botResponder!;
  // Replies to one lead run one after another, in the order the messages arrived.
  const perLead = ctx.botQueues;
  const key = `${tenant.id}:${lead.id}`;
  const previous = perLead.get(key) ?? Promise.resolve();
  const task = previous
    .then(async () => {
      const profile = await resolveBotProfile(ctx.store, tenant.id, lead);
      const conversation = await recentConversation(ctx.store, tenant.id, lead.id, ctx.conversationLimit);
      const current = (await ctx.store.leads.get(tenant.id, lead.id)) ?? lead;
      if (current.optedOut) return;
      const reply = await responder({ tenant, lead: current, message, conversation, profile, event });
      if (!reply || !current.phone) return;
      await ctx.send({
        tenant: tenant.id,
        to: current.phone,
        message: reply,
        leadId: current.id,
        // A redelivered inbound message never gets a second answer.
        idempotencyKey: `bot-reply:${message.id}`,
        context: { inReplyTo: message.id, ...(profile ? { botProfileId: profile.id } : {}) },
      });
    })
    .catch((error: unknown) =>
      ctx.logger.error(
        { err: error, tenant: tenant.id, leadId: lead.id, messageId: message.id },
        'bot reply failed',
      ),
    )
    .finally(() => {
      ctx.background.delete(task);
      if (perLead.get(key) === task) perLead.delete(key);
    });
  perLead.set(key, task);
  ctx.background.add(task);
}
