import { parseOrThrow } from '@leadrelay/core';
import { z } from 'zod';

/**
 * The messages LeadRelay sends, independent of the provider that carries
 * them. Each schema enforces WhatsApp's limits (PROTOCOLS.md, "Interactive
 * messages"), so a message that the network would reject never leaves the
 * process. Lengths count Unicode code points, as WhatsApp does, not UTF-16
 * units: an emoji is one character.
 */

/**
 * Characters as people count them (code points).
 *
 * @example characterCount('👍 ok') // 4
 */
export function characterCount(value: string): number {
  let count = 0;
  for (const _ of value) count++;
  return count;
}

const chars = (min: number, max: number) =>
  z
    .string()
    .refine((s) => characterCount(s) >= min, { message: `must have at least ${min} character(s)` })
    .refine((s) => characterCount(s) <= max, { message: `must have at most ${max} characters` });

const nonBlank = (max: number) =>
  chars(1, max).refine((s) => s.trim().length > 0, { message: 'must not be blank' });

const httpUrl = z
  .string()
  .max(2000)
  .refine(
    (s) => {
      try {
        const url = new URL(s);
        return url.protocol === 'https:' || url.protocol === 'http:';
      } catch {
        return false;
      }
    },
    { message: 'must be an http(s) URL' },
  );

/** WhatsApp's limits for the messages above, in characters unless named otherwise. */
export const WHATSAPP_LIMITS = {
  textBody: 4096,
  mediaCaption: 1024,
  documentFilename: 240,
  interactiveBody: 1024,
  interactiveHeader: 60,
  interactiveFooter: 60,
  replyButtonsMin: 1,
  replyButtonsMax: 3,
  replyButtonTitle: 20,
  replyButtonId: 256,
  listButtonLabel: 20,
  listSectionsMax: 10,
  listRowsMax: 10,
  listSectionTitle: 24,
  listRowTitle: 24,
  listRowDescription: 72,
  listRowId: 200,
  templateName: 512,
} as const;

export const textMessageSchema = z.object({
  type: z.literal('text'),
  text: nonBlank(WHATSAPP_LIMITS.textBody),
  /** Let WhatsApp render a preview of the first URL in the text. */
  previewUrl: z.boolean().optional(),
});

export const imageMessageSchema = z.object({
  type: z.literal('image'),
  url: httpUrl,
  caption: chars(1, WHATSAPP_LIMITS.mediaCaption).optional(),
});

export const videoMessageSchema = z.object({
  type: z.literal('video'),
  url: httpUrl,
  caption: chars(1, WHATSAPP_LIMITS.mediaCaption).optional(),
});

export const audioMessageSchema = z.object({
  type: z.literal('audio'),
  url: httpUrl,
});

export const documentMessageSchema = z.object({
  type: z.literal('document'),
  url: httpUrl,
  caption: chars(1, WHATSAPP_LIMITS.mediaCaption).optional(),
  /** The name the lead sees, e.g. `brochure.pdf`. */
  filename: chars(1, WHATSAPP_LIMITS.documentFilename).optional(),
});

export const replyButtonSchema = z.object({
  id: chars(1, WHATSAPP_LIMITS.replyButtonId),
  title: nonBlank(WHATSAPP_LIMITS.replyButtonTitle),
});

export const buttonsMessageSchema = z
  .object({
    type: z.literal('buttons'),
    body: nonBlank(WHATSAPP_LIMITS.interactiveBody),
    buttons: z
      .array(replyButtonSchema)
      .min(WHATSAPP_LIMITS.replyButtonsMin)
      .max(WHATSAPP_LIMITS.replyButtonsMax),
    header: nonBlank(WHATSAPP_LIMITS.interactiveHeader).optional(),
    footer: nonBlank(WHATSAPP_LIMITS.interactiveFooter).optional(),
  })
  .superRefine((message, ctx) => {
    for (const index of duplicates(message.buttons.map((b) => b.title))) {
      ctx.addIssue({
        code: 'custom',
        path: ['buttons', index, 'title'],
        message: 'button titles must be unique',
      });
    }
    for (const index of duplicates(message.buttons.map((b) => b.id))) {
      ctx.addIssue({ code: 'custom', path: ['buttons', index, 'id'], message: 'button ids must be unique' });
    }
  });

export const listRowSchema = z.object({
  id: chars(1, WHATSAPP_LIMITS.listRowId),
  title: nonBlank(WHATSAPP_LIMITS.listRowTitle),
  description: chars(1, WHATSAPP_LIMITS.listRowDescription).optional(),
});

export const listSectionSchema = z.object({
  title: nonBlank(WHATSAPP_LIMITS.listSectionTitle).optional(),
  rows: z.array(listRowSchema).min(1),
});

export const listMessageSchema = z
  .object({
    type: z.literal('list'),
    body: nonBlank(WHATSAPP_LIMITS.interactiveBody),
    /** The label of the button that opens the list. */
    button: nonBlank(WHATSAPP_LIMITS.listButtonLabel),
    sections: z.array(listSectionSchema).min(1).max(WHATSAPP_LIMITS.listSectionsMax),
    header: nonBlank(WHATSAPP_LIMITS.interactiveHeader).optional(),
    footer: nonBlank(WHATSAPP_LIMITS.interactiveFooter).optional(),
  })
  .superRefine((message, ctx) => {
    const rows = message.sections.flatMap((s, si) => s.rows.map((r, ri) => ({ r, si, ri })));
    if (rows.length > WHATSAPP_LIMITS.listRowsMax) {
      ctx.addIssue({
        code: 'custom',
        path: ['sections'],
        message: `a list holds at most ${WHATSAPP_LIMITS.listRowsMax} rows in all sections together, got ${rows.length}`,
      });
    }
    duplicates(rows.map(({ r }) => r.id)).forEach((index) => {
      const { si, ri } = rows[index]!;
      ctx.addIssue({
        code: 'custom',
        path: ['sections', si, 'rows', ri, 'id'],
        message: 'row ids must be unique',
      });
    });
    if (message.sections.length > 1) {
      message.sections.forEach((section, si) => {
        if (section.title === undefined) {
          ctx.addIssue({
            code: 'custom',
            path: ['sections', si, 'title'],
            message: 'every section needs a title when a list has more than one section',
          });
        }
      });
    }
  });

export const locationMessageSchema = z.object({
  type: z.literal('location'),
  latitude: z.number().min(-90).max(90),
  longitude: z.number().min(-180).max(180),
  name: chars(1, 1000).optional(),
  address: chars(1, 1000).optional(),
});

/** A media header of a template: the file the template's IMAGE, VIDEO or DOCUMENT header shows. */
export const templateMediaSchema = z.object({
  type: z.enum(['image', 'video', 'document']),
  url: httpUrl,
  filename: chars(1, WHATSAPP_LIMITS.documentFilename).optional(),
});
export type TemplateMedia = z.infer<typeof templateMediaSchema>;

/** A location header of a template. */
export const templateLocationSchema = locationMessageSchema;
export type TemplateLocation = z.infer<typeof templateLocationSchema>;

/** Text parameters: in placeholder order (`["Priya", "Baner"]`) or by name (`{ first_name: "Priya" }`). */
export const templateTextParamsSchema = z.union([z.array(z.string()), z.record(z.string(), z.string())]);
export type TemplateTextParams = z.infer<typeof templateTextParamsSchema>;

/** A parameter for one template button: the payload of a quick reply, or the URL suffix of a URL button. */
export const templateButtonParamSchema = z.object({
  /** The button's position in the template, from 0. */
  index: z.number().int().min(0).max(9),
  type: z.enum(['quick_reply', 'url']),
  value: z.string().min(1).max(2000),
});
export type TemplateButtonParam = z.infer<typeof templateButtonParamSchema>;

export const templateParametersSchema = z.object({
  header: z.union([templateTextParamsSchema, templateMediaSchema, templateLocationSchema]).optional(),
  body: templateTextParamsSchema.optional(),
  buttons: z.array(templateButtonParamSchema).max(10).optional(),
});
export type TemplateParameters = z.infer<typeof templateParametersSchema>;

export const templateMessageSchema = z.object({
  type: z.literal('template'),
  /** The template's name as approved by WhatsApp, e.g. `welcome_lead`. */
  name: z
    .string()
    .min(1)
    .max(WHATSAPP_LIMITS.templateName)
    .regex(/^[a-z0-9_]+$/, 'must be lower-case letters, digits and underscores'),
  /** Language code such as `en` or `en_US`; defaults to the only (or first) registered language. */
  language: z.string().min(2).max(20).optional(),
  parameters: templateParametersSchema.optional(),
});

export const outboundMessageSchema = z.discriminatedUnion('type', [
  textMessageSchema,
  templateMessageSchema,
  imageMessageSchema,
  videoMessageSchema,
  audioMessageSchema,
  documentMessageSchema,
  buttonsMessageSchema,
  listMessageSchema,
  locationMessageSchema,
]);

export type TextMessage = z.infer<typeof textMessageSchema>;
export type TemplateMessage = z.infer<typeof templateMessageSchema>;
export type ImageMessage = z.infer<typeof imageMessageSchema>;
export type VideoMessage = z.infer<typeof videoMessageSchema>;
export type AudioMessage = z.infer<typeof audioMessageSchema>;
export type DocumentMessage = z.infer<typeof documentMessageSchema>;
export type MediaMessage = ImageMessage | VideoMessage | AudioMessage | DocumentMessage;
export type ReplyButton = z.infer<typeof replyButtonSchema>;
export type ButtonsMessage = z.infer<typeof buttonsMessageSchema>;
export type ListRow = z.infer<typeof listRowSchema>;
export type ListSection = z.infer<typeof listSectionSchema>;
export type ListMessage = z.infer<typeof listMessageSchema>;
export type LocationMessage = z.infer<typeof locationMessageSchema>;
/** Any message `send` accepts. */
export type OutboundMessage = z.infer<typeof outboundMessageSchema>;
/** `text`, `template`, `image`, `video`, `audio`, `document`, `buttons`, `list` or `location`. */
export type OutboundMessageType = OutboundMessage['type'];

/** Every message type except `template`: these need an open customer service window. */
export const FREE_FORM_MESSAGE_TYPES = [
  'text',
  'image',
  'video',
  'audio',
  'document',
  'buttons',
  'list',
  'location',
] as const satisfies readonly OutboundMessageType[];

function duplicates(values: string[]): number[] {
  const seen = new Set<string>();
  const out: number[] = [];
  values.forEach((value, index) => {
    if (seen.has(value)) out.push(index);
    seen.add(value);
  });
  return out;
}

/**
 * Parses a message against WhatsApp's limits; throws a `ValidationError`
 * whose issues name each offending field (e.g. `buttons.3` or
 * `sections.0.rows.2.title`).
 *
 * @example
 * validateOutboundMessage({ type: 'buttons', body: 'Visit?', buttons: [{ id: 'yes', title: 'Yes' }] });
 */
export function validateOutboundMessage(message: unknown): OutboundMessage {
  return parseOrThrow(outboundMessageSchema, message, 'message');
}
