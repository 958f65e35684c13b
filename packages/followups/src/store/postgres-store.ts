import { randomUUID } from 'node:crypto';
import {
  type Clock,
  ConflictError,
  NotFoundError,
  type SqlDatabase,
  type SqlExecutor,
  ValidationError,
} from '@leadrelay/core';
import {
  type Campaign,
  type CampaignDefinition,
  campaignDefinition,
  type ParsedCampaignInput,
} from '../campaigns/campaign.js';
import { dailyRow } from './daily-row.js';
import {
  type CampaignVersion,
  type ClaimedStep,
  type DailyCounts,
  type Enrolment,
  type FollowUpStore,
  PARKED_STATUS_TTL_MS,
  type RawCampaignAnalytics,
  type ScheduledStep,
  SEND_CAP_WINDOW_MS,
  type StepOutcome,
} from './ports.js';
import { scheduledStepId } from './send-idempotency-key.js';
import { type StepRow, stepRow } from './step-row.js';

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
    // A claim leaves the status pending and sets the lease (see followups/0002_lean_queue).
    status: r.status === 'pending' && r.lease_until ? 'claimed' : r.status,
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

/**
 * The steps of the enrolment whose id is `enrolmentId` (an SQL expression), as
 * a range of the primary key: ids are `<enrolment id>:<step id>` in byte order.
 */
function stepsOf(enrolmentId: string): string {
  return `(s.id >= ${enrolmentId} || ':' AND s.id < ${enrolmentId} || ';')`;
}

/** A delivery status's place in sent → delivered → read → failed, as an SQL expression. */
function statusRank(expression: string): string {
  return `array_position(ARRAY['sent', 'delivered', 'read', 'failed'], ${expression})`;
}

/** A step's status as callers see it: a pending step with a lease is claimed. */
const STEP_STATUS = `(CASE WHEN s.status = 'pending' AND s.lease_until IS NOT NULL THEN 'claimed' ELSE s.status END)`;

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
            scheduledStepId(enrolment.id, input.firstStep.stepId),
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
          `UPDATE scheduled_follow_ups s SET status = 'cancelled', skip_reason = $2, lease_until = NULL,
             updated_at = COALESCE($3::timestamptz, now())
           FROM unnest($1::text[]) AS x(id)
           WHERE ${stepsOf('x.id')} AND s.status IN ('pending', 'claimed')`,
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
         FROM follow_up_enrolments e JOIN scheduled_follow_ups s ON ${stepsOf('e.id')}
         WHERE e.client_account_id = $1
           AND ($2::text IS NULL OR e.id = $2)
           AND ($3::text IS NULL OR e.lead_id = $3)
           AND ($4::text IS NULL OR e.campaign_id = $4)
           AND ($5::text[] IS NULL OR ${STEP_STATUS} = ANY($5::text[]))
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

    async claimDue({ limit, leaseMs, token }) {
      // One statement: the earliest due steps that are not leased or whose lease expired, skipping
      // rows other workers are claiming; each picked step gets the token and a lease on the
      // database clock. Its status stays pending, so the update touches no indexed column (HOT).
      // `id = ANY(ARRAY(…))` makes the update reach the picked rows through the primary key: joined
      // against the CTE instead, the planner cannot size it and hash-joins a scan of the whole table.
      const { rows } = await db.query<Row>(
        `WITH clock AS (SELECT COALESCE($3::timestamptz, now()) AS now),
         due AS (
           SELECT id FROM scheduled_follow_ups
           WHERE status = 'pending' AND due_at <= (SELECT now FROM clock)
             AND (lease_until IS NULL OR lease_until < (SELECT now FROM clock))
           ORDER BY due_at LIMIT ${batchLimit(limit)}
           FOR UPDATE SKIP LOCKED
         )
         UPDATE scheduled_follow_ups s
         SET claim_token = $1, attempts = s.attempts + 1,
             lease_until = (SELECT now FROM clock) + $2 * interval '1 millisecond',
             updated_at = (SELECT now FROM clock)
         WHERE s.id = ANY(ARRAY(SELECT id FROM due))
         RETURNING s.id, s.client_account_id, s.enrolment_id, s.campaign_id, s.campaign_version, s.lead_id,
           s.step_id, s.step_index, s.attempts, ${epochMs('s.due_at')} AS due_ms, ${epochMs('s.lease_until')} AS lease_ms`,
        [token, leaseMs, nowParam()],
        { prepare: true },
      );
      // Only what the runner needs, times as epoch milliseconds: a batch is parsed on every claim.
      return rows
        .map(
          (r): ClaimedStep => ({
            id: r.id,
            clientAccountId: r.client_account_id,
            enrolmentId: r.enrolment_id,
            campaignId: r.campaign_id,
            campaignVersion: r.campaign_version,
            leadId: r.lead_id,
            stepId: r.step_id,
            stepIndex: r.step_index,
            status: 'claimed',
            dueAt: new Date(r.due_ms),
            attempts: r.attempts,
            claimToken: token,
            leaseUntil: new Date(r.lease_ms),
          }),
        )
        .sort((a, b) => a.dueAt.getTime() - b.dueAt.getTime());
    },

    async extendLease(ids, token, leaseMs) {
      if (ids.length === 0) return 0;
      const { rowCount } = await db.query(
        `UPDATE scheduled_follow_ups
         SET lease_until = COALESCE($4::timestamptz, now()) + $3 * interval '1 millisecond'
         WHERE id = ANY($1::text[]) AND claim_token = $2 AND status = 'pending'`,
        [ids, token, leaseMs, nowParam()],
        { prepare: true },
      );
      return rowCount;
    },

    async checkBeforeSend(ids, token, since) {
      if (ids.length === 0) return [];
      // FOR UPDATE OF e waits for an exit in progress and then sees its result.
      const { rows } = await db.query<Row>(
        `SELECT s.id, e.status AS enrolment_status, ${epochMs('e.enrolled_at')} AS enrolled_ms,
           c.status AS campaign_status, f.recent_sends, ${epochMs('f.oldest')} AS oldest_ms
         FROM scheduled_follow_ups s
         JOIN follow_up_enrolments e ON e.id = s.enrolment_id
         LEFT JOIN follow_up_campaigns c ON c.id = s.campaign_id
         CROSS JOIN LATERAL (
           -- The lead's sends reached through its enrolments (few per lead) and the ledger's key.
           SELECT count(*)::int AS recent_sends, min(x.sent_at) AS oldest
           FROM follow_up_enrolments le JOIN follow_up_sends x ON x.enrolment_id = le.id
           WHERE le.client_account_id = s.client_account_id AND le.lead_id = s.lead_id AND x.sent_at > $3
         ) f
         WHERE s.id = ANY($1::text[]) AND s.claim_token = $2 AND s.status = 'pending'
         ORDER BY e.id
         FOR UPDATE OF e`,
        [ids, token, since],
        { prepare: true },
      );
      return rows.map((r) => ({
        id: r.id,
        enrolmentStatus: r.enrolment_status,
        enrolledAt: new Date(r.enrolled_ms),
        campaignStatus: r.campaign_status ?? null,
        recentSends: r.recent_sends,
        oldestRecentSendAt: r.oldest_ms === null ? null : new Date(r.oldest_ms),
      }));
    },

    async complete(token, outcomes) {
      if (outcomes.length === 0) return 0;
      // One JSON parameter for the whole batch, keys named as the columns of `d` below; absent keys
      // read as NULL. JSON.stringify is native: far less work than one array literal per column.
      let nexts = false;
      const batch = outcomes.map((o) => {
        const r: Record<string, string | number> = { id: o.id, outcome: o.kind };
        const info = infoOf(o);
        if (info !== null) r.info = info;
        if (o.kind === 'sent') {
          r.provider_message_id = o.providerMessageId;
          if (o.messageId !== null) r.message_id = o.messageId;
          r.message_kind = o.messageKind;
        }
        if (o.kind === 'retry' || o.kind === 'deferred') r.due_at = o.dueAt.toISOString();
        const next = o.kind === 'sent' || o.kind === 'skipped' ? o.next : null;
        if (next) {
          nexts = true;
          r.next_step_id = next.stepId;
          r.next_step_index = next.stepIndex;
          r.next_due_at = next.dueAt.toISOString();
        }
        return r;
      });
      // What the batch holds decides which parts the statement has: a part with no input would still
      // be planned and run on every completion.
      const sends = outcomes.some((o) => o.kind === 'sent');
      const exits = outcomes.some(
        (o) => o.kind === 'failed' || o.kind === 'dead' || o.kind === 'unknown' || o.kind === 'exited',
      );
      const ends = exits || outcomes.some((o) => (o.kind === 'sent' || o.kind === 'skipped') && !o.next);
      const parts: string[] = [];
      if (sends) parts.push(LEDGER_SQL);
      if (nexts) parts.push(NEXT_SQL);
      if (ends) parts.push(ENDED_SQL);
      if (exits) parts.push(EVENTS_SQL);
      // One statement: step transitions, ledger rows, next steps, enrolment ends and exit events, all or nothing.
      const { rows } = await db.query<Row>(
        `WITH clock AS (SELECT COALESCE($3::timestamptz, now()) AS now),
         d AS (
           SELECT * FROM json_to_recordset($2::json)
             AS d(id text, outcome text, provider_message_id text, message_id text, message_kind text, info text,
                  due_at timestamptz, next_step_id text, next_step_index int, next_due_at timestamptz)
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
             last_error = CASE WHEN d.outcome IN ('retry', 'failed', 'dead', 'unknown') THEN d.info ELSE s.last_error END,
             skip_reason = CASE WHEN d.outcome IN ('skipped', 'deferred', 'exited') THEN d.info ELSE s.skip_reason END,
             sent_at = CASE WHEN d.outcome = 'sent' THEN (SELECT now FROM clock) ELSE s.sent_at END,
             delivery_status = CASE WHEN d.outcome = 'sent' THEN 'sent' ELSE s.delivery_status END,
             claim_token = NULL, lease_until = NULL, updated_at = (SELECT now FROM clock)
           FROM d
           WHERE s.id = d.id AND s.claim_token = $1
             AND (s.status = 'pending' OR (s.status = 'cancelled' AND d.outcome = 'sent'))
           RETURNING s.id, s.client_account_id, s.enrolment_id, s.campaign_id, s.campaign_version, s.lead_id,
             s.step_id, s.status, s.provider_message_id,
             d.outcome, d.info, d.next_step_id, d.next_step_index, d.next_due_at
         )${parts.map((part) => `,\n${part}`).join('')}
         -- Data-modifying CTEs run to completion whether or not this reads them.
         SELECT (SELECT count(*)::int FROM upd) AS applied`,
        [token, JSON.stringify(batch), nowParam()],
        { prepare: true },
      );
      return Number(rows[0]?.applied ?? 0);
    },

    async nextDueAt() {
      // The earliest unleased due time; only when nothing unleased is due yet, the earliest lease
      // expiry: leased steps were due when claimed, so they are the few rows with due_at <= now.
      const { rows } = await db.query<Row>(
        `WITH clock AS (SELECT COALESCE($1::timestamptz, now()) AS now),
         free AS (
           SELECT min(due_at) AS at FROM scheduled_follow_ups WHERE status = 'pending' AND lease_until IS NULL
         )
         SELECT CASE WHEN free.at <= (SELECT now FROM clock) THEN free.at
           ELSE least(free.at, (SELECT min(lease_until) FROM scheduled_follow_ups
                                WHERE status = 'pending' AND due_at <= (SELECT now FROM clock)
                                  AND lease_until IS NOT NULL)) END AS next
         FROM free`,
        [nowParam()],
      );
      return rows[0]?.next ? new Date(rows[0].next) : null;
    },

    async subscribe(onDue) {
      return db.listen(channel, () => onDue());
    },

    async recordDeliveryStatus(input) {
      // One statement: update the step, or park the status when no step has the message id yet.
      const { rows } = await db.query<Row>(
        `WITH upd AS (
           UPDATE scheduled_follow_ups SET
             delivered_at = CASE WHEN $3 IN ('delivered', 'read') THEN COALESCE(delivered_at, $4) ELSE delivered_at END,
             read_at = CASE WHEN $3 = 'read' THEN COALESCE(read_at, $4) ELSE read_at END,
             delivery_status = CASE
               WHEN delivery_status IS NULL OR ${statusRank('$3::text')} > ${statusRank('delivery_status')}
               THEN $3 ELSE delivery_status END,
             updated_at = $4
           WHERE client_account_id = $1 AND provider_message_id = $2
           RETURNING 1
         ),
         parked AS (
           INSERT INTO follow_up_parked_statuses (client_account_id, provider_message_id, status, at, parked_at)
           SELECT $1, $2, $3, $4, COALESCE($5::timestamptz, now()) WHERE NOT EXISTS (SELECT 1 FROM upd)
           ON CONFLICT DO NOTHING
           RETURNING 1
         )
         SELECT (SELECT count(*)::int FROM upd) AS n`,
        [input.tenant, input.providerMessageId, input.status, input.at, nowParam()],
      );
      return Number(rows[0]?.n ?? 0);
    },

    async applyParkedStatuses() {
      const { rows } = await db.query<Row>(
        `WITH clock AS (SELECT COALESCE($1::timestamptz, now()) AS now),
         p AS (
           SELECT client_account_id, provider_message_id,
             min(at) FILTER (WHERE status IN ('delivered', 'read')) AS delivered_at,
             min(at) FILTER (WHERE status = 'read') AS read_at,
             (array_agg(status ORDER BY ${statusRank('status')} DESC))[1] AS status,
             max(at) AS at
           FROM follow_up_parked_statuses GROUP BY client_account_id, provider_message_id
         ),
         applied AS (
           UPDATE scheduled_follow_ups s SET
             delivered_at = COALESCE(s.delivered_at, p.delivered_at),
             read_at = COALESCE(s.read_at, p.read_at),
             delivery_status = CASE
               WHEN s.delivery_status IS NULL OR ${statusRank('p.status')} > ${statusRank('s.delivery_status')}
               THEN p.status ELSE s.delivery_status END,
             updated_at = greatest(s.updated_at, p.at)
           FROM p
           WHERE s.client_account_id = p.client_account_id AND s.provider_message_id = p.provider_message_id
           RETURNING s.client_account_id, s.provider_message_id
         ),
         gone AS (
           DELETE FROM follow_up_parked_statuses x
           WHERE x.parked_at < (SELECT now FROM clock) - $2 * interval '1 millisecond'
              OR EXISTS (SELECT 1 FROM applied a
                         WHERE a.client_account_id = x.client_account_id
                           AND a.provider_message_id = x.provider_message_id)
           RETURNING 1
         )
         SELECT (SELECT count(*)::int FROM applied) AS n`,
        [nowParam(), PARKED_STATUS_TTL_MS],
      );
      return Number(rows[0]?.n ?? 0);
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
      const campaignSteps = `(SELECT s.* FROM follow_up_enrolments e JOIN scheduled_follow_ups s ON ${stepsOf('e.id')}
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
             count(*) FILTER (WHERE ${failed} AND ${range('updated_at')})::int AS failed,
             count(*) FILTER (WHERE status = 'unknown' AND ${range('updated_at')})::int AS unknown
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
             count(*) FILTER (WHERE status = 'unknown' AND ${range('updated_at')})::int AS unknown,
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
             UNION ALL
             SELECT updated_at, 'unknown' FROM campaign_steps WHERE status = 'unknown'
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
        unknown: 'unknown',
        opted_out: 'optedOut',
      };
      for (const r of daily.rows) {
        dailyRow(days, r.date)[dailyKey[r.kind]!] += Number(r.n);
      }
      const stepRows = new Map<string, StepRow>();
      for (const r of steps.rows) {
        Object.assign(stepRow(stepRows, r.step_id), {
          sent: Number(r.sent),
          delivered: Number(r.delivered),
          read: Number(r.read),
          failed: Number(r.failed),
          unknown: Number(r.unknown),
          skipped: Number(r.skipped),
          pending: Number(r.pending),
        });
      }
      // A reply is credited to the step sent last, which may have no row in this range.
      for (const [stepId, n] of repliedByStep) stepRow(stepRows, stepId).replied = n;
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
          unknown: Number(s.unknown),
          optedOut: Number(t.opted_out),
        },
        steps: [...stepRows.values()],
        daily: [...days.values()],
      };
      return result;
    },

    async purge(before) {
      const { rows } = await db.query<Row>(
        `WITH clock AS (SELECT COALESCE($2::timestamptz, now()) AS now),
         events AS (DELETE FROM follow_up_exit_events WHERE at < $1 RETURNING 1),
         sends AS (
           DELETE FROM follow_up_sends f USING follow_up_enrolments e
           WHERE e.client_account_id = f.client_account_id AND e.id = f.enrolment_id
             AND e.status <> 'active' AND e.ended_at < $1
             AND f.sent_at < (SELECT now FROM clock) - $3 * interval '1 millisecond'
           RETURNING 1
         )
         SELECT (SELECT count(*)::int FROM events) AS exit_events, (SELECT count(*)::int FROM sends) AS sends`,
        [before, nowParam(), SEND_CAP_WINDOW_MS],
      );
      return { exitEvents: Number(rows[0]?.exit_events ?? 0), sends: Number(rows[0]?.sends ?? 0) };
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
           SELECT u.enrolment_id || ':' || u.next_step_id, u.client_account_id, u.enrolment_id, u.campaign_id, u.campaign_version, u.lead_id,
             u.next_step_id, u.next_step_index, 'pending', u.next_due_at, (SELECT now FROM clock), (SELECT now FROM clock)
           FROM upd u JOIN follow_up_enrolments e ON e.id = u.enrolment_id
           WHERE u.next_step_id IS NOT NULL AND u.status IN ('sent', 'skipped') AND e.status = 'active'
           ON CONFLICT (id) DO NOTHING
           RETURNING 1
         )`;

/** Ends enrolments whose last step is done, whose step failed or has an unknown outcome, or that exited. */
const ENDED_SQL = `         ended AS (
           UPDATE follow_up_enrolments e SET
             status = CASE WHEN u.status IN ('sent', 'skipped') THEN 'completed' ELSE 'exited' END,
             exit_reason = CASE WHEN u.status IN ('failed', 'dead') THEN 'send_failed'
                                WHEN u.status = 'unknown' THEN 'send_outcome_unknown'
                                WHEN u.status = 'cancelled' THEN u.info ELSE NULL END,
             ended_at = (SELECT now FROM clock),
             last_step_id = COALESCE(CASE WHEN u.status = 'sent' THEN u.step_id END,
               (SELECT f.step_id FROM follow_up_sends f WHERE f.enrolment_id = e.id ORDER BY f.sent_at DESC LIMIT 1))
           FROM upd u
           WHERE e.id = u.enrolment_id AND e.status = 'active'
             AND ((u.status IN ('sent', 'skipped') AND u.next_step_id IS NULL)
               OR u.status IN ('failed', 'dead', 'unknown')
               OR (u.status = 'cancelled' AND u.outcome = 'exited'))
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

/**
 * The batch size written into the claim's text: with `LIMIT $1` Postgres plans
 * the claim anew on every call (the generic plan cannot size it), and a
 * runner's batch size never changes, so its claim stays one prepared statement.
 */
function batchLimit(limit: number): number {
  if (!Number.isSafeInteger(limit) || limit < 1)
    throw new ValidationError(`Invalid claim limit ${limit}`, { code: 'claim_limit_invalid' });
  return limit;
}

/** A timestamp as float8 epoch milliseconds: node-postgres reads it with parseFloat, not a date parser. */
function epochMs(column: string): string {
  return `(extract(epoch FROM ${column}) * 1000)::float8`;
}

function infoOf(o: StepOutcome): string | null {
  switch (o.kind) {
    case 'skipped':
    case 'deferred':
    case 'exited':
      return o.reason;
    case 'retry':
    case 'failed':
    case 'dead':
    case 'unknown':
      return o.error.slice(0, 1000);
    default:
      return null;
  }
}
