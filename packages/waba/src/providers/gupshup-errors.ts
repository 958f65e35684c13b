import { ProviderError, parseRetryAfter } from '@leadrelay/core';
import type { FailureClass } from './failure-class.js';

const PROVIDER = 'gupshup';

function text(body: unknown): string {
  if (body && typeof body === 'object') {
    const message = (body as Record<string, unknown>).message;
    if (typeof message === 'string') return message.slice(0, 200);
  }
  return typeof body === 'string' ? body.slice(0, 200) : '';
}

/**
 * Classifies Gupshup's answer to a send (`{"status":"error","message":…}`)
 * by HTTP status: 401/403 bad key (permanent), 429 rate limited and 5xx
 * (retryable), other 4xx the request itself (permanent; destination and
 * template problems get their own codes).
 *
 * @example classifyGupshupHttpError(429, { status: 'error', message: 'Too many requests' }).retryable // true
 */
export function classifyGupshupHttpError(httpStatus: number, body: unknown): FailureClass {
  const message = text(body).toLowerCase();
  if (httpStatus === 401 || httpStatus === 403) return { code: 'credentials_invalid', retryable: false };
  if (httpStatus === 429) return { code: 'provider_rate_limited', retryable: true };
  if (httpStatus === 408 || httpStatus >= 500) return { code: 'provider_unavailable', retryable: true };
  if (message.includes('destination') || message.includes('phone number')) {
    return { code: 'recipient_invalid', retryable: false };
  }
  if (message.includes('template')) return { code: 'template_invalid', retryable: false };
  return { code: 'invalid_request', retryable: false };
}

/**
 * Builds the `ProviderError` for a failed Gupshup send (core's HTTP client `classifyError`).
 *
 * @example createHttpClient({ baseUrl, provider: 'gupshup', classifyError: gupshupError })
 */
export function gupshupError(response: Pick<Response, 'status' | 'headers'>, body: unknown): ProviderError {
  const failure = classifyGupshupHttpError(response.status, body);
  const detail = text(body);
  const retryAfterMs = parseRetryAfter(response.headers.get('retry-after'));
  return new ProviderError(`Gupshup answered ${response.status}${detail ? `: ${detail}` : ''}`, {
    provider: PROVIDER,
    code: failure.code,
    retryable: failure.retryable,
    httpStatus: response.status,
    ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
  });
}

/**
 * Classifies the `code` of a Gupshup `failed` message-event: 1012 the user
 * opted out, 4001 rate limited (transient), 4005 template paused, 1002,
 * 1003, 1005–1008 and 4003 account, number or parameter problems
 * (permanent). Unknown codes are permanent: a retry would repeat them.
 *
 * @example classifyGupshupFailureCode(4001) // { code: 'provider_rate_limited', retryable: true }
 */
export function classifyGupshupFailureCode(code: number | string): FailureClass {
  const n = Number(code);
  if (n === 1012) return { code: 'recipient_opted_out', retryable: false };
  if (n === 4001) return { code: 'provider_rate_limited', retryable: true };
  if (n === 4005) return { code: 'template_paused', retryable: false };
  if (n === 1002 || n === 1003 || (n >= 1005 && n <= 1008) || n === 4003) {
    return { code: 'recipient_or_account_invalid', retryable: false };
  }
  return { code: 'delivery_failed', retryable: false };
}
