import { randomBytes } from 'node:crypto';
import { coreMigrations, createPostgresDatabase, migrate, quoteIdent } from '@leadrelay/core';
import { createFollowUpRunner, createPostgresFollowUpStore, followupsMigrations } from '@leadrelay/followups';
import { seedDueSteps } from '@leadrelay/followups/testing';
import { Logger, makeWorkerUtils, run as runGraphileWorker, runMigrations } from 'graphile-worker';
import { PgBoss } from 'pg-boss';
import { compare, median, type SuiteResult, throughputRow } from '../harness.ts';

/**
 * Follow-up runner throughput against the queues users would otherwise build
 * it on, on one Postgres in one run: 20,000 due rows, 4 workers, batches of
 * 100. Ours: claim → lock and re-check → send (in-process provider) →
 * complete (ledger row + sent + enrolment end) per batch. pg-boss: `fetch` +
 * `complete` of 20,000 jobs. graphile-worker: draining 20,000 no-op jobs with
 * a local queue and batched completion.
 */
const JOBS = 20_000;
const WORKERS = 4;
const BATCH = 100;
const URL_DEFAULT = 'postgres://postgres@127.0.0.1:5432/test';

/** One drain's settings: `onStart` is called right before the timed part begins (for profiling). */
export interface DrainOptions {
  onStart?: () => void;
  /** Workers draining at once (default 4, as the issue sets). */
  workers?: number;
}

async function withSchema<T>(url: string, prefix: string, fn: (schema: string) => Promise<T>): Promise<T> {
  const schema = `${prefix}_${randomBytes(4).toString('hex')}`;
  const admin = await createPostgresDatabase({ connectionString: url, poolConfig: { max: 1 } });
  await admin.query(`CREATE SCHEMA ${quoteIdent(schema)}`);
  try {
    return await fn(schema);
  } finally {
    await admin.query(`DROP SCHEMA IF EXISTS ${quoteIdent(schema)} CASCADE`);
    await admin.close();
  }
}

export async function followUpsRun(url: string, options: DrainOptions = {}): Promise<number> {
  return withSchema(url, 'bench_fu', async (schema) => {
    const db = await createPostgresDatabase({
      connectionString: url,
      // Each worker holds one connection for LISTEN and uses about one more at a time.
      poolConfig: {
        max: Math.max(10, 2 * (options.workers ?? WORKERS) + 2),
        options: `-c search_path=${schema}`,
      },
    });
    try {
      await migrate(db, [...coreMigrations, ...followupsMigrations]);
      await seedDueSteps(db, { count: JOBS, tenant: 'bench' });
      const store = createPostgresFollowUpStore(db, { channel: `bench_${schema}` });
      let completed = 0;
      let done: () => void = () => {};
      const finished = new Promise<void>((resolve) => {
        done = resolve;
      });
      const counting = {
        ...store,
        async complete(token: string, outcomes: Parameters<typeof store.complete>[1]) {
          const n = await store.complete(token, outcomes);
          completed += n;
          if (completed >= JOBS) done();
          return n;
        },
      };
      const tenant = { id: 'bench', name: 'Bench', timeZone: 'UTC' };
      const lead = (clientAccountId: string, id: string) => ({
        id,
        clientAccountId,
        phone: '+919812345678',
        name: 'Priya Sharma',
        email: null,
        source: 'Website',
        additionalSources: [],
        status: 'new' as const,
        answers: {},
        attributes: {},
        timeZone: 'Asia/Kolkata',
        optedOut: false,
        agentId: null,
        lastInboundAt: null,
        lastOutboundAt: null,
        createdAt: new Date('2026-01-01T00:00:00Z'),
      });
      // Core's lead store as the runner reads it: one getMany per tenant per batch.
      const core = {
        leads: {
          get: async (clientAccountId: string, id: string) => lead(clientAccountId, id),
          getMany: async (clientAccountId: string, ids: readonly string[]) =>
            ids.map((id) => lead(clientAccountId, id)),
        },
        tenants: { get: async () => tenant },
      };
      let n = 0;
      const runners = Array.from({ length: options.workers ?? WORKERS }, () =>
        createFollowUpRunner({
          store: counting,
          // biome-ignore lint/suspicious/noExplicitAny: the two reads the runner makes, served in process
          core: core as any,
          batchSize: BATCH,
          concurrency: BATCH,
          leaseMs: 60_000,
          pollIntervalMs: 1000,
          sender: { send: async () => ({ providerMessageId: `wamid.${++n}` }) },
        }),
      );
      options.onStart?.();
      const started = performance.now();
      await Promise.all(runners.map((r) => r.start()));
      await finished;
      const elapsed = performance.now() - started;
      await Promise.all(runners.map((r) => r.stop()));
      const { rows } = await db.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM scheduled_follow_ups WHERE status = 'sent'",
      );
      if (rows[0]!.n !== JOBS) throw new Error(`followups sent ${rows[0]!.n} of ${JOBS}`);
      return elapsed;
    } finally {
      await db.close();
    }
  });
}

export async function pgBossRun(url: string, options: DrainOptions = {}): Promise<number> {
  return withSchema(url, 'bench_pgboss', async (schema) => {
    const boss = new PgBoss({ connectionString: url, schema, max: 10, supervise: false, schedule: false });
    boss.on('error', () => {});
    await boss.start();
    try {
      await boss.createQueue('bench');
      for (let i = 0; i < JOBS; i += 1000) {
        await boss.insert(
          'bench',
          Array.from({ length: 1000 }, (_, k) => ({ data: { lead: i + k } })),
        );
      }
      let completed = 0;
      options.onStart?.();
      const started = performance.now();
      await Promise.all(
        Array.from({ length: WORKERS }, async () => {
          for (;;) {
            const jobs = await boss.fetch('bench', { batchSize: BATCH });
            if (jobs.length === 0) return;
            await boss.complete(
              'bench',
              jobs.map((j) => j.id),
            );
            completed += jobs.length;
          }
        }),
      );
      const elapsed = performance.now() - started;
      if (completed !== JOBS) throw new Error(`pg-boss completed ${completed} of ${JOBS}`);
      return elapsed;
    } finally {
      await boss.stop({ graceful: false, close: true });
    }
  });
}

export async function graphileRun(url: string): Promise<number> {
  return withSchema(url, 'bench_gw', async (schema) => {
    await runMigrations({ connectionString: url, schema, logger: silentLogger() });
    const utils = await makeWorkerUtils({ connectionString: url, schema, logger: silentLogger() });
    try {
      for (let i = 0; i < JOBS; i += 1000) {
        await utils.addJobs(
          Array.from({ length: 1000 }, (_, k) => ({ identifier: 'noop', payload: { lead: i + k } })),
        );
      }
    } finally {
      await utils.release();
    }
    let done = 0;
    let finish: () => void = () => {};
    const finished = new Promise<void>((resolve) => {
      finish = resolve;
    });
    const started = performance.now();
    const runner = await runGraphileWorker({
      connectionString: url,
      schema,
      concurrency: WORKERS,
      maxPoolSize: 10,
      noHandleSignals: true,
      pollInterval: 1000,
      logger: silentLogger(),
      taskList: {
        noop: async () => {
          if (++done === JOBS) finish();
        },
      },
      preset: { worker: { localQueue: { size: BATCH }, completeJobBatchDelay: 0 } },
    });
    await finished;
    await runner.stop();
    const elapsed = performance.now() - started;
    return elapsed;
  });
}

/** A graphile-worker logger that drops everything, so the drain is not timed writing logs. */
function silentLogger(): Logger {
  return new Logger(() => () => {});
}

/**
 * Measured rounds of all three drains, alternating so drift in the machine's load hits each alike,
 * after one unmeasured round that warms each up (JIT, connections, Postgres caches).
 */
const ROUNDS = 3;

export default async function run(): Promise<SuiteResult> {
  const url = process.env.DATABASE_URL ?? URL_DEFAULT;
  const times = { ours: [] as number[], boss: [] as number[], graphile: [] as number[] };
  await followUpsRun(url);
  await pgBossRun(url);
  await graphileRun(url);
  for (let round = 0; round < ROUNDS; round++) {
    times.ours.push(await followUpsRun(url));
    times.boss.push(await pgBossRun(url));
    times.graphile.push(await graphileRun(url));
  }
  const rows = [
    throughputRow(
      'followups-runner',
      `followups runner (${WORKERS} workers, batch ${BATCH})`,
      JOBS,
      median(times.ours),
    ),
    throughputRow(
      'followups-runner',
      `pg-boss fetch+complete (${WORKERS} workers, batch ${BATCH})`,
      JOBS,
      median(times.boss),
    ),
    throughputRow(
      'followups-runner',
      `graphile-worker no-op drain (concurrency ${WORKERS}, local queue ${BATCH})`,
      JOBS,
      median(times.graphile),
    ),
  ];
  const perRound = (ms: number[]) => ms.map((t) => Math.round((JOBS / t) * 1000)).join(', ');
  return {
    rows,
    comparisons: [
      compare(rows, rows[0]!.name, rows[1]!.name, 1.0),
      compare(rows, rows[0]!.name, rows[2]!.name, 0.5),
    ],
    notes: [
      `${JOBS} rows/jobs each; followups does per batch: claim, enrolment lock + re-check, send, one completion statement (ledger row, sent, enrolment completed); leads come from an in-process core stand-in`,
      `median of ${ROUNDS} alternating rounds after a warm-up round; per round (rows/s): followups ${perRound(times.ours)}; pg-boss ${perRound(times.boss)}; graphile-worker ${perRound(times.graphile)}`,
    ],
  };
}
