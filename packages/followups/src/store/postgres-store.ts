import { randomUUID } from 'node:crypto';
import {
  type Clock,
  ConflictError,
  NotFoundError,
  type SqlDatabase,
  type SqlExecutor,
} from '@leadrelay/core';
import {
  type Campaign,
  type CampaignDefinition,
  campaignDefinition,
  type ParsedCampaignInput,
} from '../campaigns/campaign.js';
import { dailyRow } from './daily-row.js';
import type {
  CampaignVersion,
  DailyCounts,
  Enrolment,
  FollowUpStore,
  RawCampaignAnalytics,
  ScheduledStep,
  StepOutcome,
} from './ports.js';

export interface PostgresFollowUpStoreOptions {
  /**
   * Decides what is due instead of the database clock. Leave unset in
   * production (every worker then agrees on one clock); tests set a manual one.
   */
  clock?: Clock;
  /** The NOTIFY channel that wakes idle runners (default `leadrelay_followups`). */
  channel?: string;
}

// biome-ignore lint/suspicious/noExplicitAny: database rows are read column by column right below
type Row = Record<string, any>;

const STEP_COLUMNS = `id, client_account_id, enrolment_id, campaign_id, campaign_version, lead_id, step_id, step_index,
  status, due_at, attempts, lease_until, claim_token, last_error, skip_reason, provider_message_id, message_id,
  message_kind, sent_at, delivery_status, delivered_at, read_at, created_at, updated_at`;

function toStep(r: Row): ScheduledStep {
  return {
    id: r.id,
    clientAccountId: r.client_account_id,
    enrolmentId: r.enrolment_id,
    campaignId: r.campaign_id,
    campaignVersion: Number(r.campaign_version),
    leadId: r.lead_id,
    stepId: r.step_id,
    stepIndex: Number(r.step_index),
    status: r.status,
    dueAt: new Date(r.due_at),
    attempts: Number(r.attempts),
    leaseUntil: r.lease_until ? new Date(r.lease_until) : null,
    claimToken: r.claim_token ?? null,
    lastError: r.last_error ?? null,
    skipReason: r.skip_reason ?? null,
    providerMessageId: r.provider_message_id ?? null,
    messageId: r.message_id ?? null,
    messageKind: r.message_kind ?? null,
    sentAt: r.sent_at ? new Date(r.sent_at) : null,
    deliveryStatus: r.delivery_status ?? null,
    deliveredAt: r.delivered_at ? new Date(r.delivered_at) : null,
    readAt: r.read_at ? new Date(r.read_at) : null,
    createdAt: new Date(r.created_at),
    updatedAt: new Date(r.updated_at),
  };
}

function toEnrolment(r: Row): Enrolment {
  return {
    id: r.id,
    clientAccountId: r.client_account_id,
    campaignId: r.campaign_id,
    campaignVersion: Number(r.campaign_version),
    leadId: r.lead_id,
    status: r.status,
    exitReason: r.exit_reason ?? null,
    enrolledAt: new Date(r.enrolled_at),
    endedAt: r.ended_at ? new Date(r.ended_at) : null,
    lastStepId: r.last_step_id ?? null,
  };
}

function toCampaign(r: Row): Campaign {
  const def = (
    typeof r.definition === 'string' ? JSON.parse(r.definition) : r.definition
  ) as CampaignDefinition;
  return {
    id: r.id,
    clientAccountId: r.client_account_id,
    status: r.status,
    version: Number(r.version),
    ...campaignDefinition(def),
    createdAt: new Date(r.created_at),
    updatedAt: new Date(r.updated_at),
  };
}

/**
 * The Postgres follow-up store (node-postgres or PGlite through core's
 * `SqlDatabase`). Run `followupsMigrations` first. The claim is one
 * statement with `FOR UPDATE SKIP LOCKED`; completions of a batch are one
 * statement over `unnest` arrays; the database clock decides what is due.
 *
 * @example
 * await migrate(db, followupsMigrations);
 * const store = createPostgresFollowUpStore(db);
 */
export function createPostgresFollowUpStore(
  db: SqlDatabase,
  options: PostgresFollowUpStoreOptions = {},
): FollowUpStore {
  const clock = options.clock;
  const channel = options.channel ?? 'leadrelay_followups';
  /** The instant for "now" in a statement: null lets the database clock decide. */
  const nowParam = () => (clock ? clock.now() : null);

  async function lockedCampaign(tx: SqlExecutor, clientAccountId: string, id: string): Promise<Campaign> {
    const { rows } = await tx.query(
      'SELECT * FROM follow_up_campaigns WHERE client_account_id = $1 AND id = $2 FOR UPDATE',
      [clientAccountId, id],
    );
    if (!rows[0]) throw new NotFoundError(`Campaign ${id} not found`, { code: 'campaign_not_found' });
    return toCampaign(rows[0]);
  }

  return {
    kind: 'postgres',

    async createCampaign(input: ParsedCampaignInput) {
      const id = input.id ?? randomUUID();
      const def = campaignDefinition(input);
      return db.transaction(async (tx) => {
        const { rows } = await tx.query(
          `INSERT INTO follow_up_campaigns (id, client_account_id, name, status, version, trigger_type, definition,
             created_at, updated_at)
           VALUES ($1, $2, $3, $4, 1, $5, $6::jsonb, COALESCE($7::timestamptz, now()), COALESCE($7::timestamptz, now()))
           ON CONFLICT (id) DO NOTHING
           RETURNING *`,
          [
            id,
            input.clientAccountId,
            def.name,
            input.status,
            def.trigger.type,
            JSON.stringify(def),
            nowParam(),
          ],
        );
        if (!rows[0]) throw new ConflictError(`Campaign ${id} exists`, { code: 'campaign_exists' });
        await tx.query(
          `INSERT INTO follow_up_campaign_versions (campaign_id, version, client_account_id, definition)
           VALUES ($1, 1, $2, $3::jsonb)`,
          [id, input.clientAccountId, JSON.stringify(def)],
        );
        return toCampaign(rows[0]);
      });
    },

    async updateCampaign(clientAccountId, id, change, opts = {}) {
      return db.transaction(async (tx) => {
        const current = await lockedCampaign(tx, clientAccountId, id);
        if (opts.expectedVersion !== undefined && opts.expectedVersion !== current.version) {
          throw new ConflictError(`Campaign ${id} is at version ${current.version}`, {
            code: 'version_conflict',
            details: { version: current.version },
          });
        }
        let def = campaignDefinition(current);
        let version = current.version;
        if (change.definition) {
          const next = campaignDefinition(change.definition);
          if (JSON.stringify(next) !== JSON.stringify(def)) {
            def = next;
            version++;
            await tx.query(
              `INSERT INTO follow_up_campaign_versions (campaign_id, version, client_account_id, definition)
               VALUES ($1, $2, $3, $4::jsonb)`,
              [id, version, clientAccountId, JSON.stringify(def)],
            );
          }
        }
        const { rows } = await tx.query(
          `UPDATE follow_up_campaigns SET status = $3, version = $4, name = $5, trigger_type = $6,
             definition = $7::jsonb, updated_at = COALESCE($8::timestamptz, now())
           WHERE client_account_id = $1 AND id = $2 RETURNING *`,
          [
            clientAccountId,
            id,
            change.status ?? current.status,
            version,
            def.name,
            def.trigger.type,
            JSON.stringify(def),
            nowParam(),
          ],
        );
        return toCampaign(rows[0]!);
      });
    },

    async getCampaign(clientAccountId, id) {
      const { rows } = await db.query(
        'SELECT * FROM follow_up_campaigns WHERE client_account_id = $1 AND id = $2',
        [clientAccountId, id],
      );
      return rows[0] ? toCampaign(rows[0]) : null;
    },

    async getCampaignVersion(clientAccountId, id, version) {
      const { rows } = await db.query<Row>(
        `SELECT definition FROM follow_up_campaign_versions
         WHERE client_account_id = $1 AND campaign_id = $2 AND version = $3`,
        [clientAccountId, id, version],
      );
      if (!rows[0]) return null;
      const def = (
        typeof rows[0].definition === 'string' ? JSON.parse(rows[0].definition) : rows[0].definition
      ) as CampaignDefinition;
      const v: CampaignVersion = { id, clientAccountId, version, ...campaignDefinition(def) };
      return v;
    },

    async listCampaigns(clientAccountId, query = {}) {
      const { rows } = await db.query(
        `SELECT * FROM follow_up_campaigns
         WHERE client_account_id = $1
           AND ($2::text[] IS NULL OR status = ANY($2::text[]))
           AND ($3::text[] IS NULL OR trigger_type = ANY($3::text[]))
         ORDER BY created_at, id`,
        [clientAccountId, query.status ?? null, query.triggerType ?? null],
      );
      return rows.map(toCampaign);
    },

    async enrol(input) {
      return db.transaction(async (tx) => {
        // Serialises enrolments of one (campaign, lead): the check below and the insert are one step.
        await tx.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [
          `followups:${input.campaignId}:${input.leadId}`,
        ]);
        const { rows: prior } = await tx.query<Row>(
          `SELECT status, enrolled_at, ended_at FROM follow_up_enrolments
           WHERE client_account_id = $1 AND campaign_id = $2 AND lead_id = $3
           ORDER BY (status = 'active') DESC, enrolled_at DESC LIMIT 1`,
          [input.clientAccountId, input.campaignId, input.leadId],
        );
        const latest = prior[0];
        if (latest) {
          if (latest.status === 'active') return { enrolled: false, reason: 'already_enrolled' } as const;
          if (input.reentry.mode === 'never') return { enrolled: false, reason: 'reentry_never' } as const;
          const since = new Date(
            input.reentry.mode === 'always' ? latest.enrolled_at : (latest.ended_at ?? latest.enrolled_at),
          );
          if (input.enrolledAt.getTime() - since.getTime() < input.cooldownMs) {
            return { enrolled: false, reason: 'cooldown' } as const;
          }
        }
        const { rows } = await tx.query(
          `INSERT INTO follow_up_enrolments (id, client_account_id, campaign_id, campaign_version, lead_id, status, enrolled_at)
           VALUES ($1, $2, $3, $4, $5, 'active', $6)
           RETURNING *`,
          [
            randomUUID(),
            input.clientAccountId,
            input.campaignId,
            input.campaignVersion,
            input.leadId,
            input.enrolledAt,
          ],
        );
        const enrolment = toEnrolment(rows[0]!);
        const { rows: stepRows } = await tx.query(
          `INSERT INTO scheduled_follow_ups (id, client_account_id, enrolment_id, campaign_id, campaign_version, lead_id,
             step_id, step_index, status, due_at, created_at, updated_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'pending', $9, COALESCE($10::timestamptz, now()),
             COALESCE($10::timestamptz, now()))
           RETURNING ${STEP_COLUMNS}`,
          [
            randomUUID(),
            input.clientAccountId,
            enrolment.id,
            input.campaignId,
            input.campaignVersion,
            input.leadId,
            input.firstStep.stepId,
            input.firstStep.stepIndex,
            input.firstStep.dueAt,
            nowParam(),
          ],
        );
        await tx.query('SELECT pg_notify($1, $2)', [channel, input.firstStep.dueAt.toISOString()]);
        return { enrolled: true, enrolment, step: toStep(stepRows[0]!) } as const;
      });
    },

    async exitEnrolments(input) {
      if (input.enrolmentIds.length === 0) return { exited: 0, cancelledSteps: 0 };
      return db.transaction(async (tx) => {
        // Same lock order as the runner's check (by id), so the two never deadlock.
        const { rows: locked } = await tx.query<Row>(
          `SELECT id FROM follow_up_enrolments
           WHERE client_account_id = $1 AND id = ANY($2::text[]) AND status = 'active'
           ORDER BY id FOR UPDATE`,
          [input.clientAccountId, input.enrolmentIds],
        );
        const ids = locked.map((r) => r.id as string);
        if (ids.length === 0) return { exited: 0, cancelledSteps: 0 };
        const at = input.at ?? nowParam();
        const { rows: ended } = await tx.query<Row>(
          `UPDATE follow_up_enrolments e SET status = 'exited', exit_reason = $2,
             ended_at = COALESCE($3::timestamptz, now()),
             last_step_id = (SELECT f.step_id FROM follow_up_sends f WHERE f.enrolment_id = e.id
                             ORDER BY f.sent_at DESC LIMIT 1)
           WHERE e.id = ANY($1::text[])
           RETURNING e.id, e.client_account_id, e.campaign_id, e.lead_id, e.last_step_id, e.ended_at`,
          [ids, input.reason, at],
        );
        const cancelled = await tx.query(
          `UPDATE scheduled_follow_ups SET status = 'cancelled', skip_reason = $2, lease_until = NULL,
             updated_at = COALESCE($3::timestamptz, now())
           WHERE enrolment_id = ANY($1::text[]) AND status IN ('pending', 'claimed')`,
          [ids, input.reason, at],
        );
        await tx.query(
          `INSERT INTO follow_up_exit_events (id, client_account_id, enrolment_id, campaign_id, lead_id, reason,
             last_step_id, at)
           SELECT gen_random_uuid()::text, x.client_account_id, x.id, x.campaign_id, x.lead_id, $2, x.last_step_id, x.ended_at
           FROM unnest($1::text[]) AS u(id) JOIN follow_up_enrolments x ON x.id = u.id`,
          [ended.map((r) => r.id), input.reason],
        );
        return { exited: ended.length, cancelledSteps: cancelled.rowCount };
      });
    },

    async listEnrolments(clientAccountId, query = {}) {
      const { rows } = await db.query(
        `SELECT * FROM follow_up_enrolments
         WHERE client_account_id = $1
           AND ($2::text IS NULL OR campaign_id = $2)
           AND ($3::text IS NULL OR lead_id = $3)
           AND ($4::text[] IS NULL OR status = ANY($4::text[]))
         ORDER BY enrolled_at, id`,
        [clientAccountId, query.campaignId ?? null, query.leadId ?? null, query.status ?? null],
      );
      return rows.map(toEnrolment);
    },

    async listSteps(clientAccountId, query = {}) {
      const { rows } = await db.query(
        `SELECT ${STEP_COLUMNS.replace(/(^|,\s*)(\w+)/g, '$1s.$2')}
         FROM follow_up_enrolments e JOIN scheduled_follow_ups s ON s.enrolment_id = e.id
         WHERE e.client_account_id = $1
           AND ($2::text IS NULL OR e.id = $2)
           AND ($3::text IS NULL OR e.lead_id = $3)
           AND ($4::text IS NULL OR e.campaign_id = $4)
           AND ($5::text[] IS NULL OR s.status = ANY($5::text[]))
         ORDER BY s.due_at, s.step_index`,
        [
          clientAccountId,
          query.enrolmentId ?? null,
          query.leadId ?? null,
          query.campaignId ?? null,
          query.status ?? null,
        ],
      );
      return rows.map(toStep);
    },

    async claimDue({ limit, leaseMs, token, reclaimExpired = true }) {
      // One statement: (optionally) expired leases first, then due rows; rows other workers hold are
      // skipped; the picked rows are marked claimed with the token and a lease on the database clock.
      // `id = ANY(ARRAY(…))` makes the update reach the picked rows through the primary key: joined
      // against the CTE instead, the planner cannot size it and hash-joins a scan of the whole table.
      const expired = reclaimExpired
        ? `expired AS (
             SELECT id FROM scheduled_follow_ups
             WHERE status = 'claimed' AND lease_until < (SELECT now FROM clock)
             ORDER BY lease_until LIMIT $1
             FOR UPDATE SKIP LOCKED
           ),`
        : '';
      const { rows } = await db.query(
        `WITH clock AS (SELECT COALESCE($4::timestamptz, now()) AS now),
         ${expired}
         due AS (
           SELECT id FROM scheduled_follow_ups
           WHERE status = 'pending' AND due_at <= (SELECT now FROM clock)
           ORDER BY due_at LIMIT $1
           FOR UPDATE SKIP LOCKED
         ),
         picked AS (
           ${reclaimExpired ? 'SELECT id FROM expired UNION ALL ' : ''}SELECT id FROM due LIMIT $1
         )
         UPDATE scheduled_follow_ups s
         SET status = 'claimed', claim_token = $2, attempts = s.attempts + 1,
             lease_until = (SELECT now FROM clock) + $3 * interval '1 millisecond',
             updated_at = (SELECT now FROM clock)
         WHERE s.id = ANY(ARRAY(SELECT id FROM picked))
         RETURNING ${STEP_COLUMNS.replace(/(^|,\s*)(\w+)/g, '$1s.$2')}`,
        [limit, token, leaseMs, nowParam()],
      );
      return rows.map(toStep).sort((a, b) => a.dueAt.getTime() - b.dueAt.getTime());
    },

    async extendLease(ids, token, leaseMs) {
      if (ids.length === 0) return 0;
      const { rowCount } = await db.query(
        `UPDATE scheduled_follow_ups
         SET lease_until = COALESCE($4::timestamptz, now()) + $3 * interval '1 millisecond'
         WHERE id = ANY($1::text[]) AND claim_token = $2 AND status = 'claimed'`,
        [ids, token, leaseMs, nowParam()],
      );
      return rowCount;
    },

    async checkBeforeSend(ids, token, since) {
      if (ids.length === 0) return [];
      // FOR UPDATE OF e waits for an exit in progress and then sees its result.
      const { rows } = await db.query<Row>(
        `SELECT s.id, e.status AS enrolment_status, e.enrolled_at, c.status AS campaign_status,
           f.recent_sends, f.oldest
         FROM scheduled_follow_ups s
         JOIN follow_up_enrolments e ON e.id = s.enrolment_id
         LEFT JOIN follow_up_campaigns c ON c.id = s.campaign_id
         CROSS JOIN LATERAL (
           SELECT count(*)::int AS recent_sends, min(x.sent_at) AS oldest FROM follow_up_sends x
           WHERE x.client_account_id = s.client_account_id AND x.lead_id = s.lead_id AND x.sent_at > $3
         ) f
         WHERE s.id = ANY($1::text[]) AND s.claim_token = $2 AND s.status = 'claimed'
         ORDER BY e.id
         FOR UPDATE OF e`,
        [ids, token, since],
      );
      return rows.map((r) => ({
        id: r.id,
        enrolmentStatus: r.enrolment_status,
        enrolledAt: new Date(r.enrolled_at),
        campaignStatus: r.campaign_status ?? null,
        recentSends: Number(r.recent_sends),
        oldestRecentSendAt: r.oldest ? new Date(r.oldest) : null,
      }));
    },

    async complete(token, outcomes) {
      if (outcomes.length === 0) return 0;
      const cols = {
        id: [] as string[],
        outcome: [] as string[],
        providerMessageId: [] as (string | null)[],
        messageId: [] as (string | null)[],
        messageKind: [] as (string | null)[],
        info: [] as (string | null)[],
        dueAt: [] as (string | null)[],
        nextStepId: [] as (string | null)[],
        nextStepIndex: [] as (number | null)[],
        nextDueAt: [] as (string | null)[],
        nextId: [] as (string | null)[],
      };
      for (const o of outcomes) {
        cols.id.push(o.id);
        cols.outcome.push(o.kind);
        cols.providerMessageId.push(o.kind === 'sent' ? o.providerMessageId : null);
        cols.messageId.push(o.kind === 'sent' ? o.messageId : null);
        cols.messageKind.push(o.kind === 'sent' ? o.messageKind : null);
        cols.info.push(infoOf(o));
        cols.dueAt.push(o.kind === 'retry' || o.kind === 'deferred' ? o.dueAt.toISOString() : null);
        const next = o.kind === 'sent' || o.kind === 'skipped' ? o.next : null;
        cols.nextStepId.push(next?.stepId ?? null);
        cols.nextStepIndex.push(next?.stepIndex ?? null);
        cols.nextDueAt.push(next ? next.dueAt.toISOString() : null);
        cols.nextId.push(next ? randomUUID() : null);
      }
      // What the batch holds decides which parts the statement has: a part with no input would still
      // be planned and run on every completion.
      const sends = outcomes.some((o) => o.kind === 'sent');
      const nexts = cols.nextStepId.some((id) => id !== null);
      const exits = outcomes.some((o) => o.kind === 'failed' || o.kind === 'dead' || o.kind === 'exited');
      const ends = exits || outcomes.some((o) => (o.kind === 'sent' || o.kind === 'skipped') && !o.next);
      const parts: string[] = [];
      if (sends) parts.push(LEDGER_SQL);
      if (nexts) parts.push(NEXT_SQL);
      if (ends) parts.push(ENDED_SQL);
      if (exits) parts.push(EVENTS_SQL);
      // One statement: step transitions, ledger rows, next steps, enrolment ends and exit events, all or nothing.
      const { rows } = await db.query<Row>(
        `WITH clock AS (SELECT COALESCE($13::timestamptz, now()) AS now),
         d AS (
           SELECT * FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
             $8::timestamptz[], $9::text[], $10::int[], $11::timestamptz[], $12::text[])
             AS d(id, outcome, provider_message_id, message_id, message_kind, info, due_at, next_step_id,
                  next_step_index, next_due_at, next_id)
         ),
         upd AS (
           UPDATE scheduled_follow_ups s SET
             status = CASE d.outcome WHEN 'retry' THEN 'pending' WHEN 'deferred' THEN 'pending'
                                      WHEN 'exited' THEN 'cancelled' ELSE d.outcome END,
             due_at = CASE WHEN d.outcome IN ('retry', 'deferred') THEN d.due_at ELSE s.due_at END,
             attempts = CASE WHEN d.outcome = 'deferred' THEN greatest(s.attempts - 1, 0) ELSE s.attempts END,
             provider_message_id = COALESCE(d.provider_message_id, s.provider_message_id),
             message_id = COALESCE(d.message_id, s.message_id),
             message_kind = COALESCE(d.message_kind, s.message_kind),
             last_error = CASE WHEN d.outcome IN ('retry', 'failed', 'dead') THEN d.info ELSE s.last_error END,
             skip_reason = CASE WHEN d.outcome IN ('skipped', 'deferred', 'exited') THEN d.info ELSE s.skip_reason END,
             sent_at = CASE WHEN d.outcome = 'sent' THEN (SELECT now FROM clock) ELSE s.sent_at END,
             delivery_status = CASE WHEN d.outcome = 'sent' THEN 'sent' ELSE s.delivery_status END,
             claim_token = NULL, lease_until = NULL, updated_at = (SELECT now FROM clock)
           FROM d
           WHERE s.id = d.id AND s.claim_token = $1
             AND (s.status = 'claimed' OR (s.status = 'cancelled' AND d.outcome = 'sent'))
           RETURNING s.id, s.client_account_id, s.enrolment_id, s.campaign_id, s.campaign_version, s.lead_id,
             s.step_id, s.status, s.provider_message_id
         )${parts.map((part) => `,\n${part}`).join('')}
         -- Data-modifying CTEs run to completion whether or not this reads them.
         SELECT (SELECT count(*)::int FROM upd) AS applied`,
        [
          token,
          cols.id,
          cols.outcome,
          cols.providerMessageId,
          cols.messageId,
          cols.messageKind,
          cols.info,
          cols.dueAt,
          cols.nextStepId,
          cols.nextStepIndex,
          cols.nextDueAt,
          cols.nextId,
          nowParam(),
        ],
      );
      return Number(rows[0]?.applied ?? 0);
    },

    async nextDueAt() {
      const { rows } = await db.query<Row>(
        `SELECT least(
           (SELECT min(due_at) FROM scheduled_follow_ups WHERE status = 'pending'),
           (SELECT min(lease_until) FROM scheduled_follow_ups WHERE status = 'claimed')) AS next`,
      );
      return rows[0]?.next ? new Date(rows[0].next) : null;
    },

    async subscribe(onDue) {
      return db.listen(channel, () => onDue());
    },

    async recordDeliveryStatus(input) {
      const { rowCount } = await db.query(
        `UPDATE scheduled_follow_ups SET
           delivered_at = CASE WHEN $3 IN ('delivered', 'read') THEN COALESCE(delivered_at, $4) ELSE delivered_at END,
           read_at = CASE WHEN $3 = 'read' THEN COALESCE(read_at, $4) ELSE read_at END,
           delivery_status = CASE
             WHEN delivery_status IS NULL
               OR array_position(ARRAY['sent', 'delivered', 'read', 'failed'], $3::text)
                  > array_position(ARRAY['sent', 'delivered', 'read', 'failed'], delivery_status)
             THEN $3 ELSE delivery_status END,
           updated_at = $4
         WHERE client_account_id = $1 AND provider_message_id = $2`,
        [input.tenant, input.providerMessageId, input.status, input.at],
      );
      return rowCount;
    },

    async analytics(clientAccountId, campaignId, query = {}) {
      const params = [
        clientAccountId,
        campaignId,
        query.from ?? null,
        query.to ?? null,
        query.timeZone ?? 'UTC',
      ];
      const range = (col: string) =>
        `(${col} IS NOT NULL AND ($3::timestamptz IS NULL OR ${col} >= $3) AND ($4::timestamptz IS NULL OR ${col} < $4))`;
      const failed = `(status IN ('failed', 'dead') OR delivery_status = 'failed')`;
      // Steps have no campaign index of their own: reach them through the campaign's enrolments.
      const campaignSteps = `(SELECT s.* FROM follow_up_enrolments e JOIN scheduled_follow_ups s ON s.enrolment_id = e.id
        WHERE e.client_account_id = $1 AND e.campaign_id = $2)`;
      const [totals, sends, steps, replied, daily] = await Promise.all([
        db.query<Row>(
          `SELECT count(*)::int AS enrolled,
             count(*) FILTER (WHERE status = 'active')::int AS active,
             count(*) FILTER (WHERE status = 'completed')::int AS completed,
             count(*) FILTER (WHERE status = 'exited')::int AS exited,
             count(*) FILTER (WHERE exit_reason = 'replied')::int AS replied,
             count(*) FILTER (WHERE exit_reason = 'appointment_booked')::int AS booked,
             count(*) FILTER (WHERE exit_reason = 'opted_out')::int AS opted_out
           FROM follow_up_enrolments
           WHERE client_account_id = $1 AND campaign_id = $2 AND ${range('enrolled_at')} AND $5::text IS NOT NULL`,
          params,
        ),
        db.query<Row>(
          `SELECT count(*) FILTER (WHERE ${range('sent_at')})::int AS sent,
             count(*) FILTER (WHERE ${range('sent_at')} AND delivered_at IS NOT NULL)::int AS delivered,
             count(*) FILTER (WHERE ${range('sent_at')} AND read_at IS NOT NULL)::int AS read,
             count(*) FILTER (WHERE ${failed} AND ${range('updated_at')})::int AS failed
           FROM ${campaignSteps} cs
           WHERE $5::text IS NOT NULL`,
          params,
        ),
        db.query<Row>(
          `SELECT step_id,
             count(*) FILTER (WHERE ${range('sent_at')})::int AS sent,
             count(*) FILTER (WHERE ${range('sent_at')} AND delivered_at IS NOT NULL)::int AS delivered,
             count(*) FILTER (WHERE ${range('sent_at')} AND read_at IS NOT NULL)::int AS read,
             count(*) FILTER (WHERE ${failed} AND ${range('updated_at')})::int AS failed,
             count(*) FILTER (WHERE status = 'skipped' AND ${range('updated_at')})::int AS skipped,
             count(*) FILTER (WHERE status IN ('pending', 'claimed'))::int AS pending
           FROM ${campaignSteps} cs
           WHERE $5::text IS NOT NULL
           GROUP BY step_id`,
          params,
        ),
        db.query<Row>(
          `SELECT last_step_id AS step_id, count(*)::int AS replied
           FROM follow_up_enrolments
           WHERE client_account_id = $1 AND campaign_id = $2 AND exit_reason = 'replied'
             AND last_step_id IS NOT NULL AND ${range('enrolled_at')} AND $5::text IS NOT NULL
           GROUP BY last_step_id`,
          params,
        ),
        db.query<Row>(
          `WITH campaign_steps AS ${campaignSteps},
           events AS (
             SELECT enrolled_at AS at, 'enrolled' AS kind FROM follow_up_enrolments
               WHERE client_account_id = $1 AND campaign_id = $2
             UNION ALL
             SELECT ended_at, CASE exit_reason WHEN 'replied' THEN 'replied' WHEN 'appointment_booked' THEN 'booked'
                                               ELSE 'opted_out' END
               FROM follow_up_enrolments
               WHERE client_account_id = $1 AND campaign_id = $2
                 AND exit_reason IN ('replied', 'appointment_booked', 'opted_out') AND ${range('enrolled_at')}
             UNION ALL
             SELECT sent_at, 'sent' FROM campaign_steps
             UNION ALL
             SELECT delivered_at, 'delivered' FROM campaign_steps
             UNION ALL
             SELECT read_at, 'read' FROM campaign_steps
             UNION ALL
             SELECT updated_at, 'failed' FROM campaign_steps WHERE ${failed}
           )
           SELECT to_char((at AT TIME ZONE $5::text)::date, 'YYYY-MM-DD') AS date, kind, count(*)::int AS n
           FROM events WHERE ${range('at')}
           GROUP BY 1, 2 ORDER BY 1`,
          params,
        ),
      ]);
      const t = totals.rows[0]!;
      const s = sends.rows[0]!;
      const repliedByStep = new Map(replied.rows.map((r) => [r.step_id as string, Number(r.replied)]));
      const days = new Map<string, DailyCounts>();
      const dailyKey: Record<string, keyof Omit<DailyCounts, 'date'>> = {
        enrolled: 'enrolled',
        sent: 'sent',
        delivered: 'delivered',
        read: 'read',
        replied: 'replied',
        booked: 'booked',
        failed: 'failed',
        opted_out: 'optedOut',
      };
      for (const r of daily.rows) {
        dailyRow(days, r.date)[dailyKey[r.kind]!] += Number(r.n);
      }
      const stepRows = steps.rows.map((r) => ({
        stepId: r.step_id as string,
        sent: Number(r.sent),
        delivered: Number(r.delivered),
        read: Number(r.read),
        failed: Number(r.failed),
        skipped: Number(r.skipped),
        pending: Number(r.pending),
        replied: repliedByStep.get(r.step_id) ?? 0,
      }));
      for (const [stepId, n] of repliedByStep) {
        if (!stepRows.some((r) => r.stepId === stepId)) {
          stepRows.push({
            stepId,
            sent: 0,
            delivered: 0,
            read: 0,
            failed: 0,
            skipped: 0,
            pending: 0,
            replied: n,
          });
        }
      }
      const result: RawCampaignAnalytics = {
        totals: {
          enrolled: Number(t.enrolled),
          active: Number(t.active),
          completed: Number(t.completed),
          exited: Number(t.exited),
          sent: Number(s.sent),
          delivered: Number(s.delivered),
          read: Number(s.read),
          replied: Number(t.replied),
          booked: Number(t.booked),
          failed: Number(s.failed),
          optedOut: Number(t.opted_out),
        },
        steps: stepRows,
        daily: [...days.values()],
      };
      return result;
    },
  };
}

/** Ledger rows for the steps a completion marks sent; the key is sendIdempotencyKey(enrolment_id, step_id). */
const LEDGER_SQL = `         ledger AS (
           INSERT INTO follow_up_sends (enrolment_id, step_id, client_account_id, scheduled_id, campaign_id, lead_id,
             idempotency_key, provider_message_id, sent_at)
           SELECT u.enrolment_id, u.step_id, u.client_account_id, u.id, u.campaign_id, u.lead_id,
             'fu:' || u.enrolment_id || ':' || u.step_id, u.provider_message_id, (SELECT now FROM clock)
           FROM upd u WHERE u.status = 'sent'
           ON CONFLICT (enrolment_id, step_id) DO NOTHING
           RETURNING 1
         )`;

/** The next step of each enrolment whose step was sent or skipped and that is still active. */
const NEXT_SQL = `         nxt AS (
           INSERT INTO scheduled_follow_ups (id, client_account_id, enrolment_id, campaign_id, campaign_version, lead_id,
             step_id, step_index, status, due_at, created_at, updated_at)
           SELECT d.next_id, u.client_account_id, u.enrolment_id, u.campaign_id, u.campaign_version, u.lead_id,
             d.next_step_id, d.next_step_index, 'pending', d.next_due_at, (SELECT now FROM clock), (SELECT now FROM clock)
           FROM upd u JOIN d ON d.id = u.id JOIN follow_up_enrolments e ON e.id = u.enrolment_id
           WHERE d.next_step_id IS NOT NULL AND u.status IN ('sent', 'skipped') AND e.status = 'active'
           ON CONFLICT (enrolment_id, step_id) DO NOTHING
           RETURNING 1
         )`;

/** Ends enrolments whose last step is done, whose step failed, or that exited. */
const ENDED_SQL = `         ended AS (
           UPDATE follow_up_enrolments e SET
             status = CASE WHEN u.status IN ('sent', 'skipped') THEN 'completed' ELSE 'exited' END,
             exit_reason = CASE WHEN u.status IN ('failed', 'dead') THEN 'send_failed'
                                WHEN u.status = 'cancelled' THEN d.info ELSE NULL END,
             ended_at = (SELECT now FROM clock),
             last_step_id = COALESCE(CASE WHEN u.status = 'sent' THEN u.step_id END,
               (SELECT f.step_id FROM follow_up_sends f WHERE f.enrolment_id = e.id ORDER BY f.sent_at DESC LIMIT 1))
           FROM upd u JOIN d ON d.id = u.id
           WHERE e.id = u.enrolment_id AND e.status = 'active'
             AND ((u.status IN ('sent', 'skipped') AND d.next_step_id IS NULL)
               OR u.status IN ('failed', 'dead')
               OR (u.status = 'cancelled' AND d.outcome = 'exited'))
           RETURNING e.id, e.client_account_id, e.campaign_id, e.lead_id, e.status, e.exit_reason, e.last_step_id
         )`;

/** One exit event per enrolment the completion ended early (needs ENDED_SQL). */
const EVENTS_SQL = `         events AS (
           INSERT INTO follow_up_exit_events (id, client_account_id, enrolment_id, campaign_id, lead_id, reason,
             last_step_id, at)
           SELECT gen_random_uuid()::text, x.client_account_id, x.id, x.campaign_id, x.lead_id, x.exit_reason,
             x.last_step_id, (SELECT now FROM clock)
           FROM ended x WHERE x.status = 'exited'
           RETURNING 1
         )`;

function infoOf(o: StepOutcome): string | null {
  switch (o.kind) {
    case 'skipped':
    case 'deferred':
    case 'exited':
      return o.reason;
    case 'retry':
    case 'failed':
    case 'dead':
      return o.error.slice(0, 1000);
    default:
      return null;
  }
}
