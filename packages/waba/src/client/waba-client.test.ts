import {
  ConflictError,
  isLeadRelayError,
  NotFoundError,
  noopLogger,
  PolicyError,
  ProviderError,
  ValidationError,
} from '@leadrelay/core';
import { cloudApiHandlers, gupshupHandlers, type ProviderMock } from '@leadrelay/waba/testing';
import { setupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createHarness, GRAPH_BASE, GUPSHUP_BASE, type Harness, leadWrote } from '../../test/harness.js';
import { readLeadWabaState, updateLeadWabaState } from './lead-waba-state.js';

const server = setupServer();
beforeAll(() => server.listen({ onUnhandledFrame: 'error' }));
afterEach(() => server.resetHandlers());
afterAll(() => server.close());

const PRIYA = '+919812345678';
const HOUR = 60 * 60 * 1000;

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (e: unknown) => e,
  );
}

function mock(
  provider: 'gupshup' | 'cloud_api',
  options: Parameters<typeof gupshupHandlers>[0] = {},
): ProviderMock {
  const m =
    provider === 'gupshup'
      ? gupshupHandlers({ baseUrl: GUPSHUP_BASE, ...options })
      : cloudApiHandlers({ baseUrl: GRAPH_BASE, ...options });
  server.use(...m.handlers);
  return m;
}

async function registerTemplates(h: Harness) {
  const base = { clientAccountId: h.tenant.id, language: 'en' };
  await h.client.templates.upsert({
    ...base,
    name: 'welcome_lead',
    category: 'UTILITY',
    bodyText: 'Hi {{1}}, thanks for asking about {{2}}.',
    footerText: 'Acme Realty',
    providerTemplateId: 'c6aecef6-bcb0-4fb1-8100-28c094e3bc6b',
  });
  await h.client.templates.upsert({
    ...base,
    name: 'new_launch',
    category: 'MARKETING',
    bodyText: 'New launch in {{1}}!',
    providerTemplateId: 'a1b2c3d4-0000-4000-8000-000000000001',
  });
  await h.client.templates.upsert({
    ...base,
    name: 'old_reminder',
    category: 'UTILITY',
    status: 'PAUSED',
    bodyText: 'Reminder',
    providerTemplateId: 'a1b2c3d4-0000-4000-8000-000000000002',
  });
}

describe('WabaClient.send (Gupshup tenant)', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await createHarness({ provider: 'gupshup' });
    await registerTemplates(h);
  });

  it('sends free-form inside the window, stores the message and stamps the lead', async () => {
    const gupshup = mock('gupshup');
    const lead = await leadWrote(h, PRIYA, 2);
    const result = await h.client.send({
      tenant: h.tenant.id,
      to: '098123 45678',
      message: { type: 'text', text: 'Hello Priya' },
    });
    expect(result).toMatchObject({
      provider: 'gupshup',
      providerMessageId: 'ee4a68a0-1203-4c85-8dc3-000000000000',
      pricingCategory: 'service',
      billable: false,
      deduplicated: false,
      decision: {
        reason: 'service_window_open',
        windowExpiresAt: new Date(h.clock.now().getTime() + 22 * HOUR),
      },
    });
    expect(gupshup.sends).toHaveLength(1);
    expect(gupshup.sends[0]!.headers.apikey).toBe(h.secrets.credentials);
    expect(gupshup.sends[0]!.to).toBe('919812345678');
    const stored = await h.store.messages.get(h.tenant.id, result.messageId);
    expect(stored).toMatchObject({
      leadId: lead.id,
      direction: 'outbound',
      kind: 'text',
      body: 'Hello Priya',
      status: 'queued',
      provider: 'gupshup',
      providerMessageId: result.providerMessageId,
    });
    expect((await h.store.leads.get(h.tenant.id, lead.id))?.lastOutboundAt).toEqual(h.clock.now());
  });

  it('refuses free-form to a lead who never wrote, suggesting an allowed template, with nothing sent', async () => {
    const gupshup = mock('gupshup');
    const error = await rejection(
      h.client.send({ tenant: h.tenant.id, to: PRIYA, message: { type: 'text', text: 'Hi' } }),
    );
    expect(error).toBeInstanceOf(PolicyError);
    expect(error).toMatchObject({
      code: 'template_required',
      status: 422,
      details: {
        suggestedTemplate: {
          name: 'welcome_lead',
          language: 'en',
          category: 'UTILITY',
          pricingCategory: 'utility',
          billable: true,
        },
        decision: { allowed: false, templateRequired: true },
      },
    });
    expect(gupshup.sends).toHaveLength(0);
  });

  it('refuses free-form once the window closed: window_closed, saying which template is allowed', async () => {
    mock('gupshup');
    await leadWrote(h, PRIYA, 25);
    const error = await rejection(
      h.client.send({
        tenant: h.tenant.id,
        to: PRIYA,
        message: { type: 'buttons', body: 'Visit?', buttons: [{ id: 'y', title: 'Yes' }] },
      }),
    );
    expect(error).toMatchObject({
      code: 'window_closed',
      details: { suggestedTemplate: { name: 'welcome_lead' } },
    });
    expect((error as Error).message).toContain('closed at');
  });

  it('sends an approved template outside the window, renders it and logs usage with pricing', async () => {
    const gupshup = mock('gupshup');
    const result = await h.client.send({
      tenant: h.tenant.id,
      to: PRIYA,
      message: {
        type: 'template',
        name: 'welcome_lead',
        parameters: { body: ['Priya', 'the 3BHK in Baner'] },
      },
      context: { agentId: null, campaign: 'welcome' },
    });
    expect(result).toMatchObject({
      pricingCategory: 'utility',
      billable: true,
      decision: { reason: 'template_outside_service_window' },
    });
    expect(gupshup.sends[0]!.path).toBe('/wa/api/v1/template/msg');
    expect(gupshup.sends[0]!.body.template).toEqual({
      id: 'c6aecef6-bcb0-4fb1-8100-28c094e3bc6b',
      params: ['Priya', 'the 3BHK in Baner'],
    });
    const stored = await h.store.messages.get(h.tenant.id, result.messageId);
    expect(stored).toMatchObject({
      kind: 'template',
      templateName: 'welcome_lead',
      body: 'Hi Priya, thanks for asking about the 3BHK in Baner.\nAcme Realty',
      payload: { context: { campaign: 'welcome' } },
    });
    const usage = await h.store.templateUsage.list(h.tenant.id);
    expect(usage.items).toEqual([
      expect.objectContaining({
        templateName: 'welcome_lead',
        language: 'en',
        category: 'UTILITY',
        phoneNumber: PRIYA,
        status: 'sent',
        providerMessageId: result.providerMessageId,
        pricingCategory: 'utility',
        billable: true,
      }),
    ]);
  });

  it('a usage line the store refuses does not fail a sent template: the message is kept, the failure logged', async () => {
    const gupshup = mock('gupshup');
    const errors: string[] = [];
    const logged = await createHarness({
      provider: 'gupshup',
      client: { logger: { ...noopLogger, error: (_obj, msg) => errors.push(msg ?? '') } },
    });
    await registerTemplates(logged);
    const request = {
      tenant: logged.tenant.id,
      to: PRIYA,
      message: {
        type: 'template' as const,
        name: 'welcome_lead',
        parameters: { body: ['Priya', 'Baner'] },
      },
      // The usage log refers to agents: an id the tenant does not have is refused there.
      context: { agentId: 'no-such-agent' },
      idempotencyKey: 'usage-refused',
    };
    const result = await logged.client.send(request);
    expect(gupshup.sends).toHaveLength(1);
    expect(await logged.store.messages.get(logged.tenant.id, result.messageId)).toMatchObject({
      status: 'queued',
      providerMessageId: result.providerMessageId,
    });
    const lead = await logged.store.leads.getByPhone(logged.tenant.id, PRIYA);
    expect(lead?.lastOutboundAt).toEqual(logged.clock.now());
    expect((await logged.store.templateUsage.list(logged.tenant.id)).items).toEqual([]);
    expect(errors).toEqual(['could not record template usage']);
    expect(await logged.client.send(request)).toEqual({ ...result, deduplicated: true });
    expect(gupshup.sends).toHaveLength(1);
  });

  it('checks template parameters before any HTTP call and logs the refusal', async () => {
    const gupshup = mock('gupshup');
    const error = await rejection(
      h.client.send({
        tenant: h.tenant.id,
        to: PRIYA,
        message: { type: 'template', name: 'welcome_lead', parameters: { body: ['Priya'] } },
      }),
    );
    expect(error).toBeInstanceOf(ValidationError);
    expect(error).toMatchObject({
      code: 'template_parameter_missing',
      details: { template: 'welcome_lead', parameter: 'body.2' },
    });
    const unknown = await rejection(
      h.client.send({ tenant: h.tenant.id, to: PRIYA, message: { type: 'template', name: 'nope' } }),
    );
    expect(unknown).toBeInstanceOf(NotFoundError);
    expect(unknown).toMatchObject({ code: 'template_not_found' });
    expect(gupshup.sends).toHaveLength(0);
    const usage = await h.store.templateUsage.list(h.tenant.id);
    expect(usage.items.map((u) => [u.templateName, u.status, u.errorCode]).sort()).toEqual([
      ['nope', 'refused', 'template_not_found'],
      ['welcome_lead', 'refused', 'template_parameter_missing'],
    ]);
  });

  it('refuses a paused template and suggests an approved one', async () => {
    mock('gupshup');
    const error = await rejection(
      h.client.send({ tenant: h.tenant.id, to: PRIYA, message: { type: 'template', name: 'old_reminder' } }),
    );
    expect(error).toMatchObject({
      code: 'template_not_approved',
      details: { suggestedTemplate: { name: 'welcome_lead' } },
    });
    const usage = await h.store.templateUsage.list(h.tenant.id);
    expect(usage.items[0]).toMatchObject({
      templateName: 'old_reminder',
      status: 'refused',
      errorCode: 'template_not_approved',
    });
  });

  it('refuses marketing to US numbers and past the per-lead cap', async () => {
    const gupshup = mock('gupshup');
    const us = await rejection(
      h.client.send({
        tenant: h.tenant.id,
        to: '+14155550132',
        message: { type: 'template', name: 'new_launch', parameters: { body: ['Baner'] } },
      }),
    );
    expect(us).toMatchObject({
      code: 'marketing_paused_us',
      details: { suggestedTemplate: { name: 'welcome_lead' } },
    });
    const first = await h.client.send({
      tenant: h.tenant.id,
      to: PRIYA,
      message: { type: 'template', name: 'new_launch', parameters: { body: ['Baner'] } },
    });
    expect(first).toMatchObject({ pricingCategory: 'marketing', billable: true });
    h.clock.advance(HOUR);
    const second = await rejection(
      h.client.send({
        tenant: h.tenant.id,
        to: PRIYA,
        message: { type: 'template', name: 'new_launch', parameters: { body: ['Wakad'] } },
      }),
    );
    expect(second).toMatchObject({ code: 'marketing_cap_reached' });
    h.clock.advance(24 * HOUR);
    await h.client.send({
      tenant: h.tenant.id,
      to: PRIYA,
      message: { type: 'template', name: 'new_launch', parameters: { body: ['Wakad'] } },
    });
    expect(gupshup.sends).toHaveLength(2);
  });

  it('refuses everything to an opted-out lead, without a suggestion', async () => {
    mock('gupshup');
    const lead = await leadWrote(h, PRIYA, 1);
    await h.store.leads.update(h.tenant.id, lead.id, { optedOut: true });
    const error = await rejection(
      h.client.send({ tenant: h.tenant.id, to: PRIYA, message: { type: 'text', text: 'Hi' } }),
    );
    expect(error).toMatchObject({ code: 'opted_out', details: { suggestedTemplate: null } });
  });

  it('answers clearly for unknown tenants, leads and numbers', async () => {
    mock('gupshup');
    expect(
      await rejection(h.client.send({ tenant: 'nope', to: PRIYA, message: { type: 'text', text: 'x' } })),
    ).toMatchObject({
      code: 'tenant_not_found',
    });
    expect(
      await rejection(
        h.client.send({ tenant: h.tenant.id, to: 'not a phone', message: { type: 'text', text: 'x' } }),
      ),
    ).toMatchObject({
      code: 'phone_invalid',
    });
    const other = await leadWrote(h, '+919845012345', 1);
    expect(
      await rejection(
        h.client.send({
          tenant: h.tenant.id,
          to: PRIYA,
          leadId: other.id,
          message: { type: 'text', text: 'x' },
        }),
      ),
    ).toMatchObject({ code: 'lead_phone_mismatch' });
    expect(
      await rejection(
        h.client.send({
          tenant: h.tenant.id,
          to: PRIYA,
          message: { type: 'buttons', body: 'x', buttons: [] } as never,
        }),
      ),
    ).toMatchObject({ code: 'validation_failed' });
    await h.store.wabaConfigurations.update(h.tenant.id, h.waba.id, { status: 'disabled' });
    await leadWrote(h, PRIYA, 1);
    expect(
      await rejection(
        h.client.send({ tenant: h.tenant.id, to: PRIYA, message: { type: 'text', text: 'x' } }),
      ),
    ).toMatchObject({
      code: 'waba_not_configured',
    });
  });
});

describe('WabaClient.send (Cloud API tenant): provider failures', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await createHarness({ provider: 'cloud_api' });
    await registerTemplates(h);
    await leadWrote(h, PRIYA, 1);
  });

  it('a permanent error is thrown typed, stored as failed, logged once and not retried', async () => {
    const cloud = mock('cloud_api', { outcome: 'window_closed' });
    const error = await rejection(
      h.client.send({
        tenant: h.tenant.id,
        to: PRIYA,
        message: { type: 'template', name: 'welcome_lead', parameters: { body: ['P', 'B'] } },
      }),
    );
    expect(error).toBeInstanceOf(ProviderError);
    expect(error).toMatchObject({ code: 'window_closed', providerCode: '131047', retryable: false });
    expect(cloud.sends).toHaveLength(1);
    const lead = await h.store.leads.getByPhone(h.tenant.id, PRIYA);
    const messages = await h.store.messages.listByLead(h.tenant.id, lead!.id);
    expect(messages.items).toEqual([
      expect.objectContaining({ status: 'failed', errorCode: 'window_closed', templateName: 'welcome_lead' }),
    ]);
    const usage = await h.store.templateUsage.list(h.tenant.id);
    expect(usage.items[0]).toMatchObject({ status: 'failed', errorCode: '131047' });
  });

  it('a 429 is retried with backoff until the send goes through', async () => {
    const cloud = mock('cloud_api', {
      outcome: (_s, i) => (i < 2 ? 'rate_limited' : 'accept'),
      retryAfterSeconds: 0,
    });
    const result = await h.client.send({
      tenant: h.tenant.id,
      to: PRIYA,
      message: { type: 'text', text: 'Hi' },
    });
    expect(result.providerMessageId).toBe('wamid.MOCK000000000002');
    expect(cloud.sends).toHaveLength(3);
  });

  it('a 5xx is sent once: the provider may have accepted it, so a retry could deliver twice', async () => {
    const cloud = mock('cloud_api', { outcome: (_s, i) => (i === 0 ? 'unavailable' : 'accept') });
    const request = {
      tenant: h.tenant.id,
      to: PRIYA,
      message: { type: 'text' as const, text: 'Hi' },
      idempotencyKey: 'outage:1',
    };
    expect(await rejection(h.client.send(request))).toMatchObject({ code: 'provider_unavailable' });
    expect(cloud.sends).toHaveLength(1);
    // Nor does a later call with the same key send it again.
    expect(await rejection(h.client.send(request))).toMatchObject({ code: 'send_outcome_unknown' });
    expect(cloud.sends).toHaveLength(1);
  });

  it('sends each message kind in Cloud API format', async () => {
    const cloud = mock('cloud_api');
    await h.client.send({
      tenant: h.tenant.id,
      to: PRIYA,
      message: {
        type: 'list',
        body: 'Pick a slot',
        button: 'Slots',
        sections: [{ rows: [{ id: 'sat_10', title: 'Sat 10:00' }] }],
      },
    });
    expect(cloud.sends[0]!.path).toBe('/v23.0/106540352242922/messages');
    expect(cloud.sends[0]!.headers.authorization).toBe(`Bearer ${h.secrets.credentials}`);
    expect(cloud.sends[0]!.body).toMatchObject({ type: 'interactive', interactive: { type: 'list' } });
  });
});

describe('WabaClient.send: idempotency (memory store)', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await createHarness({ provider: 'cloud_api' });
    await leadWrote(h, PRIYA, 1);
  });

  it('the same key sends once and returns the recorded result', async () => {
    const cloud = mock('cloud_api');
    const request = {
      tenant: h.tenant.id,
      to: PRIYA,
      message: { type: 'text' as const, text: 'Hi' },
      idempotencyKey: 'welcome:1',
    };
    const first = await h.client.send(request);
    const again = await h.client.send({ ...request, to: '+91 98123 45678' });
    expect(again).toEqual({ ...first, deduplicated: true });
    expect(cloud.sends).toHaveLength(1);
    const concurrent = await Promise.all(
      Array.from({ length: 5 }, () => h.client.send({ ...request, idempotencyKey: 'welcome:2' })),
    );
    expect(new Set(concurrent.map((r) => r.providerMessageId)).size).toBe(1);
    expect(concurrent.filter((r) => !r.deduplicated)).toHaveLength(1);
    expect(cloud.sends).toHaveLength(2);
  });

  it('a key reused for another message is a conflict', async () => {
    mock('cloud_api');
    await h.client.send({
      tenant: h.tenant.id,
      to: PRIYA,
      message: { type: 'text', text: 'Hi' },
      idempotencyKey: 'k',
    });
    const error = await rejection(
      h.client.send({
        tenant: h.tenant.id,
        to: PRIYA,
        message: { type: 'text', text: 'Bye' },
        idempotencyKey: 'k',
      }),
    );
    expect(error).toBeInstanceOf(ConflictError);
    expect(error).toMatchObject({ code: 'idempotency_key_reused' });
  });

  it('a refusal releases the key; an ambiguous failure locks it as outcome unknown', async () => {
    const cloud = mock('cloud_api', { outcome: (_s, i) => (i === 0 ? 'rejected' : 'unavailable') });
    const request = {
      tenant: h.tenant.id,
      to: PRIYA,
      message: { type: 'text' as const, text: 'Hi' },
      idempotencyKey: 'k2',
    };
    expect(await rejection(h.client.send(request))).toMatchObject({ code: 'invalid_request' });
    // Released: the same key may try again; this time the provider keeps failing with 503.
    expect(await rejection(h.client.send(request))).toMatchObject({
      code: 'provider_unavailable',
      retryable: true,
    });
    expect(cloud.sends.length).toBe(1 + 1);
    const locked = await rejection(h.client.send(request));
    expect(locked).toMatchObject({ code: 'send_outcome_unknown' });
    expect(cloud.sends.length).toBe(2);
  });

  it('a policy refusal releases the key too', async () => {
    const cloud = mock('cloud_api');
    h.clock.advance(30 * HOUR);
    const request = {
      tenant: h.tenant.id,
      to: PRIYA,
      message: { type: 'text' as const, text: 'Hi' },
      idempotencyKey: 'k3',
    };
    expect(await rejection(h.client.send(request))).toMatchObject({ code: 'window_closed' });
    await leadWrote(h, PRIYA, 0);
    expect((await h.client.send(request)).deduplicated).toBe(false);
    expect(cloud.sends).toHaveLength(1);
  });
});

describe('WabaClient: free entry point and explain', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await createHarness({ provider: 'cloud_api' });
    await registerTemplates(h);
  });

  it('writing the WhatsApp state keeps an attribute another writer set after it was read', async () => {
    const lead = await leadWrote(h, PRIYA, 1);
    const store = {
      leads: {
        ...h.store.leads,
        // Another writer (a dashboard edit) lands between this read and the write.
        get: async (tenantId: string, id: string) => {
          const read = await h.store.leads.get(tenantId, id);
          await h.store.leads.update(tenantId, id, { mergeAttributes: { set: { crm: 'HS-42' } } });
          return read;
        },
      },
    };
    await updateLeadWabaState(store, h.tenant.id, lead.id, (state) => ({
      ...state,
      marketingOptedOut: true,
    }));
    const stored = (await h.store.leads.get(h.tenant.id, lead.id))!;
    expect(stored.attributes.crm).toBe('HS-42');
    expect(stored.attributes.waba).toMatchObject({ marketingOptedOut: true });
  });

  it('answers a lead whose number WhatsApp verified although libphonenumber does not know it', async () => {
    mock('cloud_api');
    await leadWrote(h, '+15550001234', 1);
    const sent = await h.client.send({
      tenant: h.tenant.id,
      to: '+15550001234',
      message: { type: 'text', text: 'Hello!' },
    });
    expect(sent.providerMessageId).toMatch(/^wamid\./);
    // Without a lead that wrote from it, such a number is still refused.
    await expect(
      h.client.send({ tenant: h.tenant.id, to: '+15550009999', message: { type: 'text', text: 'Hello!' } }),
    ).rejects.toMatchObject({ status: 400 });
  });

  it('writing one WhatsApp state field keeps another field a concurrent writer set', async () => {
    const lead = await leadWrote(h, PRIYA, 1);
    const entryPoint = {
      source: 'ctwa' as const,
      at: new Date(h.clock.now().getTime() - HOUR),
      qualifyingReplyAt: null,
      sourceId: '1',
      ctwaClid: 'c',
      headline: null,
    };
    const store = {
      leads: {
        ...h.store.leads,
        // An inbound referral records the entry point between this read and the write.
        get: async (tenantId: string, id: string) => {
          const read = await h.store.leads.get(tenantId, id);
          await updateLeadWabaState(h.store, tenantId, id, (state) => ({ ...state, entryPoint }));
          return read;
        },
      },
    };
    await updateLeadWabaState(store, h.tenant.id, lead.id, (state) => ({
      ...state,
      marketingOptedOut: true,
    }));
    const stored = readLeadWabaState((await h.store.leads.get(h.tenant.id, lead.id))!);
    expect(stored).toEqual({ entryPoint, marketingOptedOut: true });
  });

  it('the first answer to a Click-to-WhatsApp lead opens 72 free hours, recorded on the lead', async () => {
    mock('cloud_api');
    const lead = await leadWrote(h, PRIYA, 1);
    await updateLeadWabaState(h.store, h.tenant.id, lead.id, (s) => ({
      ...s,
      entryPoint: {
        source: 'ctwa',
        at: new Date(h.clock.now().getTime() - HOUR),
        qualifyingReplyAt: null,
        sourceId: '1',
        ctwaClid: 'c',
        headline: null,
      },
    }));
    const first = await h.client.send({
      tenant: h.tenant.id,
      to: PRIYA,
      message: { type: 'text', text: 'Yes, available!' },
    });
    expect(first.decision).toMatchObject({ reason: 'free_entry_point', opensFreeEntryPoint: true });
    h.clock.advance(48 * HOUR);
    const explained = await h.client.explain({ tenant: h.tenant.id, to: PRIYA, template: 'new_launch' });
    expect(explained).toMatchObject({
      allowed: true,
      reason: 'free_entry_point',
      billable: false,
      windowOpen: false,
    });
    expect(explained.freeEntryPointExpiresAt).toEqual(new Date(h.clock.now().getTime() + 24 * HOUR));
    const later = await h.client.send({
      tenant: h.tenant.id,
      to: PRIYA,
      message: { type: 'template', name: 'new_launch', parameters: { body: ['Baner'] } },
    });
    expect(later).toMatchObject({ pricingCategory: 'marketing', billable: false });
  });

  it('explain answers "can I reply now, and until when?"', async () => {
    await leadWrote(h, PRIYA, 20);
    const now = await h.client.explain({ tenant: h.tenant.id, to: PRIYA });
    expect(now).toMatchObject({ allowed: true, reason: 'service_window_open', suggestedTemplate: null });
    expect(now.windowExpiresAt).toEqual(new Date(h.clock.now().getTime() + 4 * HOUR));
    h.clock.advance(5 * HOUR);
    const later = await h.client.explain({ tenant: h.tenant.id, to: PRIYA, kind: 'image' });
    expect(later).toMatchObject({
      allowed: false,
      reason: 'window_closed',
      suggestedTemplate: { name: 'welcome_lead' },
    });
    const paused = await h.client.explain({
      tenant: h.tenant.id,
      to: PRIYA,
      template: { name: 'old_reminder', language: 'en' },
    });
    expect(paused).toMatchObject({ allowed: false, reason: 'template_not_approved' });
    expect(
      isLeadRelayError(
        await rejection(h.client.explain({ tenant: h.tenant.id, to: PRIYA, template: 'missing' })),
      ),
    ).toBe(true);
  });
});
