import pRetry from 'p-retry';
import { isLeadRelayError, LeadRelayError, ProviderError } from '../errors/errors.js';
import { type Logger, noopLogger } from '../observability/logger.js';
import { backoffDelay } from './backoff-delay.js';
import { redactUrl } from './redact-url.js';
import { parseRetryAfter } from './retry-after.js';

export type HttpMethod = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'OPTIONS';

type ParamValue = string | number | boolean | null | undefined;

export interface HttpRequest {
  method: HttpMethod;
  /** Appended to `baseUrl` (`/v21.0/123/leads`); an absolute URL is accepted on the same origin only. */
  path: string;
  /** Query parameters; `undefined` and `null` values are left out, arrays repeat the name. */
  searchParams?: URLSearchParams | Record<string, ParamValue | readonly ParamValue[]>;
  /** Sent as `application/json`. */
  json?: unknown;
  /** Sent as `application/x-www-form-urlencoded`; `undefined` and `null` values are left out. */
  form?: URLSearchParams | Record<string, ParamValue>;
  /** Merged over the client's headers; an `undefined` value removes a client header. */
  headers?: Record<string, string | undefined>;
  /**
   * A POST (or PATCH) that may be repeated without a double effect (the
   * provider deduplicates it, or it only reads). Without it such a request is
   * retried only after a 429, which means the provider did not process it.
   */
  retrySafe?: boolean;
  /** Overrides the client's `retries` for this request (0 for a caller that reschedules by itself). */
  retries?: number;
  /**
   * Cancels the request and any wait before a retry; the promise rejects with
   * the signal's reason and the request is not retried.
   */
  signal?: AbortSignal;
  /**
   * Awaited before every attempt, retries included, outside the attempt's
   * timeout: a rate limiter here spaces what goes on the wire.
   */
  beforeAttempt?: () => Promise<void>;
}

export interface HttpResponse<T> {
  status: number;
  headers: Headers;
  /** The parsed body for a JSON response, the text otherwise; `undefined` when the body is empty. */
  data: T;
}

/**
 * Turns a non-2xx answer into the error the caller sees. Returning
 * `undefined` falls back to the default `ProviderError`. The error's
 * `retryable` flag decides whether the client retries (within the method rules).
 */
export type ClassifyError = (response: Response, body: unknown) => LeadRelayError | undefined;

/**
 * How requests go out and are retried: the settings a package's own client
 * options (Graph, Gupshup, Cloud API) take over unchanged.
 */
export interface HttpTransportOptions {
  /**
   * Per attempt: `AbortSignal.timeout(timeoutMs)`, joined with the request's
   * `signal`, aborts the whole attempt (connecting, the headers and reading
   * the body) on every `fetch` and runtime. A timeout is a retryable
   * `ProviderError` with code `timeout`. Default 10 000.
   */
  timeoutMs?: number;
  /** Retries after the first attempt. Default 3. */
  retries?: number;
  /** Default 200. */
  minRetryDelayMs?: number;
  /** Upper bound of the exponential backoff. Default 10 000. */
  maxRetryDelayMs?: number;
  /**
   * A `Retry-After` up to this long is waited out before retrying; a longer
   * one is not waited for: the error is thrown at once with `retryAfterMs`
   * so a queue can reschedule the work. Default 60 000.
   */
  maxRetryAfterMs?: number;
  /**
   * A `fetch` of your own (a proxy, another runtime). Without it each
   * request goes through `globalThis.fetch`, read when the request is made
   * (so an interceptor installed later, such as msw in tests, sees it),
   * over the process's global undici dispatcher (its pool and any proxy).
   */
  fetch?: typeof globalThis.fetch;
  logger?: Logger;
}

export interface HttpClientOptions extends HttpTransportOptions {
  /** e.g. `https://graph.facebook.com`; a sandbox, proxy or local test server works the same. */
  baseUrl: string;
  /** Name carried by every error and log line, e.g. `meta_graph`, `gupshup`. */
  provider: string;
  /** Sent with every request (credentials belong here; they are never logged). */
  headers?: Record<string, string>;
  classifyError?: ClassifyError;
}

export interface HttpClient {
  readonly provider: string;
  request<T = unknown>(request: HttpRequest): Promise<HttpResponse<T>>;
}

const IDEMPOTENT = new Set<HttpMethod>(['GET', 'HEAD', 'PUT', 'DELETE', 'OPTIONS']);
const MESSAGE_LIMIT = 200;

/** What the retry decision needs to know about a failed attempt besides the error itself. */
interface AttemptFailure {
  httpStatus?: number;
  retryAfterMs?: number;
  /** The provider provably did not act on the request (no connection, a rate limit), so any method may repeat it. */
  notProcessed?: boolean;
}

/** Failures that happen before a connection exists: nothing reached the server. */
const NOT_CONNECTED = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

/**
 * An HTTP client for one provider on the Web `fetch` (Node's undici, or the
 * `fetch` option); p-retry is the one retry layer. Requests are built once
 * per call and each attempt is a single `fetch(url, init)`, so the client
 * adds little to a provider round trip (see the waba send-path benchmark).
 * Idempotent methods are retried on network errors, timeouts, 408, 429, 5xx
 * and errors the classifier marks retryable; POST and PATCH only when
 * `retrySafe` or after a 429. Waits use exponential backoff with full
 * jitter, or the provider's `Retry-After`.
 * Each attempt logs one debug line and each retry one warning, with secret
 * query parameters redacted and without headers or bodies.
 *
 * @example
 * const graph = createHttpClient({ baseUrl: 'https://graph.facebook.com', provider: 'meta_graph' });
 * const { data } = await graph.request<{ id: string }>({
 *   method: 'GET',
 *   path: `/v21.0/${leadgenId}`,
 *   searchParams: { access_token: token, appsecret_proof: proof },
 * });
 */
export function createHttpClient(options: HttpClientOptions): HttpClient {
  const provider = options.provider;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const defaultRetries = options.retries ?? 3;
  const minRetryDelayMs = options.minRetryDelayMs ?? 200;
  const maxRetryDelayMs = options.maxRetryDelayMs ?? 10_000;
  const maxRetryAfterMs = options.maxRetryAfterMs ?? 60_000;
  const logger = options.logger ?? noopLogger;
  const base = new URL(options.baseUrl);

  // Header names are case-insensitive: kept lower-case so a request's header replaces the client's.
  const clientHeaders: Record<string, string> = {};
  for (const [name, value] of Object.entries(options.headers ?? {}))
    clientHeaders[name.toLowerCase()] = value;

  const send = <T>(request: HttpRequest): Promise<HttpResponse<T>> => {
    const method = request.method.toUpperCase() as HttpMethod;
    const { href, pathname } = buildUrl(base, request.path, request.searchParams);
    const where = `${method} ${pathname}`;
    if (request.json !== undefined && request.form !== undefined) {
      throw new LeadRelayError('A request takes either json or form, not both', {
        code: 'http_request_invalid',
      });
    }
    const headers: Record<string, string> = { ...clientHeaders };
    let payload: string | undefined;
    if (request.json !== undefined) {
      payload = JSON.stringify(request.json);
      headers['content-type'] = 'application/json';
    } else if (request.form !== undefined) {
      payload = toParams(request.form).toString();
      headers['content-type'] = 'application/x-www-form-urlencoded;charset=UTF-8';
    }
    const extra = request.headers;
    for (const name in extra) {
      const value = extra[name];
      if (value === undefined) delete headers[name.toLowerCase()];
      else headers[name.toLowerCase()] = value;
    }
    // Attempts run one after another: the failure retryAfter looks at is the last one recorded.
    let lastFailure: { error: unknown; info: AttemptFailure } | null = null;
    let logUrl: string | undefined;
    // With the default logger nothing is written: skip building the lines (a send's hot path).
    const logging = logger !== noopLogger;
    const logLine = (attemptNumber: number) => {
      logUrl ??= redactUrl(href);
      return { provider, method, url: logUrl, attempt: attemptNumber };
    };

    const attempt = async (attemptNumber: number): Promise<HttpResponse<T>> => {
      if (request.beforeAttempt) await request.beforeAttempt();
      const started = logging ? performance.now() : 0;
      // A signal travels with the request through any fetch wrapper (instrumentation, a proxy),
      // and the body is read under it too, so the budget covers the whole attempt.
      const timeout = AbortSignal.timeout(timeoutMs);
      const signal = request.signal ? AbortSignal.any([request.signal, timeout]) : timeout;
      let response: Response;
      let text: string;
      try {
        response = await (options.fetch ?? globalThis.fetch)(href, {
          method,
          headers,
          body: payload,
          signal,
        });
        text = await response.text();
      } catch (error) {
        if (request.signal?.aborted) throw request.signal.reason;
        const failure = transportError(error, {
          provider,
          where,
          timedOut: timeout.aborted || isConnectionTimeout(error),
          timeoutMs,
        });
        if (logging) {
          const durationMs = Math.round(performance.now() - started);
          logger.debug({ ...logLine(attemptNumber), error: failure.code, durationMs }, 'http attempt failed');
        }
        lastFailure = {
          error: failure,
          info: failure.details?.notProcessed === true ? { notProcessed: true } : {},
        };
        throw failure;
      }
      if (logging) {
        const durationMs = Math.round(performance.now() - started);
        logger.debug({ ...logLine(attemptNumber), status: response.status, durationMs }, 'http attempt');
      }
      const body = readBody(text, response.headers.get('content-type'));
      if (response.ok) {
        if (body.invalidJson) {
          throw new ProviderError(`${provider} answered ${where} with invalid JSON`, {
            provider,
            code: 'invalid_response',
            httpStatus: response.status,
          });
        }
        return { status: response.status, headers: response.headers, data: body.value as T };
      }
      const retryAfterMs = parseRetryAfter(response.headers.get('retry-after'));
      const error =
        options.classifyError?.(response, body.value) ??
        defaultError({ provider, where, response, body: body.value, retryAfterMs });
      lastFailure = {
        error,
        info: {
          httpStatus: response.status,
          ...(isLeadRelayError(error) && error.details?.notProcessed === true ? { notProcessed: true } : {}),
          ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
        },
      };
      throw error;
    };

    // Whether a failed attempt is retried; the wait happens here, where it can follow Retry-After.
    const retryAfter = async (error: unknown, attemptNumber: number): Promise<boolean> => {
      const last: { error: unknown; info: AttemptFailure } | null = lastFailure;
      const failure = last !== null && last.error === error ? last.info : undefined;
      if (!failure || !isLeadRelayError(error) || !error.retryable) return false;
      const repeatable =
        IDEMPOTENT.has(method) ||
        request.retrySafe === true ||
        failure.httpStatus === 429 ||
        failure.notProcessed === true;
      if (!repeatable) return false;
      if (failure.retryAfterMs !== undefined && failure.retryAfterMs > maxRetryAfterMs) return false;
      const delayMs =
        failure.retryAfterMs ??
        backoffDelay({ attempt: attemptNumber, minMs: minRetryDelayMs, maxMs: maxRetryDelayMs });
      logger.warn(
        {
          ...logLine(attemptNumber),
          ...(failure.httpStatus !== undefined ? { status: failure.httpStatus } : {}),
          error: error.code,
          delayMs,
        },
        'http retry',
      );
      await sleep(delayMs, request.signal);
      return true;
    };
    const retries = request.retries ?? defaultRetries;
    // Most requests succeed at once: the first attempt runs on its own and p-retry runs the
    // retries after a failure (its loop would add an async frame and option checks to every request).
    return attempt(1).catch(async (error: unknown) => {
      if (retries < 1 || !(await retryAfter(error, 1))) throw error;
      return pRetry((attemptNumber) => attempt(attemptNumber + 1), {
        retries: retries - 1,
        minTimeout: 0,
        ...(request.signal ? { signal: request.signal } : {}),
        shouldRetry: ({ error: next, attemptNumber }) => retryAfter(next, attemptNumber + 1),
      });
    });
  };

  return {
    provider,
    // Not an async function: the attempt's promise is handed back as is (no extra async frame per
    // request); a request refused before any attempt still rejects instead of throwing.
    request<T>(request: HttpRequest): Promise<HttpResponse<T>> {
      try {
        return send<T>(request);
      } catch (error) {
        return Promise.reject(error);
      }
    },
  };
}

function buildUrl(base: URL, path: string, searchParams: HttpRequest['searchParams']): URL {
  let url: URL;
  if (/^[a-z][a-z0-9+.-]*:/i.test(path)) {
    url = new URL(path);
    // Credentials in the client's headers must not travel to another host.
    if (url.origin !== base.origin) {
      throw new LeadRelayError(`Absolute URL outside ${base.origin}`, { code: 'http_request_invalid' });
    }
  } else if (base.search === '' && !/[?#]/.test(path)) {
    // One parse of the joined string: cheaper than copying the base and setting its pathname.
    url = new URL(`${base.origin}${base.pathname.replace(/\/+$/, '')}/${path.replace(/^\/+/, '')}`);
  } else {
    url = new URL(base);
    const prefix = url.pathname.replace(/\/+$/, '');
    url.pathname = `${prefix}/${path.replace(/^\/+/, '')}`;
  }
  if (searchParams) {
    const entries =
      searchParams instanceof URLSearchParams ? [...searchParams.entries()] : Object.entries(searchParams);
    for (const [name, value] of entries) {
      for (const item of Array.isArray(value) ? value : [value]) {
        if (item !== undefined && item !== null) url.searchParams.append(name, String(item));
      }
    }
  }
  return url;
}

function toParams(form: NonNullable<HttpRequest['form']>): URLSearchParams {
  if (form instanceof URLSearchParams) return form;
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(form)) {
    if (value !== undefined && value !== null) params.append(name, String(value));
  }
  return params;
}

function isJsonType(contentType: string): boolean {
  return /^application\/([\w.-]+\+)?json\b/i.test(contentType.trim());
}

function readBody(text: string, contentType: string | null): { value: unknown; invalidJson: boolean } {
  if (text === '') return { value: undefined, invalidJson: false };
  if (contentType && isJsonType(contentType)) {
    try {
      return { value: JSON.parse(text), invalidJson: false };
    } catch {
      return { value: text, invalidJson: true };
    }
  }
  return { value: text, invalidJson: false };
}

function transportError(
  error: unknown,
  context: { provider: string; where: string; timedOut: boolean; timeoutMs: number },
): ProviderError {
  const { provider, where } = context;
  if (context.timedOut) {
    return new ProviderError(`${provider} did not answer ${where} within ${context.timeoutMs} ms`, {
      provider,
      code: 'timeout',
      status: 504,
      retryable: true,
    });
  }
  // Only the failure's errno travels in the message: the URL (secrets included) stays out of it.
  if (isRawFetchFailure(error)) {
    const reason = errnoCode(error);
    return new ProviderError(`${provider} could not be reached for ${where}${reason ? ` (${reason})` : ''}`, {
      provider,
      code: 'network_error',
      retryable: true,
      cause: error,
      ...(reason !== undefined && NOT_CONNECTED.has(reason) ? { details: { notProcessed: true } } : {}),
    });
  }
  return new ProviderError(`${provider} request ${where} failed`, {
    provider,
    code: 'request_failed',
    cause: error,
  });
}

// undici's own limits (connecting, or a fetch wrapper that drops the signal) are timeouts too.
const CONNECTION_TIMEOUTS = new Set([
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_CONNECT_TIMEOUT',
]);

function isConnectionTimeout(error: unknown): boolean {
  const code = errnoCode(error);
  return code !== undefined && CONNECTION_TIMEOUTS.has(code);
}

function isRawFetchFailure(error: unknown): boolean {
  return error instanceof TypeError && (error.message === 'fetch failed' || error.message === 'terminated');
}

function errnoCode(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 4 && current && typeof current === 'object'; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

function defaultError(context: {
  provider: string;
  where: string;
  response: Response;
  body: unknown;
  retryAfterMs: number | undefined;
}): ProviderError {
  const { provider, where, response, body, retryAfterMs } = context;
  const status = response.status;
  const providerMessage = messageOf(body);
  const providerCode = codeOf(body);
  return new ProviderError(
    `${provider} answered ${status} to ${where}${providerMessage ? `: ${providerMessage}` : ''}`,
    {
      provider,
      httpStatus: status,
      retryable: status === 408 || status === 429 || status >= 500,
      ...(providerCode !== undefined ? { providerCode } : {}),
      ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
    },
  );
}

/** The provider's error code in the common shapes: `{error:{code}}` (Graph, Cloud API) or `{code}`. */
function codeOf(body: unknown): string | number | undefined {
  if (!body || typeof body !== 'object') return undefined;
  const record = body as Record<string, unknown>;
  const nested = record.error;
  const candidates = [
    nested && typeof nested === 'object' ? (nested as Record<string, unknown>).code : undefined,
    record.code,
  ];
  return candidates.find((c): c is string | number => typeof c === 'string' || typeof c === 'number');
}

function messageOf(body: unknown): string | undefined {
  let message: unknown;
  if (body && typeof body === 'object') {
    const record = body as Record<string, unknown>;
    const nested = record.error;
    message =
      nested && typeof nested === 'object'
        ? (nested as Record<string, unknown>).message
        : typeof nested === 'string'
          ? nested
          : record.message;
  }
  if (typeof message !== 'string' || message === '') return undefined;
  return message.length > MESSAGE_LIMIT ? `${message.slice(0, MESSAGE_LIMIT)}…` : message;
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
