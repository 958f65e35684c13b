/**
 * One error hierarchy for every LeadRelay package. Each error has a stable
 * `code` that callers branch on, the HTTP `status` an edge should answer with,
 * and `retryable` for work queues. Messages never contain secrets.
 */

const BRAND = Symbol.for('leadrelay.error');

export interface LeadRelayErrorOptions {
  code?: string;
  status?: number;
  retryable?: boolean;
  cause?: unknown;
  /** Structured, secret-free facts about what was wrong (field paths, ids). */
  details?: Record<string, unknown>;
}

export class LeadRelayError extends Error {
  readonly code: string;
  readonly status: number;
  readonly retryable: boolean;
  readonly details: Record<string, unknown> | undefined;

  constructor(message: string, options: LeadRelayErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = options.code ?? 'internal_error';
    this.status = options.status ?? 500;
    this.retryable = options.retryable ?? false;
    this.details = options.details;
    Object.defineProperty(this, BRAND, { value: true });
  }

  toJSON(): { code: string; message: string; status: number; details?: Record<string, unknown> } {
    return {
      code: this.code,
      message: this.message,
      status: this.status,
      ...(this.details ? { details: this.details } : {}),
    };
  }
}

/**
 * True for any LeadRelay error, also across duplicate copies of the package
 * (ESM and CJS builds loaded side by side), where `instanceof` would fail.
 */
export function isLeadRelayError(value: unknown): value is LeadRelayError {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[BRAND] === true;
}

type SubclassOptions = Omit<LeadRelayErrorOptions, 'status'> & { status?: number };

export interface ValidationIssue {
  path: (string | number)[];
  message: string;
}

/** Input that does not have the required shape or value (HTTP 400). */
export class ValidationError extends LeadRelayError {
  readonly issues: ValidationIssue[];
  constructor(message: string, options: SubclassOptions & { issues?: ValidationIssue[] } = {}) {
    const issues = options.issues ?? [];
    super(message, {
      code: 'validation_failed',
      status: 400,
      ...options,
      details: { ...(options.details ?? {}), ...(issues.length ? { issues } : {}) },
    });
    this.issues = issues;
  }
}

/** A request body larger than the configured limit (HTTP 413). */
export class PayloadTooLargeError extends LeadRelayError {
  constructor(limitBytes: number, options: SubclassOptions = {}) {
    super(`Body exceeds the limit of ${limitBytes} bytes`, {
      code: 'payload_too_large',
      status: 413,
      ...options,
      details: { limitBytes, ...(options.details ?? {}) },
    });
  }
}

/** A webhook or request signature that is missing or does not verify (HTTP 401). */
export class SignatureError extends LeadRelayError {
  constructor(message = 'Signature is missing or invalid', options: SubclassOptions = {}) {
    super(message, { code: 'signature_invalid', status: 401, ...options });
  }
}

/** Missing or wrong credentials (HTTP 401). */
export class AuthError extends LeadRelayError {
  constructor(message = 'Authentication required', options: SubclassOptions = {}) {
    super(message, { code: 'unauthorized', status: 401, ...options });
  }
}

/** Authenticated, but not allowed (HTTP 403). */
export class ForbiddenError extends LeadRelayError {
  constructor(message = 'Forbidden', options: SubclassOptions = {}) {
    super(message, { code: 'forbidden', status: 403, ...options });
  }
}

/** A tenant, lead, page or other record that does not exist in the caller's scope (HTTP 404). */
export class NotFoundError extends LeadRelayError {
  constructor(message: string, options: SubclassOptions = {}) {
    super(message, { code: 'not_found', status: 404, ...options });
  }
}

/**
 * Options or rules a factory was given that it cannot work with: a mistake in
 * the caller's code or configuration, not in a request (HTTP 500).
 */
export class ConfigurationError extends LeadRelayError {
  constructor(message: string, options: SubclassOptions = {}) {
    super(message, { code: 'configuration_invalid', status: 500, ...options });
  }
}

/** A write that collides with existing state (HTTP 409). */
export class ConflictError extends LeadRelayError {
  constructor(message: string, options: SubclassOptions = {}) {
    super(message, { code: 'conflict', status: 409, ...options });
  }
}

/**
 * A rule forbids the action (HTTP 422): the `code` is the rule's reason,
 * e.g. `window_closed`, `template_not_approved`, `opted_out`.
 */
export class PolicyError extends LeadRelayError {
  constructor(message: string, options: SubclassOptions & { code: string }) {
    super(message, { status: 422, ...options });
  }
}

/**
 * A third-party service (Meta Graph, Gupshup, Cloud API) refused or failed.
 * `providerCode` is the provider's own error code; `retryable` says whether
 * the same request may succeed later; `retryAfterMs` comes from `Retry-After`.
 */
export class ProviderError extends LeadRelayError {
  readonly provider: string;
  readonly providerCode: string | undefined;
  readonly httpStatus: number | undefined;
  readonly retryAfterMs: number | undefined;

  constructor(
    message: string,
    options: SubclassOptions & {
      provider: string;
      providerCode?: string | number;
      httpStatus?: number;
      retryAfterMs?: number;
    },
  ) {
    const providerCode = options.providerCode === undefined ? undefined : String(options.providerCode);
    super(message, {
      code: 'provider_error',
      status: 502,
      ...options,
      details: {
        provider: options.provider,
        ...(providerCode !== undefined ? { providerCode } : {}),
        ...(options.httpStatus !== undefined ? { httpStatus: options.httpStatus } : {}),
        ...(options.details ?? {}),
      },
    });
    this.provider = options.provider;
    this.providerCode = providerCode;
    this.httpStatus = options.httpStatus;
    this.retryAfterMs = options.retryAfterMs;
  }
}

/** The database or another store failed; the caller should retry (HTTP 503). */
export class StorageError extends LeadRelayError {
  constructor(message: string, options: SubclassOptions = {}) {
    super(message, { code: 'storage_unavailable', status: 503, retryable: true, ...options });
  }
}

/** Wraps an unknown thrown value so edges always see a LeadRelayError. */
export function toLeadRelayError(error: unknown): LeadRelayError {
  if (isLeadRelayError(error)) return error;
  return new LeadRelayError('Internal error', { code: 'internal_error', status: 500, cause: error });
}

/**
 * Maps any error to a JSON `Response` in the one shape every LeadRelay edge
 * uses: `{ "error": { "code", "message", "details"? } }`.
 */
export function errorResponse(error: unknown, init: { headers?: HeadersInit } = {}): Response {
  const err = toLeadRelayError(error);
  const body = {
    error: { code: err.code, message: err.message, ...(err.details ? { details: err.details } : {}) },
  };
  const headers = new Headers(init.headers);
  headers.set('content-type', 'application/json; charset=utf-8');
  return new Response(JSON.stringify(body), { status: err.status, headers });
}
