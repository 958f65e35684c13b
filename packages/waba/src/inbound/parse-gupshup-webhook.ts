import { parseOrThrow, tryNormalizePhone, ValidationError } from '@leadrelay/core';
import { z } from 'zod';
import type {
  InboundContent,
  InboundReferral,
  InboundStatusEvent,
  WabaInboundEvent,
} from './inbound-event.js';

const PROVIDER = 'gupshup';

const str = z.union([z.string(), z.number()]).transform(String);

const envelopeSchema = z.looseObject({
  app: z.string().optional(),
  timestamp: z.number().optional(),
  version: z.number().optional(),
  type: z.string().min(1),
  payload: z.looseObject({}),
});

const referralSchema = z.looseObject({
  source_url: z.string().nullish(),
  source_id: str.nullish(),
  source_type: z.string().nullish(),
  headline: z.string().nullish(),
  body: z.string().nullish(),
  ctwa_clid: z.string().nullish(),
});

const messageSchema = z.looseObject({
  id: z.string().min(1),
  source: str,
  type: z.string().min(1),
  payload: z.looseObject({}).default({}),
  sender: z.looseObject({ phone: str.optional(), name: z.string().nullish() }).optional(),
  context: z.looseObject({ id: z.string().nullish(), gsId: z.string().nullish() }).nullish(),
});

// A failed event may carry only `gsId` (the id the send returned), no `id`.
const messageEventSchema = z
  .looseObject({
    id: z.string().min(1).nullish(),
    gsId: z.string().min(1).nullish(),
    type: z.string().min(1),
    destination: str.optional(),
    payload: z
      .looseObject({ code: str.optional(), reason: z.string().nullish(), ts: z.number().optional() })
      .default({}),
  })
  .refine((e) => Boolean(e.id ?? e.gsId), { message: 'needs id or gsId', path: ['id'] });

const userEventSchema = z.looseObject({
  phone: str,
  type: z.string().min(1),
});

const STATUS: Record<string, NonNullable<InboundStatusEvent['status']>> = {
  enqueued: 'queued',
  sent: 'sent',
  delivered: 'delivered',
  read: 'read',
  failed: 'failed',
  // A billing or number mismatch: Gupshup did not deliver the message.
  mismatch: 'failed',
};

function phone(digits: string, field: string): string {
  const e164 = tryNormalizePhone(digits.startsWith('+') ? digits : `+${digits}`);
  if (!e164) {
    throw new ValidationError(`Gupshup callback ${field} is not a phone number`, {
      issues: [{ path: [field], message: 'must be a phone number with country code' }],
    });
  }
  return e164;
}

function referral(m: z.infer<typeof messageSchema>): InboundReferral | null {
  // Gupshup puts the ad's referral beside the message, or inside its payload or context.
  // An unreadable one is dropped: the message itself is still applied.
  const r = [m.referral, m.payload.referral, m.context?.referral]
    .map((candidate) => referralSchema.safeParse(candidate))
    .find((parsed) => parsed.success)?.data;
  if (!r) return null;
  return {
    // As in the Cloud API: `ad` is a click-to-WhatsApp ad, anything else a Page post or button.
    source: r.source_type === 'ad' ? 'ctwa' : 'page_cta',
    sourceId: r.source_id ?? null,
    sourceUrl: r.source_url ?? null,
    headline: r.headline ?? null,
    body: r.body ?? null,
    ctwaClid: r.ctwa_clid ?? null,
  };
}

function content(type: string, p: Record<string, unknown>): InboundContent {
  const s = (key: string) =>
    typeof p[key] === 'string' || typeof p[key] === 'number' ? String(p[key]) : null;
  switch (type) {
    case 'text':
      return { kind: 'text', text: s('text') };
    case 'image':
    case 'video':
    case 'audio':
    case 'file':
    case 'sticker': {
      const caption = s('caption');
      return {
        kind: type === 'file' ? 'document' : type,
        text: caption,
        media: { url: s('url'), id: null, mimeType: s('contentType'), caption, filename: s('name') },
      };
    }
    case 'location': {
      const latitude = Number(p.latitude);
      const longitude = Number(p.longitude);
      return {
        kind: 'location',
        text: s('name') ?? s('address'),
        ...(Number.isFinite(latitude) && Number.isFinite(longitude)
          ? { location: { latitude, longitude, name: s('name'), address: s('address') } }
          : {}),
      };
    }
    case 'button_reply':
    case 'list_reply':
    case 'quick_reply': {
      const title = s('title') ?? s('text') ?? s('reply') ?? '';
      return {
        kind: type === 'quick_reply' ? 'button_reply' : type,
        text: title,
        reply: {
          // Our sends put the button id in postbackText; Gupshup echoes it (or its own id).
          id: s('postbackText') ?? s('id'),
          title,
          ...(type === 'list_reply' ? { description: s('description') } : {}),
          payload: s('postbackText'),
        },
      };
    }
    case 'contact':
      return { kind: 'contacts', text: null };
    default:
      return { kind: type, text: s('text') };
  }
}

/**
 * Normalises a Gupshup v2 callback (`message`, `message-event`,
 * `user-event`) into events; billing and system events yield none. Throws a
 * `ValidationError` for a body that is not a Gupshup callback, or whose type
 * is unknown (`callback_type_unknown`).
 * `receivedAt` dates events whose callback carries no timestamp.
 *
 * @example
 * const [event] = parseGupshupWebhook(JSON.parse(body));
 * if (event?.type === 'message') console.log(event.from, event.content.text);
 */
export function parseGupshupWebhook(body: unknown, receivedAt: Date = new Date()): WabaInboundEvent[] {
  const envelope = parseOrThrow(envelopeSchema, body, 'Gupshup callback');
  const at = envelope.timestamp !== undefined ? new Date(envelope.timestamp) : receivedAt;
  const route = envelope.app ? { appName: envelope.app } : {};
  switch (envelope.type) {
    case 'message': {
      const m = parseOrThrow(messageSchema, envelope.payload, 'Gupshup message');
      const from = phone(m.sender?.phone ?? m.source, 'payload.source');
      return [
        {
          type: 'message',
          provider: PROVIDER,
          eventId: m.id,
          route,
          at,
          providerMessageId: m.id,
          from,
          profileName: m.sender?.name ?? null,
          content: content(m.type, m.payload),
          referral: referral(m),
          replyToProviderId: m.context?.gsId ?? m.context?.id ?? null,
        },
      ];
    }
    case 'message-event': {
      const e = parseOrThrow(messageEventSchema, envelope.payload, 'Gupshup message-event');
      // A status word this parser does not know is kept (status null), not dropped.
      const status = STATUS[e.type] ?? null;
      // The refinement guarantees one of the two.
      const primary = (e.gsId ?? e.id)!;
      return [
        {
          type: 'status',
          provider: PROVIDER,
          eventId: `${primary}:${e.type}`,
          route,
          at: e.payload.ts ? new Date(e.payload.ts * 1000) : at,
          providerMessageId: primary,
          altProviderMessageId: e.id && e.id !== primary ? e.id : null,
          status,
          providerStatus: e.type,
          recipient: e.destination ? phone(e.destination, 'payload.destination') : null,
          pricing: null,
          error:
            status === 'failed'
              ? { code: e.payload.code ?? 'unknown', reason: e.payload.reason ?? null }
              : null,
        },
      ];
    }
    case 'user-event': {
      const u = parseOrThrow(userEventSchema, envelope.payload, 'Gupshup user-event');
      const type = u.type === 'opted-out' ? 'opt_out' : u.type === 'opted-in' ? 'opt_in' : null;
      if (!type) return [];
      return [
        {
          type,
          provider: PROVIDER,
          eventId: `${u.phone}:${u.type}:${envelope.timestamp ?? ''}`,
          route,
          at,
          phone: phone(u.phone, 'payload.phone'),
          via: 'user_event',
        },
      ];
    }
    case 'billing-event':
    case 'system-event':
      return [];
    default:
      // Authenticated but of no known type: the handler keeps it raw as unparsed.
      throw new ValidationError(`Gupshup callback type "${envelope.type.slice(0, 64)}" is unknown`, {
        code: 'callback_type_unknown',
      });
  }
}
