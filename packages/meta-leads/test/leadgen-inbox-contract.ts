import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { LeadgenEventInput, LeadgenInbox } from '../src/inbox/leadgen-inbox.js';

/**
 * The behaviour every LeadgenInbox must have, run against the memory inbox,
 * PGlite and real Postgres. `concurrent` adds the tests that need parallel
 * sessions (real Postgres only: PGlite is one connection).
 */
export interface InboxHarness {
  /** An empty inbox (the database is shared by the suite and emptied each time). */
  fresh(): Promise<LeadgenInbox>;
  close(): Promise<void>;
}

const T0 = new Date('2026-11-25T09:00:00.000Z');
const at = (ms: number) => new Date(T0.getTime() + ms);

export function event(leadgenId: string, overrides: Partial<LeadgenEventInput> = {}): LeadgenEventInput {
  return {
    clientAccountId: 'tenant-a',
    leadgenId,
    pageId: '1110000000001',
    formId: '770000000000001',
    adId: '23850000000001',
    adgroupId: null,
    payload: { leadgen_id: leadgenId, note: 'José ₹ 😀' },
    ...overrides,
  };
}

export function describeLeadgenInboxContract(
  name: string,
  create: () => Promise<InboxHarness>,
  options: { concurrent?: boolean } = {},
): void {
  describe(`LeadgenInbox contract: ${name}`, () => {
    let harness: InboxHarness;
    let inbox: LeadgenInbox;
    beforeAll(async () => {
      harness = await create();
    });
    beforeEach(async () => {
      inbox = await harness.fresh();
    });
    afterAll(async () => {
      await harness?.close();
    });

    it('records new events once and returns only the ones it inserted', async () => {
      const first = await inbox.record([event('9000000000000001'), event('9000000000000002')], T0);
      expect(first.map((e) => e.leadgenId).sort()).toEqual(['9000000000000001', '9000000000000002']);
      expect(first[0]).toMatchObject({
        status: 'pending',
        attempts: 0,
        leadId: null,
        leadCreated: null,
        lastError: null,
      });
      expect(first[0]!.nextAttemptAt.toISOString()).toBe(T0.toISOString());

      const again = await inbox.record([event('9000000000000002'), event('9000000000000003')], at(1000));
      expect(again.map((e) => e.leadgenId)).toEqual(['9000000000000003']);
    });

    it('drops duplicates inside one batch and keeps tenants apart', async () => {
      const inserted = await inbox.record(
        [
          event('9000000000000001'),
          event('9000000000000001'),
          event('9000000000000001', { clientAccountId: 'tenant-b' }),
        ],
        T0,
      );
      expect(inserted.map((e) => `${e.clientAccountId}/${e.leadgenId}`).sort()).toEqual([
        'tenant-a/9000000000000001',
        'tenant-b/9000000000000001',
      ]);
      expect(await inbox.record([], T0)).toEqual([]);
    });

    it('stores every field, ids as exact strings and the payload as JSON', async () => {
      const input = event('123456789012345678901', { adgroupId: '23850000000002', formId: null, adId: null });
      await inbox.record([input], T0);
      const stored = await inbox.get({ clientAccountId: 'tenant-a', leadgenId: '123456789012345678901' });
      expect(stored).toMatchObject({
        leadgenId: '123456789012345678901',
        pageId: '1110000000001',
        formId: null,
        adId: null,
        adgroupId: '23850000000002',
        payload: input.payload,
      });
      expect(stored!.createdAt.toISOString()).toBe(T0.toISOString());
      expect(await inbox.get({ clientAccountId: 'tenant-b', leadgenId: '123456789012345678901' })).toBeNull();
    });

    it('claims due events under a lease, and a lost lease cannot complete', async () => {
      await inbox.record([event('1'), event('2')], T0);
      const claimed = await inbox.claim({ now: at(10), leaseMs: 60_000, limit: 10 });
      expect(claimed).toHaveLength(2);
      for (const e of claimed) {
        expect(e.status).toBe('processing');
        expect(e.attempts).toBe(1);
        expect(e.lockedUntil!.toISOString()).toBe(at(60_010).toISOString());
      }
      expect(await inbox.claim({ now: at(20), leaseMs: 60_000, limit: 10 })).toEqual([]);

      // The lease runs out: another worker takes the row over.
      const reclaimed = await inbox.claim({ now: at(60_010), leaseMs: 60_000, limit: 1 });
      expect(reclaimed).toHaveLength(1);
      const row = reclaimed[0]!;
      expect(row.attempts).toBe(2);
      const stale = { clientAccountId: row.clientAccountId, leadgenId: row.leadgenId, attempts: 1 };
      expect(await inbox.complete(stale, { leadId: 'lead-x', now: at(60_020) })).toBe(false);
      const current = { ...stale, attempts: 2 };
      expect(await inbox.complete(current, { leadId: 'lead-1', now: at(60_030) })).toBe(true);
      expect(await inbox.get(current)).toMatchObject({ status: 'done', leadId: 'lead-1', lockedUntil: null });
      expect(await inbox.complete(current, { leadId: 'lead-2', now: at(60_040) })).toBe(false);
    });

    it('attaches the lead under the lease and keeps it through retries, parking and requeueing', async () => {
      await inbox.record([event('1')], T0);
      const key = { clientAccountId: 'tenant-a', leadgenId: '1' };
      // Not claimed: there is no lease to attach under.
      expect(
        await inbox.attachLead({ ...key, attempts: 0 }, { leadId: 'lead-0', created: true, now: at(1) }),
      ).toBe(false);

      const [claimed] = await inbox.claim({ now: at(10), leaseMs: 1000, limit: 1 });
      const lease = { ...key, attempts: claimed!.attempts };
      expect(await inbox.attachLead(lease, { leadId: 'lead-1', created: true, now: at(20) })).toBe(true);
      const attached = await inbox.get(key);
      expect(attached).toMatchObject({ status: 'processing', leadId: 'lead-1', leadCreated: true });
      expect(attached!.updatedAt.toISOString()).toBe(at(20).toISOString());

      // The hook failed: the event waits for its retry with the lead still recorded.
      await inbox.retryLater(lease, { error: 'hook: down', nextAttemptAt: at(100), now: at(30) });
      expect(await inbox.get(key)).toMatchObject({ status: 'pending', leadId: 'lead-1', leadCreated: true });
      const [retry] = await inbox.claim({ now: at(100), leaseMs: 1000, limit: 1 });
      expect(retry).toMatchObject({ attempts: 2, leadId: 'lead-1', leadCreated: true });

      // The first lease is gone: it can no longer attach (nor overwrite) a lead.
      expect(await inbox.attachLead(lease, { leadId: 'lead-x', created: false, now: at(110) })).toBe(false);
      expect(await inbox.get(key)).toMatchObject({ leadId: 'lead-1', leadCreated: true });

      const second = { ...key, attempts: 2 };
      await inbox.park(second, { status: 'failed', error: 'hook: down', now: at(120) });
      await inbox.requeue({ now: at(130), statuses: ['failed'] });
      const [third] = await inbox.claim({ now: at(130), leaseMs: 1000, limit: 1 });
      expect(third).toMatchObject({ attempts: 3, leadId: 'lead-1', leadCreated: true });

      // A merged lead records created: false; completing keeps the flag.
      const current = { ...key, attempts: 3 };
      expect(await inbox.attachLead(current, { leadId: 'lead-2', created: false, now: at(140) })).toBe(true);
      expect(await inbox.complete(current, { leadId: 'lead-2', now: at(150) })).toBe(true);
      expect(await inbox.get(key)).toMatchObject({ status: 'done', leadId: 'lead-2', leadCreated: false });
      expect(await inbox.attachLead(current, { leadId: 'lead-3', created: true, now: at(160) })).toBe(false);
    });

    it('claims only the keys, tenant, page and number asked for, oldest due first', async () => {
      await inbox.record([event('1')], at(0));
      await inbox.record([event('2', { pageId: '2220000000002' })], at(1));
      await inbox.record([event('3', { clientAccountId: 'tenant-b' })], at(2));
      await inbox.record([event('4')], at(3));

      const byKey = await inbox.claim({
        now: at(10),
        leaseMs: 1000,
        limit: 10,
        keys: [{ clientAccountId: 'tenant-a', leadgenId: '4' }],
      });
      expect(byKey.map((e) => e.leadgenId)).toEqual(['4']);
      expect(await inbox.claim({ now: at(10), leaseMs: 1000, limit: 10, keys: [] })).toEqual([]);

      const byPage = await inbox.claim({ now: at(10), leaseMs: 1000, limit: 10, pageId: '2220000000002' });
      expect(byPage.map((e) => e.leadgenId)).toEqual(['2']);

      const byTenant = await inbox.claim({
        now: at(10),
        leaseMs: 1000,
        limit: 10,
        clientAccountId: 'tenant-b',
      });
      expect(byTenant.map((e) => `${e.clientAccountId}/${e.leadgenId}`)).toEqual(['tenant-b/3']);

      const limited = await inbox.claim({ now: at(10), leaseMs: 1000, limit: 1 });
      expect(limited.map((e) => e.leadgenId)).toEqual(['1']);
    });

    it('retries later: not due before nextAttemptAt, due after, with the error kept', async () => {
      await inbox.record([event('1')], T0);
      const [claimed] = await inbox.claim({ now: T0, leaseMs: 1000, limit: 1 });
      const lease = { clientAccountId: 'tenant-a', leadgenId: '1', attempts: claimed!.attempts };
      expect(
        await inbox.retryLater(lease, { error: 'graph: 503', nextAttemptAt: at(5000), now: at(100) }),
      ).toBe(true);
      expect(await inbox.get(lease)).toMatchObject({
        status: 'pending',
        lastError: 'graph: 503',
        lockedUntil: null,
      });
      expect(await inbox.nextDueAt()).toEqual(at(5000));
      expect(await inbox.claim({ now: at(4999), leaseMs: 1000, limit: 1 })).toEqual([]);
      const [again] = await inbox.claim({ now: at(5000), leaseMs: 1000, limit: 1 });
      expect(again).toMatchObject({ leadgenId: '1', attempts: 2, lastError: 'graph: 503' });
    });

    it('parks events and requeues them by tenant and page', async () => {
      await inbox.record(
        [
          event('1'),
          event('2'),
          event('3', { pageId: '2220000000002' }),
          event('4', { clientAccountId: 'tenant-b' }),
        ],
        T0,
      );
      const claimed = await inbox.claim({ now: T0, leaseMs: 1000, limit: 10 });
      for (const e of claimed) {
        const lease = { clientAccountId: e.clientAccountId, leadgenId: e.leadgenId, attempts: e.attempts };
        const status = e.leadgenId === '2' ? 'failed' : 'needs_reauth';
        expect(await inbox.park(lease, { status, error: 'page_token_invalid', now: at(1) })).toBe(true);
      }
      expect(await inbox.claim({ now: at(10_000), leaseMs: 1000, limit: 10 })).toEqual([]);
      expect(await inbox.nextDueAt()).toBeNull();

      const requeued = await inbox.requeue({
        now: at(20),
        statuses: ['needs_reauth'],
        clientAccountId: 'tenant-a',
        pageId: '1110000000001',
      });
      expect(requeued).toBe(1);
      expect(await inbox.get({ clientAccountId: 'tenant-a', leadgenId: '1' })).toMatchObject({
        status: 'pending',
      });
      expect(await inbox.get({ clientAccountId: 'tenant-a', leadgenId: '2' })).toMatchObject({
        status: 'failed',
      });
      expect(await inbox.get({ clientAccountId: 'tenant-a', leadgenId: '3' })).toMatchObject({
        status: 'needs_reauth',
      });
      expect(await inbox.requeue({ now: at(30), statuses: ['failed', 'needs_reauth'] })).toBe(3);
      expect(await inbox.requeue({ now: at(30), statuses: [] })).toBe(0);
      const due = await inbox.claim({ now: at(30), leaseMs: 1000, limit: 10 });
      expect(due).toHaveLength(4);
    });

    it('lists a tenant’s events newest first, filtered by status and page', async () => {
      await inbox.record([event('1')], at(0));
      await inbox.record([event('2', { pageId: '2220000000002' })], at(1));
      await inbox.record([event('3')], at(2));
      await inbox.record([event('9', { clientAccountId: 'tenant-b' })], at(3));
      const [claimed] = await inbox.claim({ now: at(5), leaseMs: 1000, limit: 1 });
      expect(claimed!.leadgenId).toBe('1');
      expect((await inbox.list('tenant-a')).map((e) => e.leadgenId)).toEqual(['3', '2', '1']);
      expect((await inbox.list('tenant-a', { status: 'pending' })).map((e) => e.leadgenId)).toEqual([
        '3',
        '2',
      ]);
      expect((await inbox.list('tenant-a', { pageId: '2220000000002' })).map((e) => e.leadgenId)).toEqual([
        '2',
      ]);
      expect((await inbox.list('tenant-a', { limit: 1 })).map((e) => e.leadgenId)).toEqual(['3']);
    });

    it('answers when work is next due and purges old done events only', async () => {
      expect(await inbox.nextDueAt()).toBeNull();
      await inbox.record([event('1'), event('2')], T0);
      expect(await inbox.nextDueAt()).toEqual(T0);
      const claimed = await inbox.claim({ now: at(10), leaseMs: 500, limit: 1 });
      const lease = { clientAccountId: 'tenant-a', leadgenId: claimed[0]!.leadgenId, attempts: 1 };
      await inbox.complete(lease, { leadId: 'lead-1', now: at(20) });
      expect(await inbox.purgeDone(at(20))).toBe(0);
      expect(await inbox.purgeDone(at(21))).toBe(1);
      expect(await inbox.get(lease)).toBeNull();
      expect((await inbox.list('tenant-a')).map((e) => e.status)).toEqual(['pending']);
    });

    if (options.concurrent) {
      it('under concurrency: ten identical records insert once; parallel claims never share a row', async () => {
        const results = await Promise.all(
          Array.from({ length: 10 }, () => inbox.record([event('9000000000000001')], T0)),
        );
        expect(results.flat()).toHaveLength(1);

        await inbox.record(
          Array.from({ length: 40 }, (_, i) => event(String(1000 + i))),
          T0,
        );
        const claims = await Promise.all(
          Array.from({ length: 8 }, () => inbox.claim({ now: at(1), leaseMs: 60_000, limit: 10 })),
        );
        const ids = claims.flat().map((e) => e.leadgenId);
        expect(new Set(ids).size).toBe(ids.length);
        expect(ids.length).toBe(41);
      });
    }
  });
}
