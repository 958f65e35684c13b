import { coreMigrations, createPostgresStore, migrate, type SqlDatabase } from '@leadrelay/core';
import { postgresTestDatabase } from '@leadrelay/core/testing';
import { delay, HttpResponse, http } from 'msw';
import { setupServer } from 'msw/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, GRAPH_BASE, leadWrote } from '../../test/harness.js';
import { createCloudApiProvider } from '../providers/cloud-api-provider.js';
import { createPostgresWabaStore } from '../store/postgres-waba-store.js';
import { wabaMigrations } from '../store/waba-migrations.js';
import { createWabaClient } from './waba-client.js';

const factory = postgresTestDatabase();

// Row locks and concurrent claims only contend on a real server (PGlite is one connection).
describe.skipIf(!factory)('idempotency under concurrency on real Postgres', () => {
  const server = setupServer();
  let db: SqlDatabase;
  beforeAll(async () => {
    server.listen({ onUnhandledFrame: 'error' });
    db = await factory!.create();
    await migrate(db, [...coreMigrations, ...wabaMigrations]);
  });
  afterAll(async () => {
    server.close();
    await db?.close();
  });

  it('10 concurrent sends with one key, from two clients: one provider call, one stored message, one answer', async () => {
    // A slow provider keeps the first claim in flight while the others arrive.
    let calls = 0;
    server.use(
      http.post(`${GRAPH_BASE}/:version/:id/messages`, async () => {
        calls++;
        await delay(300);
        return HttpResponse.json({ messaging_product: 'whatsapp', messages: [{ id: `wamid.PG${calls}` }] });
      }),
    );

    const store = createPostgresStore(db);
    const first = await createHarness({ provider: 'cloud_api', store, db: createPostgresWabaStore(db) });
    // A second client over the same database stands for another process.
    const second = createWabaClient({
      store: createPostgresStore(db),
      registry: first.registry,
      clock: first.clock,
      db: createPostgresWabaStore(db),
      providers: [createCloudApiProvider({ baseUrl: GRAPH_BASE })],
    });
    const lead = await leadWrote(first, '+919845012345', 1);
    const request = {
      tenant: first.tenant.id,
      to: '+919845012345',
      leadId: lead.id,
      message: { type: 'text' as const, text: 'Your viewing is confirmed for Saturday 10:00.' },
      idempotencyKey: `confirm:${lead.id}`,
    };
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) => (i % 2 === 0 ? first.client : second).send(request)),
    );

    expect(calls).toBe(1);
    expect(new Set(results.map((r) => r.providerMessageId))).toEqual(new Set(['wamid.PG1']));
    expect(new Set(results.map((r) => r.messageId)).size).toBe(1);
    expect(results.filter((r) => !r.deduplicated)).toHaveLength(1);
    const conversation = await store.messages.listByLead(first.tenant.id, lead.id);
    expect(conversation.items.filter((m) => m.direction === 'outbound')).toHaveLength(1);
    const { rows } = await db.query<{ status: string }>('SELECT status FROM waba_send_ledger');
    expect(rows).toEqual([{ status: 'completed' }]);
  });
});
