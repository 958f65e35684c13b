import {
  ConflictError,
  createManualClock,
  type ManualClock,
  migrate,
  NotFoundError,
  type SqlExecutor,
} from '@leadrelay/core';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { campaignDefinition } from '../src/campaigns/campaign.js';
import { followupsMigrations } from '../src/store/migrations.js';
import type { EnrolInput, FollowUpStore, NextStep, StepOutcome } from '../src/store/ports.js';
import { OTHER_TENANT, parsedCampaign, TENANT } from './fixtures.js';
import { type StoreBackend, storeFactories } from './store-factories.js';

const T0 = new Date('2026-11-25T09:00:00.000Z');
const HOUR = 3_600_000;

for (const factory of storeFactories()) {
  describe(`follow-up store contract: ${factory.name}`, () => {
    let backend: StoreBackend;
    let store: FollowUpStore;
    let clock: ManualClock;

    beforeAll(async () => {
      backend = await factory.open();
    });
    afterAll(async () => {
      await backend.close();
    });
    beforeEach(async () => {
      clock = createManualClock(T0);
      store = await backend.fresh(clock);
    });

    async function campaign() {
      return store.createCampaign(parsedCampaign());
    }

    function enrolInput(campaignId: string, leadId: string, extra: Partial<EnrolInput> = {}): EnrolInput {
      return {
        clientAccountId: TENANT,
        campaignId,
        campaignVersion: 1,
        leadId,
        enrolledAt: clock.now(),
        reentry: { mode: 'never' },
        cooldownMs: 0,
        firstStep: { stepId: 'hello', stepIndex: 0, dueAt: clock.now() },
        ...extra,
      };
    }

    it('versions campaigns: a definition change bumps the version and keeps the old one', async () => {
      const c = await campaign();
      expect(c).toMatchObject({ version: 1, status: 'active', name: 'Nurture', clientAccountId: TENANT });
      const same = await store.updateCampaign(TENANT, c.id, { definition: campaignDefinition(c) });
      expect(same.version).toBe(1);
      const paused = await store.updateCampaign(TENANT, c.id, { status: 'paused' });
      expect(paused).toMatchObject({ version: 1, status: 'paused' });
      const renamed = await store.updateCampaign(
        TENANT,
        c.id,
        { definition: { ...campaignDefinition(c), name: 'Nurture v2', maxSendsPerLeadPerDay: 1 } },
        { expectedVersion: 1 },
      );
      expect(renamed).toMatchObject({
        version: 2,
        name: 'Nurture v2',
        maxSendsPerLeadPerDay: 1,
        status: 'paused',
      });
      expect((await store.getCampaignVersion(TENANT, c.id, 1))?.name).toBe('Nurture');
      expect((await store.getCampaignVersion(TENANT, c.id, 2))?.name).toBe('Nurture v2');
      await expect(
        store.updateCampaign(TENANT, c.id, { status: 'active' }, { expectedVersion: 1 }),
      ).rejects.toMatchObject({ code: 'version_conflict' });
      await expect(
        store.updateCampaign(TENANT, c.id, { status: 'active' }, { expectedVersion: 1 }),
      ).rejects.toBeInstanceOf(ConflictError);
    });

    it('scopes campaigns by tenant and filters lists', async () => {
      const c = await campaign();
      clock.advance(1000);
      await store.createCampaign(
        parsedCampaign({ name: 'Replies', trigger: { type: 'inbound_message' }, status: 'draft' }),
      );
      await store.createCampaign(parsedCampaign({ clientAccountId: OTHER_TENANT }));
      expect(await store.getCampaign(OTHER_TENANT, c.id)).toBeNull();
      expect(await store.getCampaignVersion(OTHER_TENANT, c.id, 1)).toBeNull();
      await expect(store.updateCampaign(OTHER_TENANT, c.id, { status: 'paused' })).rejects.toBeInstanceOf(
        NotFoundError,
      );
      expect((await store.listCampaigns(TENANT)).map((x) => x.name)).toEqual(['Nurture', 'Replies']);
      expect((await store.listCampaigns(TENANT, { status: ['active'] })).map((x) => x.name)).toEqual([
        'Nurture',
      ]);
      expect(
        (await store.listCampaigns(TENANT, { triggerType: ['inbound_message'] })).map((x) => x.name),
      ).toEqual(['Replies']);
      await expect(store.createCampaign(parsedCampaign({ id: c.id }))).rejects.toMatchObject({
        code: 'campaign_exists',
      });
    });

    it('enrols once per campaign and lead, and applies the reentry rules', async () => {
      const c = await campaign();
      const first = await store.enrol(enrolInput(c.id, 'lead-1'));
      expect(first.enrolled).toBe(true);
      if (!first.enrolled) return;
      expect(first.step).toMatchObject({ status: 'pending', stepId: 'hello', attempts: 0, leadId: 'lead-1' });
      expect(await store.enrol(enrolInput(c.id, 'lead-1'))).toEqual({
        enrolled: false,
        reason: 'already_enrolled',
      });
      await store.exitEnrolments({
        clientAccountId: TENANT,
        enrolmentIds: [first.enrolment.id],
        reason: 'replied',
      });
      expect(await store.enrol(enrolInput(c.id, 'lead-1'))).toEqual({
        enrolled: false,
        reason: 'reentry_never',
      });
      const afterExit = { reentry: { mode: 'after_exit' as const }, cooldownMs: 24 * HOUR };
      clock.advance(HOUR);
      expect(await store.enrol(enrolInput(c.id, 'lead-1', afterExit))).toEqual({
        enrolled: false,
        reason: 'cooldown',
      });
      clock.advance(24 * HOUR);
      const again = await store.enrol(enrolInput(c.id, 'lead-1', afterExit));
      expect(again.enrolled).toBe(true);
      const all = await store.listEnrolments(TENANT, { campaignId: c.id, leadId: 'lead-1' });
      expect(all.map((e) => e.status)).toEqual(['exited', 'active']);
      expect(all[0]).toMatchObject({ exitReason: 'replied' });
      expect(await store.listEnrolments(OTHER_TENANT, { leadId: 'lead-1' })).toEqual([]);
    });

    it('claims only due steps, in due order, with a token and a lease; expired leases are reclaimable', async () => {
      const c = await campaign();
      for (const [lead, offset] of [
        ['late', 30],
        ['early', -60],
        ['now', 0],
        ['future', HOUR],
      ] as const) {
        await store.enrol(
          enrolInput(c.id, lead, {
            firstStep: { stepId: 'hello', stepIndex: 0, dueAt: new Date(T0.getTime() + offset) },
          }),
        );
      }
      clock.advance(1000);
      const claimed = await store.claimDue({ limit: 2, leaseMs: 10_000, token: 'tok-1' });
      expect(claimed.map((s) => s.leadId)).toEqual(['early', 'now']);
      for (const s of claimed) {
        expect(s).toMatchObject({ status: 'claimed', claimToken: 'tok-1', attempts: 1 });
        expect(s.leaseUntil?.getTime()).toBe(T0.getTime() + 1000 + 10_000);
      }
      const rest = await store.claimDue({ limit: 10, leaseMs: 10_000, token: 'tok-2' });
      expect(rest.map((s) => s.leadId)).toEqual(['late']);
      expect(await store.claimDue({ limit: 10, leaseMs: 10_000, token: 'tok-3' })).toEqual([]);
      expect(await store.extendLease([claimed[0]!.id], 'wrong', 10_000)).toBe(0);
      clock.advance(5000);
      expect(await store.extendLease([claimed[0]!.id], 'tok-1', 10_000)).toBe(1);
      clock.advance(6000);
      // claimed[1] expired (lease not extended); claimed[0] still held.
      const reclaimed = await store.claimDue({ limit: 10, leaseMs: 10_000, token: 'tok-4' });
      expect(reclaimed.map((s) => [s.leadId, s.attempts, s.claimToken])).toEqual(
        expect.arrayContaining([
          ['now', 2, 'tok-4'],
          ['late', 2, 'tok-4'],
        ]),
      );
      expect(reclaimed).toHaveLength(2);
      // The worker that lost the lease cannot complete it any more.
      const applied = await store.complete('tok-1', [
        { id: claimed[1]!.id, kind: 'failed', error: 'too late' },
        { id: claimed[0]!.id, kind: 'skipped', reason: 'condition_false', next: null },
      ]);
      expect(applied).toBe(1);
      // The earliest of the pending due times and the leases still held (tok-4's, 10 s from now).
      expect(await store.nextDueAt()).toEqual(new Date(T0.getTime() + 22_000));
    });

    it('completes a send: ledger row, next step, lease released; a second completion is a no-op', async () => {
      const c = await campaign();
      const r = await store.enrol(enrolInput(c.id, 'lead-1'));
      if (!r.enrolled) throw new Error('not enrolled');
      const [s] = await store.claimDue({ limit: 10, leaseMs: 10_000, token: 't' });
      const checks = await store.checkBeforeSend([s!.id], 't', new Date(T0.getTime() - 24 * HOUR));
      expect(checks).toEqual([
        {
          id: s!.id,
          enrolmentStatus: 'active',
          enrolledAt: T0,
          campaignStatus: 'active',
          recentSends: 0,
          oldestRecentSendAt: null,
        },
      ]);
      expect(await store.checkBeforeSend([s!.id], 'other', T0)).toEqual([]);
      const next = { stepId: 'day1', stepIndex: 1, dueAt: new Date(T0.getTime() + 24 * HOUR) };
      const outcome = {
        id: s!.id,
        kind: 'sent' as const,
        providerMessageId: 'wamid.1',
        messageId: 'm-1',
        messageKind: 'template',
        idempotencyKey: `fu:${r.enrolment.id}:hello`,
        next,
      };
      expect(await store.complete('t', [outcome])).toBe(1);
      expect(await store.complete('t', [outcome])).toBe(0);
      const steps = await store.listSteps(TENANT, { enrolmentId: r.enrolment.id });
      expect(steps.map((x) => [x.id, x.stepId, x.status])).toEqual([
        [`${r.enrolment.id}:hello`, 'hello', 'sent'],
        [`${r.enrolment.id}:day1`, 'day1', 'pending'],
      ]);
      expect(steps[0]).toMatchObject({
        providerMessageId: 'wamid.1',
        messageId: 'm-1',
        messageKind: 'template',
        deliveryStatus: 'sent',
        claimToken: null,
        leaseUntil: null,
        sentAt: T0,
      });
      expect(steps[1]!.dueAt).toEqual(next.dueAt);
      clock.advance(24 * HOUR);
      const [d1] = await store.claimDue({ limit: 10, leaseMs: 10_000, token: 'u' });
      const [check] = await store.checkBeforeSend([d1!.id], 'u', new Date(clock.now().getTime() - 25 * HOUR));
      expect(check).toMatchObject({ recentSends: 1, oldestRecentSendAt: T0 });
      await store.complete('u', [
        {
          id: d1!.id,
          kind: 'sent',
          providerMessageId: 'wamid.2',
          messageId: null,
          messageKind: 'text',
          idempotencyKey: 'k',
          next: null,
        },
      ]);
      const [e] = await store.listEnrolments(TENANT, { leadId: 'lead-1' });
      expect(e).toMatchObject({ status: 'completed', exitReason: null, lastStepId: 'day1' });
    });

    it('retries keep the attempt, deferrals give it back, failures end the enrolment', async () => {
      const c = await campaign();
      for (const lead of ['retry', 'defer', 'fail', 'exit']) await store.enrol(enrolInput(c.id, lead));
      const claimed = await store.claimDue({ limit: 10, leaseMs: 10_000, token: 't' });
      const id = (lead: string) => claimed.find((s) => s.leadId === lead)!.id;
      const later = new Date(T0.getTime() + HOUR);
      expect(
        await store.complete('t', [
          { id: id('retry'), kind: 'retry', error: 'provider_error: 503', dueAt: later },
          { id: id('defer'), kind: 'deferred', reason: 'quiet_hours', dueAt: later },
          { id: id('fail'), kind: 'failed', error: 'provider_error: invalid number' },
          { id: id('exit'), kind: 'exited', reason: 'opted_out' },
        ]),
      ).toBe(4);
      const steps = await store.listSteps(TENANT, { campaignId: c.id });
      const byLead = Object.fromEntries(steps.map((s) => [s.leadId, s]));
      expect(byLead.retry).toMatchObject({
        status: 'pending',
        attempts: 1,
        lastError: 'provider_error: 503',
        dueAt: later,
      });
      expect(byLead.defer).toMatchObject({
        status: 'pending',
        attempts: 0,
        skipReason: 'quiet_hours',
        dueAt: later,
      });
      expect(byLead.fail).toMatchObject({ status: 'failed', lastError: 'provider_error: invalid number' });
      expect(byLead.exit).toMatchObject({ status: 'cancelled', skipReason: 'opted_out' });
      const enrolments = Object.fromEntries((await store.listEnrolments(TENANT)).map((e) => [e.leadId, e]));
      expect(enrolments.retry!.status).toBe('active');
      expect(enrolments.fail).toMatchObject({ status: 'exited', exitReason: 'send_failed' });
      expect(enrolments.exit).toMatchObject({ status: 'exited', exitReason: 'opted_out' });
    });

    it('an unknown send outcome ends the step `unknown`, never claimed again, and counts apart from failures', async () => {
      const c = await campaign();
      for (const lead of ['unknown', 'fail']) await store.enrol(enrolInput(c.id, lead));
      const claimed = await store.claimDue({ limit: 10, leaseMs: 10_000, token: 't' });
      const id = (lead: string) => claimed.find((s) => s.leadId === lead)!.id;
      expect(
        await store.complete('t', [
          { id: id('unknown'), kind: 'unknown', error: 'send_outcome_unknown: may have been delivered' },
          { id: id('fail'), kind: 'failed', error: 'provider_error: invalid number' },
        ]),
      ).toBe(2);
      const [step] = await store.listSteps(TENANT, { leadId: 'unknown' });
      expect(step).toMatchObject({
        status: 'unknown',
        lastError: 'send_outcome_unknown: may have been delivered',
        sentAt: null,
        providerMessageId: null,
        claimToken: null,
        leaseUntil: null,
      });
      expect(await store.listSteps(TENANT, { status: ['unknown'] })).toHaveLength(1);
      const [enrolment] = await store.listEnrolments(TENANT, { leadId: 'unknown' });
      expect(enrolment).toMatchObject({ status: 'exited', exitReason: 'send_outcome_unknown' });
      // Terminal: no lease to expire, nothing due, however long we wait.
      clock.advance(48 * HOUR);
      expect(await store.claimDue({ limit: 10, leaseMs: 10_000, token: 'later' })).toEqual([]);
      expect(await store.nextDueAt()).toBeNull();
      // It was not sent as far as we know: it uses none of the lead's daily cap.
      await store.enrol(enrolInput(c.id, 'unknown', { reentry: { mode: 'always' } }));
      const [again] = await store.claimDue({ limit: 10, leaseMs: 10_000, token: 'again' });
      const [check] = await store.checkBeforeSend([again!.id], 'again', T0);
      expect(check).toMatchObject({ recentSends: 0 });
      const a = await store.analytics(TENANT, c.id);
      expect(a.totals).toMatchObject({ enrolled: 3, sent: 0, failed: 1, unknown: 1 });
      const hello = a.steps.find((s) => s.stepId === 'hello');
      expect(hello).toMatchObject({ sent: 0, failed: 1, unknown: 1, pending: 1 });
      expect(a.daily.find((d) => d.date === '2026-11-25')).toMatchObject({ failed: 1, unknown: 1 });
    });

    it('an exit cancels pending and claimed steps; the runner check then drops them; a send already made is still recorded', async () => {
      const c = await campaign();
      const a = await store.enrol(enrolInput(c.id, 'a'));
      const b = await store.enrol(enrolInput(c.id, 'b'));
      if (!a.enrolled || !b.enrolled) throw new Error('not enrolled');
      const claimed = await store.claimDue({ limit: 10, leaseMs: 10_000, token: 't' });
      expect(claimed).toHaveLength(2);
      const res = await store.exitEnrolments({
        clientAccountId: TENANT,
        enrolmentIds: [a.enrolment.id, b.enrolment.id],
        reason: 'replied',
      });
      expect(res).toEqual({ exited: 2, cancelledSteps: 2 });
      expect(
        await store.exitEnrolments({
          clientAccountId: TENANT,
          enrolmentIds: [a.enrolment.id],
          reason: 'replied',
        }),
      ).toEqual({ exited: 0, cancelledSteps: 0 });
      expect(
        await store.checkBeforeSend(
          claimed.map((s) => s.id),
          't',
          T0,
        ),
      ).toEqual([]);
      // b's message had already gone out when the reply landed: the send is recorded, nothing follows.
      const bStep = claimed.find((s) => s.leadId === 'b')!;
      const applied = await store.complete('t', [
        {
          id: bStep.id,
          kind: 'sent',
          providerMessageId: 'wamid.b',
          messageId: null,
          messageKind: 'template',
          idempotencyKey: 'k',
          next: { stepId: 'day1', stepIndex: 1, dueAt: T0 },
        },
      ]);
      expect(applied).toBe(1);
      const bSteps = await store.listSteps(TENANT, { leadId: 'b' });
      expect(bSteps.map((s) => [s.stepId, s.status])).toEqual([['hello', 'sent']]);
      expect((await store.listSteps(TENANT, { leadId: 'a' }))[0]!.status).toBe('cancelled');
      expect(
        await store.exitEnrolments({
          clientAccountId: OTHER_TENANT,
          enrolmentIds: [a.enrolment.id],
          reason: 'replied',
        }),
      ).toEqual({
        exited: 0,
        cancelledSteps: 0,
      });
    });

    it('parks a status that arrives before its step records the message, then applies it once', async () => {
      const c = await campaign();
      await store.enrol(enrolInput(c.id, 'lead-1'));
      const [s] = await store.claimDue({ limit: 1, leaseMs: 10_000, token: 't' });
      const deliveredAt = new Date(T0.getTime() + 1_000);
      const readAt = new Date(T0.getTime() + 2_000);
      // The provider reports before the batch that sent the message has completed.
      for (const [status, at] of [
        ['read', readAt],
        ['delivered', deliveredAt],
        ['read', readAt],
      ] as const) {
        expect(
          await store.recordDeliveryStatus({ tenant: TENANT, providerMessageId: 'wamid.early', status, at }),
        ).toBe(0);
      }
      // The same message id in another tenant is another message: never applied here.
      await store.recordDeliveryStatus({
        tenant: OTHER_TENANT,
        providerMessageId: 'wamid.early',
        status: 'failed',
        at: readAt,
      });
      expect(await store.applyParkedStatuses()).toBe(0);
      await store.complete('t', [sentOutcome(s!.id, 'wamid.early')]);
      expect(await store.applyParkedStatuses()).toBe(1);
      const [row] = await store.listSteps(TENANT, { leadId: 'lead-1' });
      expect(row).toMatchObject({ deliveryStatus: 'read', deliveredAt, readAt });
      expect(await store.applyParkedStatuses()).toBe(0);
    });

    it('drops a parked status after an hour: statuses of messages follow-ups did not send', async () => {
      const c = await campaign();
      await store.enrol(enrolInput(c.id, 'lead-1'));
      const [s] = await store.claimDue({ limit: 1, leaseMs: 10_000, token: 't' });
      await store.recordDeliveryStatus({
        tenant: TENANT,
        providerMessageId: 'wamid.late',
        status: 'read',
        at: T0,
      });
      clock.advance(2 * HOUR);
      expect(await store.applyParkedStatuses()).toBe(0);
      await store.complete('t', [sentOutcome(s!.id, 'wamid.late')]);
      expect(await store.applyParkedStatuses()).toBe(0);
      expect((await store.listSteps(TENANT, { leadId: 'lead-1' }))[0]!.deliveryStatus).toBe('sent');
    });

    it('records delivery statuses forward only, per tenant', async () => {
      const c = await campaign();
      await store.enrol(enrolInput(c.id, 'lead-1'));
      const [s] = await store.claimDue({ limit: 1, leaseMs: 10_000, token: 't' });
      await store.complete('t', [
        {
          id: s!.id,
          kind: 'sent',
          providerMessageId: 'wamid.9',
          messageId: null,
          messageKind: 'template',
          idempotencyKey: 'k',
          next: null,
        },
      ]);
      const readAt = new Date(T0.getTime() + 120_000);
      expect(
        await store.recordDeliveryStatus({
          tenant: OTHER_TENANT,
          providerMessageId: 'wamid.9',
          status: 'read',
          at: readAt,
        }),
      ).toBe(0);
      expect(
        await store.recordDeliveryStatus({
          tenant: TENANT,
          providerMessageId: 'wamid.9',
          status: 'read',
          at: readAt,
        }),
      ).toBe(1);
      await store.recordDeliveryStatus({
        tenant: TENANT,
        providerMessageId: 'wamid.9',
        status: 'delivered',
        at: new Date(T0.getTime() + 60_000),
      });
      const [row] = await store.listSteps(TENANT, { leadId: 'lead-1' });
      expect(row).toMatchObject({ deliveryStatus: 'read', deliveredAt: readAt, readAt });
      expect(
        await store.recordDeliveryStatus({
          tenant: TENANT,
          providerMessageId: 'nope',
          status: 'read',
          at: readAt,
        }),
      ).toBe(0);
    });

    it('aggregates analytics per campaign, per step and per day', async () => {
      const c = await campaign();
      for (const lead of ['l1', 'l2', 'l3', 'l4']) await store.enrol(enrolInput(c.id, lead));
      const claimed = await store.claimDue({ limit: 10, leaseMs: 10_000, token: 't' });
      const id = (lead: string) => claimed.find((s) => s.leadId === lead)!.id;
      const next = { stepId: 'day1', stepIndex: 1, dueAt: new Date(T0.getTime() + 24 * HOUR) };
      const sent = (lead: string, wamid: string) => ({
        id: id(lead),
        kind: 'sent' as const,
        providerMessageId: wamid,
        messageId: null,
        messageKind: 'template',
        idempotencyKey: lead,
        next,
      });
      await store.complete('t', [
        sent('l1', 'w1'),
        sent('l2', 'w2'),
        sent('l3', 'w3'),
        { id: id('l4'), kind: 'failed', error: 'x' },
      ]);
      await store.recordDeliveryStatus({ tenant: TENANT, providerMessageId: 'w1', status: 'read', at: T0 });
      await store.recordDeliveryStatus({
        tenant: TENANT,
        providerMessageId: 'w2',
        status: 'delivered',
        at: T0,
      });
      clock.advance(15 * HOUR); // 00:00 the next day in UTC
      const enrolments = Object.fromEntries(
        (await store.listEnrolments(TENANT)).map((e) => [e.leadId, e.id]),
      );
      await store.exitEnrolments({
        clientAccountId: TENANT,
        enrolmentIds: [enrolments.l1!],
        reason: 'replied',
      });
      await store.exitEnrolments({
        clientAccountId: TENANT,
        enrolmentIds: [enrolments.l2!],
        reason: 'appointment_booked',
      });
      await store.exitEnrolments({
        clientAccountId: TENANT,
        enrolmentIds: [enrolments.l3!],
        reason: 'opted_out',
      });
      const a = await store.analytics(TENANT, c.id);
      expect(a.totals).toEqual({
        enrolled: 4,
        active: 0,
        completed: 0,
        exited: 4,
        sent: 3,
        delivered: 2,
        read: 1,
        replied: 1,
        booked: 1,
        failed: 1,
        unknown: 0,
        optedOut: 1,
      });
      const steps = Object.fromEntries(a.steps.map((s) => [s.stepId, s]));
      expect(steps.hello).toEqual({
        stepId: 'hello',
        sent: 3,
        delivered: 2,
        read: 1,
        failed: 1,
        unknown: 0,
        skipped: 0,
        pending: 0,
        replied: 1,
      });
      expect(steps.day1).toMatchObject({ sent: 0, pending: 0 });
      const daily = [...a.daily].sort((x, y) => x.date.localeCompare(y.date));
      expect(daily).toEqual([
        {
          date: '2026-11-25',
          enrolled: 4,
          sent: 3,
          delivered: 2,
          read: 1,
          replied: 0,
          booked: 0,
          failed: 1,
          unknown: 0,
          optedOut: 0,
        },
        {
          date: '2026-11-26',
          enrolled: 0,
          sent: 0,
          delivered: 0,
          read: 0,
          replied: 1,
          booked: 1,
          failed: 0,
          unknown: 0,
          optedOut: 1,
        },
      ]);
      // In Los Angeles both days are the 25th.
      const la = await store.analytics(TENANT, c.id, { timeZone: 'America/Los_Angeles' });
      expect(la.daily.map((d) => d.date)).toEqual(['2026-11-25']);
      const ranged = await store.analytics(TENANT, c.id, { from: new Date(T0.getTime() + HOUR) });
      expect(ranged.totals).toMatchObject({ enrolled: 0, sent: 0 });
      expect(await store.analytics(OTHER_TENANT, c.id)).toMatchObject({ totals: { enrolled: 0, sent: 0 } });
    });

    it('purges exit events and the sends of ended enrolments before a date; steps, enrolments and recent sends stay', async () => {
      const DAY = 24 * HOUR;
      const c = await campaign();
      for (const lead of ['done', 'going', 'exits']) await store.enrol(enrolInput(c.id, lead));
      const claimed = await store.claimDue({ limit: 10, leaseMs: 10_000, token: 't' });
      const id = (lead: string) => claimed.find((s) => s.leadId === lead)!.id;
      const day1 = { stepId: 'day1', stepIndex: 1, dueAt: new Date(T0.getTime() + 30 * DAY) };
      await store.complete('t', [
        sentOutcome(id('done'), 'wamid.done'),
        sentOutcome(id('going'), 'wamid.going', day1),
        { id: id('exits'), kind: 'exited', reason: 'replied' },
      ]);
      // The completed enrolment's send is inside the daily cap's window: kept, whatever the date.
      expect(await store.purge(new Date(T0.getTime() + HOUR))).toEqual({ exitEvents: 1, sends: 0 });
      expect(await store.purge(new Date(T0.getTime() + HOUR))).toEqual({ exitEvents: 0, sends: 0 });

      clock.advance(2 * DAY);
      const going = (await store.listEnrolments(TENANT, { leadId: 'going' }))[0]!;
      await store.exitEnrolments({ clientAccountId: TENANT, enrolmentIds: [going.id], reason: 'replied' });
      const enrolments = await store.listEnrolments(TENANT);
      const steps = await store.listSteps(TENANT);
      const analytics = await store.analytics(TENANT, c.id);
      expect(await store.purge(new Date(T0.getTime() - HOUR))).toEqual({ exitEvents: 0, sends: 0 });
      // `going` ended after the date: its send and exit event stay.
      expect(await store.purge(new Date(T0.getTime() + DAY))).toEqual({ exitEvents: 0, sends: 1 });
      expect(await store.purge(new Date(T0.getTime() + 3 * DAY))).toEqual({ exitEvents: 1, sends: 1 });
      expect(await store.listEnrolments(TENANT)).toEqual(enrolments);
      expect(await store.listSteps(TENANT)).toEqual(steps);
      expect(await store.analytics(TENANT, c.id)).toEqual(analytics);
      expect(steps.filter((s) => s.status === 'sent')).toHaveLength(2);
    });

    it('calls subscribers when steps are scheduled', async () => {
      const c = await campaign();
      let calls = 0;
      const unsubscribe = await store.subscribe(() => {
        calls++;
      });
      await store.enrol(enrolInput(c.id, 'lead-1'));
      await expect.poll(() => calls, { timeout: 5000 }).toBeGreaterThan(0);
      await unsubscribe();
    });

    if (factory.name !== 'memory') {
      it('migrates down and up again', async () => {
        const db = backend.db!;
        const c = await campaign();
        const enrolled = await store.enrol(enrolInput(c.id, 'lead-1'));
        const [held] = await store.claimDue({ limit: 1, leaseMs: 60_000, token: 'held' });
        expect(held?.id).toBe(enrolled.enrolled ? enrolled.step.id : undefined);
        const latest = await catalogue(db);

        // Back to 0001: its lease index, unique key and storage options return; a held step is `claimed` again.
        expect((await migrate(db, followupsMigrations, { direction: 'down', steps: 4 })).reverted).toEqual([
          'followups/0005_tenant_keys',
          'followups/0004_unknown_outcome',
          'followups/0003_parked_statuses',
          'followups/0002_lean_queue',
        ]);
        const { rows: stored } = await db.query<{ status: string }>(
          'SELECT status FROM scheduled_follow_ups WHERE id = $1',
          [held!.id],
        );
        expect(stored[0]!.status).toBe('claimed');
        const previous = await catalogue(db);
        expect(previous.indexes).toContain('scheduled_follow_ups_lease_idx');
        expect(previous.constraints).toContain('scheduled_follow_ups_enrolment_id_step_id_key');
        expect((await migrate(db, followupsMigrations)).applied).toEqual([
          'followups/0002_lean_queue',
          'followups/0003_parked_statuses',
          'followups/0004_unknown_outcome',
          'followups/0005_tenant_keys',
        ]);
        expect(await catalogue(db)).toEqual(latest);
        expect((await store.listSteps(TENANT, { leadId: 'lead-1' }))[0]).toMatchObject({
          status: 'claimed',
          claimToken: 'held',
        });

        expect((await migrate(db, followupsMigrations, { direction: 'down' })).reverted).toEqual([
          'followups/0005_tenant_keys',
          'followups/0004_unknown_outcome',
          'followups/0003_parked_statuses',
          'followups/0002_lean_queue',
          'followups/0001_init',
        ]);
        const { rows } = await db.query<{ n: number }>(
          "SELECT count(*)::int AS n FROM information_schema.tables WHERE table_name LIKE 'follow_up%' AND table_schema = current_schema()",
        );
        expect(rows[0]!.n).toBe(0);
        expect((await migrate(db, followupsMigrations)).applied).toEqual([
          'followups/0001_init',
          'followups/0002_lean_queue',
          'followups/0003_parked_statuses',
          'followups/0004_unknown_outcome',
          'followups/0005_tenant_keys',
        ]);
        expect(await catalogue(db)).toEqual(latest);
        expect((await migrate(db, followupsMigrations)).applied).toEqual([]);
      });

      it('0004 admits the unknown status; going down turns unknown steps back into failed ones', async () => {
        const db = backend.db!;
        const c = await campaign();
        await store.enrol(enrolInput(c.id, 'lead-1'));
        const [s] = await store.claimDue({ limit: 1, leaseMs: 10_000, token: 't' });
        await store.complete('t', [{ id: s!.id, kind: 'unknown', error: 'send_outcome_unknown: timeout' }]);
        expect((await migrate(db, followupsMigrations, { direction: 'down', steps: 2 })).reverted).toEqual([
          'followups/0005_tenant_keys',
          'followups/0004_unknown_outcome',
        ]);
        const { rows } = await db.query<{ status: string; last_error: string }>(
          'SELECT status, last_error FROM scheduled_follow_ups WHERE id = $1',
          [s!.id],
        );
        expect(rows[0]).toEqual({ status: 'failed', last_error: 'send_outcome_unknown: timeout' });
        await expect(
          db.query("UPDATE scheduled_follow_ups SET status = 'unknown' WHERE id = $1", [s!.id]),
        ).rejects.toThrow(/check constraint/);
        await migrate(db, followupsMigrations);
        await db.query("UPDATE scheduled_follow_ups SET status = 'unknown' WHERE id = $1", [s!.id]);
        expect((await store.listSteps(TENANT, { leadId: 'lead-1' }))[0]!.status).toBe('unknown');
      });
    }
  });
}

/** The follow-up tables' indexes and storage options in the current schema, in a stable order. */
async function catalogue(db: SqlExecutor) {
  const { rows: indexes } = await db.query<{ indexname: string }>(
    `SELECT indexname FROM pg_indexes
      WHERE schemaname = current_schema()
        AND (tablename LIKE 'follow_up%' OR tablename = 'scheduled_follow_ups')
      ORDER BY indexname`,
  );
  const { rows: options } = await db.query<{ relname: string; reloptions: string[] | null }>(
    `SELECT relname, reloptions FROM pg_class
      WHERE relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = current_schema())
        AND relkind = 'r' AND (relname LIKE 'follow_up%' OR relname = 'scheduled_follow_ups')
      ORDER BY relname`,
  );
  const { rows: constraints } = await db.query<{ conname: string }>(
    `SELECT conname FROM pg_constraint
      WHERE connamespace = (SELECT oid FROM pg_namespace WHERE nspname = current_schema())
      ORDER BY conname`,
  );
  return {
    indexes: indexes.map((r) => r.indexname),
    options,
    constraints: constraints.map((r) => r.conname),
  };
}

/** A step the provider accepted with this message id, and `next` after it (none by default). */
function sentOutcome(id: string, providerMessageId: string, next: NextStep | null = null): StepOutcome {
  return {
    id,
    kind: 'sent',
    providerMessageId,
    messageId: null,
    messageKind: 'template',
    idempotencyKey: `key-${id}`,
    next,
  };
}
