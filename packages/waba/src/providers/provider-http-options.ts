import {
  type ClassifyError,
  createHttpClient,
  type HttpClient,
  type HttpTransportOptions,
} from '@leadrelay/core';

/** Transport settings shared by the providers: core's, and whether ambiguous failures are retried. */
export interface ProviderHttpOptions extends HttpTransportOptions {
  /**
   * Also retry sends after timeouts, dropped connections and 5xx (default
   * `false`). Neither provider deduplicates sends, so such a failure may hide
   * an accepted message and a retry can deliver it twice. By default a send
   * is retried only when it provably did not reach the provider: a 429, or
   * a connection that was never made (refused, DNS, unreachable).
   */
  retryAmbiguousFailures?: boolean;
}

/**
 * Core's HTTP client configured from a provider's options. A send's
 * `beforeAttempt` (the rate limiter) goes on the request: core awaits it
 * before the first attempt and before each retry, outside the attempt's
 * timeout, so the limiter spaces what goes on the wire, retries included.
 */
export function providerHttpClient(
  options: ProviderHttpOptions,
  wire: { baseUrl: string; provider: string; classifyError: ClassifyError },
): HttpClient {
  return createHttpClient({
    ...wire,
    ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
    ...(options.retries !== undefined ? { retries: options.retries } : {}),
    ...(options.minRetryDelayMs !== undefined ? { minRetryDelayMs: options.minRetryDelayMs } : {}),
    ...(options.maxRetryDelayMs !== undefined ? { maxRetryDelayMs: options.maxRetryDelayMs } : {}),
    ...(options.maxRetryAfterMs !== undefined ? { maxRetryAfterMs: options.maxRetryAfterMs } : {}),
    ...(options.logger ? { logger: options.logger } : {}),
    ...(options.fetch ? { fetch: options.fetch } : {}),
  });
}
