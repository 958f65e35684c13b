/** A failure a mock or emulator can answer a send with, in the provider's own format. */
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

/**
 * A Cloud API (Graph) error body: `{"error":{"message","type","code",…}}`;
 * 130429 carries the `error_data` Meta sends with it.
 *
 * @example cloudApiErrorBody(131047, 'Re-engagement message').error.code // 131047
 */
export function cloudApiErrorBody(
  code: number,
  message: string,
  options: { subcode?: number; type?: string } = {},
) {
  return {
    error: {
      message,
      type: options.type ?? 'OAuthException',
      code,
      ...(options.subcode !== undefined ? { error_subcode: options.subcode } : {}),
      ...(code === 130429
        ? {
            error_data: {
              messaging_product: 'whatsapp',
              details: 'Cloud API message throughput has been reached.',
            },
          }
        : {}),
      fbtrace_id: 'AMockTrace',
    },
  };
}

/**
 * The answer a provider gives a send that fails with `failure`: Gupshup's
 * `{"status":"error","message":…}` or a Cloud API error with Meta's code,
 * with `Retry-After` on rate limits.
 *
 * @example providerFailureResponse('cloud_api', 'rate_limited', 1).status // 429, code 130429
 */
export function providerFailureResponse(
  provider: 'gupshup' | 'cloud_api',
  failure: MockFailure,
  retryAfterSeconds: number,
): Response {
  const headers: Record<string, string> =
    failure === 'rate_limited' || failure === 'pair_rate_limited'
      ? { 'retry-after': String(retryAfterSeconds) }
      : {};
  if (provider === 'gupshup') {
    const { status, message } = GUPSHUP_FAILURES[failure];
    return Response.json({ status: 'error', message }, { status, headers });
  }
  const { status, code, message } = CLOUD_FAILURES[failure];
  return Response.json(cloudApiErrorBody(code, message), { status, headers });
}

/** Every `MockFailure` name. */
export const MOCK_FAILURES = Object.keys(GUPSHUP_FAILURES) as readonly MockFailure[];
