import { randomUUID } from 'node:crypto';
import {
  type Clock,
  type CoreStore,
  type Logger,
  noopLogger,
  type SqlDatabase,
  systemClock,
} from '@leadrelay/core';
import { type CampaignCache, createCampaignCache } from '../campaigns/campaign-cache.js';
import type { CompiledCampaign } from '../campaigns/compile-campaign.js';
import { decideStep } from '../campaigns/decide-step.js';
import type { FollowUpMessage } from '../campaigns/follow-up-message.js';
import { planStepTime } from '../campaigns/plan-step-time.js';
import type { FollowUpLead } from '../conditions/lead-snapshot.js';
import type { FollowUpStore, NextStep, ScheduledStep, SendCheck, StepOutcome } from '../store/ports.js';
import { createPostgresFollowUpStore } from '../store/postgres-store.js';
import { sendIdempotencyKey } from '../store/send-idempotency-key.js';
import { resolveLeadTimeZone } from '../time/country-time-zones.js';
import { nextAllowedTime } from '../time/quiet-hours.js';
import { classifySendError } from './classify-send-error.js';
import type { FollowUpSender } from './sender.js';

export interface BackoffOptions {
  /** Delay before the first retry (default 30 s); doubles with each attempt. */
  baseMs?: number;
  /** Upper bound of a delay (default 1 h). */
  maxMs?: number;
}

export interface FollowUpRunnerOptions {
  /** The follow-up store, or a database to build the Postgres store on. */
  store?: FollowUpStore;
  db?: SqlDatabase;
  sender: FollowUpSender;
  /** Where leads and tenants are read from (core's store). */
  core: Pick<CoreStore, 'leads' | 'tenants'>;
  clock?: Clock;
  logger?: Logger;
  /** Steps claimed per batch (default 100). */
  batchSize?: number;
  /** How long a claim is held before other workers may take it (default 60 s); extended while a batch runs. */
  leaseMs?: number;
  /** Sends in flight at once within a batch (default 10). */
  concurrency?: number;
  /** Longest idle sleep between polls (default 30 s); NOTIFY wakes the runner sooner. */
  pollIntervalMs?: number;
  /** Attempts before a step that keeps failing transiently is `dead` (default 5). */
  maxAttempts?: number;
  backoff?: BackoffOptions | ((attempt: number) => number);
  /** How long a step of a paused campaign waits before it is looked at again (default 15 min). */
  pausedRetryMs?: number;
}

export interface FollowUpRunner {
  /** Runs batches until stopped: right away while work is due, otherwise sleeping until woken or the next due time. */
  start(): Promise<void>;
  /** Finishes the batch in progress, then stops. */
  stop(): Promise<void>;
  /** Claims and processes one batch; returns how many steps it claimed. For cron and serverless use. */
  tick(): Promise<number>;
}

interface TickContext {
  now: Date;
  leads: Map<string, Promise<FollowUpLead | null>>;
  tenants: Map<string, Promise<{ id: string; name: string; timeZone: string } | null>>;
  /** Sends decided in this batch per lead: the ledger only learns of them when the batch completes. */
  sendsInBatch: Map<string, { count: number; first: Date }>;
}

/**
 * The follow-up worker. Each batch: claim due steps in one statement
 * (`FOR UPDATE SKIP LOCKED`, lease, claim token), keep the lease alive while
 * working, lock the enrolments and re-check exit rules right before sending,
 * send with the ledger key as idempotency key, then apply every outcome of
 * the batch in one statement guarded by the claim token.
 *
 * @example
 * const runner = createFollowUpRunner({ store, sender: createWabaSender(waba), core });
 * await runner.start();
 * process.on('SIGTERM', () => runner.stop());
 */
export function createFollowUpRunner(options: FollowUpRunnerOptions): FollowUpRunner {
  const store = options.store ?? (options.db ? createPostgresFollowUpStore(options.db) : undefined);
  if (!store) throw new TypeError('createFollowUpRunner needs a store or a db');
  const { sender, core } = options;
  const clock = options.clock ?? systemClock;
  const logger = (options.logger ?? noopLogger).child({ component: 'followups.runner' });
  const batchSize = options.batchSize ?? 100;
  const leaseMs = options.leaseMs ?? 60_000;
  const concurrency = Math.max(1, options.concurrency ?? 10);
  const pollIntervalMs = options.pollIntervalMs ?? 30_000;
  const maxAttempts = options.maxAttempts ?? 5;
  const pausedRetryMs = options.pausedRetryMs ?? 15 * 60_000;
  const backoff =
    typeof options.backoff === 'function'
      ? options.backoff
      : (attempt: number) => {
          const base = (options.backoff as BackoffOptions | undefined)?.baseMs ?? 30_000;
          const max = (options.backoff as BackoffOptions | undefined)?.maxMs ?? 3_600_000;
          const exp = Math.min(max, base * 2 ** Math.max(0, attempt - 1));
          // Up to 20% jitter so steps that failed together do not retry together.
          return Math.round(exp * (0.8 + Math.random() * 0.2));
        };
  const cache: CampaignCache = createCampaignCache(store);
  const reclaimEveryMs = Math.min(5_000, Math.max(100, Math.floor(leaseMs / 2)));
  let nextReclaimAt = 0;

  let running = false;
  let loop: Promise<void> | null = null;
  let wake: (() => void) | null = null;
  let unsubscribe: (() => Promise<void>) | null = null;

  function loadLead(ctx: TickContext, tenant: string, leadId: string) {
    const key = `${tenant}\u0000${leadId}`;
    let p = ctx.leads.get(key);
    if (!p) {
      p = core.leads.get(tenant, leadId);
      ctx.leads.set(key, p);
    }
    return p;
  }

  /** One query per tenant for the whole batch instead of one per row. */
  function prefetchLeads(ctx: TickContext, rows: readonly ScheduledStep[]): void {
    const getMany = core.leads.getMany?.bind(core.leads);
    if (!getMany) return;
    const byTenant = new Map<string, string[]>();
    for (const row of rows) {
      const ids = byTenant.get(row.clientAccountId);
      if (ids) ids.push(row.leadId);
      else byTenant.set(row.clientAccountId, [row.leadId]);
    }
    for (const [tenant, leadIds] of byTenant) {
      const batch = getMany(tenant, leadIds);
      // A failed batch read must not become an unhandled rejection: loadLead's callers see it per row.
      batch.catch(() => {});
      const byId = batch.then((leads) => new Map(leads.map((lead) => [lead.id, lead])));
      byId.catch(() => {});
      for (const leadId of new Set(leadIds)) {
        ctx.leads.set(
          `${tenant}\u0000${leadId}`,
          byId.then((leads) => leads.get(leadId) ?? null),
        );
      }
    }
  }

  function loadTenant(ctx: TickContext, tenant: string) {
    let p = ctx.tenants.get(tenant);
    if (!p) {
      p = core.tenants.get(tenant).catch(() => null);
      ctx.tenants.set(tenant, p);
    }
    return p;
  }

  function planNext(
    compiled: CompiledCampaign,
    index: number,
    base: Date,
    timeZone: string,
  ): NextStep | null {
    const next = compiled.steps[index + 1];
    if (!next) return null;
    const planned = planStepTime(base, next.delay, compiled.definition.schedule, timeZone);
    return { stepId: next.id, stepIndex: next.index, dueAt: planned.at };
  }

  function retryOutcome(
    row: ScheduledStep,
    error: string,
    retryAfterMs: number | null,
    now: Date,
  ): StepOutcome {
    if (row.attempts >= maxAttempts) return { id: row.id, kind: 'dead', error };
    const delay = Math.max(backoff(row.attempts), retryAfterMs ?? 0);
    return { id: row.id, kind: 'retry', error, dueAt: new Date(now.getTime() + delay) };
  }

  async function sendOne(
    row: ScheduledStep,
    to: string,
    message: FollowUpMessage,
    key: string,
  ): Promise<{ providerMessageId: string; messageId: string | null }> {
    const result = await sender.send({
      tenant: row.clientAccountId,
      to,
      leadId: row.leadId,
      message,
      idempotencyKey: key,
      context: { campaignId: row.campaignId, stepId: row.stepId, enrolmentId: row.enrolmentId },
    });
    return { providerMessageId: result.providerMessageId, messageId: result.messageId ?? null };
  }

  async function processRow(ctx: TickContext, row: ScheduledStep, check: SendCheck): Promise<StepOutcome> {
    const now = ctx.now;
    if (check.enrolmentStatus !== 'active') return { id: row.id, kind: 'exited', reason: 'campaign_stopped' };
    const [lead, tenant, compiled] = await Promise.all([
      loadLead(ctx, row.clientAccountId, row.leadId),
      loadTenant(ctx, row.clientAccountId),
      cache.get(row.clientAccountId, row.campaignId, row.campaignVersion),
    ]);
    if (!compiled || check.campaignStatus === null || check.campaignStatus === 'archived') {
      return { id: row.id, kind: 'exited', reason: 'campaign_stopped' };
    }
    if (check.campaignStatus !== 'active') {
      return {
        id: row.id,
        kind: 'deferred',
        reason: 'campaign_paused',
        dueAt: new Date(now.getTime() + pausedRetryMs),
      };
    }
    const step = compiled.stepById.get(row.stepId);
    if (!step)
      return {
        id: row.id,
        kind: 'failed',
        error: `step ${row.stepId} is not in version ${row.campaignVersion}`,
      };
    if (!lead) return { id: row.id, kind: 'failed', error: 'lead_not_found' };
    if (!lead.phone) return { id: row.id, kind: 'failed', error: 'lead_has_no_phone' };
    const zone = resolveLeadTimeZone(lead, {
      campaign: compiled.definition.schedule.timeZone ?? null,
      tenant: tenant?.timeZone ?? null,
    }).timeZone;
    const leadKey = `${row.clientAccountId}\u0000${row.leadId}`;
    const inBatch = ctx.sendsInBatch.get(leadKey);
    const decision = decideStep({
      campaign: compiled,
      step,
      lead,
      tenant,
      timeZone: zone,
      now,
      enrolledAt: check.enrolledAt,
      recentSends: check.recentSends + (inBatch?.count ?? 0),
      oldestRecentSendAt: check.oldestRecentSendAt ?? inBatch?.first ?? null,
    });
    switch (decision.action) {
      case 'exit':
        return { id: row.id, kind: 'exited', reason: decision.reason };
      case 'defer':
        return { id: row.id, kind: 'deferred', reason: decision.reason, dueAt: decision.until };
      case 'skip':
        return {
          id: row.id,
          kind: 'skipped',
          reason: decision.reason,
          next: planNext(compiled, step.index, now, zone),
        };
    }
    if (inBatch) inBatch.count++;
    else ctx.sendsInBatch.set(leadKey, { count: 1, first: now });
    const key = sendIdempotencyKey(row.enrolmentId, row.stepId);
    let kind = decision.kind as string;
    try {
      let result: { providerMessageId: string; messageId: string | null };
      try {
        result = await sendOne(row, lead.phone, decision.message, key);
      } catch (error) {
        const failure = classifySendError(error);
        // The sender knows the window better (an inbound we have not seen yet): fall back to the template.
        if (
          failure.kind === 'window_closed' &&
          decision.message.type === 'text' &&
          decision.rendered.fallback
        ) {
          kind = 'fallback_template';
          result = await sendOne(row, lead.phone, decision.rendered.fallback, `${key}:template`);
        } else {
          throw error;
        }
      }
      return {
        id: row.id,
        kind: 'sent',
        providerMessageId: result.providerMessageId,
        messageId: result.messageId,
        messageKind: kind,
        idempotencyKey: key,
        next: planNext(compiled, step.index, now, zone),
      };
    } catch (error) {
      const failure = classifySendError(error);
      switch (failure.kind) {
        case 'window_closed':
          return {
            id: row.id,
            kind: 'skipped',
            reason: 'window_closed',
            next: planNext(compiled, step.index, now, zone),
          };
        case 'opted_out':
          return { id: row.id, kind: 'exited', reason: 'opted_out' };
        case 'policy':
          return {
            id: row.id,
            kind: 'skipped',
            reason: failure.code,
            next: planNext(compiled, step.index, now, zone),
          };
        case 'transient': {
          const retry = retryOutcome(row, failure.message, failure.retryAfterMs, now);
          if (retry.kind === 'retry') {
            retry.dueAt = nextAllowedTime(retry.dueAt, compiled.definition.schedule, zone).at;
          }
          return retry;
        }
        case 'permanent':
          return { id: row.id, kind: 'failed', error: failure.message };
      }
    }
  }

  async function completeWithRetry(token: string, outcomes: StepOutcome[]): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await store!.complete(token, outcomes);
        return;
      } catch (error) {
        if (attempt >= 3) throw error;
        logger.warn({ err: error, attempt }, 'completing a batch failed; retrying');
        await new Promise((r) => setTimeout(r, 200 * attempt));
      }
    }
  }

  async function tick(): Promise<number> {
    const token = randomUUID();
    // Expired leases are looked for every so often, not on every claim: that scan is wasted work
    // while nothing crashes, and a lease only expires after leaseMs anyway.
    const t = clock.now().getTime();
    const reclaimExpired = t >= nextReclaimAt;
    if (reclaimExpired) nextReclaimAt = t + reclaimEveryMs;
    const rows = await store!.claimDue({ limit: batchSize, leaseMs, token, reclaimExpired });
    if (rows.length === 0) return 0;
    const ids = rows.map((r) => r.id);
    const ctx: TickContext = {
      now: clock.now(),
      leads: new Map(),
      tenants: new Map(),
      sendsInBatch: new Map(),
    };
    prefetchLeads(ctx, rows);
    const heartbeat = setInterval(
      () => {
        store!.extendLease(ids, token, leaseMs).catch((error) => {
          logger.warn({ err: error }, 'extending the lease failed');
        });
      },
      Math.max(50, Math.floor(leaseMs / 3)),
    );
    const outcomes: StepOutcome[] = [];
    try {
      for (let i = 0; i < rows.length; i += concurrency) {
        const chunk = rows.slice(i, i + concurrency);
        ctx.now = clock.now();
        // The enrolments are locked while this reads them: an exit committed before now is seen; a
        // missing row means the claim was lost (lease expired and taken, or the step was cancelled).
        const checks = await store!.checkBeforeSend(
          chunk.map((r) => r.id),
          token,
          new Date(ctx.now.getTime() - 86_400_000),
        );
        const byId = new Map(checks.map((c) => [c.id, c]));
        const results = await Promise.all(
          chunk.map(async (row) => {
            const check = byId.get(row.id);
            if (!check) return null;
            try {
              return await processRow(ctx, row, check);
            } catch (error) {
              logger.error({ err: error, stepRowId: row.id }, 'processing a follow-up step failed');
              const failure = classifySendError(error);
              return retryOutcome(row, 'message' in failure ? failure.message : failure.kind, null, ctx.now);
            }
          }),
        );
        for (const r of results) if (r) outcomes.push(r);
      }
    } finally {
      // Record what was already sent even when a later chunk failed: an unrecorded send is resent.
      try {
        if (outcomes.length > 0) await completeWithRetry(token, outcomes);
      } finally {
        clearInterval(heartbeat);
      }
    }
    logger.debug({ claimed: rows.length, completed: outcomes.length }, 'follow-up batch done');
    return rows.length;
  }

  async function sleep(ms: number): Promise<void> {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        wake = null;
        resolve();
      }
      wake = done;
    });
  }

  async function run(): Promise<void> {
    while (running) {
      let claimed = 0;
      try {
        claimed = await tick();
      } catch (error) {
        logger.error({ err: error }, 'follow-up batch failed');
        if (running) await sleep(Math.min(pollIntervalMs, 5_000));
        continue;
      }
      if (!running) break;
      if (claimed >= batchSize) continue;
      let wait = pollIntervalMs;
      try {
        const next = await store!.nextDueAt();
        if (next) wait = Math.min(pollIntervalMs, Math.max(0, next.getTime() - clock.now().getTime()));
      } catch (error) {
        logger.warn({ err: error }, 'reading the next due time failed');
      }
      // Rows due but held by other workers would otherwise make an idle worker spin.
      if (running) await sleep(Math.max(wait, claimed > 0 ? 10 : 250));
    }
  }

  return {
    async start() {
      if (running) return;
      running = true;
      unsubscribe = await store
        .subscribe(() => wake?.())
        .catch((error) => {
          logger.warn({ err: error }, 'LISTEN failed; polling only');
          return null;
        });
      loop = run();
    },
    async stop() {
      running = false;
      wake?.();
      await loop;
      loop = null;
      await unsubscribe?.();
      unsubscribe = null;
    },
    tick,
  };
}
