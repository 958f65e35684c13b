import { openTenantSecret, type SecretBox, type TenantSecretKind } from '../crypto/secret-box.js';
import { ConflictError, ForbiddenError, NotFoundError } from '../errors/errors.js';
import { type Clock, systemClock } from '../observability/clock.js';
import type { FacebookPage, Tenant, WabaConfiguration } from '../schemas/domain.js';
import type { CoreStore } from '../storage/ports.js';
import { createTtlCache } from './ttl-cache.js';

export interface TenantRegistryOptions {
  /** Only the tenant, page and WABA repositories are read. */
  store: Pick<CoreStore, 'tenants' | 'pages' | 'wabaConfigurations'>;
  /** Opens the tenant secrets (sealed with `sealTenantSecret`). */
  secretBox: SecretBox;
  /** How long a tenant or routing answer is reused; default 60 s, 0 disables caching. */
  ttlMs?: number;
  clock?: Clock;
}

export interface PageRoute {
  tenant: Tenant;
  page: FacebookPage;
}

export interface WabaRoute {
  tenant: Tenant;
  waba: WabaConfiguration;
}

export interface TenantRegistry {
  /** The active tenant; NotFoundError `tenant_not_found`, ForbiddenError `tenant_inactive`. */
  get(clientAccountId: string): Promise<Tenant>;
  /**
   * The active tenant holding an active registration of a Meta page id.
   * NotFoundError `page_not_found`; ForbiddenError `tenant_inactive` when only
   * suspended or archived tenants hold it; ConflictError `page_ambiguous`
   * when several active tenants do (route by tenant URL instead).
   */
  getByPageId(pageId: string): Promise<PageRoute>;
  /** By the business number, E.164 or WhatsApp id digits. NotFoundError `waba_not_found`. */
  getByWabaNumber(wabaNumber: string): Promise<WabaRoute>;
  /** By the Cloud API `phoneNumberId` of a webhook. NotFoundError `waba_not_found`. */
  getByPhoneNumberId(phoneNumberId: string): Promise<WabaRoute>;
  /** The Meta app secrets that may sign this tenant's webhooks: current first, then the one being rotated out. */
  metaAppSecrets(tenant: Tenant): string[];
  /** The webhook verification token, or null when none is configured. */
  metaVerifyToken(tenant: Tenant): string | null;
  /**
   * The Meta app secret of a Cloud API number with a Meta app of its own
   * (`providerConfig.appSecretEncrypted`, sealed as `meta_app_secret`), or
   * null when it has none and the tenant's secrets sign its webhooks.
   */
  wabaMetaAppSecret(waba: WabaConfiguration): string | null;
  /**
   * The webhook verification token of a Cloud API number with a Meta app of
   * its own (`providerConfig.verifyTokenEncrypted`, sealed as
   * `meta_verify_token`), or null when the tenant's token serves it.
   */
  wabaVerifyToken(waba: WabaConfiguration): string | null;
  /** The page access token for Graph calls, or null when the page has none (re-authorisation needed). */
  pageAccessToken(page: FacebookPage): string | null;
  /** The provider credentials: Gupshup API key or Cloud API access token. */
  wabaCredentials(waba: WabaConfiguration): string;
  /** The secret the provider's webhooks authenticate with, or null when none is configured. */
  wabaWebhookSecret(waba: WabaConfiguration): string | null;
  /** Forgets cached answers for one tenant, or everything when no id is given. */
  invalidate(clientAccountId?: string): void;
}

const copy = <T>(value: T): T => structuredClone(value);

function assertActive(tenant: Tenant): Tenant {
  if (tenant.status !== 'active') {
    throw new ForbiddenError('Tenant is not active', {
      code: 'tenant_inactive',
      details: { clientAccountId: tenant.id, status: tenant.status },
    });
  }
  return tenant;
}

/**
 * Resolves tenants and their routing keys (page id, WhatsApp number, Cloud
 * API phone number id) through the store, with a short TTL cache so a webhook
 * burst costs one lookup. Cached records hold sealed envelopes only: secrets
 * are opened on each accessor call and never kept or logged in plain text.
 * A status change reaches the cache after the TTL, or at once with `invalidate`.
 *
 * @example
 * const tenants = createTenantRegistry({ store, secretBox });
 * const { tenant } = await tenants.getByPageId(entry.id);
 * verifyMetaSignature(rawBody, header, tenants.metaAppSecrets(tenant));
 */
export function createTenantRegistry(options: TenantRegistryOptions): TenantRegistry {
  const { store, secretBox } = options;
  const cacheOptions = { ttlMs: options.ttlMs ?? 60_000, clock: options.clock ?? systemClock };
  // Tenants are cached whatever their status; the status check runs on every read.
  const tenants = createTtlCache<Tenant | null>(cacheOptions);
  const pageRoutes = createTtlCache<PageRoute[]>(cacheOptions);
  const wabaRoutes = createTtlCache<WabaRoute | null>(cacheOptions);

  const loadTenant = async (id: string) => {
    const tenant = await tenants.get(id, () => store.tenants.get(id));
    // Unknown ids are not remembered: a tenant created a moment later must resolve at once.
    if (!tenant) tenants.delete((key) => key === id);
    return tenant;
  };
  const requireTenant = async (id: string) => {
    const tenant = await loadTenant(id);
    if (!tenant) throw new NotFoundError('Tenant not found', { code: 'tenant_not_found' });
    return tenant;
  };
  const wabaNotFound = () =>
    new NotFoundError('No WhatsApp business number is configured for this id', {
      code: 'waba_not_found',
    });
  const routeWaba = async (
    key: string,
    find: () => Promise<WabaConfiguration | null>,
  ): Promise<WabaRoute> => {
    const route = await wabaRoutes.get(key, async () => {
      const waba = await find();
      return waba ? { waba, tenant: await requireTenant(waba.clientAccountId) } : null;
    });
    if (!route) {
      wabaRoutes.delete((k) => k === key); // a number configured a moment later must route at once
      throw wabaNotFound();
    }
    assertActive(route.tenant);
    return copy(route);
  };

  const openOptional = (clientAccountId: string, kind: TenantSecretKind, envelope: string | null) =>
    envelope === null ? null : openTenantSecret(secretBox, clientAccountId, kind, envelope);

  // A secret kept in a configuration's providerConfig (loose JSON): only a non-empty string counts.
  const openOwn = (clientAccountId: string, kind: TenantSecretKind, envelope: unknown) =>
    typeof envelope === 'string' && envelope.length > 0
      ? openTenantSecret(secretBox, clientAccountId, kind, envelope)
      : null;

  return {
    async get(clientAccountId) {
      return copy(assertActive(await requireTenant(clientAccountId)));
    },

    async getByPageId(pageId) {
      const routes = await pageRoutes.get(pageId, async () => {
        const pages = await store.pages.findByPageId(pageId);
        const resolved = await Promise.all(
          pages.map(async (page) => ({ page, tenant: await loadTenant(page.clientAccountId) })),
        );
        return resolved.filter((r): r is PageRoute => r.tenant !== null);
      });
      if (routes.length === 0) {
        pageRoutes.delete((k) => k === pageId);
        throw new NotFoundError('No active tenant page is registered for this page id', {
          code: 'page_not_found',
        });
      }
      const active = routes.filter((r) => r.tenant.status === 'active');
      if (active.length === 0) assertActive(routes[0]!.tenant);
      if (active.length > 1) {
        throw new ConflictError('Several active tenants registered this page id', {
          code: 'page_ambiguous',
          details: { pageId, clientAccountIds: active.map((r) => r.tenant.id) },
        });
      }
      return copy(active[0]!);
    },

    getByWabaNumber(wabaNumber) {
      const number = wabaNumber.startsWith('+') ? wabaNumber : `+${wabaNumber}`;
      return routeWaba(`number:${number}`, () => store.wabaConfigurations.findByNumber(number));
    },

    getByPhoneNumberId(phoneNumberId) {
      return routeWaba(`phone:${phoneNumberId}`, () =>
        store.wabaConfigurations.findByPhoneNumberId(phoneNumberId),
      );
    },

    metaAppSecrets(tenant) {
      return [tenant.facebookAppSecretEncrypted, tenant.facebookAppSecretPreviousEncrypted]
        .filter((envelope): envelope is string => envelope !== null)
        .map((envelope) => openTenantSecret(secretBox, tenant.id, 'meta_app_secret', envelope));
    },

    metaVerifyToken: (tenant) =>
      openOptional(tenant.id, 'meta_verify_token', tenant.metaVerifyTokenEncrypted),
    wabaMetaAppSecret: (waba) =>
      openOwn(waba.clientAccountId, 'meta_app_secret', waba.providerConfig.appSecretEncrypted),
    wabaVerifyToken: (waba) =>
      openOwn(waba.clientAccountId, 'meta_verify_token', waba.providerConfig.verifyTokenEncrypted),
    pageAccessToken: (page) =>
      openOptional(page.clientAccountId, 'page_access_token', page.accessTokenEncrypted),
    wabaCredentials: (waba) =>
      openTenantSecret(secretBox, waba.clientAccountId, 'waba_credentials', waba.credentialsEncrypted),
    wabaWebhookSecret: (waba) =>
      openOptional(waba.clientAccountId, 'waba_webhook_secret', waba.webhookSecretEncrypted),

    invalidate(clientAccountId) {
      if (clientAccountId === undefined) {
        tenants.delete();
        pageRoutes.delete();
        wabaRoutes.delete();
        return;
      }
      // Entries still loading (value undefined) are dropped too: they may hold the old state.
      tenants.delete((key) => key === clientAccountId);
      pageRoutes.delete((_, routes) => !routes || routes.some((r) => r.tenant.id === clientAccountId));
      wabaRoutes.delete((_, route) => route === undefined || route?.tenant.id === clientAccountId);
    },
  };
}
