import type { Migration } from '@leadrelay/core';

/**
 * The tables @leadrelay/waba owns. Run them with core's runner after the
 * core migrations, in the same schema (every table references
 * `client_accounts` and goes with its tenant):
 * `migrate(db, [...coreMigrations, ...wabaMigrations])`.
 * SQL runs on Postgres 15 and on PGlite.
 */
export const wabaMigrations: Migration[] = [
  {
    id: 'waba/0001_init',
    up: `
      CREATE TABLE waba_templates (
        id text PRIMARY KEY DEFAULT gen_random_uuid()::text,
        client_account_id text NOT NULL,
        name text NOT NULL,
        language text NOT NULL,
        category text NOT NULL CHECK (category IN ('MARKETING', 'UTILITY', 'AUTHENTICATION')),
        status text NOT NULL CHECK (status IN ('APPROVED', 'PENDING', 'REJECTED', 'PAUSED', 'DISABLED')),
        header jsonb,
        body_text text NOT NULL,
        footer_text text,
        buttons jsonb NOT NULL DEFAULT '[]'::jsonb,
        parameter_spec jsonb NOT NULL DEFAULT '{}'::jsonb,
        provider_template_id text,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT waba_templates_tenant_name_language_key UNIQUE (client_account_id, name, language)
      );

      -- One row per idempotency key: claimed before the provider call, holding the result after it.
      CREATE TABLE waba_send_ledger (
        client_account_id text NOT NULL,
        idempotency_key text NOT NULL,
        request_hash text NOT NULL,
        status text NOT NULL CHECK (status IN ('in_flight', 'completed', 'unknown')),
        result jsonb,
        claimed_at timestamptz NOT NULL,
        lease_expires_at timestamptz NOT NULL,
        completed_at timestamptz,
        CONSTRAINT waba_send_ledger_pkey PRIMARY KEY (client_account_id, idempotency_key)
      );

      CREATE TABLE waba_inbound_events (
        client_account_id text NOT NULL,
        provider text NOT NULL,
        provider_event_id text NOT NULL,
        received_at timestamptz NOT NULL,
        CONSTRAINT waba_inbound_events_pkey PRIMARY KEY (client_account_id, provider, provider_event_id)
      );
      CREATE INDEX waba_inbound_events_received_at_idx ON waba_inbound_events (received_at);
    `,
    down: `
      DROP TABLE IF EXISTS waba_inbound_events;
      DROP TABLE IF EXISTS waba_send_ledger;
      DROP TABLE IF EXISTS waba_templates;
    `,
  },
  {
    id: 'waba/0003_rate_limit',
    up: `
      -- One token bucket per sending number, shared by every process on this database.
      CREATE TABLE waba_rate_limits (
        client_account_id text NOT NULL REFERENCES client_accounts(id) ON DELETE CASCADE,
        sender_number text NOT NULL,
        tokens double precision NOT NULL,
        refilled_at timestamptz NOT NULL,
        -- When the grants still inside the sliding window were made, oldest first.
        sent_at timestamptz[] NOT NULL DEFAULT '{}',
        -- Tokens the last take granted (what RETURNING reports).
        granted integer NOT NULL DEFAULT 0,
        CONSTRAINT waba_rate_limits_pkey PRIMARY KEY (client_account_id, sender_number)
      );
    `,
    down: `
      DROP TABLE IF EXISTS waba_rate_limits;
    `,
  },
  {
    // Inbound events now live in core's durable inbox (core/0002_inbox), recorded before the acknowledgement.
    id: 'waba/0004_inbox',
    up: `DROP TABLE IF EXISTS waba_inbound_events;`,
    down: `
      CREATE TABLE waba_inbound_events (
        client_account_id text NOT NULL,
        provider text NOT NULL,
        provider_event_id text NOT NULL,
        received_at timestamptz NOT NULL,
        CONSTRAINT waba_inbound_events_pkey PRIMARY KEY (client_account_id, provider, provider_event_id)
      );
      CREATE INDEX waba_inbound_events_received_at_idx ON waba_inbound_events (received_at);
    `,
  },
  {
    id: 'waba/0002_tenant_keys',
    // Listed after waba/0004_inbox, which was applied first in existing databases (the runner applies
    // in list order), so it keys only the tables that remain. Every table goes with its tenant:
    // deleting a client_accounts row cascades here. Each primary or unique key leads with
    // client_account_id, so the cascade reads an index, never the whole table. Rows whose tenant is
    // already gone (left behind by deletions before these keys existed) are deleted first, or adding
    // the keys would fail: no tenant can reach them. They are not kept with NOT VALID keys instead:
    // migrations run in one transaction, so a separate VALIDATE would hold the same locks, and it would
    // fail on those rows all the same.
    up: `
      DELETE FROM waba_templates x
        WHERE NOT EXISTS (SELECT 1 FROM client_accounts c WHERE c.id = x.client_account_id);
      DELETE FROM waba_send_ledger x
        WHERE NOT EXISTS (SELECT 1 FROM client_accounts c WHERE c.id = x.client_account_id);
      ALTER TABLE waba_templates ADD CONSTRAINT waba_templates_client_account_fkey
        FOREIGN KEY (client_account_id) REFERENCES client_accounts (id) ON DELETE CASCADE;
      ALTER TABLE waba_send_ledger ADD CONSTRAINT waba_send_ledger_client_account_fkey
        FOREIGN KEY (client_account_id) REFERENCES client_accounts (id) ON DELETE CASCADE;
    `,
    down: `
      ALTER TABLE waba_send_ledger DROP CONSTRAINT waba_send_ledger_client_account_fkey;
      ALTER TABLE waba_templates DROP CONSTRAINT waba_templates_client_account_fkey;
    `,
  },
];
