import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import {
  errorResponse,
  isLeadRelayError,
  LeadRelayError,
  PayloadTooLargeError,
  ValidationError,
} from '../errors/errors.js';
import { DEFAULT_MAX_BODY_BYTES } from './read-body-limited.js';

/**
 * A Web-standard HTTP handler. `maxBodyBytes`, when present, is its body
 * limit, which `toNodeHandler` then enforces while reading.
 */
export interface WebHandler {
  (request: Request): Promise<Response>;
  readonly maxBodyBytes?: number;
}

export interface ToNodeHandlerOptions {
  /** Largest body read, in bytes. Default: the handler's own `maxBodyBytes`, else 1 MiB. */
  maxBodyBytes?: number;
  /** Origin of the request URL when the Host header is missing or not a host. Default `http://localhost`. */
  origin?: string;
}

/**
 * The request as node:http hands it over, with what Express/Connect body
 * parsers may have left on it: `body` (a Buffer from `express.raw()`, a
 * string from `express.text()`, a parsed value from `express.json()`) or
 * `rawBody` (a Buffer kept by a parser's `verify` hook).
 */
export type NodeRequest = IncomingMessage & { body?: unknown; rawBody?: unknown; originalUrl?: string };

/** A node:http listener that also works as Express/Connect middleware. */
export type NodeHandler = (
  req: NodeRequest,
  res: ServerResponse,
  next?: (error?: unknown) => void,
) => Promise<void>;

/** The client went away (or the connection failed) before the body arrived: there is nobody to answer. */
class RequestAborted extends Error {}

const HOST = /^[^\s/?#@\\]+$/;

/** Reads the body stream, refusing it as soon as it passes `maxBytes`. */
function readRaw(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > maxBytes) return reject(new PayloadTooLargeError(maxBytes));
    const chunks: Buffer[] = [];
    let total = 0;
    const onData = (chunk: Buffer) => {
      total += chunk.length;
      if (total > maxBytes) {
        cleanup();
        // Stop reading: what was not read is never buffered.
        req.pause();
        reject(new PayloadTooLargeError(maxBytes));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      cleanup();
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, total));
    };
    const onAbort = () => {
      cleanup();
      reject(new RequestAborted());
    };
    const cleanup = () => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onAbort);
      req.off('close', onAbort);
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onAbort);
    req.on('close', onAbort);
  });
}

/** The body an earlier middleware already read, or `undefined` to read the stream. */
function bodyAlreadyRead(req: NodeRequest): Uint8Array | undefined {
  if (req.rawBody instanceof Uint8Array) return req.rawBody;
  if (req.body instanceof Uint8Array) return req.body;
  if (typeof req.body === 'string') return Buffer.from(req.body, 'utf8');
  if (req.readableEnded) {
    // express.json() (or similar) consumed the stream and kept only the parsed value.
    throw new LeadRelayError(
      'The raw request body is gone: mount the webhook before any JSON body parser (or use express.raw())',
      { code: 'raw_body_unavailable', status: 500 },
    );
  }
  return undefined;
}

/** The request URL; a Host header that is not a host falls back to `origin` instead of failing. */
function requestUrl(req: NodeRequest, origin: string): URL {
  const target = req.originalUrl ?? req.url ?? '/';
  const host = req.headers.host;
  let base = origin;
  if (host !== undefined && HOST.test(host)) {
    const scheme = (req.socket as TLSSocket | undefined)?.encrypted ? 'https' : 'http';
    try {
      base = new URL(`${scheme}://${host}`).origin;
    } catch {
      // Not a host name: keep the configured origin.
    }
  }
  try {
    // Appended rather than resolved, so a path such as `//x/y` stays a path and names no other host.
    return target.startsWith('/') ? new URL(`${base}${target}`) : new URL(target, base);
  } catch {
    return new URL('/', base);
  }
}

async function toWebRequest(req: NodeRequest, maxBodyBytes: number, origin: string): Promise<Request> {
  const method = req.method ?? 'GET';
  let body: Uint8Array | undefined;
  if (method !== 'GET' && method !== 'HEAD') {
    body = bodyAlreadyRead(req) ?? (await readRaw(req, maxBodyBytes));
    if (body.byteLength > maxBodyBytes) throw new PayloadTooLargeError(maxBodyBytes);
  }
  try {
    const headers = new Headers();
    for (const [name, value] of Object.entries(req.headers)) {
      if (value === undefined) continue;
      if (Array.isArray(value)) for (const item of value) headers.append(name, item);
      else headers.set(name, value);
    }
    return new Request(requestUrl(req, origin), {
      method,
      headers,
      ...(body !== undefined ? { body: body as Uint8Array<ArrayBuffer> } : {}),
    });
  } catch (cause) {
    // Fetch refuses a few methods (CONNECT, TRACE) and header values that node:http lets through.
    throw new ValidationError(`The ${method} request cannot be represented as a Fetch Request`, {
      code: 'request_invalid',
      cause,
    });
  }
}

/** Writes a `Response`; resolves once it is flushed or the connection is gone. */
async function send(res: ServerResponse, response: Response, close = false): Promise<void> {
  const body = response.body ? Buffer.from(await response.arrayBuffer()) : undefined;
  const headers: Record<string, string | string[]> = {};
  response.headers.forEach((value, name) => {
    headers[name] = value;
  });
  // Each cookie is its own header line: joined with commas they would not parse.
  const cookies = response.headers.getSetCookie();
  if (cookies.length > 0) headers['set-cookie'] = cookies;
  if (close) headers.connection = 'close';
  res.writeHead(response.status, headers);
  await new Promise<void>((resolve) => {
    res.once('close', resolve);
    res.end(body, resolve);
  });
}

async function sendError(res: ServerResponse, error: unknown): Promise<void> {
  if (res.headersSent || res.destroyed) {
    res.destroy();
    return;
  }
  try {
    await send(res, errorResponse(error));
  } catch {
    res.destroy();
  }
}

/**
 * Mounts a Web-standard handler on node:http or Express/Connect: reads the
 * raw body itself (answering 413 as soon as it passes the limit, without
 * buffering the rest), builds a `Request`, and writes the `Response` back.
 * A body `express.raw()` or `express.text()` already read (or a `rawBody`
 * Buffer) is used as is; after `express.json()` the raw bytes are gone and
 * the answer is a 500 `raw_body_unavailable` saying so, since signatures need
 * them. LeadRelay errors are answered with `errorResponse`; other errors go to
 * `next()` when mounted as middleware, else answer 500. Never rejects.
 *
 * @example
 * app.post('/api/meta/webhook/:clientId', toNodeHandler(handler));
 * http.createServer(toNodeHandler(handler)).listen(3000);
 */
export function toNodeHandler(handler: WebHandler, options: ToNodeHandlerOptions = {}): NodeHandler {
  const maxBodyBytes = options.maxBodyBytes ?? handler.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const origin = new URL(options.origin ?? 'http://localhost').origin;
  return async (req, res, next) => {
    try {
      let request: Request;
      try {
        request = await toWebRequest(req, maxBodyBytes, origin);
      } catch (error) {
        if (error instanceof RequestAborted) {
          res.destroy();
          return;
        }
        if (error instanceof PayloadTooLargeError) {
          // Answer, then close the connection: the rest of the body is never read.
          await send(res, errorResponse(error), true);
          req.destroy();
          return;
        }
        throw error;
      }
      await send(res, await handler(request));
    } catch (error) {
      if (next && !isLeadRelayError(error) && !res.headersSent) {
        next(error);
        return;
      }
      await sendError(res, error);
    }
  };
}
