export * from './backoff-delay.js';
export * from './http-client.js';
export * from './redact-url.js';
export * from './retry-after.js';
