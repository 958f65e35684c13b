import { type LeadRelayError, ProviderError, parseRetryAfter } from '@leadrelay/core';

/** The provider name Graph errors and log lines carry. */
export const GRAPH_PROVIDER = 'meta_graph';

const RATE_LIMIT_CODES = new Set([4, 17, 32, 613]);
const TRANSIENT_CODES = new Set([1, 2]);

interface GraphErrorBody {
  message?: unknown;
  type?: unknown;
  code?: unknown;
  error_subcode?: unknown;
  is_transient?: unknown;
  fbtrace_id?: unknown;
}

function graphErrorOf(body: unknown): GraphErrorBody | undefined {
  if (!body || typeof body !== 'object') return undefined;
  const error = (body as { error?: unknown }).error;
  return error && typeof error === 'object' ? (error as GraphErrorBody) : undefined;
}

/**
 * Maps a Graph API error answer to a typed error with a stable code:
 *
 * | Graph | code | retryable |
 * |---|---|---|
 * | 190 (token expired or invalid) | `page_token_invalid` | no: re-authorise the page |
 * | 4, 17, 32, 613 or HTTP 429 | `graph_rate_limited` | yes |
 * | 1, 2, `is_transient`, HTTP 5xx | `graph_unavailable` | yes |
 * | 100 (invalid parameter) | `graph_invalid_parameter` | no |
 * | anything else | `graph_error` | no |
 *
 * @example createHttpClient({ baseUrl, provider: GRAPH_PROVIDER, classifyError: classifyGraphError });
 */
export function classifyGraphError(response: Response, body: unknown): LeadRelayError {
  const error = graphErrorOf(body);
  const graphCode = typeof error?.code === 'number' ? error.code : Number(error?.code ?? Number.NaN);
  const subcode = error?.error_subcode;
  const message =
    typeof error?.message === 'string' ? error.message.slice(0, 200) : `HTTP ${response.status}`;
  const retryAfterMs = parseRetryAfter(response.headers.get('retry-after'));
  let code = 'graph_error';
  let retryable = false;
  if (graphCode === 190) code = 'page_token_invalid';
  else if (RATE_LIMIT_CODES.has(graphCode) || response.status === 429) {
    code = 'graph_rate_limited';
    retryable = true;
  } else if (TRANSIENT_CODES.has(graphCode) || error?.is_transient === true || response.status >= 500) {
    code = 'graph_unavailable';
    retryable = true;
  } else if (graphCode === 100) code = 'graph_invalid_parameter';
  return new ProviderError(`Graph API answered ${response.status}: ${message}`, {
    provider: GRAPH_PROVIDER,
    code,
    retryable,
    httpStatus: response.status,
    ...(Number.isFinite(graphCode) ? { providerCode: graphCode } : {}),
    ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
    details: {
      ...(typeof subcode === 'number' || typeof subcode === 'string' ? { subcode } : {}),
      ...(typeof error?.fbtrace_id === 'string' ? { fbtraceId: error.fbtrace_id } : {}),
    },
  });
}
