import { describe, expect, it } from 'vitest';
import { isSecretName, noopLogger, redact } from './logger.js';

describe('redact', () => {
  it('replaces secret-looking fields at any depth and keeps the rest', () => {
    const when = new Date('2026-11-25T09:00:00Z');
    const input = {
      tenant: 't1',
      facebookAppSecretEncrypted: 'lr1.k1.x',
      page: { id: '123', accessToken: 'EAAG', nested: [{ apikey: 'k', name: 'ok' }] },
      headers: { Authorization: 'Bearer x', 'X-Hub-Signature-256': 'sha256=…', accept: 'json' },
      when,
      count: 3,
      none: null,
    };
    const out = redact(input);
    expect(out).toEqual({
      tenant: 't1',
      facebookAppSecretEncrypted: '[redacted]',
      page: { id: '123', accessToken: '[redacted]', nested: [{ apikey: '[redacted]', name: 'ok' }] },
      headers: { Authorization: '[redacted]', 'X-Hub-Signature-256': '[redacted]', accept: 'json' },
      when,
      count: 3,
      none: null,
    });
    expect(out.when).toBe(when);
    expect(input.page.accessToken).toBe('EAAG');
  });

  it('leaves primitives alone and stops at the depth limit', () => {
    expect(redact('token')).toBe('token');
    expect(redact(null)).toBeNull();
    const deep = { a: { b: { password: 'p' } } };
    expect(redact(deep, 1)).toEqual({ a: { b: { password: 'p' } } });
    expect(redact(deep, 2)).toEqual({ a: { b: { password: '[redacted]' } } });
  });
});

describe('isSecretName', () => {
  it('matches the names secrets travel under', () => {
    for (const name of [
      'access_token',
      'appsecret_proof',
      'apikey',
      'api-key',
      'client_secret',
      'Cookie',
      'password',
    ]) {
      expect(isSecretName(name)).toBe(true);
    }
    for (const name of ['id', 'fields', 'phone', 'subscribed_fields', 'leadgen_id']) {
      expect(isSecretName(name)).toBe(false);
    }
  });
});

describe('noopLogger', () => {
  it('accepts every call and its children are silent too', () => {
    expect(() =>
      noopLogger
        .child({ a: 1 })
        .child({ b: 2 })
        .error({ err: new Error('x') }, 'msg'),
    ).not.toThrow();
    expect(noopLogger.child({})).toBe(noopLogger);
  });
});
