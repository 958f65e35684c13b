import { describe, expect, it } from 'vitest';
import {
  AuthError,
  ConfigurationError,
  ConflictError,
  errorResponse,
  ForbiddenError,
  isLeadRelayError,
  LeadRelayError,
  NotFoundError,
  PayloadTooLargeError,
  PolicyError,
  ProviderError,
  SignatureError,
  StorageError,
  toLeadRelayError,
  ValidationError,
} from './errors.js';

describe('error classes', () => {
  const cases: [LeadRelayError, string, string, number, boolean][] = [
    [new LeadRelayError('boom'), 'LeadRelayError', 'internal_error', 500, false],
    [new ValidationError('bad'), 'ValidationError', 'validation_failed', 400, false],
    [new PayloadTooLargeError(1024), 'PayloadTooLargeError', 'payload_too_large', 413, false],
    [new SignatureError(), 'SignatureError', 'signature_invalid', 401, false],
    [new AuthError(), 'AuthError', 'unauthorized', 401, false],
    [new ForbiddenError(), 'ForbiddenError', 'forbidden', 403, false],
    [new NotFoundError('no lead'), 'NotFoundError', 'not_found', 404, false],
    [new ConflictError('taken'), 'ConflictError', 'conflict', 409, false],
    [new ConfigurationError('no store'), 'ConfigurationError', 'configuration_invalid', 500, false],
    [new PolicyError('closed', { code: 'window_closed' }), 'PolicyError', 'window_closed', 422, false],
    [new ProviderError('down', { provider: 'gupshup' }), 'ProviderError', 'provider_error', 502, false],
    [new StorageError('db gone'), 'StorageError', 'storage_unavailable', 503, true],
  ];

  it.each(cases)(
    '%#: %s has its code, status and retryable default',
    (error, name, code, status, retryable) => {
      expect(error).toBeInstanceOf(LeadRelayError);
      expect(error).toBeInstanceOf(Error);
      expect(error.name).toBe(name);
      expect(error.code).toBe(code);
      expect(error.status).toBe(status);
      expect(error.retryable).toBe(retryable);
      expect(isLeadRelayError(error)).toBe(true);
    },
  );

  it('lets options override the defaults and keeps the cause', () => {
    const cause = new Error('socket hang up');
    const error = new NotFoundError('No tenant "t1"', {
      code: 'tenant_not_found',
      cause,
      details: { id: 't1' },
    });
    expect(error).toMatchObject({ code: 'tenant_not_found', status: 404, details: { id: 't1' } });
    expect(error.cause).toBe(cause);
    expect(new StorageError('x', { retryable: false }).retryable).toBe(false);
    expect(new LeadRelayError('x').cause).toBeUndefined();
  });

  it('ValidationError carries its issues in details', () => {
    const issues = [{ path: ['lead', 'phone'], message: 'must be an E.164 phone number' }];
    const error = new ValidationError('Invalid lead', { issues, details: { what: 'lead' } });
    expect(error.issues).toEqual(issues);
    expect(error.details).toEqual({ what: 'lead', issues });
    expect(new ValidationError('x').details).toEqual({});
  });

  it('PayloadTooLargeError names the limit', () => {
    const error = new PayloadTooLargeError(1024);
    expect(error.message).toContain('1024');
    expect(error.details).toEqual({ limitBytes: 1024 });
  });

  it('ProviderError keeps the provider facts, with the provider code as a string', () => {
    const error = new ProviderError('Graph refused', {
      provider: 'meta_graph',
      providerCode: 190,
      httpStatus: 400,
      retryAfterMs: 5_000,
      retryable: true,
      code: 'provider_token_expired',
    });
    expect(error).toMatchObject({
      provider: 'meta_graph',
      providerCode: '190',
      httpStatus: 400,
      retryAfterMs: 5_000,
      retryable: true,
      code: 'provider_token_expired',
      status: 502,
    });
    expect(error.details).toEqual({ provider: 'meta_graph', providerCode: '190', httpStatus: 400 });
    const bare = new ProviderError('x', { provider: 'gupshup' });
    expect(bare.providerCode).toBeUndefined();
    expect(bare.details).toEqual({ provider: 'gupshup' });
  });

  it('serialises to code, message, status and details only', () => {
    const error = new ConflictError('Lead exists', {
      details: { leadId: 'l1' },
      cause: new Error('secret cause'),
    });
    expect(JSON.parse(JSON.stringify(error))).toEqual({
      code: 'conflict',
      message: 'Lead exists',
      status: 409,
      details: { leadId: 'l1' },
    });
    expect(new AuthError().toJSON()).toEqual({
      code: 'unauthorized',
      message: 'Authentication required',
      status: 401,
    });
  });
});

describe('isLeadRelayError', () => {
  it('recognises an error from another copy of the package by its global brand', async () => {
    // A second module instance stands for the CJS and ESM builds loaded side by side.
    const copy = (await import(
      /* @vite-ignore */ `./errors.js?copy=${Date.now()}`
    )) as typeof import('./errors.js');
    const foreign = new copy.NotFoundError('elsewhere');
    expect(copy.NotFoundError).not.toBe(NotFoundError);
    expect(foreign instanceof LeadRelayError).toBe(false);
    expect(isLeadRelayError(foreign)).toBe(true);
    expect(toLeadRelayError(foreign)).toBe(foreign);
  });

  it('recognises a structurally branded object and nothing else', () => {
    const branded = Object.defineProperty(new Error('x'), Symbol.for('leadrelay.error'), { value: true });
    expect(isLeadRelayError(branded)).toBe(true);
    for (const value of [
      new Error('plain'),
      { code: 'not_found', status: 404 },
      { [Symbol('leadrelay.error')]: true },
      null,
      undefined,
      'error',
      42,
    ]) {
      expect(isLeadRelayError(value)).toBe(false);
    }
  });
});

describe('toLeadRelayError', () => {
  it('passes LeadRelay errors through and wraps anything else as internal_error with the cause', () => {
    const known = new PolicyError('opted out', { code: 'opted_out' });
    expect(toLeadRelayError(known)).toBe(known);
    const raw = new TypeError('x is undefined');
    const wrapped = toLeadRelayError(raw);
    expect(wrapped).toMatchObject({ code: 'internal_error', status: 500, message: 'Internal error' });
    expect(wrapped.cause).toBe(raw);
    expect(toLeadRelayError('a string').cause).toBe('a string');
  });
});

describe('errorResponse', () => {
  it('answers the one JSON shape with the error status', async () => {
    const response = errorResponse(
      new ValidationError('Invalid lead at phone', { issues: [{ path: ['phone'], message: 'bad' }] }),
    );
    expect(response.status).toBe(400);
    expect(response.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(await response.json()).toEqual({
      error: {
        code: 'validation_failed',
        message: 'Invalid lead at phone',
        details: { issues: [{ path: ['phone'], message: 'bad' }] },
      },
    });
  });

  it('leaves details out when there are none and keeps extra headers', async () => {
    const response = errorResponse(new SignatureError(), { headers: { 'www-authenticate': 'HMAC' } });
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toBe('HMAC');
    expect(await response.json()).toEqual({
      error: { code: 'signature_invalid', message: 'Signature is missing or invalid' },
    });
  });

  it('hides the message of an unknown error behind a 500 internal_error', async () => {
    const response = errorResponse(new Error('password=hunter2 leaked in a stack'));
    expect(response.status).toBe(500);
    const text = await response.text();
    expect(JSON.parse(text)).toEqual({ error: { code: 'internal_error', message: 'Internal error' } });
    expect(text).not.toContain('hunter2');
  });
});
