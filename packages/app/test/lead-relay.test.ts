import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { generateSecretKey, type SqlDatabase, signMetaBody, toNodeHandler } from '@leadrelay/core';
import { testDatabases } from '@leadrelay/core/testing';
import { createGraphLeadsClient, createMetaOnboarding } from '@leadrelay/meta-leads';
import { buildGraphLead, buildLeadgenWebhook, graphHandlers } from '@leadrelay/meta-leads/testing';
import {
  cloudApiHandlers,
  cloudInboundText,
  gupshupHandlers,
  gupshupInboundText,
  seedWabaTenant,
  signCloudPayload,
} from '@leadrelay/waba/testing';
import { setupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createLeadRelay, generateIntakeKey, hashIntakeKey, type LeadRelay } from '../src/index.js';

const GRAPH = 'https://graph.test';
const CLOUD = 'https://cloud.test';
const PAGE_ID = '1110000000001';
const PAGE_TOKEN = 'page-token-1';
const PHONE_NUMBER_ID = '106540352242922';
const PRIYA = '+919812345678';
const GUPSHUP = 'https://gupshup.test';
const ADMIN_TOKEN = 'admin-token-for-tests-0123456789';

const msw = setupServer();
beforeAll(() =>
  msw.listen({
    onUnhandledFrame: ({ frame, defaults }) => {
      const request = (frame.data as { request?: Request }).request;
      if (request && new URL(request.url).hostname === '127.0.0.1') return;
      defaults.error();
    },
  }),
);
afterEach(() => msw.resetHandlers());
afterAll(() => msw.close());

for (const factory of testDatabases()) {
  describe(`createLeadRelay over HTTP on ${factory.name}`, () => {
    let db: SqlDatabase;
    let relay: LeadRelay;
    let server: ReturnType<typeof createServer>;
    let base: string;

    beforeAll(async () => {
      db = await factory.create();
      relay = await createLeadRelay({
        db,
        secretKeys: [{ id: 'k1', key: generateSecretKey() }],
        graph: { baseUrl: GRAPH },
        cloudApi: { baseUrl: CLOUD },
        gupshup: { baseUrl: GUPSHUP },
        adminToken: ADMIN_TOKEN,
      });
      server = createServer(toNodeHandler(relay.fetch));
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    afterAll(async () => {
      await relay?.stop();
      server?.closeAllConnections();
      await new Promise((resolve) => server?.close(resolve));
      await db?.close();
    });

    /** A tenant on the Cloud API with a page, an approved welcome template, a website key and a campaign. */
    async function onboard() {
      const { store, settings, waba, followUps, secretBox, registry } = relay.parts;
      const seeded = await seedWabaTenant({
        store,
        secretBox,
        provider: 'cloud_api',
        phoneNumberId: PHONE_NUMBER_ID,
      });
      const onboarding = createMetaOnboarding({
        store,
        secretBox,
        graph: createGraphLeadsClient({ baseUrl: GRAPH }),
        registry,
      });
      await onboarding.registerPage(seeded.tenant.id, {
        pageId: PAGE_ID,
        pageName: 'Acme',
        accessToken: PAGE_TOKEN,
      });
      await waba.wabaStore.templates.upsert({
        clientAccountId: seeded.tenant.id,
        name: 'welcome_lead',
        language: 'en',
        category: 'UTILITY',
        status: 'APPROVED',
        bodyText: 'Hi {{1}}, thanks for your interest! An agent will write shortly.',
      });
      const intakeKey = generateIntakeKey();
      await settings.set(
        seeded.tenant.id,
        {
          welcomeTemplate: { name: 'welcome_lead', language: 'en' },
          intakeKeyHash: hashIntakeKey(intakeKey),
        },
        new Date(),
      );
      const campaign = await followUps.createCampaign({
        clientAccountId: seeded.tenant.id,
        status: 'active',
        name: 'Nudge',
        trigger: { type: 'lead_created' },
        schedule: { quietHours: null },
        exitRules: { onReply: true, onOptOut: true },
        steps: [
          {
            id: 'nudge',
            delay: 'P1D',
            message: { type: 'template', name: 'welcome_lead', parameters: { body: ['there'] } },
          },
        ],
      });
      return { ...seeded, intakeKey, campaign };
    }

    const postLead = (tenant: string, key: string, body: unknown) =>
      fetch(`${base}/api/leads/${tenant}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });

    it('a website lead and the same phone from Lead Ads make one lead with one welcome; a reply stops its follow-up', async () => {
      const acme = await onboard();
      const cloud = cloudApiHandlers({ baseUrl: CLOUD });
      msw.use(
        ...cloud.handlers,
        ...graphHandlers({
          baseUrl: GRAPH,
          leads: {
            '9000000000000001': buildGraphLead({
              leadgenId: '9000000000000001',
              fullName: 'Priya Sharma',
              phone: PRIYA,
            }),
          },
          accessTokens: [PAGE_TOKEN],
        }),
      );

      expect((await postLead(acme.tenant.id, 'wrong-key', { name: 'Priya', phone: PRIYA })).status).toBe(401);
      const bad = await postLead(acme.tenant.id, acme.intakeKey, { name: '', phone: 'x' });
      expect(bad.status).toBe(400);
      expect((await bad.json()).error.code).toBe('validation_failed');

      const website = await postLead(acme.tenant.id, acme.intakeKey, {
        name: 'Priya Sharma',
        phone: '098123 45678',
        answers: { budget: 8000000 },
      });
      expect(website.status).toBe(201);
      const { id: leadId } = (await website.json()) as { id: string };
      await relay.drain();
      expect(cloud.sends).toHaveLength(1);
      expect(cloud.sends[0]!.body).toMatchObject({
        to: '919812345678',
        type: 'template',
        template: {
          name: 'welcome_lead',
          components: [{ type: 'body', parameters: [{ type: 'text', text: 'Priya' }] }],
        },
      });

      // The same phone through Lead Ads: merged into the lead, no second welcome.
      const body = JSON.stringify(buildLeadgenWebhook({ pageId: PAGE_ID, leadgenIds: ['9000000000000001'] }));
      const signed = await fetch(`${base}/api/meta/webhook/${acme.tenant.id}`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-hub-signature-256': signMetaBody(body, acme.secrets.appSecret),
        },
        body,
      });
      expect(signed.status).toBe(200);
      const forged = await fetch(`${base}/api/meta/webhook/${acme.tenant.id}`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-hub-signature-256': signMetaBody(body, 'not-the-secret'),
        },
        body,
      });
      expect(forged.status).toBe(401);
      await relay.drain();
      const lead = await relay.parts.store.leads.get(acme.tenant.id, leadId);
      expect(lead).toMatchObject({
        source: 'Website',
        additionalSources: ['Facebook Lead Ad'],
        answers: { budget: '8000000' },
      });
      expect(cloud.sends).toHaveLength(1);
      const enrolments = await relay.parts.followUpStore.listEnrolments(acme.tenant.id, { leadId });
      expect(enrolments.map((e) => e.status)).toEqual(['active']);

      // The lead writes back on WhatsApp: the follow-up waiting for a reply stops.
      const reply = signCloudPayload(
        cloudInboundText({
          phoneNumberId: PHONE_NUMBER_ID,
          from: PRIYA,
          text: 'Yes, interested',
          id: 'wamid.REPLY1',
        }),
        acme.secrets.appSecret,
      );
      const inbound = await fetch(`${base}/api/waba/webhook/${acme.tenant.id}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-hub-signature-256': reply.signature },
        body: reply.body,
      });
      expect(await inbound.json()).toEqual({ received: 1, duplicates: 0, ignored: 0 });
      await relay.drain();
      const after = await relay.parts.followUpStore.listEnrolments(acme.tenant.id, { leadId });
      expect(after.map((e) => [e.status, e.exitReason])).toEqual([['exited', 'replied']]);
      expect((await relay.parts.store.leads.get(acme.tenant.id, leadId))?.lastInboundAt).not.toBeNull();
    });

    it('onboards a Gupshup client through the admin API; its website leads are welcomed and its callbacks accepted', async () => {
      const admin = (path: string, body?: unknown, token = ADMIN_TOKEN) =>
        fetch(`${base}/api/admin${path}`, {
          method: body === undefined ? 'GET' : 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        });
      expect((await admin('/clients', undefined, 'wrong-token-0123456789')).status).toBe(401);
      const invalid = await admin('/clients', {
        name: 'Bad',
        waba: { provider: 'gupshup', number: '+919000000009' },
      });
      expect(invalid.status).toBe(400);
      expect(JSON.stringify(await invalid.json())).toContain('appName');

      const created = await admin('/clients', {
        name: 'Baner Homes',
        defaultCountry: 'IN',
        timezone: 'Asia/Kolkata',
        meta: { appId: '1234567890', appSecret: 'baner-app-secret-1', verifyToken: 'baner-verify-token' },
        waba: {
          provider: 'gupshup',
          number: '+919000000077',
          appName: 'BanerBot',
          apiKey: 'gupshup-api-key-1',
        },
        welcomeTemplate: 'hello_lead',
      });
      expect(created.status).toBe(201);
      const client = (await created.json()) as { id: string; intakeKey: string; webhookToken: string };
      expect(client).toMatchObject({ id: expect.any(String), intakeKey: expect.stringMatching(/^lrk_/) });
      expect(client.webhookToken.length).toBeGreaterThan(20);
      const listed = JSON.stringify(await (await admin('/clients')).json());
      expect(listed).toContain('Baner Homes');
      for (const secret of [
        'baner-app-secret-1',
        'gupshup-api-key-1',
        client.intakeKey,
        client.webhookToken,
      ]) {
        expect(listed).not.toContain(secret);
      }
      expect(
        (
          await admin(`/clients/${client.id}/templates`, {
            name: 'hello_lead',
            language: 'en',
            category: 'UTILITY',
            status: 'APPROVED',
            body: 'Hello {{1}}, welcome to Baner Homes.',
            providerTemplateId: '8f1c2e4a-0000-4000-8000-000000000001',
          })
        ).status,
      ).toBe(201);
      expect(
        (await admin(`/clients/${client.id}/agents`, { name: 'Asha', email: 'asha@baner.test' })).status,
      ).toBe(201);
      expect(
        (await admin(`/clients/${client.id}/users`, { email: 'o@baner.test', password: 'x', role: 'owner' }))
          .status,
      ).toBe(501);

      const gupshup = gupshupHandlers({ baseUrl: GUPSHUP });
      msw.use(...gupshup.handlers);
      const lead = await postLead(client.id, client.intakeKey, {
        name: 'Rahul Mehta',
        phone: '+919811122233',
        source: 'Referral',
      });
      expect(lead.status).toBe(201);
      await relay.drain();
      expect(gupshup.sends).toHaveLength(1);
      expect(gupshup.sends[0]).toMatchObject({
        to: '919811122233',
        body: {
          'src.name': 'BanerBot',
          template: { id: '8f1c2e4a-0000-4000-8000-000000000001', params: ['Rahul'] },
        },
      });

      const callback = JSON.stringify(
        gupshupInboundText({ from: '+919811122233', text: 'Hi', app: 'BanerBot' }),
      );
      const wrong = await fetch(`${base}/api/waba/webhook/${client.id}?token=nope`, {
        method: 'POST',
        body: callback,
      });
      expect(wrong.status).toBe(401);
      const right = await fetch(`${base}/api/waba/webhook/${client.id}?token=${client.webhookToken}`, {
        method: 'POST',
        body: callback,
      });
      expect(await right.json()).toEqual({ received: 1, duplicates: 0 });
    });

    it('answers health and readiness, and 404 with a typed error for an unknown route', async () => {
      expect(await (await fetch(`${base}/healthz`)).json()).toEqual({ status: 'ok' });
      expect((await fetch(`${base}/readyz`)).status).toBe(200);
      const doc = (await (await fetch(`${base}/openapi.json`)).json()) as {
        openapi: string;
        paths: Record<
          string,
          { post?: { requestBody?: { content: Record<string, { schema: { required?: string[] } }> } } }
        >;
      };
      expect(doc.openapi).toBe('3.1.0');
      expect(
        doc.paths['/api/admin/clients']?.post?.requestBody?.content['application/json']?.schema.required,
      ).toEqual(['name']);
      const docs = await fetch(`${base}/docs`);
      expect(docs.headers.get('content-type')).toContain('text/html');
      expect(await docs.text()).toContain('POST /api/admin/clients/{id}/templates');
      const missing = await fetch(`${base}/api/nothing`);
      expect(missing.status).toBe(404);
      expect((await missing.json()).error.code).toBe('route_not_found');
    });
  });
}
