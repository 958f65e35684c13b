import { coreMigrations, isLeadRelayError, migrate, type SqlDatabase } from '@leadrelay/core';
import { testDatabases } from '@leadrelay/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SendResult } from '../send/send-types.js';
import { createMemoryWabaStore } from './memory-waba-store.js';
import { createPostgresWabaStore } from './postgres-waba-store.js';
import { wabaMigrations } from './waba-migrations.js';
import type { WabaStore } from './waba-store.js';

interface Harness {
  name: string;
  setup(): Promise<{ store: WabaStore; close(): Promise<void> }>;
}

const harnesses: Harness[] = [
  { name: 'memory', setup: async () => ({ store: createMemoryWabaStore(), close: async () => {} }) },
  ...testDatabases().map((factory) => ({
    name: factory.name,
    setup: async () => {
      const db: SqlDatabase = await factory.create();
      await migrate(db, [...coreMigrations, ...wabaMigrations]);
      // Every waba row references its tenant.
      await db.query(`INSERT INTO client_accounts (id, name) VALUES ($1, 'One'), ($2, 'Two')`, [T1, T2]);
      return { store: createPostgresWabaStore(db), close: () => db.close() };
    },
  })),
];

const T1 = 'tenant-one';
const T2 = 'tenant-two';
const at = (iso: string) => new Date(iso);

const result = (messageId: string): SendResult => ({
  messageId,
  providerMessageId: `wamid.${messageId}`,
  provider: 'cloud_api',
  pricingCategory: 'utility',
  billable: false,
  deduplicated: false,
  decision: {
    allowed: true,
    reason: 'template_in_service_window',
    explanation: 'ok',
    templateRequired: false,
    pricingCategory: 'utility',
    billable: false,
    pricingType: 'free_customer_service',
    windowOpen: true,
    windowExpiresAt: at('2026-11-26T09:00:00Z'),
    freeEntryPointExpiresAt: null,
    opensFreeEntryPoint: false,
    ruleSetId: 'pmp-2025-07',
    decidedAt: at('2026-11-25T10:00:00Z'),
  },
});

for (const harness of harnesses) {
  describe(`WabaStore contract: ${harness.name}`, () => {
    let store: WabaStore;
    let close: () => Promise<void>;
    beforeAll(async () => {
      ({ store, close } = await harness.setup());
    });
    afterAll(async () => close());

    describe('templates', () => {
      it('upserts by tenant, name and language, keeping id and createdAt', async () => {
        const first = await store.templates.upsert({
          clientAccountId: T1,
          name: 'welcome_lead',
          language: 'en',
          category: 'UTILITY',
          bodyText: 'Hi {{1}}, thanks for asking about {{2}}.',
          footerText: 'Acme Realty',
          buttons: [{ type: 'QUICK_REPLY', text: 'Book a visit' }],
          providerTemplateId: 'c6aecef6-bcb0-4fb1-8100-28c094e3bc6b',
        });
        expect(first).toMatchObject({
          clientAccountId: T1,
          status: 'APPROVED',
          header: null,
          footerText: 'Acme Realty',
          buttons: [{ type: 'QUICK_REPLY', text: 'Book a visit' }],
        });
        const second = await store.templates.upsert({
          clientAccountId: T1,
          name: 'welcome_lead',
          language: 'en',
          category: 'MARKETING',
          status: 'PAUSED',
          header: { format: 'IMAGE' },
          bodyText: 'Hello {{1}}',
        });
        expect(second.id).toBe(first.id);
        expect(second.createdAt.getTime()).toBe(first.createdAt.getTime());
        expect(second).toMatchObject({
          category: 'MARKETING',
          status: 'PAUSED',
          header: { format: 'IMAGE' },
          bodyText: 'Hello {{1}}',
          footerText: null,
          buttons: [],
          providerTemplateId: null,
        });
        expect(await store.templates.get(T1, 'welcome_lead', 'en')).toEqual(second);
      });

      it('gets without a language (first in language order), lists ordered and filtered, per tenant', async () => {
        await store.templates.upsert({
          clientAccountId: T1,
          name: 'visit_reminder',
          language: 'hi',
          category: 'UTILITY',
          bodyText: 'नमस्ते {{name}}, आपकी विज़िट {{when}} है',
        });
        await store.templates.upsert({
          clientAccountId: T1,
          name: 'visit_reminder',
          language: 'en_US',
          category: 'UTILITY',
          bodyText: 'Hi {{name}}, your visit is {{when}}',
        });
        await store.templates.upsert({
          clientAccountId: T2,
          name: 'visit_reminder',
          language: 'en',
          category: 'UTILITY',
          bodyText: 'Other tenant {{1}}',
        });
        expect((await store.templates.get(T1, 'visit_reminder'))?.language).toBe('en_US');
        expect((await store.templates.get(T1, 'visit_reminder', 'hi'))?.bodyText).toContain('नमस्ते');
        expect(await store.templates.get(T1, 'visit_reminder', 'en')).toBeNull();
        expect(await store.templates.get(T2, 'welcome_lead')).toBeNull();

        const all = await store.templates.list(T1);
        expect(all.map((t) => `${t.name}/${t.language}`)).toEqual([
          'visit_reminder/en_US',
          'visit_reminder/hi',
          'welcome_lead/en',
        ]);
        expect((await store.templates.list(T1, { status: 'PAUSED' })).map((t) => t.name)).toEqual([
          'welcome_lead',
        ]);
        expect((await store.templates.list(T1, { category: 'UTILITY' })).length).toBe(2);
        expect((await store.templates.list(T1, { name: 'welcome_lead' })).length).toBe(1);
        expect((await store.templates.list(T2)).map((t) => t.bodyText)).toEqual(['Other tenant {{1}}']);
      });

      it('deletes one language of a template in one tenant', async () => {
        expect(await store.templates.delete(T2, 'visit_reminder', 'hi')).toBe(false);
        expect(await store.templates.delete(T1, 'visit_reminder', 'hi')).toBe(true);
        expect(await store.templates.get(T1, 'visit_reminder', 'hi')).toBeNull();
        expect(await store.templates.get(T2, 'visit_reminder', 'en')).not.toBeNull();
      });

      it('rejects invalid templates with a ValidationError naming the problem', async () => {
        const mixed = await store.templates
          .upsert({
            clientAccountId: T1,
            name: 'bad',
            language: 'en',
            category: 'UTILITY',
            bodyText: '{{1}} {{name}}',
          })
          .catch((e: unknown) => e);
        expect(isLeadRelayError(mixed) && mixed.code).toBe('template_invalid');
        const gap = await store.templates
          .upsert({
            clientAccountId: T1,
            name: 'bad',
            language: 'en',
            category: 'UTILITY',
            bodyText: '{{1}} {{3}}',
          })
          .catch((e: unknown) => e);
        expect(isLeadRelayError(gap) && gap.code).toBe('template_invalid');
        const shape = await store.templates
          .upsert({
            clientAccountId: T1,
            name: 'Bad Name',
            language: 'en',
            category: 'UTILITY',
            bodyText: 'x',
          })
          .catch((e: unknown) => e);
        expect(isLeadRelayError(shape) && shape.code).toBe('validation_failed');
        expect(await store.templates.get(T1, 'bad')).toBeNull();
      });
    });

    describe('send ledger', () => {
      const claim = (key: string, now = '2026-11-25T10:00:00Z', hash = 'h1', tenant = T1) =>
        store.sendLedger.claim({
          clientAccountId: tenant,
          idempotencyKey: key,
          requestHash: hash,
          now: at(now),
          leaseMs: 60_000,
        });

      it('claims once; a repeat is in flight until completed, then returns the stored result', async () => {
        expect(await claim('k1')).toEqual({ state: 'claimed' });
        expect(await claim('k1', '2026-11-25T10:00:30Z')).toEqual({
          state: 'in_flight',
          leaseExpiresAt: at('2026-11-25T10:01:00Z'),
        });
        await store.sendLedger.complete(T1, 'k1', result('m1'));
        const repeat = await claim('k1', '2026-11-25T12:00:00Z');
        expect(repeat).toEqual({ state: 'completed', result: result('m1') });
        if (repeat.state === 'completed') expect(repeat.result.decision.windowExpiresAt).toBeInstanceOf(Date);
      });

      it('scopes keys by tenant and reports a key reused for another request as a conflict', async () => {
        expect(await claim('k1', '2026-11-25T10:00:00Z', 'h1', T2)).toEqual({ state: 'claimed' });
        expect(await claim('k1', '2026-11-25T10:00:00Z', 'other-hash')).toEqual({ state: 'conflict' });
      });

      it('releases an in-flight claim so the key can be claimed again, but never a completed one', async () => {
        expect(await claim('k2')).toEqual({ state: 'claimed' });
        await store.sendLedger.release(T1, 'k2');
        expect(await claim('k2')).toEqual({ state: 'claimed' });
        await store.sendLedger.release(T1, 'k1');
        expect((await claim('k1')).state).toBe('completed');
      });

      it('turns an in-flight claim past its lease into unknown, for every later caller', async () => {
        expect(await claim('k3', '2026-11-25T10:00:00Z')).toEqual({ state: 'claimed' });
        expect((await claim('k3', '2026-11-25T10:00:59Z')).state).toBe('in_flight');
        expect(await claim('k3', '2026-11-25T10:01:00Z')).toEqual({
          state: 'unknown',
          claimedAt: at('2026-11-25T10:00:00Z'),
        });
        expect((await claim('k3', '2026-11-25T10:05:00Z')).state).toBe('unknown');
        await store.sendLedger.release(T1, 'k3');
        expect((await claim('k3', '2026-11-25T10:06:00Z')).state).toBe('unknown');
        // The slow original finishing late still records what happened.
        await store.sendLedger.complete(T1, 'k3', result('m3'));
        expect((await claim('k3', '2026-11-25T10:07:00Z')).state).toBe('completed');
      });

      it('marks an in-flight claim unknown at once when its outcome cannot be known', async () => {
        expect(await claim('k4')).toEqual({ state: 'claimed' });
        await store.sendLedger.markUnknown(T1, 'k4');
        expect(await claim('k4')).toEqual({ state: 'unknown', claimedAt: at('2026-11-25T10:00:00Z') });
        await store.sendLedger.markUnknown(T1, 'k1');
        expect((await claim('k1')).state).toBe('completed');
      });

      it("reads a template in the claim's round trip, as templates.get would, only for the claimant", async () => {
        await store.templates.upsert({
          clientAccountId: T1,
          name: 'claim_template',
          language: 'hi',
          category: 'UTILITY',
          bodyText: 'Namaste {{1}}',
        });
        const claimWith = (key: string, readTemplate: { name: string; language?: string }, tenant = T1) =>
          store.sendLedger.claim({
            clientAccountId: tenant,
            idempotencyKey: key,
            requestHash: 'h1',
            now: at('2026-11-25T10:00:00Z'),
            leaseMs: 60_000,
            readTemplate,
          });
        const expected = await store.templates.get(T1, 'claim_template');
        expect(await claimWith('t1', { name: 'claim_template' })).toEqual({
          state: 'claimed',
          template: expected,
        });
        expect(await claimWith('t2', { name: 'claim_template', language: 'hi' })).toEqual({
          state: 'claimed',
          template: expected,
        });
        expect(await claimWith('t3', { name: 'claim_template', language: 'en' })).toEqual({
          state: 'claimed',
          template: null,
        });
        // Another tenant's template is never read; a repeat of a claimed key answers as before.
        expect(await claimWith('t1', { name: 'claim_template' }, T2)).toEqual({
          state: 'claimed',
          template: null,
        });
        expect((await claimWith('t1', { name: 'claim_template' })).state).toBe('in_flight');
      });

      it('purges completed and unknown entries claimed before a date, never an in-flight one', async () => {
        expect(await claim('p1', '2026-10-01T10:00:00Z', 'h1', T2)).toEqual({ state: 'claimed' });
        await store.sendLedger.complete(T2, 'p1', result('mp1'));
        expect(await claim('p2', '2026-10-01T10:00:00Z', 'h1', T2)).toEqual({ state: 'claimed' });
        await store.sendLedger.markUnknown(T2, 'p2');
        expect(await claim('p3', '2026-10-01T10:00:00Z', 'h1', T2)).toEqual({ state: 'claimed' });
        expect(await claim('p4', '2026-11-20T10:00:00Z', 'h1', T2)).toEqual({ state: 'claimed' });
        await store.sendLedger.complete(T2, 'p4', result('mp4'));
        expect(await store.sendLedger.purge(at('2026-11-01T00:00:00Z'))).toBe(2);
        // Forgotten keys may send again; the in-flight and the newer entries are kept.
        expect((await claim('p1', '2026-11-25T10:00:00Z', 'h1', T2)).state).toBe('claimed');
        expect((await claim('p2', '2026-11-25T10:00:00Z', 'h1', T2)).state).toBe('claimed');
        expect((await claim('p3', '2026-10-01T10:00:30Z', 'h1', T2)).state).toBe('in_flight');
        expect((await claim('p4', '2026-11-25T10:00:00Z', 'h1', T2)).state).toBe('completed');
      });
    });
  });
}
