import {
  type CoreStore,
  type FacebookPage,
  isLeadRelayError,
  NotFoundError,
  openTenantSecret,
  parseOrThrow,
  type SecretBox,
  sealTenantSecret,
  type Tenant,
} from '@leadrelay/core';
import { z } from 'zod';
import type { GraphLeadsClient } from '../graph/graph-leads-client.js';
import type { MetaLeadsRegistry } from '../intake/meta-leads-registry.js';

export interface MetaOnboardingOptions {
  store: CoreStore;
  secretBox: SecretBox;
  graph: GraphLeadsClient;
  /** Its cache is invalidated after every write, so webhooks see the change at once. */
  registry?: Pick<MetaLeadsRegistry, 'invalidate'>;
}

const metaId = z.string().regex(/^\d{1,32}$/, 'must be a numeric id string');

export const registerAppInputSchema = z.object({
  appId: metaId,
  appSecret: z.string().min(8).max(256),
  verifyToken: z.string().min(8).max(256),
});
export type RegisterAppInput = z.input<typeof registerAppInputSchema>;

export const registerPageInputSchema = z.object({
  pageId: metaId,
  pageName: z.string().max(255).nullish(),
  accessToken: z.string().min(1).max(4096),
  defaultCountry: z
    .string()
    .regex(/^[A-Za-z]{2}$/, 'must be an ISO 3166-1 alpha-2 country code')
    .nullish(),
});
export type RegisterPageInput = z.input<typeof registerPageInputSchema>;

export interface MetaOnboarding {
  /**
   * Stores the tenant's Meta app: id, secret and verify token, sealed. A new
   * secret moves the current one to `previous`, so webhooks signed with it
   * still verify during the rotation; the same secret again changes nothing.
   */
  registerApp(clientAccountId: string, input: RegisterAppInput): Promise<Tenant>;
  /** Stores (or updates) a page with its sealed token and marks it active again. */
  registerPage(clientAccountId: string, input: RegisterPageInput): Promise<FacebookPage>;
  /** Subscribes the app to the page's `leadgen` field and records `webhookSubscribed`. */
  subscribePage(clientAccountId: string, pageId: string): Promise<FacebookPage>;
}

/**
 * Registers a tenant's Meta app and pages and subscribes the pages to Lead
 * Ads webhooks. Every secret is sealed with the tenant-bound secret box
 * before it is stored.
 *
 * @example
 * const onboarding = createMetaOnboarding({ store, secretBox, graph, registry });
 * await onboarding.registerApp(tenant.id, { appId: '1234567890', appSecret, verifyToken });
 * await onboarding.registerPage(tenant.id, { pageId: '1110000000001', accessToken: pageToken });
 * await onboarding.subscribePage(tenant.id, '1110000000001');
 */
export function createMetaOnboarding(options: MetaOnboardingOptions): MetaOnboarding {
  const { store, secretBox, graph } = options;
  const invalidate = async (clientAccountId: string) => {
    await options.registry?.invalidate(clientAccountId);
  };

  async function tenantOf(clientAccountId: string): Promise<Tenant> {
    const tenant = await store.tenants.get(clientAccountId);
    if (!tenant) throw new NotFoundError('Unknown client', { code: 'tenant_not_found' });
    return tenant;
  }

  async function pageOf(clientAccountId: string, pageId: string): Promise<FacebookPage> {
    const page = await store.pages.getByPageId(clientAccountId, pageId);
    if (!page)
      throw new NotFoundError('This page is not registered for the client', { code: 'page_not_found' });
    return page;
  }

  return {
    async registerApp(clientAccountId, input) {
      const app = parseOrThrow(registerAppInputSchema, input, 'Meta app');
      const tenant = await tenantOf(clientAccountId);
      const current = tenant.facebookAppSecretEncrypted;
      let previous = tenant.facebookAppSecretPreviousEncrypted;
      let sealed = current;
      const currentPlain = current
        ? openTenantSecret(secretBox, tenant.id, 'meta_app_secret', current)
        : null;
      if (currentPlain !== app.appSecret) {
        sealed = sealTenantSecret(secretBox, tenant.id, 'meta_app_secret', app.appSecret);
        previous = current;
      }
      const updated = await store.tenants.update(tenant.id, {
        facebookAppId: app.appId,
        facebookAppSecretEncrypted: sealed,
        facebookAppSecretPreviousEncrypted: previous,
        metaVerifyTokenEncrypted: sealTenantSecret(
          secretBox,
          tenant.id,
          'meta_verify_token',
          app.verifyToken,
        ),
      });
      await invalidate(tenant.id);
      return updated;
    },

    async registerPage(clientAccountId, input) {
      const page = parseOrThrow(registerPageInputSchema, input, 'Facebook page');
      const tenant = await tenantOf(clientAccountId);
      const existing = await store.pages.getByPageId(tenant.id, page.pageId);
      const stored = await store.pages.upsert({
        clientAccountId: tenant.id,
        pageId: page.pageId,
        pageName: page.pageName ?? existing?.pageName ?? null,
        accessTokenEncrypted: sealTenantSecret(secretBox, tenant.id, 'page_access_token', page.accessToken),
        webhookSubscribed: existing?.webhookSubscribed ?? false,
        status: 'active',
        defaultCountry: page.defaultCountry?.toUpperCase() ?? existing?.defaultCountry ?? null,
      });
      await invalidate(tenant.id);
      return stored;
    },

    async subscribePage(clientAccountId, pageId) {
      const tenant = await tenantOf(clientAccountId);
      const page = await pageOf(tenant.id, pageId);
      if (!page.accessTokenEncrypted) {
        throw new NotFoundError('The page has no access token', { code: 'page_token_missing' });
      }
      const token = openTenantSecret(secretBox, tenant.id, 'page_access_token', page.accessTokenEncrypted);
      const appSecret = tenant.facebookAppSecretEncrypted
        ? openTenantSecret(secretBox, tenant.id, 'meta_app_secret', tenant.facebookAppSecretEncrypted)
        : undefined;
      try {
        await graph.subscribeApp(page.pageId, token, appSecret);
      } catch (error) {
        if (isLeadRelayError(error) && error.code === 'page_token_invalid') {
          await store.pages.update(tenant.id, page.id, { status: 'needs_reauth', webhookSubscribed: false });
          await invalidate(tenant.id);
        }
        throw error;
      }
      const updated = await store.pages.update(tenant.id, page.id, { webhookSubscribed: true });
      await invalidate(tenant.id);
      return updated;
    },
  };
}
