import type { Migration } from '@leadrelay/core';

/**
 * The follow-ups schema: campaigns and their versions, enrolments, scheduled
 * steps (the work queue), the send ledger and exit events. Every table
 * carries `client_account_id` and references `client_accounts`, enrolments
 * reference core's `leads`: apply after `coreMigrations`, in the same schema.
 * Runs on Postgres 15+ and PGlite.
 *
 * @example await migrate(db, [...coreMigrations, ...followupsMigrations]);
 */
export const followupsMigrations: Migration[] = [
  {
    id: 'followups/0001_init',
    up: `
CREATE TABLE follow_up_campaigns (
  id text PRIMARY KEY,
  client_account_id text NOT NULL,
  name text NOT NULL,
  status text NOT NULL CHECK (status IN ('draft', 'active', 'paused', 'archived')),
  version integer NOT NULL DEFAULT 1,
  trigger_type text NOT NULL,
  definition jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX follow_up_campaigns_tenant_idx ON follow_up_campaigns (client_account_id, status, trigger_type);

CREATE TABLE follow_up_campaign_versions (
  campaign_id text NOT NULL REFERENCES follow_up_campaigns (id) ON DELETE CASCADE,
  version integer NOT NULL,
  client_account_id text NOT NULL,
  definition jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (campaign_id, version)
);

CREATE TABLE follow_up_enrolments (
  id text PRIMARY KEY,
  client_account_id text NOT NULL,
  campaign_id text NOT NULL REFERENCES follow_up_campaigns (id) ON DELETE CASCADE,
  campaign_version integer NOT NULL,
  lead_id text NOT NULL,
  status text NOT NULL CHECK (status IN ('active', 'completed', 'exited')),
  exit_reason text,
  enrolled_at timestamptz NOT NULL,
  ended_at timestamptz,
  last_step_id text
) WITH (fillfactor = 80);
-- No index reads status, exit_reason, ended_at or last_step_id, so ending an enrolment is a HOT
-- update (no index writes; fillfactor leaves room on the page). One running enrolment per campaign
-- and lead is kept by enrol(), which holds an advisory lock on the pair while it checks and inserts.
CREATE INDEX follow_up_enrolments_lead_idx ON follow_up_enrolments (client_account_id, lead_id, campaign_id);
CREATE INDEX follow_up_enrolments_campaign_idx ON follow_up_enrolments (campaign_id, enrolled_at);

CREATE TABLE scheduled_follow_ups (
  id text PRIMARY KEY,
  client_account_id text NOT NULL,
  enrolment_id text NOT NULL REFERENCES follow_up_enrolments (id) ON DELETE CASCADE,
  campaign_id text NOT NULL,
  campaign_version integer NOT NULL,
  lead_id text NOT NULL,
  step_id text NOT NULL,
  step_index integer NOT NULL,
  status text NOT NULL DEFAULT 'pending'
    CHECK (status IN ('pending', 'claimed', 'sent', 'skipped', 'failed', 'cancelled', 'dead')),
  due_at timestamptz NOT NULL,
  attempts integer NOT NULL DEFAULT 0,
  lease_until timestamptz,
  claim_token text,
  last_error text,
  skip_reason text,
  provider_message_id text,
  message_id text,
  message_kind text,
  sent_at timestamptz,
  delivery_status text CHECK (delivery_status IN ('sent', 'delivered', 'read', 'failed')),
  delivered_at timestamptz,
  read_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (enrolment_id, step_id)
);
-- The claim reads these two partial indexes only: due work and expired leases.
CREATE INDEX scheduled_follow_ups_due_idx ON scheduled_follow_ups (due_at) WHERE status = 'pending';
CREATE INDEX scheduled_follow_ups_lease_idx ON scheduled_follow_ups (lease_until) WHERE status = 'claimed';
CREATE INDEX scheduled_follow_ups_provider_idx ON scheduled_follow_ups (client_account_id, provider_message_id)
  WHERE provider_message_id IS NOT NULL;
-- Every claim and completion rewrites a row and each of its indexes: steps are found by campaign or
-- lead through follow_up_enrolments and UNIQUE (enrolment_id, step_id) instead of indexes of their own.

-- The send ledger: one row per (enrolment, step) ever sent; its key is the provider idempotency key.
CREATE TABLE follow_up_sends (
  enrolment_id text NOT NULL,
  step_id text NOT NULL,
  client_account_id text NOT NULL,
  scheduled_id text NOT NULL,
  campaign_id text NOT NULL,
  lead_id text NOT NULL,
  idempotency_key text NOT NULL,
  provider_message_id text,
  sent_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (enrolment_id, step_id)
);
CREATE INDEX follow_up_sends_lead_idx ON follow_up_sends (client_account_id, lead_id, sent_at);

CREATE TABLE follow_up_exit_events (
  id text PRIMARY KEY,
  client_account_id text NOT NULL,
  enrolment_id text NOT NULL,
  campaign_id text NOT NULL,
  lead_id text NOT NULL,
  reason text NOT NULL,
  last_step_id text,
  at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX follow_up_exit_events_campaign_idx ON follow_up_exit_events (campaign_id, at);
`,
    down: `
DROP TABLE IF EXISTS follow_up_exit_events;
DROP TABLE IF EXISTS follow_up_sends;
DROP TABLE IF EXISTS scheduled_follow_ups;
DROP TABLE IF EXISTS follow_up_enrolments;
DROP TABLE IF EXISTS follow_up_campaign_versions;
DROP TABLE IF EXISTS follow_up_campaigns;
`,
  },
  {
    id: 'followups/0002_lean_queue',
    // Fewer index writes per step. A claim sets only claim_token, attempts and lease_until, which no
    // index reads: it is a heap-only (HOT) update. A claimed step is a pending one with a lease, and
    // the due index finds expired leases too, so the lease index goes. A step's id is its key,
    // `<enrolment id>:<step id>` in byte order ("C"), so the primary key also finds an enrolment's
    // steps (a range) and UNIQUE (enrolment_id, step_id) goes. A lead's recent sends are found
    // through its enrolments, so the ledger keeps only its key. Free space on each page
    // (fillfactor) lets the claim of a step and the end of an enrolment stay HOT.
    up: `
DROP INDEX scheduled_follow_ups_lease_idx;
DROP INDEX follow_up_sends_lead_idx;
UPDATE scheduled_follow_ups SET status = 'pending' WHERE status = 'claimed';
UPDATE follow_up_sends SET scheduled_id = enrolment_id || ':' || step_id;
UPDATE scheduled_follow_ups SET id = enrolment_id || ':' || step_id;
ALTER TABLE scheduled_follow_ups ALTER COLUMN id TYPE text COLLATE "C";
ALTER TABLE scheduled_follow_ups DROP CONSTRAINT scheduled_follow_ups_enrolment_id_step_id_key;
ALTER TABLE scheduled_follow_ups ADD CONSTRAINT scheduled_follow_ups_id_is_key
  CHECK (id = enrolment_id || ':' || step_id AND position(':' IN enrolment_id) = 0);
ALTER TABLE scheduled_follow_ups SET (fillfactor = 60);
ALTER TABLE follow_up_enrolments SET (fillfactor = 50);
`,
    down: `
ALTER TABLE follow_up_enrolments SET (fillfactor = 80);
ALTER TABLE scheduled_follow_ups RESET (fillfactor);
ALTER TABLE scheduled_follow_ups DROP CONSTRAINT scheduled_follow_ups_id_is_key;
ALTER TABLE scheduled_follow_ups ADD CONSTRAINT scheduled_follow_ups_enrolment_id_step_id_key UNIQUE (enrolment_id, step_id);
ALTER TABLE scheduled_follow_ups ALTER COLUMN id TYPE text COLLATE "default";
UPDATE scheduled_follow_ups SET status = 'claimed' WHERE status = 'pending' AND lease_until IS NOT NULL;
CREATE INDEX scheduled_follow_ups_lease_idx ON scheduled_follow_ups (lease_until) WHERE status = 'claimed';
CREATE INDEX follow_up_sends_lead_idx ON follow_up_sends (client_account_id, lead_id, sent_at);
`,
  },
  {
    id: 'followups/0003_parked_statuses',
    // A delivery status can arrive before the batch that sent its message records the provider's
    // id: it waits here until the runner applies it (or an hour passes: statuses of messages that
    // follow-ups did not send are forwarded too, and are dropped).
    up: `
CREATE TABLE follow_up_parked_statuses (
  client_account_id text NOT NULL,
  provider_message_id text NOT NULL,
  status text NOT NULL CHECK (status IN ('sent', 'delivered', 'read', 'failed')),
  at timestamptz NOT NULL,
  parked_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (client_account_id, provider_message_id, status)
);
`,
    down: `
DROP TABLE IF EXISTS follow_up_parked_statuses;
`,
  },
  {
    id: 'followups/0004_unknown_outcome',
    // A step whose send may or may not have reached the lead ends `unknown`: terminal, never
    // re-sent, counted apart from failures. Going down, such steps become the `failed` steps they
    // were before (their last_error still says send_outcome_unknown).
    up: `
ALTER TABLE scheduled_follow_ups DROP CONSTRAINT scheduled_follow_ups_status_check;
ALTER TABLE scheduled_follow_ups ADD CONSTRAINT scheduled_follow_ups_status_check
  CHECK (status IN ('pending', 'claimed', 'sent', 'skipped', 'failed', 'cancelled', 'dead', 'unknown'));
`,
    down: `
UPDATE scheduled_follow_ups SET status = 'failed' WHERE status = 'unknown';
UPDATE follow_up_enrolments SET exit_reason = 'send_failed' WHERE exit_reason = 'send_outcome_unknown';
UPDATE follow_up_exit_events SET reason = 'send_failed' WHERE reason = 'send_outcome_unknown';
ALTER TABLE scheduled_follow_ups DROP CONSTRAINT scheduled_follow_ups_status_check;
ALTER TABLE scheduled_follow_ups ADD CONSTRAINT scheduled_follow_ups_status_check
  CHECK (status IN ('pending', 'claimed', 'sent', 'skipped', 'failed', 'cancelled', 'dead'));
`,
  },
  {
    id: 'followups/0005_tenant_keys',
    // Every row goes with its tenant, and an enrolment with its lead: each table references
    // client_accounts, enrolments reference their tenant's lead, and steps, ledger rows and exit events
    // reference their tenant's enrolment (composite keys, as in core: a row never points at another
    // tenant's enrolment). Deleting a tenant, a lead or a campaign cascades. Each key has an index that
    // starts with its columns, so a cascade reads an index, never a whole table; the one new index on
    // the queue is on columns no claim or completion updates, so those updates stay heap-only (HOT).
    // Rows whose tenant, lead or enrolment is already gone (left behind by deletions before these keys
    // existed, or a row whose tenant differs from its enrolment's) are deleted first, or adding the keys
    // would fail; no tenant can reach them. They are not kept with NOT VALID keys instead: migrations
    // run in one transaction, so a separate VALIDATE would hold the same locks and fail on those rows.
    up: `
DELETE FROM follow_up_campaigns x
  WHERE NOT EXISTS (SELECT 1 FROM client_accounts c WHERE c.id = x.client_account_id);
DELETE FROM follow_up_campaign_versions x
  WHERE NOT EXISTS (SELECT 1 FROM client_accounts c WHERE c.id = x.client_account_id);
DELETE FROM follow_up_enrolments x
  WHERE NOT EXISTS (SELECT 1 FROM leads l WHERE l.client_account_id = x.client_account_id AND l.id = x.lead_id);
DELETE FROM scheduled_follow_ups x
  WHERE NOT EXISTS (SELECT 1 FROM follow_up_enrolments e WHERE e.client_account_id = x.client_account_id AND e.id = x.enrolment_id);
DELETE FROM follow_up_sends x
  WHERE NOT EXISTS (SELECT 1 FROM follow_up_enrolments e WHERE e.client_account_id = x.client_account_id AND e.id = x.enrolment_id);
DELETE FROM follow_up_exit_events x
  WHERE NOT EXISTS (SELECT 1 FROM follow_up_enrolments e WHERE e.client_account_id = x.client_account_id AND e.id = x.enrolment_id);
DELETE FROM follow_up_parked_statuses x
  WHERE NOT EXISTS (SELECT 1 FROM client_accounts c WHERE c.id = x.client_account_id);

ALTER TABLE follow_up_enrolments ADD CONSTRAINT follow_up_enrolments_client_id_key UNIQUE (client_account_id, id);
CREATE INDEX follow_up_campaign_versions_tenant_idx ON follow_up_campaign_versions (client_account_id, campaign_id);
CREATE INDEX scheduled_follow_ups_enrolment_idx ON scheduled_follow_ups (client_account_id, enrolment_id);
CREATE INDEX follow_up_sends_enrolment_idx ON follow_up_sends (client_account_id, enrolment_id);
CREATE INDEX follow_up_exit_events_enrolment_idx ON follow_up_exit_events (client_account_id, enrolment_id);
-- What the retention purge reads.
CREATE INDEX follow_up_exit_events_at_idx ON follow_up_exit_events (at);

ALTER TABLE follow_up_campaigns ADD CONSTRAINT follow_up_campaigns_client_account_fkey
  FOREIGN KEY (client_account_id) REFERENCES client_accounts (id) ON DELETE CASCADE;
ALTER TABLE follow_up_campaign_versions ADD CONSTRAINT follow_up_campaign_versions_client_account_fkey
  FOREIGN KEY (client_account_id) REFERENCES client_accounts (id) ON DELETE CASCADE;
ALTER TABLE follow_up_enrolments ADD CONSTRAINT follow_up_enrolments_client_account_fkey
  FOREIGN KEY (client_account_id) REFERENCES client_accounts (id) ON DELETE CASCADE;
ALTER TABLE follow_up_enrolments ADD CONSTRAINT follow_up_enrolments_lead_fkey
  FOREIGN KEY (client_account_id, lead_id) REFERENCES leads (client_account_id, id) ON DELETE CASCADE;
ALTER TABLE scheduled_follow_ups ADD CONSTRAINT scheduled_follow_ups_client_account_fkey
  FOREIGN KEY (client_account_id) REFERENCES client_accounts (id) ON DELETE CASCADE;
-- Replaced by the composite key: its cascade had no index and read the whole queue per enrolment.
ALTER TABLE scheduled_follow_ups DROP CONSTRAINT scheduled_follow_ups_enrolment_id_fkey;
ALTER TABLE scheduled_follow_ups ADD CONSTRAINT scheduled_follow_ups_enrolment_fkey
  FOREIGN KEY (client_account_id, enrolment_id) REFERENCES follow_up_enrolments (client_account_id, id) ON DELETE CASCADE;
ALTER TABLE follow_up_sends ADD CONSTRAINT follow_up_sends_client_account_fkey
  FOREIGN KEY (client_account_id) REFERENCES client_accounts (id) ON DELETE CASCADE;
ALTER TABLE follow_up_sends ADD CONSTRAINT follow_up_sends_enrolment_fkey
  FOREIGN KEY (client_account_id, enrolment_id) REFERENCES follow_up_enrolments (client_account_id, id) ON DELETE CASCADE;
ALTER TABLE follow_up_exit_events ADD CONSTRAINT follow_up_exit_events_client_account_fkey
  FOREIGN KEY (client_account_id) REFERENCES client_accounts (id) ON DELETE CASCADE;
ALTER TABLE follow_up_exit_events ADD CONSTRAINT follow_up_exit_events_enrolment_fkey
  FOREIGN KEY (client_account_id, enrolment_id) REFERENCES follow_up_enrolments (client_account_id, id) ON DELETE CASCADE;
ALTER TABLE follow_up_parked_statuses ADD CONSTRAINT follow_up_parked_statuses_client_account_fkey
  FOREIGN KEY (client_account_id) REFERENCES client_accounts (id) ON DELETE CASCADE;
`,
    down: `
ALTER TABLE follow_up_parked_statuses DROP CONSTRAINT follow_up_parked_statuses_client_account_fkey;
ALTER TABLE follow_up_exit_events DROP CONSTRAINT follow_up_exit_events_enrolment_fkey;
ALTER TABLE follow_up_exit_events DROP CONSTRAINT follow_up_exit_events_client_account_fkey;
ALTER TABLE follow_up_sends DROP CONSTRAINT follow_up_sends_enrolment_fkey;
ALTER TABLE follow_up_sends DROP CONSTRAINT follow_up_sends_client_account_fkey;
ALTER TABLE scheduled_follow_ups DROP CONSTRAINT scheduled_follow_ups_enrolment_fkey;
ALTER TABLE scheduled_follow_ups ADD CONSTRAINT scheduled_follow_ups_enrolment_id_fkey
  FOREIGN KEY (enrolment_id) REFERENCES follow_up_enrolments (id) ON DELETE CASCADE;
ALTER TABLE scheduled_follow_ups DROP CONSTRAINT scheduled_follow_ups_client_account_fkey;
ALTER TABLE follow_up_enrolments DROP CONSTRAINT follow_up_enrolments_lead_fkey;
ALTER TABLE follow_up_enrolments DROP CONSTRAINT follow_up_enrolments_client_account_fkey;
ALTER TABLE follow_up_campaign_versions DROP CONSTRAINT follow_up_campaign_versions_client_account_fkey;
ALTER TABLE follow_up_campaigns DROP CONSTRAINT follow_up_campaigns_client_account_fkey;
DROP INDEX follow_up_exit_events_at_idx;
DROP INDEX follow_up_exit_events_enrolment_idx;
DROP INDEX follow_up_sends_enrolment_idx;
DROP INDEX scheduled_follow_ups_enrolment_idx;
DROP INDEX follow_up_campaign_versions_tenant_idx;
ALTER TABLE follow_up_enrolments DROP CONSTRAINT follow_up_enrolments_client_id_key;
`,
  },
];
