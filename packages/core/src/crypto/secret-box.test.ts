import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isLeadRelayError } from '../errors/errors.js';
import {
  createSecretBox,
  generateSecretKey,
  openTenantSecret,
  SecretDecryptionError,
  sealTenantSecret,
} from './secret-box.js';

const k1 = generateSecretKey();
const k2 = generateSecretKey();

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw');
}

function decryptError(fn: () => unknown): SecretDecryptionError {
  const error = thrown(fn);
  expect(error).toBeInstanceOf(SecretDecryptionError);
  return error as SecretDecryptionError;
}

/** Decodes one base64url part of an envelope, lets `change` alter the bytes, and puts it back. */
function alterPart(envelope: string, index: 2 | 3 | 4, change: (bytes: Buffer) => Buffer): string {
  const parts = envelope.split('.');
  parts[index] = change(Buffer.from(parts[index]!, 'base64url')).toString('base64url');
  return parts.join('.');
}

describe('createSecretBox: round trip', () => {
  const box = createSecretBox({ keys: [{ id: 'k1', key: k1 }] });

  it('decrypts what it encrypted, including unicode and the empty string', () => {
    for (const plain of ['page-token', '', 'José Müller-Ødegård 🏠 नमस्ते', 'a'.repeat(10_000)]) {
      const envelope = box.encrypt(plain);
      expect(envelope).toMatch(/^lr1\.k1\.[\w-]{16}\.[\w-]*\.[\w-]{22}$/);
      expect(box.decrypt(envelope)).toBe(plain);
    }
  });

  it('never produces the same envelope twice and never contains the plaintext', () => {
    const a = box.encrypt('EAAGm0PX4ZCpsBA');
    const b = box.encrypt('EAAGm0PX4ZCpsBA');
    expect(a).not.toBe(b);
    expect(a).not.toContain('EAAGm0PX4ZCpsBA');
    expect(a).not.toContain(Buffer.from('EAAGm0PX4ZCpsBA').toString('base64url'));
  });

  it('accepts keys as bytes, base64 and base64url interchangeably', () => {
    const bytes = randomBytes(32);
    const fromBytes = createSecretBox({ keys: [{ id: 'k', key: new Uint8Array(bytes) }] });
    const fromBase64 = createSecretBox({ keys: [{ id: 'k', key: bytes.toString('base64') }] });
    const fromBase64Url = createSecretBox({ keys: [{ id: 'k', key: bytes.toString('base64url') }] });
    const envelope = fromBytes.encrypt('x');
    expect(fromBase64.decrypt(envelope)).toBe('x');
    expect(fromBase64Url.decrypt(envelope)).toBe('x');
  });

  it('round-trips arbitrary unicode strings and contexts (property)', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'grapheme', maxLength: 200 }),
        fc.option(fc.string({ unit: 'grapheme', maxLength: 60 }), { nil: undefined }),
        (plain, context) => {
          const options = context === undefined ? {} : { context };
          expect(box.decrypt(box.encrypt(plain, options), options)).toBe(plain);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('createSecretBox: construction', () => {
  it('refuses keys that are not 32 bytes without echoing the key', () => {
    const short = randomBytes(16).toString('base64url');
    const error = thrown(() => createSecretBox({ keys: [{ id: 'short', key: short }] }));
    expect(error).toMatchObject({ code: 'secret_key_invalid' });
    expect((error as Error).message).toContain('32 bytes');
    expect((error as Error).message).not.toContain(short);
    expect(thrown(() => createSecretBox({ keys: [{ id: 'long', key: new Uint8Array(33) }] }))).toMatchObject({
      code: 'secret_key_invalid',
    });
  });

  it('refuses an empty keyring, bad or duplicate ids and an unknown current key', () => {
    const cases = [
      { keys: [] },
      { keys: [{ id: 'has.dot', key: k1 }] },
      { keys: [{ id: '', key: k1 }] },
      {
        keys: [
          { id: 'k1', key: k1 },
          { id: 'k1', key: k2 },
        ],
      },
      { keys: [{ id: 'k1', key: k1 }], currentKeyId: 'k9' },
    ];
    for (const options of cases) {
      expect(thrown(() => createSecretBox(options))).toMatchObject({ code: 'secret_key_invalid' });
    }
  });
});

describe('createSecretBox: rotation', () => {
  it('reads old envelopes after a new key becomes current, re-seals them, then drops the old key', () => {
    const before = createSecretBox({ keys: [{ id: 'k1', key: k1 }] });
    const old = before.encrypt('app-secret', { context: 'tenant:1:meta_app_secret' });
    expect(before.keyIdOf(old)).toBe('k1');
    expect(before.needsReencrypt(old)).toBe(false);
    expect(before.reencrypt(old, { context: 'tenant:1:meta_app_secret' })).toBe(old);

    const during = createSecretBox({
      keys: [
        { id: 'k1', key: k1 },
        { id: 'k2', key: k2 },
      ],
      currentKeyId: 'k2',
    });
    expect(during.currentKeyId).toBe('k2');
    expect(during.decrypt(old, { context: 'tenant:1:meta_app_secret' })).toBe('app-secret');
    expect(during.needsReencrypt(old)).toBe(true);
    const moved = during.reencrypt(old, { context: 'tenant:1:meta_app_secret' });
    expect(during.keyIdOf(moved)).toBe('k2');
    expect(during.needsReencrypt(moved)).toBe(false);
    expect(during.encrypt('new').startsWith('lr1.k2.')).toBe(true);

    const after = createSecretBox({ keys: [{ id: 'k2', key: k2 }] });
    expect(after.decrypt(moved, { context: 'tenant:1:meta_app_secret' })).toBe('app-secret');
    const error = decryptError(() => after.decrypt(old, { context: 'tenant:1:meta_app_secret' }));
    expect(error.code).toBe('secret_key_unknown');
    expect(error.message).toContain('"k1"');
  });

  it('re-sealing keeps the context binding and refuses a tampered envelope', () => {
    const box = createSecretBox({
      keys: [
        { id: 'k1', key: k1 },
        { id: 'k2', key: k2 },
      ],
      currentKeyId: 'k2',
    });
    const old = createSecretBox({ keys: [{ id: 'k1', key: k1 }] }).encrypt('s', { context: 'a' });
    const moved = box.reencrypt(old, { context: 'a' });
    expect(decryptError(() => box.decrypt(moved)).code).toBe('secret_tampered');
    expect(decryptError(() => box.reencrypt(old, { context: 'b' })).code).toBe('secret_tampered');
    const current = box.encrypt('s');
    const tampered = alterPart(current, 3, (b) => Buffer.from(b.map((x) => x ^ 1)));
    expect(decryptError(() => box.reencrypt(tampered)).code).toBe('secret_tampered');
  });
});

describe('createSecretBox: tampering', () => {
  const box = createSecretBox({ keys: [{ id: 'k1', key: k1 }] });
  const plain = 'EAAGm0PX4ZCpsBA-page-token';
  const envelope = box.encrypt(plain, { context: 'page:123' });

  it('detects a flipped bit in every byte of the iv, the ciphertext and the tag', () => {
    for (const index of [2, 3, 4] as const) {
      const length = Buffer.from(envelope.split('.')[index]!, 'base64url').length;
      for (let byte = 0; byte < length; byte++) {
        const altered = alterPart(envelope, index, (b) => {
          const copy = Buffer.from(b);
          copy[byte] = copy[byte]! ^ 0x01;
          return copy;
        });
        expect(decryptError(() => box.decrypt(altered, { context: 'page:123' })).code).toBe(
          'secret_tampered',
        );
      }
    }
  });

  it('calls truncated envelopes and a wrong number of parts malformed', () => {
    const parts = envelope.split('.');
    const malformed = [
      '',
      'not an envelope',
      parts.slice(0, 4).join('.'),
      [...parts, 'extra'].join('.'),
      ['lr2', ...parts.slice(1)].join('.'),
      alterPart(envelope, 4, (b) => b.subarray(0, 15)),
      alterPart(envelope, 2, (b) => b.subarray(0, 11)),
      envelope.slice(0, -3),
      [parts[0], 'bad key!', ...parts.slice(2)].join('.'),
      42 as unknown as string,
    ];
    for (const value of malformed) {
      expect(decryptError(() => box.decrypt(value, { context: 'page:123' })).code).toBe('secret_malformed');
    }
  });

  it('fails authentication under another key with the same id, or another context', () => {
    const impostor = createSecretBox({ keys: [{ id: 'k1', key: k2 }] });
    expect(decryptError(() => impostor.decrypt(envelope, { context: 'page:123' })).code).toBe(
      'secret_tampered',
    );
    expect(decryptError(() => box.decrypt(envelope, { context: 'page:124' })).code).toBe('secret_tampered');
    expect(decryptError(() => box.decrypt(envelope)).code).toBe('secret_tampered');
    const bare = box.encrypt(plain);
    expect(decryptError(() => box.decrypt(bare, { context: '' })).code).toBe('secret_tampered');
  });

  it('never puts the plaintext or the key in an error', () => {
    const impostor = createSecretBox({ keys: [{ id: 'k1', key: k2 }] });
    const errors = [
      thrown(() => impostor.decrypt(envelope, { context: 'page:123' })),
      thrown(() => box.decrypt(envelope)),
      thrown(() => box.decrypt(envelope.slice(0, -2), { context: 'page:123' })),
      thrown(() => createSecretBox({ keys: [{ id: 'k9', key: k2 }] }).decrypt(envelope)),
    ];
    for (const error of errors) {
      expect(isLeadRelayError(error)).toBe(true);
      const text = JSON.stringify({
        message: (error as Error).message,
        json: error,
        stack: (error as Error).stack,
      });
      for (const secret of [plain, k1, k2]) expect(text).not.toContain(secret);
    }
  });

  it('throws for any single-character change of an envelope (property)', () => {
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.+/=';
    fc.assert(
      fc.property(
        fc.string({ unit: 'grapheme', maxLength: 40 }),
        fc.nat(),
        fc.constantFrom(...alphabet),
        (secret, position, replacement) => {
          const sealed = box.encrypt(secret, { context: 'ctx' });
          const at = position % sealed.length;
          fc.pre(sealed[at] !== replacement);
          const mutated = sealed.slice(0, at) + replacement + sealed.slice(at + 1);
          decryptError(() => box.decrypt(mutated, { context: 'ctx' }));
        },
      ),
      { numRuns: 2_000 },
    );
  });
});

describe('sealTenantSecret / openTenantSecret', () => {
  const box = createSecretBox({ keys: [{ id: 'k1', key: k1 }] });

  it('opens only for the same tenant and kind', () => {
    const sealed = sealTenantSecret(box, 'tenant-a', 'page_access_token', 'EAAG-token');
    expect(openTenantSecret(box, 'tenant-a', 'page_access_token', sealed)).toBe('EAAG-token');
    expect(() => openTenantSecret(box, 'tenant-b', 'page_access_token', sealed)).toThrow(
      SecretDecryptionError,
    );
    expect(() => openTenantSecret(box, 'tenant-a', 'meta_app_secret', sealed)).toThrow(SecretDecryptionError);
    expect(() => box.decrypt(sealed)).toThrow(SecretDecryptionError);
    expect(box.decrypt(sealed, { context: 'tenant:tenant-a:page_access_token' })).toBe('EAAG-token');
  });
});
