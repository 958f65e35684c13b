import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { LeadRelayError } from '../errors/errors.js';

/**
 * AES-256-GCM envelope encryption with a keyring. The envelope names the key
 * it was sealed with, so keys rotate without downtime: add the new key, make
 * it current, `reencrypt` stored values at leisure, then drop the old key.
 *
 * Envelope: `lr1.<keyId>.<iv>.<ciphertext>.<tag>` (base64url parts). The
 * version and key id are authenticated as additional data, as is the optional
 * `context` (e.g. `tenant:42:app_secret`), which binds a ciphertext to the
 * place it is stored: copied elsewhere, it no longer decrypts.
 */

const VERSION = 'lr1';
const IV_BYTES = 12;
const TAG_BYTES = 16;
const KEY_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

export interface SecretKey {
  /** Short stable name stored in each envelope, e.g. `2026-11`. */
  id: string;
  /** 32 bytes, as bytes or as a base64 / base64url string. */
  key: Uint8Array | string;
}

export interface SecretBoxOptions {
  keys: SecretKey[];
  /** The key new envelopes are sealed with; defaults to the first key. */
  currentKeyId?: string;
}

export interface SealOptions {
  /** Authenticated context: the same value must be given to open the envelope. */
  context?: string;
}

export interface SecretBox {
  readonly currentKeyId: string;
  encrypt(plaintext: string, options?: SealOptions): string;
  decrypt(envelope: string, options?: SealOptions): string;
  /** Re-seals with the current key; returns the input unchanged when it already uses it. */
  reencrypt(envelope: string, options?: SealOptions): string;
  /** The key id an envelope names, without decrypting it. */
  keyIdOf(envelope: string): string;
  needsReencrypt(envelope: string): boolean;
}

/** Thrown for envelopes that are malformed, tampered with, truncated or sealed with an unknown key. */
export class SecretDecryptionError extends LeadRelayError {
  constructor(message: string, code: 'secret_malformed' | 'secret_key_unknown' | 'secret_tampered') {
    super(message, { code, status: 500 });
  }
}

function decodeKey(key: Uint8Array | string, id: string): Buffer {
  const bytes =
    typeof key === 'string'
      ? Buffer.from(key, key.includes('-') || key.includes('_') ? 'base64url' : 'base64')
      : Buffer.from(key);
  if (bytes.length !== 32) {
    throw new LeadRelayError(`Secret key "${id}" must be 32 bytes, got ${bytes.length}`, {
      code: 'secret_key_invalid',
      status: 500,
    });
  }
  return bytes;
}

/**
 * Decodes one base64url part, accepting only the canonical spelling: Node's
 * decoder also takes `+`, `/`, `=` and ignores the spare bits of the last
 * character, so several strings would otherwise open as the same envelope.
 */
function decodePart(part: string): Buffer {
  const bytes = Buffer.from(part, 'base64url');
  if (bytes.toString('base64url') !== part) {
    throw new SecretDecryptionError('Secret envelope is malformed', 'secret_malformed');
  }
  return bytes;
}

/** Generates a fresh random 32-byte key, base64url-encoded, for `SecretKey.key`. */
export function generateSecretKey(): string {
  return randomBytes(32).toString('base64url');
}

/**
 * @example
 * const box = createSecretBox({ keys: [{ id: 'k1', key: process.env.LEADRELAY_KEY! }] });
 * const stored = box.encrypt('page-token', { context: 'page:123' });
 * box.decrypt(stored, { context: 'page:123' }); // 'page-token'
 */
export function createSecretBox(options: SecretBoxOptions): SecretBox {
  if (options.keys.length === 0) {
    throw new LeadRelayError('A secret box needs at least one key', {
      code: 'secret_key_invalid',
      status: 500,
    });
  }
  const keyring = new Map<string, Buffer>();
  for (const { id, key } of options.keys) {
    if (!KEY_ID_PATTERN.test(id)) {
      throw new LeadRelayError(`Secret key id "${id}" must match ${KEY_ID_PATTERN}`, {
        code: 'secret_key_invalid',
        status: 500,
      });
    }
    if (keyring.has(id)) {
      throw new LeadRelayError(`Secret key id "${id}" is listed twice`, {
        code: 'secret_key_invalid',
        status: 500,
      });
    }
    keyring.set(id, decodeKey(key, id));
  }
  const currentKeyId = options.currentKeyId ?? options.keys[0]!.id;
  const currentKey = keyring.get(currentKeyId);
  if (!currentKey) {
    throw new LeadRelayError(`Current key "${currentKeyId}" is not in the keyring`, {
      code: 'secret_key_invalid',
      status: 500,
    });
  }

  const aad = (keyId: string, context: string | undefined) =>
    Buffer.from(context === undefined ? `${VERSION}.${keyId}` : `${VERSION}.${keyId}.${context}`, 'utf8');

  function split(envelope: string): [string, Buffer, Buffer, Buffer] {
    if (typeof envelope !== 'string')
      throw new SecretDecryptionError('Secret envelope is not a string', 'secret_malformed');
    const parts = envelope.split('.');
    if (parts.length !== 5 || parts[0] !== VERSION) {
      throw new SecretDecryptionError('Secret envelope is malformed', 'secret_malformed');
    }
    const [, keyId, ivPart, dataPart, tagPart] = parts as [string, string, string, string, string];
    const iv = decodePart(ivPart);
    const tag = decodePart(tagPart);
    if (iv.length !== IV_BYTES || tag.length !== TAG_BYTES || !KEY_ID_PATTERN.test(keyId)) {
      throw new SecretDecryptionError('Secret envelope is malformed', 'secret_malformed');
    }
    return [keyId, iv, decodePart(dataPart), tag];
  }

  const box: SecretBox = {
    currentKeyId,
    encrypt(plaintext, sealOptions = {}) {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', currentKey, iv);
      cipher.setAAD(aad(currentKeyId, sealOptions.context));
      const data = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
      const tag = cipher.getAuthTag();
      return `${VERSION}.${currentKeyId}.${iv.toString('base64url')}.${data.toString('base64url')}.${tag.toString('base64url')}`;
    },
    decrypt(envelope, sealOptions = {}) {
      const [keyId, iv, data, tag] = split(envelope);
      const key = keyring.get(keyId);
      if (!key)
        throw new SecretDecryptionError(
          `Secret was sealed with unknown key "${keyId}"`,
          'secret_key_unknown',
        );
      try {
        const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
        decipher.setAAD(aad(keyId, sealOptions.context));
        decipher.setAuthTag(tag);
        return Buffer.concat([decipher.update(data), decipher.final()]).toString('utf8');
      } catch {
        throw new SecretDecryptionError('Secret envelope failed authentication', 'secret_tampered');
      }
    },
    reencrypt(envelope, sealOptions = {}) {
      if (!box.needsReencrypt(envelope)) {
        box.decrypt(envelope, sealOptions); // still prove it is intact
        return envelope;
      }
      return box.encrypt(box.decrypt(envelope, sealOptions), sealOptions);
    },
    keyIdOf(envelope) {
      return split(envelope)[0];
    },
    needsReencrypt(envelope) {
      return box.keyIdOf(envelope) !== currentKeyId;
    },
  };
  return box;
}

/** The kinds of tenant secret LeadRelay stores; each is sealed bound to its tenant. */
export type TenantSecretKind =
  | 'meta_app_secret'
  | 'meta_verify_token'
  | 'page_access_token'
  | 'waba_credentials'
  | 'waba_webhook_secret'
  | 'oauth_token';

const tenantContext = (clientAccountId: string, kind: TenantSecretKind) =>
  `tenant:${clientAccountId}:${kind}`;

/**
 * Seals a tenant's secret bound to that tenant and kind: an envelope copied
 * to another tenant's row, or into another column, does not open.
 *
 * @example tenant.facebookAppSecretEncrypted = sealTenantSecret(box, tenant.id, 'meta_app_secret', secret);
 */
export function sealTenantSecret(
  box: SecretBox,
  clientAccountId: string,
  kind: TenantSecretKind,
  plaintext: string,
): string {
  return box.encrypt(plaintext, { context: tenantContext(clientAccountId, kind) });
}

/** Opens an envelope sealed by `sealTenantSecret` for the same tenant and kind. */
export function openTenantSecret(
  box: SecretBox,
  clientAccountId: string,
  kind: TenantSecretKind,
  envelope: string,
): string {
  return box.decrypt(envelope, { context: tenantContext(clientAccountId, kind) });
}
