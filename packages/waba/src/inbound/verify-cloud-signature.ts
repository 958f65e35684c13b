import { hmacSha256Hex, timingSafeEqual } from '@leadrelay/core';

const decoder = new TextDecoder('utf-8', { fatal: false });

/**
 * The body as Meta escapes it: every character outside ASCII as lower-case
 * `\uXXXX` (UTF-16 units, so an emoji becomes two escapes), and optionally
 * `/` as `\/`.
 *
 * @example escapeLikeMeta('₹1.4 Cr') // '\\u20b91.4 Cr'
 */
export function escapeLikeMeta(text: string, options: { slashes?: boolean } = {}): string {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code > 0x7f) out += `\\u${code.toString(16).padStart(4, '0')}`;
    else if (options.slashes && code === 0x2f) out += '\\/';
    else out += text[i];
  }
  return out;
}

function digests(body: Uint8Array | string): Iterable<Uint8Array | string> {
  return {
    *[Symbol.iterator]() {
      yield body;
      // A proxy that decoded Meta's escapes leaves UTF-8 (and plain `/`): re-escape to recover Meta's bytes.
      const text = typeof body === 'string' ? body : decoder.decode(body);
      const escaped = escapeLikeMeta(text);
      if (escaped !== text) yield escaped;
      if (text.includes('/')) yield escapeLikeMeta(text, { slashes: true });
    },
  };
}

/**
 * Verifies `X-Hub-Signature-256` (`sha256=<hex>`) over the raw body with
 * any of the app secrets (current first, then one being rotated out), in
 * constant time per comparison. Accepts the escaped-unicode variant: the
 * HMAC over the body re-escaped as Meta sends it.
 *
 * @example verifyCloudSignature(rawBody, request.headers.get('x-hub-signature-256'), registry.metaAppSecrets(tenant))
 */
export function verifyCloudSignature(
  rawBody: Uint8Array | string,
  header: string | null | undefined,
  secrets: readonly string[],
): boolean {
  if (!header || secrets.length === 0) return false;
  const match = /^sha256=([0-9a-fA-F]{64})$/.exec(header.trim());
  if (!match) return false;
  const expected = match[1]!.toLowerCase();
  for (const candidate of digests(rawBody)) {
    for (const secret of secrets) {
      if (timingSafeEqual(hmacSha256Hex(secret, candidate), expected)) return true;
    }
  }
  return false;
}
