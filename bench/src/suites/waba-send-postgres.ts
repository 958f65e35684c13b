import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import {
  coreMigrations,
  createPostgresDatabase,
  createPostgresStore,
  createSecretBox,
  createTenantRegistry,
  generateSecretKey,
  migrate,
  quoteIdent,
  type SqlDatabase,
  type SqlExecutor,
} from '@leadrelay/core';
import { createCloudApiProvider, createWabaClient, wabaMigrations } from '@leadrelay/waba';
import { seedWabaTenant } from '@leadrelay/waba/testing';
import { type BenchRow, compare, median, runConcurrently, type SuiteResult } from '../harness.ts';
import { cloudAcceptedBody, startProviderStub } from '../provider-stub.ts';

/**
 * `client.send` as a user runs it (issue #14): core's Postgres store and
 * waba's Postgres ledger and templates on one real server, the tenant
 * registry with its default cache, a UTILITY template to leads whose service
 * window is open, a distinct idempotency key per send; against a node:http
 * stub answering the Cloud API's accepted response after 20 ms, 64 sends in
 * flight. Beside it, in the same run, a bare `fetch` of the same request
 * (URL, headers, body) at the same concurrency. SQL round trips are counted
 * by wrapping the `SqlDatabase` the client is given.
 */

const SUITE = 'waba-send-postgres';
const SERVER_URL = process.env.BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const PHONE_NUMBER_ID = '106540352242922';
const TOKEN = 'EAAG-bench-token';
const DELAY_MS = 20;
const IN_FLIGHT = 64;
const LEADS = 1000;
const ROUNDS = 4;
const PER_ROUND = 1000;
const WARM_UP = 256;
const TARGET = 0.6;
const TEMPLATE = {
  name: 'viewing_reminder',
  language: 'en',
  bodyText: 'Hi {{1}}, your viewing of {{2}} is on {{3}}.',
};
const PARAMS = ['the 3BHK in Baner', 'Saturday 10:00'];

/** Round trips to the server, by statement: every `query`, and BEGIN and COMMIT (or ROLLBACK) of a transaction. */
interface RoundTripCounter {
  total: number;
  byStatement: Map<string, number>;
  reset(): void;
}

/** A short label for a statement: its verb and the tables it names, e.g. `INSERT waba_send_ledger`. */
function statementLabel(text: string): string {
  const verb =
    /\b(INSERT|UPDATE|DELETE|SELECT)\b/i.exec(text)?.[1]?.toUpperCase() ?? text.trim().split(/\s/)[0];
  const ctes = new Set([...text.matchAll(/\b([a-z_]+) AS \(/gi)].map((m) => m[1]));
  const tables = new Set(
    [...text.matchAll(/\b(?:FROM|INTO|UPDATE|JOIN)\s+([a-z_]+)/gi)]
      .map((m) => m[1])
      .filter((t) => !ctes.has(t)),
  );
  return `${/^\s*WITH\b/i.test(text) ? 'WITH ' : ''}${verb} ${[...tables].join(' + ')}`.trim();
}

function countRoundTrips(db: SqlDatabase): { db: SqlDatabase; counter: RoundTripCounter } {
  const counter: RoundTripCounter = {
    total: 0,
    byStatement: new Map(),
    reset() {
      this.total = 0;
      this.byStatement.clear();
    },
  };
  // Labelled once per distinct text: the counting must not add work to the measured side.
  const labels = new Map<string, string>();
  const count = (text: string) => {
    let label = labels.get(text);
    if (label === undefined) {
      label = statementLabel(text);
      labels.set(text, label);
    }
    counter.total++;
    counter.byStatement.set(label, (counter.byStatement.get(label) ?? 0) + 1);
  };
  const counted = (exec: SqlExecutor): SqlExecutor => ({
    query(text, params, options) {
      count(text);
      return exec.query(text, params, options);
    },
  });
  const wrapped: SqlDatabase = {
    kind: db.kind,
    query: counted(db).query,
    async transaction(fn) {
      // node-postgres sends BEGIN and COMMIT (or ROLLBACK) as statements of their own.
      count('BEGIN');
      try {
        const result = await db.transaction((tx) => fn(counted(tx)));
        count('COMMIT');
        return result;
      } catch (error) {
        count('ROLLBACK');
        throw error;
      }
    },
    listen: (channel, onNotify) => db.listen(channel, onNotify),
    close: () => db.close(),
  };
  return { db: wrapped, counter };
}

/** A database of its own on the server, dropped afterwards. */
async function withDatabase<T>(fn: (url: string) => Promise<T>): Promise<T> {
  const name = `lr_bench_send_${randomBytes(4).toString('hex')}`;
  const admin = await createPostgresDatabase({ connectionString: SERVER_URL, poolConfig: { max: 1 } });
  await admin.query(`CREATE DATABASE ${quoteIdent(name)}`);
  try {
    const url = new URL(SERVER_URL);
    url.pathname = `/${name}`;
    return await fn(url.toString());
  } finally {
    await admin.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`);
    await admin.close();
  }
}

/**
 * CPU seconds the server's backends for this database have used, read from
 * /proc (the server runs on this machine); null when it cannot be read.
 */
async function serverCpuSeconds(db: SqlDatabase): Promise<number | null> {
  const { rows } = await db.query<{ pid: number }>(
    'SELECT pid FROM pg_stat_activity WHERE datname = current_database()',
  );
  let ticks = 0;
  try {
    for (const { pid } of rows) {
      const fields = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1]!.split(' ');
      // utime and stime, fields 14 and 15 of the whole line, in clock ticks (100 a second on Linux).
      ticks += Number(fields[11]) + Number(fields[12]);
    }
  } catch {
    return null;
  }
  return ticks / 100;
}

interface Timed {
  elapsedMs: number;
  latenciesMs: number[];
}

async function timedRun(total: number, task: (i: number) => Promise<unknown>): Promise<Timed> {
  const latenciesMs: number[] = [];
  const started = performance.now();
  await runConcurrently(total, IN_FLIGHT, async (i) => {
    const t0 = performance.now();
    await task(i);
    latenciesMs.push(performance.now() - t0);
  });
  return { elapsedMs: performance.now() - started, latenciesMs };
}

function row(name: string, runs: Timed[]): BenchRow {
  const latencies = runs.flatMap((r) => r.latenciesMs).sort((a, b) => a - b);
  const elapsedMs = runs.reduce((sum, r) => sum + r.elapsedMs, 0);
  return {
    suite: SUITE,
    name,
    opsPerSec: (latencies.length / elapsedMs) * 1000,
    meanMs: latencies.reduce((sum, v) => sum + v, 0) / latencies.length,
    p99Ms: latencies[Math.floor(latencies.length * 0.99)]!,
    samples: latencies.length,
  };
}

async function measureOn(url: string): Promise<SuiteResult> {
  const stub = await startProviderStub({ delayMs: DELAY_MS, body: cloudAcceptedBody });
  // The pool as `createPostgresDatabase` makes it by default (10 connections).
  const raw = await createPostgresDatabase({ connectionString: url });
  try {
    await migrate(raw, [...coreMigrations, ...wabaMigrations]);
    const { db, counter } = countRoundTrips(raw);
    const store = createPostgresStore(db);
    const secretBox = createSecretBox({ keys: [{ id: 'bench', key: generateSecretKey() }] });
    const { tenant } = await seedWabaTenant({
      store,
      secretBox,
      provider: 'cloud_api',
      tenant: { name: 'Bench Realty' },
      credentials: TOKEN,
      phoneNumberId: PHONE_NUMBER_ID,
    });
    const client = createWabaClient({
      store,
      registry: createTenantRegistry({ store, secretBox }),
      db,
      providers: [createCloudApiProvider({ baseUrl: stub.url })],
      // Off: a number's limit (80/s by default) would only add waiting to both sides' comparison.
      rateLimit: false,
    });
    await client.templates.upsert({
      clientAccountId: tenant.id,
      name: TEMPLATE.name,
      language: TEMPLATE.language,
      category: 'UTILITY',
      status: 'APPROVED',
      bodyText: TEMPLATE.bodyText,
    });
    const names = ['Priya', 'Arjun', 'Meera', 'Rahul', 'Ananya', 'Vikram', 'Kavya', 'Rohan'];
    const wroteAt = new Date(Date.now() - 60 * 60 * 1000);
    const leads: { id: string; phone: string; name: string }[] = [];
    await runConcurrently(LEADS, 8, async (i) => {
      const phone = `+9198450${String(10_000 + i).padStart(5, '0')}`;
      const name = names[i % names.length]!;
      const { lead } = await store.leads.upsertByPhone({
        clientAccountId: tenant.id,
        phone,
        name,
        source: 'WA Direct',
      });
      await store.leads.update(tenant.id, lead.id, { lastInboundAt: wroteAt });
      leads[i] = { id: lead.id, phone, name };
    });

    const ours = (round: string) => (i: number) => {
      const lead = leads[i % LEADS]!;
      return client.send({
        tenant: tenant.id,
        to: lead.phone,
        leadId: lead.id,
        message: { type: 'template', name: TEMPLATE.name, parameters: { body: [lead.name, ...PARAMS] } },
        idempotencyKey: `bench:${round}:${i}`,
      });
    };
    const endpoint = `${stub.url}/v23.0/${PHONE_NUMBER_ID}/messages`;
    // The request the Cloud API provider sends for that message, built per request as a caller would.
    const bare = (i: number) => {
      const lead = leads[i % LEADS]!;
      return fetch(endpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
        body: JSON.stringify({
          messaging_product: 'whatsapp',
          recipient_type: 'individual',
          to: lead.phone.slice(1),
          type: 'template',
          template: {
            name: TEMPLATE.name,
            language: { code: TEMPLATE.language },
            components: [
              { type: 'body', parameters: [lead.name, ...PARAMS].map((text) => ({ type: 'text', text })) },
            ],
          },
        }),
      }).then((r) => r.json());
    };

    // Warm both paths (JIT, keep-alive connections, the pool, the registry's cache).
    await timedRun(WARM_UP, ours('warm'));
    await timedRun(WARM_UP, bare);
    await raw.query('VACUUM ANALYZE');

    // Alternate rounds, so drift in the machine's load hits both sides alike.
    const oursRuns: Timed[] = [];
    const bareRuns: Timed[] = [];
    const cpu = { ours: 0, bare: 0 };
    const loadBefore = loadavg()[0]!;
    const serverBefore = await serverCpuSeconds(raw);
    counter.reset();
    for (let round = 0; round < ROUNDS; round++) {
      let before = process.cpuUsage();
      oursRuns.push(await timedRun(PER_ROUND, ours(String(round))));
      let used = process.cpuUsage(before);
      cpu.ours += (used.user + used.system) / 1000;
      before = process.cpuUsage();
      bareRuns.push(await timedRun(PER_ROUND, bare));
      used = process.cpuUsage(before);
      cpu.bare += (used.user + used.system) / 1000;
    }
    const serverAfter = await serverCpuSeconds(raw);
    const sends = ROUNDS * PER_ROUND;
    const roundTrips = counter.total / sends;
    const byStatement = [...counter.byStatement]
      .sort((a, b) => b[1] - a[1])
      .map(([label, n]) => `${label} ${(n / sends).toFixed(2)}`);

    // The client did the whole job: one message, one usage line and one completed ledger entry per send.
    const { rows } = await raw.query<{ messages: number; usage: number; completed: number }>(
      `SELECT (SELECT count(*)::int FROM messages) AS messages,
              (SELECT count(*)::int FROM template_usage_log WHERE status = 'sent') AS usage,
              (SELECT count(*)::int FROM waba_send_ledger WHERE status = 'completed') AS completed`,
    );
    const expected = sends + WARM_UP;
    const stored = rows[0]!;
    if (stored.messages !== expected || stored.usage !== expected || stored.completed !== expected) {
      throw new Error(`Expected ${expected} of each, stored ${JSON.stringify(stored)}`);
    }

    const label = `stub answers after ${DELAY_MS} ms, ${IN_FLIGHT} in flight`;
    const rowsOut = [
      row(`waba client.send on Postgres (${label})`, oursRuns),
      row(`bare fetch (${label})`, bareRuns),
    ];
    const comparison = compare(rowsOut, rowsOut[0]!.name, rowsOut[1]!.name, TARGET);
    const roundRatios = oursRuns.map((r, i) => bareRuns[i]!.elapsedMs / r.elapsedMs);
    return {
      rows: rowsOut,
      comparisons: [comparison],
      notes: [
        `client.send on Postgres / bare fetch: ${comparison.ratio.toFixed(3)} (rounds ${roundRatios.map((r) => r.toFixed(3)).join(', ')}, median ${median(roundRatios).toFixed(3)}; target ${TARGET}×)`,
        `SQL round trips per send: ${roundTrips.toFixed(2)} (target at most 4): ${byStatement.join(', ')}`,
        `CPU per send: this process ${(cpu.ours / sends).toFixed(2)} ms for client.send, ${(cpu.bare / sends).toFixed(2)} ms for bare fetch (both include the stub's thread)${serverBefore !== null && serverAfter !== null ? `; Postgres backends ${(((serverAfter - serverBefore) * 1000) / sends).toFixed(2)} ms per client.send` : ''}; machine load average (1 min) ${loadBefore.toFixed(1)} before, ${loadavg()[0]!.toFixed(1)} after`,
        `${sends} sends a side in ${ROUNDS} alternating rounds over ${LEADS} leads with an open service window; UTILITY template, one idempotency key per send; pool of 10 connections; rate limiter off`,
      ],
    };
  } finally {
    await raw.close();
    await stub.close();
  }
}

export default async function run(): Promise<SuiteResult> {
  return withDatabase(measureOn);
}
