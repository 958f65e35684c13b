import { randomBytes } from 'node:crypto';
import { coreMigrations, migrate, type SqlDatabase } from '@leadrelay/core';
import { createIsolatedPostgres, postgresTestDatabase } from '@leadrelay/core/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { followupsMigrations } from '../src/store/migrations.js';
import { seedDueSteps } from '../src/testing/index.js';
import {
  type ProviderEmulation,
  spawnWorker,
  startProviderEmulation,
  type WorkerProcess,
  waitFor,
} from './processes/worker-harness.js';

const pg = postgresTestDatabase();
const url = process.env.DATABASE_URL ?? '';
const BATCH = 100;

describe.skipIf(!pg)('runner processes on real Postgres', () => {
  let db: SqlDatabase;
  let schema: string;
  let provider: ProviderEmulation;
  let workers: WorkerProcess[] = [];
  let channel: string;

  beforeEach(async () => {
    db = await createIsolatedPostgres(url, { poolSize: 2 });
    schema = (await db.query<{ s: string }>('SELECT current_schema() AS s')).rows[0]!.s;
    await migrate(db, [...coreMigrations, ...followupsMigrations]);
    provider = await startProviderEmulation({ delayMs: 2 });
    channel = `fu_${randomBytes(4).toString('hex')}`;
    workers = [];
  });

  afterEach(async () => {
    for (const w of workers)
      if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGKILL');
    await Promise.all(workers.map((w) => w.exited));
    await provider.close();
    await db.close();
  });

  function worker(name: string, leaseMs: number) {
    const w = spawnWorker(name, {
      DATABASE_URL: url,
      FOLLOWUPS_SCHEMA: schema,
      FOLLOWUPS_CHANNEL: channel,
      PROVIDER_URL: provider.url,
      BATCH_SIZE: String(BATCH),
      CONCURRENCY: '20',
      LEASE_MS: String(leaseMs),
    });
    workers.push(w);
    return w;
  }

  async function sentCount() {
    const { rows } = await db.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM scheduled_follow_ups WHERE status = 'sent'",
    );
    return rows[0]!.n;
  }

  it('SIGKILL mid-batch over 5,000 due rows: a second worker finishes; only the in-doubt batch is resent, with the same keys', async () => {
    await seedDueSteps(db, { count: 5000 });
    const first = worker('first', 2000);
    await first.ready;
    await waitFor(() => provider.arrivals.length >= 1550, 30_000, 5);
    first.child.kill('SIGKILL');
    await first.exited;
    const arrivedBeforeKill = provider.arrivals.length;
    const committedByFirst = await sentCount();
    const second = worker('second', 2000);
    await second.ready;
    await waitFor(async () => (await sentCount()) === 5000, 45_000, 100);

    const byKey = new Map<string, string[]>();
    for (const a of provider.arrivals) byKey.set(a.key, [...(byKey.get(a.key) ?? []), a.worker]);
    // Every step reached the provider, under its ledger key.
    expect(byKey.size).toBe(5000);
    for (let i = 1; i <= 5000; i++) expect(byKey.has(`fu:enr-${i}:hello`)).toBe(true);
    // The ledger holds each (enrolment, step) once, and every row is sent.
    const ledger = await db.query<{ n: number; keys: number }>(
      'SELECT count(*)::int AS n, count(DISTINCT idempotency_key)::int AS keys FROM follow_up_sends',
    );
    expect(ledger.rows[0]).toEqual({ n: 5000, keys: 5000 });
    // Resends happen only for messages the killed worker had sent but not yet recorded: at most its
    // last batch, each first sent by the killed worker and resent by the survivor with the same key.
    const duplicates = [...byKey.entries()].filter(([, ws]) => ws.length > 1);
    expect(duplicates.length).toBeLessThanOrEqual(BATCH);
    for (const [, ws] of duplicates) expect(ws).toEqual(['first', 'second']);
    expect(duplicates.length).toBe(provider.arrivals.length - 5000);
    const firstArrivals = provider.arrivals.filter((a) => a.worker === 'first').length;
    expect(firstArrivals).toBe(arrivedBeforeKill);
    expect(firstArrivals - committedByFirst).toBeGreaterThanOrEqual(duplicates.length);
    console.info(
      `crash test: ${arrivedBeforeKill} arrivals before SIGKILL, ${committedByFirst} committed by the killed worker, ` +
        `${duplicates.length} resent after recovery (same idempotency keys); a provider that deduplicates by key delivers each once`,
    );
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
  }, 90_000);

  it('four workers sharing one database send every step exactly once', async () => {
    await seedDueSteps(db, { count: 4000 });
    const four = ['w1', 'w2', 'w3', 'w4'].map((name) => worker(name, 30_000));
    await Promise.all(four.map((w) => w.ready));
    await waitFor(async () => (await sentCount()) === 4000, 45_000, 100);
    const byKey = new Map<string, number>();
    for (const a of provider.arrivals) byKey.set(a.key, (byKey.get(a.key) ?? 0) + 1);
    expect(provider.arrivals).toHaveLength(4000);
    expect(byKey.size).toBe(4000);
    expect([...byKey.values()].every((n) => n === 1)).toBe(true);
    const perWorker = new Map<string, number>();
    for (const a of provider.arrivals) perWorker.set(a.worker, (perWorker.get(a.worker) ?? 0) + 1);
    expect(perWorker.size).toBeGreaterThanOrEqual(2);
    for (const w of four) w.child.kill('SIGTERM');
    expect(await Promise.all(four.map((w) => w.exited))).toEqual([0, 0, 0, 0]);
  }, 90_000);
});
