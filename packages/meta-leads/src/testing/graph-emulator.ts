import { escapeMetaSlashes, escapeMetaUnicode, type Logger, signMetaBody } from '@leadrelay/core';
import {
  type EmulatorFault,
  type EmulatorServer,
  faultResponse,
  postCallback,
  startEmulatorServer,
} from '@leadrelay/core/testing';
import type { GraphLeadInput } from '../graph/graph-lead.js';
import { type BuildGraphLeadOptions, buildGraphLead } from './build-graph-lead.js';
import { type BuildLeadgenWebhookOptions, buildLeadgenWebhook } from './build-leadgen-webhook.js';
import {
  graphCredentialsRefusal,
  graphErrorResponse,
  graphUnknownObjectResponse,
} from './graph-error-response.js';

export type { EmulatorFault } from '@leadrelay/core/testing';

/** Graph errors the emulator can answer with, in Meta's format. */
export type GraphFailure =
  /** 190, subcode 463: the page token expired. */
  | 'token_expired'
  /** 4: application request limit. */
  | 'app_rate_limited'
  /** 17: user request limit. */
  | 'user_rate_limited'
  /** 32: page request limit. */
  | 'page_rate_limited'
  /** 613: calls to this API exceeded the rate limit. */
  | 'api_rate_limited'
  /** HTTP 500, code 2, transient. */
  | 'unavailable'
  /** 100: invalid parameter (permanent). */
  | 'invalid_parameter';

const FAILURES: Record<GraphFailure, () => Response> = {
  token_expired: () =>
    graphErrorResponse(190, { subcode: 463, message: 'Error validating access token: Session has expired.' }),
  app_rate_limited: () =>
    graphErrorResponse(4, { message: '(#4) Application request limit reached', transient: true }),
  user_rate_limited: () => graphErrorResponse(17, { message: '(#17) User request limit reached' }),
  page_rate_limited: () => graphErrorResponse(32, { message: '(#32) Page request limit reached' }),
  api_rate_limited: () =>
    graphErrorResponse(613, { message: '(#613) Calls to this api have exceeded the rate limit.' }),
  unavailable: () =>
    graphErrorResponse(2, {
      status: 500,
      message: 'An unexpected error has occurred. Please retry your request later.',
      transient: true,
    }),
  invalid_parameter: () => graphErrorResponse(100, { message: '(#100) Invalid parameter' }),
};

/** A lead the emulator serves: Graph's format, the id as a string. */
export type EmulatedGraphLead = GraphLeadInput & { id: string };

/** One request the Graph emulator received. */
export interface GraphEmulatorRequest {
  kind: 'lead' | 'subscribe' | 'unknown';
  method: string;
  /** The path, without the query (which holds the token). */
  path: string;
  apiVersion: string | null;
  /** The leadgen id or the page id. */
  id: string | null;
  accessToken: string | null;
  appsecretProof: string | null;
  /** The `fields` asked for, in order. */
  fields: string[];
  receivedAt: Date;
  /** The HTTP status answered, or `null` when the connection was dropped. */
  status: number | null;
}

export interface GraphEmulatorOptions {
  /** Default 0: any free port. */
  port?: number;
  /** Default `127.0.0.1`. */
  host?: string;
  /** Every line carries `emulation: 'graph'`. */
  logger?: Logger;
  /** Delay before every answer, in ms. */
  delayMs?: number;
  leads?: readonly GraphLeadInput[];
  /** When set, only these page tokens are valid (more with `allowToken`); otherwise any token is, until expired. */
  accessTokens?: readonly string[];
  /** When set, `appsecret_proof` must be the HMAC of the token with it (else code 100). */
  appSecret?: string;
  /** The first leadgen id `createLead` hands out. Default `9100000000000001`. */
  firstLeadgenId?: string;
}

export interface DeliverLeadOptions {
  /** The Lead Ads webhook URL of the tenant. */
  webhookUrl: string;
  /** The Meta app secret that signs the webhook. */
  appSecret: string;
  pageId: string;
  /** A lead to add as is, or the options of a new one from `createLead`. */
  lead?: GraphLeadInput | Partial<BuildGraphLeadOptions>;
}

export interface GraphEmulator {
  /** Base URL for the Graph client's `baseUrl` option. */
  readonly url: string;
  /** Every request received, refused and dropped ones included, in arrival order. */
  readonly requests: GraphEmulatorRequest[];
  readonly leads: ReadonlyMap<string, EmulatedGraphLead>;
  /** Makes a lead fetchable; replaces one with the same id. */
  addLead(lead: GraphLeadInput): EmulatedGraphLead;
  /** Builds (next leadgen id, a name, an Indian mobile, an email, unless given) and adds a lead. */
  createLead(options?: Partial<BuildGraphLeadOptions>): EmulatedGraphLead;
  /** Makes a page token valid again (or, with `accessTokens`, valid at all). */
  allowToken(token: string): void;
  /** From now on the token answers 190 (session expired), as after a password change. */
  expireToken(token: string): void;
  failNext(fault: EmulatorFault<GraphFailure>): void;
  clearFaults(): void;
  /** Forgets the requests and any queued fault; leads and tokens stay. */
  reset(): void;
  /** Adds a lead and posts the signed leadgen webhook Meta would send for it; resolves with the receiver's answer. */
  deliverLead(
    options: DeliverLeadOptions,
  ): Promise<{ lead: EmulatedGraphLead; httpStatus: number; body: string }>;
  close(): Promise<void>;
}

/**
 * A Lead Ads webhook body for one or more pages, serialised as Meta does
 * (non-ASCII and `/` escaped) and signed with the app secret.
 *
 * @example
 * const { body, headers } = signedLeadgenWebhook({ appSecret, pageId: '1110000000001', leadgenIds: ['9000000000000001'] });
 * await fetch(webhookUrl, { method: 'POST', body, headers });
 */
export function signedLeadgenWebhook(options: BuildLeadgenWebhookOptions & { appSecret: string }): {
  body: string;
  signature: string;
  headers: Record<string, string>;
} {
  const { appSecret, ...webhook } = options;
  const body = escapeMetaSlashes(escapeMetaUnicode(JSON.stringify(buildLeadgenWebhook(webhook))));
  const signature = signMetaBody(body, appSecret);
  return {
    body,
    signature,
    headers: { 'content-type': 'application/json', 'x-hub-signature-256': signature },
  };
}

const LEAD_PATH = /^\/(v\d+\.\d+)\/(\d+)$/;
const SUBSCRIBE_PATH = /^\/(v\d+\.\d+)\/(\d+)\/subscribed_apps$/;

/** The lead as Graph answers a `fields` list: only the fields asked for (and always `id`). */
function pickFields(lead: GraphLeadInput, fields: string[]): Record<string, unknown> {
  if (fields.length === 0) return lead;
  const out: Record<string, unknown> = { id: lead.id };
  for (const name of fields) {
    const value = (lead as Record<string, unknown>)[name];
    if (value !== undefined) out[name] = value;
  }
  return out;
}

/**
 * The Graph API's Lead Ads endpoints as a real HTTP server on 127.0.0.1, for
 * `createGraphLeadsClient({ baseUrl: emulator.url })` unchanged:
 * `GET /{version}/{leadgen-id}` answers a stored lead with the `fields`
 * asked for, `POST /{version}/{page-id}/subscribed_apps` answers
 * `{"success":true}`; tokens, `appsecret_proof` and unknown ids are refused
 * in Graph's error format, and faults (190, 4/17/32/613, 5xx, slow answers,
 * dropped connections) can be queued.
 *
 * @example
 * const graph = await startGraphEmulator({ accessTokens: [pageToken], appSecret, logger });
 * const lead = graph.createLead({ fullName: 'Priya Sharma' });
 * await createGraphLeadsClient({ baseUrl: graph.url }).getLead(lead.id, pageToken, appSecret);
 * graph.failNext({ failure: 'token_expired' });
 */
export async function startGraphEmulator(options: GraphEmulatorOptions = {}): Promise<GraphEmulator> {
  const requests: GraphEmulatorRequest[] = [];
  const leads = new Map<string, EmulatedGraphLead>();
  const addLead = (lead: GraphLeadInput): EmulatedGraphLead => {
    const stored = { ...lead, id: String(lead.id) };
    leads.set(stored.id, stored);
    return stored;
  };
  for (const lead of options.leads ?? []) addLead(lead);
  const valid = options.accessTokens ? new Set(options.accessTokens) : null;
  const expired = new Set<string>();
  let nextId = BigInt(options.firstLeadgenId ?? '9100000000000001');
  let created = 0;

  const answer = (request: Request, record: GraphEmulatorRequest, url: URL): Response => {
    const lead = LEAD_PATH.exec(record.path);
    const subscribe = SUBSCRIBE_PATH.exec(record.path);
    const route = request.method === 'GET' ? lead : request.method === 'POST' ? subscribe : null;
    if (!route) return graphErrorResponse(2500, { message: `Unknown path components: ${record.path}` });
    record.kind = route === lead ? 'lead' : 'subscribe';
    record.apiVersion = route[1]!;
    record.id = route[2]!;
    const refused = graphCredentialsRefusal(url, {
      isValidToken: (token) => !expired.has(token) && (valid === null || valid.has(token)),
      ...(options.appSecret !== undefined ? { appSecret: options.appSecret } : {}),
    });
    if (refused) return refused;
    if (record.kind === 'subscribe') {
      return url.searchParams.get('subscribed_fields') === null
        ? graphErrorResponse(100, { message: 'subscribed_fields is required' })
        : Response.json({ success: true });
    }
    const found = leads.get(record.id);
    return found ? Response.json(pickFields(found, record.fields)) : graphUnknownObjectResponse(record.id);
  };

  const handle = async (request: Request, fault: EmulatorFault | undefined): Promise<Response> => {
    const url = new URL(request.url);
    const record: GraphEmulatorRequest = {
      kind: 'unknown',
      method: request.method,
      path: url.pathname,
      apiVersion: null,
      id: null,
      accessToken: url.searchParams.get('access_token'),
      appsecretProof: url.searchParams.get('appsecret_proof'),
      fields: (url.searchParams.get('fields') ?? '').split(',').filter((f) => f !== ''),
      receivedAt: new Date(),
      status: null,
    };
    requests.push(record);
    const real = answer(request, record, url);
    const response =
      fault?.status !== undefined
        ? faultResponse(fault)
        : fault?.failure !== undefined
          ? FAILURES[fault.failure as GraphFailure]()
          : real;
    record.status = fault?.drop ? null : response.status;
    return response;
  };

  const server: EmulatorServer = await startEmulatorServer({
    emulation: 'graph',
    failures: Object.keys(FAILURES),
    handle,
    ...(options.port !== undefined ? { port: options.port } : {}),
    ...(options.host !== undefined ? { host: options.host } : {}),
    ...(options.logger ? { logger: options.logger } : {}),
    ...(options.delayMs !== undefined ? { delayMs: options.delayMs } : {}),
  });

  const createLead = (overrides: Partial<BuildGraphLeadOptions> = {}) => {
    const n = ++created;
    const leadgenId = overrides.leadgenId ?? String(nextId++);
    return addLead(
      buildGraphLead({
        fullName: `Test Lead ${n}`,
        phone: `+9198123${String(n % 100_000).padStart(5, '0')}`,
        email: `lead${n}@example.com`,
        ...overrides,
        leadgenId,
      }),
    );
  };

  return {
    url: server.url,
    requests,
    leads,
    addLead,
    createLead,
    allowToken(token) {
      expired.delete(token);
      valid?.add(token);
    },
    expireToken(token) {
      expired.add(token);
    },
    failNext: (fault) => server.failNext(fault),
    clearFaults: () => server.clearFaults(),
    reset() {
      requests.length = 0;
      server.clearFaults();
    },
    async deliverLead(delivery) {
      const given = delivery.lead;
      const lead =
        given && 'id' in given && given.id !== undefined
          ? addLead(given as GraphLeadInput)
          : createLead(given as Partial<BuildGraphLeadOptions> | undefined);
      const organic = lead.is_organic === true;
      const { body, headers } = signedLeadgenWebhook({
        appSecret: delivery.appSecret,
        entries: [
          {
            pageId: delivery.pageId,
            leads: [
              {
                leadgenId: lead.id,
                organic,
                ...(lead.form_id !== undefined && lead.form_id !== null
                  ? { formId: String(lead.form_id) }
                  : {}),
                ...(!organic && lead.ad_id ? { adId: String(lead.ad_id) } : {}),
              },
            ],
          },
        ],
      });
      const answer = await postCallback(server.logger, {
        url: delivery.webhookUrl,
        body,
        headers,
        what: 'leadgen',
        signal: server.signal,
      });
      return { lead, httpStatus: answer.status, body: answer.body };
    },
    close: () => server.close(),
  };
}
