import { cloudApiHandlers, cloudInboundReply, cloudInboundText } from '@leadrelay/waba/testing';
import { setupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, GRAPH_BASE } from '../../test/harness.js';
import { parseCloudWebhook } from '../inbound/parse-cloud-webhook.js';
import type { BotResponderInput } from './bot-responder.js';

const server = setupServer();
beforeAll(() => server.listen({ onUnhandledFrame: 'error' }));
afterEach(() => server.resetHandlers());
afterAll(() => server.close());

const ANANYA = '+919845012345';
const nowSeconds = () => Math.floor(Date.parse('2026-11-25T10:00:00Z') / 1000);

describe('bot profiles and the BotResponder hook', () => {
  it('answers an inbound message through send, with the resolved profile and the conversation, once', async () => {
    const cloud = cloudApiHandlers({ baseUrl: GRAPH_BASE });
    server.use(...cloud.handlers);
    const seen: BotResponderInput[] = [];
    const h = await createHarness({
      provider: 'cloud_api',
      client: {
        botResponder: async (input) => {
          seen.push(input);
          return {
            type: 'buttons',
            body: `Hi ${input.lead.name}! When would you like to visit?`,
            buttons: [
              { id: 'sat', title: 'Saturday' },
              { id: 'sun', title: 'Sunday' },
            ],
          };
        },
      },
    });
    const fallback = await h.store.botProfiles.create({
      clientAccountId: h.tenant.id,
      profileName: 'Default',
      isDefault: true,
    });
    const special = await h.store.botProfiles.create({ clientAccountId: h.tenant.id, profileName: 'Luxury' });

    const inbound = parseCloudWebhook(
      cloudInboundText({
        phoneNumberId: '106540352242922',
        from: ANANYA,
        name: 'Ananya',
        text: 'Is it available?',
        id: 'wamid.IN1',
        timestamp: nowSeconds() - 5, // the lead wrote a moment before the webhook is processed
      }),
    );
    const result = await h.client.receive(h.tenant.id, inbound, { waba: h.waba });
    expect(result).toEqual({ received: 1, duplicates: 0, processed: 1 });
    h.clock.advance(1_000);
    await h.client.idle();

    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({
      tenant: { id: h.tenant.id },
      lead: { phone: ANANYA, name: 'Ananya' },
      message: { direction: 'inbound', body: 'Is it available?' },
      profile: { id: fallback.id },
    });
    expect(seen[0]!.conversation.map((m) => m.body)).toEqual(['Is it available?']);
    expect(cloud.sends).toHaveLength(1);
    expect(cloud.sends[0]!.body).toMatchObject({
      to: '919845012345',
      type: 'interactive',
      interactive: { type: 'button' },
    });

    // A redelivery is a duplicate: no second answer.
    expect(await h.client.receive(h.tenant.id, inbound, { waba: h.waba })).toEqual({
      received: 0,
      duplicates: 1,
      processed: 0,
    });
    await h.client.idle();
    expect(cloud.sends).toHaveLength(1);

    // The lead's own profile wins over the tenant default.
    const lead = (await h.store.leads.getByPhone(h.tenant.id, ANANYA))!;
    await h.client.assignBotProfile(h.tenant.id, lead.id, special.id);
    const reply = parseCloudWebhook(
      cloudInboundReply({
        phoneNumberId: '106540352242922',
        from: ANANYA,
        replyId: 'sat',
        title: 'Saturday',
        id: 'wamid.IN2',
        timestamp: nowSeconds() + 60,
      }),
    );
    await h.client.receive(h.tenant.id, reply, { waba: h.waba });
    await h.client.idle();
    expect(seen[1]).toMatchObject({
      profile: { id: special.id },
      event: { content: { reply: { id: 'sat' } } },
    });
    expect(seen[1]!.conversation.map((m) => m.direction)).toEqual(['inbound', 'outbound', 'inbound']);
    expect(cloud.sends).toHaveLength(2);
  });

  it('does not answer opt-out keywords or opted-out leads, and survives a failing responder', async () => {
    const cloud = cloudApiHandlers({ baseUrl: GRAPH_BASE });
    server.use(...cloud.handlers);
    let calls = 0;
    const h = await createHarness({
      provider: 'cloud_api',
      client: {
        botResponder: async () => {
          calls++;
          throw new Error('model unavailable');
        },
      },
    });
    const stop = parseCloudWebhook(
      cloudInboundText({
        phoneNumberId: '106540352242922',
        from: ANANYA,
        text: 'STOP',
        id: 'wamid.S',
        timestamp: nowSeconds(),
      }),
    );
    await h.client.receive(h.tenant.id, stop, { waba: h.waba });
    const after = parseCloudWebhook(
      cloudInboundText({
        phoneNumberId: '106540352242922',
        from: ANANYA,
        text: 'hello?',
        id: 'wamid.T',
        timestamp: nowSeconds(),
      }),
    );
    await h.client.receive(h.tenant.id, after, { waba: h.waba });
    await h.client.idle();
    expect(calls).toBe(0);

    const other = parseCloudWebhook(
      cloudInboundText({
        phoneNumberId: '106540352242922',
        from: '+919845012399',
        text: 'hi',
        id: 'wamid.U',
        timestamp: nowSeconds(),
      }),
    );
    await h.client.receive(h.tenant.id, other, { waba: h.waba });
    await h.client.idle();
    expect(calls).toBe(1);
    expect(cloud.sends).toHaveLength(0);
  });

  it('assignBotProfile refuses another tenant’s profile; resolution falls back to the default, then none', async () => {
    const h = await createHarness({ provider: 'gupshup' });
    const { lead } = await h.store.leads.upsertByPhone({
      clientAccountId: h.tenant.id,
      phone: ANANYA,
      source: 'WA Direct',
    });
    expect(await h.client.resolveBotProfile(h.tenant.id, lead)).toBeNull();
    const otherTenant = await h.store.tenants.create({ name: 'Other' });
    const foreign = await h.store.botProfiles.create({
      clientAccountId: otherTenant.id,
      profileName: 'Theirs',
    });
    await expect(h.client.assignBotProfile(h.tenant.id, lead.id, foreign.id)).rejects.toMatchObject({
      code: 'bot_profile_not_found',
    });
    await expect(h.client.assignBotProfile(h.tenant.id, 'missing', null)).rejects.toMatchObject({
      code: 'lead_not_found',
    });
    const own = await h.store.botProfiles.create({ clientAccountId: h.tenant.id, profileName: 'Ours' });
    const updated = await h.client.assignBotProfile(h.tenant.id, lead.id, own.id);
    expect((await h.client.resolveBotProfile(h.tenant.id, updated))?.id).toBe(own.id);
    const cleared = await h.client.assignBotProfile(h.tenant.id, lead.id, null);
    expect(await h.client.resolveBotProfile(h.tenant.id, cleared)).toBeNull();
  });
});
