import { describe, expect, it } from 'vitest';
import { ValidationError } from '../errors/errors.js';
import { createManualClock } from '../observability/clock.js';
import type { InboxEvent } from './inbox.js';
import { createInboxProcessor, type InboxHandler } from './inbox-processor.js';
import { createMemoryInbox } from './memory-inbox.js';

const T0 = new Date('2026-03-01T10:00:00.000Z');

function setup(handle: InboxHandler, extra: { maxAttempts?: number } = {}) {
  const clock = createManualClock(T0);
  const inbox = createMemoryInbox();
  const processor = createInboxProcessor({
    inbox,
    topic: 'test',
    handle,
    clock,
    retryMinDelayMs: 1_000,
    retryMaxDelayMs: 1_000,
    ...extra,
  });
  const record = (...keys: [string, string][]) =>
    inbox.record(
      keys.map(([dedupeKey, orderKey]) => ({
        topic: 'test',
        clientAccountId: 'tenant',
        dedupeKey,
        orderKey,
        payload: { dedupeKey },
      })),
      clock.now(),
    );
  return { clock, inbox, processor, record };
}

describe('createInboxProcessor', () => {
  it('applies every due event, one key at a time in order, and marks it done', async () => {
    const seen: string[] = [];
    const { processor, record, inbox } = setup(async (e) => {
      seen.push(e.dedupeKey);
    });
    await record(['a1', 'a'], ['b1', 'b'], ['a2', 'a'], ['a3', 'a']);
    expect(await processor.drain()).toEqual({ done: 4, retried: 0, dead: 0, lost: 0 });
    expect(seen.filter((k) => k.startsWith('a'))).toEqual(['a1', 'a2', 'a3']);
    expect((await inbox.count({ topic: 'test' })).done).toBe(4);
  });

  it('retries a throwing handler with backoff, then dead-letters after the last attempt', async () => {
    let calls = 0;
    const { processor, record, inbox, clock } = setup(
      async () => {
        calls++;
        throw new Error('database down');
      },
      { maxAttempts: 3 },
    );
    await record(['x', 'k'], ['after', 'k']);
    expect(await processor.drain()).toMatchObject({ retried: 1, dead: 0 });
    // Not due before its backoff ends; the key's next event waits too.
    expect(await processor.drain()).toMatchObject({ done: 0, retried: 0 });
    clock.advance(1_000);
    expect(await processor.drain()).toMatchObject({ retried: 1 });
    clock.advance(1_000);
    expect(await processor.drain()).toMatchObject({ dead: 1 });
    const [dead] = await inbox.list({ topic: 'test', status: 'dead' });
    expect(dead).toMatchObject({ dedupeKey: 'x', attempts: 3, lastError: 'Error: database down' });
    expect(calls).toBe(4);
  });

  it('dead-letters a permanent error at once and goes on with the key', async () => {
    const handled: string[] = [];
    const { processor, record } = setup(async (e: InboxEvent) => {
      if (e.dedupeKey === 'bad') throw new ValidationError('unreadable payload');
      handled.push(e.dedupeKey);
    });
    await record(['bad', 'k'], ['good', 'k']);
    expect(await processor.drain()).toEqual({ done: 1, retried: 0, dead: 1, lost: 0 });
    expect(handled).toEqual(['good']);
  });

  it('waits as long as the handler asks when it answers with a retry', async () => {
    let ready = false;
    const { processor, record, clock, inbox } = setup(async () =>
      ready ? undefined : { retryAfterMs: 5_000, reason: 'message not stored yet' },
    );
    await record(['status', 'k']);
    expect(await processor.drain()).toMatchObject({ retried: 1 });
    expect((await inbox.list({ topic: 'test' }))[0]).toMatchObject({
      lastError: 'message not stored yet',
      nextAttemptAt: new Date(T0.getTime() + 5_000),
    });
    ready = true;
    clock.advance(5_000);
    expect(await processor.drain()).toMatchObject({ done: 1 });
  });

  it('counts an event whose lease was lost instead of completing it', async () => {
    const { processor, record, inbox, clock } = setup(async () => {
      // Another process takes the event over while this one is still applying it.
      clock.advance(200_000);
      await inbox.claim({ topic: 'test', now: clock.now(), leaseMs: 60_000, limit: 1 });
    });
    await record(['slow', 'k']);
    const result = await processor.drain();
    expect(result).toMatchObject({ done: 0, lost: 1 });
    expect((await inbox.list({ topic: 'test' }))[0]).toMatchObject({ status: 'processing', attempts: 2 });
  });

  it('runs in the background once started, wakes on demand and stops cleanly', async () => {
    const seen: string[] = [];
    const { processor, record } = setup(async (e) => {
      seen.push(e.dedupeKey);
    });
    processor.start({ pollIntervalMs: 60_000 });
    await record(['late', 'k']);
    processor.wake();
    await expect.poll(() => seen, { timeout: 2_000 }).toEqual(['late']);
    await processor.stop();
    await record(['after-stop', 'k']);
    processor.wake();
    await new Promise((r) => setTimeout(r, 50));
    expect(seen).toEqual(['late']);
  });
});
