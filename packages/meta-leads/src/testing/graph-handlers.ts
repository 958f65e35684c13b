import { HttpResponse, http, type RequestHandler } from 'msw';
import type { GraphLeadInput } from '../graph/graph-lead.js';
import { DEFAULT_GRAPH_BASE_URL } from '../graph/graph-leads-client.js';
import {
  graphCredentialsRefusal,
  graphErrorResponse,
  graphUnknownObjectResponse,
} from './graph-error-response.js';

export { graphErrorResponse } from './graph-error-response.js';

export interface GraphRequestInfo {
  kind: 'lead' | 'subscribe';
  /** The leadgen id or the page id. */
  id: string;
  apiVersion: string;
  accessToken: string | null;
  request: Request;
}

export interface GraphHandlersOptions {
  /** Default `https://graph.facebook.com`. */
  baseUrl?: string;
  /** The leads Graph knows, by leadgen id (or a function answering them). */
  leads?: Record<string, GraphLeadInput> | ((leadgenId: string) => GraphLeadInput | undefined);
  /** When set, only these page tokens are valid: any other answers code 190 (token expired). */
  accessTokens?: readonly string[];
  /** When set, `appsecret_proof` must be the HMAC of the token with this secret (else code 100). */
  appSecret?: string;
  /** Sees every request first (to count calls); a `Response` it returns is answered as is. */
  onRequest?: (info: GraphRequestInfo) => Response | undefined | Promise<Response | undefined>;
}

/**
 * msw handlers that speak the Graph API's Lead Ads formats: `GET
 * /{version}/{leadgen_id}` answers a stored lead, `POST
 * /{version}/{page_id}/subscribed_apps` answers `{"success":true}`. Checks
 * tokens and `appsecret_proof` when asked to. Use with
 * `setupServer(...graphHandlers({ leads }))` and `onUnhandledFrame: 'error'`.
 *
 * @example
 * const server = setupServer(...graphHandlers({ leads: { '9000000000000001': buildGraphLead({ … }) } }));
 */
export function graphHandlers(options: GraphHandlersOptions = {}): RequestHandler[] {
  const base = (options.baseUrl ?? DEFAULT_GRAPH_BASE_URL).replace(/\/+$/, '');
  const lookup =
    typeof options.leads === 'function'
      ? options.leads
      : (id: string) => (options.leads as Record<string, GraphLeadInput> | undefined)?.[id];

  const check = (url: URL): Response | undefined =>
    graphCredentialsRefusal(url, {
      isValidToken: (token) => !options.accessTokens || options.accessTokens.includes(token),
      ...(options.appSecret !== undefined ? { appSecret: options.appSecret } : {}),
    });

  /** Records and checks a request; answers the response to send instead, if any. */
  const admit = async (kind: GraphRequestInfo['kind'], id: unknown, version: unknown, request: Request) => {
    const url = new URL(request.url);
    const info: GraphRequestInfo = {
      kind,
      id: String(id),
      apiVersion: String(version),
      accessToken: url.searchParams.get('access_token'),
      request,
    };
    return { info, url, refused: (await options.onRequest?.(info)) ?? check(url) };
  };

  return [
    http.get(`${base}/:version/:id`, async ({ request, params }) => {
      const { info, refused } = await admit('lead', params.id, params.version, request);
      if (refused) return refused;
      const lead = lookup(info.id);
      if (!lead) {
        return graphUnknownObjectResponse(info.id);
      }
      return HttpResponse.json(lead);
    }),
    http.post(`${base}/:version/:pageId/subscribed_apps`, async ({ request, params }) => {
      const { url, refused } = await admit('subscribe', params.pageId, params.version, request);
      if (refused) return refused;
      if (url.searchParams.get('subscribed_fields') === null) {
        return graphErrorResponse(100, { message: 'subscribed_fields is required' });
      }
      return HttpResponse.json({ success: true });
    }),
  ];
}
