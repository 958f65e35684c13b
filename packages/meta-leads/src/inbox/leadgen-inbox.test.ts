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
