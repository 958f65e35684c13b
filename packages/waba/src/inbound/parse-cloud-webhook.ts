import { parseOrThrow, tryNormalizePhone } from '@leadrelay/core';
import { z } from 'zod';
import type {
  InboundContent,
  InboundReferral,
  InboundStatusEvent,
  WabaInboundEvent,
} from './inbound-event.js';

const PROVIDER = 'cloud_api';

const idString = z.union([z.string(), z.number()]).transform(String);
const media = z.looseObject({
  id: z.string().optional(),
  link: z.string().optional(),
  url: z.string().optional(),
  mime_type: z.string().optional(),
  caption: z.string().optional(),
  filename: z.string().optional(),
});

const messageSchema = z.looseObject({
  from: idString,
  id: z.string().min(1),
  timestamp: idString,
  type: z.string().min(1),
  text: z.looseObject({ body: z.string() }).optional(),
  image: media.optional(),
  video: media.optional(),
  audio: media.optional(),
  document: media.optional(),
  sticker: media.optional(),
  location: z
    .looseObject({
      latitude: z.coerce.number(),
      longitude: z.coerce.number(),
      name: z.string().optional(),
      address: z.string().optional(),
    })
    .optional(),
  interactive: z
    .looseObject({
      type: z.string(),
      button_reply: z.looseObject({ id: z.string(), title: z.string() }).optional(),
      list_reply: z
        .looseObject({ id: z.string(), title: z.string(), description: z.string().optional() })
        .optional(),
    })
    .optional(),
  button: z.looseObject({ payload: z.string().optional(), text: z.string() }).optional(),
  reaction: z.looseObject({ message_id: z.string().optional(), emoji: z.string().optional() }).optional(),
  context: z.looseObject({ id: z.string().optional(), from: z.string().optional() }).optional(),
  referral: z
    .looseObject({
      source_url: z.string().optional(),
      source_id: idString.optional(),
      source_type: z.string().optional(),
      headline: z.string().optional(),
      body: z.string().optional(),
      ctwa_clid: z.string().optional(),
    })
    .optional(),
});

const statusSchema = z.looseObject({
  id: z.string().min(1),
  status: z.string().min(1),
  timestamp: idString,
  recipient_id: idString.optional(),
  pricing: z
    .looseObject({
      billable: z.boolean().optional(),
      pricing_model: z.string().optional(),
      category: z.string().optional(),
      type: z.string().optional(),
    })
    .optional(),
  errors: z
    .array(
      z.looseObject({
        code: idString,
        title: z.string().optional(),
        message: z.string().optional(),
        error_data: z.looseObject({ details: z.string().optional() }).optional(),
      }),
    )
    .optional(),
});

const valueSchema = z.looseObject({
  metadata: z.looseObject({ phone_number_id: idString, display_phone_number: idString.optional() }),
  contacts: z
    .array(
      z.looseObject({
        wa_id: idString.optional(),
        profile: z.looseObject({ name: z.string().optional() }).optional(),
      }),
    )
    .optional(),
  messages: z.array(messageSchema).optional(),
  statuses: z.array(statusSchema).optional(),
});

export const cloudWebhookSchema = z.object({
  object: z.literal('whatsapp_business_account'),
  entry: z.array(
    z.looseObject({
      id: idString,
      changes: z.array(z.looseObject({ field: z.string(), value: z.unknown() })),
    }),
  ),
});

const STATUS: Record<string, NonNullable<InboundStatusEvent['status']>> = {
  sent: 'sent',
  delivered: 'delivered',
  read: 'read',
  // A voice message was played: the message was read, and nothing ranks above it.
  played: 'read',
  failed: 'failed',
  held_for_quality_assessment: 'held',
};

/** The stored status a Cloud API status moves towards; `null` (kept, moves nothing) for one not known. */
const statusOf = (raw: string) => (Object.hasOwn(STATUS, raw) ? STATUS[raw]! : null);

type CloudMessage = z.infer<typeof messageSchema>;

function content(m: CloudMessage): InboundContent {
  const mediaOf = (part: z.infer<typeof media> | undefined) => ({
    url: part?.link ?? part?.url ?? null,
    id: part?.id ?? null,
    mimeType: part?.mime_type ?? null,
    caption: part?.caption ?? null,
    filename: part?.filename ?? null,
  });
  switch (m.type) {
    case 'text':
      return { kind: 'text', text: m.text?.body ?? null };
    case 'image':
    case 'video':
    case 'audio':
    case 'document':
    case 'sticker': {
      const part = m[m.type];
      return { kind: m.type, text: part?.caption ?? null, media: mediaOf(part) };
    }
    case 'location':
      return {
        kind: 'location',
        text: m.location?.name ?? m.location?.address ?? null,
        ...(m.location
          ? {
              location: {
                latitude: m.location.latitude,
                longitude: m.location.longitude,
                name: m.location.name ?? null,
                address: m.location.address ?? null,
              },
            }
          : {}),
      };
    case 'interactive': {
      const reply = m.interactive?.button_reply ?? m.interactive?.list_reply;
      if (!reply) return { kind: 'interactive', text: null };
      const isList = m.interactive?.type === 'list_reply';
      return {
        kind: isList ? 'list_reply' : 'button_reply',
        text: reply.title,
        reply: {
          id: reply.id,
          title: reply.title,
          ...(isList ? { description: m.interactive?.list_reply?.description ?? null } : {}),
          payload: null,
        },
      };
    }
    case 'button':
      // A quick-reply button of a template: its payload is what the template send set.
      return {
        kind: 'button_reply',
        text: m.button?.text ?? null,
        reply: {
          id: m.button?.payload ?? null,
          title: m.button?.text ?? '',
          payload: m.button?.payload ?? null,
        },
      };
    case 'reaction':
      return { kind: 'reaction', text: m.reaction?.emoji ?? null };
    default:
      return { kind: m.type, text: null };
  }
}

function referral(m: CloudMessage): InboundReferral | null {
  if (!m.referral) return null;
  return {
    // Meta marks ads `ad`; anything else arrived from a Page post or button.
    source: m.referral.source_type === 'ad' ? 'ctwa' : 'page_cta',
    sourceId: m.referral.source_id ?? null,
    sourceUrl: m.referral.source_url ?? null,
    headline: m.referral.headline ?? null,
    body: m.referral.body ?? null,
    ctwaClid: m.referral.ctwa_clid ?? null,
  };
}

const seconds = (value: string) => new Date(Number(value) * 1000);
const e164 = (waId: string) => tryNormalizePhone(waId.startsWith('+') ? waId : `+${waId}`);
// The shape core stores as a phone: E.164 digits, no leading zero.
const WA_ID = /^\+?([1-9]\d{6,14})$/;

/**
 * A WhatsApp id as a lead's phone. WhatsApp has verified the number, so one
 * libphonenumber does not know (a range newer than its metadata, a test
 * number) is kept as `+<digits>`, flagged, rather than lost.
 */
function senderPhone(waId: string): { phone: string; unvalidated: boolean } | null {
  const valid = e164(waId);
  if (valid) return { phone: valid, unvalidated: false };
  const digits = WA_ID.exec(waId.trim())?.[1];
  return digits ? { phone: `+${digits}`, unvalidated: true } : null;
}

/**
 * Normalises a (verified) Cloud API webhook into events, reading every entry
 * and every change (Meta batches them), routing each by its
 * `metadata.phone_number_id`. Fields other than `messages` are ignored.
 * Throws a `ValidationError` for a body that is not a WhatsApp webhook.
 *
 * @example
 * for (const event of parseCloudWebhook(JSON.parse(rawBody))) route(event.route.phoneNumberId, event);
 */
export function parseCloudWebhook(body: unknown): WabaInboundEvent[] {
  const webhook = parseOrThrow(cloudWebhookSchema, body, 'Cloud API webhook');
  const events: WabaInboundEvent[] = [];
  webhook.entry.forEach((entry, ei) => {
    entry.changes.forEach((change, ci) => {
      if (change.field !== 'messages') return;
      const value = parseOrThrow(
        valueSchema,
        change.value,
        `Cloud API webhook entry.${ei}.changes.${ci}.value`,
      );
      const route = {
        phoneNumberId: value.metadata.phone_number_id,
        ...(value.metadata.display_phone_number
          ? { businessNumber: value.metadata.display_phone_number }
          : {}),
      };
      for (const m of value.messages ?? []) {
        const sender = senderPhone(m.from);
        // A sender id that is not digits cannot become a lead: skip it rather than fail the batch.
        if (!sender) continue;
        const contact = value.contacts?.find((c) => c.wa_id === m.from) ?? value.contacts?.[0];
        events.push({
          type: 'message',
          provider: PROVIDER,
          eventId: m.id,
          route,
          at: seconds(m.timestamp),
          providerMessageId: m.id,
          from: sender.phone,
          ...(sender.unvalidated ? { phoneUnvalidated: true as const } : {}),
          profileName: contact?.profile?.name ?? null,
          content: content(m),
          referral: referral(m),
          replyToProviderId: m.context?.id ?? null,
        });
      }
      for (const s of value.statuses ?? []) {
        const recipient = s.recipient_id ? senderPhone(s.recipient_id) : null;
        const firstError = s.errors?.[0];
        events.push({
          type: 'status',
          provider: PROVIDER,
          eventId: `${s.id}:${s.status}`,
          route,
          at: seconds(s.timestamp),
          providerMessageId: s.id,
          altProviderMessageId: null,
          status: statusOf(s.status),
          providerStatus: s.status,
          recipient: recipient?.phone ?? null,
          ...(recipient?.unvalidated ? { recipientUnvalidated: true as const } : {}),
          pricing: s.pricing
            ? {
                billable: s.pricing.billable ?? null,
                category: s.pricing.category ?? null,
                pricingModel: s.pricing.pricing_model ?? null,
                type: s.pricing.type ?? null,
              }
            : null,
          error: firstError
            ? {
                code: firstError.code,
                reason: firstError.error_data?.details ?? firstError.message ?? firstError.title ?? null,
              }
            : null,
        });
      }
    });
  });
  return events;
}
