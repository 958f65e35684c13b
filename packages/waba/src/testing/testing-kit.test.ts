import { ProviderError } from '@leadrelay/core';
import { setupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { wabaConfig } from '../../test/harness.js';
import { parseCloudWebhook } from '../inbound/parse-cloud-webhook.js';
import { parseGupshupWebhook } from '../inbound/parse-gupshup-webhook.js';
import { escapeLikeMeta, verifyCloudSignature } from '../index.js';
import { createCloudApiProvider } from '../providers/cloud-api-provider.js';
import { createGupshupProvider } from '../providers/gupshup-provider.js';
import {
  cloudApiHandlers,
  cloudInboundReply,
  cloudInboundText,
  cloudStatus,
  gupshupHandlers,
  gupshupInboundReply,
  gupshupInboundText,
  gupshupMessageEvent,
  gupshupUserEvent,
  type MockFailure,
  signCloudPayload,
} from './index.js';

const server = setupServer();
beforeAll(() => server.listen({ onUnhandledFrame: 'error' }));
afterEach(() => server.resetHandlers());
afterAll(() => server.close());

const config = (provider: 'gupshup' | 'cloud_api') => wabaConfig(provider, { wabaNumber: '+919000000001' });

const noRetry = { retries: 0 };

describe('provider mocks', () => {
  it('accept, record and answer in each provider format', async () => {
    const gupshup = gupshupHandlers();
    const cloud = cloudApiHandlers();
    server.use(...gupshup.handlers, ...cloud.handlers);
    const g = await createGupshupProvider().send(
      config('gupshup'),
      'key',
      { type: 'text', text: 'Hi' },
      '+919812345678',
    );
    const c = await createCloudApiProvider().send(
      config('cloud_api'),
      'token',
      { type: 'text', text: 'Hi' },
      '+919812345678',
    );
    expect(g.providerMessageId).toMatch(/^ee4a68a0-/);
    expect(c.providerMessageId).toMatch(/^wamid\./);
    expect(gupshup.sends[0]).toMatchObject({
      provider: 'gupshup',
      to: '919812345678',
      body: { message: { type: 'text', text: 'Hi' } },
    });
    expect(cloud.sends[0]).toMatchObject({
      provider: 'cloud_api',
      to: '919812345678',
      body: { text: { body: 'Hi' } },
    });
    gupshup.reset();
    expect(gupshup.sends).toHaveLength(0);
  });

  const classes: [MockFailure, string, boolean][] = [
    ['rate_limited', 'provider_rate_limited', true],
    ['unavailable', 'provider_unavailable', true],
    ['unauthorized', 'credentials_invalid', false],
    ['rejected', 'invalid_request', false],
    ['window_closed', 'window_closed', false],
    ['template_paused', 'template_paused', false],
    ['template_not_found', 'template_not_found', false],
    ['template_parameter_mismatch', 'template_parameter_mismatch', false],
    ['undeliverable', 'recipient_undeliverable', false],
    ['marketing_opted_out', 'marketing_opted_out', false],
    ['pair_rate_limited', 'pair_rate_limited', true],
    ['account_restricted', 'account_restricted', false],
  ];
  for (const [failure, code, retryable] of classes) {
    it(`cloud mock "${failure}" is classified ${code}`, async () => {
      server.use(...cloudApiHandlers({ outcome: failure, retryAfterSeconds: 0 }).handlers);
      const error = await createCloudApiProvider(noRetry)
        .send(config('cloud_api'), 't', { type: 'text', text: 'x' }, '+919812345678')
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ProviderError);
      expect(error).toMatchObject({ code, retryable });
    });
  }

  it('gupshup mock failures map to the Gupshup classes', async () => {
    for (const [failure, code] of [
      ['rate_limited', 'provider_rate_limited'],
      ['unavailable', 'provider_unavailable'],
      ['unauthorized', 'credentials_invalid'],
      ['rejected', 'recipient_invalid'],
    ] as const) {
      server.resetHandlers(...gupshupHandlers({ outcome: failure, retryAfterSeconds: 0 }).handlers);
      const error = await createGupshupProvider(noRetry)
        .send(config('gupshup'), 'k', { type: 'text', text: 'x' }, '+919812345678')
        .catch((e: unknown) => e);
      expect(error).toMatchObject({ code });
    }
  });

  it('answers 429 beyond the configured rate in any one-second window', async () => {
    const cloud = cloudApiHandlers({ rateLimit: 3 });
    server.use(...cloud.handlers);
    const provider = createCloudApiProvider(noRetry);
    const outcomes = await Promise.all(
      Array.from({ length: 5 }, () =>
        provider.send(config('cloud_api'), 't', { type: 'text', text: 'x' }, '+919812345678').then(
          () => 'ok',
          (e: ProviderError) => e.code,
        ),
      ),
    );
    expect(outcomes.filter((o) => o === 'ok')).toHaveLength(3);
    expect(outcomes.filter((o) => o === 'provider_rate_limited')).toHaveLength(2);
    expect(cloud.rateLimited).toBe(2);
  });
});

describe('payload builders', () => {
  it('build Gupshup callbacks the parser reads', () => {
    expect(
      parseGupshupWebhook(gupshupInboundText({ from: '+919812345678', text: 'Hi', name: 'Priya' }))[0],
    ).toMatchObject({
      type: 'message',
      from: '+919812345678',
      profileName: 'Priya',
      content: { text: 'Hi' },
    });
    expect(
      parseGupshupWebhook(
        gupshupInboundReply({ from: '+919812345678', replyId: 'sat', title: 'Saturday' }),
      )[0],
    ).toMatchObject({
      content: { kind: 'button_reply', reply: { id: 'sat' } },
    });
    expect(
      parseGupshupWebhook(
        gupshupMessageEvent({ gsId: 'g1', status: 'read', destination: '+919812345678', wamid: 'w1' }),
      )[0],
    ).toMatchObject({
      type: 'status',
      providerMessageId: 'g1',
      altProviderMessageId: 'w1',
      status: 'read',
    });
    expect(
      parseGupshupWebhook(
        gupshupMessageEvent({ gsId: 'g2', status: 'failed', destination: '+919812345678', code: 1012 }),
      )[0],
    ).toMatchObject({
      status: 'failed',
      error: { code: '1012' },
    });
    expect(
      parseGupshupWebhook(gupshupUserEvent({ phone: '+919812345678', type: 'opted-in' }))[0],
    ).toMatchObject({ type: 'opt_in' });
  });

  it('build Cloud API webhooks the parser reads, signed so the verifier accepts them', () => {
    const inbound = cloudInboundText({
      phoneNumberId: '1',
      from: '+919845012345',
      text: 'नमस्ते / hello',
      referral: { sourceType: 'ad', ctwaClid: 'c1' },
    });
    const { body, signature } = signCloudPayload(inbound, 'secret');
    expect(body).toContain('\\u0928');
    expect(body).toContain('\\/');
    expect(verifyCloudSignature(body, signature, ['secret'])).toBe(true);
    expect(verifyCloudSignature(body, signature, ['another-secret'])).toBe(false);
    // The older escaping helper still writes what Meta writes.
    expect(escapeLikeMeta(JSON.stringify(inbound), { slashes: true })).toBe(body);
    expect(escapeLikeMeta('₹ 👍 /a')).toBe('\\u20b9 \\ud83d\\udc4d /a');
    expect(parseCloudWebhook(JSON.parse(body))[0]).toMatchObject({
      content: { text: 'नमस्ते / hello' },
      referral: { source: 'ctwa', ctwaClid: 'c1' },
    });
    expect(
      parseCloudWebhook(
        cloudInboundReply({
          phoneNumberId: '1',
          from: '+919845012345',
          replyId: 'r',
          title: 'R',
          kind: 'list_reply',
        }),
      )[0],
    ).toMatchObject({
      content: { kind: 'list_reply', reply: { id: 'r' } },
    });
    expect(
      parseCloudWebhook(
        cloudStatus({
          phoneNumberId: '1',
          id: 'wamid.X',
          status: 'failed',
          recipient: '+919845012345',
          errorCode: 131047,
        }),
      )[0],
    ).toMatchObject({ status: 'failed', error: { code: '131047' } });
  });
});
