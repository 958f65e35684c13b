import { randomBytes, randomUUID } from 'node:crypto';
import { parseGupshupSendForm } from './gupshup-send-form.js';
import { gupshupInboundReply, gupshupInboundText, gupshupMessageEvent } from './payload-builders.js';
import { providerFailureResponse } from './provider-failure-response.js';
import {
  type AutoStatuses,
  type CallbackDelivery,
  type EmulatedSendBase,
  headersOf,
  type InboundReply,
  replyFields,
  type SendEmulator,
  type SendEmulatorOptions,
  startSendEmulator,
} from './send-emulator.js';

export type GupshupStatus = 'enqueued' | 'sent' | 'delivered' | 'read' | 'failed';

/** One send the Gupshup emulator received, as Gupshup reads it. */
export interface GupshupSend extends EmulatedSendBase {
  /** The `apikey` header. */
  apiKey: string | null;
  /** The business number (`source`). */
  source: string;
  /** `src.name`. */
  appName: string | null;
  /** A template send's `template` field. */
  template: { id: string; params: string[] } | null;
  /** The WhatsApp id the `sent`, `delivered` and `read` events carry for an accepted send. */
  wamid: string | null;
  /** Every form field, `message` and `template` parsed. */
  fields: Record<string, unknown>;
}

/** Where Gupshup's callbacks carry the secret: Gupshup does not sign, the URL's `token` does. */
export interface GupshupCallbackAuth {
  /** Set as the callback URL's `token` parameter; default the emulator's `callbackToken`. */
  token?: string;
}

export interface GupshupEmulatorOptions extends SendEmulatorOptions {
  /** When set, only these `apikey`s are accepted; any other answers 401. */
  apiKeys?: readonly string[];
  /** The callback secret set as `?token=` on every callback URL. */
  callbackToken?: string;
  /** Post these statuses by themselves after each accepted send. */
  autoStatuses?: AutoStatuses<GupshupCallbackAuth, GupshupStatus>;
  /** The app inbound messages name when no send named one. Default `AcmeBot`. */
  appName?: string;
}

export interface GupshupInboundOptions extends GupshupCallbackAuth {
  webhookUrl: string;
  /** The user's number, E.164 or digits. */
  from: string;
  text?: string;
  /** A pressed reply button or list row instead of a text. */
  reply?: InboundReply;
  name?: string;
  app?: string;
}

export interface GupshupEmulator extends SendEmulator<GupshupSend, GupshupStatus, GupshupCallbackAuth> {
  /** Posts a message from a user to the callback URL, as Gupshup would (format v2). */
  inbound(options: GupshupInboundOptions): Promise<CallbackDelivery>;
}

const SEND_PATHS = new Set(['/wa/api/v1/msg', '/wa/api/v1/template/msg']);

function withToken(url: string, token: string | undefined): string {
  if (token === undefined) return url;
  const parsed = new URL(url);
  parsed.searchParams.set('token', token);
  return parsed.toString();
}

const gupshupError = (status: number, message: string) =>
  Response.json({ status: 'error', message }, { status });

function textOf(message: unknown): string | null {
  if (!message || typeof message !== 'object') return null;
  const m = message as Record<string, unknown>;
  const content = m.content as Record<string, unknown> | undefined;
  const text =
    m.type === 'text'
      ? m.text
      : m.type === 'quick_reply'
        ? content?.text
        : m.type === 'list'
          ? m.body
          : m.caption;
  return typeof text === 'string' ? text : null;
}

function templateOf(value: unknown): GupshupSend['template'] {
  if (!value || typeof value !== 'object') return null;
  const { id, params } = value as { id?: unknown; params?: unknown };
  return {
    id: typeof id === 'string' ? id : '',
    params: Array.isArray(params) ? params.map(String) : [],
  };
}

/**
 * Gupshup's WhatsApp send API as a real HTTP server on 127.0.0.1, for
 * `createGupshupProvider({ baseUrl: emulator.url })` unchanged: it records
 * each send (`sent`), answers 202 `{"status":"submitted","messageId":…}` or
 * a fault in Gupshup's format, and posts message-events and inbound messages
 * back to a callback URL with the secret as `?token=`.
 *
 * @example
 * const gupshup = await startGupshupEmulator({ apiKeys: ['key-1'], callbackToken: secret, logger });
 * const provider = createGupshupProvider({ baseUrl: gupshup.url });
 * gupshup.failNext({ failure: 'rate_limited' });
 * await gupshup.deliverStatuses({ webhookUrl: `${app}/api/waba/gupshup/${tenantId}` });
 */
export async function startGupshupEmulator(options: GupshupEmulatorOptions = {}): Promise<GupshupEmulator> {
  const defaultApp = options.appName ?? 'AcmeBot';
  const { emulator, post } = await startSendEmulator<GupshupSend, GupshupStatus, GupshupCallbackAuth>(
    {
      emulation: 'gupshup',
      async read(request) {
        const path = new URL(request.url).pathname;
        if (request.method !== 'POST' || !SEND_PATHS.has(path)) {
          return { refusal: gupshupError(404, 'Not Found') };
        }
        const fields = parseGupshupSendForm(await request.text());
        const field = (name: string) => (typeof fields[name] === 'string' ? (fields[name] as string) : null);
        const isTemplate = path === '/wa/api/v1/template/msg';
        const message = fields.message as { type?: unknown } | undefined;
        const send: GupshupSend = {
          path,
          receivedAt: new Date(),
          headers: headersOf(request),
          to: field('destination') ?? '',
          type: isTemplate ? 'template' : typeof message?.type === 'string' ? message.type : '',
          text: isTemplate ? null : textOf(message),
          status: null,
          messageId: null,
          apiKey: request.headers.get('apikey'),
          source: field('source') ?? '',
          appName: field('src.name'),
          template: isTemplate ? templateOf(fields.template) : null,
          wamid: null,
          fields,
        };
        if (send.apiKey === null || (options.apiKeys && !options.apiKeys.includes(send.apiKey))) {
          return { send, refusal: providerFailureResponse('gupshup', 'unauthorized', 0) };
        }
        if (!/^\d{6,15}$/.test(send.to)) return { send, refusal: gupshupError(400, 'Invalid Destination') };
        if (isTemplate ? send.template === null : message === undefined) {
          return { send, refusal: gupshupError(400, isTemplate ? 'Invalid Template' : 'Invalid Message') };
        }
        return { send };
      },
      accept(send) {
        send.messageId = randomUUID();
        send.wamid = `gBEGkZ${randomBytes(16).toString('base64url')}`;
        return Response.json({ status: 'submitted', messageId: send.messageId }, { status: 202 });
      },
      statusCallback(send, status, delivery) {
        const event = gupshupMessageEvent({
          gsId: send.messageId!,
          status,
          destination: send.to,
          app: send.appName ?? defaultApp,
          ...(send.wamid ? { wamid: send.wamid } : {}),
          ...(status === 'failed' && delivery.failure
            ? {
                code: delivery.failure.code,
                ...(delivery.failure.reason ? { reason: delivery.failure.reason } : {}),
              }
            : {}),
        });
        return {
          url: withToken(delivery.webhookUrl, delivery.token ?? options.callbackToken),
          body: JSON.stringify(event),
        };
      },
    },
    options,
  );

  return {
    ...emulator,
    async inbound(inbound) {
      const base = {
        from: inbound.from,
        app: inbound.app ?? emulator.sent.findLast((s) => s.appName)?.appName ?? defaultApp,
        ...(inbound.name !== undefined ? { name: inbound.name } : {}),
      };
      const payload = inbound.reply
        ? gupshupInboundReply({
            ...base,
            ...replyFields(inbound.reply),
          })
        : gupshupInboundText({ ...base, text: inbound.text ?? '' });
      return post('inbound', payload.payload.id, {
        url: withToken(inbound.webhookUrl, inbound.token ?? options.callbackToken),
        body: JSON.stringify(payload),
      });
    },
  };
}
