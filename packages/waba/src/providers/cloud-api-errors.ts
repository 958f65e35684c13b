import { ProviderError, parseRetryAfter } from '@leadrelay/core';
import type { FailureClass } from './failure-class.js';

const PROVIDER = 'cloud_api';

/**
 * Meta's WhatsApp error codes (PROTOCOLS.md), grouped by what the caller
 * should do. Codes not listed fall back to the HTTP status.
 */
const CODES: Record<number, FailureClass> = {
  // Throughput and per-pair limits: retry with backoff.
  130429: { code: 'provider_rate_limited', retryable: true },
  131056: { code: 'pair_rate_limited', retryable: true },
  4: { code: 'provider_rate_limited', retryable: true },
  80007: { code: 'provider_rate_limited', retryable: true },
  // Meta-side trouble: transient.
  1: { code: 'provider_unavailable', retryable: true },
  2: { code: 'provider_unavailable', retryable: true },
  131000: { code: 'provider_unavailable', retryable: true },
  131001: { code: 'provider_unavailable', retryable: true },
  131002: { code: 'provider_unavailable', retryable: true },
  131016: { code: 'provider_unavailable', retryable: true },
  // The message itself cannot go out: permanent.
  131047: { code: 'window_closed', retryable: false },
  131026: { code: 'recipient_undeliverable', retryable: false },
  131049: { code: 'marketing_limited', retryable: false },
  131050: { code: 'marketing_opted_out', retryable: false },
  131048: { code: 'spam_rate_limited', retryable: false },
  132000: { code: 'template_parameter_mismatch', retryable: false },
  132001: { code: 'template_not_found', retryable: false },
  132015: { code: 'template_paused', retryable: false },
  132016: { code: 'template_disabled', retryable: false },
  100: { code: 'invalid_request', retryable: false },
  // Credentials and account: permanent until someone fixes the configuration.
  190: { code: 'credentials_invalid', retryable: false },
  368: { code: 'account_restricted', retryable: false },
  131031: { code: 'account_restricted', retryable: false },
};

/**
 * Classifies a Cloud API error by Meta's `error.code` (e.g. 130429 → retry,
 * 131047 → `window_closed`, permanent), falling back to the HTTP status:
 * 429 and 5xx retryable, 401/403 credentials, other 4xx permanent.
 *
 * @example classifyCloudApiError(400, 132001).code // 'template_not_found'
 */
export function classifyCloudApiError(
  httpStatus: number | undefined,
  metaCode: number | undefined,
): FailureClass {
  if (metaCode !== undefined && CODES[metaCode]) return CODES[metaCode];
  if (httpStatus === 429) return { code: 'provider_rate_limited', retryable: true };
  if (httpStatus !== undefined && (httpStatus === 408 || httpStatus >= 500)) {
    return { code: 'provider_unavailable', retryable: true };
  }
  if (httpStatus === 401 || httpStatus === 403) return { code: 'credentials_invalid', retryable: false };
  return { code: metaCode === undefined ? 'invalid_request' : 'provider_rejected', retryable: false };
}

interface GraphErrorBody {
  error?: { code?: unknown; message?: unknown; error_subcode?: unknown; fbtrace_id?: unknown };
}

/**
 * Builds the `ProviderError` for a failed Cloud API request (core's HTTP client `classifyError`).
 *
 * @example createHttpClient({ baseUrl, provider: 'cloud_api', classifyError: cloudApiError })
 */
export function cloudApiError(response: Pick<Response, 'status' | 'headers'>, body: unknown): ProviderError {
  const error = (body && typeof body === 'object' ? (body as GraphErrorBody).error : undefined) ?? {};
  const metaCode =
    typeof error.code === 'number'
      ? error.code
      : Number.isFinite(Number(error.code))
        ? Number(error.code)
        : undefined;
  const failure = classifyCloudApiError(response.status, metaCode);
  const message = typeof error.message === 'string' ? error.message.slice(0, 200) : '';
  const retryAfterMs = parseRetryAfter(response.headers.get('retry-after'));
  return new ProviderError(`Cloud API answered ${response.status}${message ? `: ${message}` : ''}`, {
    provider: PROVIDER,
    code: failure.code,
    retryable: failure.retryable,
    httpStatus: response.status,
    ...(metaCode !== undefined ? { providerCode: metaCode } : {}),
    ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
    details: {
      // A rate limit means Meta refused the request unprocessed: it may be repeated without a double send.
      ...(failure.code === 'provider_rate_limited' || failure.code === 'pair_rate_limited'
        ? { notProcessed: true }
        : {}),
      ...(typeof error.error_subcode === 'number' ? { subcode: error.error_subcode } : {}),
      ...(typeof error.fbtrace_id === 'string' ? { fbtraceId: error.fbtrace_id } : {}),
    },
  });
}
