/**
 * The LeadRelay reference server: configuration from the environment,
 * structured logs, `@leadrelay/app` mounted before any body parser, and the
 * process lifecycle. No flow logic lives here.
 *
 *   node src/server.ts            the HTTP server and the background work
 *   node src/server.ts --worker   the background work only
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { createLeadRelay } from '@leadrelay/app';
import {
  createPgliteDatabase,
  createPostgresDatabase,
  type SqlDatabase,
  toNodeHandler,
} from '@leadrelay/core';
import express from 'express';
import { pino } from 'pino';
import { pinoHttp } from 'pino-http';
import { ConfigError, loadConfig } from './config.ts';

const workerOnly = process.argv.includes('--worker');

let config: ReturnType<typeof loadConfig>;
try {
  config = loadConfig(process.env);
} catch (error) {
  if (error instanceof ConfigError) {
    process.stderr.write(`${error.message}\n`);
    process.exit(78); // EX_CONFIG
  }
  throw error;
}

const logger = pino({
  level: config.LOG_LEVEL,
  // Secrets never reach a log line, whatever a caller passes.
  redact: {
    paths: [
      'req.headers.authorization',
      'req.headers["x-hub-signature-256"]',
      '*.accessToken',
      '*.appSecret',
      '*.apiKey',
    ],
    censor: '[redacted]',
  },
});

async function openDatabase(): Promise<SqlDatabase> {
  if (config.DATABASE_URL) return createPostgresDatabase({ connectionString: config.DATABASE_URL });
  const dataDir = join(config.DATA_DIR, 'pglite');
  mkdirSync(dataDir, { recursive: true });
  logger.warn({ dataDir }, 'DATABASE_URL is not set: using the embedded database (one process only)');
  return createPgliteDatabase({ dataDir });
}

const db = await openDatabase();
const relay = await createLeadRelay({
  db,
  secretKeys: [{ id: 'k1', key: config.LEADRELAY_MASTER_KEY }],
  adminToken: config.ADMIN_TOKEN,
  logger,
  pollIntervalMs: config.FOLLOWUP_POLL_MS,
  ...(config.META_GRAPH_URL || config.META_GRAPH_VERSION
    ? {
        graph: {
          ...(config.META_GRAPH_URL ? { baseUrl: config.META_GRAPH_URL } : {}),
          ...(config.META_GRAPH_VERSION ? { apiVersion: config.META_GRAPH_VERSION } : {}),
        },
      }
    : {}),
  ...(config.GUPSHUP_API_URL ? { gupshup: { baseUrl: config.GUPSHUP_API_URL } } : {}),
  ...(config.WHATSAPP_CLOUD_API_URL ? { cloudApi: { baseUrl: config.WHATSAPP_CLOUD_API_URL } } : {}),
});
relay.start();

let server: ReturnType<ReturnType<typeof express>['listen']> | null = null;
if (!workerOnly) {
  const app = express();
  app.disable('x-powered-by');
  app.use(pinoHttp({ logger }));
  // First and alone: webhook signatures are checked over the raw bytes, so no body parser runs before it.
  app.use(toNodeHandler(relay.fetch));
  server = app.listen(config.PORT, '0.0.0.0', () => {
    const address = server?.address();
    const port = typeof address === 'object' && address ? address.port : config.PORT;
    logger.info({ port }, 'leadrelay server listening');
    process.stdout.write(`listening on ${port}\n`);
  });
} else {
  logger.info({}, 'leadrelay worker running');
  process.stdout.write('worker running\n');
}

let stopping = false;
async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  logger.info({ signal }, 'stopping: no new requests, finishing the work in hand');
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  await relay.stop();
  await db.close();
  logger.info({}, 'stopped');
  process.exit(0);
}
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));
