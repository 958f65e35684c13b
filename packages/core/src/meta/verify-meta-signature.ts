import { createHmac, timingSafeEqual } from 'node:crypto';
import { escapeMetaSlashes, escapeMetaUnicode } from './escape-meta-unicode.js';

/** The header Meta signs webhooks with. */
export const META_SIGNATURE_HEADER = 'x-hub-signature-256';

const utf8 = new TextDecoder('utf-8');

/** How a signature matched: which secret, over which form of the body. */
export interface MetaSignatureMatch {
  /** Index into the secrets given: 0 is the current secret, 1 the previous one. */
  secretIndex: number;
  /**
   * `raw`: the bytes as received. `escaped-unicode`: non-ASCII re-escaped as
   * `\uXXXX`. `escaped-unicode-slashes`: that, and `/` re-escaped as `\/`.
   */
  variant: 'raw' | 'escaped-unicode' | 'escaped-unicode-slashes';
}

/**
 * The hex digest of a `sha256=<hex>` header, lower-cased, as latin1 bytes,
 * or `null` when the header is missing or has the wrong length or prefix.
 * Characters that are not hex digits need no check of their own: they never
 * equal a computed digest. Comparing hex is measurably cheaper here than
 * decoding to binary: `digest('hex')` allocates less than `digest()`.
 */
function parseSignatureHeader(header: string | null | undefined): Buffer | null {
  if (typeof header !== 'string') return null;
  let value = header.length === 71 ? header : header.trim();
  // ASCII only: a non-ASCII character could lower-case or encode to a hex digit.
  if (value.length !== 71 || Buffer.byteLength(value, 'utf8') !== 71) return null;
  value = value.toLowerCase();
  return value.startsWith('sha256=') ? Buffer.from(value.slice(7), 'latin1') : null;
}

function digestMatches(secret: string, body: Uint8Array | string, expected: Buffer): boolean {
  const actual = Buffer.from(createHmac('sha256', secret).update(body).digest('hex'), 'latin1');
  return timingSafeEqual(actual, expected);
}

/**
 * Checks an `X-Hub-Signature-256` header against the body and tells which
 * secret and which form of the body matched, or `null` when none did.
 * The raw bytes are tried first; the escaped-unicode forms only when they fail.
 * Empty secrets never match, so an unconfigured secret cannot verify anything.
 *
 * @example
 * const match = matchMetaSignature(rawBody, request.headers.get('x-hub-signature-256'), [current, previous]);
 * if (match?.secretIndex === 1) logger.warn({}, 'signed with the previous app secret');
 */
export function matchMetaSignature(
  rawBody: Uint8Array | string,
  header: string | null | undefined,
  secrets: readonly string[],
): MetaSignatureMatch | null {
  const expected = parseSignatureHeader(header);
  if (expected === null) return null;
  let usable = 0;
  for (let i = 0; i < secrets.length; i++) {
    const secret = secrets[i];
    if (typeof secret !== 'string' || secret.length === 0) continue;
    usable++;
    if (digestMatches(secret, rawBody, expected)) return { secretIndex: i, variant: 'raw' };
  }
  if (usable === 0) return null;

  const text = typeof rawBody === 'string' ? rawBody : utf8.decode(rawBody);
  const unicode = escapeMetaUnicode(text);
  const slashes = escapeMetaSlashes(unicode);
  const variants: [MetaSignatureMatch['variant'], string][] = [];
  if (unicode !== text) variants.push(['escaped-unicode', unicode]);
  if (slashes !== unicode) variants.push(['escaped-unicode-slashes', slashes]);
  for (const [variant, body] of variants) {
    for (let i = 0; i < secrets.length; i++) {
      const secret = secrets[i];
      if (typeof secret !== 'string' || secret.length === 0) continue;
      if (digestMatches(secret, body, expected)) return { secretIndex: i, variant };
    }
  }
  return null;
}

/**
 * Verifies Meta's `X-Hub-Signature-256` (`sha256=<hex HMAC-SHA256>`) over the
 * raw request body with any of the app's secrets (current first, then the one
 * being rotated out), in constant time per comparison. Also accepts a body
 * whose `\uXXXX` and `\/` escapes were decoded on the way (the escaped-unicode
 * variant). Never throws for bad input: a missing or malformed header is `false`.
 *
 * @example
 * const ok = verifyMetaSignature(rawBytes, request.headers.get('x-hub-signature-256'), ['app-secret']);
 */
export function verifyMetaSignature(
  rawBody: Uint8Array | string,
  header: string | null | undefined,
  secrets: readonly string[],
): boolean {
  return matchMetaSignature(rawBody, header, secrets) !== null;
}
