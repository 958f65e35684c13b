import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { escapeMetaSlashes, escapeMetaUnicode } from './escape-meta-unicode.js';
import { signMetaBody } from './sign-meta-body.js';
import { matchMetaSignature, verifyMetaSignature } from './verify-meta-signature.js';

// The shared fixtures sit beside the repository: ../shared/fixtures from its root.
const FIXTURES = new URL('../../../../../shared/fixtures/', import.meta.url);
const fixtureBytes = (name: string) => new Uint8Array(readFileSync(new URL(name, FIXTURES)));
const fixtureText = (name: string) => readFileSync(new URL(name, FIXTURES), 'utf8');
const FIXTURE_APP_SECRET = 'fixture-app-secret-4f1c2b9a';

/** `signature_raw` and `signature_meta` of each signed fixture, from shared/fixtures/README.md. */
const SIGNED_FIXTURES: Record<string, { raw: string; meta: string }> = {
  'meta-leadgen-single.json': {
    raw: 'sha256=94f601cbef629d1b3c179d00b045744590a9ad3899f2894a8864f91bb8f07719',
    meta: 'sha256=94f601cbef629d1b3c179d00b045744590a9ad3899f2894a8864f91bb8f07719',
  },
  'meta-leadgen-batch.json': {
    raw: 'sha256=433f16ae236cd395ff22f4bc71dd08b4a9c95a0f7680c300737a228429e8df88',
    meta: 'sha256=433f16ae236cd395ff22f4bc71dd08b4a9c95a0f7680c300737a228429e8df88',
  },
  'meta-page-feed-ignored.json': {
    raw: 'sha256=a9e71c276f7a5c16682e2c8347638ef548f0aaf84a1b533a417dee0cc6840270',
    meta: 'sha256=a9e71c276f7a5c16682e2c8347638ef548f0aaf84a1b533a417dee0cc6840270',
  },
  'cloud-inbound-text-ctwa.json': {
    raw: 'sha256=424f19796af99847bd7e05f1a901a7d6ddf0c0919e96dabe4955aed5a935d6b1',
    meta: 'sha256=975f2edbd375221abeb32cc7bfb2746d2c696b1ce01ea61b824c566e6ec5dd5b',
  },
  'cloud-status-delivered.json': {
    raw: 'sha256=1456dbf09edc5c4c5008f5c8f93b4ec5abbaeaf034adcb70efc40b21fe9494cd',
    meta: 'sha256=1456dbf09edc5c4c5008f5c8f93b4ec5abbaeaf034adcb70efc40b21fe9494cd',
  },
  'cloud-status-failed-131047.json': {
    raw: 'sha256=fc2b2803f0b5a3f2a8d74a8b5e328dac3ad858255ebb1ea484e99e38329b4502',
    meta: 'sha256=fc2b2803f0b5a3f2a8d74a8b5e328dac3ad858255ebb1ea484e99e38329b4502',
  },
};
const CTWA_FIXTURE = 'cloud-inbound-text-ctwa.json';
const CTWA_SIGNATURE_RAW = SIGNED_FIXTURES[CTWA_FIXTURE]!.raw;
const CTWA_SIGNATURE_META = SIGNED_FIXTURES[CTWA_FIXTURE]!.meta;

const sign = (body: string | Uint8Array, secret: string) =>
  `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;

describe('verifyMetaSignature on the shared fixtures', () => {
  for (const [name, { raw, meta }] of Object.entries(SIGNED_FIXTURES)) {
    it(`verifies ${name} from its raw bytes and from its text, with either listed signature`, () => {
      for (const signature of [raw, meta]) {
        expect(verifyMetaSignature(fixtureBytes(name), signature, [FIXTURE_APP_SECRET])).toBe(true);
        expect(verifyMetaSignature(fixtureText(name), signature, [FIXTURE_APP_SECRET])).toBe(true);
        expect(verifyMetaSignature(fixtureBytes(name), signature, ['another-secret'])).toBe(false);
      }
    });
  }

  it('accepts the escaped-unicode signature Meta sends for a body with literal non-ASCII', () => {
    const raw = fixtureBytes(CTWA_FIXTURE);
    expect(matchMetaSignature(raw, CTWA_SIGNATURE_META, [FIXTURE_APP_SECRET])).toEqual({
      secretIndex: 0,
      variant: 'escaped-unicode',
    });
    expect(matchMetaSignature(raw, CTWA_SIGNATURE_RAW, [FIXTURE_APP_SECRET])).toEqual({
      secretIndex: 0,
      variant: 'raw',
    });
    // The escaped form itself, as Meta sends it, verifies over its raw bytes.
    const escaped = escapeMetaUnicode(fixtureText(CTWA_FIXTURE));
    expect(escaped).toContain('\\u20b9');
    expect(matchMetaSignature(escaped, CTWA_SIGNATURE_META, [FIXTURE_APP_SECRET])?.variant).toBe('raw');
  });

  it('matches the published HMAC-SHA256 test vector, and signMetaBody produces it', () => {
    const header = 'sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17';
    expect(signMetaBody('Hello, World!', "It's a Secret to Everybody")).toBe(header);
    expect(signMetaBody(new TextEncoder().encode('Hello, World!'), "It's a Secret to Everybody")).toBe(
      header,
    );
    expect(verifyMetaSignature('Hello, World!', header, ["It's a Secret to Everybody"])).toBe(true);
    expect(
      verifyMetaSignature(new TextEncoder().encode('Hello, World!'), header, ["It's a Secret to Everybody"]),
    ).toBe(true);
  });
});

describe('verifyMetaSignature secrets and headers', () => {
  const body = fixtureBytes('meta-leadgen-single.json');
  const header = SIGNED_FIXTURES['meta-leadgen-single.json']!.raw;

  it('accepts the previous secret during a rotation and tells which one matched', () => {
    expect(matchMetaSignature(body, header, ['new-secret-2', FIXTURE_APP_SECRET])).toEqual({
      secretIndex: 1,
      variant: 'raw',
    });
  });

  it('refuses missing, malformed and truncated headers and empty secret lists', () => {
    for (const bad of [
      null,
      undefined,
      '',
      'sha256=',
      header.slice(0, -1),
      `${header}0`,
      header.replace('sha256=', 'sha1='),
      header.replace('sha256=', ''),
      `${header.slice(0, -1)}g`,
      // A non-ASCII look-alike: 'š' (U+0161) is 0x61 ('a') in latin1.
      `sha256=${header.slice(7).replace('a', 'š')}`,
      'sha1=abc',
      'sha256=zz',
    ]) {
      expect(verifyMetaSignature(body, bad, [FIXTURE_APP_SECRET])).toBe(false);
    }
    expect(verifyMetaSignature(body, header, [])).toBe(false);
  });

  it('never verifies with an empty secret, even when the signature was made with one', () => {
    expect(verifyMetaSignature(body, sign(body, ''), [''])).toBe(false);
    expect(verifyMetaSignature(body, sign(body, ''), ['', FIXTURE_APP_SECRET])).toBe(false);
  });

  it('accepts upper-case hex, a SHA256= prefix and surrounding whitespace', () => {
    expect(verifyMetaSignature(body, `SHA256=${header.slice(7).toUpperCase()}`, [FIXTURE_APP_SECRET])).toBe(
      true,
    );
    expect(verifyMetaSignature(body, ` ${header} `, [FIXTURE_APP_SECRET])).toBe(true);
  });

  it('recovers a body whose \\/ escapes were decoded on the way', () => {
    const sent = '{"url":"https:\\/\\/fb.me\\/x","name":"Jos\\u00e9"}';
    const decoded = JSON.stringify(JSON.parse(sent));
    expect(decoded).toBe('{"url":"https://fb.me/x","name":"José"}');
    expect(matchMetaSignature(decoded, sign(sent, 's3cret'), ['s3cret'])).toEqual({
      secretIndex: 0,
      variant: 'escaped-unicode-slashes',
    });
  });
});

describe('escapeMetaUnicode and escapeMetaSlashes', () => {
  it('writes lower-case \\uXXXX per UTF-16 code unit, emoji as a surrogate pair', () => {
    expect(escapeMetaUnicode('₹ é 😀 a')).toBe('\\u20b9 \\u00e9 \\ud83d\\ude00 a');
    expect(escapeMetaUnicode('plain')).toBe('plain');
  });

  it('escapes only slashes that are not already escaped', () => {
    expect(escapeMetaSlashes('a/b')).toBe('a\\/b');
    expect(escapeMetaSlashes('a\\/b')).toBe('a\\/b');
    // An escaped backslash followed by a slash: the slash still needs its escape.
    expect(escapeMetaSlashes('a\\\\/b')).toBe('a\\\\\\/b');
    expect(escapeMetaSlashes('none')).toBe('none');
  });
});

describe('verifyMetaSignature properties', () => {
  const secret = fc.string({ minLength: 1, maxLength: 64 });
  const body = fc.uint8Array({ minLength: 1, maxLength: 512 });

  it('verifies the signature of any body, from bytes and from the same bytes as a Buffer', () => {
    fc.assert(
      fc.property(body, secret, (bytes, key) => {
        const header = sign(bytes, key);
        return (
          verifyMetaSignature(bytes, header, [key]) && verifyMetaSignature(Buffer.from(bytes), header, [key])
        );
      }),
    );
  });

  it('rejects any changed byte, any truncation and any appended byte', () => {
    fc.assert(
      fc.property(
        body,
        secret,
        fc.nat(),
        fc.integer({ min: 1, max: 255 }),
        fc.constantFrom('flip', 'truncate', 'append'),
        (bytes, key, position, xor, kind) => {
          const header = sign(bytes, key);
          const i = position % bytes.length;
          let mutated: Uint8Array;
          if (kind === 'flip') {
            mutated = Uint8Array.from(bytes);
            mutated[i] = mutated[i]! ^ xor;
          } else if (kind === 'truncate') {
            mutated = bytes.slice(0, i);
          } else {
            mutated = Uint8Array.from([...bytes, xor]);
          }
          return !verifyMetaSignature(mutated, header, [key]);
        },
      ),
    );
  });

  it('rejects any changed hex digit of the signature and any other secret', () => {
    fc.assert(
      fc.property(
        body,
        secret,
        secret,
        fc.nat({ max: 63 }),
        fc.nat({ max: 14 }),
        (bytes, key, other, i, shift) => {
          const header = sign(bytes, key);
          const hex = header.slice(7);
          const digit = Number.parseInt(hex[i]!, 16);
          const changed = ((digit + shift + 1) % 16).toString(16);
          const mutated = `sha256=${hex.slice(0, i)}${changed}${hex.slice(i + 1)}`;
          return (
            !verifyMetaSignature(bytes, mutated, [key]) &&
            (other === key || !verifyMetaSignature(bytes, header, [other]))
          );
        },
      ),
    );
  });

  it('verifies any unicode body sent raw when Meta signed its escaped form', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 200 }), secret, (text, key) => {
        const raw = new TextEncoder().encode(text);
        const unicodeOnly = sign(escapeMetaUnicode(text), key);
        const withSlashes = sign(escapeMetaSlashes(escapeMetaUnicode(text)), key);
        return verifyMetaSignature(raw, unicodeOnly, [key]) && verifyMetaSignature(raw, withSlashes, [key]);
      }),
    );
  });

  it('verifies the escaped form itself sent as is (the raw path)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 200 }), secret, (text, key) => {
        const escaped = escapeMetaUnicode(text);
        return matchMetaSignature(escaped, sign(escaped, key), [key])?.variant === 'raw';
      }),
    );
  });

  it('verifies any JSON body Meta escaped and a proxy decoded and re-serialised, and nothing appended to it', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme' }), secret, (text, key) => {
        const sent = escapeMetaSlashes(escapeMetaUnicode(JSON.stringify({ text, url: 'https://fb.me/x' })));
        const header = sign(sent, key);
        const decoded = JSON.stringify(JSON.parse(sent));
        return (
          verifyMetaSignature(sent, header, [key]) &&
          verifyMetaSignature(new TextEncoder().encode(decoded), header, [key]) &&
          !verifyMetaSignature(`${decoded} `, header, [key])
        );
      }),
    );
  });
});
