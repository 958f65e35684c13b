import { ConflictError, isLeadRelayError } from '@leadrelay/core';
import { isAmbiguousFailure, type WabaClient } from '@leadrelay/waba';
import type { FollowUpSender } from '../runner/sender.js';

/**
 * Sends follow-ups through `@leadrelay/waba`'s client: its policy check,
 * rate limit, provider, conversation log and idempotency ledger all apply.
 * The step's ledger key becomes waba's idempotency key, so a resend after a
 * lost lease returns waba's recorded result instead of a second message.
 * A provider failure that may have delivered the message (no answer, a 5xx)
 * is reported as `send_outcome_unknown`, as waba's ledger records it: the
 * step ends `unknown` and is not sent again.
 *
 * @example const runner = createFollowUpRunner({ store, core, sender: createWabaSender(waba) });
 */
export function createWabaSender(waba: Pick<WabaClient, 'send'>): FollowUpSender {
  return {
    async send(request) {
      try {
        const result = await waba.send({
          tenant: request.tenant,
          to: request.to,
          ...(request.leadId ? { leadId: request.leadId } : {}),
          message: request.message,
          idempotencyKey: request.idempotencyKey,
          ...(request.context ? { context: request.context } : {}),
        });
        return { providerMessageId: result.providerMessageId, messageId: result.messageId };
      } catch (error) {
        // Only a provider's own failure reached the provider; waba's check of the same error
        // decided that its ledger now holds the key as unknown. Said now, not after a retry.
        if (isLeadRelayError(error) && error.name === 'ProviderError' && isAmbiguousFailure(error)) {
          throw new ConflictError(`The provider may have delivered this message: ${error.message}`, {
            code: 'send_outcome_unknown',
            cause: error,
            details: { idempotencyKey: request.idempotencyKey },
          });
        }
        throw error;
      }
    },
  };
}
