export * from './payload-builders.js';
export * from './provider-handlers.js';
export * from './seed-waba-tenant.js';
