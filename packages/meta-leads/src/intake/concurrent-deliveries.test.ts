import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createManualClock, type SqlDatabase, toNodeHandler } from '@leadrelay/core';
import { postgresTestDatabase } from '@leadrelay/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIXTURE_APP_SECRET, FIXTURE_SIGNATURES, fixtureText } from '../../test/fixtures.js';
import { createGraphServer } from '../../test/graph-server.js';
import { createIntakeHarness, GRAPH_BASE } from '../../test/intake-harness.js';
import { createMetaWebhookHandler } from '../http/meta-webhook-handler.js';
import { buildGraphLead } from '../testing/build-graph-lead.js';
import { graphHandlers } from '../testing/graph-handlers.js';

/**
 * Ten identical deliveries at the same moment, through real HTTP into real
 * Postgres, with two intakes (two processes) sharing the database: one lead,
 * one onLead, one Graph fetch. Needs parallel sessions, so real Postgres only.
 */
const factory = postgresTestDatabase();
const graphServer = createGraphServer();

describe.skipIf(!factory)('ten identical deliveries at once (real Postgres, real HTTP)', () => {
  let db: SqlDatabase;
  const servers: Server[] = [];
  beforeAll(async () => {
    graphServer.listen();
    db = await factory!.create();
  });
  afterAll(async () => {
    graphServer.server.close();
    await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
    await db?.close();
  });

  it('creates one lead, calls onLead once and fetches from Graph once', async () => {
    let fetches = 0;
    graphServer.server.use(
      ...graphHandlers({
        baseUrl: GRAPH_BASE,
        appSecret: FIXTURE_APP_SECRET,
        leads: (id) => buildGraphLead({ leadgenId: id, fullName: 'Priya Sharma', phone: '+919812345678' }),
        onRequest: async () => {
          fetches++;
          // A slow Graph widens the window in which a second worker could double up.
          await new Promise((resolve) => setTimeout(resolve, 50));
          return undefined;
        },
      }),
    );
    const clock = createManualClock(new Date((1764062100 + 60) * 1000));
    const h = await createIntakeHarness({ db, clock, intake: { concurrency: 4 } });
    // Two processes behind a load balancer: same database, separate in-memory queues.
    const intakes = [h.intake, h.makeIntake()];
    const bases: string[] = [];
    for (const intake of intakes) {
      const server = createServer(toNodeHandler(createMetaWebhookHandler(intake)));
      servers.push(server);
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      bases.push(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    }

    const body = fixtureText('meta-leadgen-single.json');
    const responses = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        fetch(`${bases[i % 2]}/api/meta/webhook/${h.tenant.id}`, {
          method: 'POST',
          body,
          headers: {
            'content-type': 'application/json',
            'x-hub-signature-256': FIXTURE_SIGNATURES['meta-leadgen-single.json'],
          },
        }).then(async (r) => ({
          status: r.status,
          body: (await r.json()) as { recorded: number; duplicates: number },
        })),
      ),
    );
    expect(responses.map((r) => r.status)).toEqual(Array(10).fill(200));
    expect(responses.reduce((n, r) => n + r.body.recorded, 0)).toBe(1);
    expect(responses.reduce((n, r) => n + r.body.duplicates, 0)).toBe(9);

    await Promise.all(intakes.map((intake) => intake.drain()));
    await Promise.all(intakes.map((intake) => intake.drain()));

    expect((await h.store.leads.list(h.tenant.id)).items).toHaveLength(1);
    expect(h.leadsSeen).toHaveLength(1);
    expect(fetches).toBe(1);
    const rows = await db.query<{ status: string; attempts: number }>(
      'SELECT status, attempts FROM meta_leadgen_events',
    );
    expect(rows.rows).toEqual([{ status: 'done', attempts: 1 }]);
  });
});
