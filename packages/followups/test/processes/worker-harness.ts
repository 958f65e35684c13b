import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';

export interface ProviderEmulation {
  url: string;
  /** Every request as it arrived: the idempotency key and the worker that sent it. */
  arrivals: { key: string; worker: string }[];
  close(): Promise<void>;
}

/**
 * A local stand-in for the WhatsApp Cloud API messages endpoint: counts every
 * request as it arrives (no deduplication, as Cloud API has none) and answers
 * in Cloud API's format after `delayMs`, so requests are in flight when a
 * worker is killed.
 */
export async function startProviderEmulation(options: { delayMs?: number } = {}): Promise<ProviderEmulation> {
  const arrivals: ProviderEmulation['arrivals'] = [];
  let n = 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
        idempotencyKey: string;
        to: string;
      };
      arrivals.push({ key: body.idempotencyKey, worker: String(req.headers['x-worker']) });
      const id = `wamid.${++n}`;
      setTimeout(() => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({
            messaging_product: 'whatsapp',
            contacts: [{ input: body.to, wa_id: body.to.slice(1) }],
            messages: [{ id }],
          }),
        );
      }, options.delayMs ?? 0);
    });
  });
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/v23.0/123/messages`,
    arrivals,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export interface WorkerProcess {
  child: ChildProcess;
  name: string;
  ready: Promise<void>;
  exited: Promise<number | null>;
  stderr: () => string;
}

const hooks = fileURLToPath(new URL('../../../../test-support/source-hooks.mjs', import.meta.url));

/**
 * Starts a worker script of this folder (default `runner-process.ts`) in a new
 * Node process (the one running the tests).
 */
export function spawnWorker(
  name: string,
  env: Record<string, string>,
  scriptName = 'runner-process.ts',
): WorkerProcess {
  const script = fileURLToPath(new URL(`./${scriptName}`, import.meta.url));
  const child = spawn(process.execPath, ['--no-warnings', '--import', hooks, script], {
    env: { ...process.env, ...env, WORKER_NAME: name },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => {
    err += d.toString();
  });
  const ready = new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      if (d.toString().includes('ready')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`worker ${name} exited (${code}) before ready: ${err}`)));
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, name, ready, exited, stderr: () => err };
}

/** Resolves once `predicate` holds, polling every `intervalMs`; rejects after `timeoutMs`. */
export async function waitFor(
  predicate: () => Promise<boolean> | boolean,
  timeoutMs: number,
  intervalMs = 25,
) {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
