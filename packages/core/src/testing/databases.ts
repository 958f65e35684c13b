import { randomBytes } from 'node:crypto';
import {
  createPgliteDatabase,
  createPostgresDatabase,
  quoteIdent,
  type SqlDatabase,
} from '../storage/sql.js';

export interface TestDatabaseFactory {
  /** `pglite` or `postgres`: use it in test names. */
  name: 'pglite' | 'postgres';
  /** A fresh, empty database; `close()` removes what it created. */
  create(): Promise<SqlDatabase>;
}

/**
 * The databases a test suite should run against: PGlite always, and the real
 * Postgres server at `DATABASE_URL` when it is set. Each Postgres database is
 * a schema of its own, so test files run in parallel without colliding.
 * With `CI=true` and no `DATABASE_URL`, this throws: CI must not skip Postgres.
 *
 * @example for (const factory of testDatabases()) describe(factory.name, () => { … });
 */
export function testDatabases(env: Record<string, string | undefined> = process.env): TestDatabaseFactory[] {
  const factories: TestDatabaseFactory[] = [{ name: 'pglite', create: () => createPgliteDatabase() }];
  const url = env.DATABASE_URL;
  if (!url && env.CI === 'true') {
    throw new Error('CI=true but DATABASE_URL is not set: the real-Postgres tests would be skipped');
  }
  if (url) factories.push({ name: 'postgres', create: () => createIsolatedPostgres(url) });
  return factories;
}

/** The real-Postgres factory alone, or `null` without `DATABASE_URL` (tests of locking need it). */
export function postgresTestDatabase(
  env: Record<string, string | undefined> = process.env,
): TestDatabaseFactory | null {
  return testDatabases(env).find((f) => f.name === 'postgres') ?? null;
}

/**
 * A database in a new schema of the server at `url`, dropped on `close()`.
 * `poolSize` bounds the connections it opens.
 */
export async function createIsolatedPostgres(
  url: string,
  options: { poolSize?: number } = {},
): Promise<SqlDatabase> {
  const schema = `lr_test_${randomBytes(6).toString('hex')}`;
  const admin = await createPostgresDatabase({ connectionString: url, poolConfig: { max: 1 } });
  await admin.query(`CREATE SCHEMA ${quoteIdent(schema)}`);
  await admin.close();
  const db = await createPostgresDatabase({
    connectionString: url,
    poolConfig: { max: options.poolSize ?? 10, options: `-c search_path=${schema}` },
  });
  return {
    ...db,
    async close() {
      await db.close();
      const cleanup = await createPostgresDatabase({ connectionString: url, poolConfig: { max: 1 } });
      await cleanup.query(`DROP SCHEMA IF EXISTS ${quoteIdent(schema)} CASCADE`);
      await cleanup.close();
    },
  };
}
