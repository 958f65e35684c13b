import { coreMigrations, migrate, type SqlDatabase, type SqlExecutor } from '@leadrelay/core';
import { testDatabases } from '@leadrelay/core/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { wabaMigrations } from './waba-migrations.js';

const TABLES = ['waba_templates', 'waba_send_ledger'];
const BEFORE = wabaMigrations.filter((m) => m.id !== 'waba/0002_tenant_keys');

/** One row in each waba table for the tenant `id`. */
async function insertRows(db: SqlExecutor, id: string) {
  await db.query(
    `INSERT INTO waba_templates (client_account_id, name, language, category, status, body_text)
     VALUES ($1, 'welcome_lead', 'en', 'UTILITY', 'APPROVED', 'Hi')`,
    [id],
  );
  await db.query(
    `INSERT INTO waba_send_ledger (client_account_id, idempotency_key, request_hash, status, claimed_at, lease_expires_at)
     VALUES ($1, 'k1', 'h', 'completed', now(), now())`,
    [id],
  );
}

/** Rows per table for the tenant `id`. */
async function rowsOf(db: SqlExecutor, id: string): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const table of TABLES) {
    const { rows } = await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM ${table} WHERE client_account_id = $1`,
      [id],
    );
    counts[table] = rows[0]!.n;
  }
  return counts;
}

async function tenantKeys(db: SqlExecutor): Promise<string[]> {
  const { rows } = await db.query<{ key: string }>(
    `SELECT conrelid::regclass::text || ' ' || pg_get_constraintdef(oid) AS key FROM pg_constraint
      WHERE contype = 'f' AND conrelid::regclass::text = ANY($1) ORDER BY 1`,
    [TABLES],
  );
  return rows.map((r) => r.key);
}

const none = Object.fromEntries(TABLES.map((t) => [t, 0]));
const one = Object.fromEntries(TABLES.map((t) => [t, 1]));

for (const factory of testDatabases()) {
  describe(`wabaMigrations on ${factory.name}`, () => {
    let db: SqlDatabase | undefined;
    afterEach(async () => {
      await db?.close();
      db = undefined;
    });

    it('waba/0002 drops the rows of tenants already gone, then every row goes with its tenant; down and up again', async () => {
      db = await factory.create();
      await migrate(db, [...coreMigrations, ...BEFORE]);
      await db.query(`INSERT INTO client_accounts (id, name) VALUES ('kept', 'Kept'), ('other', 'Other')`);
      await insertRows(db, 'kept');
      await insertRows(db, 'other');
      // Left behind by a tenant deleted before the keys existed.
      await insertRows(db, 'gone');

      expect((await migrate(db, [...coreMigrations, ...wabaMigrations])).applied).toEqual([
        'waba/0002_tenant_keys',
      ]);
      expect(await rowsOf(db, 'gone')).toEqual(none);
      expect(await rowsOf(db, 'kept')).toEqual(one);
      const keys = await tenantKeys(db);
      expect(keys).toEqual(
        TABLES.map(
          (t) => `${t} FOREIGN KEY (client_account_id) REFERENCES client_accounts(id) ON DELETE CASCADE`,
        ).sort(),
      );
      await expect(insertRows(db, 'gone')).rejects.toMatchObject({ code: '23503' });

      expect((await migrate(db, wabaMigrations, { direction: 'down', steps: 1 })).reverted).toEqual([
        'waba/0002_tenant_keys',
      ]);
      expect(await tenantKeys(db)).toEqual([]);
      await insertRows(db, 'gone');
      expect((await migrate(db, [...coreMigrations, ...wabaMigrations])).applied).toEqual([
        'waba/0002_tenant_keys',
      ]);
      expect(await tenantKeys(db)).toEqual(keys);
      expect(await rowsOf(db, 'gone')).toEqual(none);

      await db.query(`DELETE FROM client_accounts WHERE id = 'kept'`);
      expect(await rowsOf(db, 'kept')).toEqual(none);
      expect(await rowsOf(db, 'other')).toEqual(one);
    }, 120_000);
  });
}
