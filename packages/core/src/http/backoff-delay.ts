export interface BackoffDelayOptions {
  /** 1 for the wait after the first failed attempt, 2 after the second, … */
  attempt: number;
  minMs: number;
  maxMs: number;
  /** A number in [0, 1); `Math.random` by default, replaceable for tests. */
  random?: () => number;
}

/**
 * Exponential backoff with full jitter: a random wait between `minMs` and
 * `min(maxMs, minMs · 2^attempt)`. The jitter spreads the retries of many
 * callers that failed together, so they do not hit the provider in step.
 *
 * @example backoffDelay({ attempt: 2, minMs: 200, maxMs: 10_000 }) // somewhere in [200, 800]
 */
export function backoffDelay(options: BackoffDelayOptions): number {
  const { attempt, minMs, maxMs } = options;
  const random = options.random ?? Math.random;
  const ceiling = Math.max(minMs, Math.min(maxMs, minMs * 2 ** Math.max(1, attempt)));
  return Math.round(minMs + random() * (ceiling - minMs));
}
