export * from './inbox.js';
export * from './inbox-processor.js';
export * from './memory-inbox.js';
export * from './postgres-inbox.js';
