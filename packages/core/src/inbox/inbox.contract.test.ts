import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { coreMigrations } from '../storage/core-migrations.js';
import { createMemoryStore } from '../storage/memory-store.js';
import { migrate } from '../storage/migrations.js';
import { createPostgresStore } from '../storage/postgres-store.js';
import type { SqlDatabase } from '../storage/sql.js';
import { createManualClock, testDatabases } from '../testing/index.js';
import type { DurableInbox, InboxEvent, InboxEventInput } from './inbox.js';
import { createMemoryInbox } from './memory-inbox.js';
import { createPostgresInbox } from './postgres-inbox.js';

interface InboxHarness {
  inbox: DurableInbox;
  /** A tenant id the inbox accepts (Postgres checks the foreign key). */
  tenant(): Promise<string>;
  db?: SqlDatabase;
  close(): Promise<void>;
}

let seq = 0;
const topic = () => `topic-${++seq}-${Math.random().toString(36).slice(2, 8)}`;
const T0 = new Date('2026-03-01T10:00:00.000Z');
const at = (ms: number) => new Date(T0.getTime() + ms);
const lease = (e: InboxEvent) => ({ id: e.id, attempts: e.attempts });

function inboxContract(name: string, makeHarness: () => Promise<InboxHarness>, concurrency = false) {
  describe(`DurableInbox contract: ${name}`, () => {
    let h: InboxHarness;
    beforeAll(async () => {
      h = await makeHarness();
    });
    afterAll(async () => {
      await h?.close();
    });

    const input = (t: string, tenant: string, dedupeKey: string, orderKey: string, payload: unknown = {}) =>
      ({ topic: t, clientAccountId: tenant, dedupeKey, orderKey, payload }) satisfies InboxEventInput;
    const claim = (
      t: string,
      now: Date,
      extra: { limit?: number; leaseMs?: number; clientAccountId?: string } = {},
    ) =>
      h.inbox.claim({ topic: t, now, leaseMs: extra.leaseMs ?? 60_000, limit: extra.limit ?? 100, ...extra });

    it('records once per dedupe key, in input order, and keeps the payload', async () => {
      const t = topic();
      const tenant = await h.tenant();
      const first = await h.inbox.record(
        [
          input(t, tenant, 'a', 'k1', { text: 'hello', n: 1, nested: { ok: true } }),
          input(t, tenant, 'b', 'k1'),
          input(t, tenant, 'a', 'k1', { text: 'repeat in one call' }),
        ],
        T0,
      );
      expect(first.duplicates).toBe(1);
      expect(first.recorded.map((e) => e.dedupeKey)).toEqual(['a', 'b']);
      expect(BigInt(first.recorded[0]!.id) < BigInt(first.recorded[1]!.id)).toBe(true);
      expect(first.recorded[0]).toMatchObject({
        topic: t,
        clientAccountId: tenant,
        orderKey: 'k1',
        payload: { text: 'hello', n: 1, nested: { ok: true } },
        status: 'pending',
        attempts: 0,
        nextAttemptAt: T0,
        lockedUntil: null,
        receivedAt: T0,
        finishedAt: null,
      });
      const again = await h.inbox.record([input(t, tenant, 'b', 'k1'), input(t, tenant, 'c', 'k2')], at(5));
      expect(again).toMatchObject({ duplicates: 1, recorded: [{ dedupeKey: 'c' }] });
      expect(await h.inbox.record([], T0)).toEqual({ recorded: [], duplicates: 0 });
    });

    it('scopes dedupe keys by topic and tenant', async () => {
      const t = topic();
      const [a, b] = [await h.tenant(), await h.tenant()];
      const result = await h.inbox.record(
        [input(t, a, 'same', 'k'), input(t, b, 'same', 'k'), input(topic(), a, 'same', 'k')],
        T0,
      );
      expect(result.recorded).toHaveLength(3);
      expect(result.duplicates).toBe(0);
    });

    it('hands out only the head of each order key, keys in parallel', async () => {
      const t = topic();
      const tenant = await h.tenant();
      await h.inbox.record(
        [
          input(t, tenant, 'm1', 'lead-a'),
          input(t, tenant, 'm2', 'lead-a'),
          input(t, tenant, 'm3', 'lead-b'),
          input(t, tenant, 'm4', 'lead-a'),
        ],
        T0,
      );
      const first = await claim(t, T0);
      expect(first.map((e) => e.dedupeKey)).toEqual(['m1', 'm3']);
      expect(first[0]).toMatchObject({ status: 'processing', attempts: 1, lockedUntil: at(60_000) });
      // Nothing more while both heads are held.
      expect(await claim(t, at(1))).toEqual([]);
      expect(await h.inbox.complete(lease(first[0]!), at(2))).toBe(true);
      expect((await claim(t, at(3))).map((e) => e.dedupeKey)).toEqual(['m2']);
      const done = await h.inbox.get(t, first[0]!.id);
      expect(done).toMatchObject({ status: 'done', lockedUntil: null, finishedAt: at(2) });
    });

    it('honours the limit and the tenant filter', async () => {
      const t = topic();
      const [a, b] = [await h.tenant(), await h.tenant()];
      await h.inbox.record(
        [input(t, a, '1', 'x'), input(t, a, '2', 'y'), input(t, b, '3', 'x'), input(t, a, '4', 'z')],
        T0,
      );
      expect((await claim(t, T0, { limit: 2 })).map((e) => e.dedupeKey)).toEqual(['1', '2']);
      // The same order key in another tenant is another key.
      expect((await claim(t, T0, { clientAccountId: b })).map((e) => e.dedupeKey)).toEqual(['3']);
      expect((await claim(t, T0, { clientAccountId: a })).map((e) => e.dedupeKey)).toEqual(['4']);
    });

    it('retries later: the key waits for its head, then goes on', async () => {
      const t = topic();
      const tenant = await h.tenant();
      await h.inbox.record([input(t, tenant, 'first', 'k'), input(t, tenant, 'second', 'k')], T0);
      const [head] = await claim(t, T0);
      expect(
        await h.inbox.retryLater(lease(head!), {
          error: 'provider down',
          nextAttemptAt: at(10_000),
          now: at(1),
        }),
      ).toBe(true);
      expect(await h.inbox.get(t, head!.id)).toMatchObject({
        status: 'pending',
        lastError: 'provider down',
        nextAttemptAt: at(10_000),
        lockedUntil: null,
      });
      // The second event never overtakes the first, even while the first waits.
      expect(await claim(t, at(5_000))).toEqual([]);
      const retried = await claim(t, at(10_000));
      expect(retried.map((e) => [e.dedupeKey, e.attempts])).toEqual([['first', 2]]);
      expect(await h.inbox.complete(lease(retried[0]!), at(10_001))).toBe(true);
      expect((await claim(t, at(10_002))).map((e) => e.dedupeKey)).toEqual(['second']);
    });

    it('dead-letters: the key goes on without it, and requeue brings it back', async () => {
      const t = topic();
      const tenant = await h.tenant();
      await h.inbox.record([input(t, tenant, 'poison', 'k'), input(t, tenant, 'next', 'k')], T0);
      const [poison] = await claim(t, T0);
      expect(await h.inbox.deadLetter(lease(poison!), { error: 'bad payload', now: at(1) })).toBe(true);
      const [next] = await claim(t, at(2));
      expect(next!.dedupeKey).toBe('next');
      expect(await h.inbox.count({ topic: t })).toEqual({
        pending: 0,
        processing: 1,
        done: 0,
        dead: 1,
        unparsed: 0,
      });
      expect((await h.inbox.list({ topic: t, status: 'dead' })).map((e) => e.lastError)).toEqual([
        'bad payload',
      ]);
      expect(await h.inbox.requeue({ topic: t, now: at(3) })).toBe(1);
      // Back at the head of its key, but the key is busy with `next` until that finishes.
      expect(await claim(t, at(4))).toEqual([]);
      await h.inbox.complete(lease(next!), at(5));
      const [again] = await claim(t, at(6));
      expect(again).toMatchObject({ dedupeKey: 'poison', attempts: 2, finishedAt: null });
      // The first lease on it stays fenced off after the requeue.
      expect(await h.inbox.complete(lease(poison!), at(7))).toBe(false);
      expect(await h.inbox.requeue({ topic: t, now: at(7), ids: ['not-a-number'] })).toBe(0);
    });

    it('lists in recording order where ids gain a digit', async () => {
      const t = topic();
      const tenant = await h.tenant();
      await h.inbox.record(
        Array.from({ length: 100 }, (_, i) => input(t, tenant, `e${i}`, `k${i}`)),
        T0,
      );
      expect((await h.inbox.list({ topic: t, limit: 100 })).map((e) => e.dedupeKey)).toEqual(
        Array.from({ length: 100 }, (_, i) => `e${i}`),
      );
    });

    it('fences an expired lease: the row is claimed again and the old holder cannot finish it', async () => {
      const t = topic();
      const tenant = await h.tenant();
      await h.inbox.record([input(t, tenant, 'slow', 'k'), input(t, tenant, 'after', 'k')], T0);
      const [held] = await claim(t, T0, { leaseMs: 1_000 });
      expect(await claim(t, at(999))).toEqual([]);
      const [retaken] = await claim(t, at(1_000), { leaseMs: 1_000 });
      expect(retaken).toMatchObject({ id: held!.id, attempts: 2 });
      expect(await h.inbox.complete(lease(held!), at(1_001))).toBe(false);
      expect(await h.inbox.retryLater(lease(held!), { error: 'x', nextAttemptAt: at(0), now: at(0) })).toBe(
        false,
      );
      expect(await h.inbox.deadLetter(lease(held!), { error: 'x', now: at(0) })).toBe(false);
      expect(await h.inbox.complete(lease(retaken!), at(1_002))).toBe(true);
      expect((await claim(t, at(1_003))).map((e) => e.dedupeKey)).toEqual(['after']);
    });

    it('keeps unparsed bodies out of processing and counts them', async () => {
      const t = topic();
      const tenant = await h.tenant();
      const { recorded } = await h.inbox.record(
        [
          { ...input(t, tenant, 'raw', 'k', { body: '{"weird":1}' }), status: 'unparsed' },
          input(t, tenant, 'ok', 'k'),
        ],
        T0,
      );
      expect(recorded[0]).toMatchObject({ status: 'unparsed', finishedAt: T0 });
      expect((await claim(t, T0)).map((e) => e.dedupeKey)).toEqual(['ok']);
      expect((await h.inbox.count({ topic: t, clientAccountId: tenant })).unparsed).toBe(1);
    });

    it('purges finished events older than the cut-off; pending and dead ones stay by default', async () => {
      const t = topic();
      const tenant = await h.tenant();
      await h.inbox.record(
        [input(t, tenant, 'old', 'a'), input(t, tenant, 'dead', 'b'), input(t, tenant, 'open', 'c')],
        T0,
      );
      const [old, dead] = await claim(t, T0, { limit: 2 });
      await h.inbox.complete(lease(old!), at(1));
      await h.inbox.deadLetter(lease(dead!), { error: 'x', now: at(1) });
      expect(await h.inbox.purge({ before: at(1), topic: t })).toBe(0);
      expect(await h.inbox.purge({ before: at(2), topic: t })).toBe(1);
      expect(await h.inbox.get(t, old!.id)).toBeNull();
      // A purged key is forgotten: the same delivery records again.
      expect((await h.inbox.record([input(t, tenant, 'old', 'a')], at(3))).recorded).toHaveLength(1);
      expect(await h.inbox.purge({ before: at(2), topic: t, statuses: ['dead'] })).toBe(1);
      expect((await h.inbox.list({ topic: t, limit: 100 })).map((e) => e.dedupeKey)).toEqual(['open', 'old']);
    });

    it('answers null for an event of another topic or a malformed id', async () => {
      const t = topic();
      const tenant = await h.tenant();
      const { recorded } = await h.inbox.record([input(t, tenant, 'x', 'k')], T0);
      expect(await h.inbox.get(t, recorded[0]!.id)).not.toBeNull();
      expect(await h.inbox.get(topic(), recorded[0]!.id)).toBeNull();
      expect(await h.inbox.get(t, 'nope')).toBeNull();
    });

    it.runIf(concurrency)(
      'applies each key in order and never two of one key at once, across parallel claimers',
      async () => {
        const t = topic();
        const tenant = await h.tenant();
        const keys = 12;
        const perKey = 15;
        const inputs: InboxEventInput[] = [];
        for (let i = 0; i < perKey; i++) {
          for (let k = 0; k < keys; k++) inputs.push(input(t, tenant, `e-${k}-${i}`, `key-${k}`, { k, i }));
        }
        await h.inbox.record(inputs, T0);
        const applied = new Map<number, number[]>();
        const busy = new Set<number>();
        let overlaps = 0;
        const worker = async () => {
          for (;;) {
            const batch = await h.inbox.claim({ topic: t, now: new Date(), leaseMs: 60_000, limit: 4 });
            if (batch.length === 0) {
              const counts = await h.inbox.count({ topic: t });
              if (counts.pending + counts.processing === 0) return;
              await new Promise((r) => setTimeout(r, 2));
              continue;
            }
            await Promise.all(
              batch.map(async (event) => {
                const { k, i } = event.payload as { k: number; i: number };
                if (busy.has(k)) overlaps++;
                busy.add(k);
                await new Promise((r) => setTimeout(r, Math.random() * 3));
                applied.set(k, [...(applied.get(k) ?? []), i]);
                busy.delete(k);
                expect(await h.inbox.complete(lease(event), new Date())).toBe(true);
              }),
            );
          }
        };
        await Promise.all(Array.from({ length: 6 }, worker));
        expect(overlaps).toBe(0);
        for (let k = 0; k < keys; k++) {
          expect(applied.get(k)).toEqual(Array.from({ length: perKey }, (_, i) => i));
        }
      },
    );
  });
}

inboxContract('memory', async () => {
  const store = createMemoryStore({ clock: createManualClock(T0) });
  return {
    inbox: createMemoryInbox(),
    tenant: async () => (await store.tenants.create({ name: 'Inbox tenant' })).id,
    close: async () => {},
  };
});

for (const factory of testDatabases()) {
  inboxContract(
    factory.name,
    async () => {
      const db = await factory.create();
      await migrate(db, coreMigrations);
      const store = createPostgresStore(db);
      return {
        inbox: createPostgresInbox(db),
        tenant: async () => (await store.tenants.create({ name: 'Inbox tenant' })).id,
        db,
        close: () => db.close(),
      };
    },
    factory.name === 'postgres',
  );
}
