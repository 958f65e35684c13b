import {
  coreMigrations,
  createPostgresStore,
  createTenantRegistry,
  migrate,
  type SqlDatabase,
} from '@leadrelay/core';
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

  it('a template send with a key is 4 statements: the claim, committed before the provider call, reads the template', async () => {
    const statements: string[] = [];
    const counted: SqlDatabase = {
      ...db,
      query: (text, params, options) => {
        statements.push(text);
        return db.query(text, params, options);
      },
      transaction: (fn) => {
        statements.push('BEGIN');
        return db.transaction(fn);
      },
    };
    const store = createPostgresStore(counted);
    const h = await createHarness({
      provider: 'cloud_api',
      store,
      seed: {
        tenant: { name: 'Counted Realty' },
        wabaNumber: '+919000000002',
        phoneNumberId: '106540352242923',
      },
    });
    // As a server runs it: the registry caches the tenant (the harness's registry does not).
    const client = createWabaClient({
      store,
      registry: createTenantRegistry({ store, secretBox: h.secretBox }),
      clock: h.clock,
      db: createPostgresWabaStore(counted),
      providers: [createCloudApiProvider({ baseUrl: GRAPH_BASE })],
      // The send path alone: the shared Postgres rate limit adds one statement per grant on top.
      rateLimit: false,
    });
    await client.templates.upsert({
      clientAccountId: h.tenant.id,
      name: 'viewing_reminder',
      language: 'en',
      category: 'UTILITY',
      bodyText: 'Hi {{1}}, your viewing is on {{2}}.',
    });
    const lead = await leadWrote(h, '+919845012346', 1);
    const ledgerSeen: string[][] = [];
    server.use(
      http.post(`${GRAPH_BASE}/:version/:id/messages`, async () => {
        // Another connection sees the claim: it was committed before this call.
        const { rows } = await db.query<{ entry: string }>(
          `SELECT idempotency_key || ' ' || status AS entry FROM waba_send_ledger
            WHERE client_account_id = $1 ORDER BY idempotency_key`,
          [h.tenant.id],
        );
        ledgerSeen.push(rows.map((r) => r.entry));
        return HttpResponse.json({
          messaging_product: 'whatsapp',
          messages: [{ id: `wamid.T${ledgerSeen.length}` }],
        });
      }),
    );
    const send = (key: string, name = 'viewing_reminder') =>
      client.send({
        tenant: h.tenant.id,
        to: '+919845012346',
        leadId: lead.id,
        message: { type: 'template', name, parameters: { body: ['Priya', 'Saturday 10:00'] } },
        idempotencyKey: key,
      });
    await send('warm');
    statements.length = 0;
    const result = await send('counted');
    expect(statements.map((text) => /^\s*(WITH|SELECT|UPDATE)/.exec(text)?.[1])).toEqual([
      'WITH', // claim + template
      'SELECT', // lead + the tenant's numbers
      'WITH', // message + lastOutboundAt + usage line
      'UPDATE', // ledger completed
    ]);
    expect(ledgerSeen).toEqual([['warm in_flight'], ['counted in_flight', 'warm completed']]);
    expect(await store.templateUsage.list(h.tenant.id)).toMatchObject({
      items: [{ providerMessageId: result.providerMessageId, status: 'sent' }, { status: 'sent' }],
    });
    expect((await store.leads.get(h.tenant.id, lead.id))?.lastOutboundAt).toEqual(h.clock.now());

    // A template the claim did not find: nothing is sent and the key is released for a later try.
    await expect(send('missing', 'no_such_template')).rejects.toMatchObject({ code: 'template_not_found' });
    expect(ledgerSeen).toHaveLength(2);
    const { rows } = await db.query('SELECT 1 FROM waba_send_ledger WHERE idempotency_key = $1', ['missing']);
    expect(rows).toEqual([]);
  });
});
