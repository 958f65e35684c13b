import { type Clock, ConflictError, type Logger, ProviderError } from '@leadrelay/core';
import type { SendResult } from '../send/send-types.js';
import type { LedgerClaimInput, SendLedger } from '../store/waba-store.js';
import type { WabaTemplate } from '../templates/template.js';

export interface IdempotentSendOptions {
  ledger: SendLedger;
  clientAccountId: string;
  idempotencyKey: string;
  requestHash: string;
  clock: Clock;
  /** How long a claim may stay in flight before it counts as failed with an unknown outcome. */
  leaseMs: number;
  /** How long a concurrent duplicate waits for the first send before giving up (`send_in_progress`). */
  waitTimeoutMs: number;
  logger: Logger;
  /** A template the send needs: read in the claim's round trip and handed to `send`. */
  readTemplate?: LedgerClaimInput['readTemplate'];
}

/** What the send reports back so a failure can be classified. */
export interface SendProgress {
  /** The request went to the provider: from here a failure may hide a delivered message. */
  providerCalled: boolean;
}

/**
 * True when a failed provider call may nevertheless have delivered the
 * message: no answer (timeout, a dropped connection), a 5xx, or an
 * acceptance we could not read. A 4xx or 429 is a refusal, and a connection
 * that was never made (`details.notProcessed`) reached nobody.
 */
export function isAmbiguousFailure(error: unknown): boolean {
  if (!(error instanceof ProviderError)) return true;
  if (error.details?.notProcessed === true) return false;
  if (error.code === 'network_error' || error.code === 'timeout' || error.code === 'invalid_response')
    return true;
  return error.httpStatus === undefined || error.httpStatus >= 500;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Runs `send` at most once per tenant and idempotency key. The key is
 * claimed in the ledger first; a repeat gets the recorded result
 * (`deduplicated: true`), a concurrent repeat polls until the first finishes.
 * A refusal releases the key (nothing was sent); a failure that may have
 * delivered marks it unknown, and every later use of the key throws
 * ConflictError `send_outcome_unknown` rather than risk a second delivery.
 *
 * @example
 * await idempotentSend({ ledger, clientAccountId, idempotencyKey: 'welcome:lead-42', … }, (progress) => doSend(progress));
 */
export async function idempotentSend(
  options: IdempotentSendOptions,
  send: (progress: SendProgress, claimed: { template?: WabaTemplate | null }) => Promise<SendResult>,
): Promise<SendResult> {
  const { ledger, clientAccountId, idempotencyKey } = options;
  const deadline = performance.now() + options.waitTimeoutMs;
  let delayMs = 10;
  for (;;) {
    const claim = await ledger.claim({
      clientAccountId,
      idempotencyKey,
      requestHash: options.requestHash,
      now: options.clock.now(),
      leaseMs: options.leaseMs,
      ...(options.readTemplate ? { readTemplate: options.readTemplate } : {}),
    });
    switch (claim.state) {
      case 'claimed': {
        const progress: SendProgress = { providerCalled: false };
        let result: SendResult;
        try {
          result = await send(progress, claim);
        } catch (error) {
          const maybeSent = progress.providerCalled && isAmbiguousFailure(error);
          await (maybeSent
            ? ledger.markUnknown(clientAccountId, idempotencyKey)
            : ledger.release(clientAccountId, idempotencyKey)
          ).catch((ledgerError: unknown) =>
            // The lease still ends the claim; the caller sees the send's own error.
            options.logger.error({ err: ledgerError, idempotencyKey }, 'could not update the send ledger'),
          );
          throw error;
        }
        try {
          await ledger.complete(clientAccountId, idempotencyKey, result);
        } catch (error) {
          // Sent: report success; once the lease ends, repeats of this key answer send_outcome_unknown.
          options.logger.error({ err: error, idempotencyKey }, 'could not record a completed send');
        }
        return result;
      }
      case 'completed':
        return { ...claim.result, deduplicated: true };
      case 'conflict':
        throw new ConflictError('This idempotency key was already used for a different message', {
          code: 'idempotency_key_reused',
          details: { idempotencyKey },
        });
      case 'unknown':
        throw new ConflictError(
          'An earlier send with this idempotency key failed in a way that may have delivered it; use a new key to send again',
          {
            code: 'send_outcome_unknown',
            details: { idempotencyKey, claimedAt: claim.claimedAt.toISOString() },
          },
        );
      case 'in_flight': {
        if (performance.now() >= deadline) {
          throw new ConflictError('A send with this idempotency key is still in progress', {
            code: 'send_in_progress',
            retryable: true,
            details: { idempotencyKey, leaseExpiresAt: claim.leaseExpiresAt.toISOString() },
          });
        }
        await sleep(delayMs);
        delayMs = Math.min(delayMs * 2, 250);
        break;
      }
    }
  }
}
