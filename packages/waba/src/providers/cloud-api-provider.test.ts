import { readFileSync } from 'node:fs';
import { HttpResponse, http } from 'msw';
import { setupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { providerFailure, wabaConfig } from '../../test/harness.js';
import { resolveTemplateParameters } from '../templates/template-parameters.js';
import { classifyCloudApiError } from './cloud-api-errors.js';
import { createCloudApiProvider } from './cloud-api-provider.js';
import type { ProviderTemplateMessage } from './provider.js';

const fixture = (name: string) =>
  readFileSync(new URL(`../../../../../shared/fixtures/${name}`, import.meta.url), 'utf8');

const BASE = 'https://graph.test';
const server = setupServer();
beforeAll(() => server.listen({ onUnhandledFrame: 'error' }));
afterEach(() => server.resetHandlers());
afterAll(() => server.close());

const config = wabaConfig('cloud_api');

interface Seen {
  path: string;
  headers: Headers;
  body: Record<string, unknown>;
}

function capture(status: number, body: string, headers: Record<string, string> = {}) {
  const seen: Seen[] = [];
  server.use(
    http.post(`${BASE}/:version/:id/messages`, async ({ request }) => {
      seen.push({
        path: new URL(request.url).pathname,
        headers: request.headers,
        body: (await request.json()) as Record<string, unknown>,
      });
      return new HttpResponse(body, { status, headers: { 'content-type': 'application/json', ...headers } });
    }),
  );
  return seen;
}

const provider = createCloudApiProvider({
  baseUrl: BASE,
  apiVersion: 'v23.0',
  minRetryDelayMs: 1,
  maxRetryDelayMs: 5,
});
const to = '+919845012345';

const errorBody = (code: number, message = 'x') =>
  JSON.stringify({ error: { message, type: 'OAuthException', code, fbtrace_id: 'T' } });

describe('Cloud API provider: wire format', () => {
  it('posts JSON to /{version}/{phone-number-id}/messages with the bearer token and reads the wamid', async () => {
    const seen = capture(200, fixture('cloud-send-accepted.json'));
    const result = await provider.send(config, 'EAAG-token', { type: 'text', text: 'नमस्ते Ananya' }, to);
    expect(result.providerMessageId).toBe('wamid.HBgMOTE5ODQ1MDEyMzQ1FQIAERgSQjRCMDQ');
    expect(seen[0]!.path).toBe('/v23.0/106540352242922/messages');
    expect(seen[0]!.headers.get('authorization')).toBe('Bearer EAAG-token');
    expect(seen[0]!.body).toEqual({
      messaging_product: 'whatsapp',
      recipient_type: 'individual',
      to: '919845012345',
      type: 'text',
      text: { preview_url: false, body: 'नमस्ते Ananya' },
    });
    await provider.send(
      { ...config, providerConfig: { ...config.providerConfig, apiVersion: 'v26.0' } },
      't',
      { type: 'text', text: 'x' },
      to,
    );
    expect(seen[1]!.path).toBe('/v26.0/106540352242922/messages');
  });

  it('translates media, location, buttons and lists', async () => {
    const seen = capture(200, fixture('cloud-send-accepted.json'));
    await provider.send(
      config,
      't',
      { type: 'image', url: 'https://cdn.example.com/p.jpg', caption: 'Plan' },
      to,
    );
    await provider.send(config, 't', { type: 'audio', url: 'https://cdn.example.com/n.ogg' }, to);
    await provider.send(
      config,
      't',
      { type: 'document', url: 'https://cdn.example.com/b.pdf', filename: 'brochure.pdf' },
      to,
    );
    await provider.send(
      config,
      't',
      { type: 'location', latitude: 18.559, longitude: 73.7868, address: 'Baner, Pune' },
      to,
    );
    await provider.send(
      config,
      't',
      {
        type: 'buttons',
        body: 'Visit?',
        footer: 'Acme',
        buttons: [
          { id: 'sat', title: 'Saturday' },
          { id: 'sun', title: 'Sunday' },
        ],
      },
      to,
    );
    await provider.send(
      config,
      't',
      {
        type: 'list',
        body: 'Pick',
        button: 'Slots',
        header: 'Viewing',
        sections: [{ title: 'Sat', rows: [{ id: 's10', title: '10:00' }] }],
      },
      to,
    );
    const bodies = seen.map((s) => s.body);
    expect(bodies[0]).toMatchObject({
      type: 'image',
      image: { link: 'https://cdn.example.com/p.jpg', caption: 'Plan' },
    });
    expect(bodies[1]).toMatchObject({ type: 'audio', audio: { link: 'https://cdn.example.com/n.ogg' } });
    expect(bodies[2]).toMatchObject({
      type: 'document',
      document: { link: 'https://cdn.example.com/b.pdf', filename: 'brochure.pdf' },
    });
    expect(bodies[3]).toMatchObject({
      type: 'location',
      location: { latitude: 18.559, longitude: 73.7868, address: 'Baner, Pune' },
    });
    expect(bodies[4]).toMatchObject({
      type: 'interactive',
      interactive: {
        type: 'button',
        body: { text: 'Visit?' },
        footer: { text: 'Acme' },
        action: {
          buttons: [
            { type: 'reply', reply: { id: 'sat', title: 'Saturday' } },
            { type: 'reply', reply: { id: 'sun', title: 'Sunday' } },
          ],
        },
      },
    });
    expect(bodies[5]).toMatchObject({
      type: 'interactive',
      interactive: {
        type: 'list',
        header: { type: 'text', text: 'Viewing' },
        action: { button: 'Slots', sections: [{ title: 'Sat', rows: [{ id: 's10', title: '10:00' }] }] },
      },
    });
  });

  it('sends templates with header, body (positional or named) and button components', async () => {
    const seen = capture(200, fixture('cloud-send-accepted.json'));
    const positional: ProviderTemplateMessage = {
      type: 'template',
      name: 'welcome_lead',
      language: 'en',
      providerTemplateId: null,
      parameters: resolveTemplateParameters(
        {
          name: 'welcome_lead',
          header: { format: 'DOCUMENT' },
          bodyText: 'Hi {{1}}',
          buttons: [
            { type: 'QUICK_REPLY', text: 'Book' },
            { type: 'URL', text: 'Listing', url: 'https://acme.example/{{1}}' },
          ],
        },
        {
          header: { type: 'document', url: 'https://cdn.example.com/b.pdf', filename: 'brochure.pdf' },
          body: ['Priya'],
          buttons: [
            { index: 1, type: 'url', value: 'baner' },
            { index: 0, type: 'quick_reply', value: 'book_visit' },
          ],
        },
      ),
    };
    await provider.send(config, 't', positional, to);
    const named: ProviderTemplateMessage = {
      type: 'template',
      name: 'visit_reminder',
      language: 'hi',
      providerTemplateId: null,
      parameters: resolveTemplateParameters(
        { name: 'visit_reminder', header: null, bodyText: '{{first_name}} {{when}}', buttons: [] },
        { body: { first_name: 'José', when: 'Sat' } },
      ),
    };
    await provider.send(config, 't', named, to);
    expect(seen[0]!.body.template).toEqual({
      name: 'welcome_lead',
      language: { code: 'en' },
      components: [
        {
          type: 'header',
          parameters: [
            {
              type: 'document',
              document: { link: 'https://cdn.example.com/b.pdf', filename: 'brochure.pdf' },
            },
          ],
        },
        { type: 'body', parameters: [{ type: 'text', text: 'Priya' }] },
        {
          type: 'button',
          sub_type: 'quick_reply',
          index: '0',
          parameters: [{ type: 'payload', payload: 'book_visit' }],
        },
        { type: 'button', sub_type: 'url', index: '1', parameters: [{ type: 'text', text: 'baner' }] },
      ],
    });
    expect(seen[1]!.body.template).toEqual({
      name: 'visit_reminder',
      language: { code: 'hi' },
      components: [
        {
          type: 'body',
          parameters: [
            { type: 'text', parameter_name: 'first_name', text: 'José' },
            { type: 'text', parameter_name: 'when', text: 'Sat' },
          ],
        },
      ],
    });
  });

  it('refuses a configuration without a phone number id before any HTTP call', async () => {
    const seen = capture(200, fixture('cloud-send-accepted.json'));
    await expect(
      provider.send({ ...config, providerConfig: {} }, 't', { type: 'text', text: 'x' }, to),
    ).rejects.toMatchObject({
      code: 'waba_config_invalid',
    });
    expect(seen).toHaveLength(0);
  });

  it.each([
    ['no messages', '{"messaging_product":"whatsapp","contacts":[]}'],
    ['an empty list', '{"messages":[]}'],
    ['an empty id', '{"messages":[{"id":""}]}'],
    ['a non-JSON body', 'accepted'],
  ])('treats a 200 with %s as an invalid_response, sent once', async (_case, body) => {
    const seen = capture(200, body);
    const error = await providerFailure(provider.send(config, 't', { type: 'text', text: 'x' }, to));
    expect(error).toMatchObject({ code: 'invalid_response', provider: 'cloud_api', httpStatus: 200 });
    expect(seen).toHaveLength(1);
  });
});

describe('Cloud API provider: error classes', () => {
  it('130429 throughput limit (fixture): retried, honouring Retry-After', async () => {
    let calls = 0;
    server.use(
      http.post(`${BASE}/:version/:id/messages`, () =>
        ++calls < 3
          ? new HttpResponse(fixture('cloud-send-error-130429.json'), {
              status: 429,
              headers: { 'content-type': 'application/json', 'retry-after': '0' },
            })
          : new HttpResponse(fixture('cloud-send-accepted.json'), {
              headers: { 'content-type': 'application/json' },
            }),
      ),
    );
    expect((await provider.send(config, 't', { type: 'text', text: 'x' }, to)).providerMessageId).toMatch(
      /^wamid\./,
    );
    expect(calls).toBe(3);
  });

  it('130429 answered as HTTP 400 (sic) is still retryable', async () => {
    const seen = capture(400, fixture('cloud-send-error-130429.json'));
    const once = createCloudApiProvider({
      baseUrl: BASE,
      retries: 1,
      minRetryDelayMs: 1,
      maxRetryDelayMs: 2,
    });
    expect(await providerFailure(once.send(config, 't', { type: 'text', text: 'x' }, to))).toMatchObject({
      code: 'provider_rate_limited',
      retryable: true,
      providerCode: '130429',
      details: { fbtraceId: 'AbCdEfGh125' },
    });
    expect(seen).toHaveLength(2);
  });

  const permanent: [number, number, string][] = [
    [400, 131047, 'window_closed'],
    [400, 131026, 'recipient_undeliverable'],
    [400, 131049, 'marketing_limited'],
    [400, 131050, 'marketing_opted_out'],
    [400, 131048, 'spam_rate_limited'],
    [400, 132000, 'template_parameter_mismatch'],
    [404, 132001, 'template_not_found'],
    [400, 132015, 'template_paused'],
    [400, 132016, 'template_disabled'],
    [401, 190, 'credentials_invalid'],
    [403, 368, 'account_restricted'],
    [400, 131031, 'account_restricted'],
    [400, 100, 'invalid_request'],
  ];
  for (const [status, metaCode, code] of permanent) {
    it(`${metaCode} → ${code}: permanent, sent once`, async () => {
      const seen = capture(status, errorBody(metaCode));
      expect(
        await providerFailure(provider.send(config, 't', { type: 'text', text: 'x' }, to)),
      ).toMatchObject({
        code,
        retryable: false,
        providerCode: String(metaCode),
        httpStatus: status,
      });
      expect(seen).toHaveLength(1);
    });
  }

  // A rate limit is a refusal before any processing; an outage may hide an accepted message.
  const transient: [number, number, string, number][] = [
    [400, 131056, 'pair_rate_limited', 2],
    [503, 131016, 'provider_unavailable', 1],
    [500, 131000, 'provider_unavailable', 1],
    [500, 2, 'provider_unavailable', 1],
  ];
  for (const [status, metaCode, code, attempts] of transient) {
    it(`${metaCode} → ${code}: retryable, sent ${attempts === 1 ? 'once by default' : 'again'}`, async () => {
      const seen = capture(status, errorBody(metaCode));
      const once = createCloudApiProvider({
        baseUrl: BASE,
        retries: 1,
        minRetryDelayMs: 1,
        maxRetryDelayMs: 2,
      });
      expect(await providerFailure(once.send(config, 't', { type: 'text', text: 'x' }, to))).toMatchObject({
        code,
        retryable: true,
      });
      expect(seen).toHaveLength(attempts);
    });
  }

  it('a 5xx is retried when ambiguous failures may be retried', async () => {
    const seen = capture(500, errorBody(131000));
    const eager = createCloudApiProvider({
      baseUrl: BASE,
      retryAmbiguousFailures: true,
      retries: 1,
      minRetryDelayMs: 1,
      maxRetryDelayMs: 2,
    });
    await providerFailure(eager.send(config, 't', { type: 'text', text: 'x' }, to));
    expect(seen).toHaveLength(2);
  });

  it('a dropped connection may hide an accepted send: retryable network_error, sent once', async () => {
    let calls = 0;
    server.use(
      http.post(`${BASE}/:version/:id/messages`, () => {
        calls++;
        return HttpResponse.error();
      }),
    );
    const once = createCloudApiProvider({
      baseUrl: BASE,
      retries: 1,
      minRetryDelayMs: 1,
      maxRetryDelayMs: 2,
    });
    expect(await providerFailure(once.send(config, 't', { type: 'text', text: 'x' }, to))).toMatchObject({
      code: 'network_error',
      retryable: true,
    });
    expect(calls).toBe(1);
  });

  it('falls back to the HTTP status for unknown codes', () => {
    expect(classifyCloudApiError(429, undefined)).toEqual({ code: 'provider_rate_limited', retryable: true });
    expect(classifyCloudApiError(502, 999999)).toEqual({ code: 'provider_unavailable', retryable: true });
    expect(classifyCloudApiError(400, 999999)).toEqual({ code: 'provider_rejected', retryable: false });
    expect(classifyCloudApiError(401, undefined)).toEqual({ code: 'credentials_invalid', retryable: false });
  });
});
