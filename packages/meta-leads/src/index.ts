// The Node adapter and Meta's signature primitives live in core (waba speaks the same
// protocol); they stay exported here under the same names.
export {
  DEFAULT_MAX_BODY_BYTES,
  escapeMetaSlashes,
  escapeMetaUnicode,
  META_SIGNATURE_HEADER,
  type MetaSignatureMatch,
  matchMetaSignature,
  type NodeHandler,
  readBodyLimited,
  type ToNodeHandlerOptions,
  toNodeHandler,
  verifyMetaSignature,
} from '@leadrelay/core';
export * from './graph/classify-graph-error.js';
export * from './graph/graph-lead.js';
export * from './graph/graph-leads-client.js';
export * from './http/meta-webhook-handler.js';
export * from './inbox/leadgen-inbox.js';
export * from './inbox/memory-leadgen-inbox.js';
export * from './inbox/meta-leads-migrations.js';
export * from './inbox/postgres-leadgen-inbox.js';
export * from './intake/meta-leads-intake.js';
export * from './intake/meta-leads-registry.js';
export * from './normalize/normalize-graph-lead.js';
export * from './onboarding/meta-onboarding.js';
export * from './webhook/leadgen-webhook.js';
export * from './webhook/parse-leadgen-webhook.js';
