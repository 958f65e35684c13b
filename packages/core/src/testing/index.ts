export { createManualClock, type ManualClock } from '../observability/clock.js';
export * from './databases.js';
export * from './emulator-server.js';
