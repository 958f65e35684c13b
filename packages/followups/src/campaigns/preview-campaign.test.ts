import { createManualClock, createMemoryStore, type Lead } from '@leadrelay/core';
import { describe, expect, it } from 'vitest';
import { campaignInput } from '../../test/fixtures.js';
import { recordingSender } from '../../test/recording-sender.js';
import { createFollowUps } from '../follow-ups.js';
import { createMemoryFollowUpStore } from '../store/memory-store.js';
import { previewCampaign } from './preview-campaign.js';

const lead: Lead = {
  id: 'lead-1',
  clientAccountId: 'tenant-a',
  phone: '+14155550132',
  name: 'Sam Carter',
  email: null,
  source: 'Website',
  additionalSources: [],
  status: 'new',
  facebookPageId: null,
  leadFormId: null,
  wabaConfigurationId: null,
  botProfileId: null,
  agentId: null,
  answers: { budget: '40' },
  attributes: {},
  timeZone: null,
  optedOut: false,
  optedOutAt: null,
  lastInboundAt: null,
  lastOutboundAt: null,
  createdAt: new Date('2026-03-06T12:00:00Z'),
  updatedAt: new Date('2026-03-06T12:00:00Z'),
};

const campaign = campaignInput({
  schedule: { quietHours: { start: '21:00', end: '09:00' } },
  steps: [
    {
      id: 'hello',
      delay: 'PT0S',
      message: { type: 'template', name: 'welcome_lead', parameters: { body: [{ var: 'lead.firstName' }] } },
    },
    {
      id: 'day1',
      delay: 'P1D',
      message: {
        type: 'text',
        text: 'Hi {{lead.firstName}}',
        fallbackTemplate: { name: 'nudge', parameters: { body: ['x'] } },
      },
    },
    {
      id: 'vip',
      delay: 'PT1H',
      message: { type: 'template', name: 'vip' },
      condition: { '>': [{ var: 'lead.answers.budget' }, 100] },
    },
    { id: 'last', delay: 'P2D', message: { type: 'template', name: 'last_call' } },
  ],
});

describe('previewCampaign', () => {
  it('shows the exact timeline in the lead zone across a DST change, with skipped steps and why', () => {
    const p = previewCampaign(campaign, lead, {
      now: new Date('2026-03-07T03:00:00Z'),
      tenant: { id: 'tenant-a', timeZone: 'Asia/Kolkata' },
    });
    expect(p).toMatchObject({
      timeZone: 'America/New_York',
      timeZoneSource: 'phone_country',
      triggerMatches: true,
      exitReason: null,
    });
    expect(
      p.entries.map((e) => [
        e.stepId,
        e.at.toISOString(),
        e.localTime,
        e.movedBy,
        e.action,
        e.kind,
        e.rendered,
        e.reason,
      ]),
    ).toEqual([
      [
        'hello',
        '2026-03-07T14:00:00.000Z',
        '2026-03-07 09:00',
        'quiet_hours',
        'send',
        'template',
        '[template welcome_lead] Sam',
        null,
      ],
      // One calendar day later at the same wall time, now on daylight time; the window is closed: fallback.
      [
        'day1',
        '2026-03-08T13:00:00.000Z',
        '2026-03-08 09:00',
        null,
        'send',
        'fallback_template',
        '[template nudge] x',
        null,
      ],
      ['vip', '2026-03-08T14:00:00.000Z', '2026-03-08 10:00', null, 'skip', null, null, 'condition_false'],
      [
        'last',
        '2026-03-10T14:00:00.000Z',
        '2026-03-10 10:00',
        null,
        'send',
        'template',
        '[template last_call]',
        null,
      ],
    ]);
    expect(p.entries[0]!.plannedAt.toISOString()).toBe('2026-03-07T03:00:00.000Z');
  });

  it('defers by the daily cap and stops at an exit rule', () => {
    const capped = previewCampaign(
      { ...campaign, maxSendsPerLeadPerDay: 1, schedule: { quietHours: null } },
      lead,
      {
        now: new Date('2026-03-07T15:00:00Z'),
      },
    );
    expect(capped.entries.slice(0, 2).map((e) => [e.stepId, e.at.toISOString(), e.movedBy])).toEqual([
      ['hello', '2026-03-07T15:00:00.000Z', null],
      // A calendar day across the DST change is 23 hours: the cap holds the step until a full 24 h passed.
      ['day1', '2026-03-08T15:00:00.000Z', 'daily_cap'],
    ]);
    const cap2 = previewCampaign(
      {
        ...campaign,
        maxSendsPerLeadPerDay: 1,
        schedule: { quietHours: null },
        steps: [campaign.steps[0]!, { ...campaign.steps[3]!, delay: 'PT1H' }],
      },
      lead,
      { now: new Date('2026-03-07T15:00:00Z') },
    );
    expect(cap2.entries.map((e) => [e.stepId, e.at.toISOString(), e.movedBy])).toEqual([
      ['hello', '2026-03-07T15:00:00.000Z', null],
      ['last', '2026-03-08T15:00:00.000Z', 'daily_cap'],
    ]);
    const out = previewCampaign(
      campaign,
      { ...lead, optedOut: true },
      { now: new Date('2026-03-07T15:00:00Z') },
    );
    expect(out.exitReason).toBe('opted_out');
    expect(out.entries.map((e) => [e.stepId, e.action])).toEqual([['hello', 'exit']]);
  });

  it('testSend sends one rendered step to the given number through the sender', async () => {
    const clock = createManualClock('2026-03-07T15:00:00Z');
    const sender = recordingSender();
    const followUps = createFollowUps({
      store: createMemoryFollowUpStore({ clock }),
      core: createMemoryStore({ clock }),
      sender,
      clock,
    });
    const result = await followUps.testSend(campaign, 'day1', { to: '+919900000000', lead });
    expect(result.providerMessageId).toBe('wamid.1');
    expect(sender.sent[0]).toMatchObject({
      to: '+919900000000',
      message: { type: 'template', name: 'nudge', parameters: { body: ['x'] } },
    });
    const open = await followUps.testSend(campaign, 'day1', {
      to: '+919900000000',
      lead: { ...lead, lastInboundAt: clock.now() },
    });
    expect(open.message).toEqual({ type: 'text', text: 'Hi Sam' });
    await expect(followUps.testSend(campaign, 'nope', { to: '+919900000000', lead })).rejects.toMatchObject({
      code: 'step_not_found',
    });
  });
});
