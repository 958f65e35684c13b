import { type HttpHandler, HttpResponse, http } from 'msw';

/** One send the mock received, as the provider would read it. */
export interface RecordedSend {
  provider: 'gupshup' | 'cloud_api';
  path: string;
  /** `performance.now()` on arrival. */
  at: number;
  headers: Record<string, string>;
  /** Gupshup: the form fields (`message` and `template` parsed from JSON). Cloud API: the JSON body. */
  body: Record<string, unknown>;
  /** The recipient, digits. */
  to: string;
}

/** A failure the mock can answer with, in the provider's own format. */
export type MockFailure =
  | 'rate_limited'
  | 'unavailable'
  | 'unauthorized'
  | 'rejected'
  | 'window_closed'
  | 'template_paused'
  | 'template_not_found'
  | 'template_parameter_mismatch'
  | 'undeliverable'
  | 'marketing_opted_out'
  | 'pair_rate_limited'
  | 'account_restricted';

export type MockOutcome =
  | 'accept'
  | MockFailure
  | { status: number; body: unknown; headers?: Record<string, string> };

export interface ProviderMockOptions {
  /** The provider's base URL the client uses. Defaults to the public one. */
  baseUrl?: string;
  /** What to answer: one outcome for every send, or per send (0-based index). Default `accept`. */
  outcome?: MockOutcome | ((send: RecordedSend, index: number) => MockOutcome);
  /** Sends per second accepted before answering 429 (sliding 1 s window); unlimited when omitted. */
  rateLimit?: number;
  /** `Retry-After` seconds on a 429. Default 1. */
  retryAfterSeconds?: number;
}

export interface ProviderMock {
  handlers: HttpHandler[];
  /** Every send received, accepted or not, in arrival order. */
  sends: RecordedSend[];
  /** How many sends were answered 429 for exceeding `rateLimit`. */
  readonly rateLimited: number;
  reset(): void;
}

function windowLimiter(limit: number | undefined) {
  const arrivals: number[] = [];
  return (at: number): boolean => {
    if (limit === undefined) return true;
    while (arrivals.length > 0 && arrivals[0]! <= at - 1000) arrivals.shift();
    if (arrivals.length >= limit) return false;
    arrivals.push(at);
    return true;
  };
}

const GUPSHUP_FAILURES: Record<MockFailure, { status: number; message: string }> = {
  rate_limited: { status: 429, message: 'Too Many Requests' },
  unavailable: { status: 503, message: 'Service Unavailable' },
  unauthorized: { status: 401, message: 'Authentication Failed' },
  rejected: { status: 400, message: 'Invalid Destination' },
  window_closed: { status: 400, message: 'Session window closed' },
  template_paused: { status: 400, message: 'Template is paused' },
  template_not_found: { status: 400, message: 'Template Not Found' },
  template_parameter_mismatch: { status: 400, message: 'Template params mismatch' },
  undeliverable: { status: 400, message: 'Invalid Destination' },
  marketing_opted_out: { status: 400, message: 'User has opted out' },
  pair_rate_limited: { status: 429, message: 'Too Many Requests' },
  account_restricted: { status: 403, message: 'Account restricted' },
};

const CLOUD_FAILURES: Record<MockFailure, { status: number; code: number; message: string }> = {
  rate_limited: { status: 429, code: 130429, message: '(#130429) Rate limit hit' },
  unavailable: { status: 503, code: 131016, message: '(#131016) Service unavailable' },
  unauthorized: { status: 401, code: 190, message: 'Error validating access token' },
  rejected: { status: 400, code: 100, message: '(#100) Invalid parameter' },
  window_closed: { status: 400, code: 131047, message: 'Re-engagement message' },
  template_paused: { status: 400, code: 132015, message: 'Template is paused' },
  template_not_found: {
    status: 404,
    code: 132001,
    message: 'Template name does not exist in the translation',
  },
  template_parameter_mismatch: { status: 400, code: 132000, message: 'Number of parameters does not match' },
  undeliverable: { status: 400, code: 131026, message: 'Message undeliverable' },
  marketing_opted_out: { status: 400, code: 131050, message: 'User stopped marketing messages' },
  pair_rate_limited: { status: 400, code: 131056, message: '(#131056) Pair rate limit hit' },
  account_restricted: { status: 403, code: 368, message: 'Temporarily blocked for policies violations' },
};

function headersOf(request: Request): Record<string, string> {
  const out: Record<string, string> = {};
  request.headers.forEach((value, name) => {
    out[name] = value;
  });
  return out;
}

function parseJsonField(value: string | null): unknown {
  if (value === null) return undefined;
  try {
    return JSON.parse(value);
  } catch {
    return value;
  }
}

function createMock(
  provider: RecordedSend['provider'],
  options: ProviderMockOptions,
  build: (record: (send: RecordedSend) => Promise<Response>) => HttpHandler[],
): ProviderMock {
  const sends: RecordedSend[] = [];
  let allow = windowLimiter(options.rateLimit);
  let rateLimited = 0;
  const retryAfter = String(options.retryAfterSeconds ?? 1);
  const answer = async (send: RecordedSend): Promise<Response> => {
    const index = sends.length;
    sends.push(send);
    if (!allow(send.at)) {
      rateLimited++;
      return failureResponse(provider, 'rate_limited', retryAfter);
    }
    const outcome =
      typeof options.outcome === 'function' ? options.outcome(send, index) : (options.outcome ?? 'accept');
    if (outcome === 'accept') return acceptResponse(provider, index);
    if (typeof outcome === 'object') {
      return HttpResponse.json(outcome.body as Record<string, unknown>, {
        status: outcome.status,
        ...(outcome.headers ? { headers: outcome.headers } : {}),
      });
    }
    return failureResponse(provider, outcome, retryAfter);
  };
  return {
    handlers: build(answer),
    sends,
    get rateLimited() {
      return rateLimited;
    },
    reset() {
      sends.length = 0;
      rateLimited = 0;
      allow = windowLimiter(options.rateLimit);
    },
  };
}

function acceptResponse(provider: RecordedSend['provider'], index: number): Response {
  const suffix = String(index).padStart(12, '0');
  if (provider === 'gupshup') {
    return HttpResponse.json(
      { status: 'submitted', messageId: `ee4a68a0-1203-4c85-8dc3-${suffix}` },
      { status: 202 },
    );
  }
  return HttpResponse.json({
    messaging_product: 'whatsapp',
    contacts: [{ input: '', wa_id: '' }],
    messages: [{ id: `wamid.MOCK${suffix}` }],
  });
}

function failureResponse(
  provider: RecordedSend['provider'],
  failure: MockFailure,
  retryAfter: string,
): Response {
  const headers =
    failure === 'rate_limited' || failure === 'pair_rate_limited' ? { 'retry-after': retryAfter } : undefined;
  if (provider === 'gupshup') {
    const { status, message } = GUPSHUP_FAILURES[failure];
    return HttpResponse.json({ status: 'error', message }, { status, ...(headers ? { headers } : {}) });
  }
  const { status, code, message } = CLOUD_FAILURES[failure];
  return HttpResponse.json(
    { error: { message, type: 'OAuthException', code, fbtrace_id: 'AMockTrace' } },
    { status, ...(headers ? { headers } : {}) },
  );
}

/**
 * msw handlers speaking Gupshup's send API (`/wa/api/v1/msg` and
 * `/wa/api/v1/template/msg`, form-encoded): they record each send and answer
 * 202 `{"status":"submitted","messageId":…}` or the chosen failure.
 *
 * @example
 * const gupshup = gupshupHandlers({ outcome: 'accept', rateLimit: 80 });
 * const server = setupServer(...gupshup.handlers);
 * server.listen({ onUnhandledFrame: 'error' });
 */
export function gupshupHandlers(options: ProviderMockOptions = {}): ProviderMock {
  const base = (options.baseUrl ?? 'https://api.gupshup.io').replace(/\/+$/, '');
  return createMock('gupshup', options, (answer) =>
    ['/wa/api/v1/msg', '/wa/api/v1/template/msg'].map((path) =>
      http.post(`${base}${path}`, async ({ request }) => {
        const form = new URLSearchParams(await request.text());
        const body: Record<string, unknown> = Object.fromEntries(form.entries());
        if (form.has('message')) body.message = parseJsonField(form.get('message'));
        if (form.has('template')) body.template = parseJsonField(form.get('template'));
        return answer({
          provider: 'gupshup',
          path,
          at: performance.now(),
          headers: headersOf(request),
          body,
          to: form.get('destination') ?? '',
        });
      }),
    ),
  );
}

/**
 * msw handlers speaking Meta's Cloud API send endpoint
 * (`POST /{version}/{phone-number-id}/messages`, JSON, bearer token): they
 * record each send and answer with a `wamid` or the chosen failure, as a
 * Graph error with Meta's code (130429, 131047, 132015…).
 *
 * @example
 * const cloud = cloudApiHandlers({ outcome: (send, i) => (i === 0 ? 'rate_limited' : 'accept') });
 */
export function cloudApiHandlers(options: ProviderMockOptions = {}): ProviderMock {
  const base = (options.baseUrl ?? 'https://graph.facebook.com').replace(/\/+$/, '');
  return createMock('cloud_api', options, (answer) => [
    http.post(`${base}/:version/:phoneNumberId/messages`, async ({ request }) => {
      const body = (await request.json()) as Record<string, unknown>;
      return answer({
        provider: 'cloud_api',
        path: new URL(request.url).pathname,
        at: performance.now(),
        headers: headersOf(request),
        body,
        to: typeof body.to === 'string' ? body.to : '',
      });
    }),
  ]);
}
