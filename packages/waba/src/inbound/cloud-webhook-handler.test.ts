import { readFileSync } from 'node:fs';
import { sealTenantSecret } from '@leadrelay/core';
import { createManualClock } from '@leadrelay/core/testing';
import { cloudInboundText, cloudStatus, seedWabaTenant, signCloudPayload } from '@leadrelay/waba/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createHarness, type Harness, serve } from '../../test/harness.js';
import { readLeadWabaState } from '../client/lead-waba-state.js';
import { createCloudWebhookHandler } from './cloud-webhook-handler.js';
import type { WabaEvent } from './waba-event.js';

const fixture = (name: string) =>
  readFileSync(new URL(`../../../../../shared/fixtures/${name}`, import.meta.url)) as Buffer<ArrayBuffer>;
const CTWA_META_SIGNATURE = 'sha256=975f2edbd375221abeb32cc7bfb2746d2c696b1ce01ea61b824c566e6ec5dd5b';
const DELIVERED_SIGNATURE = 'sha256=1456dbf09edc5c4c5008f5c8f93b4ec5abbaeaf034adcb70efc40b21fe9494cd';

let h: Harness;
let http: { url: string; close(): Promise<void> };
let events: WabaEvent[];

beforeEach(async () => {
  events = [];
  // The fixtures were recorded on 25 November 2025.
  h = await createHarness({
    provider: 'cloud_api',
    clock: createManualClock('2025-11-25T10:00:00Z'),
    client: { onEvent: (e) => void events.push(e) },
  });
  http = await serve(createCloudWebhookHandler({ client: h.client, maxBodyBytes: 64 * 1024 }));
});
afterEach(() => http.close());

const post = (
  body: Buffer<ArrayBuffer> | string,
  signature: string | null,
  path = `/api/waba/cloud/${h.tenant.id}`,
) =>
  fetch(`${http.url}${path}`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(signature ? { 'x-hub-signature-256': signature } : {}),
    },
    body,
    // The answer comes once the events are recorded; wait for their processing too.
  }).then(async (response) => {
    await h.client.idle();
    return response;
  });

describe('Cloud API webhook: handshake and signatures', () => {
  it('answers the subscription handshake with the challenge only for the tenant token', async () => {
    const url = (token: string) =>
      `${http.url}/api/waba/cloud/${h.tenant.id}?hub.mode=subscribe&hub.verify_token=${token}&hub.challenge=1158201444`;
    const ok = await fetch(url(h.secrets.verifyToken));
    expect(ok.status).toBe(200);
    expect(await ok.text()).toBe('1158201444');
    const refused = await fetch(url('wrong'));
    expect(refused.status).toBe(403);
    expect((await refused.json()).error.code).toBe('verification_failed');
    expect((await fetch(url(''))).status).toBe(403);
    expect(
      (
        await fetch(
          `${http.url}/api/waba/cloud/unknown?hub.mode=subscribe&hub.verify_token=x&hub.challenge=1`,
        )
      ).status,
    ).toBe(404);
  });

  it('refuses missing and wrong signatures with 401 before parsing', async () => {
    const body = fixture('cloud-status-delivered.json');
    expect((await post(body, null)).status).toBe(401);
    const wrong = await post(body, `sha256=${'0'.repeat(64)}`);
    expect(wrong.status).toBe(401);
    expect((await wrong.json()).error.code).toBe('signature_invalid');
    expect((await post('{not json', `sha256=${'0'.repeat(64)}`)).status).toBe(401);
    expect((await post(body, DELIVERED_SIGNATURE)).status).toBe(200);
  });

  it('a number with a Meta app of its own is verified with its own secret and token', async () => {
    const [waba] = await h.store.wabaConfigurations.list(h.tenant.id);
    await h.store.wabaConfigurations.update(h.tenant.id, waba!.id, {
      providerConfig: {
        ...waba!.providerConfig,
        appSecretEncrypted: sealTenantSecret(h.secretBox, h.tenant.id, 'meta_app_secret', 'waba-app-secret'),
        verifyTokenEncrypted: sealTenantSecret(h.secretBox, h.tenant.id, 'meta_verify_token', 'waba-token'),
      },
    });
    const handshake = (token: string) =>
      fetch(
        `${http.url}/api/waba/cloud/${h.tenant.id}?hub.mode=subscribe&hub.verify_token=${token}&hub.challenge=77`,
      );
    expect(await (await handshake('waba-token')).text()).toBe('77');
    // The tenant's own token still answers for its other webhooks.
    expect((await handshake(h.secrets.verifyToken)).status).toBe(200);
    expect((await handshake('wrong')).status).toBe(403);

    const inbound = cloudInboundText({
      phoneNumberId: '106540352242922',
      from: '+919845012345',
      text: 'hello',
      id: 'wamid.OWN',
    });
    const own = signCloudPayload(inbound, 'waba-app-secret');
    expect(await (await post(own.body, own.signature)).json()).toEqual({
      received: 1,
      duplicates: 0,
      ignored: 0,
    });
    // The tenant's Lead Ads secret no longer speaks for this number.
    const leadAds = signCloudPayload(
      cloudInboundText({
        phoneNumberId: '106540352242922',
        from: '+919845012346',
        text: 'hi',
        id: 'wamid.TENANT',
      }),
      h.secrets.appSecret,
    );
    expect(await (await post(leadAds.body, leadAds.signature)).json()).toEqual({
      received: 0,
      duplicates: 0,
      ignored: 1,
    });
    expect(await h.store.leads.getByPhone(h.tenant.id, '+919845012346')).toBeNull();
    expect((await post(own.body, `sha256=${'0'.repeat(64)}`)).status).toBe(401);
  });

  it('verifies a signed body of an unknown shape, keeps it raw as unparsed and answers 200', async () => {
    const { body, signature } = signCloudPayload({ object: 'page', entry: 'nope' }, h.secrets.appSecret);
    const response = await post(body, signature);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ received: 0, duplicates: 0, ignored: 0, unparsed: 1 });
    const [kept] = await h.client.inbound.inbox.list({ topic: 'waba', status: 'unparsed' });
    expect(kept).toMatchObject({
      clientAccountId: h.tenant.id,
      payload: { provider: 'cloud_api', type: 'page' },
    });
    expect((await h.client.inbound.counts(h.tenant.id)).unparsed).toBe(1);
    // An unsigned body of any shape is still refused first.
    expect((await post(body, 'sha256=00')).status).toBe(401);
  });
});

describe('Cloud API webhook: events', () => {
  it('the CTWA fixture (escaped-unicode signature) creates the lead with its free entry point, once', async () => {
    const response = await post(fixture('cloud-inbound-text-ctwa.json'), CTWA_META_SIGNATURE);
    expect(await response.json()).toEqual({ received: 1, duplicates: 0, ignored: 0 });
    expect(await (await post(fixture('cloud-inbound-text-ctwa.json'), CTWA_META_SIGNATURE)).json()).toEqual({
      received: 0,
      duplicates: 1,
      ignored: 0,
    });
    const lead = await h.store.leads.getByPhone(h.tenant.id, '+919845012345');
    expect(lead).toMatchObject({
      name: 'Ananya Rao',
      source: 'WA Direct',
      lastInboundAt: new Date(1764062400 * 1000),
    });
    expect(readLeadWabaState(lead!).entryPoint).toEqual({
      source: 'ctwa',
      at: new Date(1764062400 * 1000),
      qualifyingReplyAt: null,
      sourceId: '23850000000001',
      ctwaClid: 'ARAkLkA8r',
      headline: 'Sea View 2BHK',
    });
    const messages = await h.store.messages.listByLead(h.tenant.id, lead!.id);
    expect(messages.items).toEqual([
      expect.objectContaining({
        body: 'Hi! Is the 3BHK in Baner still available? ₹1.4 Cr budget',
        payload: expect.objectContaining({ referral: expect.objectContaining({ source: 'ctwa' }) }),
      }),
    ]);
    const explained = await h.client.explain({ tenant: h.tenant.id, to: '+919845012345' });
    expect(explained).toMatchObject({
      allowed: true,
      reason: 'free_entry_point',
      opensFreeEntryPoint: true,
      billable: false,
    });
    expect(events.map((e) => e.type)).toEqual(['message']);
  });

  it('a status updates the stored message; 131050 marks a marketing opt-out', async () => {
    const { lead } = await h.store.leads.upsertByPhone({
      clientAccountId: h.tenant.id,
      phone: '+919845012345',
      source: 'WA Direct',
    });
    const message = await h.store.messages.create({
      clientAccountId: h.tenant.id,
      leadId: lead.id,
      direction: 'outbound',
      kind: 'template',
      status: 'queued',
      provider: 'cloud_api',
      providerMessageId: 'wamid.HBgMOTE5ODQ1MDEyMzQ1FQIAERgSQjRCMDQ',
    });
    expect((await post(fixture('cloud-status-delivered.json'), DELIVERED_SIGNATURE)).status).toBe(200);
    expect(await h.store.messages.get(h.tenant.id, message.id)).toMatchObject({
      status: 'delivered',
      statusAt: new Date(1764062500 * 1000),
    });
    expect(events[0]).toMatchObject({
      type: 'status',
      message: { id: message.id },
      event: { pricing: { type: 'free_customer_service' } },
    });

    const other = await h.store.messages.create({
      clientAccountId: h.tenant.id,
      leadId: lead.id,
      direction: 'outbound',
      kind: 'template',
      status: 'queued',
      provider: 'cloud_api',
      providerMessageId: 'wamid.MARKETING',
    });
    const { body, signature } = signCloudPayload(
      cloudStatus({
        phoneNumberId: '106540352242922',
        id: 'wamid.MARKETING',
        status: 'failed',
        recipient: '+919845012345',
        errorCode: 131050,
      }),
      h.secrets.appSecret,
    );
    await post(body, signature);
    expect(await h.store.messages.get(h.tenant.id, other.id)).toMatchObject({
      status: 'failed',
      errorCode: '131050',
    });
    expect(readLeadWabaState((await h.store.leads.get(h.tenant.id, lead.id))!).marketingOptedOut).toBe(true);
  });

  it('a test-number sender WhatsApp verified becomes a WA Direct lead with +wa_id, never dropped', async () => {
    const { body, signature } = signCloudPayload(
      cloudInboundText({
        phoneNumberId: '106540352242922',
        from: '+15550001234',
        id: 'wamid.TEST',
        text: 'Hi',
      }),
      h.secrets.appSecret,
    );
    const response = await post(body, signature);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ received: 1 });
    const lead = await h.store.leads.getByPhone(h.tenant.id, '+15550001234');
    expect(lead).toMatchObject({ source: 'WA Direct' });
    expect(await h.store.messages.findByProviderId(h.tenant.id, 'wamid.TEST')).toMatchObject({
      leadId: lead!.id,
      direction: 'inbound',
      body: 'Hi',
    });
    expect(events[0]).toMatchObject({
      type: 'message',
      event: { from: '+15550001234', phoneUnvalidated: true },
    });
  });

  it('played moves a voice message to read; an unknown status is kept but moves nothing', async () => {
    const { lead } = await h.store.leads.upsertByPhone({
      clientAccountId: h.tenant.id,
      phone: '+919845012345',
      source: 'WA Direct',
    });
    const message = await h.store.messages.create({
      clientAccountId: h.tenant.id,
      leadId: lead.id,
      direction: 'outbound',
      kind: 'audio',
      status: 'delivered',
      provider: 'cloud_api',
      providerMessageId: 'wamid.VOICE',
    });
    const send = async (status: string, timestamp: number) => {
      const { body, signature } = signCloudPayload(
        cloudStatus({
          phoneNumberId: '106540352242922',
          id: 'wamid.VOICE',
          status,
          recipient: '+919845012345',
          timestamp,
        }),
        h.secrets.appSecret,
      );
      const response = await post(body, signature);
      expect(response.status).toBe(200);
      return (await response.json()) as { received: number };
    };
    expect(await send('played', 1764062600)).toMatchObject({ received: 1 });
    expect(await h.store.messages.get(h.tenant.id, message.id)).toMatchObject({
      status: 'read',
      statusAt: new Date(1764062600 * 1000),
    });
    expect(events[0]).toMatchObject({ type: 'status', event: { status: 'read', providerStatus: 'played' } });

    expect(await send('reverted_by_meta', 1764062700)).toMatchObject({ received: 1 });
    expect(await h.store.messages.get(h.tenant.id, message.id)).toMatchObject({
      status: 'read',
      statusAt: new Date(1764062600 * 1000),
    });
    expect(events[1]).toMatchObject({
      type: 'status',
      message: { id: message.id },
      event: { status: null, providerStatus: 'reverted_by_meta' },
    });
  });

  it('an unknown status is logged at warn, naming the raw status and nothing secret', async () => {
    const warnings: [object, string | undefined][] = [];
    const logger = {
      debug() {},
      info() {},
      warn: (obj: object, msg?: string) => void warnings.push([obj, msg]),
      error() {},
      child: () => logger,
    };
    const own = await createHarness({
      provider: 'cloud_api',
      clock: createManualClock('2025-11-25T10:00:00Z'),
      client: { logger },
    });
    const server = await serve(createCloudWebhookHandler({ client: own.client }));
    try {
      const { body, signature } = signCloudPayload(
        cloudStatus({
          phoneNumberId: '106540352242922',
          id: 'wamid.NOPE',
          status: 'reverted_by_meta',
          recipient: '+919845012345',
        }),
        own.secrets.appSecret,
      );
      const response = await fetch(`${server.url}/api/waba/cloud/${own.tenant.id}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-hub-signature-256': signature },
        body,
      });
      expect(response.status).toBe(200);
      await own.client.idle();
      // The message is unknown: the status is looked up again twice, then applied alone.
      for (const wait of [1_000, 3_000]) {
        own.clock.advance(wait);
        await own.client.inbound.drain();
      }
      expect(warnings).toContainEqual([
        { provider: 'cloud_api', providerMessageId: 'wamid.NOPE', providerStatus: 'reverted_by_meta' },
        'unknown provider status; the message is not moved',
      ]);
      expect(JSON.stringify(warnings)).not.toContain(own.secrets.appSecret);
    } finally {
      await server.close();
    }
  });

  it('routes by phone number id when the URL names no tenant, and never applies events for another tenant', async () => {
    const routed = await serve(
      createCloudWebhookHandler({ client: h.client, tenantFromRequest: () => null }),
    );
    const other = await seedWabaTenant({
      store: h.store,
      secretBox: h.secretBox,
      provider: 'cloud_api',
      tenant: { name: 'Other Realty' },
      wabaNumber: '+919000000002',
      phoneNumberId: '200000000000002',
      appSecret: 'other-app-secret',
    });
    const mixed = {
      object: 'whatsapp_business_account',
      entry: [
        cloudInboundText({
          phoneNumberId: '106540352242922',
          from: '+919845012345',
          text: 'for acme',
          id: 'wamid.A',
        }).entry[0],
        cloudInboundText({
          phoneNumberId: '200000000000002',
          from: '+919845012346',
          text: 'for other',
          id: 'wamid.B',
        }).entry[0],
      ],
    };
    // Signed with Acme's secret: only Acme's number is applied.
    const signed = signCloudPayload(mixed, h.secrets.appSecret);
    const response = await fetch(`${routed.url}/webhook`, {
      method: 'POST',
      headers: { 'x-hub-signature-256': signed.signature },
      body: signed.body,
    });
    expect(await response.json()).toEqual({ received: 1, duplicates: 0, ignored: 1 });
    await h.client.idle();
    expect(await h.store.leads.getByPhone(h.tenant.id, '+919845012345')).not.toBeNull();
    expect(await h.store.leads.getByPhone(other.tenant.id, '+919845012346')).toBeNull();

    // Through Acme's URL, an event for the other tenant's number is ignored even with a valid signature.
    const viaUrl = await post(signed.body, signed.signature);
    expect(await viaUrl.json()).toEqual({ received: 0, duplicates: 1, ignored: 1 });
    await routed.close();
  });
});
