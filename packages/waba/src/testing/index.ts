export type { EmulatorFault } from '@leadrelay/core/testing';
export * from './cloud-api-emulator.js';
export * from './gupshup-emulator.js';
export * from './payload-builders.js';
export * from './provider-handlers.js';
export * from './seed-waba-tenant.js';
export type {
  AutoStatuses,
  CallbackDelivery,
  EmulatedSendBase,
  InboundReply,
  SendEmulator,
  SendEmulatorOptions,
  StatusDeliveryOptions,
} from './send-emulator.js';
