export * from './phone.js';
