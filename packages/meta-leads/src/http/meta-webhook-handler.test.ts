import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  createManualClock,
  createPgliteDatabase,
  escapeMetaSlashes,
  escapeMetaUnicode,
  signMetaBody,
} from '@leadrelay/core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  CTWA_FIXTURE,
  CTWA_SIGNATURE_RAW,
  FIXTURE_APP_SECRET,
  FIXTURE_SIGNATURES,
  fixtureBytes,
  fixtureText,
} from '../../test/fixtures.js';
import { createGraphServer } from '../../test/graph-server.js';
import { createIntakeHarness, GRAPH_BASE, PAGE_ID, VERIFY_TOKEN } from '../../test/intake-harness.js';
import type { LeadgenInbox } from '../inbox/leadgen-inbox.js';
import { toNodeHandler } from '../index.js';
import { buildGraphLead } from '../testing/build-graph-lead.js';
import { buildLeadgenWebhook } from '../testing/build-leadgen-webhook.js';
import { graphHandlers } from '../testing/graph-handlers.js';
import { signedMetaRequest } from '../testing/signed-meta-request.js';
import { createMetaWebhookHandler } from './meta-webhook-handler.js';

const graphServer = createGraphServer();
beforeAll(() => graphServer.listen());
afterEach(() => graphServer.server.resetHandlers());
afterAll(() => graphServer.server.close());

const NOW = new Date((1764062100 + 60) * 1000);
const ORIGIN = 'https://leads.example.com';

async function setup(options: Parameters<typeof createMetaWebhookHandler>[1] = {}) {
  graphServer.server.use(
    ...graphHandlers({
      baseUrl: GRAPH_BASE,
      leads: (id) => buildGraphLead({ leadgenId: id, fullName: `Lead ${id}`, phone: '+919812345678' }),
    }),
  );
  const h = await createIntakeHarness({ clock: createManualClock(NOW) });
  const handler = createMetaWebhookHandler(h.intake, options);
  const url = `${ORIGIN}/api/meta/webhook/${h.tenant.id}`;
  return { h, handler, url };
}

async function errorOf(response: Response): Promise<{ code: string; message: string }> {
  expect(response.headers.get('content-type')).toMatch(/application\/json/);
  return ((await response.json()) as { error: { code: string; message: string } }).error;
}

describe('createMetaWebhookHandler: options', () => {
  it('a path pattern without exactly one :clientId is a ConfigurationError with a code', async () => {
    const h = await createIntakeHarness({ clock: createManualClock(NOW) });
    expect(() => createMetaWebhookHandler(h.intake, { clientId: '/webhook/x' })).toThrow(
      expect.objectContaining({ name: 'ConfigurationError', code: 'path_pattern_invalid' }),
    );
  });
});

describe('createMetaWebhookHandler: verification handshake (GET)', () => {
  it('echoes the challenge as text/plain for the tenant’s verify token', async () => {
    const { handler, url } = await setup();
    const response = await handler(
      new Request(`${url}?hub.mode=subscribe&hub.verify_token=${VERIFY_TOKEN}&hub.challenge=1158201444`),
    );
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(await response.text()).toBe('1158201444');
  });

  it('answers 403 to a wrong token, another mode or a missing challenge, 404 to an unknown client', async () => {
    const { handler, url } = await setup();
    for (const query of [
      `hub.mode=subscribe&hub.verify_token=wrong-token&hub.challenge=1`,
      `hub.mode=unsubscribe&hub.verify_token=${VERIFY_TOKEN}&hub.challenge=1`,
      `hub.mode=subscribe&hub.verify_token=${VERIFY_TOKEN}`,
      `hub.mode=subscribe&hub.challenge=1`,
      '',
    ]) {
      const response = await handler(new Request(`${url}?${query}`));
      expect(response.status).toBe(403);
      expect((await errorOf(response)).code).toBe('verification_failed');
    }
    const unknown = await handler(
      new Request(
        `${ORIGIN}/api/meta/webhook/nobody?hub.mode=subscribe&hub.verify_token=${VERIFY_TOKEN}&hub.challenge=1`,
      ),
    );
    expect(unknown.status).toBe(404);
  });

  it('uses the shared verify token on a route without a client id', async () => {
    const { handler } = await setup({ verifyToken: 'shared-token-1' });
    const ok = await handler(
      new Request(
        `${ORIGIN}/api/meta/webhook?hub.mode=subscribe&hub.verify_token=shared-token-1&hub.challenge=abc`,
      ),
    );
    expect(await ok.text()).toBe('abc');
    const { handler: noShared } = await setup();
    const refused = await noShared(
      new Request(`${ORIGIN}/api/meta/webhook?hub.mode=subscribe&hub.verify_token=x&hub.challenge=abc`),
    );
    expect(refused.status).toBe(404);
  });
});

describe('createMetaWebhookHandler: notifications (POST)', () => {
  it('200: records the leads and processes them in the background', async () => {
    const { h, handler, url } = await setup();
    const response = await handler(
      signedMetaRequest(url, fixtureText('meta-leadgen-batch.json'), FIXTURE_APP_SECRET),
    );
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      received: true,
      object: 'page',
      recorded: 2,
      duplicates: 0,
      ignored: { staleEntries: 0, unknownPages: 1, otherFields: 0 },
    });
    await h.intake.drain();
    expect(h.leadsSeen.map((e) => e.leadgenId).sort()).toEqual(['9000000000000011', '9000000000000012']);
  });

  it('200 ignored: other fields and other objects are acknowledged and not processed', async () => {
    const { h, handler, url } = await setup();
    const feed = await handler(
      signedMetaRequest(url, fixtureText('meta-page-feed-ignored.json'), FIXTURE_APP_SECRET),
    );
    expect(feed.status).toBe(200);
    expect(await feed.json()).toMatchObject({ recorded: 0, ignored: { otherFields: 1 } });
    const other = await handler(
      new Request(url, {
        method: 'POST',
        body: fixtureBytes(CTWA_FIXTURE),
        headers: { 'x-hub-signature-256': CTWA_SIGNATURE_RAW },
      }),
    );
    expect(other.status).toBe(200);
    expect(await other.json()).toMatchObject({ object: 'whatsapp_business_account', recorded: 0 });
    expect(await h.inbox.list(h.tenant.id)).toEqual([]);
  });

  it('200: accepts a body whose escapes were decoded on the way (escaped-unicode variant)', async () => {
    const { h, handler, url } = await setup();
    const raw = JSON.stringify({
      ...buildLeadgenWebhook({ pageId: PAGE_ID, leadgenIds: ['9000000000000031'], time: 1764062100 }),
      note: 'José ₹ 😀',
    });
    // Meta signs the escaped form; the body arrives with literal UTF-8.
    const response = await handler(
      new Request(url, {
        method: 'POST',
        body: raw,
        headers: { 'x-hub-signature-256': signMetaBody(escapeMetaUnicode(raw), FIXTURE_APP_SECRET) },
      }),
    );
    expect(response.status).toBe(200);
    expect((await h.inbox.list(h.tenant.id)).map((e) => e.leadgenId)).toEqual(['9000000000000031']);
  });

  it('401: a missing or wrong signature stores and fetches nothing', async () => {
    const { h, handler, url } = await setup();
    const body = fixtureText('meta-leadgen-single.json');
    const missing = await handler(new Request(url, { method: 'POST', body }));
    expect(missing.status).toBe(401);
    expect((await errorOf(missing)).code).toBe('signature_invalid');
    const wrong = await handler(signedMetaRequest(url, body, 'not-the-secret'));
    expect(wrong.status).toBe(401);
    const tampered = await handler(
      new Request(url, {
        method: 'POST',
        body: body.replace('9000000000000001', '9000000000000002'),
        headers: { 'x-hub-signature-256': FIXTURE_SIGNATURES['meta-leadgen-single.json'] },
      }),
    );
    expect(tampered.status).toBe(401);
    await h.intake.drain();
    expect(await h.inbox.list(h.tenant.id)).toEqual([]);
  });

  it('400 with the reason: not JSON, wrong shape', async () => {
    const { handler, url } = await setup();
    const notJson = await handler(signedMetaRequest(url, '{"object":"page",', FIXTURE_APP_SECRET));
    expect(notJson.status).toBe(400);
    expect(await errorOf(notJson)).toMatchObject({ code: 'invalid_json' });
    const shape = await handler(
      signedMetaRequest(
        url,
        '{"object":"page","entry":[{"id":"1110000000001","time":1764062100,"changes":[{"field":"leadgen","value":{"form_id":"1"}}]}]}',
        FIXTURE_APP_SECRET,
      ),
    );
    expect(shape.status).toBe(400);
    const error = await errorOf(shape);
    expect(error.code).toBe('validation_failed');
    expect(error.message).toMatch(/entry\.0\.changes\.0\.value\.leadgen_id/);
  });

  it('404: an unknown client or a client id that cannot be one', async () => {
    const { handler } = await setup();
    const body = fixtureText('meta-leadgen-single.json');
    for (const path of [
      '/api/meta/webhook/nobody',
      '/api/meta/webhook/a%20b',
      '/api/meta/webhook/%E0%A4%A',
    ]) {
      const response = await handler(signedMetaRequest(`${ORIGIN}${path}`, body, FIXTURE_APP_SECRET));
      expect(response.status).toBe(404);
    }
  });

  it('413: a declared or streamed body over the limit is refused before it is read', async () => {
    const { h, handler, url } = await setup({ maxBodyBytes: 1024 });
    const big = JSON.stringify({ object: 'page', entry: [], pad: 'x'.repeat(2048) });
    const declared = await handler(signedMetaRequest(url, big, FIXTURE_APP_SECRET));
    expect(declared.status).toBe(413);
    expect((await errorOf(declared)).code).toBe('payload_too_large');

    let pulled = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        pulled++;
        if (pulled > 1000) controller.close();
        else controller.enqueue(new Uint8Array(512).fill(32));
      },
    });
    const streamed = await handler(
      new Request(url, {
        method: 'POST',
        body: stream,
        duplex: 'half',
        headers: { 'x-hub-signature-256': signMetaBody(big, FIXTURE_APP_SECRET) },
      } as RequestInit),
    );
    expect(streamed.status).toBe(413);
    expect(pulled).toBeLessThan(10);
    expect(await h.inbox.list(h.tenant.id)).toEqual([]);
  });

  it('405 for other methods', async () => {
    const { handler, url } = await setup();
    const response = await handler(new Request(url, { method: 'PUT', body: '{}' }));
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('GET, POST');
  });

  it('503 only when the events cannot be recorded', async () => {
    const { h, url } = await setup();
    const broken: LeadgenInbox = {
      ...h.inbox,
      record: async () => {
        throw new Error('database is down');
      },
    };
    const handler = createMetaWebhookHandler(h.makeIntake({ inbox: broken }));
    const response = await handler(
      signedMetaRequest(url, fixtureText('meta-leadgen-single.json'), FIXTURE_APP_SECRET),
    );
    expect(response.status).toBe(503);
    expect((await errorOf(response)).code).toBe('storage_unavailable');
  });
});

describe('createMetaWebhookHandler: database down', () => {
  it('503 when the database is closed: Meta keeps the delivery and retries it', async () => {
    graphServer.server.use(...graphHandlers({ baseUrl: GRAPH_BASE, leads: {} }));
    const db = await createPgliteDatabase();
    const h = await createIntakeHarness({ db, clock: createManualClock(NOW) });
    const handler = createMetaWebhookHandler(h.intake);
    const url = `${ORIGIN}/api/meta/webhook/${h.tenant.id}`;
    await db.close();
    const response = await handler(
      signedMetaRequest(url, fixtureText('meta-leadgen-single.json'), FIXTURE_APP_SECRET),
    );
    expect(response.status).toBe(503);
    expect((await errorOf(response)).code).toBe('storage_unavailable');
  });
});

describe('createMetaWebhookHandler: routes', () => {
  const body = fixtureText('meta-leadgen-single.json');

  it('takes the client id from a path pattern', async () => {
    const { h, handler } = await setup({ clientId: '/hooks/:clientId/meta' });
    const ok = await handler(
      signedMetaRequest(`${ORIGIN}/hooks/${h.tenant.id}/meta`, body, FIXTURE_APP_SECRET),
    );
    expect(ok.status).toBe(200);
    expect(await ok.json()).toMatchObject({ recorded: 1 });
    await h.intake.drain();
  });

  it('takes the client id from a function', async () => {
    const { h } = await setup();
    const handler = createMetaWebhookHandler(h.intake, {
      clientId: (request) => request.headers.get('x-client'),
    });
    const ok = await handler(
      signedMetaRequest(`${ORIGIN}/anything`, body, FIXTURE_APP_SECRET, { 'x-client': h.tenant.id }),
    );
    expect(ok.status).toBe(200);
    await h.intake.drain();
  });

  it('routes by page id when the path has no client id, and refuses that when page routing is off', async () => {
    const { h, handler } = await setup();
    const routed = await handler(signedMetaRequest(`${ORIGIN}/api/meta/webhook`, body, FIXTURE_APP_SECRET));
    expect(routed.status).toBe(200);
    expect(await routed.json()).toMatchObject({ recorded: 1 });
    await h.intake.drain();
    const strict = createMetaWebhookHandler(h.intake, { pageRouting: false });
    const refused = await strict(signedMetaRequest(`${ORIGIN}/api/meta/webhook`, body, FIXTURE_APP_SECRET));
    expect(refused.status).toBe(404);
  });

  it('refuses a pattern without :clientId', async () => {
    const { h } = await setup();
    expect(() => createMetaWebhookHandler(h.intake, { clientId: '/hooks/meta' })).toThrow(/:clientId/);
  });
});

describe('createMetaWebhookHandler over node:http (toNodeHandler)', () => {
  let server: Server | undefined;
  afterEach(async () => {
    server?.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve));
    server = undefined;
  });

  it('records a body sent with Meta’s escapes, answers the handshake, and applies the handler’s own limit', async () => {
    const { h, handler } = await setup({ maxBodyBytes: 4096 });
    server = createServer(toNodeHandler(handler));
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/meta/webhook/${h.tenant.id}`;

    const decoded = JSON.stringify({
      ...buildLeadgenWebhook({ pageId: PAGE_ID, leadgenIds: ['9000000000000041'], time: 1764062100 }),
      note: 'José ₹ 😀 https://fb.me/x',
    });
    // What Meta sends: escaped. A JSON re-serialisation of it would not verify as received.
    const sent = escapeMetaSlashes(escapeMetaUnicode(decoded));
    const posted = await fetch(base, {
      method: 'POST',
      body: sent,
      headers: {
        'content-type': 'application/json',
        'x-hub-signature-256': signMetaBody(sent, FIXTURE_APP_SECRET),
      },
    });
    expect(posted.status).toBe(200);
    expect(await posted.json()).toMatchObject({ recorded: 1 });
    await h.intake.drain();
    expect(h.leadsSeen.map((e) => e.leadgenId)).toEqual(['9000000000000041']);

    const handshake = await fetch(
      `${base}?hub.mode=subscribe&hub.verify_token=${VERIFY_TOKEN}&hub.challenge=42`,
    );
    expect(await handshake.text()).toBe('42');

    const big = await fetch(base, { method: 'POST', body: 'x'.repeat(5000) });
    expect(big.status).toBe(413);
    expect((await errorOf(big)).code).toBe('payload_too_large');
  });
});
