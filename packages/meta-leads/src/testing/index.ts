// Meta's signing side lives in core beside the verifier; the testing kit keeps offering it.
export { signMetaBody } from '@leadrelay/core';
export * from './build-graph-lead.js';
export * from './build-leadgen-webhook.js';
export * from './graph-emulator.js';
export * from './graph-handlers.js';
export * from './signed-meta-request.js';
