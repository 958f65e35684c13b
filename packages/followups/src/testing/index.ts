export * from './seed-due-steps.js';
