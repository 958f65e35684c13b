/**
 * Where the rate limiter keeps its buckets: one per tenant and sending
 * number. `take` decides and records in one atomic step, so every process
 * that shares a store shares each number's limit.
 */

/** A sending number of a tenant. */
export interface RateLimitKey {
  clientAccountId: string;
  /** The sending number, E.164. */
  number: string;
}

export interface RateLimitTakeInput extends RateLimitKey {
  /** Messages waiting for a token; at most this many are granted. */
  want: number;
  /** Tokens the bucket gains per second. */
  messagesPerSecond: number;
  /** Tokens a rested bucket holds. */
  burst: number;
  /** At most this many grants fall inside any `windowMs`. */
  windowLimit: number;
  windowMs: number;
}

export interface RateLimitTake {
  /** Tokens taken now, 0 to `want`: that many messages may go at once. */
  granted: number;
  /** Milliseconds from now until the next token is due (0 when one is there now). */
  waitMs: number;
}

export interface RateLimitStore {
  /**
   * Takes up to `want` tokens: as many as the bucket holds and the sliding
   * window has room for. Refills from the time the store keeps (the
   * database's clock for Postgres), never from the caller's.
   */
  take(input: RateLimitTakeInput): Promise<RateLimitTake>;
}
