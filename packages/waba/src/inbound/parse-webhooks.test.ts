import { readFileSync } from 'node:fs';
import { isLeadRelayError, ValidationError } from '@leadrelay/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { consentKeyword } from './consent-keywords.js';
import { parseCloudWebhook } from './parse-cloud-webhook.js';
import { parseGupshupWebhook } from './parse-gupshup-webhook.js';

const fixture = (name: string) =>
  JSON.parse(
    readFileSync(new URL(`../../../../../shared/fixtures/${name}`, import.meta.url), 'utf8'),
  ) as unknown;

describe('parseGupshupWebhook (fixtures)', () => {
  it('inbound text with non-ASCII and emoji', () => {
    expect(parseGupshupWebhook(fixture('gupshup-inbound-text.json'))).toEqual([
      {
        type: 'message',
        provider: 'gupshup',
        eventId: 'ABEGkZlgQyWAAgo-sDVSUOa9jH0z',
        route: { appName: 'AcmeBot' },
        at: new Date(1764062220000),
        providerMessageId: 'ABEGkZlgQyWAAgo-sDVSUOa9jH0z',
        from: '+919812345678',
        profileName: 'José',
        content: { kind: 'text', text: 'Sí, me interesa 👍 can we talk tomorrow?' },
        referral: null,
        replyToProviderId: null,
      },
    ]);
  });

  it('quick-reply button: the id to match by, then the title', () => {
    const [event] = parseGupshupWebhook(fixture('gupshup-inbound-button.json'));
    expect(event).toMatchObject({
      type: 'message',
      content: {
        kind: 'button_reply',
        text: 'Book a visit',
        reply: { id: 'book_visit', title: 'Book a visit' },
      },
    });
  });

  it('STOP is an ordinary message here: the keyword is matched when it is applied', () => {
    const [event] = parseGupshupWebhook(fixture('gupshup-inbound-stop.json'));
    expect(event).toMatchObject({ type: 'message', content: { kind: 'text', text: 'STOP' } });
  });

  it('delivered: found by gsId, with the wamid as the other id', () => {
    expect(parseGupshupWebhook(fixture('gupshup-event-delivered.json'))).toEqual([
      {
        type: 'status',
        provider: 'gupshup',
        eventId: 'ee4a68a0-1203-4c85-8dc3-49d0b3226a35:delivered',
        route: { appName: 'AcmeBot' },
        at: new Date(1764062160 * 1000),
        providerMessageId: 'ee4a68a0-1203-4c85-8dc3-49d0b3226a35',
        altProviderMessageId: 'gBEGkZlgQyWAAglMmDXYbsXl1W4',
        status: 'delivered',
        providerStatus: 'delivered',
        recipient: '+919812345678',
        pricing: null,
        error: null,
      },
    ]);
  });

  it('failed: with the code and reason', () => {
    const [event] = parseGupshupWebhook(fixture('gupshup-event-failed.json'));
    expect(event).toMatchObject({
      type: 'status',
      status: 'failed',
      providerMessageId: 'ee4a68a0-1203-4c85-8dc3-49d0b3226a36',
      altProviderMessageId: null,
      error: { code: '1002', reason: 'Number Does Not Exists On WhatsApp' },
    });
  });

  it('failed with only gsId (with or without destination): found by the gsId', () => {
    const body = {
      app: 'DemoApp',
      timestamp: 1580227766370,
      version: 2,
      type: 'message-event',
      payload: {
        gsId: 'ee4a68a0-1203-4c85-8dc3-49d0b3226a35',
        type: 'failed',
        destination: '919812345678',
        payload: { code: 1002, reason: 'Number Does Not Exists On WhatsApp' },
      },
    };
    expect(parseGupshupWebhook(body)).toEqual([
      {
        type: 'status',
        provider: 'gupshup',
        eventId: 'ee4a68a0-1203-4c85-8dc3-49d0b3226a35:failed',
        route: { appName: 'DemoApp' },
        at: new Date(1580227766370),
        providerMessageId: 'ee4a68a0-1203-4c85-8dc3-49d0b3226a35',
        altProviderMessageId: null,
        status: 'failed',
        providerStatus: 'failed',
        recipient: '+919812345678',
        pricing: null,
        error: { code: '1002', reason: 'Number Does Not Exists On WhatsApp' },
      },
    ]);
    const { destination: _, ...noDestination } = body.payload;
    expect(parseGupshupWebhook({ ...body, payload: noDestination })).toEqual([
      expect.objectContaining({
        providerMessageId: 'ee4a68a0-1203-4c85-8dc3-49d0b3226a35',
        status: 'failed',
        recipient: null,
      }),
    ]);
    expect(() =>
      parseGupshupWebhook({ ...body, payload: { type: 'failed', destination: '919812345678' } }),
    ).toThrow(ValidationError);
  });

  it('mismatch: a failed status with the code and reason', () => {
    expect(
      parseGupshupWebhook({
        app: 'DemoApp',
        timestamp: 1580227766370,
        version: 2,
        type: 'message-event',
        payload: {
          id: '59f8db90-b2a8-4c0e-9a3f-1f3c2d4e5f60',
          gsId: 'ee4a68a0-1203-4c85-8dc3-49d0b3226a35',
          type: 'mismatch',
          destination: '919812345678',
          payload: { srcAddr: 'TESTSM', code: 1003, reason: 'Billing mismatch' },
        },
      }),
    ).toEqual([
      expect.objectContaining({
        type: 'status',
        eventId: 'ee4a68a0-1203-4c85-8dc3-49d0b3226a35:mismatch',
        providerMessageId: 'ee4a68a0-1203-4c85-8dc3-49d0b3226a35',
        altProviderMessageId: '59f8db90-b2a8-4c0e-9a3f-1f3c2d4e5f60',
        status: 'failed',
        providerStatus: 'mismatch',
        recipient: '+919812345678',
        error: { code: '1003', reason: 'Billing mismatch' },
      }),
    ]);
  });

  it('click-to-WhatsApp referral, beside the message or inside its payload', () => {
    const ad = {
      source_url: 'https://fb.me/abc',
      source_id: '120200000000000',
      source_type: 'ad',
      headline: '2BHK in Baner',
      body: '',
      media_type: 'image',
      ctwa_clid: 'ARAkLkA8rmlFeiCktEJQ',
    };
    const message = {
      id: 'ABEGkYaYVSEEAhAL3SLAWwHKeKrt6s3FKB0c',
      source: '919812345678',
      type: 'text',
      payload: { text: 'Hi, I saw your ad' },
      sender: { phone: '919812345678', name: 'Priya', country_code: '91', dial_code: '9812345678' },
      context: null,
    };
    const envelope = { app: 'DemoApp', timestamp: 1580227766370, version: 2, type: 'message' };
    const expected = {
      source: 'ctwa',
      sourceId: '120200000000000',
      sourceUrl: 'https://fb.me/abc',
      headline: '2BHK in Baner',
      body: '',
      ctwaClid: 'ARAkLkA8rmlFeiCktEJQ',
    };
    const [beside] = parseGupshupWebhook({ ...envelope, payload: { ...message, referral: ad } });
    expect(beside).toMatchObject({
      type: 'message',
      from: '+919812345678',
      content: { kind: 'text', text: 'Hi, I saw your ad' },
      referral: expected,
    });
    const [inside] = parseGupshupWebhook({
      ...envelope,
      payload: { ...message, payload: { ...message.payload, referral: ad } },
    });
    expect(inside).toMatchObject({ content: { text: 'Hi, I saw your ad' }, referral: expected });
    const [unreadable] = parseGupshupWebhook({ ...envelope, payload: { ...message, referral: 'ad' } });
    expect(unreadable).toMatchObject({ type: 'message', referral: null });
  });

  it('user-event opted-out', () => {
    expect(parseGupshupWebhook(fixture('gupshup-user-event-optout.json'))).toEqual([
      {
        type: 'opt_out',
        provider: 'gupshup',
        eventId: '919812345678:opted-out:1764062300000',
        route: { appName: 'AcmeBot' },
        at: new Date(1764062300000),
        phone: '+919812345678',
        via: 'user_event',
      },
    ]);
  });

  it('ignores billing and system events and sandbox user events; keeps an unknown status word', () => {
    expect(parseGupshupWebhook({ app: 'A', timestamp: 1, type: 'billing-event', payload: {} })).toEqual([]);
    expect(parseGupshupWebhook({ app: 'A', timestamp: 1, type: 'system-event', payload: {} })).toEqual([]);
    expect(
      parseGupshupWebhook({
        app: 'A',
        timestamp: 1,
        type: 'message-event',
        payload: { id: 'x', type: 'deleted' },
      }),
    ).toMatchObject([{ type: 'status', providerMessageId: 'x', status: null, providerStatus: 'deleted' }]);
    expect(
      parseGupshupWebhook({
        app: 'A',
        timestamp: 1,
        type: 'user-event',
        payload: { phone: '919812345678', type: 'sandbox-start' },
      }),
    ).toEqual([]);
  });

  it('refuses a callback type it does not know, so the handler keeps it unparsed', () => {
    expect(() => parseGupshupWebhook({ app: 'A', timestamp: 1, type: 'account-event', payload: {} })).toThrow(
      expect.objectContaining({ code: 'callback_type_unknown', status: 400 }),
    );
  });

  it('throws only ValidationErrors on arbitrary input (property)', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.anything(),
          fc.record({
            type: fc.constantFrom('message', 'message-event', 'user-event'),
            payload: fc.anything(),
          }),
        ),
        (input) => {
          try {
            parseGupshupWebhook(input);
          } catch (error) {
            expect(error).toBeInstanceOf(ValidationError);
          }
        },
      ),
    );
  });
});

describe('parseCloudWebhook (fixtures)', () => {
  it('inbound text from a Click-to-WhatsApp ad carries the referral', () => {
    expect(parseCloudWebhook(fixture('cloud-inbound-text-ctwa.json'))).toEqual([
      {
        type: 'message',
        provider: 'cloud_api',
        eventId: 'wamid.HBgMOTE5ODQ1MDEyMzQ1FQIAEhggQTFCRDk5',
        route: { phoneNumberId: '106540352242922', businessNumber: '919000000001' },
        at: new Date(1764062400 * 1000),
        providerMessageId: 'wamid.HBgMOTE5ODQ1MDEyMzQ1FQIAEhggQTFCRDk5',
        from: '+919845012345',
        profileName: 'Ananya Rao',
        content: { kind: 'text', text: 'Hi! Is the 3BHK in Baner still available? ₹1.4 Cr budget' },
        referral: {
          source: 'ctwa',
          sourceId: '23850000000001',
          sourceUrl: 'https://fb.me/abc',
          headline: 'Sea View 2BHK',
          body: 'Tap to chat',
          ctwaClid: 'ARAkLkA8r',
        },
        replyToProviderId: null,
      },
    ]);
  });

  it('delivered status with per-message pricing', () => {
    const [event] = parseCloudWebhook(fixture('cloud-status-delivered.json'));
    expect(event).toEqual({
      type: 'status',
      provider: 'cloud_api',
      eventId: 'wamid.HBgMOTE5ODQ1MDEyMzQ1FQIAERgSQjRCMDQ:delivered',
      route: { phoneNumberId: '106540352242922', businessNumber: '919000000001' },
      at: new Date(1764062500 * 1000),
      providerMessageId: 'wamid.HBgMOTE5ODQ1MDEyMzQ1FQIAERgSQjRCMDQ',
      altProviderMessageId: null,
      status: 'delivered',
      providerStatus: 'delivered',
      recipient: '+919845012345',
      pricing: { billable: false, category: 'utility', pricingModel: 'PMP', type: 'free_customer_service' },
      error: null,
    });
  });

  it('failed status 131047 with the reason', () => {
    const [event] = parseCloudWebhook(fixture('cloud-status-failed-131047.json'));
    expect(event).toMatchObject({
      status: 'failed',
      error: { code: '131047', reason: expect.stringContaining('more than 24 hours') },
    });
  });

  it('reads every entry and change, not only the first', () => {
    const one = fixture('cloud-inbound-text-ctwa.json') as {
      entry: { changes: { value: { messages: { id: string }[] } }[] }[];
    };
    const second = structuredClone(one.entry[0]!);
    second.changes[0]!.value.messages[0]!.id = 'wamid.SECOND';
    const third = structuredClone(second.changes[0]!);
    third.value.messages[0]!.id = 'wamid.THIRD';
    second.changes.push(third);
    const batch = { ...one, entry: [...one.entry, second] };
    expect(parseCloudWebhook(batch).map((e) => e.eventId)).toEqual([
      'wamid.HBgMOTE5ODQ1MDEyMzQ1FQIAEhggQTFCRDk5',
      'wamid.SECOND',
      'wamid.THIRD',
    ]);
  });

  it('reads interactive replies, template buttons and held statuses; ignores other fields', () => {
    const value = {
      messaging_product: 'whatsapp',
      metadata: { phone_number_id: '1', display_phone_number: '919000000001' },
      messages: [
        {
          from: '919845012345',
          id: 'w1',
          timestamp: '1',
          type: 'interactive',
          interactive: {
            type: 'list_reply',
            list_reply: { id: 'sat_10', title: 'Sat 10:00', description: 'Morning' },
          },
          context: { id: 'wamid.OUT' },
        },
        {
          from: '919845012345',
          id: 'w2',
          timestamp: '1',
          type: 'button',
          button: { payload: 'book_visit', text: 'Book a visit' },
        },
      ],
      statuses: [
        { id: 'w3', status: 'held_for_quality_assessment', timestamp: '1', recipient_id: '919845012345' },
      ],
    };
    const events = parseCloudWebhook({
      object: 'whatsapp_business_account',
      entry: [
        {
          id: '1',
          changes: [
            { field: 'messages', value },
            { field: 'account_update', value: { anything: true } },
          ],
        },
      ],
    });
    expect(events.map((e) => e.type)).toEqual(['message', 'message', 'status']);
    expect(events[0]).toMatchObject({
      content: { kind: 'list_reply', reply: { id: 'sat_10', title: 'Sat 10:00', description: 'Morning' } },
      replyToProviderId: 'wamid.OUT',
    });
    expect(events[1]).toMatchObject({
      content: { kind: 'button_reply', reply: { id: 'book_visit', title: 'Book a visit' } },
    });
    expect(events[2]).toMatchObject({ status: 'held' });
  });

  const cloudValue = (value: Record<string, unknown>) => ({
    object: 'whatsapp_business_account',
    entry: [
      {
        id: '1',
        changes: [
          {
            field: 'messages',
            value: { messaging_product: 'whatsapp', metadata: { phone_number_id: '1' }, ...value },
          },
        ],
      },
    ],
  });

  it('keeps a sender WhatsApp verified but libphonenumber does not know as +wa_id, flagged', () => {
    // 16505551234 (Meta's sample number) is valid for libphonenumber, so it carries no flag.
    const senders = ['15550001234', '15551234567', '16505551234', '919845012345'];
    const events = parseCloudWebhook(
      cloudValue({
        contacts: senders.map((waId) => ({ wa_id: waId, profile: { name: `Lead ${waId}` } })),
        messages: senders.map((from, i) => ({
          from,
          id: `w${i}`,
          timestamp: '1',
          type: 'text',
          text: { body: 'Hi' },
        })),
        statuses: [{ id: 'w9', status: 'sent', timestamp: '1', recipient_id: '15550001234' }],
      }),
    );
    expect(events).toHaveLength(5);
    expect(events[0]).toMatchObject({
      type: 'message',
      from: '+15550001234',
      phoneUnvalidated: true,
      profileName: 'Lead 15550001234',
    });
    expect(events[1]).toMatchObject({ from: '+15551234567', phoneUnvalidated: true });
    for (const [i, from] of [
      [2, '+16505551234'],
      [3, '+919845012345'],
    ] as const) {
      expect(events[i]).toMatchObject({ from });
      expect(events[i]).not.toHaveProperty('phoneUnvalidated');
    }
    expect(events[4]).toMatchObject({
      type: 'status',
      recipient: '+15550001234',
      recipientUnvalidated: true,
    });
  });

  it('skips only sender ids that cannot be a stored phone (not 7–15 digits)', () => {
    const events = parseCloudWebhook(
      cloudValue({
        messages: ['123456', '1234567890123456', '0123456789', 'abc1234567', '1234567'].map((from, i) => ({
          from,
          id: `w${i}`,
          timestamp: '1',
          type: 'text',
          text: { body: 'Hi' },
        })),
      }),
    );
    expect(events.map((e) => (e.type === 'message' ? e.from : null))).toEqual(['+1234567']);
  });

  it('maps every documented status, played as read, and keeps an unknown one with its raw status', () => {
    const raw = [
      'sent',
      'delivered',
      'read',
      'played',
      'failed',
      'held_for_quality_assessment',
      'warning',
      'constructor',
    ];
    const events = parseCloudWebhook(
      cloudValue({
        statuses: raw.map((status) => ({ id: 'w1', status, timestamp: '1', recipient_id: '919845012345' })),
      }),
    );
    expect(events.map((e) => (e.type === 'status' ? [e.providerStatus, e.status, e.eventId] : null))).toEqual(
      [
        ['sent', 'sent', 'w1:sent'],
        ['delivered', 'delivered', 'w1:delivered'],
        ['read', 'read', 'w1:read'],
        ['played', 'read', 'w1:played'],
        ['failed', 'failed', 'w1:failed'],
        ['held_for_quality_assessment', 'held', 'w1:held_for_quality_assessment'],
        ['warning', null, 'w1:warning'],
        ['constructor', null, 'w1:constructor'],
      ],
    );
  });

  it('refuses bodies that are not WhatsApp webhooks with a ValidationError', () => {
    for (const bad of [
      null,
      {},
      { object: 'page', entry: [] },
      {
        object: 'whatsapp_business_account',
        entry: [{ id: '1', changes: [{ field: 'messages', value: {} }] }],
      },
    ]) {
      const error = (() => {
        try {
          parseCloudWebhook(bad);
        } catch (e) {
          return e;
        }
      })();
      expect(isLeadRelayError(error) && error.status).toBe(400);
    }
  });

  it('throws only ValidationErrors on arbitrary input (property)', () => {
    fc.assert(
      fc.property(fc.anything(), (input) => {
        try {
          parseCloudWebhook({
            object: 'whatsapp_business_account',
            entry: [{ id: '1', changes: [{ field: 'messages', value: input }] }],
          });
        } catch (error) {
          expect(error).toBeInstanceOf(ValidationError);
        }
      }),
    );
  });
});

describe('consentKeyword', () => {
  it('matches whole messages in several languages, ignoring case, accents and punctuation', () => {
    for (const text of [
      'STOP',
      ' stop! ',
      'Unsubscribe',
      'PARAR',
      'parar.',
      'Arrêter',
      'ARRETER',
      'रोकें',
      'रोकें।',
      'Stop 🛑',
      'opt-out',
    ]) {
      expect(consentKeyword(text), text).toBe('opt_out');
    }
    for (const text of ['START', 'Subscribe', 'शुरू करें']) expect(consentKeyword(text), text).toBe('opt_in');
    for (const text of [
      'please stop calling me at work',
      'Cancel my visit',
      'stopped',
      'end of the month',
      '',
      null,
    ]) {
      expect(consentKeyword(text), String(text)).toBeNull();
    }
    expect(consentKeyword('basta', { optOut: ['basta'], optIn: [] })).toBe('opt_out');
  });
});
