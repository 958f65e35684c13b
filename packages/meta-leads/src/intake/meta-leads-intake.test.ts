import {
  createManualClock,
  createPgliteDatabase,
  type Lead,
  type SqlDatabase,
  StorageError,
  signMetaBody,
} from '@leadrelay/core';
import { HttpResponse } from 'msw';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { failure } from '../../test/failure.js';
import { FIXTURE_APP_SECRET, FIXTURE_SIGNATURES, fixtureBytes, fixtureJson } from '../../test/fixtures.js';
import { createGraphServer } from '../../test/graph-server.js';
import {
  createIntakeHarness,
  GRAPH_BASE,
  type HarnessOptions,
  type IntakeHarness,
  PAGE_ID,
  PAGE_TOKEN,
} from '../../test/intake-harness.js';
import type { GraphLeadInput } from '../graph/graph-lead.js';
import { createGraphLeadsClient } from '../graph/graph-leads-client.js';
import type { LeadgenInbox } from '../inbox/leadgen-inbox.js';
import { createPostgresLeadgenInbox } from '../inbox/postgres-leadgen-inbox.js';
import { buildGraphLead } from '../testing/build-graph-lead.js';
import { buildLeadgenWebhook } from '../testing/build-leadgen-webhook.js';
import { type GraphRequestInfo, graphErrorResponse, graphHandlers } from '../testing/graph-handlers.js';
import type { MetaLeadEvent } from './meta-leads-intake.js';

const graphServer = createGraphServer();
beforeAll(() => graphServer.listen());
afterEach(() => graphServer.server.resetHandlers());
afterAll(() => graphServer.server.close());

// The fixtures' entry time: 2025-11-25T09:15:00Z.
const FIXTURE_TIME = 1764062100;
const NOW = new Date((FIXTURE_TIME + 60) * 1000);

const LEADS: Record<string, GraphLeadInput> = {
  '9000000000000001': fixtureJson('graph-lead.json'),
  '9000000000000011': buildGraphLead({
    leadgenId: '9000000000000011',
    fullName: 'Ravi Kumar',
    phone: '+91 98111 22233',
  }),
  '9000000000000012': fixtureJson('graph-lead-first-last.json'),
};

/** Serves the leads and records every Graph request; `respond` may answer instead. */
function serveGraph(respond?: (info: GraphRequestInfo) => Response | undefined) {
  const requests: GraphRequestInfo[] = [];
  graphServer.server.use(
    ...graphHandlers({
      baseUrl: GRAPH_BASE,
      leads: LEADS,
      appSecret: FIXTURE_APP_SECRET,
      onRequest: (info) => {
        requests.push(info);
        return respond?.(info);
      },
    }),
  );
  return requests;
}

const single = () => ({
  body: fixtureBytes('meta-leadgen-single.json'),
  signature: FIXTURE_SIGNATURES['meta-leadgen-single.json'],
});

/** A lead the tenant already has with the fixture lead's phone, from WhatsApp. */
const existingLead = (h: IntakeHarness) =>
  h.store.leads.create({
    clientAccountId: h.tenant.id,
    phone: '+919812345678',
    name: 'Priya',
    source: 'WA Direct',
  });

const backends: { name: string; db: () => Promise<SqlDatabase | undefined> }[] = [
  { name: 'memory', db: async () => undefined },
  { name: 'pglite', db: () => createPgliteDatabase() },
];

for (const backend of backends) {
  describe(`createMetaLeadsIntake (${backend.name})`, () => {
    let db: SqlDatabase | undefined;
    beforeAll(async () => {
      db = await backend.db();
    });
    afterAll(async () => {
      await db?.close();
    });
    const harness = (options: Omit<HarnessOptions, 'db'> = {}) => {
      const clock = options.clock ?? createManualClock(NOW);
      return createIntakeHarness({ ...options, clock, ...(db ? { db } : {}) });
    };

    it('records a delivery, fetches the lead once, stores it normalised and calls onLead once', async () => {
      const requests = serveGraph();
      const h = await harness();
      const result = await h.intake.receive({ clientAccountId: h.tenant.id, ...single() });
      expect(result).toEqual({
        object: 'page',
        recorded: 1,
        duplicates: 0,
        ignored: { staleEntries: 0, unknownPages: 0, otherFields: 0 },
      });
      await h.intake.drain();

      expect(requests).toHaveLength(1);
      expect(requests[0]!.accessToken).toBe(PAGE_TOKEN);
      const leads = (await h.store.leads.list(h.tenant.id)).items;
      expect(leads).toHaveLength(1);
      expect(leads[0]).toMatchObject({
        phone: '+919812345678',
        name: 'José Müller-Ødegård',
        email: 'jose.muller@example.com',
        source: 'Facebook Lead Ad',
        facebookPageId: PAGE_ID,
        leadFormId: '770000000000001',
        attributes: { leadgenId: '9000000000000001', platform: 'instagram', isOrganic: false },
      });
      expect(h.leadsSeen).toHaveLength(1);
      expect(h.leadsSeen[0]).toMatchObject({
        clientAccountId: h.tenant.id,
        leadgenId: '9000000000000001',
        pageId: PAGE_ID,
        created: true,
        lead: { id: leads[0]!.id },
      });
      expect(
        await h.inbox.get({ clientAccountId: h.tenant.id, leadgenId: '9000000000000001' }),
      ).toMatchObject({
        status: 'done',
        leadId: leads[0]!.id,
        leadCreated: true,
        attempts: 1,
      });
    });

    it('drops a repeated delivery: no second fetch, lead or onLead', async () => {
      const requests = serveGraph();
      const h = await harness();
      await h.intake.receive({ clientAccountId: h.tenant.id, ...single() });
      await h.intake.drain();
      const again = await h.intake.receive({ clientAccountId: h.tenant.id, ...single() });
      expect(again).toMatchObject({ recorded: 0, duplicates: 1 });
      await h.intake.drain();
      expect(requests).toHaveLength(1);
      expect(h.leadsSeen).toHaveLength(1);
      expect((await h.store.leads.list(h.tenant.id)).items).toHaveLength(1);
    });

    it('handles every entry and change of a batch; a page not registered to the tenant is logged and skipped', async () => {
      const requests = serveGraph();
      const h = await harness();
      const result = await h.intake.receive({
        clientAccountId: h.tenant.id,
        body: fixtureBytes('meta-leadgen-batch.json'),
        signature: FIXTURE_SIGNATURES['meta-leadgen-batch.json'],
      });
      expect(result).toMatchObject({ recorded: 2, ignored: { unknownPages: 1 } });
      await h.intake.drain();
      expect(requests.map((r) => r.id).sort()).toEqual(['9000000000000011', '9000000000000012']);
      const leads = (await h.store.leads.list(h.tenant.id)).items;
      expect(leads.map((l) => l.name).sort()).toEqual(['Aarav Mehta', 'Ravi Kumar']);
      expect(leads.find((l) => l.name === 'Aarav Mehta')).toMatchObject({ phone: '+919876543210' });
      expect(
        h.logger.lines.some(
          (l) => l.level === 'warn' && l.obj.pageId === '2220000000002' && /not registered/.test(l.msg!),
        ),
      ).toBe(true);
    });

    it('merges into the tenant’s lead with the same phone: one lead, Facebook Lead Ad as an additional source', async () => {
      serveGraph();
      const h = await harness();
      const existing = await existingLead(h);
      await h.intake.receive({ clientAccountId: h.tenant.id, ...single() });
      await h.intake.drain();
      const leads = (await h.store.leads.list(h.tenant.id)).items;
      expect(leads).toHaveLength(1);
      expect(leads[0]).toMatchObject({
        id: existing.id,
        name: 'Priya',
        source: 'WA Direct',
        additionalSources: ['Facebook Lead Ad'],
        email: 'jose.muller@example.com',
      });
      expect(h.leadsSeen).toHaveLength(1);
      expect(h.leadsSeen[0]!.created).toBe(false);
    });

    it('stores a lead without a phone with create', async () => {
      serveGraph((info) =>
        info.kind === 'lead'
          ? HttpResponse.json(
              buildGraphLead({ leadgenId: info.id, fullName: 'No Phone', email: 'NP@EXAMPLE.COM' }),
            )
          : undefined,
      );
      const h = await harness();
      await h.intake.receive({ clientAccountId: h.tenant.id, ...single() });
      await h.intake.drain();
      expect((await h.store.leads.list(h.tenant.id)).items).toMatchObject([
        { phone: null, name: 'No Phone', email: 'np@example.com' },
      ]);
    });

    it('refuses a bad signature and an unknown tenant before storing or fetching anything', async () => {
      const requests = serveGraph();
      const h = await harness();
      const wrong = await failure(
        h.intake.receive({
          clientAccountId: h.tenant.id,
          body: single().body,
          signature: signMetaBody(single().body, 'x'),
        }),
      );
      expect(wrong).toMatchObject({ code: 'signature_invalid', status: 401 });
      const missing = await failure(
        h.intake.receive({ clientAccountId: h.tenant.id, body: single().body, signature: null }),
      );
      expect(missing.status).toBe(401);
      const unknown = await failure(h.intake.receive({ clientAccountId: 'no-such-tenant', ...single() }));
      expect(unknown).toMatchObject({ code: 'tenant_not_found', status: 404 });
      await h.intake.drain();
      expect(await h.inbox.list(h.tenant.id)).toEqual([]);
      expect(requests).toHaveLength(0);
    });

    it('ignores entries older than the replay tolerance but accepts Meta’s retries within it', async () => {
      serveGraph();
      const clock = createManualClock(new Date((FIXTURE_TIME + 73 * 3600) * 1000));
      const h = await harness({ clock });
      const stale = await h.intake.receive({ clientAccountId: h.tenant.id, ...single() });
      expect(stale).toMatchObject({ recorded: 0, ignored: { staleEntries: 1 } });
      expect(h.logger.lines.some((l) => /replay tolerance/.test(l.msg ?? ''))).toBe(true);

      // A retry 47 hours after the event (Meta retries for about 36 hours) is accepted.
      clock.set(new Date((FIXTURE_TIME + 47 * 3600) * 1000));
      const retry = await h.intake.receive({ clientAccountId: h.tenant.id, ...single() });
      expect(retry).toMatchObject({ recorded: 1, ignored: { staleEntries: 0 } });
      await h.intake.drain();
      expect(h.leadsSeen).toHaveLength(1);
    });

    it('token expiry: marks the page for re-authorisation, keeps the event, and processes it once re-authorised', async () => {
      const NEW_TOKEN = 'EAAG-page-token-2';
      const requests = serveGraph((info) =>
        info.accessToken === PAGE_TOKEN
          ? HttpResponse.json(fixtureJson('graph-error-token-expired.json'), { status: 400 })
          : undefined,
      );
      const h = await harness();
      await h.intake.receive({ clientAccountId: h.tenant.id, ...single() });
      await h.intake.drain();
      expect(requests).toHaveLength(1);
      expect(await h.store.pages.getByPageId(h.tenant.id, PAGE_ID)).toMatchObject({ status: 'needs_reauth' });
      const parked = await h.inbox.get({ clientAccountId: h.tenant.id, leadgenId: '9000000000000001' });
      expect(parked).toMatchObject({ status: 'needs_reauth' });
      expect(parked!.lastError).toMatch(/^page_token_invalid/);
      expect((await h.store.leads.list(h.tenant.id)).items).toHaveLength(0);
      expect(h.leadsSeen).toHaveLength(0);

      // A new delivery for the same page while it awaits re-authorisation is kept without calling Graph.
      const body = JSON.stringify(
        buildLeadgenWebhook({ pageId: PAGE_ID, leadgenIds: ['9000000000000011'], time: FIXTURE_TIME }),
      );
      await h.intake.receive({
        clientAccountId: h.tenant.id,
        body,
        signature: signMetaBody(body, FIXTURE_APP_SECRET),
      });
      await h.intake.drain();
      expect(requests).toHaveLength(1);
      expect(await h.inbox.list(h.tenant.id, { status: 'needs_reauth' })).toHaveLength(2);

      await h.onboarding.registerPage(h.tenant.id, { pageId: PAGE_ID, accessToken: NEW_TOKEN });
      expect(await h.intake.retryPending({ clientAccountId: h.tenant.id, pageId: PAGE_ID })).toBe(2);
      expect(requests.slice(1).map((r) => r.accessToken)).toEqual([NEW_TOKEN, NEW_TOKEN]);
      expect((await h.store.leads.list(h.tenant.id)).items).toHaveLength(2);
      expect(h.leadsSeen.map((e) => e.leadgenId).sort()).toEqual(['9000000000000001', '9000000000000011']);
      expect(await h.inbox.list(h.tenant.id, { status: 'done' })).toHaveLength(2);
    });

    it('Graph outage: 503s for a while, then every lead is processed once, nothing lost', async () => {
      let down = true;
      const requests = serveGraph(() =>
        down ? new HttpResponse('unavailable', { status: 503 }) : undefined,
      );
      const clock = createManualClock(NOW);
      const h = await harness({ clock, intake: { retryMinDelayMs: 30_000, retryMaxDelayMs: 60_000 } });
      const body = JSON.stringify(
        buildLeadgenWebhook({
          pageId: PAGE_ID,
          leadgenIds: ['9000000000000001', '9000000000000011', '9000000000000012'],
          time: FIXTURE_TIME,
        }),
      );
      const result = await h.intake.receive({
        clientAccountId: h.tenant.id,
        body,
        signature: signMetaBody(body, FIXTURE_APP_SECRET),
      });
      expect(result.recorded).toBe(3);
      await h.intake.drain();
      // Each event: the first attempt and the HTTP client's one retry.
      expect(requests).toHaveLength(6);
      const waiting = await h.inbox.list(h.tenant.id);
      expect(waiting.map((e) => e.status)).toEqual(['pending', 'pending', 'pending']);
      expect(waiting[0]!.lastError).toMatch(/graph_unavailable/);

      // Still down at the next attempt.
      clock.advance(60_000);
      await h.intake.drain();
      expect(requests).toHaveLength(12);
      expect(h.leadsSeen).toHaveLength(0);

      down = false;
      clock.advance(10 * 60_000);
      await h.intake.drain();
      expect(requests).toHaveLength(15);
      expect((await h.store.leads.list(h.tenant.id)).items).toHaveLength(3);
      expect(h.leadsSeen).toHaveLength(3);
      expect((await h.inbox.list(h.tenant.id)).map((e) => [e.status, e.attempts])).toEqual([
        ['done', 3],
        ['done', 3],
        ['done', 3],
      ]);
    });

    it('parks permanent Graph errors as failed; retryPending with includeFailed tries them again', async () => {
      let refuse = true;
      serveGraph(() => (refuse ? graphErrorResponse(100, { message: 'Invalid parameter' }) : undefined));
      const h = await harness();
      await h.intake.receive({ clientAccountId: h.tenant.id, ...single() });
      await h.intake.drain();
      expect(
        await h.inbox.get({ clientAccountId: h.tenant.id, leadgenId: '9000000000000001' }),
      ).toMatchObject({
        status: 'failed',
      });
      refuse = false;
      expect(await h.intake.retryPending({ clientAccountId: h.tenant.id })).toBe(0);
      expect(await h.intake.retryPending({ clientAccountId: h.tenant.id, includeFailed: true })).toBe(1);
      expect(h.leadsSeen).toHaveLength(1);
    });

    it('gives up after maxAttempts and parks the event as failed', async () => {
      serveGraph(() => new HttpResponse(null, { status: 502 }));
      const clock = createManualClock(NOW);
      const h = await harness({
        clock,
        intake: { maxAttempts: 2, retryMinDelayMs: 10, retryMaxDelayMs: 10 },
      });
      await h.intake.receive({ clientAccountId: h.tenant.id, ...single() });
      await h.intake.drain();
      clock.advance(1000);
      await h.intake.drain();
      expect(
        await h.inbox.get({ clientAccountId: h.tenant.id, leadgenId: '9000000000000001' }),
      ).toMatchObject({
        status: 'failed',
        attempts: 2,
      });
    });

    describe('onLead is at least once', () => {
      const KEY = { leadgenId: '9000000000000001' };
      const hookFailures = (h: { logger: { lines: { msg: string | undefined }[] } }) =>
        h.logger.lines.filter((l) => /onLead hook failed/.test(l.msg ?? ''));
      /** A hook that throws on its first `failures` calls and records every call. */
      const flakyHook = (failures: number) => {
        const calls: MetaLeadEvent[] = [];
        const onLead = (event: MetaLeadEvent) => {
          calls.push(event);
          if (calls.length <= failures) throw new Error('welcome failed');
        };
        return { calls, onLead };
      };
      /** A delivery processed once with a hook that fails its first `failures` calls. */
      const firstAttempt = async (failures: number, prepare?: (h: IntakeHarness) => Promise<unknown>) => {
        const requests = serveGraph();
        const clock = createManualClock(NOW);
        const hook = flakyHook(failures);
        const h = await harness({ clock, intake: { onLead: hook.onLead } });
        await prepare?.(h);
        await h.intake.receive({ clientAccountId: h.tenant.id, ...single() });
        await h.intake.drain();
        return { requests, clock, hook, h };
      };

      it('a throwing hook retries the event: the same lead again, no second fetch, one lead, done', async () => {
        const { requests, clock, hook, h } = await firstAttempt(1);

        const key = { clientAccountId: h.tenant.id, ...KEY };
        expect(hook.calls).toHaveLength(1);
        const leadId = hook.calls[0]!.lead.id;
        const waiting = await h.inbox.get(key);
        expect(waiting).toMatchObject({
          status: 'pending',
          attempts: 1,
          leadId,
          leadCreated: true,
          lastError: 'welcome failed',
        });
        expect(waiting!.nextAttemptAt.getTime()).toBeGreaterThan(NOW.getTime());
        expect(hookFailures(h)).toHaveLength(1);

        // Not due yet: nothing happens before the backoff ends.
        await h.intake.drain();
        expect(hook.calls).toHaveLength(1);

        clock.advance(60 * 60_000);
        await h.intake.drain();
        expect(requests).toHaveLength(1);
        expect(hook.calls).toHaveLength(2);
        expect(hook.calls[1]).toMatchObject({
          leadgenId: KEY.leadgenId,
          created: true,
          lead: { id: leadId },
        });
        expect((await h.store.leads.list(h.tenant.id)).items.map((l) => l.id)).toEqual([leadId]);
        expect(await h.inbox.get(key)).toMatchObject({
          status: 'done',
          attempts: 2,
          leadId,
          lastError: null,
        });
      });

      it('a merged lead is delivered again with created: false', async () => {
        let existing: Lead | undefined;
        const { requests, clock, hook, h } = await firstAttempt(1, async (h) => {
          existing = await existingLead(h);
        });
        clock.advance(60 * 60_000);
        await h.intake.drain();
        expect(requests).toHaveLength(1);
        expect(hook.calls.map((c) => [c.lead.id, c.created])).toEqual([
          [existing!.id, false],
          [existing!.id, false],
        ]);
        expect(await h.inbox.get({ clientAccountId: h.tenant.id, ...KEY })).toMatchObject({
          status: 'done',
          leadCreated: false,
        });
      });

      it('a lead without a phone is not stored twice when its hook is retried', async () => {
        const requests = serveGraph((info) =>
          info.kind === 'lead'
            ? HttpResponse.json(
                buildGraphLead({ leadgenId: info.id, fullName: 'No Phone', email: 'np@example.com' }),
              )
            : undefined,
        );
        const clock = createManualClock(NOW);
        const hook = flakyHook(2);
        const h = await harness({ clock, intake: { onLead: hook.onLead } });
        await h.intake.receive({ clientAccountId: h.tenant.id, ...single() });
        for (let i = 0; i < 3; i++) {
          await h.intake.drain();
          clock.advance(60 * 60_000);
        }
        expect(requests).toHaveLength(1);
        expect(hook.calls).toHaveLength(3);
        expect(new Set(hook.calls.map((c) => c.lead.id)).size).toBe(1);
        expect(hook.calls.every((c) => c.created)).toBe(true);
        expect((await h.store.leads.list(h.tenant.id)).items).toMatchObject([
          { phone: null, name: 'No Phone' },
        ]);
        expect(await h.inbox.get({ clientAccountId: h.tenant.id, ...KEY })).toMatchObject({
          status: 'done',
          attempts: 3,
        });
      });

      it('a hook failing every time parks the event as failed; retryPending delivers it without a new lead', async () => {
        const requests = serveGraph();
        const clock = createManualClock(NOW);
        const hook = flakyHook(3);
        const h = await harness({
          clock,
          intake: { onLead: hook.onLead, maxAttempts: 3, retryMinDelayMs: 10, retryMaxDelayMs: 10 },
        });
        await h.intake.receive({ clientAccountId: h.tenant.id, ...single() });
        for (let i = 0; i < 4; i++) {
          await h.intake.drain();
          clock.advance(1000);
        }
        const key = { clientAccountId: h.tenant.id, ...KEY };
        expect(hook.calls).toHaveLength(3);
        expect(await h.inbox.get(key)).toMatchObject({ status: 'failed', attempts: 3, leadCreated: true });
        expect(hookFailures(h)).toHaveLength(3);
        expect(
          h.logger.lines.some(
            (l) => l.level === 'error' && /failed after the last attempt/.test(l.msg ?? ''),
          ),
        ).toBe(true);

        expect(await h.intake.retryPending({ clientAccountId: h.tenant.id, includeFailed: true })).toBe(1);
        expect(hook.calls).toHaveLength(4);
        expect(hook.calls[3]).toMatchObject({ created: true, lead: { id: hook.calls[0]!.lead.id } });
        expect(requests).toHaveLength(1);
        expect((await h.store.leads.list(h.tenant.id)).items).toHaveLength(1);
        expect(await h.inbox.get(key)).toMatchObject({ status: 'done' });
      });

      it('a crash after onLead (completion fails): a fresh intake delivers the same lead again and completes', async () => {
        const requests = serveGraph();
        const clock = createManualClock(NOW);
        const h = await harness({ clock, intake: { leaseMs: 60_000 } });
        const crashing = h.makeIntake({
          inbox: {
            ...h.inbox,
            complete: async () => {
              throw new StorageError('connection terminated');
            },
          },
        });
        await crashing.receive({ clientAccountId: h.tenant.id, ...single() });
        await crashing.drain();
        const key = { clientAccountId: h.tenant.id, ...KEY };
        expect(h.leadsSeen).toHaveLength(1);
        const leadId = h.leadsSeen[0]!.lead.id;
        expect(await h.inbox.get(key)).toMatchObject({ status: 'processing', leadId, leadCreated: true });

        // Another process over the same database, once the dead worker's lease has run out.
        clock.advance(60_001);
        const restarted = h.makeIntake({ inbox: db ? createPostgresLeadgenInbox(db) : h.inbox });
        await restarted.drain();
        expect(h.leadsSeen).toHaveLength(2);
        expect(h.leadsSeen[1]).toMatchObject({
          leadgenId: KEY.leadgenId,
          created: true,
          lead: { id: leadId },
        });
        expect(requests).toHaveLength(1);
        expect((await h.store.leads.list(h.tenant.id)).items.map((l) => l.id)).toEqual([leadId]);
        expect(await h.inbox.get(key)).toMatchObject({ status: 'done', attempts: 2, leadId });
      });

      it('a hook that outlives its lease: another worker delivers again, the late completion is refused', async () => {
        const requests = serveGraph();
        const clock = createManualClock(NOW);
        const h = await harness({ clock, intake: { leaseMs: 60_000 } });
        let release!: () => void;
        const hung = new Promise<void>((resolve) => {
          release = resolve;
        });
        let entered!: () => void;
        const inHook = new Promise<void>((resolve) => {
          entered = resolve;
        });
        const slow = h.makeIntake({
          onLead: async (event) => {
            h.leadsSeen.push(event);
            entered();
            await hung;
          },
        });
        await slow.receive({ clientAccountId: h.tenant.id, ...single() });
        await inHook;

        clock.advance(60_001);
        await h.makeIntake().drain();
        const key = { clientAccountId: h.tenant.id, ...KEY };
        expect(h.leadsSeen).toHaveLength(2);
        expect(h.leadsSeen[1]!.lead.id).toBe(h.leadsSeen[0]!.lead.id);
        expect(await h.inbox.get(key)).toMatchObject({ status: 'done', attempts: 2 });

        release();
        await slow.drain();
        expect(h.logger.lines.some((l) => l.level === 'warn' && /lease lost/.test(l.msg ?? ''))).toBe(true);
        expect(await h.inbox.get(key)).toMatchObject({ status: 'done', attempts: 2 });
        expect(requests).toHaveLength(1);
        expect((await h.store.leads.list(h.tenant.id)).items).toHaveLength(1);
      });

      if (backend.name === 'pglite') {
        it('a recorded lead deleted before the retry is fetched and stored anew', async () => {
          const { requests, clock, hook, h } = await firstAttempt(1);
          const first = hook.calls[0]!.lead.id;
          await db!.query('DELETE FROM leads WHERE client_account_id = $1 AND id = $2', [h.tenant.id, first]);
          // The event's key to leads unset the id with the lead.
          expect(await h.inbox.get({ clientAccountId: h.tenant.id, ...KEY })).toMatchObject({ leadId: null });

          clock.advance(60 * 60_000);
          await h.intake.drain();
          expect(requests).toHaveLength(2);
          expect(hook.calls).toHaveLength(2);
          const second = hook.calls[1]!;
          expect(second.created).toBe(true);
          expect(second.lead.id).not.toBe(first);
          expect((await h.store.leads.list(h.tenant.id)).items.map((l) => l.id)).toEqual([second.lead.id]);
          expect(await h.inbox.get({ clientAccountId: h.tenant.id, ...KEY })).toMatchObject({
            status: 'done',
            leadId: second.lead.id,
          });
        });
      }
    });

    it('keeps to the concurrency limit while fetching', async () => {
      let inFlight = 0;
      let peak = 0;
      graphServer.server.use(
        ...graphHandlers({
          baseUrl: GRAPH_BASE,
          leads: (id) => buildGraphLead({ leadgenId: id, fullName: `Lead ${id}` }),
          onRequest: async () => {
            inFlight++;
            peak = Math.max(peak, inFlight);
            await new Promise((resolve) => setTimeout(resolve, 15));
            inFlight--;
            return undefined;
          },
        }),
      );
      const h = await harness({ intake: { concurrency: 2 } });
      const ids = Array.from({ length: 8 }, (_, i) => `91000000000000${i}`);
      const body = JSON.stringify(
        buildLeadgenWebhook({ pageId: PAGE_ID, leadgenIds: ids, time: FIXTURE_TIME }),
      );
      await h.intake.receive({
        clientAccountId: h.tenant.id,
        body,
        signature: signMetaBody(body, FIXTURE_APP_SECRET),
      });
      await h.intake.drain();
      expect(h.leadsSeen).toHaveLength(8);
      expect(peak).toBe(2);
    });

    it('answers StorageError (503) when the events cannot be recorded, and queues nothing', async () => {
      const requests = serveGraph();
      const h = await harness();
      const broken: LeadgenInbox = {
        ...h.inbox,
        record: async () => {
          throw new Error('connection refused');
        },
      };
      const intake = h.makeIntake({ inbox: broken });
      const error = await failure(intake.receive({ clientAccountId: h.tenant.id, ...single() }));
      expect(error).toBeInstanceOf(StorageError);
      expect(error.status).toBe(503);
      await intake.drain();
      expect(requests).toHaveLength(0);
    });
  });
}

describe('createMetaLeadsIntake routing by page id', () => {
  it('routes each entry to the tenant holding the page and verifies with that tenant’s secret', async () => {
    const requests = serveGraph();
    const h = await createIntakeHarness({ clock: createManualClock(NOW) });
    const other = await h.store.tenants.create({ name: 'Other Realty' });
    await h.onboarding.registerApp(other.id, {
      appId: '99',
      appSecret: 'other-app-secret',
      verifyToken: 'other-verify',
    });
    await h.onboarding.registerPage(other.id, { pageId: '2220000000002', accessToken: 'other-token' });

    // The batch is signed with the first tenant's secret: only its page's changes are taken.
    const result = await h.intake.receive({
      clientAccountId: null,
      body: fixtureBytes('meta-leadgen-batch.json'),
      signature: FIXTURE_SIGNATURES['meta-leadgen-batch.json'],
    });
    expect(result).toMatchObject({ recorded: 2, ignored: { unknownPages: 1 } });
    await h.intake.drain();
    expect(requests.map((r) => r.id).sort()).toEqual(['9000000000000011', '9000000000000012']);
    expect(await h.inbox.list(other.id)).toEqual([]);

    const body = JSON.stringify(
      buildLeadgenWebhook({ pageId: '2220000000002', leadgenIds: ['9000000000000019'], time: FIXTURE_TIME }),
    );
    const wrongSecret = await failure(
      h.intake.receive({ clientAccountId: null, body, signature: signMetaBody(body, FIXTURE_APP_SECRET) }),
    );
    expect(wrongSecret.status).toBe(401);
    const right = await h.intake.receive({
      clientAccountId: null,
      body,
      signature: signMetaBody(body, 'other-app-secret'),
    });
    expect(right.recorded).toBe(1);
    expect((await h.inbox.list(other.id)).map((e) => e.leadgenId)).toEqual(['9000000000000019']);
    // Its background fetch finishes here, not during the next test.
    await h.intake.drain();

    const nobody = JSON.stringify(
      buildLeadgenWebhook({ pageId: '3330000000003', leadgenIds: ['1'], time: FIXTURE_TIME }),
    );
    expect(
      (
        await failure(
          h.intake.receive({ clientAccountId: null, body: nobody, signature: signMetaBody(nobody, 'x') }),
        )
      ).code,
    ).toBe('page_not_found');
  });
});

describe('createMetaLeadsIntake.start', () => {
  it('retries due events on its own timer until stopped', async () => {
    let calls = 0;
    serveGraph(() => (++calls === 1 ? new HttpResponse(null, { status: 503 }) : undefined));
    const h = await createIntakeHarness({
      intake: { replayToleranceSeconds: 0, retryMinDelayMs: 20, retryMaxDelayMs: 40 },
    });
    const graph = createGraphLeadsClient({ baseUrl: GRAPH_BASE, retries: 0 });
    const intake = h.makeIntake({ graph });
    intake.start({ pollIntervalMs: 25 });
    await intake.receive({ clientAccountId: h.tenant.id, ...single() });
    const deadline = Date.now() + 5000;
    while (h.leadsSeen.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    await intake.stop();
    expect(calls).toBe(2);
    expect(h.leadsSeen).toHaveLength(1);
    expect(await h.inbox.get({ clientAccountId: h.tenant.id, leadgenId: '9000000000000001' })).toMatchObject({
      status: 'done',
      attempts: 2,
    });
  });
});
