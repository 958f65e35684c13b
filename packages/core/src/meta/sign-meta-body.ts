import { createHmac } from 'node:crypto';

/**
 * The `X-Hub-Signature-256` value Meta sends for `body`: `sha256=` and the
 * hex HMAC-SHA256 of its bytes (a string is hashed as UTF-8) keyed with the
 * app secret. The counterpart of `verifyMetaSignature`, for tests and tools
 * that play Meta's part.
 *
 * @example signMetaBody('Hello, World!', "It's a Secret to Everybody") // 'sha256=757107ea…'
 */
export function signMetaBody(body: string | Uint8Array, appSecret: string): string {
  return `sha256=${createHmac('sha256', appSecret).update(body).digest('hex')}`;
}
