import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  coreMigrations,
  createPostgresStore,
  createSecretBox,
  generateSecretKey,
  migrate,
  type SqlDatabase,
} from '@leadrelay/core';
import { createIsolatedPostgres, postgresTestDatabase } from '@leadrelay/core/testing';
import { seedWabaTenant } from '@leadrelay/waba/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { wabaMigrations } from '../src/store/waba-migrations.js';
import { busiestWindow, raisePriority, startThroughputStub, type ThroughputStub } from './throughput-stub.js';

const fixture = (name: string) =>
  readFileSync(new URL(`../../../../shared/fixtures/${name}`, import.meta.url), 'utf8');
const hooks = fileURLToPath(new URL('../../../test-support/source-hooks.mjs', import.meta.url));
const script = fileURLToPath(new URL('./processes/rate-limited-sender.ts', import.meta.url));

const url = process.env.DATABASE_URL ?? '';
const RATE = 20;
const BURST = Math.ceil(RATE / 20);
const PER_PROCESS = 20;
const TO = '+919845012345';

interface SenderReport {
  sent: number;
  failed: string[];
  takes: { calls: number; granted: number };
}

describe.skipIf(!postgresTestDatabase())(
  'the rate limit across two sender processes on real Postgres',
  () => {
    let db: SqlDatabase;
    let stub: ThroughputStub;
    let env: Record<string, string>;
    let senders: Sender[] = [];

    beforeAll(async () => {
      db = await createIsolatedPostgres(url, { poolSize: 2 });
      await migrate(db, [...coreMigrations, ...wabaMigrations]);
      const store = createPostgresStore(db);
      const key = generateSecretKey();
      const { tenant } = await seedWabaTenant({
        store,
        secretBox: createSecretBox({ keys: [{ id: 'k1', key }] }),
        provider: 'cloud_api',
        messagesPerSecond: RATE,
      });
      const { lead } = await store.leads.upsertByPhone({
        clientAccountId: tenant.id,
        phone: TO,
        source: 'WA Direct',
      });
      await store.leads.update(tenant.id, lead.id, { lastInboundAt: new Date(Date.now() - 60 * 60 * 1000) });
      // The provider stand-in only records arrivals (its own limit is out of reach): what is measured is the senders.
      stub = await startThroughputStub({
        limit: 1_000_000,
        accepted: fixture('cloud-send-accepted.json'),
        error: fixture('cloud-send-error-130429.json'),
      });
      const schema = (await db.query<{ s: string }>('SELECT current_schema() AS s')).rows[0]!.s;
      env = {
        DATABASE_URL: url,
        WABA_SCHEMA: schema,
        SECRET_KEY: key,
        TENANT_ID: tenant.id,
        TO,
        GRAPH_URL: stub.url,
        COUNT: String(PER_PROCESS),
      };
      senders = ['a', 'b'].map((name) => startSender({ ...env, SENDER_NAME: name }));
      await Promise.all(senders.map((s) => s.ready));
    });

    afterAll(async () => {
      await Promise.all(senders.map((s) => s.stop()));
      await stub?.close();
      await db?.close();
    });

    /** Both senders start together, each sending PER_PROCESS messages from the one number. */
    async function run(mode: 'shared' | 'local') {
      await stub.reset();
      const reports = await Promise.all(senders.map((s) => s.run(mode)));
      const { arrivals } = await stub.stats();
      const spanS = (arrivals.at(-1)! - arrivals[0]!) / 1000;
      return {
        reports,
        arrivals,
        busiest: busiestWindow(arrivals, 1000),
        rate: (arrivals.length - 1) / spanS,
      };
    }

    it('with the Postgres buckets the two together stay within the number’s rate', async () => {
      const { reports, arrivals, busiest, rate } = await run('shared');
      const calls = reports.reduce((n, r) => n + r.takes.calls, 0);
      const facts = `busiest second ${busiest}, rate ${rate.toFixed(1)}/s, ${calls} takes for ${arrivals.length} sends`;
      expect(
        reports.map((r) => [r.sent, r.failed]),
        facts,
      ).toEqual([
        [PER_PROCESS, []],
        [PER_PROCESS, []],
      ]);
      expect(arrivals).toHaveLength(2 * PER_PROCESS);
      // The limiter's window allows RATE per second; the burst absorbs scheduling between the grant and the wire.
      // Arrivals at the stand-in jitter by a few ms after each grant: two of slack, far below the 33+ of per-process buckets.
      expect(busiest, facts).toBeLessThanOrEqual(RATE + BURST + 2);
      expect(rate, facts).toBeLessThanOrEqual(RATE * 1.05);
      // Waiting does not starve the number. Loose: on a loaded machine a take's round trip is slow,
      // and so is each process's own pace (the per-process run below reaches about as much per process).
      expect(rate, facts).toBeGreaterThanOrEqual(0.5 * RATE);
      // Each process asks for its oldest waiters only: about one take per token, plus the ones the other won.
      expect(calls, facts).toBeLessThanOrEqual(4 * arrivals.length);
    }, 30_000);

    it('with per-process buckets (the store has none) the same two senders exceed it', async () => {
      const { reports, busiest, rate } = await run('local');
      expect(reports.map((r) => r.sent)).toEqual([PER_PROCESS, PER_PROCESS]);
      expect(busiest, `busiest second ${busiest}, rate ${rate.toFixed(1)}/s`).toBeGreaterThan(RATE + BURST);
    }, 30_000);
  },
);

interface Sender {
  ready: Promise<void>;
  /** Sends this process's messages in `mode` and answers what it saw. */
  run(mode: 'shared' | 'local'): Promise<SenderReport>;
  stop(): Promise<void>;
}

function startSender(env: Record<string, string>): Sender {
  const child: ChildProcess = spawn(process.execPath, ['--no-warnings', '--import', hooks, script], {
    env: { ...process.env, ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  raisePriority(child.pid);
  let err = '';
  child.stderr!.on('data', (d: Buffer) => {
    err += d.toString();
  });
  const exited = new Promise<never>((_, reject) =>
    child.once('exit', (code) => reject(new Error(`sender exited (${code}): ${err}`))),
  );
  exited.catch(() => {});
  // Lines as they come, handed to whoever waits first.
  const lines: string[] = [];
  const waiting: ((line: string) => void)[] = [];
  let buffer = '';
  child.stdout!.on('data', (d: Buffer) => {
    buffer += d.toString();
    for (let end = buffer.indexOf('\n'); end !== -1; end = buffer.indexOf('\n')) {
      const line = buffer.slice(0, end);
      buffer = buffer.slice(end + 1);
      const waiter = waiting.shift();
      if (waiter) waiter(line);
      else lines.push(line);
    }
  });
  const nextLine = () =>
    Promise.race([
      new Promise<string>((resolve) => {
        const line = lines.shift();
        if (line === undefined) waiting.push(resolve);
        else resolve(line);
      }),
      exited,
    ]);
  return {
    ready: nextLine().then((line) => {
      if (line !== 'ready') throw new Error(`sender said ${line}: ${err}`);
    }),
    async run(mode) {
      child.stdin!.write(`${mode}\n`);
      return JSON.parse(await nextLine()) as SenderReport;
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const gone = new Promise((resolve) => child.once('exit', resolve));
      child.stdin!.end();
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await gone;
      clearTimeout(timer);
    },
  };
}
