import {
  type Clock,
  coreMigrations,
  createInboxProcessor,
  createPostgresInbox,
  createPostgresStore,
  createSecretBox,
  createTenantRegistry,
  errorResponse,
  type InboxEvent,
  type Lead,
  type Logger,
  migrate,
  NotFoundError,
  noopLogger,
  type SecretBox,
  type SqlDatabase,
  systemClock,
  type Tenant,
} from '@leadrelay/core';
import {
  createFollowUpRunner,
  createFollowUps,
  createPostgresFollowUpStore,
  createWabaSender,
  type FollowUpStore,
  type FollowUps,
  followupsMigrations,
} from '@leadrelay/followups';
import {
  createGraphLeadsClient,
  createMetaLeadsIntake,
  createMetaWebhookHandler,
  type MetaLeadsIntake,
  metaLeadsMigrations,
} from '@leadrelay/meta-leads';
import {
  createCloudApiProvider,
  createCloudWebhookHandler,
  createGupshupProvider,
  createGupshupWebhookHandler,
  createWabaClient,
  type WabaClient,
  type WabaEvent,
  wabaMigrations,
} from '@leadrelay/waba';
import { applyInboundToFollowUps } from './flows/inbound.js';
import { sendWelcome } from './flows/welcome.js';
import { createAdminApi } from './http/admin-api.js';
import { docsPage, openApiDocument } from './http/openapi.js';
import { handleWebsiteLead } from './http/website-intake.js';
import {
  appMigrations,
  createPostgresTenantSettings,
  type TenantSettingsStore,
} from './settings/tenant-settings.js';

export interface LeadRelayHooks {
  /** A new lead's flow is done (welcome sent or not, enrolled); at least once per lead. */
  onLead?(event: { tenant: Tenant; lead: Lead; welcomed: boolean }): void | Promise<void>;
  /** A WhatsApp event was applied (and follow-ups told); at least once per event. */
  onMessage?(event: WabaEvent): void | Promise<void>;
}

export interface LeadRelayOptions {
  /** Postgres or PGlite; every part keeps its state here. */
  db: SqlDatabase;
  /** The keys that seal tenant secrets (the newest first), or a secret box. */
  secretKeys?: { id: string; key: string | Uint8Array }[];
  secretBox?: SecretBox;
  /** Base URLs of the providers: production's by default, emulators in tests and the demo. */
  graph?: { baseUrl?: string; apiVersion?: string };
  gupshup?: { baseUrl?: string };
  cloudApi?: { baseUrl?: string; apiVersion?: string };
  logger?: Logger;
  clock?: Clock;
  hooks?: LeadRelayHooks;
  /** Apply every package's migrations when created (default true). */
  migrate?: boolean;
  /** How often the background work polls for due work; default 1 s. */
  pollIntervalMs?: number;
  /** Bearer token of the operator API under `/api/admin`; without it that API is off (404). */
  adminToken?: string;
}

export interface LeadRelay {
  /** Serves every route: webhooks, website intake, the admin API, health. Mount it anywhere that speaks Web `Request`. */
  fetch(request: Request): Promise<Response>;
  /** Runs the background work: Lead Ads intake, inbound WhatsApp events, the new-lead flow, follow-ups. */
  start(): void;
  /** Stops the background work and waits for what is in hand. The database stays open. */
  stop(): Promise<void>;
  /** Applies everything due now (tests, scripts). */
  drain(): Promise<void>;
  readonly parts: {
    secretBox: SecretBox;
    store: ReturnType<typeof createPostgresStore>;
    registry: ReturnType<typeof createTenantRegistry>;
    settings: TenantSettingsStore;
    waba: WabaClient;
    metaLeads: MetaLeadsIntake;
    followUps: FollowUps;
    followUpStore: FollowUpStore;
  };
}

const APP_TOPIC = 'app';

interface NewLeadPayload {
  type: 'new_lead';
  leadId: string;
}

const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json; charset=utf-8' },
  });

/**
 * The whole product as one object: every package built from one set of
 * options, the flows between them, and one `fetch` handler.
 *
 * - A new lead from any source (Lead Ads, WhatsApp, website, referral) is
 *   stored once per tenant and phone; a lead from an outside source gets the
 *   tenant's welcome template once; then it is enrolled in every matching
 *   campaign. The flow runs from a durable inbox row (topic `app`, one per
 *   lead), so a crash neither loses nor repeats it.
 * - An inbound WhatsApp message opens the window and stops the follow-ups
 *   waiting for a reply; an opt-out ends every enrolment; a delivery status
 *   reaches the campaign's statistics.
 *
 * @example
 * const relay = await createLeadRelay({ db, secretKeys: [{ id: 'k1', key: process.env.LEADRELAY_MASTER_KEY! }] });
 * relay.start();
 * app.use(toNodeHandler(relay.fetch));
 */
export async function createLeadRelay(options: LeadRelayOptions): Promise<LeadRelay> {
  const { db } = options;
  const clock = options.clock ?? systemClock;
  const logger = options.logger ?? noopLogger;
  const pollIntervalMs = options.pollIntervalMs ?? 1_000;
  if (options.migrate !== false) {
    await migrate(db, [
      ...coreMigrations,
      ...metaLeadsMigrations,
      ...wabaMigrations,
      ...followupsMigrations,
      ...appMigrations,
    ]);
  }
  const secretBox =
    options.secretBox ??
    createSecretBox({
      keys: options.secretKeys ?? [],
    });
  const store = createPostgresStore(db, { clock });
  const registry = createTenantRegistry({ store, secretBox, clock });
  const settings = createPostgresTenantSettings(db);
  const appInbox = createPostgresInbox(db);

  let waba: WabaClient;
  const followStore = createPostgresFollowUpStore(db);
  const hooks = options.hooks ?? {};

  async function recordNewLead(clientAccountId: string, leadId: string): Promise<void> {
    const { recorded } = await appInbox.record(
      [
        {
          topic: APP_TOPIC,
          clientAccountId,
          // One new-lead flow per lead, whichever sources it arrives from.
          dedupeKey: `new_lead:${leadId}`,
          orderKey: leadId,
          payload: { type: 'new_lead', leadId } satisfies NewLeadPayload,
        },
      ],
      clock.now(),
    );
    if (recorded.length > 0) processSoon(clientAccountId);
  }

  waba = createWabaClient({
    store,
    registry,
    db,
    clock,
    logger: logger.child({ component: 'waba' }),
    providers: [
      createGupshupProvider({
        logger,
        ...(options.gupshup?.baseUrl ? { baseUrl: options.gupshup.baseUrl } : {}),
      }),
      createCloudApiProvider({
        logger,
        ...(options.cloudApi?.baseUrl ? { baseUrl: options.cloudApi.baseUrl } : {}),
        ...(options.cloudApi?.apiVersion ? { apiVersion: options.cloudApi.apiVersion } : {}),
      }),
    ],
    async onEvent(event) {
      if (event.type === 'message' && event.leadCreated) await recordNewLead(event.tenant.id, event.lead.id);
      await applyInboundToFollowUps(followUps, event, logger);
      await hooks.onMessage?.(event);
    },
  });
  const sender = createWabaSender(waba);
  const followUps = createFollowUps({ store: followStore, core: store, sender, clock, logger });
  const runner = createFollowUpRunner({
    store: followStore,
    core: store,
    sender,
    clock,
    logger,
    pollIntervalMs,
  });

  const graph = createGraphLeadsClient({
    logger,
    ...(options.graph?.baseUrl ? { baseUrl: options.graph.baseUrl } : {}),
    ...(options.graph?.apiVersion ? { apiVersion: options.graph.apiVersion } : {}),
  });
  const metaLeads = createMetaLeadsIntake({
    store,
    registry,
    db,
    clock,
    logger: logger.child({ component: 'meta-leads' }),
    graph,
    // Runs before the leadgen event is done: the new-lead flow is recorded durably first.
    onLead: ({ clientAccountId, lead }) => recordNewLead(clientAccountId, lead.id),
  });

  async function applyAppEvent(row: InboxEvent): Promise<void> {
    const payload = row.payload as NewLeadPayload;
    const lead = await store.leads.get(row.clientAccountId, payload.leadId);
    if (!lead) return; // deleted meanwhile: nothing to welcome
    const tenant = await registry.get(row.clientAccountId);
    const welcomed = await sendWelcome(
      { waba, logger, now: () => clock.now() },
      lead,
      await settings.get(tenant.id),
    );
    await followUps.handleLeadEvent({
      type: 'lead_created',
      tenant: tenant.id,
      leadId: lead.id,
      at: lead.createdAt,
    });
    if (welcomed)
      await followUps.handleLeadEvent({ type: 'outbound_message', tenant: tenant.id, leadId: lead.id });
    await hooks.onLead?.({ tenant, lead: (await store.leads.get(tenant.id, lead.id)) ?? lead, welcomed });
  }

  const processor = createInboxProcessor({
    inbox: appInbox,
    topic: APP_TOPIC,
    handle: applyAppEvent,
    clock,
    logger: logger.child({ component: 'app' }),
  });
  const passes = new Set<Promise<unknown>>();
  function processSoon(clientAccountId: string): void {
    const pass = processor
      .drain({ clientAccountId })
      .catch((error: unknown) => logger.error({ err: error }, 'new-lead processing failed'))
      .finally(() => passes.delete(pass));
    passes.add(pass);
  }

  const metaHandler = createMetaWebhookHandler(metaLeads, { clientId: '/api/meta/webhook/:clientId' });
  const cloudHandler = createCloudWebhookHandler({ client: waba, logger });
  const gupshupHandler = createGupshupWebhookHandler({ client: waba, logger });
  const admin = createAdminApi({
    adminToken: options.adminToken,
    store,
    registry,
    secretBox,
    settings,
    waba,
    followUps,
    graph,
    clock,
  });
  const apiDocument = openApiDocument();
  let started = false;

  async function route(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const path = url.pathname.replace(/\/+$/, '') || '/';
    if (path === '/healthz') return json(200, { status: 'ok' });
    if (path === '/readyz') {
      try {
        await db.query('SELECT 1');
        return json(200, { status: 'ready', background: started ? 'running' : 'stopped' });
      } catch {
        return json(503, { status: 'unavailable', reason: 'database' });
      }
    }
    if (path === '/openapi.json') return json(200, apiDocument);
    if (path === '/docs') {
      return new Response(docsPage(apiDocument), { headers: { 'content-type': 'text/html; charset=utf-8' } });
    }
    if (path.startsWith('/api/admin/')) return admin(request, path);
    if (/^\/api\/meta\/webhook\/[^/]+$/.test(path)) return metaHandler(request);
    const wabaRoute = /^\/api\/waba\/webhook\/([^/]+)$/.exec(path);
    if (wabaRoute) {
      // One route per tenant whatever its provider: the Cloud API signs its callbacks, Gupshup carries a token.
      const cloud = request.method === 'GET' || request.headers.has('x-hub-signature-256');
      return (cloud ? cloudHandler : gupshupHandler)(request);
    }
    const leadsRoute = /^\/api\/leads\/([^/]+)$/.exec(path);
    if (leadsRoute) {
      return handleWebsiteLead(
        { store, registry, settings, recordNewLead },
        request,
        decodeURIComponent(leadsRoute[1]!),
      );
    }
    return errorResponse(
      new NotFoundError(`No route for ${request.method} ${path}`, { code: 'route_not_found' }),
    );
  }

  return {
    fetch: route,
    start() {
      if (started) return;
      started = true;
      metaLeads.start({ pollIntervalMs: Math.max(pollIntervalMs, 1_000) });
      waba.inbound.start({ pollIntervalMs });
      processor.start({ pollIntervalMs });
      void runner.start();
    },
    async stop() {
      started = false;
      await Promise.all([metaLeads.stop(), waba.inbound.stop(), processor.stop(), runner.stop()]);
      await Promise.allSettled([...passes]);
    },
    async drain() {
      for (let round = 0; round < 10; round++) {
        await metaLeads.drain();
        await waba.idle();
        while (passes.size > 0) await Promise.allSettled([...passes]);
        const result = await processor.drain();
        await waba.idle();
        if (result.done + result.retried + result.dead === 0) return;
      }
    },
    parts: { secretBox, store, registry, settings, waba, metaLeads, followUps, followUpStore: followStore },
  };
}
