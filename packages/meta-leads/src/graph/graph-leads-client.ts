import {
  createHttpClient,
  type HttpTransportOptions,
  hmacSha256Hex,
  noopLogger,
  ProviderError,
  parseOrThrow,
  ValidationError,
} from '@leadrelay/core';
import { classifyGraphError, GRAPH_PROVIDER } from './classify-graph-error.js';
import { GRAPH_LEAD_FIELDS, type GraphLead, graphLeadSchema } from './graph-lead.js';

export const DEFAULT_GRAPH_BASE_URL = 'https://graph.facebook.com';
export const DEFAULT_GRAPH_API_VERSION = 'v24.0';

/** Core's transport settings (timeouts, retries, fetch, logger) and where Graph is. */
export interface GraphLeadsClientOptions extends HttpTransportOptions {
  /** Default `https://graph.facebook.com`; a proxy or test server works the same. */
  baseUrl?: string;
  /** Default `v24.0`. Each Graph version lives about two years: keep it configurable. */
  apiVersion?: string;
}

export interface GraphLeadsClient {
  readonly apiVersion: string;
  /** Reads one lead with the page's token; `appsecret_proof` is derived from the app secret. */
  getLead(leadgenId: string, pageAccessToken: string, appSecret: string): Promise<GraphLead>;
  /** Subscribes the app to the page's `leadgen` field. */
  subscribeApp(pageId: string, pageAccessToken: string, appSecret?: string): Promise<void>;
}

const NUMERIC_ID = /^\d{1,32}$/;
const VERSION = /^v\d{1,3}\.\d{1,3}$/;

function requireId(value: string, what: string): string {
  if (typeof value !== 'string' || !NUMERIC_ID.test(value)) {
    throw new ValidationError(`${what} must be a numeric id string`, { code: 'meta_id_invalid' });
  }
  return value;
}

/**
 * `appsecret_proof`: the hex HMAC-SHA256 of the access token keyed with the
 * app secret. Graph refuses calls without it when the app requires it.
 *
 * @example graphAppSecretProof('page-token', 'app-secret') // '3f1a…' (64 hex digits)
 */
export function graphAppSecretProof(accessToken: string, appSecret: string): string {
  return hmacSha256Hex(appSecret, accessToken);
}

/**
 * The Graph API calls Lead Ads needs, over core's HTTP client (`fetch` + p-retry)
 * with Graph's error codes classified: 190 is `page_token_invalid` (not
 * retried), 4/17/32/613, 1/2 and 5xx are retried, 100 is permanent.
 *
 * @example
 * const graph = createGraphLeadsClient({ apiVersion: 'v24.0', logger });
 * const lead = await graph.getLead('9000000000000001', pageToken, appSecret);
 */
export function createGraphLeadsClient(options: GraphLeadsClientOptions = {}): GraphLeadsClient {
  const apiVersion = options.apiVersion ?? DEFAULT_GRAPH_API_VERSION;
  if (!VERSION.test(apiVersion)) {
    throw new ValidationError(`Graph API version "${apiVersion}" must look like v24.0`, {
      code: 'graph_version_invalid',
    });
  }
  const http = createHttpClient({
    baseUrl: options.baseUrl ?? DEFAULT_GRAPH_BASE_URL,
    provider: GRAPH_PROVIDER,
    classifyError: classifyGraphError,
    logger: options.logger ?? noopLogger,
    ...(options.fetch ? { fetch: options.fetch } : {}),
    ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
    ...(options.retries !== undefined ? { retries: options.retries } : {}),
    ...(options.minRetryDelayMs !== undefined ? { minRetryDelayMs: options.minRetryDelayMs } : {}),
    ...(options.maxRetryDelayMs !== undefined ? { maxRetryDelayMs: options.maxRetryDelayMs } : {}),
    ...(options.maxRetryAfterMs !== undefined ? { maxRetryAfterMs: options.maxRetryAfterMs } : {}),
  });
  const fields = GRAPH_LEAD_FIELDS.join(',');

  return {
    apiVersion,
    async getLead(leadgenId, pageAccessToken, appSecret) {
      requireId(leadgenId, 'leadgenId');
      const { data } = await http.request<unknown>({
        method: 'GET',
        path: `/${apiVersion}/${leadgenId}`,
        searchParams: {
          access_token: pageAccessToken,
          appsecret_proof: graphAppSecretProof(pageAccessToken, appSecret),
          fields,
        },
      });
      try {
        return parseOrThrow(graphLeadSchema, data, 'Graph lead');
      } catch (error) {
        throw new ProviderError('Graph API answered a lead in an unexpected shape', {
          provider: GRAPH_PROVIDER,
          code: 'invalid_response',
          cause: error,
        });
      }
    },
    async subscribeApp(pageId, pageAccessToken, appSecret) {
      requireId(pageId, 'pageId');
      const { data } = await http.request<unknown>({
        method: 'POST',
        path: `/${apiVersion}/${pageId}/subscribed_apps`,
        searchParams: {
          subscribed_fields: 'leadgen',
          access_token: pageAccessToken,
          ...(appSecret ? { appsecret_proof: graphAppSecretProof(pageAccessToken, appSecret) } : {}),
        },
        // Subscribing twice leaves one subscription.
        retrySafe: true,
      });
      if ((data as { success?: unknown } | undefined)?.success !== true) {
        throw new ProviderError('Graph API did not confirm the page subscription', {
          provider: GRAPH_PROVIDER,
          code: 'invalid_response',
        });
      }
    },
  };
}
