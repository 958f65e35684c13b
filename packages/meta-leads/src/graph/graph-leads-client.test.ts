import { createHmac } from 'node:crypto';
import { HttpResponse, http } from 'msw';
import { setupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { failure } from '../../test/failure.js';
import { fixtureJson } from '../../test/fixtures.js';
import { graphHandlers } from '../testing/graph-handlers.js';
import { createGraphLeadsClient, graphAppSecretProof } from './graph-leads-client.js';

const BASE = 'https://graph.test';
const TOKEN = 'EAAG-page-token';
const APP_SECRET = 'app-secret-0123';
const server = setupServer();
beforeAll(() => server.listen({ onUnhandledFrame: 'error' }));
afterEach(() => server.resetHandlers());
afterAll(() => server.close());

const client = (apiVersion = 'v24.0') =>
  createGraphLeadsClient({ baseUrl: BASE, apiVersion, retries: 2, minRetryDelayMs: 1, maxRetryDelayMs: 5 });

describe('createGraphLeadsClient.getLead', () => {
  it('asks the configured version for the lead with its fields, the token and appsecret_proof', async () => {
    const seen: URL[] = [];
    server.use(
      ...graphHandlers({
        baseUrl: BASE,
        leads: { '9000000000000001': fixtureJson('graph-lead.json') },
        accessTokens: [TOKEN],
        appSecret: APP_SECRET,
        onRequest: ({ request }) => {
          seen.push(new URL(request.url));
          return undefined;
        },
      }),
    );
    const lead = await client('v23.0').getLead('9000000000000001', TOKEN, APP_SECRET);
    expect(lead).toMatchObject({ id: '9000000000000001', platform: 'ig', is_organic: false });
    expect(lead.field_data).toHaveLength(6);
    expect(lead.custom_disclaimer_responses).toEqual([
      { checkbox_key: 'marketing_consent', is_checked: '1' },
    ]);
    const url = seen[0]!;
    expect(url.pathname).toBe('/v23.0/9000000000000001');
    expect(url.searchParams.get('access_token')).toBe(TOKEN);
    expect(url.searchParams.get('appsecret_proof')).toBe(
      createHmac('sha256', APP_SECRET).update(TOKEN).digest('hex'),
    );
    expect(url.searchParams.get('fields')!.split(',')).toEqual(
      expect.arrayContaining([
        'field_data',
        'custom_disclaimer_responses',
        'campaign_name',
        'is_organic',
        'platform',
      ]),
    );
  });

  it('classifies an expired token (code 190) as page_token_invalid and does not retry it', async () => {
    let calls = 0;
    server.use(
      http.get(`${BASE}/:version/:id`, () => {
        calls++;
        return HttpResponse.json(fixtureJson('graph-error-token-expired.json'), { status: 400 });
      }),
    );
    const error = await failure(client().getLead('9000000000000001', TOKEN, APP_SECRET));
    expect(error).toMatchObject({ code: 'page_token_invalid', retryable: false });
    expect(error.details).toMatchObject({ providerCode: '190', subcode: 463, fbtraceId: 'AbCdEfGh123' });
    expect(calls).toBe(1);
  });

  it('retries rate limits (code 4 with HTTP 400) and answers once Graph recovers', async () => {
    let calls = 0;
    server.use(
      http.get(`${BASE}/:version/:id`, () => {
        calls++;
        return calls === 1
          ? HttpResponse.json(fixtureJson('graph-error-rate-limit.json'), { status: 400 })
          : HttpResponse.json(fixtureJson('graph-lead.json'));
      }),
    );
    const lead = await client().getLead('9000000000000001', TOKEN, APP_SECRET);
    expect(lead.id).toBe('9000000000000001');
    expect(calls).toBe(2);
  });

  it('retries 5xx and codes 1/2, then gives up with a retryable error', async () => {
    let calls = 0;
    server.use(
      http.get(`${BASE}/:version/:id`, () => {
        calls++;
        return calls % 2
          ? HttpResponse.json({ error: { message: 'Service unavailable', code: 2 } }, { status: 500 })
          : new HttpResponse('upstream down', { status: 503 });
      }),
    );
    const error = await failure(client().getLead('9000000000000001', TOKEN, APP_SECRET));
    expect(error).toMatchObject({ code: 'graph_unavailable', retryable: true });
    expect(calls).toBe(3);
  });

  it('treats an invalid parameter (code 100) as permanent', async () => {
    let calls = 0;
    server.use(
      ...graphHandlers({
        baseUrl: BASE,
        leads: {},
        onRequest: () => {
          calls++;
          return undefined;
        },
      }),
    );
    const error = await failure(client().getLead('9000000000000099', TOKEN, APP_SECRET));
    expect(error).toMatchObject({ code: 'graph_invalid_parameter', retryable: false });
    expect(calls).toBe(1);
  });

  it('refuses a wrong appsecret_proof the way Graph does', async () => {
    server.use(
      ...graphHandlers({ baseUrl: BASE, leads: { '1': { id: '1' } }, appSecret: 'the-right-secret' }),
    );
    const error = await failure(client().getLead('1', TOKEN, 'a-wrong-secret'));
    expect(error.code).toBe('graph_invalid_parameter');
  });

  it('retries network failures and reports network_error', async () => {
    let calls = 0;
    server.use(
      http.get(`${BASE}/:version/:id`, () => {
        calls++;
        return HttpResponse.error();
      }),
    );
    const error = await failure(client().getLead('1', TOKEN, APP_SECRET));
    expect(error).toMatchObject({ code: 'network_error', retryable: true });
    expect(calls).toBe(3);
  });

  it('refuses a non-numeric leadgen id before any request, and an answer of the wrong shape after', async () => {
    expect((await failure(client().getLead('../me', TOKEN, APP_SECRET))).code).toBe('meta_id_invalid');
    server.use(http.get(`${BASE}/:version/:id`, () => HttpResponse.json({ field_data: 'nope' })));
    expect((await failure(client().getLead('1', TOKEN, APP_SECRET))).code).toBe('invalid_response');
  });

  it('never reaches a real host: an unanswered request fails', async () => {
    const error = await failure(client().getLead('1', TOKEN, APP_SECRET));
    expect(error.code).toBe('network_error');
  });

  it('refuses an API version that is not vNN.N', () => {
    expect(() => createGraphLeadsClient({ apiVersion: '24' })).toThrow(/v24.0/);
  });
});

describe('createGraphLeadsClient.subscribeApp', () => {
  it('subscribes the app to the leadgen field of the page', async () => {
    const seen: URL[] = [];
    server.use(
      ...graphHandlers({
        baseUrl: BASE,
        accessTokens: [TOKEN],
        appSecret: APP_SECRET,
        onRequest: ({ request }) => {
          seen.push(new URL(request.url));
          return undefined;
        },
      }),
    );
    await client().subscribeApp('1110000000001', TOKEN, APP_SECRET);
    expect(seen[0]!.pathname).toBe('/v24.0/1110000000001/subscribed_apps');
    expect(seen[0]!.searchParams.get('subscribed_fields')).toBe('leadgen');
    expect(seen[0]!.searchParams.get('appsecret_proof')).toBe(graphAppSecretProof(TOKEN, APP_SECRET));
  });

  it('reports an expired page token as page_token_invalid', async () => {
    server.use(...graphHandlers({ baseUrl: BASE, accessTokens: ['another-token'] }));
    expect((await failure(client().subscribeApp('1110000000001', TOKEN))).code).toBe('page_token_invalid');
  });

  it('refuses an answer that does not confirm the subscription', async () => {
    server.use(
      http.post(`${BASE}/:version/:page/subscribed_apps`, () => HttpResponse.json({ success: false })),
    );
    expect((await failure(client().subscribeApp('1110000000001', TOKEN))).code).toBe('invalid_response');
  });
});
