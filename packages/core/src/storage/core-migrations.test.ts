import { afterEach, describe, expect, it } from 'vitest';
import {
  appointmentStatusSchema,
  facebookPageStatusSchema,
  leadStatusSchema,
  messageDirectionSchema,
  messageStatusSchema,
  templateCategorySchema,
  templateUsageStatusSchema,
  tenantStatusSchema,
  wabaConfigurationSchema,
  wabaProviderSchema,
} from '../schemas/domain.js';
import { createIsolatedPostgres, postgresTestDatabase, testDatabases } from '../testing/databases.js';
import { coreConstraints } from './core-constraints.js';
import { CORE_TABLES, coreMigrations } from './core-migrations.js';
import { migrate } from './migrations.js';
import { createPostgresDatabase, quoteIdent, type SqlDatabase, type SqlExecutor } from './sql.js';

/** The catalogue of the core tables in the current schema, in a stable order. */
async function snapshot(db: SqlExecutor) {
  const tables = [...CORE_TABLES];
  const columns = await db.query(
    `SELECT table_name, column_name, ordinal_position, data_type, udt_name, character_maximum_length,
            column_default, is_nullable, collation_name
       FROM information_schema.columns
      WHERE table_schema = current_schema() AND table_name = ANY($1)
      ORDER BY table_name, ordinal_position`,
    [tables],
  );
  const indexes = await db.query(
    `SELECT tablename, indexname, indexdef
       FROM pg_indexes
      WHERE schemaname = current_schema() AND tablename = ANY($1)
      ORDER BY tablename, indexname`,
    [tables],
  );
  const constraints = await db.query(
    `SELECT t.relname AS table_name, c.conname, c.contype, pg_get_constraintdef(c.oid) AS definition
       FROM pg_constraint c
       JOIN pg_class t ON t.oid = c.conrelid
      WHERE c.connamespace = (SELECT oid FROM pg_namespace WHERE nspname = current_schema())
        AND t.relname = ANY($1)
      ORDER BY c.conname`,
    [tables],
  );
  return { columns: columns.rows, indexes: indexes.rows, constraints: constraints.rows };
}

const ids = coreMigrations.map((m) => m.id);

async function coreTablesLeft(db: SqlExecutor): Promise<string[]> {
  const { rows } = await db.query<{ table_name: string }>(
    `SELECT table_name FROM information_schema.tables
      WHERE table_schema = current_schema() AND table_name = ANY($1)`,
    [[...CORE_TABLES]],
  );
  return rows.map((r) => r.table_name);
}

for (const factory of testDatabases()) {
  describe(`coreMigrations on ${factory.name}`, () => {
    let db: SqlDatabase | undefined;
    afterEach(async () => {
      await db?.close();
      db = undefined;
    });

    it('migrates up, down and up again to an identical catalogue', async () => {
      db = await factory.create();
      expect(await migrate(db, coreMigrations)).toEqual({ applied: ids, reverted: [] });
      const first = await snapshot(db);
      expect(first.columns.length).toBeGreaterThan(100);
      expect(first.indexes.length).toBeGreaterThan(20);

      expect(await migrate(db, coreMigrations, { direction: 'down' })).toEqual({
        applied: [],
        reverted: [...ids].reverse(),
      });
      expect(await coreTablesLeft(db)).toEqual([]);
      const empty = await snapshot(db);
      expect(empty).toEqual({ columns: [], indexes: [], constraints: [] });

      await migrate(db, coreMigrations);
      expect(await snapshot(db)).toEqual(first);
    });

    it('applies nothing the second time', async () => {
      db = await factory.create();
      await migrate(db, coreMigrations);
      expect(await migrate(db, coreMigrations)).toEqual({ applied: [], reverted: [] });
    });

    it('names every constraint the error catalogue knows, and scopes every table by tenant', async () => {
      db = await factory.create();
      await migrate(db, coreMigrations);
      const catalogue = await snapshot(db);
      const names = new Set([
        ...catalogue.constraints.map((c) => c.conname as string),
        ...catalogue.indexes.map((i) => i.indexname as string),
      ]);
      for (const name of Object.keys(coreConstraints)) expect(names, name).toContain(name);

      for (const table of CORE_TABLES.filter((t) => t !== 'client_accounts')) {
        const column = catalogue.columns.find(
          (c) => c.table_name === table && c.column_name === 'client_account_id',
        );
        expect(column?.is_nullable, table).toBe('NO');
        const fk = catalogue.constraints.find((c) => c.conname === `${table}_client_account_fkey`);
        expect(fk?.definition, table).toBe(
          'FOREIGN KEY (client_account_id) REFERENCES client_accounts(id) ON DELETE CASCADE',
        );
        // Every secondary index of a tenant table leads with the tenant, except the routing lookups
        // and the inbox's work-queue scans, which run across tenants.
        for (const index of catalogue.indexes.filter((i) => i.tablename === table)) {
          const def = index.indexdef as string;
          if (
            /_pkey$|facebook_pages_page_id_idx|waba_configurations_(number|phone_number_id)_key|inbox_events_(due|finished)_idx/.test(
              index.indexname as string,
            )
          )
            continue;
          expect(def, index.indexname as string).toMatch(/USING btree \(client_account_id\b/);
        }
      }
      const leadIndexes = catalogue.indexes.filter((i) => i.tablename === 'leads').map((i) => i.indexdef);
      expect(leadIndexes.join('\n')).toMatch(/\(client_account_id, created_at DESC, id DESC\)/);

      // The CHECK lists are frozen in the migration; the zod enums may grow. A new value needs a new migration.
      const enums: Record<string, readonly string[]> = {
        client_accounts_status_check: tenantStatusSchema.options,
        facebook_pages_status_check: facebookPageStatusSchema.options,
        waba_configurations_provider_check: wabaProviderSchema.options,
        waba_configurations_status_check: wabaConfigurationSchema.shape.status.options,
        leads_status_check: leadStatusSchema.options,
        messages_direction_check: messageDirectionSchema.options,
        messages_status_check: messageStatusSchema.options,
        appointments_status_check: appointmentStatusSchema.options,
        template_usage_log_category_check: templateCategorySchema.options,
        template_usage_log_status_check: templateUsageStatusSchema.options,
      };
      for (const [name, values] of Object.entries(enums)) {
        const def = catalogue.constraints.find((c) => c.conname === name)?.definition as string;
        expect(
          [...def.matchAll(/'([^']+)'::text/g)].map((m) => m[1]),
          name,
        ).toEqual([...values]);
      }
      const wabaIndexes = catalogue.indexes.filter((i) => i.tablename === 'waba_configurations');
      expect(wabaIndexes.map((i) => i.indexdef).join('\n')).toMatch(
        /UNIQUE INDEX waba_configurations_phone_number_id_key .*\(\(provider_config ->> 'phoneNumberId'::text\)\)/,
      );
    });
  });
}

const postgres = postgresTestDatabase();
describe.runIf(postgres)('coreMigrations on postgres, concurrently', () => {
  it('two pools migrating the same schema at once both succeed and apply once', async () => {
    const url = process.env.DATABASE_URL as string;
    const schema = `lr_test_migrate_${Date.now().toString(36)}`;
    const admin = await createPostgresDatabase({ connectionString: url, poolConfig: { max: 1 } });
    await admin.query(`CREATE SCHEMA ${quoteIdent(schema)}`);
    const pool = () =>
      createPostgresDatabase({
        connectionString: url,
        poolConfig: { max: 2, options: `-c search_path=${schema}` },
      });
    const [a, b] = await Promise.all([pool(), pool()]);
    try {
      const results = await Promise.all([migrate(a, coreMigrations), migrate(b, coreMigrations)]);
      expect(results.map((r) => r.applied).sort()).toEqual([[], ids]);
      const ledger = await a.query<{ id: string }>('SELECT id FROM leadrelay_migrations');
      expect(ledger.rows.map((r) => r.id).sort()).toEqual([...ids].sort());
      expect((await coreTablesLeft(b)).sort()).toEqual([...CORE_TABLES].sort());
    } finally {
      await a.close();
      await b.close();
      await admin.query(`DROP SCHEMA IF EXISTS ${quoteIdent(schema)} CASCADE`);
      await admin.close();
    }
  });

  it('keeps the isolated schemas of two databases apart', async () => {
    const url = process.env.DATABASE_URL as string;
    const [one, two] = await Promise.all([createIsolatedPostgres(url), createIsolatedPostgres(url)]);
    try {
      await migrate(one, coreMigrations);
      expect(await coreTablesLeft(two)).toEqual([]);
    } finally {
      await one.close();
      await two.close();
    }
  });
});
