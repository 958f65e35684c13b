import { AsyncLocalStorage } from 'node:async_hooks';
import {
  type ClassifyError,
  createHttpClient,
  type HttpRequest,
  type HttpResponse,
  type HttpTransportOptions,
} from '@leadrelay/core';

/** Transport settings shared by the providers: core's, and whether ambiguous failures are retried. */
export interface ProviderHttpOptions extends HttpTransportOptions {
  /**
   * Retry sends after network errors, timeouts and 5xx (default `true`, as
   * the providers ask). Neither provider deduplicates sends, so a failure
   * that happened after the provider accepted can deliver a message twice;
   * `false` retries only 429s, which the provider never processed.
   */
  retryAmbiguousFailures?: boolean;
}

/** A provider's HTTP client: core's client, with a hook awaited before every attempt (retries included). */
export interface ProviderHttpClient {
  request<T>(request: HttpRequest, beforeAttempt?: () => Promise<void>): Promise<HttpResponse<T>>;
}

/**
 * Core's HTTP client configured from a provider's options. The hook runs
 * before the first attempt and right before each retry reaches `fetch`, so a
 * rate limiter behind it spaces what goes on the wire, retries included.
 */
export function providerHttpClient(
  options: ProviderHttpOptions,
  wire: { baseUrl: string; provider: string; classifyError: ClassifyError },
): ProviderHttpClient {
  const hook = new AsyncLocalStorage<() => Promise<void>>();
  const baseFetch = options.fetch;
  const http = createHttpClient({
    ...wire,
    ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
    ...(options.retries !== undefined ? { retries: options.retries } : {}),
    ...(options.minRetryDelayMs !== undefined ? { minRetryDelayMs: options.minRetryDelayMs } : {}),
    ...(options.maxRetryDelayMs !== undefined ? { maxRetryDelayMs: options.maxRetryDelayMs } : {}),
    ...(options.maxRetryAfterMs !== undefined ? { maxRetryAfterMs: options.maxRetryAfterMs } : {}),
    ...(options.logger ? { logger: options.logger } : {}),
    fetch: (input, init) => {
      // Read at call time, so a test interceptor installed later still sees the request.
      const send = baseFetch ?? globalThis.fetch;
      const before = hook.getStore();
      return before ? before().then(() => send(input, init)) : send(input, init);
    },
  });
  const limited = async <T>(request: HttpRequest, beforeAttempt: () => Promise<void>) => {
    // The first wait happens before the attempt's timeout starts; retries wait inside theirs.
    await beforeAttempt();
    let attempts = 0;
    const onAttempt = async () => {
      if (attempts++ > 0) await beforeAttempt();
    };
    return hook.run(onAttempt, () => http.request<T>(request));
  };
  return {
    // Without a hook the client's own promise is handed back as is: no extra async frame per send.
    request: (request, beforeAttempt) =>
      beforeAttempt ? limited(request, beforeAttempt) : http.request(request),
  };
}
