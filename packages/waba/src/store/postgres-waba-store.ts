import { createPostgresInbox, parseOrThrow, type SqlDatabase } from '@leadrelay/core';
import { createPostgresRateLimitStore } from '../rate-limit/postgres-rate-limit-store.js';
import { storedSendResultSchema } from '../send/send-types.js';
import { type WabaTemplate, wabaTemplateInputSchema, wabaTemplateSchema } from '../templates/template.js';
import { templateParameterSpec } from '../templates/template-parameters.js';
import type { LedgerClaim, LedgerClaimInput, WabaStore } from './waba-store.js';

interface TemplateRow {
  id: string;
  client_account_id: string;
  name: string;
  language: string;
  category: string;
  status: string;
  header: unknown;
  body_text: string;
  footer_text: string | null;
  buttons: unknown;
  provider_template_id: string | null;
  created_at: Date | string;
  updated_at: Date | string;
}

interface LedgerRow {
  request_hash: string;
  status: 'in_flight' | 'completed' | 'unknown';
  result: unknown;
  claimed_at: Date | string;
  lease_expires_at: Date | string;
}

const TEMPLATE_COLUMNS = `id, client_account_id, name, language, category, status, header, body_text, footer_text,
  buttons, provider_template_id, created_at, updated_at`;

/** `templates.get`'s lookup, its parameters at the given positions (a null name matches nothing). */
const selectTemplateSql = (tenant: string, name: string, language: string) =>
  `SELECT ${TEMPLATE_COLUMNS} FROM waba_templates
    WHERE client_account_id = ${tenant} AND name = ${name}::text AND (${language}::text IS NULL OR language = ${language})
    ORDER BY language COLLATE "C" LIMIT 1`;

function toTemplate(row: TemplateRow): WabaTemplate {
  // Stored JSON is untrusted input too: parse it back into the typed record.
  return parseOrThrow(
    wabaTemplateSchema,
    {
      id: row.id,
      clientAccountId: row.client_account_id,
      name: row.name,
      language: row.language,
      category: row.category,
      status: row.status,
      header: row.header ?? null,
      bodyText: row.body_text,
      footerText: row.footer_text,
      buttons: row.buttons ?? [],
      providerTemplateId: row.provider_template_id,
      createdAt: new Date(row.created_at),
      updatedAt: new Date(row.updated_at),
    },
    'stored template',
  );
}

const json = (value: unknown) => (value === null || value === undefined ? null : JSON.stringify(value));

/**
 * The Postgres `WabaStore` over core's `SqlDatabase`: runs unchanged on
 * node-postgres and PGlite. Apply `wabaMigrations` first. The idempotency
 * claim is one `INSERT … ON CONFLICT DO NOTHING`, so concurrent callers in
 * any number of processes agree on one owner of a key; its `rateLimits` make
 * a number's rate limit hold across those processes too.
 *
 * @example
 * await migrate(db, [...coreMigrations, ...wabaMigrations]);
 * const wabaStore = createPostgresWabaStore(db);
 */
export function createPostgresWabaStore(db: SqlDatabase): WabaStore {
  const claim = async (input: LedgerClaimInput): Promise<LedgerClaim> => {
    for (;;) {
      const template = input.readTemplate;
      const { rows: claimed } = await db.query<{ claimed: boolean; template: TemplateRow | null }>(
        `WITH claimed AS (
           INSERT INTO waba_send_ledger
             (client_account_id, idempotency_key, request_hash, status, claimed_at, lease_expires_at)
           VALUES ($1, $2, $3, 'in_flight', $4, $5)
           ON CONFLICT (client_account_id, idempotency_key) DO NOTHING
           RETURNING 1
         )
         SELECT EXISTS (SELECT 1 FROM claimed) AS claimed,
           (SELECT to_jsonb(t) FROM (${selectTemplateSql('$1', '$6', '$7')}) t) AS template`,
        [
          input.clientAccountId,
          input.idempotencyKey,
          input.requestHash,
          input.now,
          new Date(input.now.getTime() + input.leaseMs),
          template?.name ?? null,
          template?.language ?? null,
        ],
        // Once per send: planning it each time would cost about as much as running it.
        { prepare: true },
      );
      if (claimed[0]!.claimed) {
        if (!template) return { state: 'claimed' };
        const row = claimed[0]!.template;
        return { state: 'claimed', template: row ? toTemplate(row) : null };
      }
      // The row exists. An expired lease turns into `unknown` exactly once, in the statement that reads it.
      const { rows } = await db.query<LedgerRow>(
        `WITH expired AS (
           UPDATE waba_send_ledger SET status = 'unknown'
            WHERE client_account_id = $1 AND idempotency_key = $2
              AND status = 'in_flight' AND lease_expires_at <= $3 AND request_hash = $4
           RETURNING request_hash, status, result, claimed_at, lease_expires_at
         )
         SELECT request_hash, status, result, claimed_at, lease_expires_at FROM expired
         UNION ALL
         SELECT request_hash, status, result, claimed_at, lease_expires_at FROM waba_send_ledger
          WHERE client_account_id = $1 AND idempotency_key = $2 AND NOT EXISTS (SELECT 1 FROM expired)`,
        [input.clientAccountId, input.idempotencyKey, input.now, input.requestHash],
      );
      const row = rows[0];
      // Released between the two statements: claim again.
      if (!row) continue;
      if (row.request_hash !== input.requestHash) return { state: 'conflict' };
      if (row.status === 'completed') {
        const result = parseOrThrow(storedSendResultSchema, row.result, 'stored send result');
        return { state: 'completed', result };
      }
      if (row.status === 'in_flight') {
        return { state: 'in_flight', leaseExpiresAt: new Date(row.lease_expires_at) };
      }
      return { state: 'unknown', claimedAt: new Date(row.claimed_at) };
    }
  };

  return {
    templates: {
      async upsert(input) {
        const t = parseOrThrow(wabaTemplateInputSchema, input, 'template');
        const spec = templateParameterSpec(t);
        const { rows } = await db.query<TemplateRow>(
          `INSERT INTO waba_templates
             (client_account_id, name, language, category, status, header, body_text, footer_text, buttons,
              parameter_spec, provider_template_id)
           VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7, $8, $9::jsonb, $10::jsonb, $11)
           ON CONFLICT (client_account_id, name, language) DO UPDATE SET
             category = EXCLUDED.category, status = EXCLUDED.status, header = EXCLUDED.header,
             body_text = EXCLUDED.body_text, footer_text = EXCLUDED.footer_text, buttons = EXCLUDED.buttons,
             parameter_spec = EXCLUDED.parameter_spec, provider_template_id = EXCLUDED.provider_template_id,
             updated_at = now()
           RETURNING ${TEMPLATE_COLUMNS}`,
          [
            t.clientAccountId,
            t.name,
            t.language,
            t.category,
            t.status,
            json(t.header),
            t.bodyText,
            t.footerText,
            json(t.buttons),
            json(spec),
            t.providerTemplateId,
          ],
        );
        return toTemplate(rows[0]!);
      },
      async get(clientAccountId, name, language) {
        const { rows } = await db.query<TemplateRow>(selectTemplateSql('$1', '$2', '$3'), [
          clientAccountId,
          name,
          language ?? null,
        ]);
        return rows[0] ? toTemplate(rows[0]) : null;
      },
      async list(clientAccountId, query = {}) {
        const { rows } = await db.query<TemplateRow>(
          `SELECT ${TEMPLATE_COLUMNS} FROM waba_templates
            WHERE client_account_id = $1
              AND ($2::text IS NULL OR status = $2)
              AND ($3::text IS NULL OR category = $3)
              AND ($4::text IS NULL OR name = $4)
            ORDER BY name COLLATE "C", language COLLATE "C"`,
          [clientAccountId, query.status ?? null, query.category ?? null, query.name ?? null],
        );
        return rows.map(toTemplate);
      },
      async delete(clientAccountId, name, language) {
        const { rowCount } = await db.query(
          'DELETE FROM waba_templates WHERE client_account_id = $1 AND name = $2 AND language = $3',
          [clientAccountId, name, language],
        );
        return rowCount > 0;
      },
    },

    sendLedger: {
      claim,
      async complete(clientAccountId, idempotencyKey, result) {
        await db.query(
          `UPDATE waba_send_ledger SET status = 'completed', result = $3::jsonb, completed_at = now()
            WHERE client_account_id = $1 AND idempotency_key = $2`,
          [clientAccountId, idempotencyKey, JSON.stringify(result)],
          { prepare: true },
        );
      },
      async release(clientAccountId, idempotencyKey) {
        await db.query(
          `DELETE FROM waba_send_ledger
            WHERE client_account_id = $1 AND idempotency_key = $2 AND status = 'in_flight'`,
          [clientAccountId, idempotencyKey],
        );
      },
      async markUnknown(clientAccountId, idempotencyKey) {
        await db.query(
          `UPDATE waba_send_ledger SET status = 'unknown'
            WHERE client_account_id = $1 AND idempotency_key = $2 AND status = 'in_flight'`,
          [clientAccountId, idempotencyKey],
        );
      },
      async purge(before) {
        const { rowCount } = await db.query(
          `DELETE FROM waba_send_ledger WHERE status IN ('completed', 'unknown') AND claimed_at < $1`,
          [before],
        );
        return rowCount;
      },
    },

    inbox: createPostgresInbox(db),

    rateLimits: createPostgresRateLimitStore(db),
  };
}
