import { randomUUID } from 'node:crypto';
import {
  type Clock,
  ConfigurationError,
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
import type { ClaimedStep, FollowUpStore, NextStep, SendCheck, StepOutcome } from '../store/ports.js';
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
  /** How often parked delivery statuses are applied at most (default 5 s); see `recordDeliveryStatus`. */
  parkedStatusSweepMs?: number;
  /**
   * Retention: the runner calls `store.purge` at its first batch and then every `intervalMs`
   * (default 1 day), deleting exit events and the sends of ended enrolments older than `maxAgeMs`
   * (default 30 days). `false` turns it off, for a deployment that runs the purge as a job of its own.
   */
  retention?: RetentionOptions | false;
}

export interface RetentionOptions {
  maxAgeMs?: number;
  intervalMs?: number;
}

const DAY_MS = 86_400_000;

export interface FollowUpRunner {
  /** Runs batches until stopped: right away while work is due, otherwise sleeping until woken or the next due time. */
  start(): Promise<void>;
  /** Finishes the batch in progress, then stops. */
  stop(): Promise<void>;
  /** Claims and processes one batch; returns how many steps it claimed. For cron and serverless use. */
  tick(): Promise<number>;
}

type TenantInfo = { id: string; name: string; timeZone: string };

interface TickContext {
  now: Date;
  /** The batch's leads by tenant and id; an error when reading them failed (those rows retry). */
  leads: Map<string, FollowUpLead | Error>;
  tenants: Map<string, TenantInfo | null>;
  campaigns: Map<string, CompiledCampaign | null | Error>;
  /** Sends decided in this batch per lead: the ledger only learns of them when the batch completes. */
  sendsInBatch: Map<string, { count: number; first: Date }>;
}

/** A step the runner decided to send, with what sending it needs. */
interface PlannedSend {
  kind: 'send';
  row: ClaimedStep;
  to: string;
  decision: Extract<ReturnType<typeof decideStep>, { action: 'send' }>;
  compiled: CompiledCampaign;
  stepIndex: number;
  zone: string;
}

const leadKey = (tenant: string, leadId: string) => `${tenant}\u0000${leadId}`;
const campaignKey = (row: ClaimedStep) =>
  `${row.clientAccountId}\u0000${row.campaignId}\u0000${row.campaignVersion}`;

/** The value of a batch input, or the error that reading it raised (the row is then retried). */
function loaded<T>(value: T | Error | undefined): T | undefined {
  if (value instanceof Error) throw value;
  return value;
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
  if (!store)
    throw new ConfigurationError('createFollowUpRunner needs a store or a db', { code: 'store_missing' });
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

  let running = false;
  let loop: Promise<void> | null = null;
  let wake: (() => void) | null = null;
  let unsubscribe: (() => Promise<void>) | null = null;

  /**
   * Reads what a batch needs before deciding any row: its leads (one query per
   * tenant), tenants and compiled campaign versions. Deciding is then synchronous.
   */
  async function loadBatch(rows: readonly ClaimedStep[], ctx: TickContext): Promise<void> {
    const leadIds = new Map<string, Set<string>>();
    const versions = new Map<string, ClaimedStep>();
    for (const row of rows) {
      const ids = leadIds.get(row.clientAccountId);
      if (ids) ids.add(row.leadId);
      else leadIds.set(row.clientAccountId, new Set([row.leadId]));
      versions.set(campaignKey(row), row);
    }
    const reads: Promise<void>[] = [];
    const getMany = core.leads.getMany?.bind(core.leads);
    for (const [tenant, ids] of leadIds) {
      const list = [...ids];
      reads.push(
        (getMany ? getMany(tenant, list) : Promise.all(list.map((id) => core.leads.get(tenant, id)))).then(
          (leads) => {
            for (const lead of leads) if (lead) ctx.leads.set(leadKey(tenant, lead.id), lead);
          },
          (error) => {
            const failure = error instanceof Error ? error : new Error(String(error));
            for (const id of list) ctx.leads.set(leadKey(tenant, id), failure);
          },
        ),
        core.tenants.get(tenant).then(
          (t) => {
            ctx.tenants.set(tenant, t);
          },
          () => {
            ctx.tenants.set(tenant, null);
          },
        ),
      );
    }
    for (const [key, row] of versions) {
      reads.push(
        cache.get(row.clientAccountId, row.campaignId, row.campaignVersion).then(
          (compiled) => {
            ctx.campaigns.set(key, compiled);
          },
          (error) => {
            ctx.campaigns.set(key, error instanceof Error ? error : new Error(String(error)));
          },
        ),
      );
    }
    await Promise.all(reads);
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
    row: ClaimedStep,
    error: string,
    retryAfterMs: number | null,
    now: Date,
  ): StepOutcome {
    if (row.attempts >= maxAttempts) return { id: row.id, kind: 'dead', error };
    const delay = Math.max(backoff(row.attempts), retryAfterMs ?? 0);
    return { id: row.id, kind: 'retry', error, dueAt: new Date(now.getTime() + delay) };
  }

  async function sendOne(
    row: ClaimedStep,
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

  /** Decides a claimed step from the batch's inputs: an outcome now, or a send to make. */
  function decideRow(ctx: TickContext, row: ClaimedStep, check: SendCheck): StepOutcome | PlannedSend {
    const now = ctx.now;
    if (check.enrolmentStatus !== 'active') return { id: row.id, kind: 'exited', reason: 'campaign_stopped' };
    const compiled = loaded(ctx.campaigns.get(campaignKey(row)));
    const thisLead = leadKey(row.clientAccountId, row.leadId);
    const lead = loaded(ctx.leads.get(thisLead)) ?? null;
    const tenant = ctx.tenants.get(row.clientAccountId) ?? null;
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
    const inBatch = ctx.sendsInBatch.get(thisLead);
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
    else ctx.sendsInBatch.set(thisLead, { count: 1, first: now });
    return { kind: 'send', row, to: lead.phone, decision, compiled, stepIndex: step.index, zone };
  }

  async function sendPlanned(ctx: TickContext, planned: PlannedSend): Promise<StepOutcome> {
    const { row, to, decision, compiled, stepIndex, zone } = planned;
    const now = ctx.now;
    const key = sendIdempotencyKey(row.enrolmentId, row.stepId);
    let kind = decision.kind as string;
    try {
      let result: { providerMessageId: string; messageId: string | null };
      try {
        result = await sendOne(row, to, decision.message, key);
      } catch (error) {
        const failure = classifySendError(error);
        // The sender knows the window better (an inbound we have not seen yet): fall back to the template.
        if (
          failure.kind === 'window_closed' &&
          decision.message.type === 'text' &&
          decision.rendered.fallback
        ) {
          kind = 'fallback_template';
          result = await sendOne(row, to, decision.rendered.fallback, `${key}:template`);
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
        next: planNext(compiled, stepIndex, now, zone),
      };
    } catch (error) {
      const failure = classifySendError(error);
      switch (failure.kind) {
        case 'window_closed':
          return {
            id: row.id,
            kind: 'skipped',
            reason: 'window_closed',
            next: planNext(compiled, stepIndex, now, zone),
          };
        case 'opted_out':
          return { id: row.id, kind: 'exited', reason: 'opted_out' };
        case 'policy':
          return {
            id: row.id,
            kind: 'skipped',
            reason: failure.code,
            next: planNext(compiled, stepIndex, now, zone),
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
        case 'unknown':
          // It may have been delivered: sending again could make it twice.
          return { id: row.id, kind: 'unknown', error: failure.message };
        case 'in_progress':
          // Not this step's failure: wait, without using an attempt, until the other claim on the
          // key expires; the sender then answers with its result or send_outcome_unknown.
          return {
            id: row.id,
            kind: 'deferred',
            reason: 'send_in_progress',
            dueAt: new Date(Math.max(failure.until.getTime(), now.getTime() + 1000)),
          };
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

  const parkedStatusSweepMs = options.parkedStatusSweepMs ?? 5_000;
  let nextParkedSweepAt = 0;
  /** A batch completed since the last sweep: statuses parked while it ran can be applied now. */
  let sweepOwed = false;

  /**
   * Applies delivery statuses that arrived before their batch recorded the
   * provider's message id, at most every few seconds (a status usually beats
   * the completion of the batch that sent its message by well under a second).
   */
  async function sweepParkedStatuses(): Promise<void> {
    const t = clock.now().getTime();
    if (t < nextParkedSweepAt) return;
    nextParkedSweepAt = t + parkedStatusSweepMs;
    sweepOwed = false;
    try {
      await store!.applyParkedStatuses();
    } catch (error) {
      logger.warn({ err: error }, 'applying parked delivery statuses failed');
    }
  }

  const retention = retentionOf(options.retention);
  let nextPurgeAt = 0;

  /** Deletes what retention no longer keeps, at most every `retention.intervalMs`; every worker may. */
  async function purgeIfDue(): Promise<void> {
    if (!retention) return;
    const t = clock.now().getTime();
    if (t < nextPurgeAt) return;
    nextPurgeAt = t + retention.intervalMs;
    try {
      const purged = await store!.purge(new Date(t - retention.maxAgeMs));
      logger.info(purged, 'purged follow-up rows past retention');
    } catch (error) {
      logger.warn({ err: error }, 'purging follow-up rows past retention failed');
    }
  }

  async function tick(): Promise<number> {
    const claimed = await runBatch();
    if (claimed > 0) sweepOwed = true;
    await sweepParkedStatuses();
    await purgeIfDue();
    return claimed;
  }

  async function runBatch(): Promise<number> {
    const token = randomUUID();
    const rows = await store!.claimDue({ limit: batchSize, leaseMs, token });
    if (rows.length === 0) return 0;
    const ids = rows.map((r) => r.id);
    const ctx: TickContext = {
      now: clock.now(),
      leads: new Map(),
      tenants: new Map(),
      campaigns: new Map(),
      sendsInBatch: new Map(),
    };
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
      await loadBatch(rows, ctx);
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
        const failed = (row: ClaimedStep, error: unknown): StepOutcome => {
          logger.error({ err: error, stepRowId: row.id }, 'processing a follow-up step failed');
          const failure = classifySendError(error);
          return retryOutcome(row, 'message' in failure ? failure.message : failure.kind, null, ctx.now);
        };
        // Every row of the chunk is decided (in order, so the daily cap counts this batch's sends)
        // before its sends go out together.
        const results = await Promise.all(
          chunk.map((row): StepOutcome | Promise<StepOutcome> | null => {
            const check = byId.get(row.id);
            if (!check) return null;
            try {
              const decided = decideRow(ctx, row, check);
              if (decided.kind !== 'send') return decided;
              return sendPlanned(ctx, decided).catch((error: unknown) => failed(row, error));
            } catch (error) {
              return failed(row, error);
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
      // An idle worker still wakes for a sweep it owes, so a parked status waits seconds, not a poll.
      if (sweepOwed) wait = Math.min(wait, Math.max(0, nextParkedSweepAt - clock.now().getTime()));
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

function retentionOf(option: RetentionOptions | false | undefined): Required<RetentionOptions> | null {
  if (option === false) return null;
  const retention = { maxAgeMs: option?.maxAgeMs ?? 30 * DAY_MS, intervalMs: option?.intervalMs ?? DAY_MS };
  for (const [key, value] of Object.entries(retention)) {
    if (!Number.isFinite(value) || value <= 0) {
      throw new ConfigurationError(`retention.${key} must be a positive number of milliseconds`, {
        code: 'retention_invalid',
      });
    }
  }
  return retention;
}
