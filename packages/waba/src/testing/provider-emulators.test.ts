import type { Logger } from '@leadrelay/core';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createHarness, leadWrote, providerFailure, serve, wabaConfig } from '../../test/harness.js';
import { createCloudWebhookHandler } from '../inbound/cloud-webhook-handler.js';
import { createGupshupWebhookHandler } from '../inbound/gupshup-webhook-handler.js';
import type { WabaEvent } from '../inbound/waba-event.js';
import { createCloudApiProvider } from '../providers/cloud-api-provider.js';
import { createGupshupProvider } from '../providers/gupshup-provider.js';
import type { ProviderTemplateMessage } from '../providers/provider.js';
import {
  type CloudApiEmulator,
  type GupshupEmulator,
  startCloudApiEmulator,
  startGupshupEmulator,
} from './index.js';

const LEAD = '+919812345678';
const fast = { retries: 0, minRetryDelayMs: 1, maxRetryDelayMs: 2 };
const template: ProviderTemplateMessage = {
  type: 'template',
  name: 'welcome_lead',
  language: 'en',
  providerTemplateId: 'c6aecef6-bcb0-4fb1-8100-28c094e3bc6b',
  parameters: {
    format: 'positional',
    header: null,
    body: [
      { name: '1', value: 'Priya' },
      { name: '2', value: 'Baner' },
    ],
    buttons: [],
  },
};

function captureLogger(
  lines: Record<string, unknown>[] = [],
  bindings: Record<string, unknown> = {},
): Logger {
  const at = (level: string) => (obj: object, msg?: string) =>
    lines.push({ level, msg, ...bindings, ...obj });
  return {
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    child: (more) => captureLogger(lines, { ...bindings, ...more }),
  };
}

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(closers.splice(0).map((close) => close()));
});

async function gupshupEmulator(options: Parameters<typeof startGupshupEmulator>[0] = {}) {
  const emulator = await startGupshupEmulator({ retryAfterSeconds: 0, ...options });
  closers.push(() => emulator.close());
  return emulator;
}

async function cloudEmulator(options: Parameters<typeof startCloudApiEmulator>[0] = {}) {
  const emulator = await startCloudApiEmulator({ retryAfterSeconds: 0, ...options });
  closers.push(() => emulator.close());
  return emulator;
}

const gupshupSend = (emulator: GupshupEmulator, options: Parameters<typeof createGupshupProvider>[0] = {}) =>
  createGupshupProvider({ baseUrl: emulator.url, ...fast, ...options }).send(
    wabaConfig('gupshup'),
    'key-1',
    { type: 'text', text: 'Hi Priya' },
    LEAD,
  );

const cloudSend = (emulator: CloudApiEmulator, options: Parameters<typeof createCloudApiProvider>[0] = {}) =>
  createCloudApiProvider({ baseUrl: emulator.url, ...fast, ...options }).send(
    wabaConfig('cloud_api'),
    'token-1',
    { type: 'text', text: 'Hi Priya' },
    LEAD,
  );

describe('Gupshup emulator with the real provider', () => {
  it('records the form fields, the key and the id it answered; logs name the emulation', async () => {
    const lines: Record<string, unknown>[] = [];
    const emulator = await gupshupEmulator({ apiKeys: ['key-1'], logger: captureLogger(lines) });
    const provider = createGupshupProvider({ baseUrl: emulator.url, ...fast });
    const text = await provider.send(
      wabaConfig('gupshup'),
      'key-1',
      { type: 'text', text: 'Hi Priya' },
      LEAD,
    );
    const tpl = await provider.send(wabaConfig('gupshup'), 'key-1', template, LEAD);
    expect(emulator.sent).toMatchObject([
      {
        path: '/wa/api/v1/msg',
        to: '919812345678',
        source: '917834811114',
        appName: 'AcmeBot',
        apiKey: 'key-1',
        type: 'text',
        text: 'Hi Priya',
        template: null,
        status: 202,
        messageId: text.providerMessageId,
      },
      {
        path: '/wa/api/v1/template/msg',
        type: 'template',
        template: { id: 'c6aecef6-bcb0-4fb1-8100-28c094e3bc6b', params: ['Priya', 'Baner'] },
        messageId: tpl.providerMessageId,
      },
    ]);
    expect(text.providerMessageId).not.toBe(tpl.providerMessageId);
    expect(text.raw).toEqual({ status: 'submitted', messageId: text.providerMessageId });
    const requests = lines.filter((l) => l.msg === 'emulator request');
    expect(requests).toHaveLength(2);
    expect(requests.every((l) => l.emulation === 'gupshup')).toBe(true);
    expect(JSON.stringify(lines)).not.toContain('key-1');
  });

  it('refuses an unknown key with 401 in Gupshup’s format, recorded', async () => {
    const emulator = await gupshupEmulator({ apiKeys: ['another-key'] });
    const error = await providerFailure(gupshupSend(emulator));
    expect(error).toMatchObject({ code: 'credentials_invalid', retryable: false });
    expect(emulator.sent).toMatchObject([{ apiKey: 'key-1', status: 401, messageId: null }]);
  });

  it('a 429 is retried as not processed; a 5xx is not retried by default (it may hide a send)', async () => {
    const emulator = await gupshupEmulator();
    emulator.failNext({ failure: 'rate_limited' });
    await gupshupSend(emulator, { retries: 2 });
    expect(emulator.sent.map((s) => s.status)).toEqual([429, 202]);

    emulator.reset();
    emulator.failNext({ failure: 'unavailable' });
    const error = await providerFailure(gupshupSend(emulator, { retries: 2 }));
    expect(error).toMatchObject({ code: 'provider_unavailable', retryable: true });
    expect(emulator.sent.map((s) => s.status)).toEqual([503]);
  });
});

describe('Cloud API emulator with the real provider', () => {
  it('records the token, the number, the version, the text and the template parameters', async () => {
    const lines: Record<string, unknown>[] = [];
    const emulator = await cloudEmulator({
      accessTokens: ['token-1'],
      phoneNumberIds: ['106540352242922'],
      logger: captureLogger(lines),
    });
    const provider = createCloudApiProvider({ baseUrl: emulator.url, apiVersion: 'v24.0', ...fast });
    const text = await provider.send(
      wabaConfig('cloud_api'),
      'token-1',
      { type: 'text', text: 'Hi Priya' },
      LEAD,
    );
    const tpl = await provider.send(wabaConfig('cloud_api'), 'token-1', template, LEAD);
    expect(text.providerMessageId).toMatch(/^wamid\./);
    expect(text.raw).toEqual({
      messaging_product: 'whatsapp',
      contacts: [{ input: '919812345678', wa_id: '919812345678' }],
      messages: [{ id: text.providerMessageId }],
    });
    expect(emulator.sent).toMatchObject([
      {
        path: '/v24.0/106540352242922/messages',
        apiVersion: 'v24.0',
        phoneNumberId: '106540352242922',
        accessToken: 'token-1',
        to: '919812345678',
        type: 'text',
        text: 'Hi Priya',
        status: 200,
        messageId: text.providerMessageId,
      },
      {
        type: 'template',
        template: { name: 'welcome_lead', language: 'en', params: ['Priya', 'Baner'] },
        messageId: tpl.providerMessageId,
      },
    ]);
    expect(lines.filter((l) => l.msg === 'emulator request').every((l) => l.emulation === 'cloud_api')).toBe(
      true,
    );
  });

  it('refuses a bad token (190) and an unknown number (100) in Graph’s error format', async () => {
    const emulator = await cloudEmulator({ accessTokens: ['other'], phoneNumberIds: ['1'] });
    expect(await providerFailure(cloudSend(emulator))).toMatchObject({
      code: 'credentials_invalid',
      details: { providerCode: '190' },
    });
    const known = await cloudEmulator({ phoneNumberIds: ['1'] });
    expect(await providerFailure(cloudSend(known))).toMatchObject({
      code: 'invalid_request',
      httpStatus: 400,
      details: { providerCode: '100', subcode: 33 },
    });
  });

  it('130429 answers 429 with Meta’s body, which the provider retries as not processed', async () => {
    const emulator = await cloudEmulator();
    emulator.failNext({ failure: 'rate_limited' });
    const response = await fetch(`${emulator.url}/v24.0/1/messages`, {
      method: 'POST',
      headers: { authorization: 'Bearer t', 'content-type': 'application/json' },
      body: '{}',
    });
    expect(response.status).toBe(429);
    expect(await response.json()).toMatchObject({
      error: { code: 130429, type: 'OAuthException', error_data: { messaging_product: 'whatsapp' } },
    });

    emulator.reset();
    emulator.failNext({ failure: 'rate_limited', count: 2 });
    const rejected = await providerFailure(cloudSend(emulator, { retries: 1 }));
    expect(rejected).toMatchObject({ code: 'provider_rate_limited', details: { notProcessed: true } });
    await cloudSend(emulator, { retries: 1 });
    expect(emulator.sent.map((s) => s.status)).toEqual([429, 429, 200]);
  });

  it('a 5xx is ambiguous: not retried unless the provider is told to, then retried', async () => {
    const emulator = await cloudEmulator();
    emulator.failNext({ failure: 'unavailable', count: Number.POSITIVE_INFINITY });
    const error = await providerFailure(cloudSend(emulator, { retries: 2 }));
    expect(error).toMatchObject({
      code: 'provider_unavailable',
      retryable: true,
      details: { providerCode: '131016' },
    });
    expect(emulator.sent).toHaveLength(1);

    await providerFailure(cloudSend(emulator, { retries: 2, retryAmbiguousFailures: true }));
    expect(emulator.sent).toHaveLength(4);
    emulator.clearFaults();
    await cloudSend(emulator);
    expect(emulator.sent.at(-1)!.status).toBe(200);
  });

  it('a dropped connection is a network error, recorded without an answer; a slow answer times out', async () => {
    const emulator = await cloudEmulator();
    emulator.failNext({ drop: true });
    expect(await providerFailure(cloudSend(emulator, { retries: 2 }))).toMatchObject({
      code: 'network_error',
    });
    expect(emulator.sent).toMatchObject([{ status: null, messageId: null }]);

    emulator.failNext({ delayMs: 400 });
    expect(await providerFailure(cloudSend(emulator, { timeoutMs: 100 }))).toMatchObject({ code: 'timeout' });
    expect(() => emulator.failNext({ drop: true, status: 500 })).toThrow(TypeError);
    expect(() => emulator.failNext({ failure: 'no_such_failure' as never })).toThrow(TypeError);
  });

  it('answers a fault of your own as given', async () => {
    const emulator = await cloudEmulator();
    emulator.failNext({
      status: 400,
      body: { error: { message: 'Re-engagement message', type: 'OAuthException', code: 131047 } },
    });
    expect(await providerFailure(cloudSend(emulator))).toMatchObject({
      code: 'window_closed',
      retryable: false,
    });
  });
});

describe('status and inbound callbacks through the real client and webhook handlers', () => {
  it('Gupshup: statuses and an inbound message reach the tenant with the callback token', async () => {
    const emulator = await gupshupEmulator();
    const events: WabaEvent[] = [];
    const h = await createHarness({
      provider: 'gupshup',
      gupshupBaseUrl: emulator.url,
      client: { onEvent: (e) => void events.push(e) },
    });
    const app = await serve(createGupshupWebhookHandler({ client: h.client }));
    closers.push(() => app.close());
    await leadWrote(h, LEAD, 1);
    const sent = await h.client.send({
      tenant: h.tenant.id,
      to: LEAD,
      message: { type: 'text', text: 'Hi' },
    });
    expect(emulator.sent[0]).toMatchObject({ apiKey: h.secrets.credentials, text: 'Hi' });

    const webhookUrl = `${app.url}/api/waba/gupshup/${h.tenant.id}`;
    const wrong = await emulator.deliverStatuses({ webhookUrl, token: 'wrong', statuses: ['sent'] });
    expect(wrong.map((d) => d.httpStatus)).toEqual([401]);
    const deliveries = await emulator.deliverStatuses({ webhookUrl, token: h.secrets.webhookSecret });
    expect(deliveries.map((d) => [d.kind, d.httpStatus])).toEqual([
      ['status:sent', 200],
      ['status:delivered', 200],
      ['status:read', 200],
    ]);
    const inbound = await emulator.inbound({
      webhookUrl,
      token: h.secrets.webhookSecret,
      from: LEAD,
      text: 'Yes',
    });
    expect(inbound.httpStatus).toBe(200);
    await h.client.idle();
    const statuses = events.filter((e) => e.type === 'status');
    expect(statuses.map((e) => e.event.status)).toEqual(['sent', 'delivered', 'read']);
    expect(statuses.every((e) => e.message?.id === sent.messageId)).toBe(true);
    expect(events.find((e) => e.type === 'message')).toMatchObject({ message: { body: 'Yes' } });
  });

  it('Cloud API: signed statuses arrive by themselves after a send; a signed inbound message too', async () => {
    // The webhook URL has to exist before the emulator that posts to it, and the client needs the
    // emulator's URL: the handler is bound late and routes by phone_number_id (no tenant in the URL).
    let handler: (request: Request) => Promise<Response> = async () => new Response(null, { status: 503 });
    const app = await serve((request) => handler(request));
    closers.push(() => app.close());
    const webhookUrl = `${app.url}/api/waba/cloud`;
    const emulator = await cloudEmulator({
      appSecret: 'fixture-app-secret-4f1c2b9a',
      autoStatuses: { webhookUrl, statuses: ['sent', 'delivered'], afterMs: 20 },
    });
    const events: WabaEvent[] = [];
    const h = await createHarness({
      provider: 'cloud_api',
      graphBaseUrl: emulator.url,
      client: { onEvent: (e) => void events.push(e) },
    });
    handler = createCloudWebhookHandler({ client: h.client, tenantFromRequest: () => null });
    await leadWrote(h, LEAD, 1);
    const sent = await h.client.send({
      tenant: h.tenant.id,
      to: LEAD,
      message: { type: 'text', text: 'Hi' },
    });
    expect(sent.providerMessageId).toBe(emulator.sent[0]!.messageId);
    expect(emulator.sent[0]!.accessToken).toBe(h.secrets.credentials);
    await vi.waitFor(
      async () => {
        await h.client.idle();
        expect(events.filter((e) => e.type === 'status').map((e) => e.event.status)).toEqual([
          'sent',
          'delivered',
        ]);
      },
      { timeout: 3000 },
    );
    expect(events.every((e) => e.type !== 'status' || e.message?.id === sent.messageId)).toBe(true);

    const inbound = await emulator.inbound({ webhookUrl, from: LEAD, text: 'नमस्ते' });
    expect(inbound.httpStatus).toBe(200);
    const forged = await emulator.inbound({ webhookUrl, from: LEAD, text: 'x', appSecret: 'not-the-secret' });
    expect(forged.httpStatus).toBe(401);
    await h.client.idle();
    expect(events.filter((e) => e.type === 'message')).toMatchObject([{ message: { body: 'नमस्ते' } }]);
  });
});
