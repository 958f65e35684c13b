import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { LeadRelayError, ProviderError } from '../errors/errors.js';
import type { Logger } from '../observability/logger.js';
import { createHttpClient, type HttpClientOptions } from './http-client.js';

// packages/core/src/http → repo root is four levels up; the fixtures live beside the repo.
const fixture = (name: string) =>
  readFileSync(new URL(`../../../../../shared/fixtures/${name}`, import.meta.url), 'utf8');

interface Received {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
  at: number;
}

type Handler = (req: IncomingMessage, res: ServerResponse, index: number) => void;

let server: Server;
let baseUrl: string;
let handler: Handler = (_req, res) => res.end();
let received: Received[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const index = received.length;
      received.push({
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        at: performance.now(),
      });
      handler(req, res, index);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterEach(() => {
  // Sockets stay open between tests: closing them here races undici's keep-alive reuse.
  received = [];
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

function send(res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}) {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(body);
}

interface LogCall {
  level: string;
  obj: object;
  msg?: string;
  bindings: Record<string, unknown>;
}

function recordingLogger(calls: LogCall[], bindings: Record<string, unknown> = {}): Logger {
  const at =
    (level: string) =>
    (obj: object, msg?: string): void => {
      calls.push({ level, obj, bindings, ...(msg !== undefined ? { msg } : {}) });
    };
  return {
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    child: (more) => recordingLogger(calls, { ...bindings, ...more }),
  };
}

const client = (overrides: Partial<HttpClientOptions> = {}) =>
  createHttpClient({
    baseUrl,
    provider: 'test_provider',
    minRetryDelayMs: 5,
    maxRetryDelayMs: 20,
    timeoutMs: 2_000,
    ...overrides,
  });

async function failure(promise: Promise<unknown>): Promise<ProviderError> {
  const error = await promise.then(
    () => {
      throw new Error('expected the request to fail');
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ProviderError);
  return error as ProviderError;
}

describe('createHttpClient: success', () => {
  it('parses a JSON answer and joins the base path, path and query', async () => {
    handler = (_req, res) => send(res, 200, '{"id":"42","name":"Priya"}', { 'x-request-id': 'r1' });
    const http = client({ baseUrl: `${baseUrl}/v21.0/` });
    const result = await http.request<{ id: string; name: string }>({
      method: 'GET',
      path: '/9000000000000001',
      searchParams: { fields: 'id,name', skip: undefined, n: 2, many: ['a', 'b'] },
    });
    expect(result.status).toBe(200);
    expect(result.data).toEqual({ id: '42', name: 'Priya' });
    expect(result.headers.get('x-request-id')).toBe('r1');
    expect(received).toHaveLength(1);
    expect(received[0]!.url).toBe('/v21.0/9000000000000001?fields=id%2Cname&n=2&many=a&many=b');
  });

  it('returns text for a non-JSON answer and undefined for an empty one', async () => {
    handler = (req, res) => {
      if (req.url === '/text') {
        res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
        res.end('challenge-1158201444 ✓');
      } else {
        res.writeHead(204);
        res.end();
      }
    };
    const http = client();
    expect((await http.request<string>({ method: 'GET', path: '/text' })).data).toBe(
      'challenge-1158201444 ✓',
    );
    const empty = await http.request({ method: 'DELETE', path: '/thing' });
    expect(empty.status).toBe(204);
    expect(empty.data).toBeUndefined();
  });

  it('sends JSON bodies with the client and request headers merged', async () => {
    handler = (_req, res) => send(res, 200, fixture('cloud-send-accepted.json'));
    const http = client({ headers: { authorization: 'Bearer t', 'x-client': 'lr' } });
    const result = await http.request<{ messages: { id: string }[] }>({
      method: 'POST',
      path: '/123/messages',
      json: { messaging_product: 'whatsapp', to: '919812345678', text: { body: 'नमस्ते' } },
      headers: { 'x-client': undefined, 'x-extra': '1' },
    });
    expect(result.data.messages[0]!.id).toMatch(/^wamid\./);
    const got = received[0]!;
    expect(got.headers['content-type']).toMatch(/^application\/json/);
    expect(JSON.parse(got.body)).toEqual({
      messaging_product: 'whatsapp',
      to: '919812345678',
      text: { body: 'नमस्ते' },
    });
    expect(got.headers.authorization).toBe('Bearer t');
    expect(got.headers['x-client']).toBeUndefined();
    expect(got.headers['x-extra']).toBe('1');
  });

  it('encodes form bodies as application/x-www-form-urlencoded', async () => {
    handler = (_req, res) => send(res, 202, fixture('gupshup-send-accepted.json'));
    const http = client();
    const message = JSON.stringify({ type: 'text', text: 'Hello & welcome = 100%' });
    const result = await http.request<{ status: string }>({
      method: 'POST',
      path: '/wa/api/v1/msg',
      form: {
        channel: 'whatsapp',
        source: 917834811114,
        destination: '919812345678',
        message,
        skip: undefined,
      },
    });
    expect(result).toMatchObject({ status: 202, data: { status: 'submitted' } });
    const got = received[0]!;
    expect(got.headers['content-type']).toMatch(/^application\/x-www-form-urlencoded/);
    const params = new URLSearchParams(got.body);
    expect([...params.keys()]).toEqual(['channel', 'source', 'destination', 'message']);
    expect(params.get('source')).toBe('917834811114');
    expect(params.get('message')).toBe(message);

    await http.request({ method: 'POST', path: '/x', form: new URLSearchParams([['src.name', 'AcmeBot']]) });
    expect(received[1]!.body).toBe('src.name=AcmeBot');
  });

  it('uses the given fetch', async () => {
    handler = (_req, res) => send(res, 200, '{}');
    let calls = 0;
    const http = client({
      fetch: (input, init) => {
        calls++;
        return fetch(input, init);
      },
    });
    await http.request({ method: 'GET', path: '/' });
    expect(calls).toBe(1);
  });
});

describe('createHttpClient: retries', () => {
  it('retries a 503 until the answer succeeds, counting each attempt', async () => {
    handler = (_req, res, i) => (i < 2 ? send(res, 503, '{"error":"busy"}') : send(res, 200, '{"ok":true}'));
    const calls: LogCall[] = [];
    const http = client({ logger: recordingLogger(calls) });
    const result = await http.request({ method: 'GET', path: '/flaky' });
    expect(result.data).toEqual({ ok: true });
    expect(received).toHaveLength(3);
    expect(calls.filter((c) => c.level === 'debug')).toHaveLength(3);
    const warns = calls.filter((c) => c.level === 'warn');
    expect(warns.map((c) => c.obj)).toMatchObject([
      { attempt: 1, status: 503, method: 'GET' },
      { attempt: 2, status: 503, method: 'GET' },
    ]);
  });

  it('gives up after `retries` and throws the last error', async () => {
    handler = (_req, res) => send(res, 502, '{"error":{"message":"bad gateway","code":2}}');
    const error = await failure(client({ retries: 2 }).request({ method: 'GET', path: '/down' }));
    expect(received).toHaveLength(3);
    expect(error).toMatchObject({
      code: 'provider_error',
      httpStatus: 502,
      providerCode: '2',
      retryable: true,
    });
    expect(error.message).toContain('bad gateway');
  });

  it('waits for Retry-After on a 429 before retrying', async () => {
    handler = (_req, res, i) =>
      i === 0 ? send(res, 429, '{}', { 'retry-after': '1' }) : send(res, 200, '{"ok":true}');
    const calls: LogCall[] = [];
    const http = client({ minRetryDelayMs: 1, maxRetryDelayMs: 5, logger: recordingLogger(calls) });
    await http.request({ method: 'GET', path: '/limited' });
    expect(received).toHaveLength(2);
    const gap = received[1]!.at - received[0]!.at;
    expect(gap).toBeGreaterThanOrEqual(980);
    expect(gap).toBeLessThan(5_000);
    expect(calls.find((c) => c.level === 'warn')?.obj).toMatchObject({ status: 429, delayMs: 1_000 });
  });

  it('does not wait for a Retry-After longer than maxRetryAfterMs: it surfaces retryAfterMs', async () => {
    handler = (_req, res) => send(res, 429, '{}', { 'retry-after': '120' });
    const started = performance.now();
    const error = await failure(
      client({ maxRetryAfterMs: 60_000 }).request({ method: 'GET', path: '/slow' }),
    );
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(received).toHaveLength(1);
    expect(error).toMatchObject({ httpStatus: 429, retryable: true, retryAfterMs: 120_000 });
  });

  it('does not retry a POST on a 500 unless it is retrySafe', async () => {
    handler = (_req, res, i) => (i === 0 ? send(res, 500, '{}') : send(res, 200, '{"ok":true}'));
    const error = await failure(client().request({ method: 'POST', path: '/send', json: { a: 1 } }));
    expect(error).toMatchObject({ httpStatus: 500, retryable: true });
    expect(received).toHaveLength(1);

    received = [];
    const ok = await client().request({ method: 'POST', path: '/send', json: { a: 1 }, retrySafe: true });
    expect(ok.data).toEqual({ ok: true });
    expect(received).toHaveLength(2);
  });

  it('retries a POST after a 429, which means it was not processed', async () => {
    handler = (_req, res, i) =>
      i === 0 ? send(res, 429, fixture('cloud-send-error-130429.json')) : send(res, 200, '{"ok":true}');
    const result = await client().request({ method: 'POST', path: '/123/messages', json: { to: '1' } });
    expect(result.data).toEqual({ ok: true });
    expect(received).toHaveLength(2);
    expect(received[1]!.body).toBe('{"to":"1"}');
  });

  it('retries a POST whose connection was refused: it reached nobody', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as AddressInfo;
    await new Promise((resolve) => closed.close(resolve));
    let attempts = 0;
    const error = await failure(
      client({ baseUrl: `http://127.0.0.1:${port}`, retries: 2 }).request({
        method: 'POST',
        path: '/send',
        json: { a: 1 },
        beforeAttempt: async () => {
          attempts++;
        },
      }),
    );
    expect(error).toMatchObject({ code: 'network_error', retryable: true, details: { notProcessed: true } });
    expect(attempts).toBe(3);
  });

  it('retries a POST after a classifier marks the failure as not processed', async () => {
    handler = (_req, res, i) => (i === 0 ? send(res, 400, '{"busy":true}') : send(res, 200, '{"ok":true}'));
    const result = await client({
      classifyError: (response) =>
        new ProviderError('busy', {
          provider: 'test_provider',
          code: 'provider_rate_limited',
          retryable: true,
          httpStatus: response.status,
          details: { notProcessed: true },
        }),
    }).request({ method: 'POST', path: '/send', json: { a: 1 } });
    expect(result.data).toEqual({ ok: true });
    expect(received).toHaveLength(2);
  });

  it('does not retry a 4xx and reports the provider code of a Graph error', async () => {
    handler = (_req, res) => send(res, 400, fixture('graph-error-token-expired.json'));
    const error = await failure(client().request({ method: 'GET', path: '/9000000000000001' }));
    expect(received).toHaveLength(1);
    expect(error).toMatchObject({
      code: 'provider_error',
      provider: 'test_provider',
      httpStatus: 400,
      providerCode: '190',
      retryable: false,
      status: 502,
    });
    expect(error.message).toContain('Error validating access token');
    expect(error.details).toMatchObject({ provider: 'test_provider', providerCode: '190', httpStatus: 400 });
  });

  it('reads a top-level code and a Gupshup message', async () => {
    handler = (_req, res, i) =>
      i === 0 ? send(res, 400, fixture('gupshup-send-error.json')) : send(res, 404, '{"code":"NOT_FOUND"}');
    const gupshup = await failure(client().request({ method: 'POST', path: '/wa/api/v1/msg', form: {} }));
    expect(gupshup).toMatchObject({ httpStatus: 400, providerCode: undefined, retryable: false });
    expect(gupshup.message).toContain('Invalid Destination');
    const other = await failure(client().request({ method: 'GET', path: '/missing' }));
    expect(other).toMatchObject({ httpStatus: 404, providerCode: 'NOT_FOUND' });
  });

  it('lets a classifier mark an error retryable (Graph rate limit: HTTP 400, code 4)', async () => {
    handler = (_req, res, i) =>
      i === 0 ? send(res, 400, fixture('graph-error-rate-limit.json')) : send(res, 200, '{"id":"1"}');
    const seen: unknown[] = [];
    const http = client({
      classifyError: (response, body) => {
        seen.push(body);
        const code = (body as { error?: { code?: number } }).error?.code;
        if (response.status === 400 && code === 4) {
          return new ProviderError('rate limited', {
            provider: 'meta_graph',
            providerCode: 4,
            retryable: true,
          });
        }
        return undefined;
      },
    });
    expect((await http.request({ method: 'GET', path: '/lead' })).data).toEqual({ id: '1' });
    expect(received).toHaveLength(2);
    expect(seen[0]).toMatchObject({ error: { code: 4, type: 'OAuthException' } });
  });

  it('throws the classifier error as is and does not retry when it is not retryable', async () => {
    handler = (_req, res) => send(res, 503, '{}');
    const http = client({
      classifyError: () =>
        new LeadRelayError('maintenance', { code: 'provider_maintenance', retryable: false }),
    });
    const error = await http.request({ method: 'GET', path: '/x' }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'provider_maintenance' });
    expect(received).toHaveLength(1);
  });

  it('honours a per-request retries override', async () => {
    handler = (_req, res) => send(res, 503, '{}');
    await failure(client({ retries: 5 }).request({ method: 'GET', path: '/x', retries: 0 }));
    expect(received).toHaveLength(1);
  });
});

describe('createHttpClient: transport failures', () => {
  it('times out a request whose answer does not come, as a retryable timeout', async () => {
    handler = () => {}; // never answers
    const started = performance.now();
    const error = await failure(
      client({ timeoutMs: 150, retries: 1 }).request({ method: 'GET', path: '/hang' }),
    );
    expect(error).toMatchObject({ code: 'timeout', retryable: true, provider: 'test_provider' });
    expect(received).toHaveLength(2);
    expect(performance.now() - started).toBeGreaterThanOrEqual(290);
  });

  it('times out a body that stops half-way', async () => {
    handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"partial":');
    };
    const error = await failure(
      client({ timeoutMs: 150, retries: 0 }).request({ method: 'GET', path: '/x' }),
    );
    expect(error.code).toBe('timeout');
  });

  it('with a fetch of its own, times out the whole attempt, body included', async () => {
    handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"partial":');
    };
    const started = performance.now();
    const error = await failure(
      client({ timeoutMs: 150, retries: 0, fetch: (input, init) => fetch(input, init) }).request({
        method: 'GET',
        path: '/x',
      }),
    );
    expect(error.code).toBe('timeout');
    expect(performance.now() - started).toBeLessThan(900);
  });

  it('times out through a globalThis.fetch wrapped as instrumentation does', async () => {
    handler = () => {}; // never answers
    const original = globalThis.fetch;
    let calls = 0;
    // APM and OpenTelemetry wrappers add their headers and pass on the standard init fields only.
    globalThis.fetch = (input, init) => {
      calls++;
      const headers = new Headers(init?.headers);
      headers.set('traceparent', '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01');
      const traced: RequestInit = { method: init?.method ?? 'GET', headers };
      if (init?.body != null) traced.body = init.body;
      if (init?.signal) traced.signal = init.signal;
      return original(input, traced);
    };
    const started = performance.now();
    try {
      const error = await failure(
        client({ timeoutMs: 200, retries: 0 }).request({ method: 'GET', path: '/hang' }),
      );
      expect(error).toMatchObject({ code: 'timeout', retryable: true });
    } finally {
      globalThis.fetch = original;
    }
    expect(calls).toBe(1);
    expect(received[0]!.headers.traceparent).toMatch(/^00-/);
    expect(performance.now() - started).toBeLessThan(2_000);
  }, 5_000);

  it('times out a body that keeps trickling past the whole-attempt budget', async () => {
    handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('[');
      const timer = setInterval(() => res.write('0,'), 50);
      res.on('close', () => clearInterval(timer));
    };
    const started = performance.now();
    const error = await failure(
      client({ timeoutMs: 200, retries: 0 }).request({ method: 'GET', path: '/trickle' }),
    );
    expect(error).toMatchObject({ code: 'timeout', retryable: true });
    expect(performance.now() - started).toBeLessThan(1_000);
  }, 5_000);

  it('rejects with the caller’s abort reason while a request hangs, without retrying', async () => {
    handler = () => {}; // never answers
    const controller = new AbortController();
    const pending = client({ timeoutMs: 5_000 }).request({
      method: 'GET',
      path: '/hang',
      signal: controller.signal,
    });
    setTimeout(() => controller.abort(new Error('shutting down')), 50);
    const error = await pending.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    expect(error).not.toBeInstanceOf(ProviderError);
    expect((error as Error).message).toBe('shutting down');
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(received).toHaveLength(1);
  });

  it('rejects with the caller’s abort reason while the body is read', async () => {
    handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"partial":');
    };
    const controller = new AbortController();
    const pending = client({ timeoutMs: 5_000 }).request({
      method: 'GET',
      path: '/stall',
      signal: controller.signal,
    });
    setTimeout(() => controller.abort(new Error('shutting down')), 100);
    await expect(pending).rejects.toThrow('shutting down');
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(received).toHaveLength(1);
  });

  it('awaits beforeAttempt before every attempt, retries included', async () => {
    handler = (_req, res, index) => (index === 0 ? send(res, 503, '{}') : send(res, 200, '{"ok":true}'));
    const log: string[] = [];
    const http = client({
      fetch: (input, init) => {
        log.push('fetch');
        return fetch(input, init);
      },
    });
    const result = await http.request({
      method: 'GET',
      path: '/x',
      beforeAttempt: async () => {
        await new Promise((resolve) => setTimeout(resolve, 5));
        log.push('before');
      },
    });
    expect(result.data).toEqual({ ok: true });
    expect(log).toEqual(['before', 'fetch', 'before', 'fetch']);
  });

  it('maps a refused connection to a retryable network_error', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const calls: LogCall[] = [];
    const http = client({ baseUrl: `http://127.0.0.1:${port}`, retries: 2, logger: recordingLogger(calls) });
    const error = await failure(http.request({ method: 'GET', path: '/x' }));
    expect(error).toMatchObject({ code: 'network_error', retryable: true });
    expect(error.message).toContain('ECONNREFUSED');
    expect(calls.filter((c) => c.level === 'debug')).toHaveLength(3);
    expect(calls.filter((c) => c.level === 'debug')[0]!.obj).toMatchObject({ error: 'network_error' });
  });

  it('does not retry a POST after a network error unless it is retrySafe', async () => {
    const calls: LogCall[] = [];
    const http = client({ baseUrl: 'http://127.0.0.1:1', logger: recordingLogger(calls) });
    await failure(http.request({ method: 'POST', path: '/x', json: {} }));
    expect(calls.filter((c) => c.level === 'debug')).toHaveLength(1);
  });

  it('rejects with the caller’s abort reason and stops retrying', async () => {
    handler = (_req, res) => send(res, 503, '{}');
    const controller = new AbortController();
    const http = client({ minRetryDelayMs: 1_000, maxRetryDelayMs: 1_000 });
    const pending = http.request({ method: 'GET', path: '/x', signal: controller.signal });
    setTimeout(() => controller.abort(new Error('shutting down')), 100);
    await expect(pending).rejects.toThrow('shutting down');
    expect(received).toHaveLength(1);
  });

  it('reports invalid JSON in a 2xx answer', async () => {
    handler = (_req, res) => send(res, 200, '{"id":');
    const error = await failure(client().request({ method: 'GET', path: '/x' }));
    expect(error).toMatchObject({ code: 'invalid_response', httpStatus: 200, retryable: false });
  });

  it('refuses an absolute URL on another origin and a request with json and form', async () => {
    const http = client({ headers: { authorization: 'Bearer t' } });
    await expect(http.request({ method: 'GET', path: 'https://example.com/steal' })).rejects.toMatchObject({
      code: 'http_request_invalid',
    });
    await expect(http.request({ method: 'POST', path: '/x', json: {}, form: {} })).rejects.toMatchObject({
      code: 'http_request_invalid',
    });
    handler = (_req, res) => send(res, 200, '{"page":2}');
    const next = await http.request({ method: 'GET', path: `${baseUrl}/next?after=abc` });
    expect(next.data).toEqual({ page: 2 });
    expect(received).toHaveLength(1);
  });
});

describe('createHttpClient: logging', () => {
  it('never logs secrets from headers, query or body, nor puts them in errors', async () => {
    const secrets = [
      'EAAGm0PX4ZCpsBAKSecretToken',
      'proof-5e8ff9bf55ba3508199d22e984129be6',
      'gupshup-key-0123456789abcdef',
      'bearer-cloud-token-xyz',
      'form-password-value',
      'graph-key-param',
    ];
    handler = (_req, res, i) => {
      if (i === 0) send(res, 503, `{"echo":"${secrets[0]}"}`, { 'retry-after': '0' });
      else send(res, 400, `{"error":{"code":190,"message":"bad"},"token":"${secrets[0]}"}`);
    };
    const calls: LogCall[] = [];
    const http = client({
      headers: { apikey: secrets[2]!, authorization: `Bearer ${secrets[3]}` },
      logger: recordingLogger(calls),
    });
    const error = await failure(
      http.request({
        method: 'PUT',
        path: '/v21.0/123/subscribed_apps',
        searchParams: {
          access_token: secrets[0],
          appsecret_proof: secrets[1],
          key: secrets[5],
          subscribed_fields: 'leadgen',
        },
        form: { password: secrets[4] },
        headers: { 'x-api-key': secrets[2] },
      }),
    );
    expect(received).toHaveLength(2);
    expect(calls.filter((c) => c.level === 'debug')).toHaveLength(2);
    expect(calls.filter((c) => c.level === 'warn')).toHaveLength(1);
    const logged = JSON.stringify(calls);
    const thrown = JSON.stringify({ message: error.message, json: error.toJSON(), details: error.details });
    for (const secret of secrets) {
      expect(logged).not.toContain(secret);
      expect(thrown).not.toContain(secret);
    }
    expect(calls[0]!.obj).toMatchObject({
      provider: 'test_provider',
      method: 'PUT',
      status: 503,
      attempt: 1,
      url: expect.stringContaining('access_token=[redacted]'),
    });
    expect((calls[0]!.obj as { url: string }).url).toContain('subscribed_fields=leadgen');
  });
});
