import type { SqlDatabase } from '@leadrelay/core';
import type {
  ClaimOptions,
  LeadgenEvent,
  LeadgenEventInput,
  LeadgenEventStatus,
  LeadgenInbox,
  LeadgenLease,
  ListLeadgenEventsOptions,
  RequeueOptions,
} from './leadgen-inbox.js';

interface EventRow {
  client_account_id: string;
  leadgen_id: string;
  page_id: string;
  form_id: string | null;
  ad_id: string | null;
  adgroup_id: string | null;
  payload: Record<string, unknown> | string;
  status: LeadgenEventStatus;
  attempts: number;
  next_attempt_at: Date | string;
  locked_until: Date | string | null;
  last_error: string | null;
  lead_id: string | null;
  lead_created: boolean | null;
  created_at: Date | string;
  updated_at: Date | string;
}

const COLUMNS = `client_account_id, leadgen_id, page_id, form_id, ad_id, adgroup_id, payload, status, attempts,
  next_attempt_at, locked_until, last_error, lead_id, lead_created, created_at, updated_at`;

const toDate = (value: Date | string) => (value instanceof Date ? value : new Date(value));

function toEvent(row: EventRow): LeadgenEvent {
  return {
    clientAccountId: row.client_account_id,
    leadgenId: row.leadgen_id,
    pageId: row.page_id,
    formId: row.form_id,
    adId: row.ad_id,
    adgroupId: row.adgroup_id,
    payload: typeof row.payload === 'string' ? JSON.parse(row.payload) : row.payload,
    status: row.status,
    attempts: Number(row.attempts),
    nextAttemptAt: toDate(row.next_attempt_at),
    lockedUntil: row.locked_until === null ? null : toDate(row.locked_until),
    lastError: row.last_error,
    leadId: row.lead_id,
    leadCreated: row.lead_created,
    createdAt: toDate(row.created_at),
    updatedAt: toDate(row.updated_at),
  };
}

/** Appends `AND column = $n` for each given scope value; answers the SQL to add. */
function scopeSql(params: unknown[], scope: { clientAccountId?: string; pageId?: string }): string {
  let sql = '';
  if (scope.clientAccountId !== undefined) {
    params.push(scope.clientAccountId);
    sql += ` AND client_account_id = $${params.length}`;
  }
  if (scope.pageId !== undefined) {
    params.push(scope.pageId);
    sql += ` AND page_id = $${params.length}`;
  }
  return sql;
}

/**
 * The leadgen inbox on Postgres (node-postgres or PGlite): table
 * `meta_leadgen_events` from `metaLeadsMigrations`. Recording is one
 * `INSERT … ON CONFLICT DO NOTHING RETURNING` for all events of a request;
 * a claim is one statement (`FOR UPDATE SKIP LOCKED` in a CTE that also marks
 * the rows), so any number of processes can share the table.
 *
 * @example
 * await migrate(db, [...coreMigrations, ...metaLeadsMigrations]);
 * const inbox = createPostgresLeadgenInbox(db);
 */
export function createPostgresLeadgenInbox(db: SqlDatabase): LeadgenInbox {
  // A lease is held while the row is processing on the attempt it was claimed with.
  const leaseCondition = `client_account_id = $1 AND leadgen_id = $2 AND status = 'processing' AND attempts = $3`;
  const leaseParams = (lease: LeadgenLease) => [lease.clientAccountId, lease.leadgenId, lease.attempts];

  return {
    async record(events: readonly LeadgenEventInput[], now: Date) {
      const seen = new Set<string>();
      const unique = events.filter((e) => {
        const key = `${e.clientAccountId}\u0000${e.leadgenId}`;
        if (seen.has(key)) return false;
        seen.add(key);
        return true;
      });
      if (unique.length === 0) return [];
      const result = await db.query<EventRow>(
        `INSERT INTO meta_leadgen_events
           (client_account_id, leadgen_id, page_id, form_id, ad_id, adgroup_id, payload,
            status, attempts, next_attempt_at, created_at, updated_at)
         SELECT c, l, p, f, a, g, pl::jsonb, 'pending', 0, $8, $8, $8
           FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[])
             AS t(c, l, p, f, a, g, pl)
         ON CONFLICT (client_account_id, leadgen_id) DO NOTHING
         RETURNING ${COLUMNS}`,
        [
          unique.map((e) => e.clientAccountId),
          unique.map((e) => e.leadgenId),
          unique.map((e) => e.pageId),
          unique.map((e) => e.formId),
          unique.map((e) => e.adId),
          unique.map((e) => e.adgroupId),
          unique.map((e) => JSON.stringify(e.payload)),
          now,
        ],
      );
      return result.rows.map(toEvent);
    },

    async claim(options: ClaimOptions) {
      const params: unknown[] = [
        options.now,
        options.limit,
        new Date(options.now.getTime() + options.leaseMs),
      ];
      let filters = scopeSql(params, options);
      if (options.keys !== undefined) {
        if (options.keys.length === 0) return [];
        params.push(
          options.keys.map((k) => k.clientAccountId),
          options.keys.map((k) => k.leadgenId),
        );
        filters += ` AND (client_account_id, leadgen_id) IN
             (SELECT * FROM unnest($${params.length - 1}::text[], $${params.length}::text[]))`;
      }
      const result = await db.query<EventRow>(
        `WITH due AS (
           SELECT client_account_id, leadgen_id FROM meta_leadgen_events
            WHERE ((status = 'pending' AND next_attempt_at <= $1)
                OR (status = 'processing' AND locked_until <= $1))
              ${filters}
            ORDER BY next_attempt_at, created_at
            LIMIT $2
            FOR UPDATE SKIP LOCKED
         )
         UPDATE meta_leadgen_events AS e
            SET status = 'processing', attempts = e.attempts + 1, locked_until = $3, updated_at = $1
           FROM due
          WHERE e.client_account_id = due.client_account_id AND e.leadgen_id = due.leadgen_id
         RETURNING ${COLUMNS.split(',')
           .map((c) => `e.${c.trim()}`)
           .join(', ')}`,
        params,
      );
      return result.rows.map(toEvent).sort((a, b) => a.nextAttemptAt.getTime() - b.nextAttemptAt.getTime());
    },

    async attachLead(lease, result) {
      const updated = await db.query(
        `UPDATE meta_leadgen_events
            SET lead_id = $4, lead_created = $5, updated_at = $6
          WHERE ${leaseCondition}`,
        [...leaseParams(lease), result.leadId, result.created, result.now],
      );
      return updated.rowCount === 1;
    },

    async complete(lease, result) {
      const updated = await db.query(
        `UPDATE meta_leadgen_events
            SET status = 'done', lead_id = $4, locked_until = NULL, last_error = NULL, updated_at = $5
          WHERE ${leaseCondition}`,
        [...leaseParams(lease), result.leadId, result.now],
      );
      return updated.rowCount === 1;
    },

    async retryLater(lease, result) {
      const updated = await db.query(
        `UPDATE meta_leadgen_events
            SET status = 'pending', locked_until = NULL, last_error = $4, next_attempt_at = $5, updated_at = $6
          WHERE ${leaseCondition}`,
        [...leaseParams(lease), result.error, result.nextAttemptAt, result.now],
      );
      return updated.rowCount === 1;
    },

    async park(lease, result) {
      const updated = await db.query(
        `UPDATE meta_leadgen_events
            SET status = $4, locked_until = NULL, last_error = $5, updated_at = $6
          WHERE ${leaseCondition}`,
        [...leaseParams(lease), result.status, result.error, result.now],
      );
      return updated.rowCount === 1;
    },

    async requeue(options: RequeueOptions) {
      if (options.statuses.length === 0) return 0;
      const params: unknown[] = [options.now, [...options.statuses]];
      const filters = scopeSql(params, options);
      const updated = await db.query(
        `UPDATE meta_leadgen_events
            SET status = 'pending', next_attempt_at = $1, updated_at = $1
          WHERE status = ANY($2::text[])${filters}`,
        params,
      );
      return updated.rowCount;
    },

    async get(key) {
      const result = await db.query<EventRow>(
        `SELECT ${COLUMNS} FROM meta_leadgen_events WHERE client_account_id = $1 AND leadgen_id = $2`,
        [key.clientAccountId, key.leadgenId],
      );
      return result.rows[0] ? toEvent(result.rows[0]) : null;
    },

    async list(clientAccountId: string, options: ListLeadgenEventsOptions = {}) {
      const params: unknown[] = [clientAccountId, Math.min(Math.max(options.limit ?? 100, 1), 1000)];
      let filters = scopeSql(params, { pageId: options.pageId });
      if (options.status !== undefined) {
        params.push(options.status);
        filters += ` AND status = $${params.length}`;
      }
      const result = await db.query<EventRow>(
        `SELECT ${COLUMNS} FROM meta_leadgen_events
          WHERE client_account_id = $1${filters}
          ORDER BY created_at DESC, leadgen_id DESC
          LIMIT $2`,
        params,
      );
      return result.rows.map(toEvent);
    },

    async nextDueAt() {
      const result = await db.query<{ at: Date | string | null }>(
        `SELECT LEAST(
           (SELECT min(next_attempt_at) FROM meta_leadgen_events WHERE status = 'pending'),
           (SELECT min(locked_until) FROM meta_leadgen_events WHERE status = 'processing')
         ) AS at`,
      );
      const at = result.rows[0]?.at ?? null;
      return at === null ? null : toDate(at);
    },

    async purgeDone(before: Date) {
      const deleted = await db.query(
        `DELETE FROM meta_leadgen_events WHERE status = 'done' AND updated_at < $1`,
        [before],
      );
      return deleted.rowCount;
    },
  };
}
