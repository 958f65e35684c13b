import type { Migration } from '@leadrelay/core';

/**
 * The tables `@leadrelay/meta-leads` owns. Apply with core's runner after
 * core's own migrations (events reference `client_accounts` and go with
 * their tenant):
 *
 * @example await migrate(db, [...coreMigrations, ...metaLeadsMigrations]);
 */
export const metaLeadsMigrations: Migration[] = [
  {
    id: 'meta-leads/0001_init',
    up: `
      CREATE TABLE meta_leadgen_events (
        -- Same type and collation as client_accounts.id, which it references.
        client_account_id text COLLATE "C" NOT NULL,
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
        -- The stored lead, recorded before onLead runs, and whether this event
        -- created it: a retry calls onLead again without fetching or storing.
        lead_id text,
        lead_created boolean,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (client_account_id, leadgen_id),
        CONSTRAINT meta_leadgen_events_client_account_fkey FOREIGN KEY (client_account_id)
          REFERENCES client_accounts (id) ON DELETE CASCADE
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
  {
    id: 'meta-leads/0002_tenant_keys',
    // The event's lead is a lead of the same tenant. Deleting the lead unsets lead_id and keeps the
    // event: the row is still the dedupe of Meta's replays of that leadgen id. A lead_id whose lead is
    // already gone is unset first, or adding the key would fail; a retry of such an event fetches and
    // stores its lead anew, as it does for a lead deleted later. The partial index serves the unset.
    up: `
      UPDATE meta_leadgen_events e SET lead_id = NULL
        WHERE lead_id IS NOT NULL
          AND NOT EXISTS (SELECT 1 FROM leads l WHERE l.client_account_id = e.client_account_id AND l.id = e.lead_id);
      CREATE INDEX meta_leadgen_events_lead_idx
        ON meta_leadgen_events (client_account_id, lead_id) WHERE lead_id IS NOT NULL;
      ALTER TABLE meta_leadgen_events ADD CONSTRAINT meta_leadgen_events_lead_fkey
        FOREIGN KEY (client_account_id, lead_id) REFERENCES leads (client_account_id, id) ON DELETE SET NULL (lead_id);
    `,
    down: `
      ALTER TABLE meta_leadgen_events DROP CONSTRAINT meta_leadgen_events_lead_fkey;
      DROP INDEX meta_leadgen_events_lead_idx;
    `,
  },
];
