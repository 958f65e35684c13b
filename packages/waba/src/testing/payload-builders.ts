import { escapeMetaSlashes, escapeMetaUnicode, signMetaBody } from '@leadrelay/core';

/**
 * Builders for the callbacks the providers post, in their real formats, for
 * tests of webhook handlers and of whatever reacts to inbound events.
 */

let sequence = 0;
const nextId = (prefix: string) =>
  `${prefix}${Date.now().toString(36)}${(sequence++).toString(36).padStart(4, '0')}`;
const digits = (phone: string) => phone.replace(/^\+/, '');

export interface GupshupMessageInput {
  from: string;
  app?: string;
  name?: string;
  id?: string;
  /** Milliseconds since the epoch. */
  timestamp?: number;
}

function gupshupMessage(input: GupshupMessageInput, type: string, payload: Record<string, unknown>) {
  const phone = digits(input.from);
  return {
    app: input.app ?? 'AcmeBot',
    timestamp: input.timestamp ?? Date.now(),
    version: 2,
    type: 'message',
    payload: {
      id: input.id ?? nextId('ABEGkZ'),
      source: phone,
      type,
      payload,
      sender: { phone, name: input.name ?? 'Lead', country_code: '', dial_code: '' },
    },
  };
}

/**
 * @example gupshupInboundText({ from: '+919812345678', text: 'Hi' })
 */
export function gupshupInboundText(input: GupshupMessageInput & { text: string }) {
  return gupshupMessage(input, 'text', { text: input.text });
}

/**
 * A pressed reply button (`button_reply`) or list row (`list_reply`).
 *
 * @example gupshupInboundReply({ from: '+919812345678', replyId: 'sat', title: 'Saturday' })
 */
export function gupshupInboundReply(
  input: GupshupMessageInput & {
    kind?: 'button_reply' | 'list_reply';
    replyId: string;
    title: string;
    description?: string;
  },
) {
  return gupshupMessage(input, input.kind ?? 'button_reply', {
    title: input.title,
    id: input.replyId,
    reply: `${input.title} 1`,
    postbackText: input.replyId,
    ...(input.description ? { description: input.description } : {}),
  });
}

/**
 * A delivery status: `enqueued`, `sent`, `delivered`, `read` or `failed`.
 *
 * @example gupshupMessageEvent({ gsId: result.providerMessageId, status: 'delivered', destination: '+919812345678' })
 */
export function gupshupMessageEvent(input: {
  gsId: string;
  status: 'enqueued' | 'sent' | 'delivered' | 'read' | 'failed';
  destination: string;
  /** The WhatsApp id Gupshup reports for sent, delivered and read. */
  wamid?: string;
  code?: number;
  reason?: string;
  app?: string;
  timestamp?: number;
}) {
  const timestamp = input.timestamp ?? Date.now();
  const usesWamid = input.status === 'sent' || input.status === 'delivered' || input.status === 'read';
  return {
    app: input.app ?? 'AcmeBot',
    timestamp,
    version: 2,
    type: 'message-event',
    payload: {
      id: usesWamid ? (input.wamid ?? nextId('gBEGkZ')) : input.gsId,
      gsId: input.gsId,
      type: input.status,
      destination: digits(input.destination),
      payload:
        input.status === 'failed'
          ? { code: input.code ?? 1002, reason: input.reason ?? 'Number Does Not Exists On WhatsApp' }
          : { ts: Math.floor(timestamp / 1000) },
    },
  };
}

/**
 * A consent change the user made in WhatsApp.
 *
 * @example gupshupUserEvent({ phone: '+919812345678', type: 'opted-out' })
 */
export function gupshupUserEvent(input: {
  phone: string;
  type: 'opted-in' | 'opted-out';
  app?: string;
  timestamp?: number;
}) {
  return {
    app: input.app ?? 'AcmeBot',
    timestamp: input.timestamp ?? Date.now(),
    version: 2,
    type: 'user-event',
    payload: { phone: digits(input.phone), type: input.type },
  };
}

export interface CloudEnvelopeInput {
  phoneNumberId: string;
  /** The business number, E.164 or digits. */
  businessNumber?: string;
  wabaId?: string;
}

function cloudEnvelope(input: CloudEnvelopeInput, value: Record<string, unknown>) {
  return {
    object: 'whatsapp_business_account',
    entry: [
      {
        id: input.wabaId ?? '102290129340398',
        changes: [
          {
            field: 'messages',
            value: {
              messaging_product: 'whatsapp',
              metadata: {
                display_phone_number: digits(input.businessNumber ?? '919000000001'),
                phone_number_id: input.phoneNumberId,
              },
              ...value,
            },
          },
        ],
      },
    ],
  };
}

export interface CloudMessageInput extends CloudEnvelopeInput {
  from: string;
  name?: string;
  id?: string;
  /** Seconds since the epoch. */
  timestamp?: number;
  /** A Click-to-WhatsApp ad (`ad`) or Page post referral. */
  referral?: { sourceType?: 'ad' | 'post'; sourceId?: string; headline?: string; ctwaClid?: string };
  /** The message this one answers. */
  contextId?: string;
}

function cloudMessage(input: CloudMessageInput, message: Record<string, unknown>) {
  const from = digits(input.from);
  return cloudEnvelope(input, {
    contacts: [{ profile: { name: input.name ?? 'Lead' }, wa_id: from }],
    messages: [
      {
        from,
        id: input.id ?? nextId('wamid.IN'),
        timestamp: String(input.timestamp ?? Math.floor(Date.now() / 1000)),
        ...message,
        ...(input.contextId
          ? { context: { from: digits(input.businessNumber ?? '919000000001'), id: input.contextId } }
          : {}),
        ...(input.referral
          ? {
              referral: {
                source_url: 'https://fb.me/ad',
                source_id: input.referral.sourceId ?? '23850000000001',
                source_type: input.referral.sourceType ?? 'ad',
                headline: input.referral.headline ?? 'Ad',
                body: 'Tap to chat',
                ...(input.referral.ctwaClid ? { ctwa_clid: input.referral.ctwaClid } : {}),
              },
            }
          : {}),
      },
    ],
  });
}

/** @example cloudInboundText({ phoneNumberId: '106540352242922', from: '+919845012345', text: 'Hi' }) */
export function cloudInboundText(input: CloudMessageInput & { text: string }) {
  return cloudMessage(input, { type: 'text', text: { body: input.text } });
}

/**
 * An interactive reply: a pressed button or a chosen list row.
 *
 * @example cloudInboundReply({ phoneNumberId, from: '+919845012345', kind: 'list_reply', replyId: 'sat_10', title: 'Sat 10:00' })
 */
export function cloudInboundReply(
  input: CloudMessageInput & {
    kind?: 'button_reply' | 'list_reply';
    replyId: string;
    title: string;
    description?: string;
  },
) {
  const kind = input.kind ?? 'button_reply';
  return cloudMessage(input, {
    type: 'interactive',
    interactive: {
      type: kind,
      [kind]: {
        id: input.replyId,
        title: input.title,
        ...(input.description ? { description: input.description } : {}),
      },
    },
  });
}

/**
 * A status of a message the business sent.
 *
 * @example cloudStatus({ phoneNumberId, id: result.providerMessageId, status: 'read', recipient: '+919845012345' })
 */
export function cloudStatus(
  input: CloudEnvelopeInput & {
    id: string;
    /** A documented status, or any other word a newer API version may send. */
    status:
      | 'sent'
      | 'delivered'
      | 'read'
      | 'played'
      | 'failed'
      | 'held_for_quality_assessment'
      | (string & {});
    recipient: string;
    timestamp?: number;
    pricing?: { billable: boolean; category: string; type: string };
    errorCode?: number;
    errorTitle?: string;
  },
) {
  return cloudEnvelope(input, {
    statuses: [
      {
        id: input.id,
        status: input.status,
        timestamp: String(input.timestamp ?? Math.floor(Date.now() / 1000)),
        recipient_id: digits(input.recipient),
        ...(input.pricing ? { pricing: { ...input.pricing, pricing_model: 'PMP' } } : {}),
        ...(input.errorCode !== undefined
          ? {
              errors: [
                {
                  code: input.errorCode,
                  title: input.errorTitle ?? 'Error',
                  message: input.errorTitle ?? 'Error',
                },
              ],
            }
          : {}),
      },
    ],
  });
}

/**
 * Serialises a Cloud API payload as Meta does (non-ASCII and `/` escaped)
 * and signs it: post `body` with header `x-hub-signature-256: signature`.
 *
 * @example const { body, signature } = signCloudPayload(cloudInboundText({...}), appSecret);
 */
export function signCloudPayload(payload: unknown, appSecret: string): { body: string; signature: string } {
  const body = escapeMetaSlashes(escapeMetaUnicode(JSON.stringify(payload)));
  return { body, signature: signMetaBody(body, appSecret) };
}
