import {
  createManualClock,
  createMemoryStore,
  createSecretBox,
  createTenantRegistry,
  generateSecretKey,
} from '@leadrelay/core';
import { createCloudApiProvider, createWabaClient, type WabaClient } from '@leadrelay/waba';
import { cloudApiHandlers, seedWabaTenant } from '@leadrelay/waba/testing';
import { setupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createFollowUps, type FollowUps } from '../src/follow-ups.js';
import type { FollowUpSendRequest } from '../src/runner/sender.js';
import { createMemoryFollowUpStore } from '../src/store/memory-store.js';
import { createWabaSender } from '../src/waba/create-waba-sender.js';
import { campaignInput } from './fixtures.js';

const GRAPH = 'https://graph.test';
const server = setupServer();
beforeAll(() => server.listen({ onUnhandledFrame: 'error' }));
afterEach(() => server.resetHandlers());
afterAll(() => server.close());

// The welcome template, filled from the lead's first name and city.
const WELCOME_STEP = {
  id: 'hello',
  delay: 'PT0S',
  message: {
    type: 'template' as const,
    name: 'welcome_lead',
    language: 'en',
    parameters: { body: [{ var: 'lead.firstName' }, { var: ['lead.answers.city', 'your area'] }] },
  },
};

describe('createWabaSender: follow-ups through the waba client and a Cloud API emulation', () => {
  const clock = createManualClock('2026-11-25T06:00:00Z');
  let waba: WabaClient;
  let followUps: FollowUps;
  let tenantId: string;
  let leadId: string;
  let core: ReturnType<typeof createMemoryStore>;
  let requests: FollowUpSendRequest[];

  beforeEach(async () => {
    clock.set('2026-11-25T06:00:00Z');
    core = createMemoryStore({ clock });
    const secretBox = createSecretBox({ keys: [{ id: 'k1', key: generateSecretKey() }] });
    const seeded = await seedWabaTenant({
      store: core,
      secretBox,
      provider: 'cloud_api',
      tenant: { timeZone: 'Asia/Kolkata' },
    });
    tenantId = seeded.tenant.id;
    waba = createWabaClient({
      store: core,
      registry: createTenantRegistry({ store: core, secretBox, ttlMs: 0 }),
      clock,
      providers: [
        createCloudApiProvider({ baseUrl: GRAPH, minRetryDelayMs: 1, maxRetryDelayMs: 5, timeoutMs: 2000 }),
      ],
      marketingCap: null,
    });
    for (const [name, bodyText] of [
      ['welcome_lead', 'Hi {{1}}, thanks for asking about {{2}}.'],
      ['nudge', 'Still interested, {{1}}?'],
    ] as const) {
      await waba.templates.upsert({
        clientAccountId: tenantId,
        name,
        language: 'en',
        category: 'UTILITY',
        bodyText,
        providerTemplateId: `tpl-${name}`,
      });
    }
    const lead = await core.leads.create({
      clientAccountId: tenantId,
      phone: '+919812345678',
      name: 'Priya Sharma',
      answers: { city: 'Baner' },
    });
    leadId = lead.id;
    const sender = createWabaSender(waba);
    requests = [];
    followUps = createFollowUps({
      store: createMemoryFollowUpStore({ clock }),
      core,
      sender: {
        send: (req) => {
          requests.push(req);
          return sender.send(req);
        },
      },
      clock,
    });
  });

  it('sends the template with parameters from the lead, and a resend with the same key is deduplicated by waba', async () => {
    const cloud = cloudApiHandlers({ baseUrl: GRAPH });
    server.use(...cloud.handlers);
    await followUps.createCampaign(
      campaignInput({
        clientAccountId: tenantId,
        steps: [WELCOME_STEP],
      }),
    );
    await followUps.handleLeadEvent({ type: 'lead_created', tenant: tenantId, leadId });
    expect(await followUps.createRunner().tick()).toBe(1);
    expect(cloud.sends).toHaveLength(1);
    expect(cloud.sends[0]!.to).toBe('919812345678');
    expect(cloud.sends[0]!.body).toMatchObject({
      type: 'template',
      template: {
        name: 'welcome_lead',
        language: { code: 'en' },
        components: [
          {
            type: 'body',
            parameters: [
              { type: 'text', text: 'Priya' },
              { type: 'text', text: 'Baner' },
            ],
          },
        ],
      },
    });
    const [step] = await followUps.store.listSteps(tenantId, { leadId });
    const messages = await core.messages.listByLead(tenantId, leadId);
    expect(messages.items).toHaveLength(1);
    expect(step).toMatchObject({
      status: 'sent',
      providerMessageId: messages.items[0]!.providerMessageId,
      messageId: messages.items[0]!.id,
    });
    // A worker that lost its lease after sending would send again with the same key: waba answers from its ledger.
    expect(requests[0]!.idempotencyKey).toBe(`fu:${step!.enrolmentId}:hello`);
    const again = await createWabaSender(waba).send(requests[0]!);
    expect(again.providerMessageId).toBe(step!.providerMessageId);
    expect(cloud.sends).toHaveLength(1);
  });

  it('a send that may have been delivered (a 503) ends the step `unknown` at once, and it is never sent again', async () => {
    const cloud = cloudApiHandlers({ baseUrl: GRAPH, outcome: 'unavailable' });
    server.use(...cloud.handlers);
    const campaign = await followUps.createCampaign(
      campaignInput({ clientAccountId: tenantId, steps: [WELCOME_STEP] }),
    );
    await followUps.handleLeadEvent({ type: 'lead_created', tenant: tenantId, leadId });
    const runner = followUps.createRunner({ backoff: { baseMs: 1000, maxMs: 1000 } });
    expect(await runner.tick()).toBe(1);
    expect(cloud.sends).toHaveLength(1);
    const [step] = await followUps.store.listSteps(tenantId, { leadId });
    expect(step).toMatchObject({ status: 'unknown', sentAt: null });
    expect(step!.lastError).toMatch(/^send_outcome_unknown: /);
    // waba's ledger holds the key as unknown too: a resend under it is refused, not sent.
    await expect(createWabaSender(waba).send(requests[0]!)).rejects.toMatchObject({
      code: 'send_outcome_unknown',
    });
    clock.advance(3_600_000);
    expect(await runner.tick()).toBe(0);
    expect(cloud.sends).toHaveLength(1);
    const analytics = await followUps.analytics(tenantId, campaign.id);
    expect(analytics.totals).toMatchObject({ sent: 0, failed: 0, unknown: 1 });
  });

  it('sends the fallback template when the provider refuses free text (131047)', async () => {
    const cloud = cloudApiHandlers({
      baseUrl: GRAPH,
      outcome: (send) => ((send.body as { type?: string }).type === 'text' ? 'window_closed' : 'accept'),
    });
    server.use(...cloud.handlers);
    // Our records say the lead wrote 2 hours ago, so the runner tries free text first.
    await core.leads.update(tenantId, leadId, {
      lastInboundAt: new Date(clock.now().getTime() - 2 * 3_600_000),
    });
    await followUps.createCampaign(
      campaignInput({
        clientAccountId: tenantId,
        exitRules: { onReply: false },
        steps: [
          {
            id: 'text',
            delay: 'PT0S',
            message: {
              type: 'text',
              text: 'Hi {{lead.firstName}}, shall I share the floor plans?',
              fallbackTemplate: {
                name: 'nudge',
                language: 'en',
                parameters: { body: [{ var: 'lead.firstName' }] },
              },
            },
          },
        ],
      }),
    );
    await followUps.handleLeadEvent({ type: 'lead_created', tenant: tenantId, leadId });
    await followUps.createRunner().tick();
    expect(cloud.sends.map((s) => (s.body as { type: string }).type)).toEqual(['text', 'template']);
    const [step] = await followUps.store.listSteps(tenantId, { leadId });
    expect(step).toMatchObject({ status: 'sent', messageKind: 'fallback_template' });
  });
  it('testSend to another number (an agent) goes out to that number, not bound to the lead', async () => {
    const cloud = cloudApiHandlers({ baseUrl: GRAPH });
    server.use(...cloud.handlers);
    const lead = (await core.leads.get(tenantId, leadId))!;
    const campaign = campaignInput({
      clientAccountId: tenantId,
      steps: [WELCOME_STEP],
    });
    const result = await followUps.testSend(campaign, 'hello', { to: '+919900011122', lead });
    expect(cloud.sends).toHaveLength(1);
    expect(cloud.sends[0]!.to).toBe('919900011122');
    expect(cloud.sends[0]!.body).toMatchObject({
      template: {
        components: [{ parameters: [{ text: 'Priya' }, { text: 'Baner' }] }],
      },
    });
    expect(result.providerMessageId).toBeTruthy();
    // Nothing was logged on the lead's conversation; the test message belongs to the agent's number.
    expect((await core.messages.listByLead(tenantId, leadId)).items).toHaveLength(0);
    const agent = await core.leads.getByPhone(tenantId, '+919900011122');
    expect((await core.messages.listByLead(tenantId, agent!.id)).items).toHaveLength(1);
  });
});
