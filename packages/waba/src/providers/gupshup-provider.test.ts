import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { noopLogger } from '@leadrelay/core';
import { HttpResponse, http, passthrough } from 'msw';
import { setupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { providerFailure, wabaConfig } from '../../test/harness.js';
import { resolveTemplateParameters } from '../templates/template-parameters.js';
import { classifyGupshupFailureCode, classifyGupshupHttpError } from './gupshup-errors.js';
import { createGupshupProvider } from './gupshup-provider.js';
import type { ProviderTemplateMessage } from './provider.js';

// packages/waba/src/providers → the fixtures live beside the repo.
const fixture = (name: string) =>
  readFileSync(new URL(`../../../../../shared/fixtures/${name}`, import.meta.url), 'utf8');

const BASE = 'https://gupshup.test';
const server = setupServer();
beforeAll(() => server.listen({ onUnhandledFrame: 'error' }));
afterEach(() => server.resetHandlers());
afterAll(() => server.close());

const config = wabaConfig('gupshup');

/** A loopback port nobody listens on: connecting to it is refused. */
async function closedPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as { port: number };
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

interface Seen {
  path: string;
  headers: Headers;
  form: URLSearchParams;
}

function capture(status: number, body: string, headers: Record<string, string> = {}) {
  const seen: Seen[] = [];
  server.use(
    http.post(`${BASE}/wa/api/v1/*`, async ({ request }) => {
      seen.push({
        path: new URL(request.url).pathname,
        headers: request.headers,
        form: new URLSearchParams(await request.text()),
      });
      return new HttpResponse(body, { status, headers: { 'content-type': 'application/json', ...headers } });
    }),
  );
  return seen;
}

const provider = createGupshupProvider({ baseUrl: BASE, minRetryDelayMs: 1, maxRetryDelayMs: 5 });

describe('Gupshup provider: wire format', () => {
  it('sends a session text as the form Gupshup documents and reads the messageId', async () => {
    const seen = capture(202, fixture('gupshup-send-accepted.json'));
    const result = await provider.send(
      config,
      'gs-api-key',
      { type: 'text', text: 'Hi Priya 👋', previewUrl: false },
      '+919812345678',
    );
    expect(result.providerMessageId).toBe('ee4a68a0-1203-4c85-8dc3-49d0b3226a35');
    expect(seen).toHaveLength(1);
    const { path, headers, form } = seen[0]!;
    expect(path).toBe('/wa/api/v1/msg');
    expect(headers.get('apikey')).toBe('gs-api-key');
    expect(headers.get('content-type')).toMatch(/^application\/x-www-form-urlencoded/);
    expect(Object.fromEntries(form)).toEqual({
      channel: 'whatsapp',
      source: '917834811114',
      destination: '919812345678',
      'src.name': 'AcmeBot',
      message: JSON.stringify({ type: 'text', text: 'Hi Priya 👋' }),
      disablePreview: 'true',
    });
  });

  it('translates media, location, buttons and lists', async () => {
    const seen = capture(202, fixture('gupshup-send-accepted.json'));
    const to = '+919812345678';
    await provider.send(
      config,
      'k',
      { type: 'image', url: 'https://cdn.example.com/plan.jpg', caption: 'Plan' },
      to,
    );
    await provider.send(
      config,
      'k',
      { type: 'document', url: 'https://cdn.example.com/docs/brochure%201.pdf' },
      to,
    );
    await provider.send(
      config,
      'k',
      { type: 'location', latitude: 18.559, longitude: 73.7868, name: 'Site' },
      to,
    );
    await provider.send(
      config,
      'k',
      {
        type: 'buttons',
        body: 'Visit?',
        header: 'Site visit',
        footer: 'Acme',
        buttons: [{ id: 'sat', title: 'Saturday' }],
      },
      to,
    );
    await provider.send(
      config,
      'k',
      {
        type: 'list',
        body: 'Pick a slot',
        button: 'Slots',
        sections: [{ title: 'Saturday', rows: [{ id: 'sat_10', title: '10:00', description: 'Morning' }] }],
      },
      to,
    );
    const messages = seen.map((s) => JSON.parse(s.form.get('message')!));
    expect(messages[0]).toEqual({
      type: 'image',
      originalUrl: 'https://cdn.example.com/plan.jpg',
      previewUrl: 'https://cdn.example.com/plan.jpg',
      caption: 'Plan',
    });
    expect(messages[1]).toEqual({
      type: 'file',
      url: 'https://cdn.example.com/docs/brochure%201.pdf',
      filename: 'brochure 1.pdf',
    });
    expect(messages[2]).toEqual({ type: 'location', latitude: 18.559, longitude: 73.7868, name: 'Site' });
    expect(messages[3]).toMatchObject({
      type: 'quick_reply',
      content: { type: 'text', header: 'Site visit', text: 'Visit?', caption: 'Acme' },
      options: [{ type: 'text', title: 'Saturday', postbackText: 'sat' }],
    });
    expect(messages[4]).toMatchObject({
      type: 'list',
      body: 'Pick a slot',
      globalButtons: [{ type: 'text', title: 'Slots' }],
      items: [
        {
          title: 'Saturday',
          options: [{ type: 'text', title: '10:00', description: 'Morning', postbackText: 'sat_10' }],
        },
      ],
    });
  });

  it('sends templates by Gupshup id with header then body params, and a media header as `message`', async () => {
    const seen = capture(202, fixture('gupshup-send-accepted.json'));
    const template = {
      name: 'welcome_lead',
      header: { format: 'TEXT' as const, text: 'Hello {{1}}' },
      bodyText: 'Hi {{1}}, about {{2}}',
      buttons: [],
    };
    const message: ProviderTemplateMessage = {
      type: 'template',
      name: 'welcome_lead',
      language: 'en',
      providerTemplateId: 'c6aecef6-bcb0-4fb1-8100-28c094e3bc6b',
      parameters: resolveTemplateParameters(template, { header: ['Priya'], body: ['Priya', 'Baner'] }),
    };
    await provider.send(config, 'k', message, '+919812345678');
    const media: ProviderTemplateMessage = {
      ...message,
      parameters: resolveTemplateParameters(
        { ...template, header: { format: 'IMAGE' } },
        { header: { type: 'image', url: 'https://cdn.example.com/site.jpg' }, body: ['Priya', 'Baner'] },
      ),
    };
    await provider.send(config, 'k', media, '+919812345678');
    expect(seen[0]!.path).toBe('/wa/api/v1/template/msg');
    expect(Object.fromEntries(seen[0]!.form)).toEqual({
      source: '917834811114',
      destination: '919812345678',
      'src.name': 'AcmeBot',
      template: JSON.stringify({
        id: 'c6aecef6-bcb0-4fb1-8100-28c094e3bc6b',
        params: ['Priya', 'Priya', 'Baner'],
      }),
    });
    expect(JSON.parse(seen[1]!.form.get('template')!).params).toEqual(['Priya', 'Baner']);
    expect(JSON.parse(seen[1]!.form.get('message')!)).toEqual({
      type: 'image',
      image: { link: 'https://cdn.example.com/site.jpg' },
    });
  });

  it('refuses before any HTTP call what Gupshup cannot send', async () => {
    const seen = capture(202, fixture('gupshup-send-accepted.json'));
    const message: ProviderTemplateMessage = {
      type: 'template',
      name: 'welcome_lead',
      language: 'en',
      providerTemplateId: null,
      parameters: { format: 'positional', header: null, body: [], buttons: [] },
    };
    await expect(provider.send(config, 'k', message, '+919812345678')).rejects.toMatchObject({
      code: 'template_provider_id_missing',
    });
    await expect(
      provider.send(
        config,
        'k',
        {
          ...message,
          providerTemplateId: 'x',
          parameters: { ...message.parameters, buttons: [{ index: 0, type: 'url', value: 'a' }] },
        },
        '+919812345678',
      ),
    ).rejects.toMatchObject({ code: 'unsupported_by_provider' });
    await expect(
      provider.send({ ...config, providerConfig: {} }, 'k', { type: 'text', text: 'x' }, '+919812345678'),
    ).rejects.toMatchObject({ code: 'waba_config_invalid' });
    expect(seen).toHaveLength(0);
  });
});

describe('Gupshup provider: error classes', () => {
  it('400 (fixture): permanent, not retried', async () => {
    const seen = capture(400, fixture('gupshup-send-error.json'));
    const error = await providerFailure(
      provider.send(config, 'k', { type: 'text', text: 'x' }, '+919812345670'),
    );
    expect(error).toMatchObject({
      code: 'recipient_invalid',
      retryable: false,
      httpStatus: 400,
      provider: 'gupshup',
    });
    expect(error.message).toContain('Invalid Destination');
    expect(seen).toHaveLength(1);
  });

  it('401: bad key, permanent', async () => {
    const seen = capture(401, '{"status":"error","message":"Authentication Failed"}');
    expect(
      await providerFailure(provider.send(config, 'k', { type: 'text', text: 'x' }, '+919812345678')),
    ).toMatchObject({
      code: 'credentials_invalid',
      retryable: false,
    });
    expect(seen).toHaveLength(1);
  });

  it('429: retried after Retry-After, then succeeds', async () => {
    let calls = 0;
    server.use(
      http.post(`${BASE}/wa/api/v1/msg`, () =>
        ++calls === 1
          ? HttpResponse.json(
              { status: 'error', message: 'Too Many Requests' },
              { status: 429, headers: { 'retry-after': '0' } },
            )
          : HttpResponse.json(JSON.parse(fixture('gupshup-send-accepted.json')), { status: 202 }),
      ),
    );
    const result = await provider.send(config, 'k', { type: 'text', text: 'x' }, '+919812345678');
    expect(result.providerMessageId).toBe('ee4a68a0-1203-4c85-8dc3-49d0b3226a35');
    expect(calls).toBe(2);
  });

  it('5xx: by default sent once (it may have been accepted), a retryable ProviderError', async () => {
    const seen = capture(503, '{"status":"error","message":"Service Unavailable"}');
    const careful = createGupshupProvider({
      baseUrl: BASE,
      retries: 2,
      minRetryDelayMs: 1,
      maxRetryDelayMs: 2,
    });
    expect(
      await providerFailure(careful.send(config, 'k', { type: 'text', text: 'x' }, '+919812345678')),
    ).toMatchObject({
      code: 'provider_unavailable',
      retryable: true,
      httpStatus: 503,
    });
    expect(seen).toHaveLength(1);
  });

  it('5xx: retried up to the limit when ambiguous failures may be retried', async () => {
    const seen = capture(502, '{"status":"error","message":"Bad Gateway"}');
    const eager = createGupshupProvider({
      baseUrl: BASE,
      retryAmbiguousFailures: true,
      retries: 2,
      minRetryDelayMs: 1,
      maxRetryDelayMs: 2,
    });
    await providerFailure(eager.send(config, 'k', { type: 'text', text: 'x' }, '+919812345678'));
    expect(seen).toHaveLength(3);
  });

  it('a refused connection reached nobody: retried by default and marked as not sent', async () => {
    const refused = createGupshupProvider({
      baseUrl: `http://127.0.0.1:${await closedPort()}`,
      retries: 2,
      minRetryDelayMs: 1,
      maxRetryDelayMs: 2,
      logger: { ...noopLogger, warn: () => warnings++ },
    });
    let warnings = 0;
    server.use(http.post(/127\.0\.0\.1/, () => passthrough()));
    expect(
      await providerFailure(refused.send(config, 'k', { type: 'text', text: 'x' }, '+919812345678')),
    ).toMatchObject({ code: 'network_error', details: { notProcessed: true } });
    // Each retry logs one warning before it waits.
    expect(warnings).toBe(2);
  });

  it('a 2xx with status "error" is a refusal all the same', async () => {
    capture(200, '{"status":"error","message":"Template params mismatch"}');
    expect(
      await providerFailure(provider.send(config, 'k', { type: 'text', text: 'x' }, '+919812345678')),
    ).toMatchObject({
      code: 'template_invalid',
      retryable: false,
    });
  });

  it('classifies each HTTP class and each documented failed-event code', () => {
    expect(classifyGupshupHttpError(429, {})).toEqual({ code: 'provider_rate_limited', retryable: true });
    expect(classifyGupshupHttpError(500, {})).toEqual({ code: 'provider_unavailable', retryable: true });
    expect(classifyGupshupHttpError(403, {})).toEqual({ code: 'credentials_invalid', retryable: false });
    expect(classifyGupshupHttpError(400, { message: 'Invalid template params' })).toEqual({
      code: 'template_invalid',
      retryable: false,
    });
    expect(classifyGupshupHttpError(404, { message: 'x' })).toEqual({
      code: 'invalid_request',
      retryable: false,
    });
    expect(classifyGupshupFailureCode(1012)).toEqual({ code: 'recipient_opted_out', retryable: false });
    expect(classifyGupshupFailureCode('4001')).toEqual({ code: 'provider_rate_limited', retryable: true });
    expect(classifyGupshupFailureCode(4005)).toEqual({ code: 'template_paused', retryable: false });
    for (const code of [1002, 1003, 1005, 1006, 1007, 1008, 4003]) {
      expect(classifyGupshupFailureCode(code)).toEqual({
        code: 'recipient_or_account_invalid',
        retryable: false,
      });
    }
    expect(classifyGupshupFailureCode(9999)).toEqual({ code: 'delivery_failed', retryable: false });
  });
});
