import { isLeadRelayError } from '@leadrelay/core';

const WINDOW_CODES = new Set(['window_closed', 'template_required']);

export type SendFailure =
  | { kind: 'window_closed' }
  | { kind: 'opted_out' }
  | { kind: 'policy'; code: string }
  | { kind: 'transient'; message: string; retryAfterMs: number | null }
  | { kind: 'permanent'; message: string }
  /** The message may or may not have gone out: the step must not be sent again. */
  | { kind: 'unknown'; message: string }
  /** Another send under the same key is still in flight until `until`. */
  | { kind: 'in_progress'; message: string; until: Date };

/**
 * Sorts a sender's error into what the runner does next. `window_closed` and
 * `template_required` (from the policy or the provider) mean "send the
 * template instead". `send_outcome_unknown` means the message may have been
 * delivered: the step ends `unknown`. `send_in_progress` with a
 * `details.leaseExpiresAt` means another attempt under the key is in flight:
 * wait for it. Other policy refusals are `PolicyError`s (HTTP status 422;
 * read by status and code, so copies of core loaded twice still match);
 * `retryable` errors and errors of unknown origin are transient (bounded by
 * `maxAttempts`); other typed errors are permanent.
 *
 * @example classifySendError(new PolicyError('closed', { code: 'window_closed' })) // { kind: 'window_closed' }
 */
export function classifySendError(error: unknown): SendFailure {
  if (isLeadRelayError(error)) {
    // Our policy refusing free text and the provider refusing it (Cloud API 131047) mean the same.
    if (WINDOW_CODES.has(error.code)) return { kind: 'window_closed' };
    const message = `${error.code}: ${error.message}`;
    if (error.code === 'send_outcome_unknown') return { kind: 'unknown', message };
    if (error.code === 'send_in_progress') {
      const until = new Date(String(error.details?.leaseExpiresAt));
      if (!Number.isNaN(until.getTime())) return { kind: 'in_progress', message, until };
    }
    if (error.status === 422 || error.name === 'PolicyError') {
      if (error.code === 'opted_out') return { kind: 'opted_out' };
      return { kind: 'policy', code: error.code };
    }
    if (error.retryable) {
      const after = (error as { retryAfterMs?: unknown }).retryAfterMs;
      return { kind: 'transient', message, retryAfterMs: typeof after === 'number' ? after : null };
    }
    return { kind: 'permanent', message };
  }
  const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return { kind: 'transient', message, retryAfterMs: null };
}
