import type { WabaClient } from '@leadrelay/waba';
import type { FollowUpSender } from '../runner/sender.js';

/**
 * Sends follow-ups through `@leadrelay/waba`'s client: its policy check,
 * rate limit, provider, conversation log and idempotency ledger all apply.
 * The step's ledger key becomes waba's idempotency key, so a resend after a
 * lost lease returns waba's recorded result instead of a second message
 * (when waba recorded the first send before the worker lost it).
 *
 * @example const runner = createFollowUpRunner({ store, core, sender: createWabaSender(waba) });
 */
export function createWabaSender(waba: Pick<WabaClient, 'send'>): FollowUpSender {
  return {
    async send(request) {
      const result = await waba.send({
        tenant: request.tenant,
        to: request.to,
        ...(request.leadId ? { leadId: request.leadId } : {}),
        message: request.message,
        idempotencyKey: request.idempotencyKey,
        ...(request.context ? { context: request.context } : {}),
      });
      return { providerMessageId: result.providerMessageId, messageId: result.messageId };
    },
  };
}
