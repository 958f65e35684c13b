import { LeadRelayError } from '../errors/errors.js';
import type { SqlDatabase, SqlExecutor } from './sql.js';

/**
 * A versioned schema change. Each package ships its own list; ids sort in
 * the order they apply (`core/0001_init`, `core/0002_…`), and `down` undoes
 * exactly what `up` did.
 */
export interface Migration {
  id: string;
  up: string;
  down: string;
}

export interface MigrateOptions {
  /** `up` (default) applies every pending migration; `down` reverts. */
  direction?: 'up' | 'down';
  /** With `down`: how many of these migrations to revert (default: all). */
  steps?: number;
}

export interface MigrateResult {
  applied: string[];
  reverted: string[];
}

const LEDGER = 'leadrelay_migrations';
// Any constant works: every runner in every process agrees on it.
const ADVISORY_LOCK_KEY = 0x1ead4e1a;

/**
 * Applies (or reverts) migrations under a transaction-scoped advisory lock,
 * so any number of processes may call it at start-up: one applies, the others
 * wait and then find nothing to do. Running it twice changes nothing.
 *
 * @example await migrate(db, [...coreMigrations, ...metaLeadsMigrations]);
 */
export async function migrate(
  db: SqlDatabase,
  migrations: readonly Migration[],
  options: MigrateOptions = {},
): Promise<MigrateResult> {
  const ids = new Set<string>();
  for (const m of migrations) {
    if (ids.has(m.id)) {
      throw new LeadRelayError(`Migration "${m.id}" is listed twice`, { code: 'migration_invalid' });
    }
    ids.add(m.id);
  }
  const direction = options.direction ?? 'up';
  return db.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock($1)', [ADVISORY_LOCK_KEY]);
    await tx.query(
      `CREATE TABLE IF NOT EXISTS ${LEDGER} (
         id text PRIMARY KEY,
         applied_at timestamptz NOT NULL DEFAULT now()
       )`,
    );
    const done = new Set((await tx.query<{ id: string }>(`SELECT id FROM ${LEDGER}`)).rows.map((r) => r.id));
    const result: MigrateResult = { applied: [], reverted: [] };
    if (direction === 'up') {
      for (const m of migrations) {
        if (done.has(m.id)) continue;
        await runScript(tx, m.up, m.id);
        await tx.query(`INSERT INTO ${LEDGER} (id) VALUES ($1)`, [m.id]);
        result.applied.push(m.id);
      }
    } else {
      const toRevert = [...migrations].reverse().filter((m) => done.has(m.id));
      for (const m of toRevert.slice(0, options.steps ?? toRevert.length)) {
        await runScript(tx, m.down, m.id);
        await tx.query(`DELETE FROM ${LEDGER} WHERE id = $1`, [m.id]);
        result.reverted.push(m.id);
      }
    }
    return result;
  });
}

async function runScript(tx: SqlExecutor, script: string, id: string): Promise<void> {
  try {
    // Statements run one by one: extended-protocol queries take one statement each.
    for (const statement of splitSql(script)) await tx.query(statement);
  } catch (error) {
    throw new LeadRelayError(`Migration "${id}" failed`, { code: 'migration_failed', cause: error });
  }
}

/**
 * Splits a migration script on top-level semicolons, keeping `$$` bodies,
 * quoted strings and comments intact.
 */
export function splitSql(script: string): string[] {
  const statements: string[] = [];
  let current = '';
  let i = 0;
  while (i < script.length) {
    const ch = script[i]!;
    const rest = script.slice(i);
    if (rest.startsWith('--')) {
      const end = script.indexOf('\n', i);
      i = end === -1 ? script.length : end + 1;
      continue;
    }
    if (rest.startsWith('/*')) {
      const end = script.indexOf('*/', i + 2);
      i = end === -1 ? script.length : end + 2;
      continue;
    }
    const dollar = /^\$[A-Za-z_]*\$/.exec(rest);
    if (dollar) {
      const tag = dollar[0];
      const end = script.indexOf(tag, i + tag.length);
      const stop = end === -1 ? script.length : end + tag.length;
      current += script.slice(i, stop);
      i = stop;
      continue;
    }
    if (ch === "'" || ch === '"') {
      // A doubled quote inside a literal or identifier stands for the quote itself.
      let j = i + 1;
      while (j < script.length && !(script[j] === ch && script[j + 1] !== ch)) j += script[j] === ch ? 2 : 1;
      current += script.slice(i, j + 1);
      i = j + 1;
      continue;
    }
    if (ch === ';') {
      if (current.trim()) statements.push(current.trim());
      current = '';
      i++;
      continue;
    }
    current += ch;
    i++;
  }
  if (current.trim()) statements.push(current.trim());
  return statements;
}
