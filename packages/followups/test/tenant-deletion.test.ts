import {
  type CoreStore,
  coreMigrations,
  createManualClock,
  createPostgresStore,
  type Lead,
  migrate,
  type SqlDatabase,
  type SqlExecutor,
} from '@leadrelay/core';
import { testDatabases } from '@leadrelay/core/testing';
import { createPostgresLeadgenInbox, metaLeadsMigrations } from '@leadrelay/meta-leads';
import { createPostgresWabaStore, wabaMigrations } from '@leadrelay/waba';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFollowUps } from '../src/follow-ups.js';
import { followupsMigrations } from '../src/store/migrations.js';
import { createPostgresFollowUpStore } from '../src/store/postgres-store.js';
import { campaignInput } from './fixtures.js';
import { recordingSender } from './recording-sender.js';

/** Every package's migrations, in the order an application applies them. */
const ALL = [...coreMigrations, ...metaLeadsMigrations, ...wabaMigrations, ...followupsMigrations];
const T0 = new Date('2026-11-25T06:00:00.000Z');

/**
 * Core's foreign keys whose columns lead no index: deleting their parent row (a bot profile, a WABA
 * configuration or an agent, all rare) reads that tenant's leads or usage log through an index on
 * client_account_id, never the whole table. Tenant, lead and enrolment deletions are all indexed.
 */
const UNINDEXED = [
  'leads_bot_profile_fkey',
  'leads_waba_configuration_fkey',
  'template_usage_log_agent_fkey',
];

/** The tables of the current schema with a client_account_id column. */
async function tenantTables(db: SqlExecutor): Promise<string[]> {
  const { rows } = await db.query<{ table_name: string }>(
    `SELECT table_name FROM information_schema.columns
      WHERE table_schema = current_schema() AND column_name = 'client_account_id' ORDER BY 1`,
  );
  return rows.map((r) => r.table_name);
}

/** The tables of the current schema with both client_account_id and lead_id. */
async function leadTables(db: SqlExecutor): Promise<string[]> {
  const { rows } = await db.query<{ table_name: string }>(
    `SELECT table_name FROM information_schema.columns
      WHERE table_schema = current_schema() AND column_name IN ('client_account_id', 'lead_id')
      GROUP BY table_name HAVING count(*) = 2 ORDER BY 1`,
  );
  return rows.map((r) => r.table_name);
}

async function count(db: SqlExecutor, table: string, where: string, params: unknown[]): Promise<number> {
  const { rows } = await db.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM ${table} WHERE ${where}`,
    params,
  );
  return rows[0]!.n;
}

/** Rows per tenant table for the tenant. */
async function rowsOfTenant(db: SqlExecutor, tenant: string): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const table of await tenantTables(db))
    counts[table] = await count(db, table, 'client_account_id = $1', [tenant]);
  return counts;
}

/** The schema's tables, columns, indexes and constraints, in a stable order. */
async function catalogue(db: SqlExecutor) {
  const { rows: columns } = await db.query(
    `SELECT table_name, column_name, data_type, collation_name, is_nullable, column_default
       FROM information_schema.columns WHERE table_schema = current_schema() ORDER BY table_name, column_name`,
  );
  const { rows: indexes } = await db.query(
    `SELECT indexname, regexp_replace(indexdef, ' ON [^ ]+\\.', ' ON ') AS def
       FROM pg_indexes WHERE schemaname = current_schema() ORDER BY indexname`,
  );
  const { rows: constraints } = await db.query(
    `SELECT conrelid::regclass::text AS table_name, conname, pg_get_constraintdef(oid) AS def FROM pg_constraint
      WHERE connamespace = (SELECT oid FROM pg_namespace WHERE nspname = current_schema()) ORDER BY conname`,
  );
  return { columns, indexes, constraints };
}

for (const factory of testDatabases()) {
  describe(`deleting a tenant or a lead, across every package (${factory.name})`, () => {
    let db: SqlDatabase;
    let core: CoreStore;
    beforeAll(async () => {
      db = await factory.create();
      await migrate(db, ALL);
      core = createPostgresStore(db);
    }, 120_000);
    afterAll(async () => {
      await db?.close();
    });

    /**
     * A tenant with a row in every table of every package, written through the packages' own stores:
     * two leads, each enrolled in a campaign; the first one's welcome step sent (a ledger row, the
     * next step scheduled), the second one exited (an exit event).
     */
    async function populate(name: string) {
      const clock = createManualClock(T0);
      const tenant = await core.tenants.create({ name, timeZone: 'Asia/Kolkata' });
      const t = tenant.id;
      const unique = Math.floor(Math.random() * 1e8);
      const phone = (n: number) => `+9198${String(unique + n).padStart(8, '0')}`;
      const waba = await core.wabaConfigurations.create({
        clientAccountId: t,
        wabaNumber: phone(0),
        provider: 'gupshup',
        credentialsEncrypted: 'lr1.x',
      });
      await core.pages.upsert({ clientAccountId: t, pageId: `10${unique}` });
      const bot = await core.botProfiles.create({ clientAccountId: t, profileName: 'Bot' });
      const agent = await core.agents.create({ clientAccountId: t, name: 'Agent' });
      const leads: Lead[] = [];
      for (const n of [1, 2]) {
        const lead = await core.leads.create({
          clientAccountId: t,
          phone: phone(n),
          name: `Lead ${n}`,
          wabaConfigurationId: waba.id,
          botProfileId: bot.id,
          agentId: agent.id,
        });
        leads.push(lead);
        await core.messages.create({
          clientAccountId: t,
          leadId: lead.id,
          direction: 'inbound',
          kind: 'text',
          status: 'received',
        });
        await core.appointments.create({
          clientAccountId: t,
          leadId: lead.id,
          agentId: agent.id,
          startsAt: new Date('2030-01-01T10:00:00Z'),
          endsAt: new Date('2030-01-01T11:00:00Z'),
        });
        await core.templateUsage.record({
          clientAccountId: t,
          templateName: 'welcome_lead',
          phoneNumber: lead.phone!,
          leadId: lead.id,
          status: 'sent',
        });
      }

      const wabaStore = createPostgresWabaStore(db);
      await wabaStore.templates.upsert({
        clientAccountId: t,
        name: 'welcome_lead',
        language: 'en',
        category: 'UTILITY',
        bodyText: 'Hi {{1}}',
      });
      await wabaStore.sendLedger.claim({
        clientAccountId: t,
        idempotencyKey: 'k1',
        requestHash: 'h',
        now: T0,
        leaseMs: 60_000,
      });
      // The sending number's rate-limit bucket.
      await wabaStore.rateLimits!.take({
        clientAccountId: t,
        number: waba.wabaNumber,
        want: 1,
        messagesPerSecond: 80,
        burst: 80,
        windowLimit: 80,
        windowMs: 1000,
      });
      // An inbound webhook event, in core's durable inbox.
      await wabaStore.inbox.record(
        [
          {
            topic: 'waba',
            clientAccountId: t,
            dedupeKey: 'gupshup:ABEG1',
            orderKey: leads[0]!.id,
            payload: {},
          },
        ],
        T0,
      );

      const inbox = createPostgresLeadgenInbox(db);
      await inbox.record(
        leads.map((_, i) => ({
          clientAccountId: t,
          leadgenId: `9${unique}${i}`,
          pageId: `10${unique}`,
          formId: null,
          adId: null,
          adgroupId: null,
          payload: {},
        })),
        T0,
      );
      const leases = await inbox.claim({ now: T0, leaseMs: 60_000, limit: 10, clientAccountId: t });
      for (const [i, lease] of leases.entries()) {
        await inbox.complete(lease, { leadId: leads[i]!.id, now: T0 });
      }

      const store = createPostgresFollowUpStore(db, { clock });
      const followUps = createFollowUps({ store, core, sender: recordingSender(), clock });
      await followUps.createCampaign(campaignInput({ clientAccountId: t }));
      for (const lead of leads) {
        await followUps.handleLeadEvent({ type: 'lead_created', tenant: t, leadId: lead.id });
      }
      await followUps.handleExitEvent({ type: 'replied', tenant: t, leadId: leads[1]!.id });
      await followUps.createRunner({ retention: false }).tick();
      // A delivery status of a message follow-ups did not send waits in the parked table.
      await followUps.recordDeliveryStatus({
        tenant: t,
        providerMessageId: 'wamid.elsewhere',
        status: 'delivered',
        at: T0,
      });
      return { tenant, leads };
    }

    it('deleting a tenant leaves no row of it in any table and every row of another tenant', async () => {
      const a = await populate('Tenant A');
      const b = await populate('Tenant B');
      const tables = await tenantTables(db);
      expect(tables).toEqual(
        expect.arrayContaining(['leads', 'meta_leadgen_events', 'waba_send_ledger', 'scheduled_follow_ups']),
      );
      const before = await rowsOfTenant(db, a.tenant.id);
      // Every table has rows of the tenant, or the test would prove nothing about it: populate it above.
      for (const table of tables) expect(before[table], table).toBeGreaterThan(0);
      const ofB = await rowsOfTenant(db, b.tenant.id);

      expect(await core.tenants.delete(a.tenant.id)).toBe(true);
      expect(await rowsOfTenant(db, a.tenant.id)).toEqual(Object.fromEntries(tables.map((t) => [t, 0])));
      expect(await rowsOfTenant(db, b.tenant.id)).toEqual(ofB);
    });

    it('deleting a lead deletes its messages, appointments and follow-ups, and unsets it in the logs', async () => {
      const { tenant, leads } = await populate('Tenant C');
      const [gone, kept] = [leads[0]!, leads[1]!];
      const tables = await leadTables(db);
      expect(tables).toEqual([
        'appointments',
        'follow_up_enrolments',
        'follow_up_exit_events',
        'follow_up_sends',
        'messages',
        'meta_leadgen_events',
        'scheduled_follow_ups',
        'template_usage_log',
      ]);
      const rowsOf = async (lead: Lead) => {
        const counts: Record<string, number> = {};
        for (const table of tables) {
          counts[table] = await count(db, table, 'client_account_id = $1 AND lead_id = $2', [
            tenant.id,
            lead.id,
          ]);
        }
        return counts;
      };
      const ofKept = await rowsOf(kept);
      const before = await rowsOfTenant(db, tenant.id);
      expect((await rowsOf(gone)).follow_up_sends).toBe(1);

      expect(await core.leads.delete(tenant.id, gone.id)).toBe(true);
      expect(await rowsOf(gone)).toEqual(Object.fromEntries(tables.map((t) => [t, 0])));
      expect(await rowsOf(kept)).toEqual(ofKept);
      // The template usage log and the leadgen events keep their rows, with the lead unset.
      const after = await rowsOfTenant(db, tenant.id);
      expect(after.template_usage_log).toBe(before.template_usage_log);
      expect(after.meta_leadgen_events).toBe(before.meta_leadgen_events);
      expect(
        await count(db, 'template_usage_log', 'client_account_id = $1 AND lead_id IS NULL', [tenant.id]),
      ).toBe(1);
      expect(
        await count(db, 'meta_leadgen_events', 'client_account_id = $1 AND lead_id IS NULL', [tenant.id]),
      ).toBe(1);
      expect(after.messages).toBe(before.messages! - 1);
      expect(after.leads).toBe(before.leads! - 1);
    });

    it('every tenant table references client_accounts, and every foreign key has an index for its cascade', async () => {
      const { rows: keys } = await db.query<{
        table_name: string;
        conname: string;
        def: string;
        cols: string;
      }>(
        `SELECT c.conrelid::regclass::text AS table_name, c.conname, pg_get_constraintdef(c.oid) AS def,
                c.conkey::text AS cols
           FROM pg_constraint c
          WHERE c.contype = 'f' AND c.connamespace = (SELECT oid FROM pg_namespace WHERE nspname = current_schema())`,
      );
      for (const table of (await tenantTables(db)).filter((t) => t !== 'client_accounts')) {
        expect(
          keys.filter((k) => k.table_name === table).map((k) => k.def),
          table,
        ).toContain('FOREIGN KEY (client_account_id) REFERENCES client_accounts(id) ON DELETE CASCADE');
      }
      // An index whose first columns are the key's (in any order) lets the cascade read only the rows it changes.
      const { rows: unindexed } = await db.query<{ conname: string }>(
        `SELECT c.conname FROM pg_constraint c
          WHERE c.contype = 'f' AND c.connamespace = (SELECT oid FROM pg_namespace WHERE nspname = current_schema())
            AND NOT EXISTS (
              SELECT 1 FROM pg_index i
               WHERE i.indrelid = c.conrelid
                 AND (SELECT array_agg(k ORDER BY k) FROM unnest((i.indkey::int2[])[0:cardinality(c.conkey) - 1]) k)
                   = (SELECT array_agg(k ORDER BY k) FROM unnest(c.conkey) k))
          ORDER BY 1`,
      );
      expect(unindexed.map((r) => r.conname)).toEqual(UNINDEXED);
    });

    it('every package migrates down and up again to the same catalogue', async () => {
      const first = await catalogue(db);
      const down = await migrate(db, ALL, { direction: 'down' });
      expect(down.reverted).toEqual(ALL.map((m) => m.id).reverse());
      expect(await tenantTables(db)).toEqual([]);
      expect((await migrate(db, ALL)).applied).toEqual(ALL.map((m) => m.id));
      expect(await catalogue(db)).toEqual(first);
    }, 120_000);
  });
}
