import { ProviderError, toWhatsAppId, ValidationError, type WabaConfiguration } from '@leadrelay/core';
import { z } from 'zod';
import { parseGupshupWebhook } from '../inbound/parse-gupshup-webhook.js';
import { gupshupError } from './gupshup-errors.js';
import type { ProviderMessage, ProviderTemplateMessage, WabaProvider } from './provider.js';
import { type ProviderHttpOptions, providerHttpClient } from './provider-http-options.js';

export interface GupshupProviderOptions extends ProviderHttpOptions {
  /** Default `https://api.gupshup.io`. */
  baseUrl?: string;
}

const acceptedSchema = z.looseObject({ status: z.string(), messageId: z.string().min(1) });

type SessionMessage = Exclude<ProviderMessage, ProviderTemplateMessage>;

/**
 * The `message=` JSON of a session message, in Gupshup's format.
 *
 * @example gupshupSessionMessage({ type: 'text', text: 'Hi' }) // { type: 'text', text: 'Hi' }
 */
export function gupshupSessionMessage(message: SessionMessage): Record<string, unknown> {
  switch (message.type) {
    case 'text':
      return { type: 'text', text: message.text };
    case 'image':
      return {
        type: 'image',
        originalUrl: message.url,
        previewUrl: message.url,
        ...(message.caption !== undefined ? { caption: message.caption } : {}),
      };
    case 'video':
      return {
        type: 'video',
        url: message.url,
        ...(message.caption !== undefined ? { caption: message.caption } : {}),
      };
    case 'audio':
      return { type: 'audio', url: message.url };
    case 'document':
      return {
        type: 'file',
        url: message.url,
        filename: message.filename ?? fileNameOf(message.url),
        ...(message.caption !== undefined ? { caption: message.caption } : {}),
      };
    case 'location':
      return {
        type: 'location',
        latitude: message.latitude,
        longitude: message.longitude,
        ...(message.name !== undefined ? { name: message.name } : {}),
        ...(message.address !== undefined ? { address: message.address } : {}),
      };
    case 'buttons':
      return {
        type: 'quick_reply',
        msgid: crypto.randomUUID(),
        content: {
          type: 'text',
          ...(message.header !== undefined ? { header: message.header } : {}),
          text: message.body,
          ...(message.footer !== undefined ? { caption: message.footer } : {}),
        },
        // postbackText carries our id back in the lead's reply.
        options: message.buttons.map((b) => ({ type: 'text', title: b.title, postbackText: b.id })),
      };
    case 'list':
      return {
        type: 'list',
        title: message.header ?? '',
        body: message.body,
        ...(message.footer !== undefined ? { footer: message.footer } : {}),
        msgid: crypto.randomUUID(),
        globalButtons: [{ type: 'text', title: message.button }],
        items: message.sections.map((section) => ({
          title: section.title ?? '',
          options: section.rows.map((row) => ({
            type: 'text',
            title: row.title,
            ...(row.description !== undefined ? { description: row.description } : {}),
            postbackText: row.id,
          })),
        })),
      };
  }
}

/**
 * The `template=` and optional `message=` fields of a template send.
 *
 * @example gupshupTemplateFields(message).template // '{"id":"c6aecef6-…","params":["Priya"]}'
 */
export function gupshupTemplateFields(message: ProviderTemplateMessage): {
  template: string;
  message?: string;
} {
  if (!message.providerTemplateId) {
    throw new ValidationError(`Template "${message.name}" has no Gupshup template id (providerTemplateId)`, {
      code: 'template_provider_id_missing',
      details: { template: message.name },
    });
  }
  const { header, body, buttons } = message.parameters;
  if (buttons.length > 0) {
    throw new ValidationError(
      `Gupshup's template API takes no button parameters (template "${message.name}")`,
      {
        code: 'unsupported_by_provider',
        details: { template: message.name, provider: 'gupshup', parameter: 'buttons' },
      },
    );
  }
  // Gupshup takes every text placeholder in order of occurrence: header first, then body.
  const params = [...(header?.kind === 'text' ? header.values : []), ...body].map((v) => v.value);
  const fields: { template: string; message?: string } = {
    template: JSON.stringify({ id: message.providerTemplateId, params }),
  };
  if (header?.kind === 'media') {
    const { type, url, filename } = header.media;
    fields.message = JSON.stringify({
      type,
      [type]: { link: url, ...(type === 'document' && filename ? { filename } : {}) },
    });
  } else if (header?.kind === 'location') {
    const { latitude, longitude, name, address } = header.location;
    fields.message = JSON.stringify({
      type: 'location',
      location: {
        latitude: String(latitude),
        longitude: String(longitude),
        ...(name ? { name } : {}),
        ...(address ? { address } : {}),
      },
    });
  }
  return fields;
}

function appNameOf(config: WabaConfiguration): string {
  const appName = config.providerConfig.appName;
  if (typeof appName !== 'string' || appName === '') {
    throw new ValidationError('The Gupshup configuration needs providerConfig.appName', {
      code: 'waba_config_invalid',
      details: { wabaConfigurationId: config.id },
    });
  }
  return appName;
}

function fileNameOf(url: string): string {
  const last = new URL(url).pathname.split('/').pop();
  return last && last.length > 0 ? decodeURIComponent(last) : 'document';
}

/**
 * The Gupshup WhatsApp API: session messages on `/wa/api/v1/msg`, templates
 * on `/wa/api/v1/template/msg`, form-encoded with the app's API key in the
 * `apikey` header. `WabaConfiguration.providerConfig.appName` names the app.
 *
 * @example
 * const gupshup = createGupshupProvider({ baseUrl: 'https://api.gupshup.io' });
 * await gupshup.send(config, apiKey, { type: 'text', text: 'Hi Priya' }, '+919812345678');
 */
export function createGupshupProvider(options: GupshupProviderOptions = {}): WabaProvider {
  const http = providerHttpClient(options, {
    baseUrl: options.baseUrl ?? 'https://api.gupshup.io',
    provider: 'gupshup',
    classifyError: gupshupError,
  });
  const retrySafe = options.retryAmbiguousFailures ?? false;

  return {
    name: 'gupshup',
    async send(config, credentials, message, to, sendOptions) {
      const base = {
        source: toWhatsAppId(config.wabaNumber),
        destination: toWhatsAppId(to),
        'src.name': appNameOf(config),
      };
      const request =
        message.type === 'template'
          ? { path: '/wa/api/v1/template/msg', form: { ...base, ...gupshupTemplateFields(message) } }
          : {
              path: '/wa/api/v1/msg',
              form: {
                channel: 'whatsapp',
                ...base,
                message: JSON.stringify(gupshupSessionMessage(message)),
                ...(message.type === 'text' && message.previewUrl !== undefined
                  ? { disablePreview: String(!message.previewUrl) }
                  : {}),
              },
            };
      const response = await http.request<unknown>({
        method: 'POST',
        path: request.path,
        form: request.form,
        headers: { apikey: credentials },
        retrySafe,
        ...(sendOptions?.beforeAttempt ? { beforeAttempt: sendOptions.beforeAttempt } : {}),
      });
      const accepted = acceptedSchema.safeParse(response.data);
      if (!accepted.success || accepted.data.status === 'error') {
        // Gupshup can answer 2xx with {"status":"error"}: a refusal all the same.
        const refused =
          response.data &&
          typeof response.data === 'object' &&
          (response.data as { status?: unknown }).status === 'error';
        if (refused) throw gupshupError({ status: 400, headers: response.headers }, response.data);
        throw new ProviderError('Gupshup accepted the send without a messageId', {
          provider: 'gupshup',
          code: 'invalid_response',
          httpStatus: response.status,
        });
      }
      return { providerMessageId: accepted.data.messageId, raw: response.data };
    },
    parseWebhook(body) {
      return parseGupshupWebhook(body);
    },
  };
}
