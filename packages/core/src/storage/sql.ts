import { createHash } from 'node:crypto';
import type { PGlite } from '@electric-sql/pglite';
import type { Pool, PoolClient, PoolConfig } from 'pg';
import { StorageError } from '../errors/errors.js';

/**
 * The SQL surface every Postgres adapter in LeadRelay is written against.
 * It runs unchanged on node-postgres (`pg`) and on PGlite, so one adapter
 * serves production Postgres and the embedded database alike.
 */
export interface SqlExecutor {
  query<R = Record<string, unknown>>(
    text: string,
    params?: readonly unknown[],
    options?: SqlQueryOptions,
  ): Promise<SqlResult<R>>;
}

export interface SqlQueryOptions {
  /**
   * Keep this statement prepared on each connection and reuse its plan
   * (node-postgres named statements; PGlite ignores it). For the hot
   * statements of a worker, whose text is one of a few fixed strings:
   * planning them costs about as much as running them.
   */
  prepare?: boolean;
}

export interface SqlResult<R> {
  rows: R[];
  rowCount: number;
}

export interface SqlDatabase extends SqlExecutor {
  readonly kind: 'postgres' | 'pglite';
  /** Runs `fn` in one transaction on one connection; rolls back when it throws. */
  transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T>;
  /**
   * Calls `onNotify` for each `NOTIFY` on `channel`; resolves to an
   * unsubscribe function. Used to wake idle workers instead of polling fast.
   */
  listen(channel: string, onNotify: (payload: string) => void): Promise<() => Promise<void>>;
  close(): Promise<void>;
}

function storageError(error: unknown): never {
  if (error instanceof StorageError) throw error;
  const pgCode = (error as { code?: unknown })?.code;
  // Constraint and data errors are caller mistakes, not outages: keep them visible as-is.
  if (typeof pgCode === 'string' && /^(22|23|42)/.test(pgCode)) throw error;
  throw new StorageError('Database request failed', {
    cause: error,
    details: pgCode ? { pgCode } : undefined,
  });
}

const statementNames = new Map<string, string>();

/** A statement's name is derived from its text, so every connection prepares the same text under one name. */
function statementName(text: string): string {
  let name = statementNames.get(text);
  if (!name) {
    name = `lr_${createHash('sha256').update(text).digest('base64url').slice(0, 22)}`;
    // Bounded: a caller that marks generated SQL as prepared must not grow this without end.
    if (statementNames.size >= 1000) statementNames.clear();
    statementNames.set(text, name);
  }
  return name;
}

function wrapClient(client: Pick<PoolClient, 'query'>): SqlExecutor {
  return {
    async query<R>(text: string, params?: readonly unknown[], options?: SqlQueryOptions) {
      try {
        const values = params as unknown[] | undefined;
        const result = options?.prepare
          ? await client.query({ name: statementName(text), text, values })
          : await client.query(text, values);
        return { rows: result.rows as R[], rowCount: result.rowCount ?? 0 };
      } catch (error) {
        storageError(error);
      }
    },
  };
}

export interface PostgresDatabaseOptions {
  /** An existing pool (its owner closes it), or the settings to create one. */
  pool?: Pool;
  connectionString?: string;
  poolConfig?: PoolConfig;
}

/**
 * @example
 * const db = await createPostgresDatabase({ connectionString: process.env.DATABASE_URL });
 */
export async function createPostgresDatabase(options: PostgresDatabaseOptions): Promise<SqlDatabase> {
  const pg = await import('pg');
  const PoolCtor = pg.Pool ?? (pg as unknown as { default: typeof pg }).default.Pool;
  const ownsPool = !options.pool;
  const pool =
    options.pool ??
    new PoolCtor({
      connectionString: options.connectionString,
      max: 10,
      ...options.poolConfig,
    });
  // An idle client that loses its connection must not crash the process.
  if (ownsPool) pool.on('error', () => {});
  const executor = wrapClient(pool);
  return {
    kind: 'postgres',
    query: executor.query,
    async transaction(fn) {
      let client: PoolClient;
      try {
        client = await pool.connect();
      } catch (error) {
        storageError(error);
      }
      try {
        await client.query('BEGIN');
        const result = await fn(wrapClient(client));
        await client.query('COMMIT');
        return result;
      } catch (error) {
        await client.query('ROLLBACK').catch(() => {});
        throw error;
      } finally {
        client.release();
      }
    },
    async listen(channel, onNotify) {
      const client = await pool.connect().catch(storageError);
      const handler = (msg: { channel: string; payload?: string }) => {
        if (msg.channel === channel) onNotify(msg.payload ?? '');
      };
      client.on('notification', handler);
      await client.query(`LISTEN ${quoteIdent(channel)}`);
      return async () => {
        client.off('notification', handler);
        await client.query(`UNLISTEN ${quoteIdent(channel)}`).catch(() => {});
        client.release();
      };
    },
    async close() {
      if (ownsPool) await pool.end();
    },
  };
}

export interface PgliteDatabaseOptions {
  /** An existing PGlite instance (its owner closes it). */
  pglite?: PGlite;
  /** Directory to persist to; in memory when omitted. */
  dataDir?: string;
}

/**
 * The embedded default: Postgres in WASM, in memory or in a directory.
 * PGlite is one connection, so statements run one at a time.
 *
 * @example
 * const db = await createPgliteDatabase({ dataDir: './.data/leadrelay' });
 */
export async function createPgliteDatabase(options: PgliteDatabaseOptions = {}): Promise<SqlDatabase> {
  const ownsInstance = !options.pglite;
  const instance =
    options.pglite ?? (await (await import('@electric-sql/pglite')).PGlite.create(options.dataDir));
  const wrap = (target: Pick<PGlite, 'query'>): SqlExecutor => ({
    async query<R>(text: string, params?: readonly unknown[]) {
      try {
        const result = await target.query<R>(text, params as unknown[] | undefined);
        return { rows: result.rows, rowCount: result.affectedRows ?? result.rows.length };
      } catch (error) {
        storageError(error);
      }
    },
  });
  const executor = wrap(instance);
  return {
    kind: 'pglite',
    query: executor.query,
    transaction(fn) {
      return instance.transaction((tx) => fn(wrap(tx)));
    },
    async listen(channel, onNotify) {
      const unsubscribe = await instance.listen(channel, onNotify);
      return async () => {
        await unsubscribe();
      };
    },
    async close() {
      if (ownsInstance) await instance.close();
    },
  };
}

/** Quotes an SQL identifier (channel, schema or table name). */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}
