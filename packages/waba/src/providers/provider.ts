import type { WabaConfiguration } from '@leadrelay/core';
import type { WabaInboundEvent } from '../inbound/inbound-event.js';
import type { OutboundMessage, TemplateMessage } from '../messages/outbound-message.js';
import type { ResolvedTemplateParameters } from '../templates/template-parameters.js';

/** A template send with everything a provider needs: checked parameters in placeholder order. */
export interface ProviderTemplateMessage {
  type: 'template';
  name: string;
  language: string;
  /** Gupshup's template id; Cloud API sends by name. */
  providerTemplateId: string | null;
  parameters: ResolvedTemplateParameters;
}

/** A message ready for the wire: templates resolved against the registry, everything else as given. */
export type ProviderMessage = Exclude<OutboundMessage, TemplateMessage> | ProviderTemplateMessage;

export interface ProviderSendOptions {
  /** Awaited right before each HTTP attempt, retries included: where the client's rate limiter waits. */
  beforeAttempt?: () => Promise<void>;
}

export interface ProviderSendResult {
  /** Gupshup `messageId` or Cloud API `wamid…`. */
  providerMessageId: string;
  /** The provider's answer as received, for audits. */
  raw: unknown;
}

/**
 * One WhatsApp provider: translation to and from its wire format, nothing
 * else. Policy, templates, idempotency, rate limits and storage live in the
 * client, which never branches on a provider's name.
 */
export interface WabaProvider {
  /** Matches `WabaConfiguration.provider`: `gupshup` or `cloud_api`. */
  readonly name: string;
  /**
   * Sends one message from the tenant's number. Throws a `ProviderError`
   * (`retryable` set, `providerCode` the provider's code) when refused.
   */
  send(
    config: WabaConfiguration,
    credentials: string,
    message: ProviderMessage,
    to: string,
    options?: ProviderSendOptions,
  ): Promise<ProviderSendResult>;
  /**
   * Normalises a webhook body the provider posted (already authenticated) into
   * events; throws a `ValidationError` for a body that is not the provider's format.
   */
  parseWebhook(body: unknown): WabaInboundEvent[];
}
