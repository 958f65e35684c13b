import { timingSafeEqual } from '../crypto/hmac.js';
import { ForbiddenError } from '../errors/errors.js';

/** The query parameters of Meta's subscription handshake. */
export interface MetaSubscriptionQuery {
  /** `hub.mode`: must be `subscribe`. */
  mode: string | null;
  /** `hub.verify_token`: the token set in the app dashboard. */
  token: string | null;
  /** `hub.challenge`: echoed back when the rest matches. */
  challenge: string | null;
}

/**
 * The handshake parameters of a webhook callback URL (`hub.mode`,
 * `hub.verify_token`, `hub.challenge`).
 *
 * @example metaSubscriptionQuery(new URL(request.url)) // { mode: 'subscribe', token: '…', challenge: '1158201444' }
 */
export function metaSubscriptionQuery(url: URL): MetaSubscriptionQuery {
  const params = url.searchParams;
  return {
    mode: params.get('hub.mode'),
    token: params.get('hub.verify_token'),
    challenge: params.get('hub.challenge'),
  };
}

/**
 * Checks Meta's webhook subscription handshake (Lead Ads and the WhatsApp
 * Cloud API use the same one) and answers the challenge to echo with 200.
 * Anything else throws `ForbiddenError` (403, code `verification_failed`):
 * another mode, a missing or empty challenge, a token that differs (compared
 * in constant time), and a missing or empty expected token, so an
 * unconfigured tenant never passes.
 *
 * @example
 * const challenge = verifyMetaSubscription(metaSubscriptionQuery(new URL(request.url)), registry.metaVerifyToken(tenant));
 * return new Response(challenge, { headers: { 'content-type': 'text/plain; charset=utf-8' } });
 */
export function verifyMetaSubscription(
  query: MetaSubscriptionQuery,
  expectedToken: string | null | undefined,
): string {
  const { mode, token, challenge } = query;
  const ok =
    mode === 'subscribe' &&
    typeof token === 'string' &&
    typeof expectedToken === 'string' &&
    expectedToken.length > 0 &&
    timingSafeEqual(token, expectedToken) &&
    typeof challenge === 'string' &&
    challenge.length > 0;
  if (!ok) throw new ForbiddenError('Webhook verification failed', { code: 'verification_failed' });
  return challenge;
}
