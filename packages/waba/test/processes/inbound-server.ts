/**
 * A webhook server in its own process, for the inbound crash test:
 * `node --import test-support/source-hooks.mjs inbound-server.ts`. It serves
 * the Cloud API webhook on real Postgres, applies events through the waba
 * client's inbox processing (slowed by APPLY_DELAY_MS per event, so a kill
 * lands mid-way) and records each application in `applied_log`. Prints
 * `ready <port>` once it listens.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  createPostgresDatabase,
  createPostgresStore,
  createSecretBox,
  createTenantRegistry,
  toNodeHandler,
} from '@leadrelay/core';
import { createCloudWebhookHandler, createWabaClient } from '@leadrelay/waba';

const env = process.env;
const db = await createPostgresDatabase({
  connectionString: env.DATABASE_URL,
  poolConfig: { max: 6, options: `-c search_path=${env.TEST_SCHEMA}` },
});
const store = createPostgresStore(db);
const secretBox = createSecretBox({ keys: [{ id: 'k1', key: env.MASTER_KEY! }] });
const registry = createTenantRegistry({ store, secretBox });
const delayMs = Number(env.APPLY_DELAY_MS ?? 0);
const worker = env.WORKER_NAME ?? String(process.pid);

const client = createWabaClient({
  store,
  registry,
  db,
  rateLimit: false,
  inbound: { leaseMs: Number(env.LEASE_MS ?? 2_000), batchSize: 4 },
  async onEvent(event) {
    const phone = event.type === 'status' ? event.event.recipient : event.lead.phone;
    await db.query('INSERT INTO applied_log (event_id, lead_phone, worker) VALUES ($1, $2, $3)', [
      event.event.eventId,
      phone,
      worker,
    ]);
    if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
  },
});
client.inbound.start({ pollIntervalMs: 100 });

const server = createServer(toNodeHandler(createCloudWebhookHandler({ client })));
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`ready ${(server.address() as AddressInfo).port}\n`);
});
