import {
  DEFAULT_MAX_BODY_BYTES,
  errorResponse,
  isLeadRelayError,
  type Logger,
  META_SIGNATURE_HEADER,
  metaSubscriptionQuery,
  noopLogger,
  phoneNumberIdOf,
  readBodyLimited,
  SignatureError,
  type Tenant,
  ValidationError,
  verifyMetaSignature,
  verifyMetaSubscription,
  type WabaConfiguration,
  type WebHandler,
} from '@leadrelay/core';
import type { WabaClient } from '../client/waba-client.js';
import type { WabaInboundEvent } from './inbound-event.js';
import { parseCloudWebhook } from './parse-cloud-webhook.js';
import { okResponse, parseJsonBody, tenantFromUrl, webhookFailure } from './webhook-request.js';

export interface CloudWebhookHandlerOptions {
  client: WabaClient;
  /**
   * Which tenant a request is for; default `tenantFromUrl`. Answer `null` to
   * route by each change's `phone_number_id` instead (one Meta app serving
   * many tenants' numbers).
   */
  tenantFromRequest?: (request: Request) => string | null;
  /** Default 1 MiB. */
  maxBodyBytes?: number;
  logger?: Logger;
}

interface Candidate {
  tenant: Tenant;
  wabas: WabaConfiguration[];
}

/** Phone number ids named by a body that is not verified yet: used only to pick whose secrets to try. */
function phoneNumberIds(body: unknown): string[] {
  const ids = new Set<string>();
  const entries = (body as { entry?: unknown })?.entry;
  if (!Array.isArray(entries)) return [];
  for (const entry of entries) {
    const changes = (entry as { changes?: unknown })?.changes;
    if (!Array.isArray(changes)) continue;
    for (const change of changes) {
      const id = (change as { value?: { metadata?: { phone_number_id?: unknown } } })?.value?.metadata
        ?.phone_number_id;
      if (typeof id === 'string' || typeof id === 'number') ids.add(String(id));
    }
  }
  return [...ids].slice(0, 50);
}

/**
 * Meta's WhatsApp Cloud API webhook for many tenants: `(request) => Response`.
 * GET answers the subscription handshake with the tenant's verify token.
 * POST verifies `X-Hub-Signature-256` over the raw body with the app secret
 * of the tenant the URL names (or, without one, of each number's tenant),
 * escaped-unicode variant included; only then are inbound messages and
 * statuses recorded in the durable inbox, each only for the tenant that owns
 * its number, and the 200 goes out. They are applied once each, in order per
 * lead (see `WabaClient.inbound`). A verified body of an unknown shape
 * answers 200 and is kept raw as unparsed; a storage failure answers 503.
 *
 * @example
 * app.all('/api/waba/cloud/:clientId', toNodeHandler(createCloudWebhookHandler({ client: waba })));
 */
export function createCloudWebhookHandler(
  options: CloudWebhookHandlerOptions,
): WebHandler & { readonly maxBodyBytes: number } {
  const { client } = options;
  const logger = options.logger ?? noopLogger;
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const tenantOf = options.tenantFromRequest ?? tenantFromUrl;

  const cloudWabas = async (tenant: Tenant) =>
    (await client.store.wabaConfigurations.list(tenant.id)).filter(
      (c) => c.provider === 'cloud_api' && c.status === 'active',
    );

  async function verifyHandshake(request: Request): Promise<Response> {
    const tenantId = tenantOf(request);
    if (!tenantId) throw new ValidationError('The webhook URL names no tenant', { code: 'tenant_missing' });
    const tenant = await client.registry.get(tenantId);
    const query = metaSubscriptionQuery(new URL(request.url));
    // A number with a Meta app of its own has its own token; the tenant's serves the rest.
    const tokens = new Set([client.registry.metaVerifyToken(tenant)]);
    for (const waba of await cloudWabas(tenant)) tokens.add(client.registry.wabaVerifyToken(waba));
    let refusal: unknown;
    for (const token of tokens) {
      try {
        const challenge = verifyMetaSubscription(query, token);
        return new Response(challenge, {
          status: 200,
          headers: { 'content-type': 'text/plain; charset=utf-8' },
        });
      } catch (error) {
        refusal = error;
      }
    }
    throw refusal;
  }

  async function candidates(request: Request, raw: Uint8Array): Promise<Candidate[]> {
    const tenantId = tenantOf(request);
    if (tenantId) {
      const tenant = await client.registry.get(tenantId);
      return [{ tenant, wabas: await cloudWabas(tenant) }];
    }
    let unverified: unknown;
    try {
      unverified = parseJsonBody(raw);
    } catch {
      return [];
    }
    const byTenant = new Map<string, Candidate>();
    for (const id of phoneNumberIds(unverified)) {
      try {
        const { tenant } = await client.registry.getByPhoneNumberId(id);
        if (!byTenant.has(tenant.id)) byTenant.set(tenant.id, { tenant, wabas: await cloudWabas(tenant) });
      } catch (error) {
        if (!isLeadRelayError(error) || error.status >= 500) throw error;
      }
    }
    return [...byTenant.values()];
  }

  const handler = async (request: Request): Promise<Response> => {
    try {
      if (request.method === 'GET') return await verifyHandshake(request);
      if (request.method !== 'POST') {
        return errorResponse(
          new ValidationError('Use GET for the handshake and POST for notifications', {
            code: 'method_not_allowed',
            status: 405,
          }),
          { headers: { allow: 'GET, POST' } },
        );
      }
      const raw = await readBodyLimited(request, maxBodyBytes);
      const signature = request.headers.get(META_SIGNATURE_HEADER);
      if (!signature) throw new SignatureError('X-Hub-Signature-256 is missing');
      // Each number is verified with its own Meta app secret (or its tenant's): a secret speaks only for its numbers.
      const verified: Candidate[] = [];
      for (const candidate of await candidates(request, raw)) {
        const { tenant } = candidate;
        const byTenant = verifyMetaSignature(raw, signature, client.registry.metaAppSecrets(tenant));
        const wabas = candidate.wabas.filter((waba) => {
          const own = client.registry.wabaMetaAppSecret(waba);
          return own === null ? byTenant : verifyMetaSignature(raw, signature, [own]);
        });
        if (byTenant || wabas.length > 0) verified.push({ tenant, wabas });
      }
      if (verified.length === 0) throw new SignatureError('X-Hub-Signature-256 does not verify');

      const body = parseJsonBody(raw);
      let events: WabaInboundEvent[];
      try {
        events = parseCloudWebhook(body);
      } catch (error) {
        if (!(error instanceof ValidationError)) throw error;
        const type = (body as { object?: unknown } | null)?.object;
        let duplicates = 0;
        for (const { tenant } of verified) {
          const { recorded } = await client.recordUnparsed(tenant.id, {
            provider: 'cloud_api',
            type: typeof type === 'string' ? type : 'unknown',
            body: raw,
            reason: error.message,
          });
          if (!recorded) duplicates++;
        }
        return okResponse({ received: 0, duplicates, ignored: 0, unparsed: verified.length });
      }
      let received = 0;
      let duplicates = 0;
      let foreign = 0;
      for (const { tenant, wabas } of verified) {
        // Only events for numbers this tenant owns: a tenant's secret never speaks for another's number.
        const groups = new Map<WabaConfiguration, WabaInboundEvent[]>();
        for (const event of events) {
          const waba = wabas.find((w) => phoneNumberIdOf(w.providerConfig) === event.route.phoneNumberId);
          if (!waba) continue;
          groups.set(waba, [...(groups.get(waba) ?? []), event]);
        }
        for (const [waba, group] of groups) {
          const result = await client.record(tenant.id, group, { waba });
          received += result.received;
          duplicates += result.duplicates;
        }
      }
      for (const event of events) {
        const owned = verified.some(({ wabas }) =>
          wabas.some((w) => phoneNumberIdOf(w.providerConfig) === event.route.phoneNumberId),
        );
        if (!owned) foreign++;
      }
      if (foreign > 0)
        logger.warn({ ignored: foreign }, 'cloud webhook events for numbers of no verified tenant');
      return okResponse({ received, duplicates, ignored: foreign });
    } catch (error) {
      return webhookFailure(error, logger, 'cloud webhook');
    }
  };
  // The limit rides on the handler so toNodeHandler stops an oversized body while it streams in.
  return Object.assign(handler, { maxBodyBytes });
}
