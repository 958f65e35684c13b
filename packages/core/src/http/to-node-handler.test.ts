import { createHash } from 'node:crypto';
import {
  createServer,
  request as httpRequest,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ValidationError } from '../errors/errors.js';
import { escapeMetaSlashes, escapeMetaUnicode } from '../meta/escape-meta-unicode.js';
import { signMetaBody } from '../meta/sign-meta-body.js';
import { matchMetaSignature } from '../meta/verify-meta-signature.js';
import { readBodyLimited } from './read-body-limited.js';
import { type NodeHandler, type NodeRequest, toNodeHandler, type WebHandler } from './to-node-handler.js';

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(
    servers.splice(0).map(
      (server) =>
        new Promise((resolve) => {
          server.closeAllConnections();
          server.close(resolve);
        }),
    ),
  );
});

async function listen(listener: (req: IncomingMessage, res: ServerResponse) => void): Promise<string> {
  const server = createServer(listener);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** A handler that answers what it was given, counting its calls. */
function echoHandler(limit?: number): WebHandler & { calls: number } {
  const handler = async (request: Request) => {
    handler.calls++;
    const bytes = new Uint8Array(await request.arrayBuffer());
    return Response.json(
      {
        method: request.method,
        url: request.url,
        contentType: request.headers.get('content-type'),
        sha256: createHash('sha256').update(bytes).digest('hex'),
        length: bytes.byteLength,
      },
      { status: 201, headers: { 'x-answer': 'yes' } },
    );
  };
  handler.calls = 0;
  return limit === undefined ? handler : Object.assign(handler, { maxBodyBytes: limit });
}

const sha256 = (body: string | Uint8Array) => createHash('sha256').update(body).digest('hex');

/** A request fetch cannot send (a raw Host header, a TRACE method), with node:http. */
function rawRequest(
  base: string,
  options: { path: string; host?: string; method?: string },
): Promise<{ status: number; body: string }> {
  const url = new URL(base);
  const { path, host, method = 'GET' } = options;
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: url.hostname, port: url.port, path, method, ...(host ? { headers: { host } } : {}) },
      (res) => {
        let body = '';
        res.on('data', (chunk) => {
          body += chunk;
        });
        res.on('end', () => resolve({ status: res.statusCode!, body }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/** Streams an endless chunked body until the server answers; reports how much was written. */
function streamUntilAnswered(
  url: string,
): Promise<{ status: number; body: string; written: number; headers: IncomingMessage['headers'] }> {
  const LIMIT = 64 * 1024 * 1024;
  return new Promise((resolve, reject) => {
    let written = 0;
    let answered = false;
    const req = httpRequest(url, { method: 'POST', headers: { 'transfer-encoding': 'chunked' } }, (res) => {
      answered = true;
      let body = '';
      res.on('data', (chunk) => {
        body += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode!, body, written, headers: res.headers }));
    });
    // The server closes the connection after answering: a write after that may fail.
    req.on('error', (error) => (answered ? undefined : reject(error)));
    const chunk = Buffer.alloc(16 * 1024, 32);
    const pump = () => {
      if (answered) return;
      if (written >= LIMIT) return reject(new Error('the whole body was read'));
      written += chunk.length;
      if (req.write(chunk)) setImmediate(pump);
      else req.once('drain', pump);
    };
    pump();
  });
}

describe('toNodeHandler over node:http', () => {
  it('passes method, URL, headers and the exact bytes through, and writes status and headers back', async () => {
    const handler = echoHandler();
    const base = await listen(toNodeHandler(handler));
    // Not valid UTF-8 on purpose: the bytes must arrive untouched, not decoded and re-encoded.
    const body = Buffer.concat([Buffer.from('{"text":"\\u20b9 ₹ \\/ /"}'), Buffer.from([0xff, 0xfe, 0x00])]);
    const response = await fetch(`${base}/hook/acme?token=t`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    });
    expect(response.status).toBe(201);
    expect(response.headers.get('x-answer')).toBe('yes');
    expect(await response.json()).toEqual({
      method: 'POST',
      url: `${base}/hook/acme?token=t`,
      contentType: 'application/json',
      sha256: sha256(body),
      length: body.byteLength,
    });
    expect(handler.calls).toBe(1);
  });

  it('keeps Meta’s \\u and \\/ escapes: the handler verifies the signature over the raw bytes', async () => {
    const secret = 'app-secret-1';
    const base = await listen(
      toNodeHandler(async (request) => {
        const raw = await readBodyLimited(request, 1024 * 1024);
        const match = matchMetaSignature(raw, request.headers.get('x-hub-signature-256'), [secret]);
        return Response.json({ variant: match?.variant ?? null });
      }),
    );
    const decoded = JSON.stringify({ name: 'José ₹ 😀', link: 'https://fb.me/x' });
    const sent = escapeMetaSlashes(escapeMetaUnicode(decoded));
    const post = (body: string) =>
      fetch(`${base}/webhook`, {
        method: 'POST',
        body,
        headers: { 'x-hub-signature-256': signMetaBody(sent, secret) },
      }).then((r) => r.json());
    // As Meta sends it: verified as received, not through a re-escaped variant.
    expect(await post(sent)).toEqual({ variant: 'raw' });
    // Decoded on the way by a proxy: recovered by re-escaping.
    expect(await post(decoded)).toEqual({ variant: 'escaped-unicode-slashes' });
  });

  it('sends GET and HEAD without a body and keeps every Set-Cookie line', async () => {
    const seen: string[] = [];
    const base = await listen(
      toNodeHandler(async (request) => {
        seen.push(`${request.method} ${request.body === null ? 'no body' : 'body'}`);
        const headers = new Headers({ 'content-type': 'text/plain' });
        headers.append('set-cookie', 'a=1; Path=/');
        headers.append('set-cookie', 'b=2, c; Path=/');
        return new Response(request.method === 'HEAD' ? null : 'challenge-42', { headers });
      }),
    );
    const get = await fetch(`${base}/x?hub.challenge=42`);
    expect(await get.text()).toBe('challenge-42');
    expect(get.headers.getSetCookie()).toEqual(['a=1; Path=/', 'b=2, c; Path=/']);
    const head = await fetch(`${base}/x`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(seen).toEqual(['GET no body', 'HEAD no body']);
  });

  it('413 while streaming: a chunked body over the handler’s limit is cut off unread and the handler never runs', async () => {
    const handler = echoHandler(4096);
    const base = await listen(toNodeHandler(handler));
    const result = await streamUntilAnswered(`${base}/webhook`);
    expect(result.status).toBe(413);
    expect(result.headers.connection).toBe('close');
    expect(JSON.parse(result.body).error).toMatchObject({
      code: 'payload_too_large',
      details: { limitBytes: 4096 },
    });
    expect(result.written).toBeLessThan(64 * 1024 * 1024);
    expect(handler.calls).toBe(0);
  });

  it('413 from Content-Length before reading; the option overrides the handler’s limit; 1 MiB by default', async () => {
    const limited = echoHandler(1024 * 1024);
    const base = await listen(toNodeHandler(limited, { maxBodyBytes: 1024 }));
    const refused = await fetch(`${base}/x`, { method: 'POST', body: 'x'.repeat(1025) });
    expect(refused.status).toBe(413);
    expect((await refused.json()).error.details).toEqual({ limitBytes: 1024 });
    expect((await fetch(`${base}/x`, { method: 'POST', body: 'x'.repeat(1024) })).status).toBe(201);
    expect(limited.calls).toBe(1);

    const byDefault = await listen(toNodeHandler(echoHandler()));
    const mib = 1024 * 1024;
    expect((await fetch(`${byDefault}/x`, { method: 'POST', body: Buffer.alloc(mib) })).status).toBe(201);
    expect((await fetch(`${byDefault}/x`, { method: 'POST', body: Buffer.alloc(mib + 1) })).status).toBe(413);
  });

  it('survives a Host header that is not a host name, and keeps a path that looks like a host as a path', async () => {
    const handler = echoHandler();
    const base = await listen(toNodeHandler(handler, { origin: 'https://hooks.example.com' }));
    for (const host of ['not a host', 'evil.example/path', 'user@evil.example', '[::1']) {
      const answer = await rawRequest(base, { path: '/webhook/t1?hub.challenge=7', host });
      expect(answer.status).toBe(201);
      expect(JSON.parse(answer.body).url).toBe('https://hooks.example.com/webhook/t1?hub.challenge=7');
    }
    const sneaky = await rawRequest(base, { path: '//evil.example/x', host: 'leads.example.com:8080' });
    expect(JSON.parse(sneaky.body).url).toBe('http://leads.example.com:8080//evil.example/x');
  });

  it('answers 400 request_invalid for a method Fetch cannot represent, without calling the handler', async () => {
    const handler = echoHandler();
    const base = await listen(toNodeHandler(handler));
    const answer = await rawRequest(base, { path: '/x', method: 'TRACE' });
    expect(answer.status).toBe(400);
    expect(JSON.parse(answer.body).error.code).toBe('request_invalid');
    expect(handler.calls).toBe(0);
  });

  it('settles without answering when the client goes away mid-body, and keeps serving', async () => {
    const handler = echoHandler();
    const node = toNodeHandler(handler);
    const settled: Promise<void>[] = [];
    const base = new URL(await listen((req, res) => void settled.push(node(req, res))));
    await new Promise<void>((resolve) => {
      const req = httpRequest({
        host: base.hostname,
        port: base.port,
        path: '/x',
        method: 'POST',
        headers: { 'content-length': '100000' },
      });
      req.on('error', () => {});
      req.write('{"partial":', () =>
        setTimeout(() => {
          req.destroy();
          resolve();
        }, 50),
      );
    });
    await expect.poll(() => settled.length).toBe(1);
    await settled[0];
    expect(handler.calls).toBe(0);
    expect((await fetch(`${base.origin}/x`, { method: 'POST', body: 'ok' })).status).toBe(201);
  });
});

describe('toNodeHandler after Express/Connect body parsers', () => {
  /** Reads the stream as a body parser would, then leaves `fields` on the request. */
  const afterParser =
    (node: NodeHandler, fields: (raw: Buffer) => Partial<NodeRequest>, next?: (error?: unknown) => void) =>
    async (req: IncomingMessage, res: ServerResponse) => {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      Object.assign(req, fields(Buffer.concat(chunks)));
      await node(req, res, next);
    };

  it('uses the bytes express.raw() (req.body), a verify hook (req.rawBody) or express.text() left', async () => {
    const handler = echoHandler();
    const node = toNodeHandler(handler);
    const body = '{"name":"Jos\\u00e9 ₹"}';
    for (const fields of [
      (raw: Buffer) => ({ body: raw }),
      (raw: Buffer) => ({ rawBody: raw, body: JSON.parse(raw.toString('utf8')) }),
      (raw: Buffer) => ({ body: raw.toString('utf8') }),
    ]) {
      const base = await listen((req, res) => void afterParser(node, fields)(req, res));
      const answer = await (await fetch(`${base}/x`, { method: 'POST', body })).json();
      expect(answer.sha256).toBe(sha256(body));
    }
    expect(handler.calls).toBe(3);
  });

  it('refuses bytes a parser read that pass the limit', async () => {
    const handler = echoHandler(8);
    const base = await listen(
      (req, res) => void afterParser(toNodeHandler(handler), (raw) => ({ body: raw }))(req, res),
    );
    const response = await fetch(`${base}/x`, { method: 'POST', body: '0123456789' });
    expect(response.status).toBe(413);
    expect(handler.calls).toBe(0);
  });

  it('explains with 500 raw_body_unavailable when express.json() (or anything) consumed the raw body', async () => {
    const handler = echoHandler();
    const node = toNodeHandler(handler);
    let nextCalled = false;
    for (const fields of [(raw: Buffer) => ({ body: JSON.parse(raw.toString('utf8')) }), () => ({})]) {
      const base = await listen(
        (req, res) =>
          void afterParser(node, fields, () => {
            nextCalled = true;
          })(req, res),
      );
      const response = await fetch(`${base}/x`, { method: 'POST', body: '{"a":1}' });
      expect(response.status).toBe(500);
      const { error } = await response.json();
      expect(error.code).toBe('raw_body_unavailable');
      expect(error.message).toMatch(/before any JSON body parser/);
    }
    expect(nextCalled).toBe(false);
    expect(handler.calls).toBe(0);
  });
});

describe('toNodeHandler errors', () => {
  it('hands unexpected errors to next() as middleware, and answers LeadRelay errors itself', async () => {
    const node = toNodeHandler(async (request) => {
      if (request.url.endsWith('/bad')) throw new ValidationError('Bad input', { code: 'input_bad' });
      throw new Error('boom');
    });
    const passed: unknown[] = [];
    const base = await listen((req, res) => {
      void node(req, res, (error) => {
        passed.push(error);
        res.statusCode = 599;
        res.end();
      });
    });
    expect((await fetch(`${base}/x`, { method: 'POST', body: '{}' })).status).toBe(599);
    expect((passed[0] as Error).message).toBe('boom');
    const bad = await fetch(`${base}/bad`, { method: 'POST', body: '{}' });
    expect(bad.status).toBe(400);
    expect((await bad.json()).error).toMatchObject({ code: 'input_bad', message: 'Bad input' });
    expect(passed).toHaveLength(1);
  });

  it('answers a 500 that hides the message when there is no next()', async () => {
    const base = await listen(
      toNodeHandler(async () => {
        throw new Error('database password is hunter2');
      }),
    );
    const response = await fetch(`${base}/x`);
    expect(response.status).toBe(500);
    expect((await response.json()).error).toEqual({ code: 'internal_error', message: 'Internal error' });
  });
});
