import { ConfigurationError } from '@leadrelay/core';

/**
 * A rate limiter per sending number: a token bucket that paces sends at
 * `messagesPerSecond`, plus a sliding one-second window that never lets
 * more than `messagesPerSecond` through, which is how providers count
 * throughput. Sends wait first come, first served.
 *
 * The bucket holds a few tokens (`burst`), so a timer that fires late is made
 * up by the next send instead of costing throughput; the window keeps that
 * catching-up (and any burst after a rest) inside the limit. The window is
 * slightly longer than a second (`windowMarginMs`) so that jitter between
 * this process and the provider cannot squeeze one more message into the
 * provider's second.
 *
 * The limit holds per process. Several processes sending from one number
 * each get the full rate: give each `messagesPerSecond / processes`, or put a
 * shared limiter (e.g. a Postgres or Redis bucket) behind this interface.
 */

export interface RateLimiterOptions {
  /** Default rate of a number. Default 80 (the Cloud API's default throughput per number). */
  messagesPerSecond?: number;
  /** Tokens a rested bucket holds. Default `ceil(messagesPerSecond / 20)`: 50 ms worth, at least 1. */
  burst?: number;
  /** Added to the one-second window to absorb jitter between here and the provider. Default 25 ms. */
  windowMarginMs?: number;
  /** Monotonic milliseconds; `performance.now` by default. */
  now?: () => number;
}

export interface RateLimiter {
  /**
   * Resolves when the number `key` may send one message. `messagesPerSecond`
   * overrides the default for this key (a number with a higher tier).
   */
  acquire(key: string, messagesPerSecond?: number): Promise<void>;
  /** Messages waiting for their turn on `key`. */
  pending(key: string): number;
}

interface Bucket {
  rate: number;
  perMs: number;
  capacity: number;
  tokens: number;
  refilledAt: number;
  /** The last `windowLimit` send times, oldest first (a ring). */
  sent: number[];
  head: number;
  windowLimit: number;
  windowMs: number;
  queue: (() => void)[];
  /** A drain is scheduled (timer or immediate). */
  scheduled: boolean;
}

const rateLimitInvalid = (message: string) => new ConfigurationError(message, { code: 'rate_limit_invalid' });

/**
 * @example
 * const limiter = createRateLimiter({ messagesPerSecond: 80 });
 * await limiter.acquire('+919000000001');
 * await provider.send(…);
 */
export function createRateLimiter(options: RateLimiterOptions = {}): RateLimiter {
  const defaultRate = options.messagesPerSecond ?? 80;
  const marginMs = options.windowMarginMs ?? 25;
  const now = options.now ?? (() => performance.now());
  if (!(defaultRate > 0)) throw rateLimitInvalid('messagesPerSecond must be positive');
  if (options.burst !== undefined && !(options.burst >= 1))
    throw rateLimitInvalid('burst must be at least 1');
  if (!(marginMs >= 0)) throw rateLimitInvalid('windowMarginMs must not be negative');
  const buckets = new Map<string, Bucket>();

  const configure = (bucket: Bucket | undefined, rate: number): Bucket => {
    const windowLimit = Math.max(1, Math.floor(rate));
    const capacity = options.burst ?? Math.max(1, Math.ceil(rate / 20));
    const fresh: Bucket = bucket ?? {
      rate,
      perMs: 0,
      capacity,
      tokens: capacity,
      refilledAt: now(),
      sent: [],
      head: 0,
      windowLimit,
      windowMs: 0,
      queue: [],
      scheduled: false,
    };
    fresh.rate = rate;
    fresh.perMs = rate / 1000;
    fresh.capacity = capacity;
    fresh.tokens = Math.min(fresh.tokens, capacity);
    if (fresh.windowLimit !== windowLimit) {
      fresh.sent = [];
      fresh.head = 0;
      fresh.windowLimit = windowLimit;
    }
    fresh.windowMs = (windowLimit * 1000) / rate + marginMs;
    return fresh;
  };

  /** Milliseconds until `bucket` may send again (0 when it may now). */
  const waitFor = (bucket: Bucket, at: number): number => {
    bucket.tokens = Math.min(bucket.capacity, bucket.tokens + (at - bucket.refilledAt) * bucket.perMs);
    bucket.refilledAt = at;
    const tokenWait = bucket.tokens >= 1 ? 0 : (1 - bucket.tokens) / bucket.perMs;
    const oldest = bucket.sent.length < bucket.windowLimit ? undefined : bucket.sent[bucket.head];
    const windowWait = oldest === undefined ? 0 : Math.max(0, oldest + bucket.windowMs - at);
    return Math.max(tokenWait, windowWait);
  };

  const take = (bucket: Bucket, at: number) => {
    bucket.tokens -= 1;
    if (bucket.sent.length < bucket.windowLimit) bucket.sent.push(at);
    else {
      bucket.sent[bucket.head] = at;
      bucket.head = (bucket.head + 1) % bucket.windowLimit;
    }
  };

  const drain = (bucket: Bucket) => {
    bucket.scheduled = false;
    for (;;) {
      if (bucket.queue.length === 0) return;
      const at = now();
      const wait = waitFor(bucket, at);
      if (wait > 0) {
        bucket.scheduled = true;
        setTimeout(() => drain(bucket), Math.ceil(wait));
        return;
      }
      take(bucket, at);
      bucket.queue.shift()!();
    }
  };

  return {
    acquire(key, messagesPerSecond) {
      const rate = messagesPerSecond ?? defaultRate;
      if (!(rate > 0)) return Promise.reject(rateLimitInvalid('messagesPerSecond must be positive'));
      let bucket = buckets.get(key);
      if (!bucket || bucket.rate !== rate) {
        bucket = configure(bucket, rate);
        buckets.set(key, bucket);
      }
      const target = bucket;
      return new Promise<void>((resolve) => {
        target.queue.push(resolve);
        // Tokens are handed out from a macrotask, never inline: a send then goes on the wire
        // right after its token, instead of after whatever synchronous work is queued behind it,
        // and the window records when messages really leave.
        if (!target.scheduled) {
          target.scheduled = true;
          setImmediate(() => drain(target));
        }
      });
    },
    pending(key) {
      return buckets.get(key)?.queue.length ?? 0;
    },
  };
}
