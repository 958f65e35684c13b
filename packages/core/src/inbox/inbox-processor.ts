import { isLeadRelayError } from '../errors/errors.js';
import { backoffDelay } from '../http/backoff-delay.js';
import { type Clock, systemClock } from '../observability/clock.js';
import { type Logger, noopLogger } from '../observability/logger.js';
import type { DurableInbox, InboxEvent } from './inbox.js';

/** A handler's answer for an event that is not ready yet (its message is not stored, say). */
export interface InboxRetry {
  retryAfterMs: number;
  reason: string;
}

/**
 * Applies one event. Resolve to mark it done, resolve to an `InboxRetry` to
 * try it again later, throw to retry with backoff (or, for a permanent error,
 * to dead-letter it). The effects must be idempotent: a process that dies
 * after applying and before the row is marked done applies it again.
 */
export type InboxHandler = (event: InboxEvent) => Promise<InboxRetry | void>;

export interface InboxProcessorOptions {
  inbox: DurableInbox;
  topic: string;
  handle: InboxHandler;
  clock?: Clock;
  logger?: Logger;
  /** How long a claimed event is held before another process may take it; default 2 min. */
  leaseMs?: number;
  /** Events claimed and applied at once (each of a different order key); default 16. */
  batchSize?: number;
  /** Attempts before an event is dead-lettered; default 10. */
  maxAttempts?: number;
  /** Backoff between attempts; default 1 s doubling to 10 min, with jitter. */
  retryMinDelayMs?: number;
  retryMaxDelayMs?: number;
  /** Errors no retry can fix; default a `LeadRelayError` with a 4xx status. */
  isPermanent?: (error: unknown) => boolean;
}

export interface InboxDrainResult {
  done: number;
  retried: number;
  dead: number;
  /** Events whose lease was lost to another process before they finished. */
  lost: number;
}

export interface InboxProcessor {
  /**
   * Claims and applies due events until none is due now (events held by
   * another process, or waiting for a retry, stay). A call made while a
   * pass runs joins it, and the pass claims once more before it ends, so
   * nothing recorded before the call is left behind.
   */
  drain(options?: { clientAccountId?: string }): Promise<InboxDrainResult>;
  /** Polls for due events (retries, other processes' recordings) until `stop`. */
  start(options?: { pollIntervalMs?: number }): void;
  /** Asks a started processor to look now (after a webhook was recorded). */
  wake(): void;
  /** Stops polling and waits for the events in hand. */
  stop(): Promise<void>;
}

const errorText = (error: unknown) =>
  (error instanceof Error ? `${error.name}: ${error.message}` : String(error)).slice(0, 2000);

const defaultPermanent = (error: unknown) => isLeadRelayError(error) && error.status < 500;

/**
 * Runs an inbox topic: claim, apply, then done, retry or dead-letter, under
 * a fencing lease. Any number of processors (in any number of processes) may
 * run one topic; the inbox's claim keeps each order key to one at a time.
 *
 * @example
 * const processor = createInboxProcessor({ inbox, topic: 'waba', handle: apply });
 * processor.start();
 */
export function createInboxProcessor(options: InboxProcessorOptions): InboxProcessor {
  const { inbox, topic, handle } = options;
  const clock = options.clock ?? systemClock;
  const logger = options.logger ?? noopLogger;
  const leaseMs = options.leaseMs ?? 120_000;
  const batchSize = options.batchSize ?? 16;
  const maxAttempts = options.maxAttempts ?? 10;
  const retryMinDelayMs = options.retryMinDelayMs ?? 1_000;
  const retryMaxDelayMs = options.retryMaxDelayMs ?? 600_000;
  const isPermanent = options.isPermanent ?? defaultPermanent;

  async function settle(event: InboxEvent, result: InboxDrainResult): Promise<void> {
    const lease = { id: event.id, attempts: event.attempts };
    const log = { topic, eventId: event.id, tenant: event.clientAccountId, attempt: event.attempts };
    let outcome: InboxRetry | undefined;
    try {
      outcome = (await handle(event)) ?? undefined;
    } catch (error) {
      const text = errorText(error);
      const now = clock.now();
      if (isPermanent(error) || event.attempts >= maxAttempts) {
        const held = await inbox.deadLetter(lease, { error: text, now });
        if (held) result.dead++;
        else result.lost++;
        logger.error({ ...log, err: error }, 'inbox event dead-lettered');
        return;
      }
      const delayMs = backoffDelay({
        attempt: event.attempts,
        minMs: retryMinDelayMs,
        maxMs: retryMaxDelayMs,
      });
      const held = await inbox.retryLater(lease, {
        error: text,
        nextAttemptAt: new Date(now.getTime() + delayMs),
        now,
      });
      if (held) result.retried++;
      else result.lost++;
      logger.warn({ ...log, err: error, delayMs }, 'inbox event will be retried');
      return;
    }
    const now = clock.now();
    if (outcome) {
      if (event.attempts >= maxAttempts) {
        if (await inbox.deadLetter(lease, { error: outcome.reason, now })) result.dead++;
        else result.lost++;
        logger.warn({ ...log, reason: outcome.reason }, 'inbox event gave up waiting');
        return;
      }
      const held = await inbox.retryLater(lease, {
        error: outcome.reason,
        nextAttemptAt: new Date(now.getTime() + outcome.retryAfterMs),
        now,
      });
      if (held) result.retried++;
      else result.lost++;
      return;
    }
    if (await inbox.complete(lease, now)) result.done++;
    else {
      result.lost++;
      logger.warn(log, 'inbox event lease was lost before it completed; another attempt applies it');
    }
  }

  const running = new Map<string, Promise<InboxDrainResult>>();
  // Keys asked for again while their pass ran: the pass looks once more before it ends.
  const askedAgain = new Set<string>();

  async function pass(key: string, clientAccountId: string | undefined): Promise<InboxDrainResult> {
    const result: InboxDrainResult = { done: 0, retried: 0, dead: 0, lost: 0 };
    for (;;) {
      askedAgain.delete(key);
      const claimed = await inbox.claim({
        topic,
        now: clock.now(),
        leaseMs,
        limit: batchSize,
        ...(clientAccountId !== undefined ? { clientAccountId } : {}),
      });
      if (claimed.length === 0) {
        if (askedAgain.has(key)) continue;
        return result;
      }
      // One event per order key per claim: the batch may run concurrently.
      await Promise.all(claimed.map((event) => settle(event, result)));
    }
  }

  function drain(drainOptions: { clientAccountId?: string } = {}): Promise<InboxDrainResult> {
    const key = drainOptions.clientAccountId ?? '\u0000all';
    const current = running.get(key);
    if (current) {
      askedAgain.add(key);
      return current;
    }
    const next = pass(key, drainOptions.clientAccountId).finally(() => running.delete(key));
    running.set(key, next);
    return next;
  }

  let started = false;
  let timer: ReturnType<typeof setTimeout> | null = null;
  let pollIntervalMs = 1_000;
  let ticking: Promise<void> | null = null;
  let again = false;

  function schedule(delayMs: number): void {
    if (!started || timer) return;
    timer = setTimeout(tick, delayMs);
    timer.unref?.();
  }

  function tick(): void {
    timer = null;
    if (ticking) {
      again = true;
      return;
    }
    ticking = drain()
      .then(
        () => undefined,
        (error: unknown) => logger.error({ topic, err: error }, 'inbox drain failed'),
      )
      .finally(() => {
        ticking = null;
        if (again) {
          again = false;
          schedule(0);
        } else schedule(pollIntervalMs);
      });
  }

  return {
    drain,
    start(startOptions = {}) {
      if (started) return;
      started = true;
      pollIntervalMs = startOptions.pollIntervalMs ?? 1_000;
      schedule(0);
    },
    wake() {
      if (!started) return;
      if (ticking) {
        again = true;
        return;
      }
      if (timer) clearTimeout(timer);
      timer = null;
      schedule(0);
    },
    async stop() {
      started = false;
      if (timer) clearTimeout(timer);
      timer = null;
      await ticking;
      await Promise.allSettled([...running.values()]);
    },
  };
}
