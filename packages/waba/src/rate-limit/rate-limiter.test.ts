import { readFileSync } from 'node:fs';
import { coreMigrations, createPostgresStore, migrate, StorageError } from '@leadrelay/core';
import { postgresTestDatabase, testDatabases } from '@leadrelay/core/testing';
import { describe, expect, it } from 'vitest';
import { createHarness, leadWrote, serve } from '../../test/harness.js';
import { busiestWindow, raisePriority, startThroughputStub } from '../../test/throughput-stub.js';
import { wabaMigrations } from '../store/waba-migrations.js';
import { createRateLimiter, RateLimitTimeoutError } from './rate-limiter.js';

const accepted = readFileSync(
  new URL('../../../../../shared/fixtures/cloud-send-accepted.json', import.meta.url),
  'utf8',
);
const throughputError = readFileSync(
  new URL('../../../../../shared/fixtures/cloud-send-error-130429.json', import.meta.url),
  'utf8',
);

describe('rate limiter: burst through the client against a throughput-limited stub', () => {
  it('400 messages at 100/s: the measured rate is within 5% and nothing is answered 429', async () => {
    const restorePriority = raisePriority();
    const stub = await startThroughputStub({ limit: 100, accepted, error: throughputError });
    try {
      const h = await createHarness({
        provider: 'cloud_api',
        graphBaseUrl: stub.url,
        client: { rateLimit: { messagesPerSecond: 100, windowMarginMs: Number(process.env.MARGIN ?? 25) } },
      });
      await leadWrote(h, '+919845012345', 1);
      // A running server has its code paths warm: one send first, then a quiet second, then the burst.
      await h.client.send({
        tenant: h.tenant.id,
        to: '+919845012345',
        message: { type: 'text', text: 'warm-up' },
      });
      await new Promise((resolve) => setTimeout(resolve, 1100));
      await stub.reset();
      const sends = Array.from({ length: 400 }, (_, i) =>
        h.client.send({
          tenant: h.tenant.id,
          to: '+919845012345',
          message: { type: 'text', text: `Update ${i}` },
        }),
      );
      const results = await Promise.all(sends);
      expect(new Set(results.map((r) => r.providerMessageId)).size).toBe(400);
      const { arrivals, rejected, rejections } = await stub.stats();
      // Over the whole run: 400 messages in (last − first) seconds.
      const rate = (arrivals.length - 1) / ((arrivals.at(-1)! - arrivals[0]!) / 1000);
      const facts = `rate ${rate.toFixed(1)}/s, busiest second ${busiestWindow(arrivals, 1000)}, 429s ${rejected} at ${JSON.stringify(rejections.map(([i, t]) => [i, Math.round(t)]))}`;
      expect(rejected, facts).toBe(0);
      expect(arrivals).toHaveLength(400);
      expect(rate).toBeGreaterThanOrEqual(95);
      expect(rate).toBeLessThanOrEqual(105);
      expect(busiestWindow(arrivals, 1000)).toBeLessThanOrEqual(100);
    } finally {
      await stub.close();
      restorePriority();
    }
  }, 20_000);
});

/** A number of the tenant the unit tests use. */
const on = (number: string) => ({ clientAccountId: 'tenant-1', number });

describe('createRateLimiter', () => {
  it('lets a burst through at once, then paces first come first served', async () => {
    const limiter = createRateLimiter({ messagesPerSecond: 50, burst: 2 });
    const started = performance.now();
    const order: number[] = [];
    const times: number[] = [];
    await Promise.all(
      Array.from({ length: 7 }, (_, i) =>
        limiter.acquire(on('+919000000001')).then(() => {
          order.push(i);
          times.push(performance.now() - started);
        }),
      ),
    );
    expect(order).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(times[1]!).toBeLessThan(30);
    // Five more at 50/s take 100 ms; late timers are made up, not added up.
    expect(times[6]!).toBeGreaterThanOrEqual(95);
    expect(times[6]!).toBeLessThan(140);
  });

  it('never lets more than the rate through in any second, whatever the burst', async () => {
    const limiter = createRateLimiter({ messagesPerSecond: 40, burst: 30 });
    const times: number[] = [];
    await Promise.all(
      Array.from({ length: 90 }, () => limiter.acquire(on('n')).then(() => times.push(performance.now()))),
    );
    expect(busiestWindow(times, 1000)).toBeLessThanOrEqual(40);
    // 90 messages, at most 40 per 1.02 s: the last cannot leave before two full windows.
    expect(times.at(-1)! - times[0]!).toBeGreaterThanOrEqual(2 * 1000);
  }, 10_000);

  it('keeps one bucket per number, with its own rate', async () => {
    const limiter = createRateLimiter({ messagesPerSecond: 10, burst: 1 });
    await limiter.acquire(on('a'));
    const started = performance.now();
    const pending = limiter.acquire(on('a'));
    expect(limiter.pending(on('a'))).toBe(1);
    await limiter.acquire(on('b'));
    expect(performance.now() - started).toBeLessThan(20);
    await pending;
    expect(performance.now() - started).toBeGreaterThanOrEqual(90);
    await limiter.acquire({ ...on('fast'), messagesPerSecond: 1000 });
    const fastStart = performance.now();
    await limiter.acquire({ ...on('fast'), messagesPerSecond: 1000 });
    expect(performance.now() - fastStart).toBeLessThan(20);
  });

  it('holds a send that tokens would allow until the window has room (controlled time)', async () => {
    let now = 0;
    const limiter = createRateLimiter({ messagesPerSecond: 2, burst: 2, windowMarginMs: 0, now: () => now });
    await limiter.acquire(on('x'));
    await limiter.acquire(on('x'));
    now = 600; // 1.2 tokens again, but both sends of this second are used
    let third = false;
    const pending = limiter.acquire(on('x')).then(() => {
      third = true;
    });
    await new Promise((r) => setTimeout(r, 50));
    expect(third).toBe(false);
    expect(limiter.pending(on('x'))).toBe(1);
    now = 1000;
    await pending;
    expect(third).toBe(true);
  });

  it('gives up after maxWaitMs, and the waiters behind still get their turn', async () => {
    const limiter = createRateLimiter({ messagesPerSecond: 10, burst: 1, maxWaitMs: 150 });
    await limiter.acquire(on('m'));
    const second = limiter.acquire(on('m'));
    const third = limiter.acquire(on('m'));
    // The second is due after 100 ms and goes; the third would need 200 ms.
    await expect(second).resolves.toBeUndefined();
    const failure = await third.then(
      () => null,
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(RateLimitTimeoutError);
    expect(failure).toMatchObject({ code: 'rate_limit_timeout', status: 503, retryable: true });
    expect(limiter.pending(on('m'))).toBe(0);
  });

  it('an aborted wait leaves the queue with the signal’s reason', async () => {
    const limiter = createRateLimiter({ messagesPerSecond: 10, burst: 1 });
    await limiter.acquire(on('s'));
    const controller = new AbortController();
    const aborted = limiter.acquire({ ...on('s'), signal: controller.signal });
    const next = limiter.acquire(on('s'));
    expect(limiter.pending(on('s'))).toBe(2);
    const started = performance.now();
    controller.abort(new Error('shutting down'));
    await expect(aborted).rejects.toThrow('shutting down');
    expect(limiter.pending(on('s'))).toBe(1);
    // The next waiter takes the token the aborted one would have had.
    await next;
    expect(performance.now() - started).toBeLessThan(150);
    const already = AbortSignal.abort(new Error('too late'));
    await expect(limiter.acquire({ ...on('s'), signal: already })).rejects.toThrow('too late');
  });

  it('fails its waiters when the store fails, rather than letting them through', async () => {
    const limiter = createRateLimiter({
      store: {
        take: async () => {
          throw new StorageError('Database request failed');
        },
      },
    });
    const waits = [limiter.acquire(on('d')), limiter.acquire(on('d'))];
    for (const wait of waits) await expect(wait).rejects.toBeInstanceOf(StorageError);
    expect(limiter.pending(on('d'))).toBe(0);
  });

  it('rejects nonsense settings', () => {
    for (const options of [
      { messagesPerSecond: 0 },
      { burst: 0.5 },
      { windowMarginMs: -1 },
      { maxWaitMs: -1 },
    ]) {
      expect(() => createRateLimiter(options)).toThrow(
        expect.objectContaining({ name: 'ConfigurationError', code: 'rate_limit_invalid', status: 500 }),
      );
    }
  });
});

describe('the client and its rate limiter', () => {
  it('a send that fails waiting for its turn reached nobody: its idempotency key is free again', async () => {
    let calls = 0;
    const h = await createHarness({
      provider: 'cloud_api',
      client: {
        rateLimit: {
          store: {
            take: async () => {
              calls++;
              throw new StorageError('Database request failed');
            },
          },
        },
      },
    });
    await leadWrote(h, '+919845012345', 1);
    const request = {
      tenant: h.tenant.id,
      to: '+919845012345',
      message: { type: 'text' as const, text: 'Your visit is on Saturday.' },
      idempotencyKey: 'visit:1',
    };
    await expect(h.client.send(request)).rejects.toBeInstanceOf(StorageError);
    expect(calls).toBe(1);
    const claim = await h.client.wabaStore.sendLedger.claim({
      clientAccountId: h.tenant.id,
      idempotencyKey: 'visit:1',
      requestHash: 'another',
      now: h.clock.now(),
      leaseMs: 1000,
    });
    expect(claim.state).toBe('claimed');
  });

  // The wiring is the same whatever the database: real Postgres when there is one, else PGlite.
  const factory = postgresTestDatabase() ?? testDatabases()[0]!;
  it(`over a ${factory.name} database, sends take their tokens from the shared buckets`, async () => {
    const db = await factory.create();
    let sent = 0;
    const provider = await serve(
      async () =>
        new Response(accepted.replace('ERgSQjRCMDQ', `ERgS${++sent}`), {
          headers: { 'content-type': 'application/json' },
        }),
    );
    try {
      await migrate(db, [...coreMigrations, ...wabaMigrations]);
      const h = await createHarness({
        provider: 'cloud_api',
        store: createPostgresStore(db),
        graphBaseUrl: provider.url,
        client: { db },
      });
      await leadWrote(h, '+919845012345', 1);
      for (const text of ['one', 'two'])
        await h.client.send({ tenant: h.tenant.id, to: '+919845012345', message: { type: 'text', text } });
      const { rows } = await db.query<{ client_account_id: string; sender_number: string; n: number }>(
        'SELECT client_account_id, sender_number, cardinality(sent_at) AS n FROM waba_rate_limits',
      );
      expect(rows).toEqual([{ client_account_id: h.tenant.id, sender_number: h.waba.wabaNumber, n: 2 }]);
    } finally {
      await provider.close();
      await db.close();
    }
  });
});
