export * from './tenant-registry.js';
export * from './ttl-cache.js';
