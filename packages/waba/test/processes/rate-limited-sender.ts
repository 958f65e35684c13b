/**
 * A sender in its own process, for the cross-process rate limit test:
 * `node --import test-support/source-hooks.mjs rate-limited-sender.ts`. It
 * builds two clients over the shared Postgres database and prints `ready`. On
 * `shared` or `local` (stdin) it sends COUNT texts at once from the tenant's
 * number through the Cloud API at GRAPH_URL, with the database's buckets or
 * with buckets of its own, then prints one JSON line of what it saw.
 */
import { createInterface } from 'node:readline';
import {
  createPostgresDatabase,
  createPostgresStore,
  createSecretBox,
  createTenantRegistry,
} from '@leadrelay/core';
import {
  createCloudApiProvider,
  createPostgresWabaStore,
  createWabaClient,
  type RateLimitStore,
} from '@leadrelay/waba';

const env = process.env;
const db = await createPostgresDatabase({
  connectionString: env.DATABASE_URL,
  poolConfig: { max: 10, options: `-c search_path=${env.WABA_SCHEMA}` },
});
const store = createPostgresStore(db);
const registry = createTenantRegistry({
  store,
  secretBox: createSecretBox({ keys: [{ id: 'k1', key: env.SECRET_KEY! }] }),
});
const wabaStore = createPostgresWabaStore(db);
// Counts what waiting costs: store round trips against tokens granted.
const takes = { calls: 0, granted: 0 };
const counted: RateLimitStore = {
  async take(input) {
    takes.calls++;
    const answer = await wabaStore.rateLimits!.take(input);
    takes.granted += answer.granted;
    return answer;
  },
};
const clientWith = (rateLimits: RateLimitStore | undefined) =>
  createWabaClient({
    store,
    registry,
    db: { ...wabaStore, rateLimits },
    providers: [createCloudApiProvider({ baseUrl: env.GRAPH_URL!, timeoutMs: 10_000, retries: 0 })],
  });
// `local` stands for a store without shared buckets: each process limits on its own.
const clients = { shared: clientWith(counted), local: clientWith(undefined) };
await db.query('SELECT 1');

const lines = createInterface({ input: process.stdin });
process.stdout.write('ready\n');
for await (const line of lines) {
  const mode = line.trim();
  if (mode !== 'shared' && mode !== 'local') continue;
  takes.calls = 0;
  takes.granted = 0;
  const outcomes = await Promise.allSettled(
    Array.from({ length: Number(env.COUNT) }, (_, i) =>
      clients[mode].send({
        tenant: env.TENANT_ID!,
        to: env.TO!,
        message: { type: 'text', text: `${env.SENDER_NAME} ${mode} ${i}` },
      }),
    ),
  );
  const failed = outcomes.filter((o) => o.status === 'rejected').map((o) => String(o.reason));
  process.stdout.write(`${JSON.stringify({ sent: outcomes.length - failed.length, failed, takes })}\n`);
}
await db.close();
