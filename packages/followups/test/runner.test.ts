import {
  ConfigurationError,
  ConflictError,
  type CoreStore,
  createManualClock,
  type Lead,
  type ManualClock,
  PolicyError,
  ProviderError,
  ValidationError,
} from '@leadrelay/core';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createFollowUps, type FollowUps } from '../src/follow-ups.js';
import type { FollowUpStore, PurgeResult } from '../src/store/ports.js';
import { campaignInput } from './fixtures.js';
import { type RecordingSender, recordingSender } from './recording-sender.js';
import { type StoreBackend, storeFactories } from './store-factories.js';

const T0 = new Date('2026-11-25T06:00:00.000Z'); // 11:30 in Kolkata
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

for (const factory of storeFactories()) {
  describe(`runner and enrolment: ${factory.name}`, () => {
    let backend: StoreBackend;
    let store: FollowUpStore;
    let clock: ManualClock;
    let core: CoreStore;
    let sender: RecordingSender;
    let followUps: FollowUps;
    let tenantId: string;
    let lead: Lead;

    beforeAll(async () => {
      backend = await factory.open();
    });
    afterAll(async () => {
      await backend.close();
    });
    beforeEach(async () => {
      clock = createManualClock(T0);
      store = await backend.fresh(clock);
      core = backend.core(clock);
      const tenant = await core.tenants.create({ name: 'Acme Realty', timeZone: 'Asia/Kolkata' });
      tenantId = tenant.id;
      lead = await core.leads.create({
        clientAccountId: tenantId,
        phone: '+919812345678',
        name: 'Priya Sharma',
        answers: { city: 'Pune' },
      });
      sender = recordingSender();
      followUps = createFollowUps({ store, core, sender, clock });
    });

    const runner = (extra: Parameters<FollowUps['createRunner']>[0] = {}) =>
      followUps.createRunner({ backoff: { baseMs: 60_000, maxMs: 600_000 }, maxAttempts: 3, ...extra });

    async function nurture(overrides: Parameters<typeof campaignInput>[0] = {}) {
      return followUps.createCampaign(campaignInput({ clientAccountId: tenantId, ...overrides }));
    }

    /** A sender behaviour: the provider's delivered webhook lands while the batch is still sending. */
    async function reportDeliveredWhileSending(_req: unknown, n: number) {
      await followUps.recordDeliveryStatus({
        tenant: tenantId,
        providerMessageId: `wamid.${n}`,
        status: 'delivered',
        at: clock.now(),
      });
      return undefined;
    }

    function secondLead(): Promise<Lead> {
      return core.leads.create({ clientAccountId: tenantId, phone: '+919812345679', name: 'Ravi' });
    }

    /** The campaign, then Priya enrolled and Ravi a second later: one batch holds both, Priya first. */
    async function twoLeadsDue(): Promise<Lead> {
      const other = await secondLead();
      await nurture();
      await followUps.handleLeadEvent({ type: 'lead_created', tenant: tenantId, leadId: lead.id });
      clock.advance(1000);
      await followUps.handleLeadEvent({ type: 'lead_created', tenant: tenantId, leadId: other.id });
      return other;
    }

    async function stepsOf(leadId = lead.id) {
      return (await store.listSteps(tenantId, { leadId })).map((s) => [
        s.stepId,
        s.status,
        s.skipReason ?? s.lastError,
      ]);
    }

    it('runs a campaign end to end: template, fallback template outside the window, last step, completion', async () => {
      const c = await nurture();
      const event = await followUps.handleLeadEvent({
        type: 'lead_created',
        tenant: tenantId,
        leadId: lead.id,
      });
      expect(event.enrolled).toHaveLength(1);
      const r = runner();
      expect(await r.tick()).toBe(1);
      expect(sender.sent[0]).toMatchObject({
        tenant: tenantId,
        to: '+919812345678',
        leadId: lead.id,
        message: {
          type: 'template',
          name: 'welcome_lead',
          language: 'en',
          parameters: { body: { '1': 'Priya' } },
        },
        idempotencyKey: `fu:${event.enrolled[0]!.enrolmentId}:hello`,
      });
      expect(await r.tick()).toBe(0);
      clock.advance(DAY);
      expect(await r.tick()).toBe(1);
      // No inbound message in 24 hours: the text step goes out as its fallback template.
      expect(sender.sent[1]!.message).toEqual({
        type: 'template',
        name: 'nudge',
        language: 'en',
        parameters: { body: ['Priya'] },
      });
      clock.advance(2 * DAY);
      expect(await r.tick()).toBe(1);
      expect(sender.sent[2]!.message).toEqual({ type: 'template', name: 'last_call' });
      const steps = await store.listSteps(tenantId, { leadId: lead.id });
      expect(steps.map((s) => [s.stepId, s.status, s.messageKind])).toEqual([
        ['hello', 'sent', 'template'],
        ['day1', 'sent', 'fallback_template'],
        ['day3', 'sent', 'template'],
      ]);
      const [enrolment] = await store.listEnrolments(tenantId, { campaignId: c.id });
      expect(enrolment).toMatchObject({ status: 'completed', lastStepId: 'day3' });
      await followUps.recordDeliveryStatus({
        tenant: tenantId,
        providerMessageId: 'wamid.1',
        status: 'read',
        at: clock.now(),
      });
      const analytics = await followUps.analytics(tenantId, c.id);
      expect(analytics.totals).toMatchObject({
        enrolled: 1,
        completed: 1,
        sent: 3,
        delivered: 1,
        read: 1,
        readRate: 1 / 3,
      });
      expect(analytics.steps.map((s) => s.stepId)).toEqual(['hello', 'day1', 'day3']);
    });

    it('sends free text inside the 24-hour window', async () => {
      await nurture({
        exitRules: { onReply: false },
        steps: [
          {
            id: 'text',
            delay: 'PT0S',
            message: { type: 'text', text: 'Hi {{lead.firstName}}, still looking in {{lead.answers.city}}?' },
          },
        ],
      });
      await core.leads.update(tenantId, lead.id, { lastInboundAt: new Date(T0.getTime() - HOUR) });
      await followUps.handleLeadEvent({ type: 'lead_updated', tenant: tenantId, leadId: lead.id });
      await followUps.handleLeadEvent({ type: 'lead_created', tenant: tenantId, leadId: lead.id });
      await runner().tick();
      expect(sender.sent.map((s) => s.message)).toEqual([
        { type: 'text', text: 'Hi Priya, still looking in Pune?' },
      ]);
    });

    it('a delivery status that arrives before the batch completes is applied by the runner', async () => {
      await nurture();
      await followUps.handleLeadEvent({ type: 'lead_created', tenant: tenantId, leadId: lead.id });
      sender.behaviour = reportDeliveredWhileSending;
      expect(await runner().tick()).toBe(1);
      const [step] = await store.listSteps(tenantId, { leadId: lead.id });
      expect(step).toMatchObject({
        status: 'sent',
        providerMessageId: 'wamid.1',
        deliveryStatus: 'delivered',
      });
      expect(step!.deliveredAt).toEqual(clock.now());
    });

    it('purges rows past retention at its first batch, then once per interval; retention: false never does', async () => {
      await nurture();
      await followUps.handleLeadEvent({ type: 'lead_created', tenant: tenantId, leadId: lead.id });
      await runner().tick();
      await followUps.handleExitEvent({ type: 'replied', tenant: tenantId, leadId: lead.id });
      const purge = store.purge.bind(store);
      const calls: { before: Date; result: PurgeResult }[] = [];
      store.purge = async (before) => {
        const result = await purge(before);
        calls.push({ before, result });
        return result;
      };
      try {
        const r = runner();
        clock.advance(31 * DAY);
        await r.tick();
        // The exit event and the send of the enrolment that ended 31 days ago.
        expect(calls).toEqual([
          { before: new Date(clock.now().getTime() - 30 * DAY), result: { exitEvents: 1, sends: 1 } },
        ]);
        clock.advance(DAY - 1);
        await r.tick();
        expect(calls).toHaveLength(1);
        clock.advance(1);
        await r.tick();
        expect(calls).toHaveLength(2);

        await runner({ retention: { maxAgeMs: 2 * DAY, intervalMs: HOUR } }).tick();
        expect(calls[2]!.before).toEqual(new Date(clock.now().getTime() - 2 * DAY));
        await runner({ retention: false }).tick();
        expect(calls).toHaveLength(3);
        expect(() => runner({ retention: { maxAgeMs: 0 } })).toThrow(ConfigurationError);
        expect(() => runner({ retention: { intervalMs: Number.NaN } })).toThrow(/retention.intervalMs/);
      } finally {
        store.purge = purge;
      }
      // Analytics still count the enrolment and its send.
      expect(
        (await followUps.analytics(tenantId, (await store.listCampaigns(tenantId))[0]!.id)).totals,
      ).toMatchObject({
        enrolled: 1,
        sent: 1,
        replied: 1,
      });
    });

    it('a reply cancels the pending steps at once', async () => {
      await nurture();
      await followUps.handleLeadEvent({ type: 'lead_created', tenant: tenantId, leadId: lead.id });
      const r = runner();
      await r.tick();
      expect(await followUps.handleExitEvent({ type: 'replied', tenant: tenantId, leadId: lead.id })).toEqual(
        {
          exited: 1,
          cancelledSteps: 1,
        },
      );
      clock.advance(DAY);
      expect(await r.tick()).toBe(0);
      expect(sender.sent).toHaveLength(1);
      expect(await stepsOf()).toEqual([
        ['hello', 'sent', null],
        ['day1', 'cancelled', 'replied'],
      ]);
      const [e] = await store.listEnrolments(tenantId, { leadId: lead.id });
      expect(e).toMatchObject({ status: 'exited', exitReason: 'replied', lastStepId: 'hello' });
    });

    it('a reply that lands between the claim and the send stops that send', async () => {
      await nurture();
      await followUps.handleLeadEvent({ type: 'lead_created', tenant: tenantId, leadId: lead.id });
      const claimDue = store.claimDue.bind(store);
      store.claimDue = async (input) => {
        const rows = await claimDue(input);
        if (rows.length > 0)
          await followUps.handleExitEvent({ type: 'replied', tenant: tenantId, leadId: lead.id });
        return rows;
      };
      try {
        expect(await runner().tick()).toBe(1);
      } finally {
        store.claimDue = claimDue;
      }
      expect(sender.sent).toHaveLength(0);
      expect(await stepsOf()).toEqual([['hello', 'cancelled', 'replied']]);
    });

    it('a reply to one lead while the batch is sending to another stops the later send', async () => {
      const other = await twoLeadsDue();
      sender.behaviour = async (req) => {
        if (req.leadId === lead.id)
          await followUps.handleExitEvent({ type: 'replied', tenant: tenantId, leadId: other.id });
        return undefined;
      };
      expect(await runner({ concurrency: 1 }).tick()).toBe(2);
      expect(sender.sent.map((s) => s.leadId)).toEqual([lead.id]);
      expect(await stepsOf(other.id)).toEqual([['hello', 'cancelled', 'replied']]);
    });

    it('a reply seen only on the lead record (no exit event) also stops the send', async () => {
      await nurture();
      await followUps.handleLeadEvent({ type: 'lead_created', tenant: tenantId, leadId: lead.id });
      clock.advance(60_000);
      await core.leads.update(tenantId, lead.id, { lastInboundAt: clock.now() });
      await runner().tick();
      expect(sender.sent).toHaveLength(0);
      expect(await stepsOf()).toEqual([['hello', 'cancelled', 'replied']]);
    });

    it('an inbound message event ends reply-sensitive enrolments and can start others', async () => {
      await nurture();
      const replies = await nurture({
        name: 'Replies',
        trigger: { type: 'inbound_message', condition: { '==': [{ var: 'lead.answers.city' }, 'Pune'] } },
        exitRules: { onReply: false },
      });
      await followUps.handleLeadEvent({ type: 'lead_created', tenant: tenantId, leadId: lead.id });
      clock.advance(60_000);
      await core.leads.update(tenantId, lead.id, { lastInboundAt: clock.now() });
      const res = await followUps.handleLeadEvent({
        type: 'inbound_message',
        tenant: tenantId,
        leadId: lead.id,
      });
      expect(res.exited).toBe(1);
      expect(res.enrolled.map((e) => e.campaignId)).toEqual([replies.id]);
    });

    it('falls back to the template when the sender says the window is closed', async () => {
      await nurture({
        exitRules: { onReply: false },
        steps: [
          {
            id: 'text',
            delay: 'PT0S',
            message: {
              type: 'text',
              text: 'Hello',
              fallbackTemplate: { name: 'nudge', parameters: { body: ['x'] } },
            },
          },
        ],
      });
      await core.leads.update(tenantId, lead.id, { lastInboundAt: new Date(T0.getTime() - HOUR) });
      await followUps.handleLeadEvent({ type: 'lead_created', tenant: tenantId, leadId: lead.id });
      sender.behaviour = (req) => {
        if (req.message.type === 'text') throw new PolicyError('window closed', { code: 'window_closed' });
        return undefined;
      };
      await runner().tick();
      expect(sender.sent.map((s) => [s.message.type, s.idempotencyKey.endsWith(':template')])).toEqual([
        ['template', true],
      ]);
      const [s] = await store.listSteps(tenantId, { leadId: lead.id });
      expect(s).toMatchObject({ status: 'sent', messageKind: 'fallback_template' });
    });

    it('skips on policy refusals, exits on opt-out, retries transient errors and gives up after maxAttempts', async () => {
      await nurture();
      const leads = await Promise.all(
        ['+919800000001', '+919800000002', '+919800000003', '+919800000004'].map((phone, i) =>
          core.leads.create({ clientAccountId: tenantId, phone, name: `Lead ${i}` }),
        ),
      );
      for (const l of leads)
        await followUps.handleLeadEvent({ type: 'lead_created', tenant: tenantId, leadId: l.id });
      const [paused, optedOut, flaky, broken] = leads.map((l) => l.id);
      sender.behaviour = (req) => {
        if (req.leadId === paused) throw new PolicyError('paused', { code: 'template_not_approved' });
        if (req.leadId === optedOut) throw new PolicyError('opted out', { code: 'opted_out' });
        if (req.leadId === flaky)
          throw new ProviderError('busy', { provider: 'cloud_api', retryable: true, httpStatus: 503 });
        if (req.leadId === broken)
          throw new ProviderError('bad number', { provider: 'cloud_api', httpStatus: 400 });
        return undefined;
      };
      const r = runner();
      await r.tick();
      expect(await stepsOf(paused)).toEqual([
        ['hello', 'skipped', 'template_not_approved'],
        ['day1', 'pending', null],
      ]);
      expect(await stepsOf(optedOut)).toEqual([['hello', 'cancelled', 'opted_out']]);
      expect(await stepsOf(broken)).toEqual([['hello', 'failed', 'provider_error: bad number']]);
      const [retry] = await store.listSteps(tenantId, { leadId: flaky });
      expect(retry).toMatchObject({ status: 'pending', attempts: 1 });
      expect(retry!.dueAt.getTime() - clock.now().getTime()).toBeGreaterThanOrEqual(48_000);
      clock.advance(10 * 60_000);
      await r.tick();
      clock.advance(10 * 60_000);
      await r.tick();
      const [dead] = await store.listSteps(tenantId, { leadId: flaky });
      expect(dead).toMatchObject({ status: 'dead', attempts: 3 });
      const enrolments = Object.fromEntries((await store.listEnrolments(tenantId)).map((e) => [e.leadId, e]));
      expect(enrolments[optedOut!]).toMatchObject({ status: 'exited', exitReason: 'opted_out' });
      expect(enrolments[broken!]).toMatchObject({ status: 'exited', exitReason: 'send_failed' });
      expect(enrolments[flaky!]).toMatchObject({ status: 'exited', exitReason: 'send_failed' });
      expect(enrolments[paused!]!.status).toBe('active');
    });

    it('a send whose outcome is unknown ends the step `unknown`: counted, and never sent again', async () => {
      const c = await nurture();
      await followUps.handleLeadEvent({ type: 'lead_created', tenant: tenantId, leadId: lead.id });
      let calls = 0;
      sender.behaviour = () => {
        calls++;
        throw new ConflictError('An earlier send with this key may have delivered it', {
          code: 'send_outcome_unknown',
        });
      };
      const r = runner();
      expect(await r.tick()).toBe(1);
      expect(await stepsOf()).toEqual([
        ['hello', 'unknown', expect.stringContaining('send_outcome_unknown')],
      ]);
      const [enrolment] = await store.listEnrolments(tenantId, { leadId: lead.id });
      expect(enrolment).toMatchObject({ status: 'exited', exitReason: 'send_outcome_unknown' });
      for (let i = 0; i < 3; i++) {
        clock.advance(DAY);
        expect(await r.tick()).toBe(0);
      }
      expect(calls).toBe(1);
      const a = await followUps.analytics(tenantId, c.id);
      expect(a.totals).toMatchObject({ sent: 0, failed: 0, unknown: 1 });
      expect(a.steps[0]).toMatchObject({ stepId: 'hello', unknown: 1, failed: 0 });
    });

    it('a key still in flight at the sender waits for its claim to expire, using no attempt, then ends unknown', async () => {
      await nurture();
      await followUps.handleLeadEvent({ type: 'lead_created', tenant: tenantId, leadId: lead.id });
      const expiries: Date[] = [];
      sender.behaviour = () => {
        // Another worker's send under this key is still in flight (maxAttempts is 3: these are more).
        if (expiries.length < 4) {
          const leaseExpiresAt = new Date(clock.now().getTime() + 4 * 60_000);
          expiries.push(leaseExpiresAt);
          throw new ConflictError('A send with this idempotency key is still in progress', {
            code: 'send_in_progress',
            retryable: true,
            details: { idempotencyKey: 'k', leaseExpiresAt: leaseExpiresAt.toISOString() },
          });
        }
        throw new ConflictError('may have delivered it', { code: 'send_outcome_unknown' });
      };
      const r = runner();
      for (const expiry of [0, 1, 2, 3]) {
        expect(await r.tick()).toBe(1);
        const [step] = await store.listSteps(tenantId, { leadId: lead.id });
        expect(step).toMatchObject({ status: 'pending', attempts: 0, skipReason: 'send_in_progress' });
        expect(step!.dueAt).toEqual(expiries[expiry]);
        clock.advance(60_000);
        expect(await r.tick()).toBe(0);
        clock.set(expiries[expiry]!);
      }
      expect(await r.tick()).toBe(1);
      const [step] = await store.listSteps(tenantId, { leadId: lead.id });
      expect(step).toMatchObject({ status: 'unknown', attempts: 1 });
      expect(step!.lastError).toMatch(/^send_outcome_unknown: /);
    });

    it('schedules around quiet hours in the lead zone and defers a step found in quiet hours', async () => {
      const ny = await core.leads.create({ clientAccountId: tenantId, phone: '+14155550132', name: 'Sam' });
      await nurture({ schedule: { quietHours: { start: '21:00', end: '09:00' } } });
      clock.set('2026-03-08T03:00:00Z'); // 22:00 EST on 7 March, the night the clocks go forward
      const res = await followUps.handleLeadEvent({ type: 'lead_created', tenant: tenantId, leadId: ny.id });
      expect(res.enrolled[0]!.firstStepDueAt).toEqual(new Date('2026-03-08T13:00:00Z'));
      clock.set('2026-03-08T13:00:00Z');
      await runner().tick();
      const steps = await store.listSteps(tenantId, { leadId: ny.id });
      // day1 is one calendar day later at the same wall time, not inside quiet hours: 09:00 EDT on the 9th.
      expect(steps.map((s) => [s.stepId, s.status, s.dueAt.toISOString()])).toEqual([
        ['hello', 'sent', '2026-03-08T13:00:00.000Z'],
        ['day1', 'pending', '2026-03-09T13:00:00.000Z'],
      ]);
      // A retry that comes due at night is deferred to the morning without using an attempt.
      clock.set('2026-03-10T03:30:00Z'); // 23:30 EDT
      await runner().tick();
      const [, day1] = await store.listSteps(tenantId, { leadId: ny.id });
      expect(day1).toMatchObject({ status: 'pending', attempts: 0, skipReason: 'quiet_hours' });
      expect(day1!.dueAt).toEqual(new Date('2026-03-10T13:00:00Z'));
    });

    it('caps sends per lead per day across campaigns, skips steps whose condition is false, defers paused campaigns', async () => {
      const one = {
        steps: [{ id: 's', delay: 'PT0S', message: { type: 'template' as const, name: 'a' } }],
        maxSendsPerLeadPerDay: 1,
      };
      await nurture({ name: 'A', ...one });
      clock.advance(1000);
      await nurture({ name: 'B', ...one });
      clock.advance(1000);
      const gated = await nurture({
        name: 'C',
        steps: [
          {
            id: 'vip',
            delay: 'PT0S',
            message: { type: 'template', name: 'vip' },
            condition: { '>': [{ var: 'lead.answers.budget' }, 100] },
          },
          { id: 'after', delay: 'PT1H', message: { type: 'template', name: 'after' } },
        ],
        maxSendsPerLeadPerDay: 10,
      });
      const paused = await nurture({ name: 'D', ...one, maxSendsPerLeadPerDay: 10 });
      await followUps.handleLeadEvent({ type: 'lead_created', tenant: tenantId, leadId: lead.id });
      await followUps.setCampaignStatus(tenantId, paused.id, 'paused');
      await runner({ concurrency: 1 }).tick();
      const steps = await store.listSteps(tenantId, { leadId: lead.id });
      const by = (campaignId: string) =>
        steps.filter((s) => s.campaignId === campaignId).map((s) => [s.stepId, s.status, s.skipReason]);
      const [a, b] = await followUps.listCampaigns(tenantId);
      expect([by(a!.id), by(b!.id)]).toEqual(
        expect.arrayContaining([[['s', 'sent', null]], [['s', 'pending', 'daily_cap']]]),
      );
      expect(by(gated.id)).toEqual([
        ['vip', 'skipped', 'condition_false'],
        ['after', 'pending', null],
      ]);
      expect(by(paused.id)).toEqual([['s', 'pending', 'campaign_paused']]);
      expect(sender.sent.map((s) => (s.message.type === 'template' ? s.message.name : ''))).toEqual(['a']);
    });

    it('keeps running enrolments on the version they started with; archiving stops them', async () => {
      const c = await nurture();
      await followUps.handleLeadEvent({ type: 'lead_created', tenant: tenantId, leadId: lead.id });
      const v2 = await followUps.updateCampaign(tenantId, c.id, {
        steps: [{ id: 'hello', delay: 'PT0S', message: { type: 'template', name: 'changed' } }],
      });
      expect(v2.version).toBe(2);
      await runner().tick();
      expect(sender.sent[0]!.message).toMatchObject({ name: 'welcome_lead' });
      await followUps.setCampaignStatus(tenantId, c.id, 'archived');
      expect(await stepsOf()).toEqual([
        ['hello', 'sent', null],
        ['day1', 'cancelled', 'campaign_stopped'],
      ]);
    });

    it('works with its methods taken off the object (setCampaignStatus, updateCampaign)', async () => {
      const c = await nurture();
      const { setCampaignStatus, updateCampaign, handleLeadEvent } = followUps;
      await handleLeadEvent({ type: 'lead_created', tenant: tenantId, leadId: lead.id });
      expect(await setCampaignStatus(tenantId, c.id, 'paused')).toMatchObject({ status: 'paused' });
      expect(await updateCampaign(tenantId, c.id, { name: 'Renamed' })).toMatchObject({
        name: 'Renamed',
        version: 2,
      });
      await setCampaignStatus(tenantId, c.id, 'archived');
      expect(await stepsOf()).toEqual([['hello', 'cancelled', 'campaign_stopped']]);
    });

    it('refuses a campaign whose condition is malformed, with the path of the bad node', async () => {
      const bad = campaignInput({
        clientAccountId: tenantId,
        trigger: { type: 'lead_created', condition: { and: [{ '>': [{ var: 'lead.answers.budget' }] }] } },
      });
      const error = await followUps.createCampaign(bad).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ValidationError);
      expect((error as ValidationError).issues[0]!.path).toEqual(['trigger', 'condition', 'and', 0, '>']);
    });

    it('wakes an idle runner on NOTIFY when steps are scheduled', async () => {
      await nurture();
      const r = runner({ pollIntervalMs: 60_000 });
      await r.start();
      try {
        await new Promise((resolve) => setTimeout(resolve, 300));
        await followUps.handleLeadEvent({ type: 'lead_created', tenant: tenantId, leadId: lead.id });
        await expect.poll(() => sender.sent.length, { timeout: 5000, interval: 20 }).toBe(1);
      } finally {
        await r.stop();
      }
    });

    it('an idle runner wakes to apply a status parked during its last batch, not a poll later', async () => {
      await nurture();
      const other = await secondLead();
      sender.behaviour = reportDeliveredWhileSending;
      const r = runner({ pollIntervalMs: 60_000, parkedStatusSweepMs: 200 });
      await r.start();
      try {
        await followUps.handleLeadEvent({ type: 'lead_created', tenant: tenantId, leadId: lead.id });
        await expect.poll(() => sender.sent.length, { timeout: 5000, interval: 20 }).toBe(1);
        // The first batch's sweep ran; the second batch's status waits for the next one.
        await followUps.handleLeadEvent({ type: 'lead_created', tenant: tenantId, leadId: other.id });
        await expect.poll(() => sender.sent.length, { timeout: 5000, interval: 20 }).toBe(2);
        clock.advance(200);
        await expect
          .poll(async () => (await store.listSteps(tenantId, { leadId: other.id }))[0]?.deliveryStatus, {
            timeout: 5000,
            interval: 20,
          })
          .toBe('delivered');
      } finally {
        await r.stop();
      }
    });

    it('records the sends already made when a later chunk of the batch fails', async () => {
      const other = await twoLeadsDue();
      const check = store.checkBeforeSend.bind(store);
      let calls = 0;
      store.checkBeforeSend = async (...args) => {
        if (++calls === 2) throw new Error('connection lost');
        return check(...args);
      };
      try {
        await expect(runner({ concurrency: 1 }).tick()).rejects.toThrow('connection lost');
      } finally {
        store.checkBeforeSend = check;
      }
      expect(sender.sent.map((s) => s.leadId)).toEqual([lead.id]);
      expect((await store.listSteps(tenantId, { leadId: lead.id }))[0]).toMatchObject({ status: 'sent' });
      expect((await store.listSteps(tenantId, { leadId: other.id }))[0]).toMatchObject({ status: 'claimed' });
    });

    it('no_reply campaigns wait for silence and a reply in the meantime cancels them', async () => {
      await nurture({
        name: 'Silent',
        trigger: { type: 'no_reply', after: 'PT2H' },
        exitRules: { onReply: false },
        steps: [{ id: 'ping', delay: 'PT0S', message: { type: 'template', name: 'ping' } }],
      });
      const res = await followUps.handleLeadEvent({
        type: 'lead_created',
        tenant: tenantId,
        leadId: lead.id,
      });
      expect(res.enrolled[0]!.firstStepDueAt).toEqual(new Date(T0.getTime() + 2 * HOUR));
      clock.advance(HOUR);
      await followUps.handleExitEvent({ type: 'replied', tenant: tenantId, leadId: lead.id });
      clock.advance(2 * HOUR);
      expect(await runner().tick()).toBe(0);
      expect(sender.sent).toHaveLength(0);
    });
  });
}
