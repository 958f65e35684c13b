export * from './escape-meta-unicode.js';
export * from './sign-meta-body.js';
export * from './verify-meta-signature.js';
export * from './verify-meta-subscription.js';
