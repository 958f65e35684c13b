export * from './build-graph-lead.js';
export * from './build-leadgen-webhook.js';
export * from './graph-handlers.js';
export * from './sign-meta-body.js';
