import {
  ProviderError,
  phoneNumberIdOf,
  toWhatsAppId,
  ValidationError,
  type WabaConfiguration,
} from '@leadrelay/core';
import { parseCloudWebhook } from '../inbound/parse-cloud-webhook.js';
import type { TemplateValue } from '../templates/template-parameters.js';
import { cloudApiError } from './cloud-api-errors.js';
import type { ProviderMessage, ProviderTemplateMessage, WabaProvider } from './provider.js';
import { type ProviderHttpOptions, providerHttpClient } from './provider-http-options.js';

export interface CloudApiProviderOptions extends ProviderHttpOptions {
  /** Default `https://graph.facebook.com`. */
  baseUrl?: string;
  /** Graph API version; a configuration's `providerConfig.apiVersion` overrides it. Default `v23.0`. */
  apiVersion?: string;
}

/** The message id of an accepted send, `{ messages: [{ id }] }` (checked by hand: it is on every send's path). */
function acceptedMessageId(data: unknown): string | undefined {
  const messages = (data as { messages?: unknown } | null | undefined)?.messages;
  const id = Array.isArray(messages) ? (messages[0] as { id?: unknown } | null | undefined)?.id : undefined;
  return typeof id === 'string' && id !== '' ? id : undefined;
}

const optional = <K extends string, V>(key: K, value: V | undefined) =>
  (value === undefined ? {} : { [key]: value }) as Partial<Record<K, V>>;

function textParameter(value: TemplateValue, named: boolean) {
  return { type: 'text', ...(named ? { parameter_name: value.name } : {}), text: value.value };
}

function templateComponents(message: ProviderTemplateMessage): Record<string, unknown>[] {
  const { format, header, body, buttons } = message.parameters;
  const named = format === 'named';
  const components: Record<string, unknown>[] = [];
  if (header?.kind === 'text' && header.values.length > 0) {
    components.push({ type: 'header', parameters: header.values.map((v) => textParameter(v, named)) });
  } else if (header?.kind === 'media') {
    const { type, url, filename } = header.media;
    components.push({
      type: 'header',
      parameters: [
        { type, [type]: { link: url, ...(type === 'document' ? optional('filename', filename) : {}) } },
      ],
    });
  } else if (header?.kind === 'location') {
    const { latitude, longitude, name, address } = header.location;
    components.push({
      type: 'header',
      parameters: [
        {
          type: 'location',
          location: { latitude, longitude, ...optional('name', name), ...optional('address', address) },
        },
      ],
    });
  }
  if (body.length > 0) {
    components.push({ type: 'body', parameters: body.map((v) => textParameter(v, named)) });
  }
  for (const button of buttons) {
    components.push({
      type: 'button',
      sub_type: button.type,
      index: String(button.index),
      parameters: [
        button.type === 'quick_reply'
          ? { type: 'payload', payload: button.value }
          : { type: 'text', text: button.value },
      ],
    });
  }
  return components;
}

/**
 * The JSON body of `POST /{version}/{phone-number-id}/messages` for one
 * message, as Meta's Cloud API documents it.
 *
 * @example cloudApiMessageBody({ type: 'text', text: 'Hi' }, '+919812345678').text // { preview_url: false, body: 'Hi' }
 */
export function cloudApiMessageBody(message: ProviderMessage, to: string): Record<string, unknown> {
  const base = { messaging_product: 'whatsapp', recipient_type: 'individual', to: toWhatsAppId(to) };
  switch (message.type) {
    case 'text':
      return {
        ...base,
        type: 'text',
        text: { preview_url: message.previewUrl ?? false, body: message.text },
      };
    case 'image':
    case 'video':
      return {
        ...base,
        type: message.type,
        [message.type]: { link: message.url, ...optional('caption', message.caption) },
      };
    case 'audio':
      return { ...base, type: 'audio', audio: { link: message.url } };
    case 'document':
      return {
        ...base,
        type: 'document',
        document: {
          link: message.url,
          ...optional('caption', message.caption),
          ...optional('filename', message.filename),
        },
      };
    case 'location':
      return {
        ...base,
        type: 'location',
        location: {
          latitude: message.latitude,
          longitude: message.longitude,
          ...optional('name', message.name),
          ...optional('address', message.address),
        },
      };
    case 'buttons':
      return {
        ...base,
        type: 'interactive',
        interactive: {
          type: 'button',
          ...(message.header !== undefined ? { header: { type: 'text', text: message.header } } : {}),
          body: { text: message.body },
          ...(message.footer !== undefined ? { footer: { text: message.footer } } : {}),
          action: {
            buttons: message.buttons.map((b) => ({ type: 'reply', reply: { id: b.id, title: b.title } })),
          },
        },
      };
    case 'list':
      return {
        ...base,
        type: 'interactive',
        interactive: {
          type: 'list',
          ...(message.header !== undefined ? { header: { type: 'text', text: message.header } } : {}),
          body: { text: message.body },
          ...(message.footer !== undefined ? { footer: { text: message.footer } } : {}),
          action: {
            button: message.button,
            sections: message.sections.map((s) => ({
              ...optional('title', s.title),
              rows: s.rows.map((r) => ({
                id: r.id,
                title: r.title,
                ...optional('description', r.description),
              })),
            })),
          },
        },
      };
    case 'template': {
      const components = templateComponents(message);
      return {
        ...base,
        type: 'template',
        template: {
          name: message.name,
          language: { code: message.language },
          ...(components.length > 0 ? { components } : {}),
        },
      };
    }
  }
}

function phoneNumberId(config: WabaConfiguration): string {
  const id = phoneNumberIdOf(config.providerConfig);
  if (!id || !/^\d+$/.test(id)) {
    throw new ValidationError('The Cloud API configuration needs providerConfig.phoneNumberId', {
      code: 'waba_config_invalid',
      details: { wabaConfigurationId: config.id },
    });
  }
  return id;
}

/**
 * Meta's WhatsApp Cloud API: `POST {graph}/{version}/{phone-number-id}/messages`
 * with the access token as a bearer. `providerConfig.phoneNumberId` names
 * the sending number; `providerConfig.apiVersion` may pin a version.
 *
 * @example
 * const cloud = createCloudApiProvider({ apiVersion: 'v23.0' });
 * await cloud.send(config, accessToken, { type: 'text', text: 'Hi Priya' }, '+919812345678');
 */
export function createCloudApiProvider(options: CloudApiProviderOptions = {}): WabaProvider {
  const http = providerHttpClient(options, {
    baseUrl: options.baseUrl ?? 'https://graph.facebook.com',
    provider: 'cloud_api',
    classifyError: cloudApiError,
  });
  const defaultVersion = options.apiVersion ?? 'v23.0';
  const retrySafe = options.retryAmbiguousFailures ?? false;

  return {
    name: 'cloud_api',
    async send(config, credentials, message, to, sendOptions) {
      const configured = config.providerConfig.apiVersion;
      const version =
        typeof configured === 'string' && /^v\d+\.\d+$/.test(configured) ? configured : defaultVersion;
      const response = await http.request<unknown>({
        method: 'POST',
        path: `/${version}/${phoneNumberId(config)}/messages`,
        json: cloudApiMessageBody(message, to),
        headers: { authorization: `Bearer ${credentials}` },
        retrySafe,
        ...(sendOptions?.beforeAttempt ? { beforeAttempt: sendOptions.beforeAttempt } : {}),
      });
      const providerMessageId = acceptedMessageId(response.data);
      if (providerMessageId === undefined) {
        throw new ProviderError('Cloud API accepted the send without a message id', {
          provider: 'cloud_api',
          code: 'invalid_response',
          httpStatus: response.status,
        });
      }
      return { providerMessageId, raw: response.data };
    },
    parseWebhook(body) {
      return parseCloudWebhook(body);
    },
  };
}
