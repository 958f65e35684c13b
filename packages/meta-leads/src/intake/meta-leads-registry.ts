import type { FacebookPage, Tenant } from '@leadrelay/core';

type MaybePromise<T> = T | Promise<T>;

/**
 * The part of core's `TenantRegistry` this package uses: cached tenants and
 * their opened secrets. Core's registry satisfies it as is; a test or an
 * embedding may pass anything with the same methods.
 */
export interface MetaLeadsRegistry {
  /** The tenant, or a `NotFoundError` (code `tenant_not_found`). */
  get(clientAccountId: string): MaybePromise<Tenant>;
  /** The app secrets that verify webhooks: current first, then the one being rotated out. */
  metaAppSecrets(tenant: Tenant): MaybePromise<string[]>;
  metaVerifyToken(tenant: Tenant): MaybePromise<string | null>;
  pageAccessToken(page: FacebookPage): MaybePromise<string | null>;
  /** Drops cached data of one tenant, or of all. */
  invalidate(clientAccountId?: string): MaybePromise<void>;
}
