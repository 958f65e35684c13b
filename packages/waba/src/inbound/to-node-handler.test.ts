import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { toNodeHandler } from './to-node-handler.js';

const echo = async (request: Request) =>
  new Response(
    JSON.stringify({
      method: request.method,
      url: request.url,
      body: await request.text(),
      ct: request.headers.get('content-type'),
    }),
    {
      status: 201,
      headers: { 'content-type': 'application/json', 'x-multi': 'a' },
    },
  );

let close: (() => Promise<void>) | null = null;
afterEach(async () => {
  await close?.();
  close = null;
});

async function listen(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<string> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  close = () =>
    new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('toNodeHandler', () => {
  it('passes method, URL, headers and the raw bytes through, and writes the Response back', async () => {
    const url = await listen(toNodeHandler(echo));
    const body = '{"text":"\\u20b9 ₹ /"}';
    const response = await fetch(`${url}/hook/acme?token=t`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    });
    expect(response.status).toBe(201);
    expect(response.headers.get('x-multi')).toBe('a');
    expect(await response.json()).toEqual({
      method: 'POST',
      url: `${url}/hook/acme?token=t`,
      body,
      ct: 'application/json',
    });
  });

  it('uses a body an Express raw parser already read (req.body Buffer or req.rawBody)', async () => {
    const handler = toNodeHandler(echo);
    const url = await listen((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const raw = Buffer.concat(chunks);
        Object.assign(
          req,
          req.url?.includes('raw') ? { rawBody: raw, body: { parsed: true } } : { body: raw },
        );
        void handler(req, res);
      });
    });
    expect((await (await fetch(`${url}/a`, { method: 'POST', body: 'bytes-1' })).json()).body).toBe(
      'bytes-1',
    );
    expect((await (await fetch(`${url}/raw`, { method: 'POST', body: 'bytes-2' })).json()).body).toBe(
      'bytes-2',
    );
  });

  it('answers a clear 500 when a JSON parser consumed the body first', async () => {
    const handler = toNodeHandler(echo);
    const url = await listen((req, res) => {
      req.resume();
      req.on('end', () => {
        Object.assign(req, { body: { parsed: true } });
        void handler(req, res);
      });
    });
    const response = await fetch(`${url}/x`, { method: 'POST', body: '{}' });
    expect(response.status).toBe(500);
    expect((await response.json()).error.code).toBe('raw_body_unavailable');
  });
});
