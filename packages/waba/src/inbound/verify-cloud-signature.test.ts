import { readFileSync } from 'node:fs';
import { hmacSha256Hex } from '@leadrelay/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { escapeLikeMeta, verifyCloudSignature } from './verify-cloud-signature.js';

const raw = (name: string) =>
  readFileSync(new URL(`../../../../../shared/fixtures/${name}`, import.meta.url));
const SECRET = 'fixture-app-secret-4f1c2b9a';

// From shared/fixtures/README.md.
const signatures = {
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

describe('verifyCloudSignature', () => {
  it("verifies GitHub's published HMAC-SHA256 test vector", () => {
    expect(
      verifyCloudSignature(
        'Hello, World!',
        'sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17',
        ["It's a Secret to Everybody"],
      ),
    ).toBe(true);
  });

  for (const [name, sig] of Object.entries(signatures)) {
    it(`${name}: raw and Meta-escaped signatures verify over the stored bytes`, () => {
      const body = raw(name);
      expect(verifyCloudSignature(body, sig.raw, [SECRET])).toBe(true);
      expect(verifyCloudSignature(body, sig.meta, [SECRET])).toBe(true);
      expect(verifyCloudSignature(body, sig.meta, ['another-secret'])).toBe(false);
    });
  }

  it('the CTWA fixture verifies only through the escaped-unicode variant for signature_meta', () => {
    const body = raw('cloud-inbound-text-ctwa.json');
    const meta = signatures['cloud-inbound-text-ctwa.json'].meta;
    expect(`sha256=${hmacSha256Hex(SECRET, body)}`).not.toBe(meta);
    expect(`sha256=${hmacSha256Hex(SECRET, escapeLikeMeta(body.toString('utf8')))}`).toBe(meta);
  });

  it('tries each secret (rotation) and refuses malformed headers', () => {
    const body = raw('cloud-status-delivered.json');
    const sig = signatures['cloud-status-delivered.json'].raw;
    expect(verifyCloudSignature(body, sig, ['new-secret', SECRET])).toBe(true);
    expect(verifyCloudSignature(body, sig.toUpperCase().replace('SHA256', 'sha256'), [SECRET])).toBe(true);
    for (const header of [null, '', 'sha1=abc', sig.slice(0, -2), `${sig}00`, 'sha256=zz']) {
      expect(verifyCloudSignature(body, header, [SECRET])).toBe(false);
    }
    expect(verifyCloudSignature(body, sig, [])).toBe(false);
  });

  it('escapes like Meta: lower-case \\uXXXX per UTF-16 unit, slashes optional', () => {
    expect(escapeLikeMeta('₹ 👍 /a')).toBe('\\u20b9 \\ud83d\\udc4d /a');
    expect(escapeLikeMeta('₹/a', { slashes: true })).toBe('\\u20b9\\/a');
  });

  it('accepts a body whose escapes a proxy decoded, for any text (property)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme' }), fc.string({ minLength: 1 }), (text, secret) => {
        const sent = escapeLikeMeta(JSON.stringify({ text }), { slashes: true });
        const header = `sha256=${hmacSha256Hex(secret, sent)}`;
        const decoded = JSON.stringify(JSON.parse(sent));
        expect(verifyCloudSignature(sent, header, [secret])).toBe(true);
        expect(verifyCloudSignature(decoded, header, [secret])).toBe(true);
        expect(verifyCloudSignature(`${decoded} `, header, [secret])).toBe(false);
      }),
    );
  });
});
