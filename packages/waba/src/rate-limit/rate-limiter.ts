import { ConfigurationError, LeadRelayError } from '@leadrelay/core';
import { createMemoryRateLimitStore } from './memory-rate-limit-store.js';
import type { RateLimitKey, RateLimitStore } from './rate-limit-store.js';

/**
 * A rate limiter per sending number: a token bucket that paces sends at
 * `messagesPerSecond`, plus a sliding one-second window that never lets
 * more than `messagesPerSecond` through, which is how providers count
 * throughput. Sends wait first come, first served within a process.
 *
 * The bucket holds a few tokens (`burst`), so a timer that fires late is made
 * up by the next send instead of costing throughput; the window keeps that
 * catching-up (and any burst after a rest) inside the limit. The window is
 * slightly longer than a second (`windowMarginMs`) so that jitter between
 * the sender and the provider cannot squeeze one more message into the
 * provider's second.
 *
 * The buckets live in a `RateLimitStore`. In memory (the default) the limit
 * holds per process; with `createPostgresRateLimitStore` it holds across
 * every process sharing the database. Each process asks the store only for
 * its oldest waiters, so waiting costs one take per token, not one per send
 * per wake-up.
 */

export interface RateLimiterOptions {
  /** Default rate of a number. Default 80 (the Cloud API's default throughput per number). */
  messagesPerSecond?: number;
  /** Tokens a rested bucket holds. Default `ceil(messagesPerSecond / 20)`: 50 ms worth, at least 1. */
  burst?: number;
  /** Added to the one-second window to absorb jitter between here and the provider. Default 25 ms. */
  windowMarginMs?: number;
  /** Longest a send waits for its turn before `RateLimitTimeoutError`. Default: no limit. */
  maxWaitMs?: number;
  /** Where the buckets live. Default: in this process. */
  store?: RateLimitStore;
  /** Monotonic milliseconds for the default in-process store; `performance.now` by default. */
  now?: () => number;
}

export interface RateLimitRequest extends RateLimitKey {
  /** Overrides the default rate for this number (a number with a higher tier). */
  messagesPerSecond?: number;
  /** Gives up waiting: the promise rejects with the signal's reason. */
  signal?: AbortSignal;
}

export interface RateLimiter {
  /** Resolves when the number may send one message. */
  acquire(request: RateLimitRequest): Promise<void>;
  /** Messages of this process waiting for their turn on the number. */
  pending(key: RateLimitKey): number;
}

/** A send waited `maxWaitMs` for its turn (HTTP 503, retryable): nothing was sent. */
export class RateLimitTimeoutError extends LeadRelayError {
  constructor(key: RateLimitKey, maxWaitMs: number) {
    super(`No send slot on ${key.number} within ${maxWaitMs} ms`, {
      code: 'rate_limit_timeout',
      status: 503,
      retryable: true,
      details: { clientAccountId: key.clientAccountId, number: key.number, maxWaitMs },
    });
  }
}

interface Waiter {
  grant(): void;
  fail(error: unknown): void;
}

interface Lane {
  key: RateLimitKey;
  rate: number;
  queue: Waiter[];
  running: boolean;
}

const rateLimitInvalid = (message: string) => new ConfigurationError(message, { code: 'rate_limit_invalid' });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * @example
 * const limiter = createRateLimiter({ messagesPerSecond: 80, store: createPostgresRateLimitStore(db) });
 * await limiter.acquire({ clientAccountId: tenant.id, number: '+919000000001' });
 * await provider.send(…);
 */
export function createRateLimiter(options: RateLimiterOptions = {}): RateLimiter {
  const defaultRate = options.messagesPerSecond ?? 80;
  const marginMs = options.windowMarginMs ?? 25;
  const maxWaitMs = options.maxWaitMs;
  if (!(defaultRate > 0)) throw rateLimitInvalid('messagesPerSecond must be positive');
  if (options.burst !== undefined && !(options.burst >= 1))
    throw rateLimitInvalid('burst must be at least 1');
  if (!(marginMs >= 0)) throw rateLimitInvalid('windowMarginMs must not be negative');
  if (maxWaitMs !== undefined && !(maxWaitMs >= 0)) throw rateLimitInvalid('maxWaitMs must not be negative');
  const store = options.store ?? createMemoryRateLimitStore(options.now ? { now: options.now } : {});
  const lanes = new Map<string, Lane>();
  const laneId = (key: RateLimitKey) => JSON.stringify([key.clientAccountId, key.number]);

  const settings = (rate: number) => {
    const windowLimit = Math.max(1, Math.floor(rate));
    return {
      messagesPerSecond: rate,
      burst: options.burst ?? Math.max(1, Math.ceil(rate / 20)),
      windowLimit,
      windowMs: (windowLimit * 1000) / rate + marginMs,
    };
  };

  // One loop per number and process: it takes tokens for the waiters at the head of the queue,
  // sleeps until the store says the next one is due, and ends when the queue is empty.
  const pump = async (lane: Lane) => {
    try {
      while (lane.queue.length > 0) {
        const { granted, waitMs } = await store.take({
          ...lane.key,
          want: lane.queue.length,
          ...settings(lane.rate),
        });
        // Tokens for waiters that left meanwhile are not given back: the error is on the safe side.
        for (const waiter of lane.queue.splice(0, granted)) waiter.grant();
        if (lane.queue.length === 0) break;
        // Nothing granted and nothing to wait for would spin: wait a millisecond at least.
        if (granted === 0 || waitMs > 0) await sleep(Math.max(1, Math.ceil(waitMs)));
      }
    } catch (error) {
      // The store failed (the database is down): fail the waiters rather than send unlimited.
      for (const waiter of lane.queue.splice(0)) waiter.fail(error);
    } finally {
      lane.running = false;
      if (lane.queue.length === 0) lanes.delete(laneId(lane.key));
    }
  };

  return {
    acquire(request) {
      const rate = request.messagesPerSecond ?? defaultRate;
      if (!(rate > 0)) return Promise.reject(rateLimitInvalid('messagesPerSecond must be positive'));
      const { signal } = request;
      if (signal?.aborted) return Promise.reject(signal.reason);
      const id = laneId(request);
      let lane = lanes.get(id);
      if (!lane) {
        lane = {
          key: { clientAccountId: request.clientAccountId, number: request.number },
          rate,
          queue: [],
          running: false,
        };
        lanes.set(id, lane);
      }
      lane.rate = rate;
      const target = lane;
      return new Promise<void>((resolve, reject) => {
        let timer: ReturnType<typeof setTimeout> | undefined;
        const settle = () => {
          if (timer !== undefined) clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
        };
        const waiter: Waiter = {
          grant: () => {
            settle();
            resolve();
          },
          fail: (error) => {
            settle();
            reject(error);
          },
        };
        const leave = (error: unknown) => {
          const at = target.queue.indexOf(waiter);
          if (at === -1) return;
          target.queue.splice(at, 1);
          waiter.fail(error);
        };
        const onAbort = () => leave(signal!.reason);
        signal?.addEventListener('abort', onAbort, { once: true });
        if (maxWaitMs !== undefined) {
          timer = setTimeout(() => leave(new RateLimitTimeoutError(target.key, maxWaitMs)), maxWaitMs);
        }
        target.queue.push(waiter);
        // Tokens are handed out from a macrotask, never inline: a send then goes on the wire
        // right after its token, instead of after whatever synchronous work is queued behind it,
        // and the window records when messages really leave.
        if (!target.running) {
          target.running = true;
          setImmediate(() => void pump(target));
        }
      });
    },
    pending(key) {
      return lanes.get(laneId(key))?.queue.length ?? 0;
    },
  };
}
