import {
  createServer,
  request as httpRequest,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { createManualClock } from '@leadrelay/core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FIXTURE_APP_SECRET, fixtureText } from '../../test/fixtures.js';
import { createGraphServer } from '../../test/graph-server.js';
import { createIntakeHarness, GRAPH_BASE, PAGE_ID, VERIFY_TOKEN } from '../../test/intake-harness.js';
import { escapeMetaSlashes, escapeMetaUnicode } from '../signature/escape-meta-unicode.js';
import { buildGraphLead } from '../testing/build-graph-lead.js';
import { buildLeadgenWebhook } from '../testing/build-leadgen-webhook.js';
import { graphHandlers } from '../testing/graph-handlers.js';
import { signMetaBody } from '../testing/sign-meta-body.js';
import { createMetaWebhookHandler } from './meta-webhook-handler.js';
import { type NodeHandler, toNodeHandler } from './to-node-handler.js';

const graphServer = createGraphServer();
beforeAll(() => graphServer.listen());
afterEach(() => graphServer.server.resetHandlers());
afterAll(() => graphServer.server.close());

const NOW = new Date((1764062100 + 60) * 1000);
const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
});

async function listen(listener: (req: IncomingMessage, res: ServerResponse) => void): Promise<string> {
  const server = createServer(listener);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function setup(maxBodyBytes?: number) {
  graphServer.server.use(
    ...graphHandlers({
      baseUrl: GRAPH_BASE,
      leads: (id) => buildGraphLead({ leadgenId: id, fullName: 'N' }),
    }),
  );
  const h = await createIntakeHarness({ clock: createManualClock(NOW) });
  const handler = createMetaWebhookHandler(h.intake, maxBodyBytes ? { maxBodyBytes } : {});
  return { h, handler, node: toNodeHandler(handler) };
}

describe('toNodeHandler over node:http', () => {
  it('keeps the raw bytes: a body with Meta’s \\u and \\/ escapes verifies and is recorded', async () => {
    const { h, node } = await setup();
    const base = await listen((req, res) => void node(req, res));
    const decoded = JSON.stringify({
      ...buildLeadgenWebhook({ pageId: PAGE_ID, leadgenIds: ['9000000000000041'], time: 1764062100 }),
      note: 'José ₹ 😀 https://fb.me/x',
    });
    // What Meta sends: escaped. A JSON re-serialisation of it would not verify.
    const sent = escapeMetaSlashes(escapeMetaUnicode(decoded));
    const response = await fetch(`${base}/api/meta/webhook/${h.tenant.id}`, {
      method: 'POST',
      body: sent,
      headers: {
        'content-type': 'application/json',
        'x-hub-signature-256': signMetaBody(sent, FIXTURE_APP_SECRET),
      },
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ recorded: 1 });
    await h.intake.drain();
    expect(h.leadsSeen).toHaveLength(1);
  });

  it('answers the GET handshake', async () => {
    const { h, node } = await setup();
    const base = await listen((req, res) => void node(req, res));
    const response = await fetch(
      `${base}/api/meta/webhook/${h.tenant.id}?hub.mode=subscribe&hub.verify_token=${VERIFY_TOKEN}&hub.challenge=42`,
    );
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('42');
  });

  it('413 while streaming: a chunked body over the limit is cut off without being read to the end', async () => {
    const { h, node } = await setup(4096);
    const base = await listen((req, res) => void node(req, res));
    const url = new URL(`${base}/api/meta/webhook/${h.tenant.id}`);
    const LIMIT = 64 * 1024 * 1024;
    const result = await new Promise<{ status: number; body: string; written: number }>((resolve, reject) => {
      let written = 0;
      let answered = false;
      const req = httpRequest(url, { method: 'POST', headers: { 'transfer-encoding': 'chunked' } }, (res) => {
        answered = true;
        let body = '';
        res.on('data', (chunk) => {
          body += chunk;
        });
        res.on('end', () => resolve({ status: res.statusCode!, body, written }));
      });
      // The server closes the connection after answering: a write after that may fail.
      req.on('error', (error) => (answered ? undefined : reject(error)));
      const chunk = Buffer.alloc(16 * 1024, 32);
      // An endless body: only an answer before the end stops it.
      const pump = () => {
        if (answered || written >= LIMIT) return;
        written += chunk.length;
        if (req.write(chunk)) setImmediate(pump);
        else req.once('drain', pump);
      };
      pump();
    });
    expect(result.status).toBe(413);
    expect(JSON.parse(result.body).error.code).toBe('payload_too_large');
    expect(result.written).toBeLessThan(LIMIT);
  });

  it('survives a Host header that is not a host name', async () => {
    const { h, node } = await setup();
    const base = new URL(await listen((req, res) => void node(req, res)));
    const status = await new Promise<number>((resolve, reject) => {
      const req = httpRequest(
        {
          host: base.hostname,
          port: base.port,
          path: `/api/meta/webhook/${h.tenant.id}?hub.mode=subscribe&hub.verify_token=${VERIFY_TOKEN}&hub.challenge=7`,
          headers: { host: 'not a host' },
        },
        (res) => {
          res.resume();
          resolve(res.statusCode!);
        },
      );
      req.on('error', reject);
      req.end();
    });
    expect(status).toBe(200);
  });

  it('413 from Content-Length before reading', async () => {
    const { h, node } = await setup(1024);
    const base = await listen((req, res) => void node(req, res));
    const response = await fetch(`${base}/api/meta/webhook/${h.tenant.id}`, {
      method: 'POST',
      body: 'x'.repeat(5000),
    });
    expect(response.status).toBe(413);
  });

  it('works as Express middleware after express.raw(), and explains the failure after express.json()', async () => {
    const { h, node } = await setup();
    const body = fixtureText('meta-leadgen-single.json');
    const signature = signMetaBody(body, FIXTURE_APP_SECRET);
    // What express.raw() leaves: the stream read, the bytes in req.body.
    const raw: NodeHandler = async (req, res, next) => {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      req.body = Buffer.concat(chunks);
      return node(req, res, next);
    };
    const base = await listen((req, res) => void raw(req, res));
    const ok = await fetch(`${base}/api/meta/webhook/${h.tenant.id}`, {
      method: 'POST',
      body,
      headers: { 'x-hub-signature-256': signature },
    });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toMatchObject({ recorded: 1 });
    await h.intake.drain();

    // What express.json() leaves: the stream read, only the parsed object kept.
    const json: NodeHandler = async (req, res, next) => {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      req.body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      return node(req, res, next);
    };
    const base2 = await listen((req, res) => void json(req, res));
    const refused = await fetch(`${base2}/api/meta/webhook/${h.tenant.id}`, {
      method: 'POST',
      body,
      headers: { 'x-hub-signature-256': signature },
    });
    expect(refused.status).toBe(500);
    expect((await refused.json()).error.code).toBe('raw_body_unavailable');
  });

  it('hands unexpected errors to next() when mounted as middleware', async () => {
    const node = toNodeHandler(async () => {
      throw new Error('boom');
    });
    let passed: unknown;
    const base = await listen((req, res) => {
      void node(req, res, (error) => {
        passed = error;
        res.statusCode = 599;
        res.end();
      });
    });
    const response = await fetch(`${base}/x`, { method: 'POST', body: '{}' });
    expect(response.status).toBe(599);
    expect((passed as Error).message).toBe('boom');
  });
});
