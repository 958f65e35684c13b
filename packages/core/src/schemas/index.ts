export * from './domain.js';
export * from './parse.js';
