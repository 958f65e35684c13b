import type { Migration } from './migrations.js';

/*
 * Design notes for the core schema:
 * - ids are text (callers may bring their own ids) defaulting to a random
 *   uuid, with the "C" collation so keyset order matches JavaScript's string
 *   order in the memory store.
 * - Every tenant table carries client_account_id, cascades with its tenant,
 *   and references other tenant rows through (client_account_id, id)
 *   composite keys: a row can never point at another tenant's lead or agent.
 * - Indexes lead with client_account_id; the routing lookups (page id,
 *   WhatsApp number, Cloud API phone number id) are the global exceptions.
 * - Constraint names are the keys of `coreConstraints`, which maps each to
 *   the typed error callers see.
 * - Enum CHECK lists are written out rather than read from the zod enums: an
 *   applied migration must never change. A test compares them with the
 *   schemas, so a new enum value fails it until a migration adds the value.
 */

const id = `text COLLATE "C" NOT NULL DEFAULT gen_random_uuid()::text`;
const tenantId = `text COLLATE "C" NOT NULL`;
const ref = `text COLLATE "C"`;
const stamps = `created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()`;
const tenantFk = (table: string) =>
  `CONSTRAINT ${table}_client_account_fkey FOREIGN KEY (client_account_id) REFERENCES client_accounts (id) ON DELETE CASCADE`;
const e164 = (column: string) => `${column} ~ '^\\+[1-9][0-9]{6,14}$'`;
const oneOf = (column: string, values: readonly string[]) =>
  `${column} IN (${values.map((v) => `'${v}'`).join(', ')})`;
const isObject = (column: string) => `jsonb_typeof(${column}) = 'object'`;

const up = `
CREATE TABLE client_accounts (
  id ${id},
  name varchar(255) NOT NULL,
  status text NOT NULL DEFAULT 'active',
  default_country text NOT NULL DEFAULT 'IN',
  time_zone text NOT NULL DEFAULT 'UTC',
  facebook_app_id text,
  facebook_app_secret_encrypted text,
  facebook_app_secret_previous_encrypted text,
  meta_verify_token_encrypted text,
  settings jsonb NOT NULL DEFAULT '{}'::jsonb,
  ${stamps},
  CONSTRAINT client_accounts_pkey PRIMARY KEY (id),
  CONSTRAINT client_accounts_status_check CHECK (${oneOf('status', ['active', 'suspended', 'archived'])}),
  CONSTRAINT client_accounts_default_country_check CHECK (default_country ~ '^[A-Z]{2}$'),
  CONSTRAINT client_accounts_settings_check CHECK (${isObject('settings')})
);
CREATE INDEX client_accounts_created_idx ON client_accounts (created_at, id);

CREATE TABLE facebook_pages (
  id ${id},
  client_account_id ${tenantId},
  page_id text NOT NULL,
  page_name varchar(255),
  access_token_encrypted text,
  webhook_subscribed boolean NOT NULL DEFAULT false,
  status text NOT NULL DEFAULT 'active',
  default_country text,
  ${stamps},
  CONSTRAINT facebook_pages_pkey PRIMARY KEY (id),
  ${tenantFk('facebook_pages')},
  CONSTRAINT facebook_pages_client_page_key UNIQUE (client_account_id, page_id),
  CONSTRAINT facebook_pages_status_check CHECK (${oneOf('status', ['active', 'needs_reauth', 'disabled'])}),
  CONSTRAINT facebook_pages_default_country_check CHECK (default_country ~ '^[A-Z]{2}$')
);
-- Routing: a webhook names only the page.
CREATE INDEX facebook_pages_page_id_idx ON facebook_pages (page_id);

CREATE TABLE waba_configurations (
  id ${id},
  client_account_id ${tenantId},
  waba_number text NOT NULL,
  provider text NOT NULL,
  display_name varchar(255),
  credentials_encrypted text NOT NULL,
  webhook_secret_encrypted text,
  provider_config jsonb NOT NULL DEFAULT '{}'::jsonb,
  business_profile jsonb NOT NULL DEFAULT '{}'::jsonb,
  messages_per_second integer,
  status text NOT NULL DEFAULT 'active',
  ${stamps},
  CONSTRAINT waba_configurations_pkey PRIMARY KEY (id),
  ${tenantFk('waba_configurations')},
  CONSTRAINT waba_configurations_client_id_key UNIQUE (client_account_id, id),
  -- A WhatsApp number belongs to one business, whichever tenant configured it.
  CONSTRAINT waba_configurations_number_key UNIQUE (waba_number),
  CONSTRAINT waba_configurations_number_check CHECK (${e164('waba_number')}),
  CONSTRAINT waba_configurations_provider_check CHECK (${oneOf('provider', ['gupshup', 'cloud_api'])}),
  CONSTRAINT waba_configurations_status_check CHECK (${oneOf('status', ['active', 'disabled'])}),
  CONSTRAINT waba_configurations_messages_per_second_check CHECK (messages_per_second > 0),
  CONSTRAINT waba_configurations_provider_config_check CHECK (${isObject('provider_config')}),
  CONSTRAINT waba_configurations_business_profile_check CHECK (${isObject('business_profile')})
);
-- Routing: Cloud API webhooks name the phone number id only.
CREATE UNIQUE INDEX waba_configurations_phone_number_id_key
  ON waba_configurations ((provider_config->>'phoneNumberId'));

CREATE TABLE bot_profiles (
  id ${id},
  client_account_id ${tenantId},
  profile_name varchar(255) NOT NULL,
  personality_config jsonb NOT NULL DEFAULT '{}'::jsonb,
  conversation_style varchar(100),
  response_tone varchar(100),
  is_default boolean NOT NULL DEFAULT false,
  ${stamps},
  CONSTRAINT bot_profiles_pkey PRIMARY KEY (id),
  ${tenantFk('bot_profiles')},
  CONSTRAINT bot_profiles_client_id_key UNIQUE (client_account_id, id),
  CONSTRAINT bot_profiles_personality_config_check CHECK (${isObject('personality_config')})
);
CREATE UNIQUE INDEX bot_profiles_one_default_key ON bot_profiles (client_account_id) WHERE is_default;

CREATE TABLE agents (
  id ${id},
  client_account_id ${tenantId},
  name varchar(255) NOT NULL,
  email varchar(320),
  phone text,
  calendar_id varchar(255),
  active boolean NOT NULL DEFAULT true,
  ${stamps},
  CONSTRAINT agents_pkey PRIMARY KEY (id),
  ${tenantFk('agents')},
  CONSTRAINT agents_client_id_key UNIQUE (client_account_id, id),
  CONSTRAINT agents_phone_check CHECK (${e164('phone')})
);

CREATE TABLE leads (
  id ${id},
  client_account_id ${tenantId},
  phone text,
  name varchar(255),
  email varchar(320),
  source varchar(100) NOT NULL DEFAULT 'WA Direct',
  additional_sources jsonb NOT NULL DEFAULT '[]'::jsonb,
  status text NOT NULL DEFAULT 'new',
  facebook_page_id text,
  lead_form_id text,
  waba_configuration_id ${ref},
  bot_profile_id ${ref},
  agent_id ${ref},
  answers jsonb NOT NULL DEFAULT '{}'::jsonb,
  attributes jsonb NOT NULL DEFAULT '{}'::jsonb,
  time_zone text,
  opted_out boolean NOT NULL DEFAULT false,
  opted_out_at timestamptz,
  last_inbound_at timestamptz,
  last_outbound_at timestamptz,
  ${stamps},
  CONSTRAINT leads_pkey PRIMARY KEY (id),
  ${tenantFk('leads')},
  CONSTRAINT leads_client_id_key UNIQUE (client_account_id, id),
  -- One lead per phone per tenant: the key upsertByPhone merges on.
  CONSTRAINT leads_client_phone_key UNIQUE (client_account_id, phone),
  CONSTRAINT leads_waba_configuration_fkey FOREIGN KEY (client_account_id, waba_configuration_id)
    REFERENCES waba_configurations (client_account_id, id) ON DELETE SET NULL (waba_configuration_id),
  CONSTRAINT leads_bot_profile_fkey FOREIGN KEY (client_account_id, bot_profile_id)
    REFERENCES bot_profiles (client_account_id, id) ON DELETE SET NULL (bot_profile_id),
  CONSTRAINT leads_agent_fkey FOREIGN KEY (client_account_id, agent_id)
    REFERENCES agents (client_account_id, id) ON DELETE SET NULL (agent_id),
  CONSTRAINT leads_phone_check CHECK (${e164('phone')}),
  CONSTRAINT leads_status_check CHECK (${oneOf('status', [
    'new',
    'contacted',
    'qualified',
    'appointment_booked',
    'unqualified',
    'closed_won',
    'closed_lost',
  ])}),
  CONSTRAINT leads_additional_sources_check CHECK (jsonb_typeof(additional_sources) = 'array'),
  CONSTRAINT leads_answers_check CHECK (${isObject('answers')}),
  CONSTRAINT leads_attributes_check CHECK (${isObject('attributes')})
);
CREATE INDEX leads_client_created_idx ON leads (client_account_id, created_at DESC, id DESC);
CREATE INDEX leads_client_status_created_idx ON leads (client_account_id, status, created_at DESC, id DESC);
CREATE INDEX leads_client_agent_idx ON leads (client_account_id, agent_id) WHERE agent_id IS NOT NULL;

CREATE TABLE messages (
  id ${id},
  client_account_id ${tenantId},
  lead_id text COLLATE "C" NOT NULL,
  direction text NOT NULL,
  kind varchar(50) NOT NULL,
  body text,
  payload jsonb NOT NULL DEFAULT '{}'::jsonb,
  status text NOT NULL,
  provider varchar(50),
  provider_message_id varchar(255),
  provider_alt_id varchar(255),
  template_name varchar(255),
  error_code varchar(50),
  error_reason varchar(1000),
  status_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT messages_pkey PRIMARY KEY (id),
  ${tenantFk('messages')},
  CONSTRAINT messages_lead_fkey FOREIGN KEY (client_account_id, lead_id)
    REFERENCES leads (client_account_id, id) ON DELETE CASCADE,
  CONSTRAINT messages_direction_check CHECK (${oneOf('direction', ['inbound', 'outbound'])}),
  CONSTRAINT messages_status_check CHECK (${oneOf('status', [
    'received',
    'queued',
    'sent',
    'delivered',
    'read',
    'failed',
    'held',
  ])}),
  CONSTRAINT messages_payload_check CHECK (${isObject('payload')})
);
CREATE INDEX messages_client_lead_created_idx ON messages (client_account_id, lead_id, created_at, id);
-- Delivery statuses find their message by either provider id.
CREATE UNIQUE INDEX messages_client_provider_message_id_key
  ON messages (client_account_id, provider_message_id) WHERE provider_message_id IS NOT NULL;
CREATE INDEX messages_client_provider_alt_id_idx
  ON messages (client_account_id, provider_alt_id) WHERE provider_alt_id IS NOT NULL;

CREATE TABLE appointments (
  id ${id},
  client_account_id ${tenantId},
  lead_id text COLLATE "C" NOT NULL,
  agent_id ${ref},
  starts_at timestamptz NOT NULL,
  ends_at timestamptz NOT NULL,
  time_zone text NOT NULL DEFAULT 'UTC',
  status text NOT NULL DEFAULT 'scheduled',
  location varchar(500),
  meeting_url varchar(2000),
  calendar_event_id varchar(255),
  notes varchar(5000),
  ${stamps},
  CONSTRAINT appointments_pkey PRIMARY KEY (id),
  ${tenantFk('appointments')},
  CONSTRAINT appointments_lead_fkey FOREIGN KEY (client_account_id, lead_id)
    REFERENCES leads (client_account_id, id) ON DELETE CASCADE,
  CONSTRAINT appointments_agent_fkey FOREIGN KEY (client_account_id, agent_id)
    REFERENCES agents (client_account_id, id) ON DELETE SET NULL (agent_id),
  CONSTRAINT appointments_status_check CHECK (${oneOf('status', ['scheduled', 'cancelled', 'completed', 'no_show'])}),
  CONSTRAINT appointments_time_check CHECK (ends_at > starts_at)
);
CREATE INDEX appointments_client_starts_idx ON appointments (client_account_id, starts_at, id);
CREATE INDEX appointments_client_lead_idx ON appointments (client_account_id, lead_id, starts_at);
CREATE INDEX appointments_client_agent_idx ON appointments (client_account_id, agent_id, starts_at)
  WHERE agent_id IS NOT NULL;

CREATE TABLE template_usage_log (
  id ${id},
  client_account_id ${tenantId},
  template_name varchar(255) NOT NULL,
  language varchar(20),
  category text,
  phone_number text NOT NULL,
  lead_id ${ref},
  agent_id ${ref},
  status text NOT NULL,
  provider_message_id varchar(255),
  error_code varchar(100),
  pricing_category varchar(50),
  billable boolean,
  created_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT template_usage_log_pkey PRIMARY KEY (id),
  ${tenantFk('template_usage_log')},
  -- The log outlives the lead and agent it mentions.
  CONSTRAINT template_usage_log_lead_fkey FOREIGN KEY (client_account_id, lead_id)
    REFERENCES leads (client_account_id, id) ON DELETE SET NULL (lead_id),
  CONSTRAINT template_usage_log_agent_fkey FOREIGN KEY (client_account_id, agent_id)
    REFERENCES agents (client_account_id, id) ON DELETE SET NULL (agent_id),
  CONSTRAINT template_usage_log_category_check CHECK (${oneOf('category', ['MARKETING', 'UTILITY', 'AUTHENTICATION'])}),
  CONSTRAINT template_usage_log_status_check CHECK (${oneOf('status', ['sent', 'failed', 'refused'])}),
  CONSTRAINT template_usage_log_phone_check CHECK (${e164('phone_number')})
);
CREATE INDEX template_usage_log_client_created_idx ON template_usage_log (client_account_id, created_at DESC, id DESC);
CREATE INDEX template_usage_log_client_template_idx
  ON template_usage_log (client_account_id, template_name, created_at DESC);
CREATE INDEX template_usage_log_client_lead_idx ON template_usage_log (client_account_id, lead_id)
  WHERE lead_id IS NOT NULL;
`;

const down = `
DROP TABLE IF EXISTS template_usage_log;
DROP TABLE IF EXISTS appointments;
DROP TABLE IF EXISTS messages;
DROP TABLE IF EXISTS leads;
DROP TABLE IF EXISTS agents;
DROP TABLE IF EXISTS bot_profiles;
DROP TABLE IF EXISTS waba_configurations;
DROP TABLE IF EXISTS facebook_pages;
DROP TABLE IF EXISTS client_accounts;
`;

// The durable webhook inbox (see inbox/inbox.ts): one table for every consumer, told apart by topic.
const inboxUp = `
CREATE TABLE inbox_events (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  topic text NOT NULL,
  client_account_id ${tenantId},
  dedupe_key text NOT NULL,
  order_key text NOT NULL,
  payload jsonb NOT NULL,
  status text NOT NULL CHECK (${oneOf('status', ['pending', 'processing', 'done', 'dead', 'unparsed'])}),
  attempts integer NOT NULL DEFAULT 0,
  next_attempt_at timestamptz NOT NULL,
  locked_until timestamptz,
  last_error text,
  received_at timestamptz NOT NULL,
  finished_at timestamptz,
  CONSTRAINT inbox_events_dedupe_key UNIQUE (client_account_id, topic, dedupe_key),
  ${tenantFk('inbox_events')}
);
-- What a claim scans (due rows in id order) and what its head-of-key check probes.
CREATE INDEX inbox_events_due_idx ON inbox_events (topic, id) WHERE status IN ('pending', 'processing');
CREATE INDEX inbox_events_order_key_idx ON inbox_events (client_account_id, topic, order_key, id)
  WHERE status IN ('pending', 'processing');
CREATE INDEX inbox_events_finished_idx ON inbox_events (finished_at) WHERE finished_at IS NOT NULL;
`;

/** The tables `coreMigrations` creates, parents first. */
export const CORE_TABLES = [
  'client_accounts',
  'facebook_pages',
  'waba_configurations',
  'bot_profiles',
  'agents',
  'leads',
  'messages',
  'appointments',
  'template_usage_log',
  'inbox_events',
] as const;

/**
 * The core schema: tenants (client_accounts), Facebook pages, WABA
 * configurations, bot profiles, agents, leads, messages (conversation
 * history), appointments and the template usage log. Runs on Postgres 15+
 * and PGlite; apply it with `migrate`, before any other package's migrations.
 *
 * @example await migrate(db, [...coreMigrations, ...metaLeadsMigrations]);
 */
export const coreMigrations: Migration[] = [
  { id: 'core/0001_init', up, down },
  { id: 'core/0002_inbox', up: inboxUp, down: 'DROP TABLE IF EXISTS inbox_events;' },
];
