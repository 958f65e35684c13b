import {
  AuthError,
  DEFAULT_MAX_BODY_BYTES,
  errorResponse,
  type Logger,
  noopLogger,
  readBodyLimited,
  timingSafeEqual,
  ValidationError,
  type WabaConfiguration,
  type WebHandler,
} from '@leadrelay/core';
import type { WabaClient } from '../client/waba-client.js';
import type { WabaInboundEvent } from './inbound-event.js';
import { parseGupshupWebhook } from './parse-gupshup-webhook.js';
import { okResponse, parseJsonBody, tenantFromUrl, webhookFailure } from './webhook-request.js';

export interface GupshupWebhookHandlerOptions {
  client: WabaClient;
  /** Which tenant a request is for; default `tenantFromUrl` (`?tenant=` or the last path segment). */
  tenantFromRequest?: (request: Request) => string | null;
  /**
   * The header that carries the tenant's secret when it is not in the URL's
   * `token` parameter (Gupshup sends a subscription's `meta` map back as
   * headers). Default `x-leadrelay-token`.
   */
  secretHeader?: string;
  /** Default 1 MiB. */
  maxBodyBytes?: number;
  logger?: Logger;
}

/**
 * Gupshup's callback endpoint for many tenants: `(request) => Response`.
 * Gupshup does not sign callbacks, so each tenant's Gupshup configuration
 * holds a secret that the callback URL (`?token=`) or a header carries; it is
 * compared in constant time before the body is parsed. Every event is
 * recorded in the durable inbox before the 200, then applied once each, in
 * order per lead (see `WabaClient.inbound`). An authenticated body of an
 * unknown shape answers 200 and is kept raw as unparsed; only a bad secret
 * or an unreadable body is refused, and a storage failure answers 503 so
 * Gupshup retries.
 *
 * @example
 * app.post('/api/waba/gupshup/:clientId', toNodeHandler(createGupshupWebhookHandler({ client: waba })));
 * // callback URL: https://example.com/api/waba/gupshup/<clientId>?token=<secret>
 */
export function createGupshupWebhookHandler(
  options: GupshupWebhookHandlerOptions,
): WebHandler & { readonly maxBodyBytes: number } {
  const { client } = options;
  const logger = options.logger ?? noopLogger;
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const secretHeader = options.secretHeader ?? 'x-leadrelay-token';
  const tenantOf = options.tenantFromRequest ?? tenantFromUrl;

  const handler = async (request: Request): Promise<Response> => {
    try {
      if (request.method !== 'POST') {
        return errorResponse(
          new ValidationError('Gupshup callbacks are POST requests', {
            code: 'method_not_allowed',
            status: 405,
          }),
          {
            headers: { allow: 'POST' },
          },
        );
      }
      const tenantId = tenantOf(request);
      if (!tenantId)
        throw new ValidationError('The callback URL names no tenant', { code: 'tenant_missing' });
      const tenant = await client.registry.get(tenantId);
      const token = new URL(request.url).searchParams.get('token') ?? request.headers.get(secretHeader);
      if (!token) throw new AuthError('The callback carries no secret (token parameter or header)');
      const configs = (await client.store.wabaConfigurations.list(tenant.id)).filter(
        (c) => c.provider === 'gupshup' && c.status === 'active',
      );
      const matching: WabaConfiguration[] = [];
      for (const config of configs) {
        const secret = client.registry.wabaWebhookSecret(config);
        if (secret !== null && timingSafeEqual(token, secret)) matching.push(config);
      }
      if (matching.length === 0) throw new AuthError('The callback secret does not match');

      const raw = await readBodyLimited(request, maxBodyBytes);
      // Gupshup probes a new callback URL with an empty POST: accept it.
      if (raw.byteLength === 0) return okResponse({ received: 0, duplicates: 0 });
      const body = parseJsonBody(raw);
      let events: WabaInboundEvent[];
      try {
        events = parseGupshupWebhook(body, new Date());
      } catch (error) {
        if (!(error instanceof ValidationError)) throw error;
        const type = (body as { type?: unknown } | null)?.type;
        const { recorded } = await client.recordUnparsed(tenant.id, {
          provider: 'gupshup',
          type: typeof type === 'string' ? type : 'unknown',
          body: raw,
          reason: error.message,
        });
        return okResponse({ received: 0, duplicates: recorded ? 0 : 1, unparsed: 1 });
      }
      const appName = events.find((e) => e.route.appName)?.route.appName;
      const waba = matching.find((c) => c.providerConfig.appName === appName) ?? matching[0]!;
      const result = await client.record(tenant.id, events, { waba });
      return okResponse({ received: result.received, duplicates: result.duplicates });
    } catch (error) {
      return webhookFailure(error, logger, 'gupshup webhook');
    }
  };
  // The limit rides on the handler so toNodeHandler stops an oversized body while it streams in.
  return Object.assign(handler, { maxBodyBytes });
}
