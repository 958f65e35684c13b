// The Node adapter and Meta's signature check live in core (meta-leads speaks the same
// protocol); they stay exported here under the names this package has always used.
export {
  type NodeHandler,
  type ToNodeHandlerOptions as NodeHandlerOptions,
  type ToNodeHandlerOptions,
  toNodeHandler,
  verifyMetaSignature as verifyCloudSignature,
} from '@leadrelay/core';
export * from './bot/bot-profiles.js';
export type * from './bot/bot-responder.js';
export { isAmbiguousFailure } from './client/idempotent-send.js';
export { type LeadWabaState, readLeadWabaState, updateLeadWabaState } from './client/lead-waba-state.js';
export type { MarketingCap, SuggestedTemplate } from './client/policy-context.js';
export type { ReceiveOptions, ReceiveResult } from './client/receive-events.js';
export * from './client/waba-client.js';
export * from './inbound/cloud-webhook-handler.js';
export * from './inbound/consent-keywords.js';
export * from './inbound/escape-like-meta.js';
export * from './inbound/gupshup-webhook-handler.js';
export type * from './inbound/inbound-event.js';
export * from './inbound/parse-cloud-webhook.js';
export * from './inbound/parse-gupshup-webhook.js';
export type * from './inbound/waba-event.js';
export { tenantFromUrl } from './inbound/webhook-request.js';
export * from './messages/outbound-message.js';
export * from './policy/decide-send.js';
export * from './policy/policy-rules.js';
export * from './providers/cloud-api-errors.js';
export * from './providers/cloud-api-provider.js';
export type * from './providers/failure-class.js';
export * from './providers/gupshup-errors.js';
export * from './providers/gupshup-provider.js';
export type * from './providers/provider.js';
export type { ProviderHttpOptions } from './providers/provider-http-options.js';
export * from './rate-limit/rate-limiter.js';
export * from './send/send-types.js';
export * from './store/memory-waba-store.js';
export * from './store/postgres-waba-store.js';
export * from './store/waba-migrations.js';
export type * from './store/waba-store.js';
export * from './templates/render-template.js';
export * from './templates/template.js';
export * from './templates/template-parameters.js';
export * from './templates/template-registry.js';
