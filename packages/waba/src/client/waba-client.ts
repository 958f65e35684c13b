import {
  type BotProfile,
  type Clock,
  type CoreStore,
  createInboxProcessor,
  type DurableInbox,
  type InboxDrainResult,
  type InboxStatus,
  type Lead,
  type Logger,
  type Message,
  NotFoundError,
  noopLogger,
  PolicyError,
  parseOrThrow,
  type SqlDatabase,
  systemClock,
  type Tenant,
  type TenantRegistry,
  ValidationError,
  type WabaConfiguration,
} from '@leadrelay/core';
import { assignBotProfile, resolveBotProfile } from '../bot/bot-profiles.js';
import type { BotResponder } from '../bot/bot-responder.js';
import { type ConsentKeywords, defaultConsentKeywords } from '../inbound/consent-keywords.js';
import type { WabaInboundEvent } from '../inbound/inbound-event.js';
import type { WabaEventHandler } from '../inbound/waba-event.js';
import type { OutboundMessageType } from '../messages/outbound-message.js';
import { decideSend, type PolicyDecision } from '../policy/decide-send.js';
import { defaultPolicyRules, type PolicyRuleSet } from '../policy/policy-rules.js';
import { createCloudApiProvider } from '../providers/cloud-api-provider.js';
import { createGupshupProvider } from '../providers/gupshup-provider.js';
import type { ProviderMessage, WabaProvider } from '../providers/provider.js';
import { createRateLimiter, type RateLimiter, type RateLimiterOptions } from '../rate-limit/rate-limiter.js';
import { type SendRequest, type SendResult, sendRequestSchema } from '../send/send-types.js';
import { createMemoryWabaStore } from '../store/memory-waba-store.js';
import { createPostgresWabaStore } from '../store/postgres-waba-store.js';
import type { WabaStore } from '../store/waba-store.js';
import { renderResolvedTemplate } from '../templates/render-template.js';
import type { WabaTemplate } from '../templates/template.js';
import { resolveTemplateParameters } from '../templates/template-parameters.js';
import {
  createTemplateRegistry,
  type TemplateRegistry,
  templateNotFound,
} from '../templates/template-registry.js';
import type { ClientContext } from './client-context.js';
import { idempotentSend, type SendProgress } from './idempotent-send.js';
import { updateLeadWabaState } from './lead-waba-state.js';
import { outboundText } from './outbound-text.js';
import { createPhoneLookup } from './phone-lookup.js';
import {
  type MarketingCap,
  policyInputFor,
  type SuggestedTemplate,
  suggestTemplate,
} from './policy-context.js';
import {
  applyInboxEvent,
  type ReceiveOptions,
  type ReceiveResult,
  type RecordResult,
  recordEvents,
  recordUnparsed,
  type UnparsedCallback,
  WABA_INBOX_TOPIC,
} from './receive-events.js';
import { requestHash } from './request-hash.js';

export interface WabaClientOptions {
  /** Core records: tenants, WABA configurations, leads, messages, template usage, bot profiles. */
  store: CoreStore;
  /** Resolves tenants and opens their secrets (provider keys). */
  registry: TenantRegistry;
  /**
   * Where this package's own tables live (templates, send ledger, inbound
   * events): a `WabaStore`, or a database with `wabaMigrations` applied.
   * Default: in memory, which is per process and lost on exit.
   */
  db?: SqlDatabase | WabaStore;
  /** The template registry; default one over the `db` store's templates. */
  templates?: TemplateRegistry;
  /** Default: Gupshup and Cloud API with their public base URLs. */
  providers?: WabaProvider[];
  /**
   * Per sending number; default 80 messages/s (a number's `messagesPerSecond` overrides). `false` turns
   * it off. Its buckets are the `db` store's `rateLimits`: shared across processes on Postgres.
   */
  rateLimit?: RateLimiterOptions | RateLimiter | false;
  clock?: Clock;
  logger?: Logger;
  /** Answers inbound messages; its reply is sent through `send`. */
  botResponder?: BotResponder;
  /** Called for every applied inbound event (message, status, opt-out, opt-in). */
  onEvent?: WabaEventHandler;
  /** Window and pricing rules; default `defaultPolicyRules`. */
  policyRules?: readonly PolicyRuleSet[];
  /** Marketing templates per lead; default 1 per 24 h. `null` for no cap. */
  marketingCap?: MarketingCap | null;
  /** Words that opt a lead out or back in. */
  consentKeywords?: ConsentKeywords;
  /** Idempotency: how long a claim stays in flight (default 5 min) and how long a duplicate waits (default 30 s). */
  idempotency?: { leaseMs?: number; waitTimeoutMs?: number };
  /** Messages the bot reads before answering; default 20. */
  conversationLimit?: number;
  /** How recorded inbound events are processed (leases, batch, retries). */
  inbound?: InboundProcessingOptions;
}

export interface InboundProcessingOptions {
  /** How long a process holds an event (and its lead) before another may take over; default 2 min. */
  leaseMs?: number;
  /** Events applied at once, each of a different lead; default 16. */
  batchSize?: number;
  /** Attempts before an event is dead-lettered; default 10. */
  maxAttempts?: number;
  retryMinDelayMs?: number;
  retryMaxDelayMs?: number;
}

/**
 * The processing of recorded inbound events. Recording (the webhook
 * handlers, \`record\`) starts a pass for its tenant at once; \`start\` adds the
 * poller that picks up retries and events other processes left behind.
 */
export interface WabaInbound {
  /** Polls for due events until \`stop\`; run it in every process that serves webhooks. */
  start(options?: { pollIntervalMs?: number }): void;
  /** Stops polling and waits for the events in hand. */
  stop(): Promise<void>;
  /** Applies every due event now (of one tenant, or all). */
  drain(tenant?: string): Promise<InboxDrainResult>;
  /** Events per inbox status (\`pending\`, \`dead\`, \`unparsed\`, …), of one tenant or all. */
  counts(tenant?: string): Promise<Record<InboxStatus, number>>;
  /** Puts dead-lettered events back in line; answers how many. */
  requeue(options?: { tenant?: string; ids?: readonly string[] }): Promise<number>;
  /** The durable inbox itself (topic \`waba\`): list, purge. */
  readonly inbox: DurableInbox;
}

export interface ExplainRequest {
  tenant: string;
  to: string;
  leadId?: string;
  /** The message type to ask about; default `text` ("can I reply now?"). */
  kind?: OutboundMessageType;
  /** For `kind: 'template'`: the template's name, or name and language. */
  template?: string | { name: string; language?: string };
}

/** The policy's answer for a lead now, and a template that would go through when it says no. */
export interface ExplainResult extends PolicyDecision {
  suggestedTemplate: SuggestedTemplate | null;
}

export interface WabaClient {
  /**
   * Sends one message: resolves the tenant's number and key, checks the
   * message and the policy, waits for the number's rate limit, sends through
   * the tenant's provider (retrying network errors, 429 and 5xx), stores the
   * message and the template usage. Refusals throw `PolicyError` (code = the
   * reason, `details.suggestedTemplate` when a template would go through);
   * provider failures throw `ProviderError`.
   */
  send(request: SendRequest): Promise<SendResult>;
  /** The policy decision for a lead right now, without sending: "can I reply, and until when?" */
  explain(request: ExplainRequest): Promise<ExplainResult>;
  /**
   * Records normalised inbound events for one tenant in the durable inbox
   * (the webhook handlers call this before they answer) and starts applying
   * them in the background: once each, in order per lead.
   */
  record(
    tenant: string,
    events: readonly WabaInboundEvent[],
    options?: ReceiveOptions,
  ): Promise<RecordResult>;
  /** Keeps an authenticated callback no parser reads, raw and unprocessed (\`unparsed\`). */
  recordUnparsed(tenant: string, callback: UnparsedCallback): Promise<{ recorded: boolean }>;
  /** Records events, then applies the tenant's due events before it resolves. */
  receive(
    tenant: string,
    events: readonly WabaInboundEvent[],
    options?: ReceiveOptions,
  ): Promise<ReceiveResult>;
  readonly inbound: WabaInbound;
  readonly templates: TemplateRegistry;
  /** Gives a lead its own bot profile; `null` falls back to the tenant default. */
  assignBotProfile(tenant: string, leadId: string, profileId: string | null): Promise<Lead>;
  /** The lead's bot profile, else the tenant default, else `null`. */
  resolveBotProfile(tenant: string, lead: Pick<Lead, 'botProfileId'>): Promise<BotProfile | null>;
  /** Resolves once the processing started by recordings has finished and nothing is due; for tests. */
  idle(): Promise<void>;
  readonly store: CoreStore;
  readonly registry: TenantRegistry;
  /** This package's own state: templates, the send ledger and the inbound event log (purge them here). */
  readonly wabaStore: WabaStore;
}

function isWabaStore(value: SqlDatabase | WabaStore): value is WabaStore {
  return 'sendLedger' in value && 'templates' in value;
}

/** The wire message and the text the lead reads; template parameters are checked here, before any I/O. */
function prepare(
  message: SendRequest['message'],
  template: WabaTemplate | null,
): { providerMessage: ProviderMessage; body: string | null } {
  if (message.type !== 'template') return { providerMessage: message, body: outboundText(message) };
  const t = template!;
  const parameters = resolveTemplateParameters(t, message.parameters);
  return {
    providerMessage: {
      type: 'template',
      name: t.name,
      language: t.language,
      providerTemplateId: t.providerTemplateId,
      parameters,
    },
    body: renderResolvedTemplate(t, parameters),
  };
}

/**
 * The multi-tenant WhatsApp client.
 *
 * @example
 * const waba = createWabaClient({ store, registry, db });
 * const result = await waba.send({
 *   tenant: tenant.id,
 *   to: '+919812345678',
 *   message: { type: 'template', name: 'welcome_lead', parameters: { body: ['Priya'] } },
 *   idempotencyKey: `welcome:${lead.id}`,
 * });
 */
export function createWabaClient(options: WabaClientOptions): WabaClient {
  const store = options.store;
  const registry = options.registry;
  const clock = options.clock ?? systemClock;
  const logger = options.logger ?? noopLogger;
  const wabaStore = !options.db
    ? createMemoryWabaStore({ clock })
    : isWabaStore(options.db)
      ? options.db
      : createPostgresWabaStore(options.db);
  const templates = options.templates ?? createTemplateRegistry(wabaStore.templates);
  const providers = new Map(
    (options.providers ?? [createGupshupProvider({ logger }), createCloudApiProvider({ logger })]).map(
      (p) => [p.name, p],
    ),
  );
  const limiter =
    options.rateLimit === false
      ? null
      : options.rateLimit && 'acquire' in options.rateLimit
        ? options.rateLimit
        : createRateLimiter({
            ...(wabaStore.rateLimits ? { store: wabaStore.rateLimits } : {}),
            ...options.rateLimit,
          });
  const policy = {
    rules: options.policyRules ?? defaultPolicyRules,
    marketingCap:
      options.marketingCap === undefined ? { max: 1, periodMs: 24 * 60 * 60 * 1000 } : options.marketingCap,
  };
  const leaseMs = options.idempotency?.leaseMs ?? 5 * 60_000;
  const waitTimeoutMs = options.idempotency?.waitTimeoutMs ?? 30_000;
  const phones = createPhoneLookup();

  /**
   * The recipient in E.164. A number libphonenumber does not know (a new
   * range, a test number) is still sent to when it is a stored lead's phone:
   * such a lead wrote first, and WhatsApp verified its number.
   */
  async function recipient(tenant: Tenant, input: string): Promise<string> {
    try {
      return phones.normalize(input, tenant.defaultCountry);
    } catch (error) {
      if (/^\+[1-9][0-9]{6,14}$/.test(input) && (await store.leads.getByPhone(tenant.id, input)))
        return input;
      throw error;
    }
  }

  /** The lead and the tenant's numbers, read together; a first message to a phone creates its lead. */
  async function resolveLead(tenant: Tenant, to: string, leadId: string | undefined) {
    const context = await store.outbound.context(tenant.id, leadId ? { id: leadId } : { phone: to });
    const lead = context.lead;
    if (leadId) {
      if (!lead) throw new NotFoundError('Lead not found', { code: 'lead_not_found', details: { leadId } });
      if (lead.phone !== null && lead.phone !== to) {
        throw new ValidationError('The lead has another phone number than `to`', {
          code: 'lead_phone_mismatch',
          details: { leadId },
        });
      }
    }
    return {
      lead:
        lead ??
        (await store.leads.upsertByPhone({ clientAccountId: tenant.id, phone: to, source: 'WA Direct' }))
          .lead,
      wabaConfigurations: context.wabaConfigurations,
    };
  }

  function chooseWaba(tenant: Tenant, lead: Lead, configurations: WabaConfiguration[]): WabaConfiguration {
    const active = configurations.filter((c) => c.status === 'active');
    const chosen = active.find((c) => c.id === lead.wabaConfigurationId) ?? active[0];
    if (!chosen) {
      throw new NotFoundError('The tenant has no active WhatsApp number', {
        code: 'waba_not_configured',
        details: { clientAccountId: tenant.id },
      });
    }
    return chosen;
  }

  /** The policy decision for a lead now, with an allowed template to offer when it says no. */
  async function decide(
    tenant: Tenant,
    lead: Lead | null,
    to: string,
    kind: OutboundMessageType,
    template: WabaTemplate | null,
    now: Date,
  ): Promise<ExplainResult> {
    const base = {
      store,
      settings: policy,
      clientAccountId: tenant.id,
      lead,
      to,
      now,
      countryOf: phones.country,
    };
    const decision = decideSend(
      await policyInputFor({
        ...base,
        kind,
        template: template
          ? { name: template.name, category: template.category, status: template.status }
          : null,
      }),
    );
    const suggestedTemplate =
      decision.allowed || decision.reason === 'opted_out'
        ? null
        : await suggestTemplate({ ...base, templates, ...(template ? { language: template.language } : {}) });
    return { ...decision, suggestedTemplate };
  }

  async function perform(
    tenant: Tenant,
    to: string,
    request: SendRequest,
    progress: SendProgress,
    /** The template as the ledger claim read it; `undefined` when it was not read there. */
    claimedTemplate?: WabaTemplate | null,
  ): Promise<SendResult> {
    const now = clock.now();
    const message = request.message;
    const { lead, wabaConfigurations } = await resolveLead(tenant, to, request.leadId);
    const waba = chooseWaba(tenant, lead, wabaConfigurations);
    const provider = providers.get(waba.provider);
    if (!provider) {
      throw new ValidationError(`No provider "${waba.provider}" is configured`, {
        code: 'provider_unsupported',
        details: { provider: waba.provider },
      });
    }
    const agentId = typeof request.context?.agentId === 'string' ? request.context.agentId : null;
    let template: WabaTemplate | null = null;
    const usageLine = (
      status: 'sent' | 'failed' | 'refused',
      extra: {
        providerMessageId?: string;
        errorCode?: string;
        pricingCategory?: string | null;
        billable?: boolean | null;
      },
    ) =>
      message.type !== 'template'
        ? undefined
        : {
            templateName: message.name,
            language: template?.language ?? message.language ?? null,
            category: template?.category ?? null,
            phoneNumber: to,
            leadId: lead.id,
            agentId,
            status,
            providerMessageId: extra.providerMessageId ?? null,
            errorCode: extra.errorCode?.slice(0, 100) ?? null,
            pricingCategory: extra.pricingCategory ?? null,
            billable: extra.billable ?? null,
          };
    const usage = async (status: 'sent' | 'failed' | 'refused', extra: Parameters<typeof usageLine>[1]) => {
      const line = usageLine(status, extra);
      if (!line) return;
      try {
        await store.templateUsage.record({ clientAccountId: tenant.id, ...line });
      } catch (error) {
        // The send's outcome matters more than its usage line: log and go on.
        logger.error(
          { err: error, tenant: tenant.id, template: line.templateName },
          'could not record template usage',
        );
      }
    };

    let providerMessage: ProviderMessage;
    let body: string | null;
    try {
      if (message.type === 'template') {
        if (claimedTemplate === undefined) {
          template = await templates.require(tenant.id, message.name, message.language);
        } else if (claimedTemplate === null) {
          throw templateNotFound(message.name, message.language);
        } else {
          template = claimedTemplate;
        }
      }
      ({ providerMessage, body } = prepare(message, template));
    } catch (error) {
      await usage('refused', { errorCode: (error as { code?: string }).code ?? 'invalid' });
      throw error;
    }

    const { suggestedTemplate, ...decision } = await decide(tenant, lead, to, message.type, template, now);
    if (!decision.allowed) {
      await usage('refused', { errorCode: decision.reason });
      throw new PolicyError(decision.explanation, {
        code: decision.reason,
        details: { decision, suggestedTemplate },
      });
    }

    const credentials = registry.wabaCredentials(waba);
    const stored = {
      clientAccountId: tenant.id,
      leadId: lead.id,
      direction: 'outbound' as const,
      kind: message.type,
      body,
      payload: { message, ...(request.context ? { context: request.context } : {}) },
      provider: provider.name,
      templateName: template?.name ?? null,
    };
    let sent: Awaited<ReturnType<WabaProvider['send']>>;
    progress.providerCalled = !limiter;
    try {
      sent = await provider.send(waba, credentials, providerMessage, to, {
        // Waits right before each attempt goes on the wire, so retries are spaced too. A send that
        // fails waiting (a timeout, the database down) before its first attempt reached nobody.
        ...(limiter
          ? {
              beforeAttempt: async () => {
                await limiter.acquire({
                  clientAccountId: tenant.id,
                  number: waba.wabaNumber,
                  ...(waba.messagesPerSecond ? { messagesPerSecond: waba.messagesPerSecond } : {}),
                });
                progress.providerCalled = true;
              },
            }
          : {}),
      });
    } catch (error) {
      const code = (error as { code?: string }).code ?? 'send_failed';
      await store.messages
        .create({
          ...stored,
          status: 'failed',
          errorCode: code.slice(0, 50),
          errorReason: (error as Error).message?.slice(0, 1000) ?? null,
        })
        .catch((storeError: unknown) =>
          logger.error({ err: storeError }, 'could not store a failed message'),
        );
      await usage('failed', { errorCode: (error as { providerCode?: string }).providerCode ?? code });
      logger.warn(
        { tenant: tenant.id, provider: provider.name, code, leadId: lead.id },
        'whatsapp send failed',
      );
      throw error;
    }

    const sentMessage = { ...stored, status: 'queued' as const, providerMessageId: sent.providerMessageId };
    // The entry point's state is a read-modify-write of the lead: it takes its own statements below.
    const lastOutboundAt = decision.opensFreeEntryPoint ? {} : { lastOutboundAt: now };
    const sentUsage = usageLine('sent', {
      providerMessageId: sent.providerMessageId,
      pricingCategory: decision.pricingCategory,
      billable: decision.billable,
    });
    let saved: Message;
    try {
      saved = await store.outbound.record({
        message: sentMessage,
        ...lastOutboundAt,
        ...(sentUsage ? { templateUsage: sentUsage } : {}),
      });
    } catch (error) {
      if (!sentUsage) throw error;
      // The usage line may be what was refused (an agent id the tenant does not have): the message
      // is stored without it and the usage line alone is logged, as its failure never fails a send.
      // Had the first write landed after all, the provider id's unique key refuses this one.
      saved = await store.outbound.record({ message: sentMessage, ...lastOutboundAt });
      await usage('sent', {
        providerMessageId: sent.providerMessageId,
        pricingCategory: decision.pricingCategory,
        billable: decision.billable,
      });
    }
    if (decision.opensFreeEntryPoint) {
      await updateLeadWabaState(
        store,
        tenant.id,
        lead.id,
        (state) =>
          state.entryPoint
            ? { ...state, entryPoint: { ...state.entryPoint, qualifyingReplyAt: now } }
            : state,
        { lastOutboundAt: now },
      );
    }
    logger.info(
      {
        tenant: tenant.id,
        provider: provider.name,
        messageId: saved.id,
        providerMessageId: sent.providerMessageId,
        kind: message.type,
        pricingCategory: decision.pricingCategory,
        billable: decision.billable,
      },
      'whatsapp message sent',
    );
    return {
      messageId: saved.id,
      providerMessageId: sent.providerMessageId,
      provider: provider.name,
      pricingCategory: decision.pricingCategory!,
      billable: decision.billable!,
      decision,
      deduplicated: false,
    };
  }

  async function send(request: SendRequest): Promise<SendResult> {
    const parsed = parseOrThrow(sendRequestSchema, request, 'send request') as SendRequest;
    const tenant = await registry.get(parsed.tenant);
    const to = await recipient(tenant, parsed.to);
    if (!parsed.idempotencyKey) return perform(tenant, to, parsed, { providerCalled: false });
    const message = parsed.message;
    return idempotentSend(
      {
        ledger: wabaStore.sendLedger,
        clientAccountId: tenant.id,
        idempotencyKey: parsed.idempotencyKey,
        requestHash: requestHash({
          to,
          message: parsed.message,
          leadId: parsed.leadId,
          context: parsed.context,
        }),
        clock,
        leaseMs,
        waitTimeoutMs,
        logger,
        // Only this client's own registry reads from the ledger's store; a registry given in
        // the options is asked itself.
        ...(message.type === 'template' && !options.templates
          ? { readTemplate: { name: message.name, language: message.language } }
          : {}),
      },
      (progress, claimed) => perform(tenant, to, parsed, progress, claimed.template),
    );
  }

  const ctx: ClientContext = {
    store,
    registry,
    wabaStore,
    templates,
    providers,
    limiter,
    clock,
    logger,
    policy,
    consentKeywords: options.consentKeywords ?? defaultConsentKeywords,
    botResponder: options.botResponder ?? null,
    onEvent: options.onEvent ?? null,
    conversationLimit: options.conversationLimit ?? 20,
    send,
  };

  const processor = createInboxProcessor({
    inbox: wabaStore.inbox,
    topic: WABA_INBOX_TOPIC,
    handle: (event) => applyInboxEvent(ctx, event),
    clock,
    logger,
    ...options.inbound,
  });
  // Passes started by recordings: only triggers, the work itself is in the inbox.
  const passes = new Set<Promise<unknown>>();
  function processSoon(tenantId: string): void {
    const pass = processor
      .drain({ clientAccountId: tenantId })
      .catch((error: unknown) => logger.error({ err: error, tenant: tenantId }, 'inbound processing failed'))
      .finally(() => passes.delete(pass));
    passes.add(pass);
  }
  const inbound: WabaInbound = {
    start: (startOptions) => processor.start(startOptions),
    async stop() {
      await processor.stop();
      await Promise.allSettled([...passes]);
    },
    drain: (tenant) => processor.drain(tenant === undefined ? {} : { clientAccountId: tenant }),
    counts: (tenant) =>
      wabaStore.inbox.count({
        topic: WABA_INBOX_TOPIC,
        ...(tenant === undefined ? {} : { clientAccountId: tenant }),
      }),
    requeue: (requeueOptions = {}) =>
      wabaStore.inbox.requeue({
        topic: WABA_INBOX_TOPIC,
        now: clock.now(),
        ...(requeueOptions.tenant === undefined ? {} : { clientAccountId: requeueOptions.tenant }),
        ...(requeueOptions.ids === undefined ? {} : { ids: requeueOptions.ids }),
      }),
    inbox: wabaStore.inbox,
  };

  return {
    send,
    async explain(request) {
      const tenant = await registry.get(request.tenant);
      const to = await recipient(tenant, request.to);
      const lead = request.leadId
        ? await store.leads.get(tenant.id, request.leadId)
        : await store.leads.getByPhone(tenant.id, to);
      if (request.leadId && !lead) {
        throw new NotFoundError('Lead not found', {
          code: 'lead_not_found',
          details: { leadId: request.leadId },
        });
      }
      const templateRef =
        typeof request.template === 'string' ? { name: request.template } : request.template;
      const kind = request.kind ?? (templateRef ? 'template' : 'text');
      const template =
        kind === 'template' && templateRef
          ? await templates.require(tenant.id, templateRef.name, templateRef.language)
          : null;
      if (kind === 'template' && !template) {
        throw new ValidationError('Name the template to explain a template send', {
          code: 'template_details_required',
        });
      }
      return decide(tenant, lead, to, kind, template, clock.now());
    },
    async record(tenantId, events, receiveOptions) {
      const tenant = await registry.get(tenantId);
      const result = await recordEvents(ctx, tenant, events, receiveOptions);
      if (result.received > 0) processSoon(tenant.id);
      return result;
    },
    async recordUnparsed(tenantId, callback) {
      return recordUnparsed(ctx, await registry.get(tenantId), callback);
    },
    async receive(tenantId, events, receiveOptions) {
      const tenant = await registry.get(tenantId);
      const result = await recordEvents(ctx, tenant, events, receiveOptions);
      const { done } = await processor.drain({ clientAccountId: tenant.id });
      return { ...result, processed: done };
    },
    inbound,
    templates,
    assignBotProfile: (tenant, leadId, profileId) => assignBotProfile(store, tenant, leadId, profileId),
    resolveBotProfile: (tenant, lead) => resolveBotProfile(store, tenant, lead),
    async idle() {
      while (passes.size > 0) await Promise.allSettled([...passes]);
      await processor.drain();
    },
    store,
    registry,
    wabaStore,
  };
}
