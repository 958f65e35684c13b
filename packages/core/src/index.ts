export * from './crypto/index.js';
export * from './errors/index.js';
export * from './http/index.js';
export * from './observability/index.js';
export * from './phone/index.js';
export * from './schemas/index.js';
export * from './storage/index.js';
export * from './tenants/index.js';
