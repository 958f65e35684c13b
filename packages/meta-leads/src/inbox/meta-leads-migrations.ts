import type { Migration } from '@leadrelay/core';

/**
 * The tables `@leadrelay/meta-leads` owns. Apply with core's runner after
 * core's own migrations:
 *
 * @example await migrate(db, [...coreMigrations, ...metaLeadsMigrations]);
 */
export const metaLeadsMigrations: Migration[] = [
  {
    id: 'meta-leads/0001_init',
    up: `
      CREATE TABLE meta_leadgen_events (
        client_account_id text NOT NULL,
        leadgen_id text NOT NULL,
        page_id text NOT NULL,
        form_id text,
        ad_id text,
        adgroup_id text,
        payload jsonb NOT NULL DEFAULT '{}'::jsonb,
        status text NOT NULL DEFAULT 'pending'
          CHECK (status IN ('pending', 'processing', 'done', 'failed', 'needs_reauth')),
        attempts integer NOT NULL DEFAULT 0,
        next_attempt_at timestamptz NOT NULL DEFAULT now(),
        locked_until timestamptz,
        last_error text,
        lead_id text,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (client_account_id, leadgen_id)
      );
      -- What a claim scans: due pending rows and expired leases.
      CREATE INDEX meta_leadgen_events_due_idx
        ON meta_leadgen_events (next_attempt_at) WHERE status = 'pending';
      CREATE INDEX meta_leadgen_events_lease_idx
        ON meta_leadgen_events (locked_until) WHERE status = 'processing';
      -- Requeueing a re-authorised page and listing a tenant's events.
      CREATE INDEX meta_leadgen_events_page_idx
        ON meta_leadgen_events (client_account_id, page_id, status);
      CREATE INDEX meta_leadgen_events_created_idx
        ON meta_leadgen_events (client_account_id, created_at DESC);
    `,
    down: `DROP TABLE IF EXISTS meta_leadgen_events;`,
  },
];
