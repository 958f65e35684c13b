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
    // The answer comes once the events are recorded; wait for their processing too.
  }).then(async (response) => {
    await h.client.idle();
    return response;
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

  it('answers 404 for an unknown tenant, 400 for bad JSON, 405 for GET, 413 when too large', async () => {
    expect((await post(fixture('gupshup-inbound-text.json'), 'token=x', {}, 'no-such-tenant')).status).toBe(
      404,
    );
    const invalid = await post('{"app":');
    expect(invalid.status).toBe(400);
    expect((await invalid.json()).error.code).toBe('json_invalid');
    expect((await fetch(`${http.url}/api/waba/gupshup/${h.tenant.id}`)).status).toBe(405);
    expect((await post(JSON.stringify({ pad: 'x'.repeat(70 * 1024) }))).status).toBe(413);
    expect((await post('')).status).toBe(200);
    expect(events).toHaveLength(0);
  });

  it('keeps an authenticated body of an unknown shape raw as unparsed and answers 200, once', async () => {
    for (const body of [
      JSON.stringify({ type: 'message', payload: { id: 'x' } }),
      JSON.stringify({ app: 'AcmeBot', timestamp: 1, type: 'account-event', payload: { status: 'new' } }),
    ]) {
      const response = await post(body);
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({ received: 0, duplicates: 0, unparsed: 1 });
      expect(await (await post(body)).json()).toEqual({ received: 0, duplicates: 1, unparsed: 1 });
    }
    expect((await h.client.inbound.counts(h.tenant.id)).unparsed).toBe(2);
    const kept = await h.client.inbound.inbox.list({ topic: 'waba', status: 'unparsed' });
    expect(kept.map((e) => (e.payload as { type: string }).type)).toEqual(['message', 'account-event']);
    expect((kept[1]!.payload as { body: string }).body).toContain('"account-event"');
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
    // A status can beat its send's stored message: it is looked up again twice before it goes on alone.
    expect(events.filter((e) => e.type === 'status')).toHaveLength(3);
    for (const wait of [1_000, 3_000]) {
      h.clock.advance(wait);
      await h.client.inbound.drain();
    }
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

  it('a failing onEvent still answers 200: the recorded event is retried until it applies, once', async () => {
    let fail = true;
    const seen: WabaEvent[] = [];
    const flaky = await createHarness({
      provider: 'gupshup',
      client: {
        onEvent: (e) => {
          if (fail) throw new Error('downstream unavailable');
          seen.push(e);
        },
        inbound: { retryMinDelayMs: 1_000, retryMaxDelayMs: 1_000 },
      },
    });
    const server = await serve(createGupshupWebhookHandler({ client: flaky.client }));
    const body = JSON.stringify(
      gupshupInboundReply({
        from: '+919812345678',
        replyId: 'sat_10',
        title: 'Sat 10:00',
        kind: 'list_reply',
      }),
    );
    const url = `${server.url}/api/waba/gupshup/${flaky.tenant.id}?token=${flaky.secrets.webhookSecret}`;
    const first = await fetch(url, { method: 'POST', body });
    expect(first.status).toBe(200);
    expect(await first.json()).toEqual({ received: 1, duplicates: 0 });
    await flaky.client.idle();
    expect(await flaky.client.inbound.counts(flaky.tenant.id)).toMatchObject({ pending: 1, done: 0 });
    fail = false;
    // The provider's redelivery is a duplicate; the retry after the backoff applies the event.
    expect(await (await fetch(url, { method: 'POST', body })).json()).toEqual({ received: 0, duplicates: 1 });
    flaky.clock.advance(1_000);
    expect(await flaky.client.inbound.drain()).toMatchObject({ done: 1 });
    expect(seen.map((e) => e.type)).toEqual(['message']);
    const lead = await flaky.store.leads.getByPhone(flaky.tenant.id, '+919812345678');
    expect((await flaky.store.messages.listByLead(flaky.tenant.id, lead!.id)).items).toHaveLength(1);
    await server.close();
  });
});
