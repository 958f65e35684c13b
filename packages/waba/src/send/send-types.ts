import { z } from 'zod';
import { type OutboundMessage, outboundMessageSchema } from '../messages/outbound-message.js';
import type { PolicyDecision, PricingCategory } from '../policy/decide-send.js';

/** What `WabaClient.send` takes. */
export interface SendRequest {
  /** The tenant (client account id) whose number sends. */
  tenant: string;
  /** The recipient, E.164 (`+919812345678`); national forms use the tenant's default country. */
  to: string;
  message: OutboundMessage;
  /** The lead the message belongs to; found (or created) by phone when omitted. */
  leadId?: string;
  /**
   * The same key never sends twice for one tenant: a repeat returns the
   * first result (`deduplicated: true`), a concurrent repeat waits for it.
   */
  idempotencyKey?: string;
  /** Free-form facts stored with the message (campaign, step, agent…). */
  context?: Record<string, unknown>;
}

export const sendRequestSchema = z.object({
  tenant: z.string().min(1).max(200),
  to: z.string().min(3).max(64),
  message: outboundMessageSchema,
  leadId: z.string().min(1).max(200).optional(),
  idempotencyKey: z.string().min(1).max(255).optional(),
  context: z.record(z.string(), z.unknown()).optional(),
});

/** What a successful `send` answers. */
export interface SendResult {
  /** Our stored message id (core `messages`). */
  messageId: string;
  /** The provider's id: Gupshup `messageId` or Cloud API `wamid…`. */
  providerMessageId: string;
  /** The provider that carried it: `gupshup` or `cloud_api`. */
  provider: string;
  pricingCategory: PricingCategory;
  billable: boolean;
  /** The policy decision the send was made under. */
  decision: PolicyDecision;
  /** True when this result is the recorded outcome of an earlier send with the same idempotency key. */
  deduplicated: boolean;
}

const decisionSchema = z.object({
  allowed: z.boolean(),
  reason: z.string(),
  explanation: z.string(),
  templateRequired: z.boolean(),
  pricingCategory: z.enum(['service', 'utility', 'marketing', 'authentication']).nullable(),
  billable: z.boolean().nullable(),
  pricingType: z.enum(['regular', 'free_customer_service', 'free_entry_point']).nullable(),
  windowOpen: z.boolean(),
  windowExpiresAt: z.coerce.date().nullable(),
  freeEntryPointExpiresAt: z.coerce.date().nullable(),
  opensFreeEntryPoint: z.boolean(),
  ruleSetId: z.string(),
  decidedAt: z.coerce.date(),
});

/** A `SendResult` as stored in the send ledger (JSON): dates come back as strings. */
export const storedSendResultSchema = z.object({
  messageId: z.string(),
  providerMessageId: z.string(),
  provider: z.string(),
  pricingCategory: z.enum(['service', 'utility', 'marketing', 'authentication']),
  billable: z.boolean(),
  decision: decisionSchema,
  deduplicated: z.boolean(),
});
