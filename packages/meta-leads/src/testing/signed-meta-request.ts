import { signMetaBody } from '@leadrelay/core';

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
