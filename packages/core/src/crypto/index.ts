export * from './hmac.js';
export * from './secret-box.js';
