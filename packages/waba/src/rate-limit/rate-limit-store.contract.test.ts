import { coreMigrations, createPostgresStore, migrate, type SqlDatabase } from '@leadrelay/core';
import { testDatabases } from '@leadrelay/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { wabaMigrations } from '../store/waba-migrations.js';
import { createMemoryRateLimitStore } from './memory-rate-limit-store.js';
import { createPostgresRateLimitStore } from './postgres-rate-limit-store.js';
import type { RateLimitStore, RateLimitTakeInput } from './rate-limit-store.js';

interface Harness {
  name: string;
  setup(): Promise<{
    store: RateLimitStore;
    tenants: string[];
    db: SqlDatabase | null;
    close(): Promise<void>;
  }>;
}

const harnesses: Harness[] = [
  {
    name: 'memory',
    setup: async () => ({
      store: createMemoryRateLimitStore(),
      tenants: ['tenant-one', 'tenant-two'],
      db: null,
      close: async () => {},
    }),
  },
  ...testDatabases().map((factory) => ({
    name: factory.name,
    setup: async () => {
      const db = await factory.create();
      await migrate(db, [...coreMigrations, ...wabaMigrations]);
      // Buckets belong to tenants: the rows reference client_accounts.
      const core = createPostgresStore(db);
      const tenants = [];
      for (const name of ['One Realty', 'Two Realty']) tenants.push((await core.tenants.create({ name })).id);
      return { store: createPostgresRateLimitStore(db), tenants, db, close: () => db.close() };
    },
  })),
];

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
let numbers = 0;
/** A number no other test has used, so every test starts from a rested bucket. */
const freshNumber = () => `+91900000${String(++numbers).padStart(4, '0')}`;

for (const harness of harnesses) {
  describe(`RateLimitStore contract: ${harness.name}`, () => {
    let store: RateLimitStore;
    let tenants: string[];
    let db: SqlDatabase | null;
    let close: () => Promise<void>;
    beforeAll(async () => {
      ({ store, tenants, db, close } = await harness.setup());
    });
    afterAll(async () => close());

    const bucket = (overrides: Partial<RateLimitTakeInput> = {}): RateLimitTakeInput => ({
      clientAccountId: tenants[0]!,
      number: freshNumber(),
      want: 1,
      messagesPerSecond: 10,
      burst: 3,
      windowLimit: 10,
      windowMs: 1025,
      ...overrides,
    });

    it('a rested bucket grants its burst at once, then says when the next token is due', async () => {
      const input = bucket({ want: 5 });
      const first = await store.take(input);
      expect(first.granted).toBe(3);
      // Empty at 10/s: the next token is 100 ms away.
      expect(first.waitMs).toBeGreaterThan(80);
      expect(first.waitMs).toBeLessThanOrEqual(100);
      const second = await store.take(input);
      expect(second.granted).toBe(0);
      expect(second.waitMs).toBeGreaterThan(0);
      expect(second.waitMs).toBeLessThanOrEqual(first.waitMs);
    });

    it('grants no more than wanted, and refills with time', async () => {
      const input = bucket({ burst: 2 });
      expect(await store.take(input)).toEqual({ granted: 1, waitMs: 0 });
      expect((await store.take({ ...input, want: 5 })).granted).toBe(1);
      expect((await store.take(input)).granted).toBe(0);
      // 2 tokens at 10/s take 200 ms.
      await sleep(210);
      expect((await store.take({ ...input, want: 5 })).granted).toBe(2);
    });

    it('the window holds a take that tokens would allow', async () => {
      // 5/s with a burst of 5: five at once fill the window for a second.
      const input = bucket({ want: 5, messagesPerSecond: 5, burst: 5, windowLimit: 5, windowMs: 1000 });
      const first = await store.take(input);
      expect(first.granted).toBe(5);
      expect(first.waitMs).toBeGreaterThan(950);
      await sleep(250);
      // A token is back (5/s), but five went within the last second: the wait is the window's.
      const second = await store.take(input);
      expect(second.granted).toBe(0);
      expect(second.waitMs).toBeGreaterThan(400);
      expect(second.waitMs).toBeLessThanOrEqual(750);
    });

    it('keeps one bucket per tenant and number', async () => {
      const input = bucket({ burst: 1 });
      expect((await store.take(input)).granted).toBe(1);
      expect((await store.take(input)).granted).toBe(0);
      expect((await store.take({ ...input, number: freshNumber() })).granted).toBe(1);
      expect((await store.take({ ...input, clientAccountId: tenants[1]! })).granted).toBe(1);
    });

    it('concurrent takes never share a token', async () => {
      const input = bucket({ burst: 10, messagesPerSecond: 1, windowLimit: 1000 });
      const takes = await Promise.all(Array.from({ length: 40 }, () => store.take(input)));
      expect(takes.reduce((n, t) => n + t.granted, 0)).toBe(10);
    });

    it.skipIf(harness.name === 'memory')('a deleted tenant takes its buckets along', async () => {
      const input = bucket({ clientAccountId: tenants[1]! });
      await store.take(input);
      await db!.query('DELETE FROM client_accounts WHERE id = $1', [tenants[1]]);
      const { rows } = await db!.query('SELECT 1 FROM waba_rate_limits WHERE client_account_id = $1', [
        tenants[1],
      ]);
      expect(rows).toHaveLength(0);
    });
  });
}
