import { type HttpHandler, HttpResponse, http } from 'msw';
import { parseGupshupSendForm } from './gupshup-send-form.js';
import { type MockFailure, providerFailureResponse } from './provider-failure-response.js';
import { headersOf } from './send-emulator.js';

export type { MockFailure } from './provider-failure-response.js';

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

function createMock(
  provider: RecordedSend['provider'],
  options: ProviderMockOptions,
  build: (record: (send: RecordedSend) => Promise<Response>) => HttpHandler[],
): ProviderMock {
  const sends: RecordedSend[] = [];
  let allow = windowLimiter(options.rateLimit);
  let rateLimited = 0;
  const retryAfter = options.retryAfterSeconds ?? 1;
  const answer = async (send: RecordedSend): Promise<Response> => {
    const index = sends.length;
    sends.push(send);
    if (!allow(send.at)) {
      rateLimited++;
      return providerFailureResponse(provider, 'rate_limited', retryAfter);
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
    return providerFailureResponse(provider, outcome, retryAfter);
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
        const body = parseGupshupSendForm(await request.text());
        return answer({
          provider: 'gupshup',
          path,
          at: performance.now(),
          headers: headersOf(request),
          body,
          to: typeof body.destination === 'string' ? body.destination : '',
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
