import type { SqlDatabase } from '@leadrelay/core';
import type { RateLimitStore } from './rate-limit-store.js';

// One statement decides and records. ON CONFLICT DO UPDATE locks the number's row and computes
// from its latest version, so concurrent takers in any process queue on the row and never share a
// token. Time is the server's clock_timestamp(), read after the lock: every process agrees on it,
// and a taker that waited for the lock refills up to the moment it decides. A new row starts as a
// rested bucket and makes the same grant an update would.
const TAKE = `
INSERT INTO waba_rate_limits AS b (client_account_id, sender_number, tokens, refilled_at, sent_at, granted)
SELECT $1, $2, $5::float8 - v.n, v.at, array_fill(v.at, ARRAY[v.n]), v.n
FROM (SELECT clock_timestamp() AS at, least($3::int, floor($5::float8)::int, $6::int) AS n) AS v
ON CONFLICT (client_account_id, sender_number) DO UPDATE SET
  (tokens, refilled_at, sent_at, granted) = (
    SELECT s.tokens - s.n, s.at, s.kept || array_fill(s.at, ARRAY[s.n]), s.n
    FROM (
      SELECT r.*, greatest(0, least($3::int, floor(r.tokens)::int, $6::int - cardinality(r.kept))) AS n
      FROM (
        SELECT c.at,
          least($5::float8, b.tokens + extract(epoch FROM c.at - b.refilled_at)::float8 * $4::float8) AS tokens,
          ARRAY(SELECT t FROM unnest(b.sent_at) AS t
                 WHERE t > c.at - $7::float8 * interval '1 millisecond' ORDER BY t) AS kept
        FROM (SELECT greatest(clock_timestamp(), b.refilled_at) AS at) AS c
      ) AS r
    ) AS s
  )
RETURNING granted,
  greatest(
    CASE WHEN tokens >= 1 THEN 0 ELSE (1 - tokens) * 1000 / $4::float8 END,
    CASE WHEN cardinality(sent_at) < $6::int THEN 0
      ELSE extract(epoch FROM sent_at[cardinality(sent_at) - $6::int + 1] - refilled_at)::float8 * 1000
        + $7::float8 END
  )::float8 AS wait_ms`;

interface TakeRow {
  granted: number;
  wait_ms: number;
}

/**
 * Buckets in Postgres (`waba_rate_limits`, from `wabaMigrations`): the limit
 * holds across every process that shares the database. Each take is one
 * round trip; runs unchanged on node-postgres and PGlite.
 *
 * @example const limiter = createRateLimiter({ store: createPostgresRateLimitStore(db) });
 */
export function createPostgresRateLimitStore(db: SqlDatabase): RateLimitStore {
  return {
    async take(input) {
      const params = [
        input.clientAccountId,
        input.number,
        input.want,
        input.messagesPerSecond,
        input.burst,
        input.windowLimit,
        input.windowMs,
      ];
      const { rows } = await db.query<TakeRow>(TAKE, params, { prepare: true });
      const row = rows[0]!;
      return { granted: row.granted, waitMs: Math.max(0, row.wait_ms) };
    },
  };
}
