import type { FollowUpMessage } from '../campaigns/follow-up-message.js';

export interface FollowUpSendRequest {
  /** The tenant (client account id) whose number sends. */
  tenant: string;
  /** E.164 recipient. */
  to: string;
  /**
   * The lead the message is for. Absent on a test send, which may go to
   * another number (an agent's) and must not be bound to the lead.
   */
  leadId?: string;
  message: FollowUpMessage;
  /** Stable per (enrolment, step): a resend after a lost lease carries the same key. */
  idempotencyKey: string;
  /** Campaign, step and enrolment ids, for the message's stored context. */
  context?: Record<string, unknown>;
}

export interface FollowUpSendResult {
  providerMessageId: string;
  /** The stored message id, when the sender keeps a conversation log. */
  messageId?: string;
}

/**
 * The port follow-ups send through. `createWabaSender` adapts
 * `@leadrelay/waba`'s client to it; tests pass their own.
 *
 * Errors are read by their code: a `PolicyError` `window_closed` makes the
 * runner send the step's fallback template; other policy codes skip the step
 * (`opted_out` ends the enrolment); a `retryable` error is retried with
 * backoff; anything else fails the step.
 */
export interface FollowUpSender {
  send(request: FollowUpSendRequest): Promise<FollowUpSendResult>;
}
