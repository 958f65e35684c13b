import { createHmac } from 'node:crypto';

/**
 * The `X-Hub-Signature-256` value Meta would send for `body`: `sha256=` and
 * the hex HMAC-SHA256 of its bytes keyed with the app secret.
 *
 * @example signMetaBody('Hello, World!', "It's a Secret to Everybody") // 'sha256=757107ea…'
 */
export function signMetaBody(body: string | Uint8Array, appSecret: string): string {
  return `sha256=${createHmac('sha256', appSecret).update(body).digest('hex')}`;
}

/**
 * A signed webhook `Request` as Meta sends it, for handler tests.
 *
 * @example await handler(signedMetaRequest('https://x.test/api/meta/webhook/t1', body, secret));
 */
export function signedMetaRequest(
  url: string,
  body: string,
  appSecret: string,
  headers: HeadersInit = {},
): Request {
  const all = new Headers(headers);
  if (!all.has('content-type')) all.set('content-type', 'application/json');
  if (!all.has('x-hub-signature-256')) all.set('x-hub-signature-256', signMetaBody(body, appSecret));
  return new Request(url, { method: 'POST', body, headers: all });
}
