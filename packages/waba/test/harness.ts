import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  type Clock,
  type CoreStore,
  createMemoryStore,
  createSecretBox,
  createTenantRegistry,
  generateSecretKey,
  ProviderError,
  type SecretBox,
  type TenantRegistry,
  toNodeHandler,
  type WabaConfiguration,
} from '@leadrelay/core';
import { createManualClock, type ManualClock } from '@leadrelay/core/testing';
import { type SeededWabaTenant, type SeedWabaTenantOptions, seedWabaTenant } from '@leadrelay/waba/testing';
import { createWabaClient, type WabaClient, type WabaClientOptions } from '../src/client/waba-client.js';
import { createCloudApiProvider } from '../src/providers/cloud-api-provider.js';
import { createGupshupProvider } from '../src/providers/gupshup-provider.js';
import type { WabaStore } from '../src/store/waba-store.js';

export const GUPSHUP_BASE = 'https://gupshup.test';
export const GRAPH_BASE = 'https://graph.test';

export interface Harness extends SeededWabaTenant {
  store: CoreStore;
  registry: TenantRegistry;
  secretBox: SecretBox;
  clock: ManualClock;
  client: WabaClient;
}

export interface HarnessOptions {
  provider: 'gupshup' | 'cloud_api';
  store?: CoreStore;
  db?: WabaStore;
  clock?: ManualClock;
  /** Base URLs of the providers; default the `.test` hosts msw serves. */
  gupshupBaseUrl?: string;
  graphBaseUrl?: string;
  client?: Partial<WabaClientOptions>;
  /** Seeding choices (another number, when several harnesses share one database). */
  seed?: Pick<SeedWabaTenantOptions, 'tenant' | 'wabaNumber' | 'phoneNumberId' | 'appName'>;
}

/** A tenant with one number on a fresh store, and a client whose providers retry fast. */
export async function createHarness(options: HarnessOptions): Promise<Harness> {
  const clock = options.clock ?? createManualClock('2026-11-25T10:00:00Z');
  const store = options.store ?? createMemoryStore({ clock: clock as Clock });
  const secretBox = createSecretBox({ keys: [{ id: 'k1', key: generateSecretKey() }] });
  const registry = createTenantRegistry({ store, secretBox, ttlMs: 0 });
  const seeded = await seedWabaTenant({ store, secretBox, provider: options.provider, ...options.seed });
  const fast = { minRetryDelayMs: 1, maxRetryDelayMs: 5, timeoutMs: 2_000 };
  const client = createWabaClient({
    store,
    registry,
    clock,
    ...(options.db ? { db: options.db } : {}),
    providers: [
      createGupshupProvider({ baseUrl: options.gupshupBaseUrl ?? GUPSHUP_BASE, ...fast }),
      createCloudApiProvider({ baseUrl: options.graphBaseUrl ?? GRAPH_BASE, ...fast }),
    ],
    ...options.client,
  });
  return { ...seeded, store, registry, secretBox, clock, client };
}

/** Marks the lead as having written `hoursAgo` hours ago (opens the service window). */
export async function leadWrote(h: Harness, phone: string, hoursAgo: number, name = 'Priya') {
  const { lead } = await h.store.leads.upsertByPhone({
    clientAccountId: h.tenant.id,
    phone,
    name,
    source: 'WA Direct',
  });
  return h.store.leads.update(h.tenant.id, lead.id, {
    lastInboundAt: new Date(h.clock.now().getTime() - hoursAgo * 60 * 60 * 1000),
  });
}

/** Serves a Web handler over real HTTP on 127.0.0.1 through the Node adapter. */
export async function serve(
  handler: (request: Request) => Promise<Response>,
): Promise<{ url: string; close(): Promise<void> }> {
  const server = createServer(toNodeHandler(handler));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * msw's unhandled-frame policy for tests that also talk to local servers:
 * loopback requests pass, any other unhandled request fails (msw 3 names the
 * option `onUnhandledFrame`; `onUnhandledRequest` is ignored there).
 */
export function onlyLoopbackUnhandled({
  frame,
  defaults,
}: {
  frame: { data: unknown };
  defaults: { error(): void };
}): void {
  const request = (frame.data as { request?: Request }).request;
  const host = request ? new URL(request.url).hostname : '';
  if (host === '127.0.0.1') return;
  defaults.error();
  throw new Error(`Unhandled request to ${request?.url ?? 'an unknown frame'}`);
}

/** A WABA configuration record for provider unit tests (no store involved). */
export function wabaConfig(
  provider: 'gupshup' | 'cloud_api',
  overrides: Partial<WabaConfiguration> = {},
): WabaConfiguration {
  return {
    id: 'waba-1',
    clientAccountId: 'tenant-1',
    wabaNumber: provider === 'gupshup' ? '+917834811114' : '+919000000001',
    provider,
    displayName: null,
    credentialsEncrypted: 'sealed',
    webhookSecretEncrypted: null,
    providerConfig: provider === 'gupshup' ? { appName: 'AcmeBot' } : { phoneNumberId: '106540352242922' },
    businessProfile: {},
    messagesPerSecond: null,
    status: 'active',
    createdAt: new Date(),
    updatedAt: new Date(),
    ...overrides,
  };
}

/** The ProviderError a promise rejects with (fails the test when it resolves or throws something else). */
export async function providerFailure(promise: Promise<unknown>): Promise<ProviderError> {
  const error = await promise.then(
    () => {
      throw new Error('expected the send to fail');
    },
    (e: unknown) => e,
  );
  if (!(error instanceof ProviderError)) throw new Error(`expected a ProviderError, got ${String(error)}`);
  return error;
}
