import {
  createMemoryStore,
  createSecretBox,
  createTenantRegistry,
  generateSecretKey,
  isLeadRelayError,
  openTenantSecret,
} from '@leadrelay/core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createGraphServer } from '../../test/graph-server.js';
import { createGraphLeadsClient } from '../graph/graph-leads-client.js';
import { type GraphRequestInfo, graphHandlers } from '../testing/graph-handlers.js';
import { createMetaOnboarding } from './meta-onboarding.js';

const GRAPH = 'https://graph.test';
const graphServer = createGraphServer();
beforeAll(() => graphServer.listen());
afterEach(() => graphServer.server.resetHandlers());
afterAll(() => graphServer.server.close());

async function setup() {
  const store = createMemoryStore();
  const secretBox = createSecretBox({ keys: [{ id: 'k1', key: generateSecretKey() }] });
  const registry = createTenantRegistry({ store, secretBox, ttlMs: 60_000 });
  const graph = createGraphLeadsClient({ baseUrl: GRAPH, retries: 0 });
  const onboarding = createMetaOnboarding({ store, secretBox, graph, registry });
  const tenant = await store.tenants.create({ name: 'Acme Realty' });
  return { store, secretBox, registry, onboarding, tenant };
}

describe('createMetaOnboarding.registerApp', () => {
  it('seals the secret and verify token bound to the tenant; the registry sees them at once', async () => {
    const { store, secretBox, registry, onboarding, tenant } = await setup();
    // Warm the registry cache with the tenant as it was.
    expect(registry.metaAppSecrets(await registry.get(tenant.id))).toEqual([]);
    const updated = await onboarding.registerApp(tenant.id, {
      appId: '1234567890',
      appSecret: 'app-secret-one',
      verifyToken: 'verify-token-1',
    });
    expect(updated.facebookAppId).toBe('1234567890');
    expect(updated.facebookAppSecretEncrypted).not.toContain('app-secret-one');
    expect(
      openTenantSecret(secretBox, tenant.id, 'meta_app_secret', updated.facebookAppSecretEncrypted!),
    ).toBe('app-secret-one');
    const stored = await store.tenants.get(tenant.id);
    expect(stored!.metaVerifyTokenEncrypted).not.toContain('verify-token-1');
    const cached = await registry.get(tenant.id);
    expect(registry.metaAppSecrets(cached)).toEqual(['app-secret-one']);
    expect(registry.metaVerifyToken(cached)).toBe('verify-token-1');
  });

  it('rotates: a new secret keeps the old one as previous; the same secret again changes nothing', async () => {
    const { registry, onboarding, tenant } = await setup();
    const app = { appId: '1234567890', verifyToken: 'verify-token-1' };
    await onboarding.registerApp(tenant.id, { ...app, appSecret: 'app-secret-one' });
    await onboarding.registerApp(tenant.id, { ...app, appSecret: 'app-secret-two' });
    expect(registry.metaAppSecrets(await registry.get(tenant.id))).toEqual([
      'app-secret-two',
      'app-secret-one',
    ]);
    await onboarding.registerApp(tenant.id, { ...app, appSecret: 'app-secret-two' });
    expect(registry.metaAppSecrets(await registry.get(tenant.id))).toEqual([
      'app-secret-two',
      'app-secret-one',
    ]);
    await onboarding.registerApp(tenant.id, { ...app, appSecret: 'app-secret-three' });
    expect(registry.metaAppSecrets(await registry.get(tenant.id))).toEqual([
      'app-secret-three',
      'app-secret-two',
    ]);
  });

  it('refuses bad input and unknown tenants', async () => {
    const { onboarding, tenant } = await setup();
    await expect(
      onboarding.registerApp(tenant.id, {
        appId: 'abc',
        appSecret: 'app-secret-one',
        verifyToken: 'verify-token-1',
      }),
    ).rejects.toMatchObject({ code: 'validation_failed', status: 400 });
    await expect(
      onboarding.registerApp('nobody', {
        appId: '1',
        appSecret: 'app-secret-one',
        verifyToken: 'verify-token-1',
      }),
    ).rejects.toMatchObject({ code: 'tenant_not_found', status: 404 });
  });
});

describe('createMetaOnboarding pages', () => {
  it('registers a page with a sealed token and country, and re-registering re-activates it', async () => {
    const { store, secretBox, registry, onboarding, tenant } = await setup();
    const page = await onboarding.registerPage(tenant.id, {
      pageId: '1110000000001',
      pageName: 'Acme',
      accessToken: 'page-token-1',
      defaultCountry: 'ae',
    });
    expect(page).toMatchObject({
      pageId: '1110000000001',
      status: 'active',
      defaultCountry: 'AE',
      webhookSubscribed: false,
    });
    expect(page.accessTokenEncrypted).not.toContain('page-token-1');
    expect(openTenantSecret(secretBox, tenant.id, 'page_access_token', page.accessTokenEncrypted!)).toBe(
      'page-token-1',
    );

    await store.pages.update(tenant.id, page.id, { status: 'needs_reauth' });
    const again = await onboarding.registerPage(tenant.id, {
      pageId: '1110000000001',
      accessToken: 'page-token-2',
    });
    expect(again).toMatchObject({ id: page.id, status: 'active', pageName: 'Acme', defaultCountry: 'AE' });
    expect(registry.pageAccessToken(again)).toBe('page-token-2');
  });

  it('subscribes the app to the page’s leadgen field and records it', async () => {
    const requests: GraphRequestInfo[] = [];
    graphServer.server.use(
      ...graphHandlers({
        baseUrl: GRAPH,
        accessTokens: ['page-token-1'],
        appSecret: 'app-secret-one',
        onRequest: (info) => {
          requests.push(info);
          return undefined;
        },
      }),
    );
    const { onboarding, tenant } = await setup();
    await onboarding.registerApp(tenant.id, {
      appId: '1',
      appSecret: 'app-secret-one',
      verifyToken: 'verify-token-1',
    });
    await onboarding.registerPage(tenant.id, { pageId: '1110000000001', accessToken: 'page-token-1' });
    const page = await onboarding.subscribePage(tenant.id, '1110000000001');
    expect(page.webhookSubscribed).toBe(true);
    expect(requests).toMatchObject([{ kind: 'subscribe', id: '1110000000001', accessToken: 'page-token-1' }]);
    expect(new URL(requests[0]!.request.url).searchParams.get('subscribed_fields')).toBe('leadgen');
  });

  it('marks the page for re-authorisation when Graph refuses its token', async () => {
    graphServer.server.use(...graphHandlers({ baseUrl: GRAPH, accessTokens: ['a-newer-token'] }));
    const { store, onboarding, tenant } = await setup();
    await onboarding.registerPage(tenant.id, { pageId: '1110000000001', accessToken: 'page-token-1' });
    const error = await onboarding.subscribePage(tenant.id, '1110000000001').catch((e: unknown) => e);
    expect(isLeadRelayError(error) && error.code).toBe('page_token_invalid');
    expect(await store.pages.getByPageId(tenant.id, '1110000000001')).toMatchObject({
      status: 'needs_reauth',
      webhookSubscribed: false,
    });
  });

  it('refuses to subscribe a page that is not registered', async () => {
    const { onboarding, tenant } = await setup();
    await expect(onboarding.subscribePage(tenant.id, '1110000000001')).rejects.toMatchObject({
      code: 'page_not_found',
    });
  });
});
