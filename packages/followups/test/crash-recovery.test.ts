import { randomBytes } from 'node:crypto';
import {
  type CoreStore,
  coreMigrations,
  createPostgresStore,
  createSecretBox,
  createTenantRegistry,
  generateSecretKey,
  migrate,
  type SqlDatabase,
  toWhatsAppId,
} from '@leadrelay/core';
import { createIsolatedPostgres, postgresTestDatabase } from '@leadrelay/core/testing';
import { createWabaClient, wabaMigrations } from '@leadrelay/waba';
import { seedWabaTenant } from '@leadrelay/waba/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { followupsMigrations } from '../src/store/migrations.js';
import { createPostgresFollowUpStore } from '../src/store/postgres-store.js';
import { seedDueSteps } from '../src/testing/index.js';
import { type GupshupArrival, type GupshupStub, startGupshupStub } from './processes/gupshup-stub.js';
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

describe.skipIf(!pg)('a runner process sending through the waba client on real Postgres', () => {
  const ROWS = 5000;
  const KILL_AFTER = 700;
  const CONCURRENCY = 25;
  let db: SqlDatabase;
  let schema: string;
  let stub: GupshupStub | null = null;
  let workers: WorkerProcess[] = [];

  beforeEach(async () => {
    db = await createIsolatedPostgres(url, { poolSize: 8 });
    schema = (await db.query<{ s: string }>('SELECT current_schema() AS s')).rows[0]!.s;
    await migrate(db, [...coreMigrations, ...wabaMigrations, ...followupsMigrations]);
    workers = [];
  });

  afterEach(async () => {
    for (const w of workers)
      if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGKILL');
    await Promise.all(workers.map((w) => w.exited));
    await stub?.close();
    await db.close();
  });

  /** Leads in core's store, in enrolment order; their phones are `+9198…<n>`. */
  async function createLeads(core: CoreStore, tenant: string, count: number) {
    const leads: { id: string; phone: string }[] = [];
    for (let start = 1; start <= count; start += 250) {
      const batch = Array.from({ length: Math.min(250, count - start + 1) }, (_, i) => start + i);
      leads.push(
        ...(await Promise.all(
          batch.map(async (n) => {
            const lead = await core.leads.create({
              clientAccountId: tenant,
              phone: `+9198${String(n).padStart(8, '0')}`,
              name: `Lead ${n}`,
            });
            return { id: lead.id, phone: lead.phone! };
          }),
        )),
      );
    }
    return leads;
  }

  it('SIGKILL mid-batch over 5,000 due rows: zero duplicates at the provider; unknown outcomes are counted and never re-sent', async () => {
    const started = performance.now();
    const core = createPostgresStore(db);
    const key = generateSecretKey();
    const secretBox = createSecretBox({ keys: [{ id: 'k1', key }] });
    const { tenant, waba, secrets } = await seedWabaTenant({
      store: core,
      secretBox,
      provider: 'gupshup',
      messagesPerSecond: 2000,
    });
    await createWabaClient({
      store: core,
      registry: createTenantRegistry({ store: core, secretBox }),
      db,
    }).templates.upsert({
      clientAccountId: tenant.id,
      name: 'welcome_lead',
      language: 'en',
      category: 'UTILITY',
      bodyText: 'Thanks for your enquiry: an agent will call you today.',
      providerTemplateId: 'tpl-welcome',
    });
    const leads = await createLeads(core, tenant.id, ROWS);
    await seedDueSteps(db, { count: ROWS, tenant: tenant.id, leadIds: leads.map((l) => l.id) });
    const seededMs = performance.now() - started;

    let victim: WorkerProcess | null = null;
    let awaitingAnswer: GupshupArrival[] = [];
    stub = await startGupshupStub({
      delayMs: [20, 50],
      // Killed from the stub itself, while requests are waiting for their answer.
      onArrival: (arrival, s) => {
        if (victim && awaitingAnswer.length === 0 && arrival.index + 1 >= KILL_AFTER && s.pending() >= 5) {
          victim.child.kill('SIGKILL');
          // Answered after the kill, if at all: the killed worker cannot have read these answers.
          awaitingAnswer = s.arrivals.filter((a) => a.state === 'pending');
        }
      },
    });
    const worker = (name: string) => {
      const w = spawnWorker(
        name,
        {
          DATABASE_URL: url,
          FOLLOWUPS_SCHEMA: schema,
          FOLLOWUPS_CHANNEL: `fu_${randomBytes(4).toString('hex')}`,
          PROVIDER_URL: stub!.baseUrl,
          SECRET_KEY: key,
          WABA_LEASE_MS: '3000',
          BATCH_SIZE: '100',
          CONCURRENCY: String(CONCURRENCY),
          LEASE_MS: '2000',
        },
        'waba-runner-process.ts',
      );
      workers.push(w);
      return w;
    };
    const statusCounts = async () => {
      const { rows } = await db.query<{ status: string; n: number }>(
        'SELECT status, count(*)::int AS n FROM scheduled_follow_ups GROUP BY status',
      );
      return Object.fromEntries(rows.map((r) => [r.status, r.n])) as Record<string, number>;
    };

    victim = worker('first');
    await victim.ready;
    await waitFor(() => awaitingAnswer.length > 0 || victim!.child.exitCode !== null, 60_000, 20);
    expect(await victim.exited, victim.stderr()).toBeNull(); // killed by the signal, not exited
    expect(victim.child.signalCode).toBe('SIGKILL');
    // Bytes the killed worker wrote before dying are parsed by now; later arrivals are the survivor's.
    await new Promise((r) => setTimeout(r, 100));
    const byFirst = stub.arrivals.length;
    const committedByFirst = (await statusCounts()).sent ?? 0;
    const second = worker('second');
    await second.ready;
    await waitFor(async () => !(await statusCounts()).pending, 60_000, 200);

    // Every step ended sent or unknown.
    const counts = await statusCounts();
    const sent = counts.sent ?? 0;
    const unknown = counts.unknown ?? 0;
    expect(sent + unknown).toBe(ROWS);
    expect(Object.keys(counts).sort()).toEqual(unknown > 0 ? ['sent', 'unknown'] : ['sent']);

    // The stub saw each step's message at most once: zero duplicates at the provider.
    const all = stub.arrivals;
    for (const a of all) {
      expect(a).toMatchObject({
        apiKey: secrets.credentials,
        app: 'AcmeBot',
        source: toWhatsAppId(waba.wabaNumber),
        templateId: 'tpl-welcome',
      });
    }
    const byPhone = new Map<string, GupshupArrival[]>();
    for (const a of all) byPhone.set(a.destination, [...(byPhone.get(a.destination) ?? []), a]);
    const duplicates = [...byPhone.values()].filter((list) => list.length > 1);
    expect(duplicates).toEqual([]);

    const phoneOf = new Map(leads.map((l) => [l.id, toWhatsAppId(l.phone)]));
    const { rows: steps } = await db.query<{
      id: string;
      lead_id: string;
      status: string;
      provider_message_id: string | null;
    }>('SELECT id, lead_id, status, provider_message_id FROM scheduled_follow_ups');
    const stepPhones = new Set(steps.map((s) => phoneOf.get(s.lead_id)));
    expect([...byPhone.keys()].every((phone) => stepPhones.has(phone))).toBe(true);
    let unknownAtStub = 0;
    for (const step of steps) {
      const arrivals = byPhone.get(phoneOf.get(step.lead_id)!) ?? [];
      if (step.status === 'sent') {
        // Sent once, and the result recorded is the stub's own answer to that request.
        expect(arrivals).toHaveLength(1);
        expect(step.provider_message_id).toBe(arrivals[0]!.messageId);
      } else {
        // Unknown: reached the stub at most once, from the killed worker, and never again.
        expect(step.provider_message_id).toBeNull();
        expect(arrivals.every((a) => a.index < byFirst)).toBe(true);
        unknownAtStub += arrivals.length;
      }
    }
    // The unknown steps are exactly the requests whose answer the killed worker never recorded,
    // plus claims it made that never reached the stub; the requests awaiting their answer at the
    // kill are among them. At most one chunk of sends was in flight.
    expect(unknownAtStub).toBe(all.length - sent);
    const statusByPhone = new Map(steps.map((s) => [phoneOf.get(s.lead_id), s.status]));
    expect(awaitingAnswer.length).toBeGreaterThanOrEqual(5);
    expect(awaitingAnswer.map((a) => statusByPhone.get(a.destination))).toEqual(
      awaitingAnswer.map(() => 'unknown'),
    );
    expect(unknown).toBeLessThanOrEqual(CONCURRENCY);
    // The kill landed mid-batch: the killed worker had sent more than it had recorded.
    expect(committedByFirst).toBeLessThan(byFirst);

    // waba's ledger agrees: each sent step's key completed, each unknown step's key unknown.
    const { rows: ledger } = await db.query<{ status: string; keys: string[] }>(
      'SELECT status, array_agg(idempotency_key) AS keys FROM waba_send_ledger GROUP BY status',
    );
    const ledgerKeys = Object.fromEntries(ledger.map((r) => [r.status, new Set(r.keys)]));
    expect(Object.keys(ledgerKeys).sort()).toEqual(unknown > 0 ? ['completed', 'unknown'] : ['completed']);
    expect(ledgerKeys.completed!.size).toBe(sent);
    expect([...(ledgerKeys.unknown ?? [])].sort()).toEqual(
      steps
        .filter((s) => s.status === 'unknown')
        .map((s) => `fu:${s.id}`)
        .sort(),
    );

    // Counted: analytics show them as unknown, apart from sends and failures.
    const analytics = await createPostgresFollowUpStore(db).analytics(tenant.id, 'camp-load');
    expect(analytics.totals).toMatchObject({ enrolled: ROWS, sent, unknown, failed: 0 });
    expect(analytics.steps).toEqual([expect.objectContaining({ stepId: 'hello', sent, unknown, failed: 0 })]);
    const { rows: exits } = await db.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM follow_up_enrolments WHERE exit_reason = 'send_outcome_unknown'",
    );
    expect(exits[0]!.n).toBe(unknown);

    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
    console.info(
      `waba crash test: ${ROWS} rows, ${all.length} requests at the stub (${byFirst} from the killed worker, ` +
        `${awaitingAnswer.length} awaiting their answer at the kill), ${duplicates.length} duplicates, ` +
        `${sent} sent (${committedByFirst} committed before the kill), ${unknown} unknown ` +
        `(${unknownAtStub} of them reached the stub); seeded in ${Math.round(seededMs)} ms, ` +
        `${Math.round(performance.now() - started)} ms in all`,
    );
  }, 150_000);
});
