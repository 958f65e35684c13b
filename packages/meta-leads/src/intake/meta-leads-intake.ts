import {
  backoffDelay,
  type Clock,
  type CoreStore,
  type FacebookPage,
  isLeadRelayError,
  type Lead,
  type Logger,
  matchMetaSignature,
  NotFoundError,
  noopLogger,
  SignatureError,
  type SqlDatabase,
  StorageError,
  systemClock,
  type Tenant,
  verifyMetaSubscription,
} from '@leadrelay/core';
import type { GraphLeadsClient } from '../graph/graph-leads-client.js';
import type {
  LeadgenEvent,
  LeadgenEventInput,
  LeadgenEventKey,
  LeadgenInbox,
} from '../inbox/leadgen-inbox.js';
import { createMemoryLeadgenInbox } from '../inbox/memory-leadgen-inbox.js';
import { createPostgresLeadgenInbox } from '../inbox/postgres-leadgen-inbox.js';
import { normalizeGraphLead } from '../normalize/normalize-graph-lead.js';
import type { LeadgenWebhook } from '../webhook/leadgen-webhook.js';
import {
  parseLeadgenWebhook,
  parseMetaWebhookJson,
  toLeadgenWebhook,
} from '../webhook/parse-leadgen-webhook.js';
import type { MetaLeadsRegistry } from './meta-leads-registry.js';

/**
 * Meta retries a failed delivery for about 36 hours and a retry can carry the
 * original `entry.time`: the default tolerance is 72 hours so no retry of
 * Meta's is ever refused. Dedupe on the leadgen id is the real replay guard.
 */
export const DEFAULT_REPLAY_TOLERANCE_SECONDS = 72 * 60 * 60;

/**
 * What `onLead` receives for a leadgen id once its lead is stored.
 *
 * Delivery is at least once per leadgen id: normally exactly once, again
 * only after the hook threw (the event is retried with backoff) or the
 * process stopped before the event was completed. A repeat carries the same
 * lead and the same `created`. Make side effects idempotent on `leadgenId`.
 *
 * @example
 * onLead: async ({ clientAccountId, leadgenId, lead, created }) => {
 *   if (!created || !lead.phone) return;
 *   // A repeat of this event sends nothing twice: the key is the leadgen id.
 *   await waba.send({ tenant: clientAccountId, to: lead.phone, message: welcomeMessage(lead),
 *     idempotencyKey: `welcome:${leadgenId}` });
 * },
 */
export interface MetaLeadEvent {
  clientAccountId: string;
  leadgenId: string;
  pageId: string;
  formId: string | null;
  lead: Lead;
  /** False when the lead merged into the tenant's lead with the same phone. The same on a repeat. */
  created: boolean;
  tenant: Tenant;
  page: FacebookPage;
}

export interface MetaLeadsIntakeOptions {
  store: CoreStore;
  registry: MetaLeadsRegistry;
  graph: GraphLeadsClient;
  /** Where events are recorded. Default: a Postgres inbox over `db`, else an in-memory inbox. */
  inbox?: LeadgenInbox;
  db?: SqlDatabase;
  logger?: Logger;
  clock?: Clock;
  /**
   * Called after a new leadgen id's lead is stored and before its event is
   * done; at least once per leadgen id (see `MetaLeadEvent`). A throw is
   * logged and the event retried with backoff (`failed` after `maxAttempts`)
   * without fetching or storing the lead again. Keep it shorter than `leaseMs`.
   */
  onLead?: (event: MetaLeadEvent) => void | Promise<void>;
  /** Events processed at once (Graph fetches in flight). Default 4. */
  concurrency?: number;
  /** Entries older than this (by `entry.time`) are answered 200 and not processed. Default 72 h; 0 turns it off. */
  replayToleranceSeconds?: number;
  /** How long a claim holds an event before another worker may take it. Default 5 minutes. */
  leaseMs?: number;
  /** Attempts before a retryable failure parks the event as `failed`. Default 12. */
  maxAttempts?: number;
  /** Backoff between attempts of one event. Default 30 s to 1 h. */
  retryMinDelayMs?: number;
  retryMaxDelayMs?: number;
}

export interface ReceiveInput {
  /** The tenant from the route; without it the tenant is found by the page ids in the body. */
  clientAccountId?: string | null;
  body: Uint8Array | string;
  /** The `X-Hub-Signature-256` header. */
  signature: string | null | undefined;
}

export interface ReceiveResult {
  object: string;
  /** New events recorded and queued. */
  recorded: number;
  /** Leadgen ids recorded before: dropped. */
  duplicates: number;
  ignored: {
    /** Entries older than the replay tolerance. */
    staleEntries: number;
    /** Leadgen changes for pages the tenant has not registered (or disabled). */
    unknownPages: number;
    /** Changes of fields other than `leadgen`. */
    otherFields: number;
  };
}

export interface VerificationInput {
  clientAccountId?: string | null;
  mode: string | null;
  token: string | null;
  challenge: string | null;
}

export interface RetryPendingOptions {
  clientAccountId?: string;
  pageId?: string;
  /** Also requeue events parked as `failed`. Default false: only `needs_reauth`. */
  includeFailed?: boolean;
}

export interface MetaLeadsIntake {
  readonly inbox: LeadgenInbox;
  /**
   * Verifies, parses, routes and durably records a webhook delivery, then
   * queues the new events for background processing. Throws typed errors:
   * `NotFoundError` (404), `SignatureError` (401), `ValidationError` (400),
   * `StorageError` (503, nothing was recorded).
   */
  receive(input: ReceiveInput): Promise<ReceiveResult>;
  /** The GET handshake: the challenge to echo, or a `ForbiddenError`. */
  verifySubscription(input: VerificationInput, sharedVerifyToken?: string): Promise<string>;
  /** Processes every due event (and waits for queued ones) until none is due. */
  drain(): Promise<void>;
  /** Puts parked events back in the queue (after a page is re-authorised) and drains. Answers how many. */
  retryPending(options?: RetryPendingOptions): Promise<number>;
  /** Starts a timer that drains due events (retries after backoff); `stop` ends it. */
  start(options?: { pollIntervalMs?: number }): void;
  stop(): Promise<void>;
  /** Deletes done events older than `olderThanMs`, never younger than the replay tolerance. */
  purgeDone(options: { olderThanMs: number }): Promise<number>;
}

type Task = { key: LeadgenEventKey } | { event: LeadgenEvent };

interface StoredLead {
  lead: Lead;
  created: boolean;
}

const MAX_ERROR_TEXT = 500;

function errorText(error: unknown): string {
  const text = isLeadRelayError(error)
    ? `${error.code}: ${error.message}`
    : error instanceof Error
      ? error.message
      : String(error);
  return text.length > MAX_ERROR_TEXT ? text.slice(0, MAX_ERROR_TEXT) : text;
}

/**
 * The Lead Ads intake: verified webhooks in, normalised leads out, each
 * leadgen id stored once and handed to `onLead` at least once. Recording is
 * durable and fast (one statement per delivery); the Graph fetch,
 * normalisation, lead upsert and `onLead` run in the background with a
 * concurrency limit, retries with backoff, and page re-authorisation on
 * token errors.
 *
 * @example
 * const intake = createMetaLeadsIntake({ store, registry, db, graph, onLead: ({ lead }) => welcome(lead) });
 * intake.start();
 */
export function createMetaLeadsIntake(options: MetaLeadsIntakeOptions): MetaLeadsIntake {
  const { store, registry, graph } = options;
  const logger = (options.logger ?? noopLogger).child({ component: 'meta-leads' });
  const clock = options.clock ?? systemClock;
  const concurrency = Math.max(1, options.concurrency ?? 4);
  const toleranceMs = Math.max(0, options.replayToleranceSeconds ?? DEFAULT_REPLAY_TOLERANCE_SECONDS) * 1000;
  const leaseMs = options.leaseMs ?? 5 * 60_000;
  const maxAttempts = options.maxAttempts ?? 12;
  const retryMinDelayMs = options.retryMinDelayMs ?? 30_000;
  const retryMaxDelayMs = options.retryMaxDelayMs ?? 60 * 60_000;
  const inbox =
    options.inbox ?? (options.db ? createPostgresLeadgenInbox(options.db) : createMemoryLeadgenInbox());
  if (!options.inbox && !options.db) {
    logger.warn({}, 'meta-leads: no inbox or db given; events are kept in memory only');
  }

  // ---------------------------------------------------------------------------
  // Receiving

  async function tenantSecrets(tenant: Tenant): Promise<string[]> {
    return (await registry.metaAppSecrets(tenant)).filter((s) => typeof s === 'string' && s.length > 0);
  }

  async function collect(
    webhook: LeadgenWebhook,
    route: (pageId: string) => Promise<FacebookPage[]>,
  ): Promise<ReceiveResult> {
    const result: ReceiveResult = {
      object: webhook.object,
      recorded: 0,
      duplicates: 0,
      ignored: { staleEntries: 0, unknownPages: 0, otherFields: 0 },
    };
    const now = clock.now();
    const events: LeadgenEventInput[] = [];
    const unknown = new Set<string>();
    for (const entry of webhook.entries) {
      result.ignored.otherFields += entry.ignoredFields.length;
      if (entry.changes.length === 0) continue;
      if (toleranceMs > 0 && now.getTime() - entry.time * 1000 > toleranceMs) {
        result.ignored.staleEntries++;
        logger.warn(
          { pageId: entry.pageId, entryTime: entry.time, changes: entry.changes.length },
          'meta-leads: entry older than the replay tolerance ignored',
        );
        continue;
      }
      for (const change of entry.changes) {
        const pages = await route(change.pageId);
        if (pages.length === 0) {
          result.ignored.unknownPages++;
          unknown.add(change.pageId);
          continue;
        }
        for (const page of pages) {
          events.push({
            clientAccountId: page.clientAccountId,
            leadgenId: change.leadgenId,
            pageId: change.pageId,
            formId: change.formId,
            adId: change.adId,
            adgroupId: change.adgroupId,
            payload: { ...change, entryTime: entry.time },
          });
        }
      }
    }
    for (const pageId of unknown) {
      logger.warn({ pageId }, 'meta-leads: leadgen change for a page not registered to the tenant ignored');
    }
    if (events.length === 0) return result;
    let inserted: LeadgenEvent[];
    try {
      inserted = await inbox.record(events, now);
    } catch (error) {
      logger.error({ error: errorText(error), events: events.length }, 'meta-leads: recording events failed');
      throw error instanceof StorageError
        ? error
        : new StorageError('Leadgen events could not be recorded', { cause: error });
    }
    result.recorded = inserted.length;
    result.duplicates = events.length - inserted.length;
    if (result.duplicates > 0)
      logger.info({ duplicates: result.duplicates }, 'meta-leads: duplicate leadgen ids dropped');
    for (const event of inserted) {
      queue.push({ key: { clientAccountId: event.clientAccountId, leadgenId: event.leadgenId } });
    }
    pump();
    return result;
  }

  async function receiveForTenant(clientAccountId: string, input: ReceiveInput): Promise<ReceiveResult> {
    const tenant = await registry.get(clientAccountId);
    const secrets = await tenantSecrets(tenant);
    if (secrets.length === 0) {
      throw new NotFoundError('No Meta app is registered for this client', {
        code: 'meta_app_not_configured',
      });
    }
    const match = matchMetaSignature(input.body, input.signature, secrets);
    if (!match) throw new SignatureError();
    if (match.secretIndex > 0) {
      logger.info({ clientAccountId }, 'meta-leads: webhook signed with the previous app secret');
    }
    const webhook = parseLeadgenWebhook(input.body);
    const pages = new Map<string, Promise<FacebookPage[]>>();
    return collect(webhook, (pageId) => {
      let found = pages.get(pageId);
      if (!found) {
        found = store.pages
          .getByPageId(tenant.id, pageId)
          .then((page) => (page && page.status !== 'disabled' ? [page] : []));
        pages.set(pageId, found);
      }
      return found;
    });
  }

  async function receiveByPage(input: ReceiveInput): Promise<ReceiveResult> {
    // The tenant (and so the secret) is known only from the body: read the
    // page ids first, verify before anything else is trusted.
    const json = parseMetaWebhookJson(input.body);
    const entries = (json as { entry?: unknown })?.entry;
    const pageIds = new Set<string>();
    if (Array.isArray(entries)) {
      for (const entry of entries) {
        const id = (entry as { id?: unknown })?.id;
        if (typeof id === 'string' && /^\d{1,32}$/.test(id)) pageIds.add(id);
      }
    }
    const registrations = (await Promise.all([...pageIds].map((id) => store.pages.findByPageId(id)))).flat();
    if (registrations.length === 0) {
      throw new NotFoundError('No page in this webhook is registered', { code: 'page_not_found' });
    }
    const verified = new Set<string>();
    for (const clientAccountId of new Set(registrations.map((p) => p.clientAccountId))) {
      let tenant: Tenant;
      try {
        tenant = await registry.get(clientAccountId);
      } catch (error) {
        if (isLeadRelayError(error) && error.status === 404) continue;
        throw error;
      }
      if (matchMetaSignature(input.body, input.signature, await tenantSecrets(tenant))) {
        verified.add(clientAccountId);
      }
    }
    if (verified.size === 0) throw new SignatureError();
    const webhook = toLeadgenWebhook(json);
    return collect(webhook, async (pageId) =>
      registrations.filter((p) => p.pageId === pageId && verified.has(p.clientAccountId)),
    );
  }

  // ---------------------------------------------------------------------------
  // Background processing

  const queue: Task[] = [];
  let running = 0;
  let idleWaiters: (() => void)[] = [];

  function settleIdle() {
    if (running > 0 || queue.length > 0) return;
    const waiters = idleWaiters;
    idleWaiters = [];
    for (const resolve of waiters) resolve();
  }

  function idle(): Promise<void> {
    if (running === 0 && queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => idleWaiters.push(resolve));
  }

  function pump() {
    while (running < concurrency && queue.length > 0) {
      const task = queue.shift()!;
      running++;
      runTask(task)
        .catch((error) => logger.error({ error: errorText(error) }, 'meta-leads: processing an event failed'))
        .finally(() => {
          running--;
          pump();
          settleIdle();
        });
    }
    settleIdle();
  }

  async function runTask(task: Task): Promise<void> {
    if ('event' in task) return processEvent(task.event);
    const [event] = await inbox.claim({ now: clock.now(), leaseMs, limit: 1, keys: [task.key] });
    // Another worker (or a drain) took it first.
    if (event) await processEvent(event);
  }

  async function processEvent(event: LeadgenEvent): Promise<void> {
    const lease = {
      clientAccountId: event.clientAccountId,
      leadgenId: event.leadgenId,
      attempts: event.attempts,
    };
    const log = logger.child({
      clientAccountId: event.clientAccountId,
      leadgenId: event.leadgenId,
      pageId: event.pageId,
      attempt: event.attempts,
    });
    const park = async (status: 'failed' | 'needs_reauth', error: string) => {
      await inbox.park(lease, { status, error, now: clock.now() });
      log.warn({ status, error }, 'meta-leads: event parked');
    };
    const leaseLost = (leadId: string) =>
      log.warn({ leadId }, 'meta-leads: lease lost; another worker owns the event');

    let tenant: Tenant;
    let page: FacebookPage | null;
    try {
      tenant = await registry.get(event.clientAccountId);
      page = await store.pages.getByPageId(event.clientAccountId, event.pageId);
    } catch (error) {
      // An unknown or inactive tenant will not fix itself by waiting; an outage will.
      if (isLeadRelayError(error) && !error.retryable && error.status < 500) {
        return park('failed', errorText(error));
      }
      return retryLater(event, lease, error, log);
    }
    if (!page || page.status === 'disabled') return park('failed', 'page_not_found: page is not registered');

    // A retry of an event whose lead is stored (onLead failed, or the process
    // stopped before completing) delivers that lead again: no fetch, no
    // second lead. Only a lead deleted meanwhile is fetched and stored anew.
    let stored: StoredLead | null = null;
    if (event.leadId !== null) {
      try {
        const lead = await store.leads.get(tenant.id, event.leadId);
        if (lead) {
          stored = { lead, created: event.leadCreated ?? false };
          log.info({ leadId: lead.id }, 'meta-leads: lead already stored; delivering it again');
        } else log.warn({ leadId: event.leadId }, 'meta-leads: the recorded lead is gone; fetching it again');
      } catch (error) {
        return retryLater(event, lease, error, log);
      }
    }

    if (!stored) {
      if (page.status === 'needs_reauth')
        return park('needs_reauth', 'page_token_invalid: page awaits re-authorisation');
      try {
        const token = await registry.pageAccessToken(page);
        if (!token) return park('needs_reauth', 'page_token_missing: no access token for the page');
        const [appSecret] = await tenantSecrets(tenant);
        if (!appSecret) return park('failed', 'meta_app_not_configured: no app secret');
        const graphLead = await graph.getLead(event.leadgenId, token, appSecret);
        const input = normalizeGraphLead(graphLead, {
          clientAccountId: tenant.id,
          defaultCountry: page.defaultCountry ?? tenant.defaultCountry,
          pageId: page.pageId,
        });
        stored = input.phone
          ? await store.leads.upsertByPhone({ ...input, phone: input.phone })
          : { lead: await store.leads.create(input), created: true };
      } catch (error) {
        if (isLeadRelayError(error) && error.code === 'page_token_invalid') {
          await store.pages.update(tenant.id, page.id, { status: 'needs_reauth' });
          await registry.invalidate(tenant.id);
          log.warn(
            { error: errorText(error) },
            'meta-leads: page token invalid; page marked for re-authorisation',
          );
          return park('needs_reauth', errorText(error));
        }
        if (isLeadRelayError(error) && !error.retryable) return park('failed', errorText(error));
        return retryLater(event, lease, error, log);
      }
      // Recorded before onLead runs, so neither a hook failure nor a crash
      // from here on can lose the hook call or store the lead twice.
      const attached = await inbox.attachLead(lease, {
        leadId: stored.lead.id,
        created: stored.created,
        now: clock.now(),
      });
      if (!attached) return leaseLost(stored.lead.id);
      log.info({ leadId: stored.lead.id, created: stored.created }, 'meta-leads: lead stored');
    }

    if (options.onLead) {
      try {
        await options.onLead({
          clientAccountId: tenant.id,
          leadgenId: event.leadgenId,
          pageId: event.pageId,
          formId: event.formId,
          lead: stored.lead,
          created: stored.created,
          tenant,
          page,
        });
      } catch (error) {
        log.error({ error: errorText(error), leadId: stored.lead.id }, 'meta-leads: onLead hook failed');
        return retryLater(event, lease, error, log);
      }
    }

    const completed = await inbox.complete(lease, { leadId: stored.lead.id, now: clock.now() });
    if (!completed) leaseLost(stored.lead.id);
  }

  async function retryLater(
    event: LeadgenEvent,
    lease: LeadgenEventKey & { attempts: number },
    error: unknown,
    log: Logger,
  ): Promise<void> {
    const text = errorText(error);
    if (event.attempts >= maxAttempts) {
      await inbox.park(lease, { status: 'failed', error: text, now: clock.now() });
      log.error({ error: text }, 'meta-leads: event failed after the last attempt');
      return;
    }
    const retryAfterMs = (error as { retryAfterMs?: unknown })?.retryAfterMs;
    const delayMs = Math.max(
      backoffDelay({ attempt: event.attempts, minMs: retryMinDelayMs, maxMs: retryMaxDelayMs }),
      typeof retryAfterMs === 'number' ? retryAfterMs : 0,
    );
    const now = clock.now();
    await inbox.retryLater(lease, { error: text, nextAttemptAt: new Date(now.getTime() + delayMs), now });
    log.warn({ error: text, delayMs }, 'meta-leads: event will be retried');
  }

  async function drain(): Promise<void> {
    for (;;) {
      await idle();
      const claimed = await inbox.claim({ now: clock.now(), leaseMs, limit: concurrency });
      if (claimed.length === 0) return idle();
      for (const event of claimed) queue.push({ event });
      pump();
    }
  }

  // ---------------------------------------------------------------------------
  // Polling

  let timer: ReturnType<typeof setTimeout> | null = null;
  let started = false;

  return {
    inbox,

    async receive(input) {
      const clientAccountId = input.clientAccountId ?? null;
      return clientAccountId === null ? receiveByPage(input) : receiveForTenant(clientAccountId, input);
    },

    async verifySubscription(input, sharedVerifyToken) {
      let expected: string | null;
      if (input.clientAccountId) {
        expected = await registry.metaVerifyToken(await registry.get(input.clientAccountId));
      } else {
        expected = sharedVerifyToken ?? null;
        if (expected === null) {
          throw new NotFoundError('The verification route needs a client id', { code: 'tenant_not_found' });
        }
      }
      return verifyMetaSubscription(input, expected);
    },

    drain,

    async retryPending(retryOptions = {}) {
      const count = await inbox.requeue({
        now: clock.now(),
        statuses: retryOptions.includeFailed ? ['needs_reauth', 'failed'] : ['needs_reauth'],
        ...(retryOptions.clientAccountId !== undefined
          ? { clientAccountId: retryOptions.clientAccountId }
          : {}),
        ...(retryOptions.pageId !== undefined ? { pageId: retryOptions.pageId } : {}),
      });
      if (count > 0) logger.info({ ...retryOptions, count }, 'meta-leads: parked events requeued');
      await drain();
      return count;
    },

    start(startOptions = {}) {
      if (started) return;
      started = true;
      const pollIntervalMs = startOptions.pollIntervalMs ?? 15_000;
      const tick = async () => {
        timer = null;
        try {
          await drain();
        } catch (error) {
          logger.error({ error: errorText(error) }, 'meta-leads: drain failed');
        }
        if (!started) return;
        let delayMs = pollIntervalMs;
        try {
          const next = await inbox.nextDueAt();
          if (next) delayMs = Math.min(pollIntervalMs, Math.max(50, next.getTime() - clock.now().getTime()));
        } catch {
          // The poll interval still applies.
        }
        if (started) {
          timer = setTimeout(tick, delayMs);
          timer.unref?.();
        }
      };
      void tick();
    },

    async stop() {
      started = false;
      if (timer) clearTimeout(timer);
      timer = null;
      await idle();
    },

    async purgeDone({ olderThanMs }) {
      const age = Math.max(olderThanMs, toleranceMs);
      return inbox.purgeDone(new Date(clock.now().getTime() - age));
    },
  };
}
