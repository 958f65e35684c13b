import type { BotProfile, Lead, Message, Tenant } from '@leadrelay/core';
import type { InboundMessageEvent } from '../inbound/inbound-event.js';
import type { OutboundMessage } from '../messages/outbound-message.js';

/** What a bot sees when a lead writes. */
export interface BotResponderInput {
  tenant: Tenant;
  /** The lead after the inbound message was applied (window open, name filled). */
  lead: Lead;
  /** The inbound message as stored. */
  message: Message;
  /** The latest messages with the lead, oldest first, this one last. */
  conversation: Message[];
  /** The lead's bot profile, else the tenant's default, else `null`. */
  profile: BotProfile | null;
  event: InboundMessageEvent;
}

/**
 * Answers an inbound message: the reply goes out through `WabaClient.send`
 * (same policy, templates, rate limit and provider), or nothing with `null`.
 * It runs after the webhook is acknowledged, once per inbound message.
 */
export type BotResponder = (input: BotResponderInput) => Promise<OutboundMessage | null>;
