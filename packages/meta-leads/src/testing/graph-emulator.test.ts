import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { toNodeHandler, verifyMetaSignature } from '@leadrelay/core';
import { afterEach, describe, expect, it } from 'vitest';
import { createCaptureLogger } from '../../test/capture-logger.js';
import { failure } from '../../test/failure.js';
import { FIXTURE_APP_SECRET } from '../../test/fixtures.js';
import { createIntakeHarness, PAGE_ID, PAGE_TOKEN } from '../../test/intake-harness.js';
import { createGraphLeadsClient, graphAppSecretProof } from '../graph/graph-leads-client.js';
import { createMetaWebhookHandler } from '../http/meta-webhook-handler.js';
import { parseLeadgenWebhook } from '../webhook/parse-leadgen-webhook.js';
import { type GraphEmulator, type GraphFailure, signedLeadgenWebhook, startGraphEmulator } from './index.js';

const APP_SECRET = 'app-secret-0123';
const TOKEN = 'EAAG-page-token';

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(closers.splice(0).map((close) => close()));
});

async function emulator(options: Parameters<typeof startGraphEmulator>[0] = {}): Promise<GraphEmulator> {
  const graph = await startGraphEmulator({ accessTokens: [TOKEN], appSecret: APP_SECRET, ...options });
  closers.push(() => graph.close());
  return graph;
}

const client = (graph: GraphEmulator, options: Parameters<typeof createGraphLeadsClient>[0] = {}) =>
  createGraphLeadsClient({
    baseUrl: graph.url,
    retries: 0,
    minRetryDelayMs: 1,
    maxRetryDelayMs: 2,
    ...options,
  });

/** A real HTTP server for a Web handler, closed after the test. */
async function serve(handler: (request: Request) => Promise<Response>): Promise<string> {
  const server = createServer(toNodeHandler(handler));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closers.push(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('Graph emulator with the real Graph client', () => {
  it('answers a lead from the factory in Graph’s format and records what the client sent', async () => {
    const logger = createCaptureLogger();
    const graph = await emulator({ logger });
    const created = graph.createLead({ fullName: 'Priya Sharma', fields: { city: 'Pune' } });
    expect(created.id).toBe('9100000000000001');
    expect(graph.createLead().id).toBe('9100000000000002');

    const lead = await client(graph, { apiVersion: 'v23.0' }).getLead(created.id, TOKEN, APP_SECRET);
    expect(lead).toMatchObject({ id: '9100000000000001', platform: 'fb', is_organic: false });
    expect(lead.field_data).toEqual([
      { name: 'full_name', values: ['Priya Sharma'] },
      { name: 'phone_number', values: ['+919812300001'] },
      { name: 'email', values: ['lead1@example.com'] },
      { name: 'city', values: ['Pune'] },
    ]);
    expect(graph.requests).toMatchObject([
      {
        kind: 'lead',
        method: 'GET',
        path: '/v23.0/9100000000000001',
        apiVersion: 'v23.0',
        id: '9100000000000001',
        accessToken: TOKEN,
        appsecretProof: graphAppSecretProof(TOKEN, APP_SECRET),
        status: 200,
      },
    ]);
    expect(graph.requests[0]!.fields).toEqual(
      expect.arrayContaining(['field_data', 'is_organic', 'platform']),
    );
    const lines = logger.lines.filter((l) => l.msg === 'emulator request');
    expect(lines).toHaveLength(1);
    expect(lines[0]!.obj).toMatchObject({
      emulation: 'graph',
      status: 200,
      path: expect.stringContaining('[redacted]'),
    });
    expect(JSON.stringify(logger.lines)).not.toContain(TOKEN);
  });

  it('answers only the fields asked for', async () => {
    const graph = await emulator();
    const { id } = graph.createLead();
    const response = await fetch(
      `${graph.url}/v24.0/${id}?fields=id,field_data&access_token=${TOKEN}&appsecret_proof=${graphAppSecretProof(TOKEN, APP_SECRET)}`,
    );
    expect(Object.keys(await response.json())).toEqual(['id', 'field_data']);
  });

  it('an expired token answers 190, which the client classifies page_token_invalid and does not retry', async () => {
    const graph = await emulator();
    const { id } = graph.createLead();
    graph.expireToken(TOKEN);
    const error = await failure(client(graph, { retries: 2 }).getLead(id, TOKEN, APP_SECRET));
    expect(error).toMatchObject({ code: 'page_token_invalid', retryable: false, details: { subcode: 463 } });
    expect(graph.requests.map((r) => r.status)).toEqual([400]);

    graph.allowToken(TOKEN);
    await client(graph).getLead(id, TOKEN, APP_SECRET);
    const unknownToken = await failure(client(graph).getLead(id, 'EAAG-other', APP_SECRET));
    expect(unknownToken).toMatchObject({ code: 'page_token_invalid' });
  });

  it('unknown leads and a wrong appsecret_proof answer code 100', async () => {
    const graph = await emulator();
    expect(await failure(client(graph).getLead('9999', TOKEN, APP_SECRET))).toMatchObject({
      code: 'graph_invalid_parameter',
      details: { subcode: 33 },
    });
    const { id } = graph.createLead();
    expect(await failure(client(graph).getLead(id, TOKEN, 'another-secret'))).toMatchObject({
      code: 'graph_invalid_parameter',
    });
  });

  const rateLimits: [GraphFailure, number][] = [
    ['app_rate_limited', 4],
    ['user_rate_limited', 17],
    ['page_rate_limited', 32],
    ['api_rate_limited', 613],
  ];
  it('rate limits (4, 17, 32, 613) are retryable; the client recovers once they pass', async () => {
    const graph = await emulator();
    const { id } = graph.createLead();
    for (const [name, code] of rateLimits) {
      graph.failNext({ failure: name });
      const error = await failure(client(graph).getLead(id, TOKEN, APP_SECRET));
      expect(error).toMatchObject({
        code: 'graph_rate_limited',
        retryable: true,
        details: { providerCode: String(code) },
      });
    }
    graph.reset();
    graph.failNext({ failure: 'page_rate_limited', count: 2 });
    await client(graph, { retries: 2 }).getLead(id, TOKEN, APP_SECRET);
    expect(graph.requests.map((r) => r.status)).toEqual([400, 400, 200]);
  });

  it('5xx and dropped connections are retried (a GET); a slow answer times out', async () => {
    const graph = await emulator();
    const { id } = graph.createLead();
    graph.failNext({ failure: 'unavailable' });
    expect(await failure(client(graph).getLead(id, TOKEN, APP_SECRET))).toMatchObject({
      code: 'graph_unavailable',
      httpStatus: 500,
    });
    graph.reset();
    graph.failNext({ drop: true });
    expect(await failure(client(graph).getLead(id, TOKEN, APP_SECRET))).toMatchObject({
      code: 'network_error',
    });
    graph.failNext({ drop: true });
    await client(graph, { retries: 1 }).getLead(id, TOKEN, APP_SECRET);
    expect(graph.requests.map((r) => r.status)).toEqual([null, null, 200]);

    expect(() => graph.failNext({ failure: 'no_such_failure' as never })).toThrow(TypeError);
    graph.failNext({ delayMs: 400 });
    expect(await failure(client(graph, { timeoutMs: 100 }).getLead(id, TOKEN, APP_SECRET))).toMatchObject({
      code: 'timeout',
    });
  });

  it('subscribes a page', async () => {
    const graph = await emulator();
    await client(graph).subscribeApp(PAGE_ID, TOKEN, APP_SECRET);
    expect(graph.requests).toMatchObject([{ kind: 'subscribe', method: 'POST', id: PAGE_ID, status: 200 }]);
  });

  it('listens on the port it is given', async () => {
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const { port } = probe.address() as AddressInfo;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const graph = await emulator({ port });
    expect(graph.url).toBe(`http://127.0.0.1:${port}`);
  });
});

describe('signed leadgen webhooks', () => {
  it('signedLeadgenWebhook signs the escaped body Meta would send', () => {
    const { body, signature, headers } = signedLeadgenWebhook({
      appSecret: APP_SECRET,
      pageId: PAGE_ID,
      leadgenIds: ['9000000000000001'],
    });
    expect(headers['x-hub-signature-256']).toBe(signature);
    expect(verifyMetaSignature(body, signature, [APP_SECRET])).toBe(true);
    expect(verifyMetaSignature(body, signature, ['other'])).toBe(false);
    expect(parseLeadgenWebhook(body).entries[0]).toMatchObject({
      pageId: PAGE_ID,
      changes: [{ leadgenId: '9000000000000001' }],
    });
  });

  it('deliverLead runs the real intake end to end; an expired page token parks the next lead', async () => {
    const h = await createIntakeHarness();
    const graph = await emulator({ accessTokens: [PAGE_TOKEN], appSecret: FIXTURE_APP_SECRET });
    const intake = h.makeIntake({ graph: client(graph) });
    const base = await serve(createMetaWebhookHandler(intake));
    const webhookUrl = `${base}/api/meta/webhook/${h.tenant.id}`;

    const delivered = await graph.deliverLead({
      webhookUrl,
      appSecret: FIXTURE_APP_SECRET,
      pageId: PAGE_ID,
      lead: { fullName: 'Priya Sharma', phone: '+91 98123 45678' },
    });
    expect(delivered.httpStatus).toBe(200);
    await intake.drain();
    expect(h.leadsSeen).toMatchObject([
      {
        leadgenId: delivered.lead.id,
        pageId: PAGE_ID,
        lead: { name: 'Priya Sharma', phone: '+919812345678' },
      },
    ]);

    graph.expireToken(PAGE_TOKEN);
    const second = await graph.deliverLead({ webhookUrl, appSecret: FIXTURE_APP_SECRET, pageId: PAGE_ID });
    expect(second.httpStatus).toBe(200);
    await intake.drain();
    expect(h.leadsSeen).toHaveLength(1);
    expect(await h.inbox.get({ clientAccountId: h.tenant.id, leadgenId: second.lead.id })).toMatchObject({
      status: 'needs_reauth',
    });
    const forged = await graph.deliverLead({ webhookUrl, appSecret: 'not-the-app-secret', pageId: PAGE_ID });
    expect(forged.httpStatus).toBe(401);
  });
});
