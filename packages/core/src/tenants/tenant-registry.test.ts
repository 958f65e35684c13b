import { beforeEach, describe, expect, it } from 'vitest';
import {
  createSecretBox,
  generateSecretKey,
  SecretDecryptionError,
  sealTenantSecret,
} from '../crypto/secret-box.js';
import { ConflictError, ForbiddenError, NotFoundError } from '../errors/errors.js';
import { createManualClock, type ManualClock } from '../observability/clock.js';
import type { Tenant } from '../schemas/domain.js';
import { createMemoryStore } from '../storage/memory-store.js';
import type { CoreStore } from '../storage/ports.js';
import { createTenantRegistry, type TenantRegistry } from './tenant-registry.js';

type RegistryStore = Pick<CoreStore, 'tenants' | 'pages' | 'wabaConfigurations'>;

/** Wraps the repositories the registry reads so tests can count store round trips. */
function counting(store: CoreStore): { store: RegistryStore; calls: Map<string, number> } {
  const calls = new Map<string, number>();
  const wrap = <R extends object>(name: string, repo: R): R =>
    new Proxy(repo, {
      get(target, prop) {
        const value = Reflect.get(target, prop);
        if (typeof value !== 'function') return value;
        return (...args: unknown[]) => {
          const key = `${name}.${String(prop)}`;
          calls.set(key, (calls.get(key) ?? 0) + 1);
          return value.apply(target, args);
        };
      },
    });
  return {
    store: {
      tenants: wrap('tenants', store.tenants),
      pages: wrap('pages', store.pages),
      wabaConfigurations: wrap('wabaConfigurations', store.wabaConfigurations),
    },
    calls,
  };
}

const TTL = 60_000;
const PAGE_ID = '104857600001';
const PHONE_NUMBER_ID = '209384756001';
const WABA_NUMBER = '+919800000001';

describe('createTenantRegistry', () => {
  const box = createSecretBox({ keys: [{ id: 'k1', key: generateSecretKey() }] });
  let store: CoreStore;
  let calls: Map<string, number>;
  let clock: ManualClock;
  let registry: TenantRegistry;
  let tenant: Tenant;

  beforeEach(async () => {
    clock = createManualClock('2026-11-25T09:00:00Z');
    store = createMemoryStore({ clock });
    const wrapped = counting(store);
    calls = wrapped.calls;
    registry = createTenantRegistry({ store: wrapped.store, secretBox: box, ttlMs: TTL, clock });

    const created = await store.tenants.create({ name: 'Acme Realty' });
    tenant = await store.tenants.update(created.id, {
      facebookAppSecretEncrypted: sealTenantSecret(box, created.id, 'meta_app_secret', 'app-secret-new'),
      facebookAppSecretPreviousEncrypted: sealTenantSecret(
        box,
        created.id,
        'meta_app_secret',
        'app-secret-old',
      ),
      metaVerifyTokenEncrypted: sealTenantSecret(box, created.id, 'meta_verify_token', 'verify-me'),
    });
    await store.pages.upsert({
      clientAccountId: tenant.id,
      pageId: PAGE_ID,
      accessTokenEncrypted: sealTenantSecret(box, tenant.id, 'page_access_token', 'page-token'),
    });
    await store.wabaConfigurations.create({
      clientAccountId: tenant.id,
      wabaNumber: WABA_NUMBER,
      provider: 'cloud_api',
      credentialsEncrypted: sealTenantSecret(box, tenant.id, 'waba_credentials', 'cloud-token'),
      webhookSecretEncrypted: sealTenantSecret(box, tenant.id, 'waba_webhook_secret', 'hook-secret'),
      providerConfig: { phoneNumberId: PHONE_NUMBER_ID },
    });
  });

  describe('lookups', () => {
    it('resolves a tenant, a page id, a WhatsApp number (E.164 or digits) and a phone number id', async () => {
      expect(await registry.get(tenant.id)).toEqual(tenant);
      const byPage = await registry.getByPageId(PAGE_ID);
      expect(byPage.tenant).toEqual(tenant);
      expect(byPage.page).toMatchObject({ pageId: PAGE_ID, clientAccountId: tenant.id });
      const byNumber = await registry.getByWabaNumber(WABA_NUMBER);
      expect(byNumber.tenant.id).toBe(tenant.id);
      expect(byNumber.waba.wabaNumber).toBe(WABA_NUMBER);
      expect((await registry.getByWabaNumber('919800000001')).waba.id).toBe(byNumber.waba.id);
      expect((await registry.getByPhoneNumberId(PHONE_NUMBER_ID)).waba.id).toBe(byNumber.waba.id);
    });

    it('answers unknown keys with NotFoundErrors and does not remember the miss', async () => {
      await expect(registry.get('missing')).rejects.toMatchObject({ code: 'tenant_not_found', status: 404 });
      await expect(registry.getByPageId('999')).rejects.toMatchObject({
        code: 'page_not_found',
        status: 404,
      });
      await expect(registry.getByWabaNumber('+919899999999')).rejects.toMatchObject({
        code: 'waba_not_found',
      });
      await expect(registry.getByPhoneNumberId('555')).rejects.toBeInstanceOf(NotFoundError);

      // Onboarded right after the miss: resolves without waiting for a TTL or an invalidate.
      const late = await store.tenants.create({ id: 'missing', name: 'Late' });
      await store.pages.upsert({ clientAccountId: late.id, pageId: '999' });
      await store.wabaConfigurations.create({
        clientAccountId: late.id,
        wabaNumber: '+919899999999',
        provider: 'gupshup',
        credentialsEncrypted: 'x',
      });
      expect((await registry.get('missing')).name).toBe('Late');
      expect((await registry.getByPageId('999')).tenant.id).toBe('missing');
      expect((await registry.getByWabaNumber('+919899999999')).tenant.id).toBe('missing');
    });

    it('refuses suspended and archived tenants with ForbiddenError tenant_inactive', async () => {
      await store.tenants.update(tenant.id, { status: 'suspended' });
      for (const lookup of [
        () => registry.get(tenant.id),
        () => registry.getByPageId(PAGE_ID),
        () => registry.getByWabaNumber(WABA_NUMBER),
        () => registry.getByPhoneNumberId(PHONE_NUMBER_ID),
      ]) {
        const error = await lookup().catch((e) => e);
        expect(error).toBeInstanceOf(ForbiddenError);
        expect(error).toMatchObject({
          code: 'tenant_inactive',
          status: 403,
          details: { status: 'suspended' },
        });
      }
      await store.tenants.update(tenant.id, { status: 'archived' });
      registry.invalidate(tenant.id);
      await expect(registry.get(tenant.id)).rejects.toMatchObject({ code: 'tenant_inactive' });
    });

    it('routes a page held by several tenants to the only active one, and refuses to guess between active ones', async () => {
      const other = await store.tenants.create({ name: 'Other', status: 'suspended' });
      await store.pages.upsert({ clientAccountId: other.id, pageId: PAGE_ID });
      expect((await registry.getByPageId(PAGE_ID)).tenant.id).toBe(tenant.id);

      await store.tenants.update(other.id, { status: 'active' });
      registry.invalidate(other.id);
      const error = await registry.getByPageId(PAGE_ID).catch((e) => e);
      expect(error).toBeInstanceOf(ConflictError);
      expect(error).toMatchObject({ code: 'page_ambiguous' });
      expect(error.details.clientAccountIds.sort()).toEqual([tenant.id, other.id].sort());
    });

    it('hands out copies: mutating a result does not change what the next caller sees', async () => {
      const first = await registry.get(tenant.id);
      first.status = 'archived';
      first.settings.hacked = true;
      const route = await registry.getByPageId(PAGE_ID);
      route.page.accessTokenEncrypted = null;
      expect(await registry.get(tenant.id)).toEqual(tenant);
      expect((await registry.getByPageId(PAGE_ID)).page.accessTokenEncrypted).not.toBeNull();
    });
  });

  describe('cache', () => {
    it('serves repeated lookups within the TTL from memory', async () => {
      for (let i = 0; i < 5; i++) {
        await registry.get(tenant.id);
        await registry.getByPageId(PAGE_ID);
        await registry.getByWabaNumber(WABA_NUMBER);
        await registry.getByPhoneNumberId(PHONE_NUMBER_ID);
        clock.advance(TTL / 10);
      }
      expect(calls.get('tenants.get')).toBe(1);
      expect(calls.get('pages.findByPageId')).toBe(1);
      expect(calls.get('wabaConfigurations.findByNumber')).toBe(1);
      expect(calls.get('wabaConfigurations.findByPhoneNumberId')).toBe(1);
    });

    it('shares one store call between concurrent lookups', async () => {
      await Promise.all(Array.from({ length: 10 }, () => registry.get(tenant.id)));
      expect(calls.get('tenants.get')).toBe(1);
    });

    it('loads again once the TTL has passed, and sees changes then', async () => {
      await registry.getByPageId(PAGE_ID);
      await store.tenants.update(tenant.id, { name: 'Renamed' });
      clock.advance(TTL - 1);
      expect((await registry.get(tenant.id)).name).toBe('Acme Realty');
      expect(calls.get('tenants.get')).toBe(1);
      clock.advance(1);
      expect((await registry.get(tenant.id)).name).toBe('Renamed');
      expect((await registry.getByPageId(PAGE_ID)).tenant.name).toBe('Renamed');
      expect(calls.get('tenants.get')).toBe(2);
      expect(calls.get('pages.findByPageId')).toBe(2);
    });

    it('invalidate(id) forgets one tenant and its routes; invalidate() forgets everything', async () => {
      const other = await store.tenants.create({ name: 'Other' });
      await registry.get(tenant.id);
      await registry.get(other.id);
      await registry.getByWabaNumber(WABA_NUMBER);
      await store.tenants.update(tenant.id, { name: 'Renamed' });

      registry.invalidate(other.id);
      expect((await registry.get(tenant.id)).name).toBe('Acme Realty');
      expect(calls.get('tenants.get')).toBe(2);

      registry.invalidate(tenant.id);
      expect((await registry.get(tenant.id)).name).toBe('Renamed');
      expect((await registry.getByWabaNumber(WABA_NUMBER)).tenant.name).toBe('Renamed');
      expect(calls.get('wabaConfigurations.findByNumber')).toBe(2);

      registry.invalidate();
      await registry.get(other.id);
      await registry.getByWabaNumber(WABA_NUMBER);
      expect(calls.get('wabaConfigurations.findByNumber')).toBe(3);
      expect(calls.get('tenants.get')).toBe(5); // the route reload reuses the tenant just loaded
    });

    it('does not cache at all with ttlMs 0', async () => {
      const uncached = createTenantRegistry({
        store: counting(store).store,
        secretBox: box,
        ttlMs: 0,
        clock,
      });
      await store.tenants.update(tenant.id, { name: 'First' });
      expect((await uncached.get(tenant.id)).name).toBe('First');
      await store.tenants.update(tenant.id, { name: 'Second' });
      expect((await uncached.get(tenant.id)).name).toBe('Second');
    });
  });

  describe('secrets', () => {
    it('opens each tenant secret on use', async () => {
      const current = await registry.get(tenant.id);
      expect(registry.metaAppSecrets(current)).toEqual(['app-secret-new', 'app-secret-old']);
      expect(registry.metaVerifyToken(current)).toBe('verify-me');
      const { page } = await registry.getByPageId(PAGE_ID);
      expect(registry.pageAccessToken(page)).toBe('page-token');
      const { waba } = await registry.getByPhoneNumberId(PHONE_NUMBER_ID);
      expect(registry.wabaCredentials(waba)).toBe('cloud-token');
      expect(registry.wabaWebhookSecret(waba)).toBe('hook-secret');
    });

    it('skips absent secrets and answers null for optional ones', async () => {
      const bare = await store.tenants.create({ name: 'Bare' });
      expect(registry.metaAppSecrets(bare)).toEqual([]);
      expect(registry.metaVerifyToken(bare)).toBeNull();
      const onlyPrevious = await store.tenants.update(bare.id, {
        facebookAppSecretPreviousEncrypted: sealTenantSecret(box, bare.id, 'meta_app_secret', 'old-only'),
      });
      expect(registry.metaAppSecrets(onlyPrevious)).toEqual(['old-only']);
      const page = await store.pages.upsert({ clientAccountId: bare.id, pageId: '777' });
      expect(registry.pageAccessToken(page)).toBeNull();
      const waba = await store.wabaConfigurations.create({
        clientAccountId: bare.id,
        wabaNumber: '+919800000077',
        provider: 'gupshup',
        credentialsEncrypted: sealTenantSecret(box, bare.id, 'waba_credentials', 'gs-key'),
      });
      expect(registry.wabaCredentials(waba)).toBe('gs-key');
      expect(registry.wabaWebhookSecret(waba)).toBeNull();
    });

    it('keeps only sealed envelopes in what it caches and returns', async () => {
      const route = await registry.getByPhoneNumberId(PHONE_NUMBER_ID);
      const pageRoute = await registry.getByPageId(PAGE_ID);
      const serialised = JSON.stringify([route, pageRoute, await registry.get(tenant.id)]);
      for (const plain of [
        'app-secret-new',
        'app-secret-old',
        'verify-me',
        'page-token',
        'cloud-token',
        'hook-secret',
      ]) {
        expect(serialised).not.toContain(plain);
      }
    });

    it('refuses an envelope sealed for another tenant or another kind of secret', async () => {
      const other = await store.tenants.create({ name: 'Other' });
      const stolen = await store.tenants.update(other.id, {
        facebookAppSecretEncrypted: tenant.facebookAppSecretEncrypted,
        metaVerifyTokenEncrypted: tenant.metaVerifyTokenEncrypted,
      });
      const error = (() => {
        try {
          registry.metaAppSecrets(stolen);
        } catch (e) {
          return e;
        }
      })();
      expect(error).toBeInstanceOf(SecretDecryptionError);
      expect(error).toMatchObject({ code: 'secret_tampered' });
      expect(() => registry.metaVerifyToken(stolen)).toThrow(SecretDecryptionError);

      const swapped = { ...tenant, metaVerifyTokenEncrypted: tenant.facebookAppSecretEncrypted };
      expect(() => registry.metaVerifyToken(swapped)).toThrow(SecretDecryptionError);
      const { page } = await registry.getByPageId(PAGE_ID);
      expect(() => registry.pageAccessToken({ ...page, clientAccountId: other.id })).toThrow(
        SecretDecryptionError,
      );
      const { waba } = await registry.getByWabaNumber(WABA_NUMBER);
      expect(() =>
        registry.wabaCredentials({ ...waba, credentialsEncrypted: waba.webhookSecretEncrypted! }),
      ).toThrow(SecretDecryptionError);
    });
  });
});
