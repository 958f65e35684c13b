import { readFileSync } from 'node:fs';
import {
  gupshupHandlers,
  gupshupInboundReply,
  gupshupInboundText,
  gupshupMessageEvent,
} from '@leadrelay/waba/testing';
import { setupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  createHarness,
  GUPSHUP_BASE,
  type Harness,
  onlyLoopbackUnhandled,
  serve,
} from '../../test/harness.js';
import { readLeadWabaState } from '../client/lead-waba-state.js';
import { createGupshupWebhookHandler } from './gupshup-webhook-handler.js';
import type { WabaEvent } from './waba-event.js';

const fixture = (name: string) =>
  readFileSync(new URL(`../../../../../shared/fixtures/${name}`, import.meta.url), 'utf8');

const msw = setupServer();
beforeAll(() => msw.listen({ onUnhandledFrame: onlyLoopbackUnhandled }));
afterEach(() => msw.resetHandlers());
afterAll(() => msw.close());

let h: Harness;
let http: { url: string; close(): Promise<void> };
let events: WabaEvent[];

beforeEach(async () => {
  events = [];
  h = await createHarness({ provider: 'gupshup', client: { onEvent: (e) => void events.push(e) } });
  http = await serve(createGupshupWebhookHandler({ client: h.client, maxBodyBytes: 64 * 1024 }));
});
afterEach(() => http.close());

const post = (
  body: string,
  query = `token=${h.secrets.webhookSecret}`,
  headers: Record<string, string> = {},
  tenant = h.tenant.id,
) =>
  fetch(`${http.url}/api/waba/gupshup/${tenant}${query ? `?${query}` : ''}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body,
  });

/** A text sent through Gupshup (the send fixture's gsId) to a lead whose window is open. */
async function sendToLeadWhoWrote() {
  msw.use(
    ...gupshupHandlers({
      baseUrl: GUPSHUP_BASE,
      outcome: { status: 202, body: JSON.parse(fixture('gupshup-send-accepted.json')) },
    }).handlers,
  );
  const { lead } = await h.store.leads.upsertByPhone({
    clientAccountId: h.tenant.id,
    phone: '+919812345678',
    source: 'WA Direct',
  });
  await h.store.leads.update(h.tenant.id, lead.id, { lastInboundAt: h.clock.now() });
  return h.client.send({ tenant: h.tenant.id, to: '+919812345678', message: { type: 'text', text: 'Hi' } });
}

describe('Gupshup webhook: authentication and bad input', () => {
  it('needs the tenant secret, compared exactly, from the URL or a header', async () => {
    const body = fixture('gupshup-inbound-text.json');
    expect((await post(body, '')).status).toBe(401);
    const wrong = await post(body, 'token=wrong');
    expect(wrong.status).toBe(401);
    expect(await wrong.json()).toEqual({
      error: { code: 'unauthorized', message: 'The callback secret does not match' },
    });
    expect((await post(body, `token=${h.secrets.webhookSecret}x`)).status).toBe(401);
    expect((await post(body, '', { 'x-leadrelay-token': h.secrets.webhookSecret })).status).toBe(200);
    expect(events).toHaveLength(1);
  });

  it('answers 404 for an unknown tenant, 400 for bad JSON or shape, 405 for GET, 413 when too large', async () => {
    expect((await post(fixture('gupshup-inbound-text.json'), 'token=x', {}, 'no-such-tenant')).status).toBe(
      404,
    );
    const invalid = await post('{"app":');
    expect(invalid.status).toBe(400);
    expect((await invalid.json()).error.code).toBe('json_invalid');
    const shape = await post(JSON.stringify({ type: 'message', payload: { id: 'x' } }));
    expect(shape.status).toBe(400);
    expect((await shape.json()).error.code).toBe('validation_failed');
    expect((await fetch(`${http.url}/api/waba/gupshup/${h.tenant.id}`)).status).toBe(405);
    expect((await post(JSON.stringify({ pad: 'x'.repeat(70 * 1024) }))).status).toBe(413);
    expect((await post('')).status).toBe(200);
    expect(events).toHaveLength(0);
  });
});

describe('Gupshup webhook: events', () => {
  it('an inbound message creates the WA Direct lead, is stored once and opens the window', async () => {
    const body = fixture('gupshup-inbound-text.json');
    const first = await post(body);
    expect(first.status).toBe(200);
    expect(await first.json()).toEqual({ received: 1, duplicates: 0 });
    expect(await (await post(body)).json()).toEqual({ received: 0, duplicates: 1 });

    const lead = await h.store.leads.getByPhone(h.tenant.id, '+919812345678');
    expect(lead).toMatchObject({
      name: 'José',
      source: 'WA Direct',
      wabaConfigurationId: h.waba.id,
      lastInboundAt: new Date(1764062220000),
    });
    const conversation = await h.store.messages.listByLead(h.tenant.id, lead!.id);
    expect(conversation.items).toEqual([
      expect.objectContaining({
        direction: 'inbound',
        kind: 'text',
        body: 'Sí, me interesa 👍 can we talk tomorrow?',
        status: 'received',
        providerMessageId: 'ABEGkZlgQyWAAgo-sDVSUOa9jH0z',
      }),
    ]);
    expect(events.map((e) => e.type)).toEqual(['message']);
    expect(events[0]).toMatchObject({ leadCreated: true, lead: { id: lead!.id } });

    h.clock.set('2025-11-25T10:00:00Z'); // the fixture's message was at 09:17 UTC that day
    const explained = await h.client.explain({ tenant: h.tenant.id, to: '+919812345678' });
    expect(explained).toMatchObject({ allowed: true, reason: 'service_window_open' });
  });

  it('a button reply keeps the id to match by', async () => {
    await post(fixture('gupshup-inbound-button.json'));
    expect(events[0]).toMatchObject({
      type: 'message',
      message: { kind: 'button_reply', body: 'Book a visit' },
      event: { content: { reply: { id: 'book_visit' } } },
    });
  });

  it('STOP opts the lead out (keyword) and later sends are refused', async () => {
    await post(fixture('gupshup-inbound-stop.json'));
    expect(events.map((e) => e.type)).toEqual(['message', 'opt_out']);
    expect(events[1]).toMatchObject({ event: { via: 'keyword', phone: '+919812345678' } });
    const lead = await h.store.leads.getByPhone(h.tenant.id, '+919812345678');
    expect(lead?.optedOut).toBe(true);
    await expect(
      h.client.send({ tenant: h.tenant.id, to: '+919812345678', message: { type: 'text', text: 'Hi' } }),
    ).rejects.toMatchObject({
      code: 'opted_out',
    });
    await post(
      JSON.stringify(gupshupInboundText({ from: '+919812345678', text: 'START', timestamp: 1764062400000 })),
    );
    expect((await h.store.leads.getByPhone(h.tenant.id, '+919812345678'))?.optedOut).toBe(false);
    expect(events.at(-1)?.type).toBe('opt_in');
  });

  it('a user-event opt-out opts the lead out, creating it when unknown', async () => {
    const response = await post(fixture('gupshup-user-event-optout.json'));
    expect(await response.json()).toEqual({ received: 1, duplicates: 0 });
    expect(await h.store.leads.getByPhone(h.tenant.id, '+919812345678')).toMatchObject({
      optedOut: true,
      source: 'WA Direct',
    });
    expect(events[0]).toMatchObject({ type: 'opt_out', event: { via: 'user_event' } });
  });

  it('statuses move the stored message forward, store both ids and never go back', async () => {
    const sent = await sendToLeadWhoWrote();
    expect(sent.providerMessageId).toBe('ee4a68a0-1203-4c85-8dc3-49d0b3226a35');

    await post(fixture('gupshup-event-delivered.json'));
    let stored = await h.store.messages.get(h.tenant.id, sent.messageId);
    expect(stored).toMatchObject({
      status: 'delivered',
      providerMessageId: 'ee4a68a0-1203-4c85-8dc3-49d0b3226a35',
      providerAltId: 'gBEGkZlgQyWAAglMmDXYbsXl1W4',
      statusAt: new Date(1764062160 * 1000),
    });
    // A late `sent` (found by the wamid) does not move it back; `read` moves it on.
    await post(
      JSON.stringify(
        gupshupMessageEvent({
          gsId: sent.providerMessageId,
          wamid: 'gBEGkZlgQyWAAglMmDXYbsXl1W4',
          status: 'sent',
          destination: '+919812345678',
        }),
      ),
    );
    await post(
      JSON.stringify(
        gupshupMessageEvent({
          gsId: sent.providerMessageId,
          wamid: 'gBEGkZlgQyWAAglMmDXYbsXl1W4',
          status: 'read',
          destination: '+919812345678',
        }),
      ),
    );
    stored = await h.store.messages.get(h.tenant.id, sent.messageId);
    expect(stored?.status).toBe('read');
    expect(events.filter((e) => e.type === 'status')).toHaveLength(3);

    const unknown = await post(fixture('gupshup-event-failed.json'));
    expect(unknown.status).toBe(200);
    expect(events.at(-1)).toMatchObject({
      type: 'status',
      message: null,
      event: { error: { code: '1002' } },
    });
  });

  it('a failed event with only gsId fails the sent message; a mismatch fails it too', async () => {
    const sent = await sendToLeadWhoWrote();
    const failed = await post(
      JSON.stringify({
        app: 'DemoApp',
        timestamp: 1764062160000,
        version: 2,
        type: 'message-event',
        payload: {
          gsId: sent.providerMessageId,
          type: 'failed',
          payload: { code: 1002, reason: 'Number Does Not Exists On WhatsApp' },
        },
      }),
    );
    expect(failed.status).toBe(200);
    expect(await h.store.messages.get(h.tenant.id, sent.messageId)).toMatchObject({ status: 'failed' });
    expect(events.at(-1)).toMatchObject({
      type: 'status',
      message: { id: sent.messageId },
      event: { error: { code: '1002' } },
    });

    const mismatch = await post(
      JSON.stringify({
        app: 'DemoApp',
        timestamp: 1764062170000,
        version: 2,
        type: 'message-event',
        payload: {
          id: '59f8db90-b2a8-4c0e-9a3f-1f3c2d4e5f60',
          gsId: sent.providerMessageId,
          type: 'mismatch',
          destination: '919812345678',
          payload: { srcAddr: 'TESTSM', code: 1003, reason: 'Billing mismatch' },
        },
      }),
    );
    expect(mismatch.status).toBe(200);
    expect(events.at(-1)).toMatchObject({
      type: 'status',
      message: { id: sent.messageId },
      event: { status: 'failed', error: { code: '1003', reason: 'Billing mismatch' } },
    });
  });

  it('a click-to-WhatsApp referral gives the lead its free entry point', async () => {
    const response = await post(
      JSON.stringify({
        app: 'DemoApp',
        timestamp: 1764062220000,
        version: 2,
        type: 'message',
        payload: {
          id: 'ABEGkYaYVSEEAhAL3SLAWwHKeKrt6s3FKB0c',
          source: '919812345678',
          type: 'text',
          payload: { text: 'Hi, I saw your ad' },
          sender: { phone: '919812345678', name: 'Priya', country_code: '91', dial_code: '9812345678' },
          context: null,
          referral: {
            source_url: 'https://fb.me/abc',
            source_id: '120200000000000',
            source_type: 'ad',
            headline: '2BHK in Baner',
            body: '',
            media_type: 'image',
            ctwa_clid: 'ARAkLkA8rmlFeiCktEJQ',
          },
        },
      }),
    );
    expect(await response.json()).toEqual({ received: 1, duplicates: 0 });
    const lead = await h.store.leads.getByPhone(h.tenant.id, '+919812345678');
    expect(readLeadWabaState(lead!).entryPoint).toMatchObject({
      source: 'ctwa',
      at: new Date(1764062220000),
      sourceId: '120200000000000',
      ctwaClid: 'ARAkLkA8rmlFeiCktEJQ',
      headline: '2BHK in Baner',
    });
  });

  it('a failing onEvent answers 5xx and the retried delivery is processed', async () => {
    let fail = true;
    const flaky = await serve(
      createGupshupWebhookHandler({
        client: h.client,
        onEvent: () => {
          if (fail) throw new Error('downstream unavailable');
        },
      }),
    );
    const body = JSON.stringify(
      gupshupInboundReply({
        from: '+919812345678',
        replyId: 'sat_10',
        title: 'Sat 10:00',
        kind: 'list_reply',
      }),
    );
    const url = `${flaky.url}/api/waba/gupshup/${h.tenant.id}?token=${h.secrets.webhookSecret}`;
    const first = await fetch(url, { method: 'POST', body });
    expect(first.status).toBe(500);
    fail = false;
    const retry = await fetch(url, { method: 'POST', body });
    expect(await retry.json()).toEqual({ received: 1, duplicates: 0 });
    const lead = await h.store.leads.getByPhone(h.tenant.id, '+919812345678');
    expect((await h.store.messages.listByLead(h.tenant.id, lead!.id)).items).toHaveLength(1);
    await flaky.close();
  });
});
