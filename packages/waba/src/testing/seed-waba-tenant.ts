import {
  type CoreStore,
  type SecretBox,
  sealTenantSecret,
  type Tenant,
  type TenantInput,
  type WabaConfiguration,
} from '@leadrelay/core';

export interface SeedWabaTenantOptions {
  store: CoreStore;
  secretBox: SecretBox;
  provider: 'gupshup' | 'cloud_api';
  tenant?: Partial<TenantInput>;
  /** Default `+919000000001`. */
  wabaNumber?: string;
  /** Gupshup API key or Cloud API token. */
  credentials?: string;
  /** The Gupshup callback secret. */
  webhookSecret?: string;
  /** The Meta app secret that signs Cloud API webhooks. */
  appSecret?: string;
  verifyToken?: string;
  /** Cloud API; default `106540352242922` (the fixtures' number). */
  phoneNumberId?: string;
  /** Gupshup; default `AcmeBot` (the fixtures' app). */
  appName?: string;
  messagesPerSecond?: number | null;
}

export interface SeededWabaTenant {
  tenant: Tenant;
  waba: WabaConfiguration;
  secrets: { credentials: string; webhookSecret: string; appSecret: string; verifyToken: string };
}

/**
 * Creates a tenant with one WhatsApp number and every secret sealed as in
 * production, for tests and demos.
 *
 * @example const { tenant, waba, secrets } = await seedWabaTenant({ store, secretBox, provider: 'gupshup' });
 */
export async function seedWabaTenant(options: SeedWabaTenantOptions): Promise<SeededWabaTenant> {
  const { store, secretBox } = options;
  const secrets = {
    credentials: options.credentials ?? 'test-provider-key',
    webhookSecret: options.webhookSecret ?? 'test-webhook-secret',
    appSecret: options.appSecret ?? 'fixture-app-secret-4f1c2b9a',
    verifyToken: options.verifyToken ?? 'test-verify-token',
  };
  const created = await store.tenants.create({
    name: 'Acme Realty',
    defaultCountry: 'IN',
    ...options.tenant,
  });
  const tenant = await store.tenants.update(created.id, {
    facebookAppSecretEncrypted: sealTenantSecret(secretBox, created.id, 'meta_app_secret', secrets.appSecret),
    metaVerifyTokenEncrypted: sealTenantSecret(
      secretBox,
      created.id,
      'meta_verify_token',
      secrets.verifyToken,
    ),
  });
  const waba = await store.wabaConfigurations.create({
    clientAccountId: tenant.id,
    wabaNumber: options.wabaNumber ?? '+919000000001',
    provider: options.provider,
    credentialsEncrypted: sealTenantSecret(secretBox, tenant.id, 'waba_credentials', secrets.credentials),
    webhookSecretEncrypted: sealTenantSecret(
      secretBox,
      tenant.id,
      'waba_webhook_secret',
      secrets.webhookSecret,
    ),
    providerConfig:
      options.provider === 'gupshup'
        ? { appName: options.appName ?? 'AcmeBot' }
        : { phoneNumberId: options.phoneNumberId ?? '106540352242922', businessAccountId: '102290129340398' },
    messagesPerSecond: options.messagesPerSecond ?? null,
  });
  return { tenant, waba, secrets };
}
