import { describe, expect, it } from 'vitest';
import { isLeadRelayError } from '../errors/errors.js';
import { metaSubscriptionQuery, verifyMetaSubscription } from './verify-meta-subscription.js';

const refusal = (run: () => unknown) => {
  try {
    run();
  } catch (error) {
    return isLeadRelayError(error) ? { status: error.status, code: error.code } : error;
  }
  throw new Error('expected the handshake to be refused');
};

describe('verifyMetaSubscription', () => {
  const url = (query: string) => new URL(`https://hooks.example.com/api/meta/webhook/t1?${query}`);

  it('answers the challenge when the mode is subscribe and the token matches', () => {
    const query = metaSubscriptionQuery(
      url('hub.mode=subscribe&hub.verify_token=tok%20en&hub.challenge=1158201444'),
    );
    expect(query).toEqual({ mode: 'subscribe', token: 'tok en', challenge: '1158201444' });
    expect(verifyMetaSubscription(query, 'tok en')).toBe('1158201444');
  });

  it('refuses with 403 verification_failed: wrong token, other mode, no or empty challenge, no token', () => {
    for (const query of [
      'hub.mode=subscribe&hub.verify_token=wrong&hub.challenge=1',
      'hub.mode=subscribe&hub.verify_token=secret-token-x&hub.challenge=1',
      'hub.mode=unsubscribe&hub.verify_token=secret-token&hub.challenge=1',
      'hub.mode=subscribe&hub.verify_token=secret-token',
      'hub.mode=subscribe&hub.verify_token=secret-token&hub.challenge=',
      'hub.mode=subscribe&hub.challenge=1',
      '',
    ]) {
      expect(
        refusal(() => verifyMetaSubscription(metaSubscriptionQuery(url(query)), 'secret-token')),
      ).toEqual({ status: 403, code: 'verification_failed' });
    }
  });

  it('never passes for a tenant without a verify token, even when the request sends an empty one', () => {
    const query = metaSubscriptionQuery(url('hub.mode=subscribe&hub.verify_token=&hub.challenge=1'));
    for (const expected of [null, undefined, '']) {
      expect(refusal(() => verifyMetaSubscription(query, expected))).toEqual({
        status: 403,
        code: 'verification_failed',
      });
    }
  });
});
