import { createHmac, timingSafeEqual as nodeTimingSafeEqual } from 'node:crypto';

export type BinaryLike = string | Uint8Array;

/** Hex HMAC-SHA256 of `data` keyed with `key` (strings are UTF-8). */
export function hmacSha256Hex(key: BinaryLike, data: BinaryLike): string {
  return createHmac('sha256', key).update(data).digest('hex');
}

/**
 * Constant-time comparison of two strings or byte arrays. Inputs of different
 * length compare false without leaking where they differ.
 *
 * @example timingSafeEqual(received, expected) // true only when identical
 */
export function timingSafeEqual(a: BinaryLike, b: BinaryLike): boolean {
  const left =
    typeof a === 'string' ? Buffer.from(a, 'utf8') : Buffer.from(a.buffer, a.byteOffset, a.byteLength);
  const right =
    typeof b === 'string' ? Buffer.from(b, 'utf8') : Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  if (left.length !== right.length) {
    // Compare against itself so the time spent does not depend on the secret.
    nodeTimingSafeEqual(left, left);
    return false;
  }
  return nodeTimingSafeEqual(left, right);
}
