import type { SqlDatabase } from '../storage/sql.js';
import type { DurableInbox, InboxEvent, InboxEventInput, InboxLease, InboxStatus } from './inbox.js';
import { INBOX_STATUSES } from './inbox.js';

interface Row {
  id: string;
  topic: string;
  client_account_id: string;
  dedupe_key: string;
  order_key: string;
  payload: unknown;
  status: InboxStatus;
  attempts: number;
  next_attempt_at: Date | string;
  locked_until: Date | string | null;
  last_error: string | null;
  received_at: Date | string;
  finished_at: Date | string | null;
}

const columns = (alias = '') => {
  const p = alias ? `${alias}.` : '';
  return `${p}id::text AS id, ${p}topic, ${p}client_account_id, ${p}dedupe_key, ${p}order_key, ${p}payload,
    ${p}status, ${p}attempts, ${p}next_attempt_at, ${p}locked_until, ${p}last_error, ${p}received_at, ${p}finished_at`;
};

const toDate = (value: Date | string) => (value instanceof Date ? value : new Date(value));

function toEvent(row: Row): InboxEvent {
  return {
    id: String(row.id),
    topic: row.topic,
    clientAccountId: row.client_account_id,
    dedupeKey: row.dedupe_key,
    orderKey: row.order_key,
    payload: typeof row.payload === 'string' ? JSON.parse(row.payload) : row.payload,
    status: row.status,
    attempts: Number(row.attempts),
    nextAttemptAt: toDate(row.next_attempt_at),
    lockedUntil: row.locked_until === null ? null : toDate(row.locked_until),
    lastError: row.last_error,
    receivedAt: toDate(row.received_at),
    finishedAt: row.finished_at === null ? null : toDate(row.finished_at),
  };
}

const byId = (a: InboxEvent, b: InboxEvent) => (BigInt(a.id) < BigInt(b.id) ? -1 : 1);

/**
 * The inbox on Postgres (node-postgres or PGlite): table `inbox_events` from
 * `coreMigrations`. Recording is one `INSERT … ON CONFLICT DO NOTHING` for
 * every event of a request; a claim is one statement that picks each order
 * key's head with `FOR UPDATE SKIP LOCKED` and leases it, so any number of
 * processes share the table. Lease conditions sit on the claimed row itself,
 * so a row changed by a concurrent claim is re-checked, not taken twice.
 *
 * @example
 * await migrate(db, coreMigrations);
 * const inbox = createPostgresInbox(db);
 */
export function createPostgresInbox(db: SqlDatabase): DurableInbox {
  // A lease is held while the row is processing on the attempt it was claimed with.
  const leased = `id = $1::bigint AND status = 'processing' AND attempts = $2`;
  // A lease ends in one statement that changes the row only while the lease still holds.
  const updateLeased = async (lease: InboxLease, set: string, values: unknown[]) =>
    (await db.query(`UPDATE inbox_events SET ${set} WHERE ${leased}`, [lease.id, lease.attempts, ...values]))
      .rowCount === 1;

  return {
    async record(inputs: readonly InboxEventInput[], now: Date) {
      const seen = new Set<string>();
      const unique = inputs.filter((e) => {
        const key = `${e.topic}\u0000${e.clientAccountId}\u0000${e.dedupeKey}`;
        if (seen.has(key)) return false;
        seen.add(key);
        return true;
      });
      if (unique.length === 0) return { recorded: [], duplicates: inputs.length };
      const result = await db.query<Row>(
        `INSERT INTO inbox_events
           (topic, client_account_id, dedupe_key, order_key, payload, status, next_attempt_at, received_at, finished_at)
         SELECT t, c, d, o, p::jsonb, s, $7, $7, CASE WHEN s = 'unparsed' THEN $7::timestamptz END
           FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[])
                WITH ORDINALITY AS input(t, c, d, o, p, s, n)
          ORDER BY n
         ON CONFLICT (client_account_id, topic, dedupe_key) DO NOTHING
         RETURNING ${columns()}`,
        [
          unique.map((e) => e.topic),
          unique.map((e) => e.clientAccountId),
          unique.map((e) => e.dedupeKey),
          unique.map((e) => e.orderKey),
          unique.map((e) => JSON.stringify(e.payload ?? null)),
          unique.map((e) => e.status ?? 'pending'),
          now,
        ],
      );
      const recorded = result.rows.map(toEvent).sort(byId);
      return { recorded, duplicates: inputs.length - recorded.length };
    },

    async claim(options) {
      const params: unknown[] = [
        options.topic,
        options.now,
        options.limit,
        new Date(options.now.getTime() + options.leaseMs),
      ];
      let tenant = '';
      if (options.clientAccountId !== undefined) {
        params.push(options.clientAccountId);
        tenant = `AND e.client_account_id = $${params.length}`;
      }
      // The head of a key is its earliest unfinished event; a key with any live lease gives nothing.
      const result = await db.query<Row>(
        `WITH due AS (
           SELECT e.id FROM inbox_events e
            WHERE e.topic = $1 ${tenant}
              AND ((e.status = 'pending' AND e.next_attempt_at <= $2)
                OR (e.status = 'processing' AND e.locked_until <= $2))
              AND NOT EXISTS (
                SELECT 1 FROM inbox_events p
                 WHERE p.topic = e.topic
                   AND p.client_account_id = e.client_account_id
                   AND p.order_key = e.order_key
                   AND p.status IN ('pending', 'processing')
                   AND p.id <> e.id
                   AND (p.id < e.id OR p.locked_until > $2))
            ORDER BY e.id
            LIMIT $3
            FOR UPDATE OF e SKIP LOCKED
         )
         UPDATE inbox_events AS i
            SET status = 'processing', attempts = i.attempts + 1, locked_until = $4
           FROM due
          WHERE i.id = due.id
         RETURNING ${columns('i')}`,
        params,
      );
      return result.rows.map(toEvent).sort(byId);
    },

    complete: (lease, now) =>
      updateLeased(lease, `status = 'done', locked_until = NULL, last_error = NULL, finished_at = $3`, [now]),

    retryLater: (lease, result) =>
      updateLeased(lease, `status = 'pending', locked_until = NULL, last_error = $3, next_attempt_at = $4`, [
        result.error,
        result.nextAttemptAt,
      ]),

    deadLetter: (lease, result) =>
      updateLeased(lease, `status = 'dead', locked_until = NULL, last_error = $3, finished_at = $4`, [
        result.error,
        result.now,
      ]),

    async get(topic, id) {
      if (!/^[0-9]{1,19}$/.test(id)) return null;
      const result = await db.query<Row>(
        `SELECT ${columns()} FROM inbox_events WHERE topic = $1 AND id = $2::bigint`,
        [topic, id],
      );
      return result.rows[0] ? toEvent(result.rows[0]) : null;
    },

    async list(options) {
      const params: unknown[] = [options.topic, options.limit ?? 100];
      let filters = '';
      if (options.clientAccountId !== undefined) {
        params.push(options.clientAccountId);
        filters += ` AND client_account_id = $${params.length}`;
      }
      if (options.status !== undefined) {
        params.push(options.status);
        filters += ` AND status = $${params.length}`;
      }
      const result = await db.query<Row>(
        `SELECT ${columns()} FROM inbox_events WHERE topic = $1 ${filters} ORDER BY inbox_events.id LIMIT $2`,
        params,
      );
      return result.rows.map(toEvent);
    },

    async count(options) {
      const params: unknown[] = [options.topic];
      let filters = '';
      if (options.clientAccountId !== undefined) {
        params.push(options.clientAccountId);
        filters = ` AND client_account_id = $2`;
      }
      const result = await db.query<{ status: InboxStatus; n: string | number }>(
        `SELECT status, count(*) AS n FROM inbox_events WHERE topic = $1 ${filters} GROUP BY status`,
        params,
      );
      const counts = Object.fromEntries(INBOX_STATUSES.map((s) => [s, 0])) as Record<InboxStatus, number>;
      for (const row of result.rows) counts[row.status] = Number(row.n);
      return counts;
    },

    async requeue(options) {
      const params: unknown[] = [options.topic, options.now];
      let filters = '';
      if (options.clientAccountId !== undefined) {
        params.push(options.clientAccountId);
        filters += ` AND client_account_id = $${params.length}`;
      }
      if (options.ids !== undefined) {
        const ids = options.ids.filter((id) => /^[0-9]{1,19}$/.test(id));
        if (ids.length === 0) return 0;
        params.push(ids);
        filters += ` AND id = ANY($${params.length}::bigint[])`;
      }
      const updated = await db.query(
        `UPDATE inbox_events
            SET status = 'pending', next_attempt_at = $2, finished_at = NULL
          WHERE topic = $1 AND status = 'dead' ${filters}`,
        params,
      );
      return updated.rowCount;
    },

    async purge(options) {
      const params: unknown[] = [options.before, options.statuses ?? ['done', 'unparsed']];
      let filters = '';
      if (options.topic !== undefined) {
        params.push(options.topic);
        filters = ` AND topic = $3`;
      }
      const deleted = await db.query(
        `DELETE FROM inbox_events
          WHERE status = ANY($2::text[]) AND finished_at < $1 ${filters}`,
        params,
      );
      return deleted.rowCount;
    },
  };
}
