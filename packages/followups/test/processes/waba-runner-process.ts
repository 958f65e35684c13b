/**
 * A follow-up worker sending through the real waba client, for the crash test:
 * `node --import test-support/source-hooks.mjs waba-runner-process.ts`. Core's and waba's
 * Postgres stores, the Gupshup provider pointed at `PROVIDER_URL`, the
 * follow-ups runner on Postgres; settings from the environment. Prints `ready`
 * once it is running.
 */
import {
  createPostgresDatabase,
  createPostgresStore,
  createSecretBox,
  createTenantRegistry,
} from '@leadrelay/core';
import { createFollowUpRunner, createPostgresFollowUpStore, createWabaSender } from '@leadrelay/followups';
import { createGupshupProvider, createWabaClient } from '@leadrelay/waba';
import { runUntilTerminated } from './run-until-terminated.js';

const env = process.env;
const db = await createPostgresDatabase({
  connectionString: env.DATABASE_URL,
  // Commits need not wait for the disk: the test kills this process, never the server.
  poolConfig: { max: 10, options: `-c search_path=${env.FOLLOWUPS_SCHEMA} -c synchronous_commit=off` },
});
const core = createPostgresStore(db);
const waba = createWabaClient({
  store: core,
  registry: createTenantRegistry({
    store: core,
    secretBox: createSecretBox({ keys: [{ id: 'k1', key: env.SECRET_KEY! }] }),
  }),
  db,
  providers: [createGupshupProvider({ baseUrl: env.PROVIDER_URL!, timeoutMs: 10_000 })],
  marketingCap: null,
  // A claim left in flight by a killed worker turns unknown after this lease (default 5 min).
  idempotency: { leaseMs: Number(env.WABA_LEASE_MS), waitTimeoutMs: 200 },
});
const runner = createFollowUpRunner({
  store: createPostgresFollowUpStore(db, { channel: env.FOLLOWUPS_CHANNEL ?? 'leadrelay_followups' }),
  core,
  sender: createWabaSender(waba),
  batchSize: Number(env.BATCH_SIZE ?? 100),
  concurrency: Number(env.CONCURRENCY ?? 20),
  leaseMs: Number(env.LEASE_MS ?? 3000),
  pollIntervalMs: 200,
  backoff: { baseMs: 200, maxMs: 1000 },
});

await runUntilTerminated(runner, db);
