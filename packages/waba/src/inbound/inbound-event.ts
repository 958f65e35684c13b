import type { MessageStatus } from '@leadrelay/core';
import type { EntryPointSource } from '../policy/policy-rules.js';

/**
 * Provider webhooks normalised: Gupshup's and the Cloud API's callbacks
 * become these events, so everything after the parser is provider-neutral.
 */

/** What the lead sent, as far as LeadRelay reads it. */
export interface InboundContent {
  /** text, image, video, audio, document, sticker, location, contacts, button_reply, list_reply, button, reaction, unknown… */
  kind: string;
  /** What the lead wrote or chose, as text: body, caption, reply title. */
  text: string | null;
  /** A pressed reply button or list row: match by `id` (or `payload`) first, by title last. */
  reply?: { id: string | null; title: string; description?: string | null; payload?: string | null };
  media?: {
    url: string | null;
    id: string | null;
    mimeType: string | null;
    caption: string | null;
    filename?: string | null;
  };
  location?: { latitude: number; longitude: number; name?: string | null; address?: string | null };
}

/** The ad or Page button the lead came through (Cloud API `referral`). */
export interface InboundReferral {
  source: EntryPointSource;
  sourceId: string | null;
  sourceUrl: string | null;
  headline: string | null;
  body: string | null;
  ctwaClid: string | null;
}

/** Which tenant's number an event is for, as the provider names it. */
export interface InboundRoute {
  /** Gupshup app name. */
  appName?: string;
  /** Cloud API phone number id. */
  phoneNumberId?: string;
  /** The business number, digits (Cloud API `display_phone_number`). */
  businessNumber?: string;
}

interface EventBase {
  provider: string;
  /** Unique per provider and tenant: the dedupe key. */
  eventId: string;
  route: InboundRoute;
  /** When the provider says it happened. */
  at: Date;
}

export interface InboundMessageEvent extends EventBase {
  type: 'message';
  /** The provider's id of the inbound message. */
  providerMessageId: string;
  /** The lead, E.164. */
  from: string;
  /**
   * Set when the provider's verified sender id is kept as `+<digits>` although
   * libphonenumber does not know the number (a new range, a test number).
   */
  phoneUnvalidated?: true;
  profileName: string | null;
  content: InboundContent;
  referral: InboundReferral | null;
  /** The provider id of the message this one replies to (button presses carry it). */
  replyToProviderId: string | null;
}

export interface InboundStatusEvent extends EventBase {
  type: 'status';
  /** The id to find the stored message by (Gupshup gsId, or the wamid). */
  providerMessageId: string;
  /** The other id of the same message, when the event carries both (Gupshup `id` = wamid). */
  altProviderMessageId: string | null;
  /**
   * The stored message status this event moves towards; `null` for a provider
   * status LeadRelay does not know, which is kept but moves nothing.
   */
  status: Extract<MessageStatus, 'queued' | 'sent' | 'delivered' | 'read' | 'failed' | 'held'> | null;
  /** The provider's own status word (`played`, `held_for_quality_assessment`, …), as received. */
  providerStatus: string;
  recipient: string | null;
  /** Set when `recipient` is the provider's verified id kept as `+<digits>` (see `phoneUnvalidated` on messages). */
  recipientUnvalidated?: true;
  pricing: {
    billable: boolean | null;
    category: string | null;
    pricingModel: string | null;
    type: string | null;
  } | null;
  error: { code: string; reason: string | null } | null;
}

export interface InboundConsentEvent extends EventBase {
  type: 'opt_out' | 'opt_in';
  phone: string;
  /** `user_event` (provider consent event) or `keyword` (the lead wrote STOP…). */
  via: 'user_event' | 'keyword';
}

export type WabaInboundEvent = InboundMessageEvent | InboundStatusEvent | InboundConsentEvent;
