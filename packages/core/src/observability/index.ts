export * from './clock.js';
export * from './logger.js';
