import { coreMigrations, migrate, type SqlDatabase } from '@leadrelay/core';
import { testDatabases } from '@leadrelay/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeLeadgenInboxContract, event } from '../../test/leadgen-inbox-contract.js';
import { createMemoryLeadgenInbox } from './memory-leadgen-inbox.js';
import { metaLeadsMigrations } from './meta-leads-migrations.js';
import { createPostgresLeadgenInbox } from './postgres-leadgen-inbox.js';

/** The contract's tenants: events reference client_accounts, so they must exist. */
async function createTenants(db: SqlDatabase, ids: readonly string[]): Promise<void> {
  await db.query(
    `INSERT INTO client_accounts (id, name) SELECT id, id FROM unnest($1::text[]) AS t(id)
     ON CONFLICT (id) DO NOTHING`,
    [ids],
  );
}

/** The contract's leads, in each of its tenants: an event's lead_id references leads. */
async function createLeads(db: SqlDatabase, tenants: readonly string[]): Promise<void> {
  await db.query(
    `INSERT INTO leads (client_account_id, id)
     SELECT t, l FROM unnest($1::text[]) AS t, unnest($2::text[]) AS l
     ON CONFLICT DO NOTHING`,
    [tenants, ['lead-0', 'lead-1', 'lead-2', 'lead-3', 'lead-x']],
  );
}

describeLeadgenInboxContract('memory', async () => ({
  fresh: async () => createMemoryLeadgenInbox(),
  close: async () => {},
}));

for (const factory of testDatabases()) {
  describeLeadgenInboxContract(
    factory.name,
    async () => {
      const db = await factory.create();
      await migrate(db, [...coreMigrations, ...metaLeadsMigrations]);
      await createTenants(db, ['tenant-a', 'tenant-b']);
      await createLeads(db, ['tenant-a', 'tenant-b']);
      return {
        fresh: async () => {
          await db.query('TRUNCATE meta_leadgen_events');
          return createPostgresLeadgenInbox(db);
        },
        close: () => db.close(),
      };
    },
    { concurrent: factory.name === 'postgres' },
  );

  describe(`meta_leadgen_events and client_accounts (${factory.name})`, () => {
    let db: SqlDatabase;
    beforeAll(async () => {
      db = await factory.create();
      await migrate(db, [...coreMigrations, ...metaLeadsMigrations]);
    });
    afterAll(async () => {
      await db?.close();
    });

    it('deletes a tenant’s events with the tenant and refuses events for an unknown tenant', async () => {
      await createTenants(db, ['tenant-gone', 'tenant-kept']);
      const inbox = createPostgresLeadgenInbox(db);
      const now = new Date('2026-11-25T09:00:00.000Z');
      await inbox.record(
        [
          event('1', { clientAccountId: 'tenant-gone' }),
          event('2', { clientAccountId: 'tenant-gone' }),
          event('1', { clientAccountId: 'tenant-kept' }),
        ],
        now,
      );
      await db.query(`DELETE FROM client_accounts WHERE id = 'tenant-gone'`);
      expect(await inbox.list('tenant-gone')).toEqual([]);
      expect((await inbox.list('tenant-kept')).map((e) => e.leadgenId)).toEqual(['1']);

      await expect(inbox.record([event('3', { clientAccountId: 'tenant-gone' })], now)).rejects.toThrow();
      expect(await inbox.list('tenant-gone')).toEqual([]);
    });

    it('meta-leads/0002 unsets lead ids whose lead is gone; a deleted lead is unset, its event kept; down and up', async () => {
      const fresh = await factory.create();
      try {
        await migrate(fresh, [...coreMigrations, ...metaLeadsMigrations.slice(0, 1)]);
        await createTenants(fresh, ['tenant-a']);
        await createLeads(fresh, ['tenant-a']);
        const inbox = createPostgresLeadgenInbox(fresh);
        const now = new Date('2026-11-25T09:00:00.000Z');
        await inbox.record([event('1'), event('2'), event('3')], now);
        const leadOf = async (leadgenId: string) =>
          (await inbox.get({ clientAccountId: 'tenant-a', leadgenId }))?.leadId;
        const attach = (leadgenId: string, leadId: string) =>
          fresh.query(`UPDATE meta_leadgen_events SET lead_id = $2, status = 'done' WHERE leadgen_id = $1`, [
            leadgenId,
            leadId,
          ]);
        await attach('1', 'lead-1');
        await attach('2', 'lead-deleted-before');
        await attach('3', 'lead-2');

        expect((await migrate(fresh, [...coreMigrations, ...metaLeadsMigrations])).applied).toEqual([
          'meta-leads/0002_tenant_keys',
        ]);
        expect(await leadOf('2')).toBeNull();
        expect(await leadOf('1')).toBe('lead-1');
        await expect(attach('3', 'lead-unknown')).rejects.toMatchObject({ code: '23503' });

        await fresh.query(`DELETE FROM leads WHERE client_account_id = 'tenant-a' AND id = 'lead-1'`);
        expect(await inbox.get({ clientAccountId: 'tenant-a', leadgenId: '1' })).toMatchObject({
          status: 'done',
          leadId: null,
        });
        expect(await leadOf('3')).toBe('lead-2');

        expect((await migrate(fresh, metaLeadsMigrations, { direction: 'down', steps: 1 })).reverted).toEqual(
          ['meta-leads/0002_tenant_keys'],
        );
        await attach('3', 'lead-unknown');
        await migrate(fresh, [...coreMigrations, ...metaLeadsMigrations]);
        expect(await leadOf('3')).toBeNull();
        const { rows } = await fresh.query<{ indexname: string }>(
          `SELECT indexname FROM pg_indexes WHERE tablename = 'meta_leadgen_events' AND indexname = 'meta_leadgen_events_lead_idx'
             AND schemaname = current_schema()`,
        );
        expect(rows).toHaveLength(1);
      } finally {
        await fresh.close();
      }
    }, 120_000);

    it('round-trips down and up: the table goes and comes back', async () => {
      await migrate(db, metaLeadsMigrations, { direction: 'down' });
      const gone = await db.query<{ t: string | null }>(`SELECT to_regclass('meta_leadgen_events') AS t`);
      expect(gone.rows[0]!.t).toBeNull();
      await migrate(db, metaLeadsMigrations);
      const back = await db.query<{ column_name: string }>(
        `SELECT column_name FROM information_schema.columns
          WHERE table_name = 'meta_leadgen_events' AND table_schema = current_schema() AND column_name = 'lead_created'`,
      );
      expect(back.rows).toHaveLength(1);
    });
  });
}
