// The local HTTP server both provider kits' emulators run on (meta-leads' Graph, waba's Gupshup and Cloud API).
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as wait } from 'node:timers/promises';
import { redactUrl } from '../http/redact-url.js';
import { toNodeHandler } from '../http/to-node-handler.js';
import { type Logger, noopLogger } from '../observability/logger.js';

/**
 * What the next requests to an emulator meet: a `failure` in the provider's
 * own format, an answer of your own (`status`, `body`, `headers`), a
 * dropped connection (`drop`), or only `delayMs` (a slow answer, otherwise
 * as usual). `delayMs` also delays the other three.
 */
export interface EmulatorFault<Failure extends string = string> {
  failure?: Failure;
  status?: number;
  /** A string goes out as is; anything else as JSON. */
  body?: unknown;
  headers?: Record<string, string>;
  /** Close the connection without answering. */
  drop?: boolean;
  delayMs?: number;
  /** How many requests in a row meet it; `Infinity` until `clearFaults()`. Default 1. */
  count?: number;
}

export interface EmulatorServerOptions {
  /** Bound as `emulation` on every log line. */
  emulation: string;
  /** Default 0: any free port. */
  port?: number;
  /** Default `127.0.0.1`. */
  host?: string;
  logger?: Logger;
  /** Delay before every answer, in ms. */
  delayMs?: number;
  /** The `failure` names `handle` answers; `failNext` refuses any other. */
  failures: readonly string[];
  /**
   * Records the request and answers it. A request that is dropped is
   * answered too (and the answer thrown away), so it is recorded all the same.
   */
  handle(request: Request, fault: EmulatorFault | undefined): Promise<Response>;
}

export interface EmulatorServer {
  /** `http://127.0.0.1:<port>`, no trailing slash. */
  readonly url: string;
  /** The logger with `emulation` bound. */
  readonly logger: Logger;
  failNext(fault: EmulatorFault): void;
  clearFaults(): void;
  /** Runs background work (callbacks) that `close()` cancels and waits for. */
  background(work: (signal: AbortSignal) => Promise<void>): void;
  readonly signal: AbortSignal;
  close(): Promise<void>;
}

/** Thrown inside the handler to make the Node adapter pass the request on, where it is dropped. */
class DropConnection extends Error {}

/** The answer an `EmulatorFault` with a `status` describes. */
export function faultResponse(fault: EmulatorFault): Response {
  const body =
    fault.body === undefined ? '' : typeof fault.body === 'string' ? fault.body : JSON.stringify(fault.body);
  const headers = new Headers(fault.headers);
  if (typeof fault.body !== 'string' && fault.body !== undefined && !headers.has('content-type')) {
    headers.set('content-type', 'application/json');
  }
  return new Response(body === '' ? null : body, { status: fault.status ?? 500, headers });
}

async function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (ms <= 0) return;
  // Closing the emulator ends the wait: the request is then dropped.
  await wait(ms, undefined, { signal }).catch(() => {
    throw new DropConnection('emulator closed');
  });
}

/**
 * A node:http server on 127.0.0.1 for a provider emulator: queued faults,
 * slow answers, dropped connections, one log line per request and
 * cancellable background callbacks. The emulator supplies `handle`.
 *
 * @example const server = await startEmulatorServer({ emulation: 'gupshup', handle });
 */
export async function startEmulatorServer(options: EmulatorServerOptions): Promise<EmulatorServer> {
  const logger = (options.logger ?? noopLogger).child({ emulation: options.emulation });
  const closing = new AbortController();
  const faults: { fault: EmulatorFault; left: number }[] = [];
  const pending = new Set<Promise<void>>();

  const takeFault = (): EmulatorFault | undefined => {
    const head = faults[0];
    if (!head) return undefined;
    if (--head.left <= 0) faults.shift();
    return head.fault;
  };

  const web = async (request: Request): Promise<Response> => {
    const started = performance.now();
    const fault = takeFault();
    const response = await options.handle(request, fault);
    await sleep((options.delayMs ?? 0) + (fault?.delayMs ?? 0), closing.signal);
    const url = new URL(request.url);
    logger.info(
      {
        method: request.method,
        path: redactUrl(url).slice(url.origin.length),
        status: fault?.drop ? 'dropped' : response.status,
        ...(fault ? { fault: fault.failure ?? (fault.drop ? 'drop' : (fault.status ?? 'slow')) } : {}),
        durationMs: Math.round(performance.now() - started),
      },
      'emulator request',
    );
    if (fault?.drop) throw new DropConnection('dropped as asked');
    return response;
  };
  const node = toNodeHandler(web);
  const server = createServer((req, res) => {
    void node(req, res, (error) => {
      if (!(error instanceof DropConnection)) logger.error({ error: String(error) }, 'emulator failed');
      res.destroy();
    });
  });
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  logger.info({ url }, 'emulator listening');

  return {
    url,
    logger,
    signal: closing.signal,
    failNext(fault) {
      const kinds = [fault.failure !== undefined, fault.status !== undefined, fault.drop === true];
      if (kinds.filter(Boolean).length > 1) {
        throw new TypeError('A fault is one of failure, status or drop (delayMs goes with any)');
      }
      if (fault.failure !== undefined && !options.failures.includes(fault.failure)) {
        throw new TypeError(`Unknown failure "${fault.failure}"`);
      }
      faults.push({ fault, left: fault.count ?? 1 });
    },
    clearFaults() {
      faults.length = 0;
    },
    background(work) {
      const running = work(closing.signal).catch((error: unknown) => {
        if (!closing.signal.aborted) logger.warn({ error: String(error) }, 'emulator callback failed');
      });
      const tracked = running.finally(() => pending.delete(tracked));
      pending.add(tracked);
    },
    async close() {
      closing.abort();
      await Promise.all(pending);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      logger.info({ url }, 'emulator closed');
    },
  };
}

/**
 * Posts a callback as the provider would (JSON body, the given headers) and
 * logs it without secrets; rejects when the receiver cannot be reached.
 */
export async function postCallback(
  logger: Logger,
  request: {
    url: string;
    body: string;
    headers?: Record<string, string>;
    what: string;
    signal?: AbortSignal;
  },
): Promise<{ status: number; body: string }> {
  const response = await fetch(request.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...request.headers },
    body: request.body,
    ...(request.signal ? { signal: request.signal } : {}),
  });
  const body = await response.text();
  logger.info(
    { url: redactUrl(request.url), what: request.what, status: response.status },
    'emulator callback',
  );
  return { status: response.status, body };
}
