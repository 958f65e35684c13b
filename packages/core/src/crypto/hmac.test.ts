import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { hmacSha256Hex, timingSafeEqual } from './hmac.js';

const fixture = (name: string) =>
  readFileSync(new URL(`../../../../../shared/fixtures/${name}`, import.meta.url));

describe('hmacSha256Hex', () => {
  it('matches the published GitHub webhook test vector', () => {
    expect(`sha256=${hmacSha256Hex("It's a Secret to Everybody", 'Hello, World!')}`).toBe(
      'sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17',
    );
  });

  it('signs fixture bytes as Meta does, and bytes equal their UTF-8 string', () => {
    const body = fixture('meta-leadgen-single.json');
    expect(hmacSha256Hex('fixture-app-secret-4f1c2b9a', body)).toBe(
      '94f601cbef629d1b3c179d00b045744590a9ad3899f2894a8864f91bb8f07719',
    );
    expect(hmacSha256Hex(new TextEncoder().encode('k'), 'नमस्ते')).toBe(
      hmacSha256Hex('k', new TextEncoder().encode('नमस्ते')),
    );
  });
});

describe('timingSafeEqual', () => {
  it('is true for identical strings and false for any other (property)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme' }), fc.string({ unit: 'grapheme' }), (a, b) => {
        expect(timingSafeEqual(a, a)).toBe(true);
        expect(timingSafeEqual(a, b)).toBe(a === b);
        expect(timingSafeEqual(b, a)).toBe(a === b);
      }),
      { numRuns: 500 },
    );
  });

  it('compares strings with their UTF-8 bytes and respects views into larger buffers (property)', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'grapheme' }),
        fc.uint8Array({ maxLength: 8 }),
        fc.uint8Array({ maxLength: 8 }),
        (text, before, after) => {
          const bytes = new TextEncoder().encode(text);
          const padded = new Uint8Array([...before, ...bytes, ...after]);
          const view = padded.subarray(before.length, before.length + bytes.length);
          expect(timingSafeEqual(text, view)).toBe(true);
          expect(timingSafeEqual(view, bytes)).toBe(true);
          if (after.length > 0) {
            expect(timingSafeEqual(text, padded.subarray(before.length))).toBe(false);
          }
        },
      ),
      { numRuns: 500 },
    );
  });

  it('is false for different lengths and for one flipped bit', () => {
    expect(timingSafeEqual('sha256=abc', 'sha256=abcd')).toBe(false);
    expect(timingSafeEqual('', '')).toBe(true);
    expect(timingSafeEqual('', 'a')).toBe(false);
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 1, maxLength: 64 }),
        fc.nat(),
        fc.integer({ min: 0, max: 7 }),
        (a, i, bit) => {
          const b = Uint8Array.from(a);
          const at = i % b.length;
          b[at] = b[at]! ^ (1 << bit);
          expect(timingSafeEqual(a, b)).toBe(false);
        },
      ),
    );
  });
});
