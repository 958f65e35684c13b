import {
  type Clock,
  CORE_TABLES,
  type CoreStore,
  coreMigrations,
  createMemoryStore,
  createPostgresStore,
  createSecretBox,
  createTenantRegistry,
  type FacebookPage,
  generateSecretKey,
  migrate,
  type SecretBox,
  type SqlDatabase,
  type Tenant,
  type TenantRegistry,
} from '@leadrelay/core';
import { createGraphLeadsClient, type GraphLeadsClient } from '../src/graph/graph-leads-client.js';
import type { LeadgenInbox } from '../src/inbox/leadgen-inbox.js';
import { createMemoryLeadgenInbox } from '../src/inbox/memory-leadgen-inbox.js';
import { metaLeadsMigrations } from '../src/inbox/meta-leads-migrations.js';
import { createPostgresLeadgenInbox } from '../src/inbox/postgres-leadgen-inbox.js';
import {
  createMetaLeadsIntake,
  type MetaLeadEvent,
  type MetaLeadsIntake,
  type MetaLeadsIntakeOptions,
} from '../src/intake/meta-leads-intake.js';
import { createMetaOnboarding, type MetaOnboarding } from '../src/onboarding/meta-onboarding.js';
import { createCaptureLogger } from './capture-logger.js';
import { FIXTURE_APP_SECRET } from './fixtures.js';

export const GRAPH_BASE = 'https://graph.test';
export const PAGE_ID = '1110000000001';
export const PAGE_TOKEN = 'EAAG-page-token-1';
export const VERIFY_TOKEN = 'verify-token-123';

export interface IntakeHarness {
  store: CoreStore;
  inbox: LeadgenInbox;
  secretBox: SecretBox;
  registry: TenantRegistry;
  onboarding: MetaOnboarding;
  graph: GraphLeadsClient;
  tenant: Tenant;
  page: FacebookPage;
  intake: MetaLeadsIntake;
  leadsSeen: MetaLeadEvent[];
  logger: ReturnType<typeof createCaptureLogger>;
  /** Another intake over the same store and inbox (a second process). */
  makeIntake(overrides?: Partial<MetaLeadsIntakeOptions>): MetaLeadsIntake;
}

export interface HarnessOptions {
  /** Storage: memory store and inbox without it; core + meta-leads tables on it with it. */
  db?: SqlDatabase;
  clock?: Clock;
  intake?: Partial<MetaLeadsIntakeOptions>;
}

/** Empties every table of a shared test database. */
export async function resetDatabase(db: SqlDatabase): Promise<void> {
  await migrate(db, [...coreMigrations, ...metaLeadsMigrations]);
  await db.query(`TRUNCATE meta_leadgen_events, ${CORE_TABLES.join(', ')} CASCADE`);
}

/**
 * A tenant with a registered Meta app (the fixtures' app secret) and one page,
 * the registry, a Graph client pointed at the msw host, and an intake whose
 * onLead calls are collected.
 */
export async function createIntakeHarness(options: HarnessOptions = {}): Promise<IntakeHarness> {
  const clock = options.clock;
  const secretBox = createSecretBox({ keys: [{ id: 'k1', key: generateSecretKey() }] });
  let store: CoreStore;
  let inbox: LeadgenInbox;
  if (options.db) {
    await resetDatabase(options.db);
    store = createPostgresStore(options.db, clock ? { clock } : {});
    inbox = createPostgresLeadgenInbox(options.db);
  } else {
    store = createMemoryStore(clock ? { clock } : {});
    inbox = createMemoryLeadgenInbox();
  }
  const registry = createTenantRegistry({ store, secretBox, ...(clock ? { clock } : {}) });
  const graph = createGraphLeadsClient({
    baseUrl: GRAPH_BASE,
    retries: 1,
    minRetryDelayMs: 1,
    maxRetryDelayMs: 2,
  });
  const onboarding = createMetaOnboarding({ store, secretBox, graph, registry });
  const created = await store.tenants.create({ name: 'Acme Realty', defaultCountry: 'IN' });
  const tenant = await onboarding.registerApp(created.id, {
    appId: '1234567890',
    appSecret: FIXTURE_APP_SECRET,
    verifyToken: VERIFY_TOKEN,
  });
  const page = await onboarding.registerPage(tenant.id, {
    pageId: PAGE_ID,
    pageName: 'Acme',
    accessToken: PAGE_TOKEN,
  });
  const leadsSeen: MetaLeadEvent[] = [];
  const logger = createCaptureLogger();
  const makeIntake = (overrides: Partial<MetaLeadsIntakeOptions> = {}) =>
    createMetaLeadsIntake({
      store,
      registry,
      graph,
      inbox,
      logger,
      ...(clock ? { clock } : {}),
      onLead: (event) => {
        leadsSeen.push(event);
      },
      ...options.intake,
      ...overrides,
    });
  return {
    store,
    inbox,
    secretBox,
    registry,
    onboarding,
    graph,
    tenant,
    page,
    intake: makeIntake(),
    leadsSeen,
    logger,
    makeIntake,
  };
}
