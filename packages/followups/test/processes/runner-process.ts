/**
 * A follow-up worker in its own process, for the crash and multi-worker tests:
 * `node --import test-support/source-hooks.mjs runner-process.ts`. It reads its settings
 * from the environment, sends through a local HTTP provider emulation and
 * prints `ready` once it is running.
 */
import { createPostgresDatabase, ProviderError } from '@leadrelay/core';
import { createFollowUpRunner, createPostgresFollowUpStore } from '@leadrelay/followups';
import { runUntilTerminated } from './run-until-terminated.js';

const env = process.env;
const db = await createPostgresDatabase({
  connectionString: env.DATABASE_URL,
  poolConfig: { max: 4, options: `-c search_path=${env.FOLLOWUPS_SCHEMA}` },
});
const store = createPostgresFollowUpStore(db, { channel: env.FOLLOWUPS_CHANNEL ?? 'leadrelay_followups' });
const providerUrl = env.PROVIDER_URL!;
const worker = env.WORKER_NAME ?? String(process.pid);
const tenant = { id: 'tenant-load', name: 'Load Test Realty', timeZone: 'UTC' };

// Leads are synthetic: the test inserts steps for lead ids `lead-<n>`, and this core
// stand-in answers for any of them (the runner only reads leads and tenants).
const core = {
  leads: {
    async get(clientAccountId: string, id: string) {
      const n = Number(id.split('-')[1]);
      return {
        id,
        clientAccountId,
        phone: `+9198${String(n).padStart(8, '0')}`,
        name: `Lead ${n}`,
        email: null,
        source: 'Website',
        additionalSources: [],
        status: 'new',
        answers: {},
        attributes: {},
        timeZone: 'UTC',
        optedOut: false,
        agentId: null,
        lastInboundAt: null,
        lastOutboundAt: null,
        createdAt: new Date('2026-01-01T00:00:00Z'),
      };
    },
  },
  tenants: {
    async get() {
      return tenant;
    },
  },
};

const runner = createFollowUpRunner({
  store,
  // biome-ignore lint/suspicious/noExplicitAny: a partial core store stand-in for the two reads the runner makes
  core: core as any,
  batchSize: Number(env.BATCH_SIZE ?? 100),
  concurrency: Number(env.CONCURRENCY ?? 20),
  leaseMs: Number(env.LEASE_MS ?? 3000),
  pollIntervalMs: 200,
  sender: {
    async send(req) {
      const res = await fetch(providerUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-worker': worker },
        body: JSON.stringify({ to: req.to, idempotencyKey: req.idempotencyKey, message: req.message }),
      });
      const body = (await res.json()) as { messages?: { id: string }[] };
      if (!res.ok || !body.messages?.[0]) {
        throw new ProviderError('emulation refused', {
          provider: 'emulation',
          httpStatus: res.status,
          retryable: true,
        });
      }
      return { providerMessageId: body.messages[0].id };
    },
  },
});

await runUntilTerminated(runner, db);
