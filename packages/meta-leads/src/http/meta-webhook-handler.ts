import {
  ConfigurationError,
  DEFAULT_MAX_BODY_BYTES,
  errorResponse,
  type Logger,
  META_SIGNATURE_HEADER,
  metaSubscriptionQuery,
  NotFoundError,
  noopLogger,
  readBodyLimited,
  toLeadRelayError,
} from '@leadrelay/core';
import type { MetaLeadsIntake } from '../intake/meta-leads-intake.js';

export interface MetaWebhookHandlerOptions {
  /**
   * Where the client id sits in the path, e.g. `/api/meta/webhook/:clientId`,
   * or a function that extracts it. Default: the segment after the last
   * `/webhook/`. A path without a client id routes by the page ids in the body.
   */
  clientId?: string | ((request: Request, url: URL) => string | null | undefined);
  /** Route by page id when the path has no client id. Default true. */
  pageRouting?: boolean;
  /** The verify token of a route without a client id (one app for all tenants). */
  verifyToken?: string;
  /** Default 1 MiB. */
  maxBodyBytes?: number;
  logger?: Logger;
}

/** A Web-standard webhook handler; `maxBodyBytes` tells the Node adapter the same limit. */
export interface MetaWebhookHandler {
  (request: Request): Promise<Response>;
  readonly maxBodyBytes: number;
}

const CLIENT_ID = /^[A-Za-z0-9_-]{1,200}$/;
const DEFAULT_CLIENT_ID = /\/webhook\/([^/]+)\/?$/;

function compilePattern(pattern: string): RegExp {
  const parts = pattern.split(':clientId');
  if (parts.length !== 2)
    throw new ConfigurationError(`Path pattern "${pattern}" must contain :clientId once`, {
      code: 'path_pattern_invalid',
    });
  const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`^${escapeRegExp(parts[0]!)}([^/]+)${escapeRegExp(parts[1]!.replace(/\/$/, ''))}/?$`);
}

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json; charset=utf-8' },
  });
}

/**
 * The Lead Ads webhook as a Web-standard handler: GET answers Meta's
 * verification handshake, POST verifies the signature, records the leadgen
 * events durably and answers 200 at once (processing continues in the
 * background). Status codes: 200 accepted or ignored, 400 not JSON or wrong
 * shape, 401 signature, 403 handshake refused, 404 unknown client, 405 other
 * methods, 413 body too large, 503 the events could not be recorded.
 *
 * @example
 * const handler = createMetaWebhookHandler(intake, { clientId: '/api/meta/webhook/:clientId' });
 * export const POST = handler; export const GET = handler; // Next.js route handler
 */
export function createMetaWebhookHandler(
  intake: MetaLeadsIntake,
  options: MetaWebhookHandlerOptions = {},
): MetaWebhookHandler {
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const logger = (options.logger ?? noopLogger).child({ component: 'meta-leads-webhook' });
  const pageRouting = options.pageRouting ?? true;
  const extract =
    typeof options.clientId === 'function'
      ? options.clientId
      : (() => {
          const pattern =
            typeof options.clientId === 'string' ? compilePattern(options.clientId) : DEFAULT_CLIENT_ID;
          return (_request: Request, url: URL) => pattern.exec(url.pathname)?.[1] ?? null;
        })();

  function clientIdOf(request: Request, url: URL): string | null {
    const raw = extract(request, url);
    if (raw === null || raw === undefined || raw === '') {
      if (pageRouting) return null;
      throw new NotFoundError('No client id in the webhook path', { code: 'tenant_not_found' });
    }
    let decoded: string;
    try {
      decoded = decodeURIComponent(raw);
    } catch {
      decoded = '';
    }
    if (!CLIENT_ID.test(decoded)) throw new NotFoundError('Unknown client', { code: 'tenant_not_found' });
    return decoded;
  }

  const handler = async (request: Request): Promise<Response> => {
    try {
      const url = new URL(request.url);
      if (request.method === 'GET') {
        const challenge = await intake.verifySubscription(
          { clientAccountId: clientIdOf(request, url), ...metaSubscriptionQuery(url) },
          options.verifyToken,
        );
        return new Response(challenge, {
          status: 200,
          headers: { 'content-type': 'text/plain; charset=utf-8', 'x-content-type-options': 'nosniff' },
        });
      }
      if (request.method !== 'POST') {
        return new Response(null, { status: 405, headers: { allow: 'GET, POST' } });
      }
      const clientAccountId = clientIdOf(request, url);
      const body = await readBodyLimited(request, maxBodyBytes);
      const result = await intake.receive({
        clientAccountId,
        body,
        signature: request.headers.get(META_SIGNATURE_HEADER),
      });
      return json(200, { received: true, ...result });
    } catch (error) {
      const err = toLeadRelayError(error);
      const log = { status: err.status, code: err.code, method: request.method };
      if (err.status >= 500) logger.error({ ...log, error: err.message }, 'meta-leads: webhook failed');
      else logger.info(log, 'meta-leads: webhook refused');
      return errorResponse(err);
    }
  };
  return Object.assign(handler, { maxBodyBytes });
}
