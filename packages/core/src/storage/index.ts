export * from './migrations.js';
export * from './ports.js';
export * from './sql.js';
