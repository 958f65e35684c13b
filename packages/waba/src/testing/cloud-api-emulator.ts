import { randomBytes } from 'node:crypto';
import {
  type CloudMessageInput,
  cloudInboundReply,
  cloudInboundText,
  cloudStatus,
  signCloudPayload,
} from './payload-builders.js';
import { cloudApiErrorBody, providerFailureResponse } from './provider-failure-response.js';
import {
  type AutoStatuses,
  type CallbackDelivery,
  type CallbackRequest,
  type EmulatedSendBase,
  headersOf,
  type InboundReply,
  replyFields,
  type SendEmulator,
  type SendEmulatorOptions,
  startSendEmulator,
} from './send-emulator.js';

export type CloudApiStatus = 'sent' | 'delivered' | 'read' | 'failed' | 'held_for_quality_assessment';

/** One send the Cloud API emulator received, as Meta reads it. */
export interface CloudApiSend extends EmulatedSendBase {
  /** The bearer token of the `authorization` header. */
  accessToken: string | null;
  apiVersion: string;
  phoneNumberId: string;
  /** A template send: its name, language and the text (or payload) parameters in order. */
  template: { name: string; language: string; params: string[] } | null;
  /** The JSON body as sent. */
  body: Record<string, unknown>;
}

export interface CloudApiCallbackAuth {
  /** Signs the callback (`X-Hub-Signature-256`); default the emulator's `appSecret`. */
  appSecret?: string;
  /** `pricing` on `sent` and `delivered`; default free service for session messages, billable utility for templates. */
  pricing?: { billable: boolean; category: string; type: string };
}

export interface CloudApiEmulatorOptions extends SendEmulatorOptions {
  /** When set, only these bearer tokens are accepted; any other answers 401 with code 190. */
  accessTokens?: readonly string[];
  /** When set, only these numbers exist; another answers 400 with code 100. */
  phoneNumberIds?: readonly string[];
  /** The Meta app secret that signs every callback. */
  appSecret?: string;
  /** `display_phone_number` of callbacks. Default `919000000001`. */
  businessNumber?: string;
  /** The number inbound messages reach; default the last send's, else `106540352242922`. */
  phoneNumberId?: string;
  /** Post these statuses by themselves after each accepted send. */
  autoStatuses?: AutoStatuses<CloudApiCallbackAuth, CloudApiStatus>;
}

export interface CloudApiInboundOptions {
  webhookUrl: string;
  from: string;
  text?: string;
  reply?: InboundReply;
  name?: string;
  phoneNumberId?: string;
  /** A Click-to-WhatsApp ad or Page post the user came from. */
  referral?: CloudMessageInput['referral'];
  appSecret?: string;
}

export interface CloudApiEmulator extends SendEmulator<CloudApiSend, CloudApiStatus, CloudApiCallbackAuth> {
  /** Posts a message from a user to the webhook, signed, as Meta would. */
  inbound(options: CloudApiInboundOptions): Promise<CallbackDelivery>;
}

const wamid = () => `wamid.HBgM${randomBytes(24).toString('base64url')}`;

const SEND_PATH = /^\/(v\d+\.\d+)\/(\d+)\/messages$/;

const cloudError = (status: number, ...args: Parameters<typeof cloudApiErrorBody>) =>
  Response.json(cloudApiErrorBody(...args), { status });

function textOf(body: Record<string, unknown>): string | null {
  const part = body[String(body.type)] as Record<string, unknown> | undefined;
  const text =
    body.type === 'text'
      ? part?.body
      : body.type === 'interactive'
        ? (part?.body as { text?: unknown } | undefined)?.text
        : part?.caption;
  return typeof text === 'string' ? text : null;
}

function templateOf(body: Record<string, unknown>): CloudApiSend['template'] {
  if (body.type !== 'template') return null;
  const template = (body.template ?? {}) as {
    name?: unknown;
    language?: { code?: unknown };
    components?: { parameters?: { type?: unknown; text?: unknown; payload?: unknown }[] }[];
  };
  const params = (template.components ?? [])
    .flatMap((c) => c.parameters ?? [])
    .map((p) => (p.type === 'text' ? p.text : p.type === 'payload' ? p.payload : undefined))
    .filter((v): v is string => typeof v === 'string');
  return {
    name: typeof template.name === 'string' ? template.name : '',
    language: typeof template.language?.code === 'string' ? template.language.code : '',
    params,
  };
}

function signed(payload: unknown, appSecret: string | undefined, url: string): CallbackRequest {
  if (appSecret === undefined) throw new TypeError('Cloud API callbacks are signed: pass appSecret');
  const { body, signature } = signCloudPayload(payload, appSecret);
  return { url, body, headers: { 'x-hub-signature-256': signature } };
}

/**
 * Meta's WhatsApp Cloud API send endpoint as a real HTTP server on
 * 127.0.0.1, for `createCloudApiProvider({ baseUrl: emulator.url })`
 * unchanged: it records each `POST /{version}/{phone-number-id}/messages`
 * (`sent`), answers a `wamid` or a fault as a Graph error with Meta's code
 * (130429 with HTTP 429, …), and posts signed status and inbound webhooks.
 *
 * @example
 * const cloud = await startCloudApiEmulator({ appSecret, accessTokens: [token], logger });
 * const provider = createCloudApiProvider({ baseUrl: cloud.url });
 * cloud.failNext({ failure: 'rate_limited' }); // 429 with code 130429
 * await cloud.inbound({ webhookUrl: `${app}/api/waba/cloud/${tenantId}`, from: '+919845012345', text: 'Hi' });
 */
export async function startCloudApiEmulator(
  options: CloudApiEmulatorOptions = {},
): Promise<CloudApiEmulator> {
  const businessNumber = options.businessNumber ?? '919000000001';
  const { emulator, post } = await startSendEmulator<CloudApiSend, CloudApiStatus, CloudApiCallbackAuth>(
    {
      emulation: 'cloud_api',
      async read(request) {
        const path = new URL(request.url).pathname;
        const route = request.method === 'POST' ? SEND_PATH.exec(path) : null;
        if (!route) return { refusal: cloudError(400, 2500, `Unknown path components: ${path}`) };
        let body: Record<string, unknown> = {};
        let parsed = true;
        try {
          const value: unknown = JSON.parse(await request.text());
          if (value && typeof value === 'object' && !Array.isArray(value))
            body = value as Record<string, unknown>;
          else parsed = false;
        } catch {
          parsed = false;
        }
        const bearer = /^Bearer (.+)$/i.exec(request.headers.get('authorization') ?? '');
        const send: CloudApiSend = {
          path,
          receivedAt: new Date(),
          headers: headersOf(request),
          to: typeof body.to === 'string' ? body.to : '',
          type: typeof body.type === 'string' ? body.type : '',
          text: textOf(body),
          status: null,
          messageId: null,
          accessToken: bearer?.[1] ?? null,
          apiVersion: route[1]!,
          phoneNumberId: route[2]!,
          template: templateOf(body),
          body,
        };
        if (
          send.accessToken === null ||
          (options.accessTokens && !options.accessTokens.includes(send.accessToken))
        ) {
          return { send, refusal: providerFailureResponse('cloud_api', 'unauthorized', 0) };
        }
        if (options.phoneNumberIds && !options.phoneNumberIds.includes(send.phoneNumberId)) {
          return {
            send,
            refusal: cloudError(
              400,
              100,
              `Unsupported post request. Object with ID '${send.phoneNumberId}' does not exist, cannot be loaded due to missing permissions, or does not support this operation`,
              { subcode: 33, type: 'GraphMethodException' },
            ),
          };
        }
        for (const [name, ok] of [
          ['messaging_product', parsed && body.messaging_product === 'whatsapp'],
          ['to', send.to !== ''],
          ['type', send.type !== ''],
        ] as const) {
          if (!ok)
            return { send, refusal: cloudError(400, 100, `(#100) The parameter ${name} is required.`) };
        }
        return { send };
      },
      accept(send) {
        send.messageId = wamid();
        return Response.json({
          messaging_product: 'whatsapp',
          contacts: [{ input: send.to, wa_id: send.to }],
          messages: [{ id: send.messageId }],
        });
      },
      statusCallback(send, status, delivery) {
        const priced = status === 'sent' || status === 'delivered';
        const pricing =
          delivery.pricing ??
          (send.type === 'template'
            ? { billable: true, category: 'utility', type: 'regular' }
            : { billable: false, category: 'service', type: 'free_customer_service' });
        const payload = cloudStatus({
          phoneNumberId: send.phoneNumberId,
          businessNumber,
          id: send.messageId!,
          status,
          recipient: send.to,
          ...(priced ? { pricing } : {}),
          ...(status === 'failed'
            ? {
                errorCode: delivery.failure?.code ?? 131026,
                errorTitle: delivery.failure?.reason ?? 'Message undeliverable',
              }
            : {}),
        });
        return signed(payload, delivery.appSecret ?? options.appSecret, delivery.webhookUrl);
      },
    },
    options,
  );

  return {
    ...emulator,
    async inbound(inbound) {
      const id = wamid();
      const base: CloudMessageInput = {
        id,
        phoneNumberId:
          inbound.phoneNumberId ??
          options.phoneNumberId ??
          emulator.sent.at(-1)?.phoneNumberId ??
          '106540352242922',
        businessNumber,
        from: inbound.from,
        ...(inbound.name !== undefined ? { name: inbound.name } : {}),
        ...(inbound.referral ? { referral: inbound.referral } : {}),
      };
      const payload = inbound.reply
        ? cloudInboundReply({
            ...base,
            ...replyFields(inbound.reply),
          })
        : cloudInboundText({ ...base, text: inbound.text ?? '' });
      return post('inbound', id, signed(payload, inbound.appSecret ?? options.appSecret, inbound.webhookUrl));
    },
  };
}
