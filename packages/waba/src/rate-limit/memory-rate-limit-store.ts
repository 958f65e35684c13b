import type { RateLimitStore } from './rate-limit-store.js';

export interface MemoryRateLimitStoreOptions {
  /** Monotonic milliseconds; `performance.now` by default. */
  now?: () => number;
}

interface Bucket {
  tokens: number;
  refilledAt: number;
  /** Grant times still inside the window, oldest first, from `head` on. */
  sent: number[];
  head: number;
}

/**
 * Buckets in this process: the limit holds for the limiters that share this
 * store, not across processes.
 *
 * @example const limiter = createRateLimiter({ store: createMemoryRateLimitStore() });
 */
export function createMemoryRateLimitStore(options: MemoryRateLimitStoreOptions = {}): RateLimitStore {
  const now = options.now ?? (() => performance.now());
  const buckets = new Map<string, Bucket>();
  return {
    async take(input) {
      const id = JSON.stringify([input.clientAccountId, input.number]);
      let bucket = buckets.get(id);
      if (!bucket) {
        bucket = { tokens: input.burst, refilledAt: now(), sent: [], head: 0 };
        buckets.set(id, bucket);
      }
      const at = Math.max(now(), bucket.refilledAt);
      const tokens = Math.min(
        input.burst,
        bucket.tokens + ((at - bucket.refilledAt) * input.messagesPerSecond) / 1000,
      );
      const { sent } = bucket;
      while (bucket.head < sent.length && sent[bucket.head]! <= at - input.windowMs) bucket.head++;
      if (bucket.head > 64 && bucket.head * 2 > sent.length) {
        sent.splice(0, bucket.head);
        bucket.head = 0;
      }
      const inWindow = sent.length - bucket.head;
      const granted = Math.max(0, Math.min(input.want, Math.floor(tokens), input.windowLimit - inWindow));
      for (let i = 0; i < granted; i++) sent.push(at);
      bucket.tokens = tokens - granted;
      bucket.refilledAt = at;
      const tokenWait = bucket.tokens >= 1 ? 0 : ((1 - bucket.tokens) * 1000) / input.messagesPerSecond;
      const count = sent.length - bucket.head;
      // The next grant must wait until the oldest of the last `windowLimit` grants leaves the window.
      const windowWait =
        count < input.windowLimit ? 0 : sent[sent.length - input.windowLimit]! + input.windowMs - at;
      return { granted, waitMs: Math.max(tokenWait, windowWait, 0) };
    },
  };
}
