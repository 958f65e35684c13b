export * from './backoff-delay.js';
export * from './http-client.js';
export * from './read-body-limited.js';
export * from './redact-url.js';
export * from './retry-after.js';
export * from './to-node-handler.js';
