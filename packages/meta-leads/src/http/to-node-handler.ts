import type { IncomingMessage, ServerResponse } from 'node:http';
import { errorResponse, LeadRelayError, PayloadTooLargeError } from '@leadrelay/core';
import { DEFAULT_MAX_BODY_BYTES } from './read-body-limited.js';

export interface ToNodeHandlerOptions {
  /** Default: the Web handler's own `maxBodyBytes`, else 1 MiB. */
  maxBodyBytes?: number;
}

/** A node:http listener that also works as Express/Connect middleware. */
export type NodeHandler = (
  req: IncomingMessage & { body?: unknown; originalUrl?: string },
  res: ServerResponse,
  next?: (error?: unknown) => void,
) => Promise<void>;

class BodyTooLarge extends Error {}

function readRaw(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > maxBytes) return reject(new BodyTooLarge());
    const chunks: Buffer[] = [];
    let total = 0;
    const onData = (chunk: Buffer) => {
      total += chunk.length;
      if (total > maxBytes) {
        cleanup();
        // Stop reading: what was not read is never buffered.
        req.pause();
        reject(new BodyTooLarge());
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      cleanup();
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, total));
    };
    const onError = (error: Error) => {
      cleanup();
      reject(error);
    };
    const cleanup = () => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
  });
}

/** The body an earlier middleware already read, or `undefined` to read the stream. */
function preParsedBody(req: IncomingMessage & { body?: unknown }): Uint8Array | undefined {
  const body = req.body;
  if (body instanceof Uint8Array) return body;
  if (typeof body === 'string') return Buffer.from(body, 'utf8');
  if (body !== undefined && req.readableEnded) {
    // express.json() (or similar) consumed the stream and kept only the parsed value.
    throw new LeadRelayError(
      'The raw request body is gone: mount the webhook before any JSON body parser (or use express.raw())',
      { code: 'raw_body_unavailable', status: 500 },
    );
  }
  return undefined;
}

/** The request URL; a Host header that is not a host name does not make it fail. */
function requestUrl(req: IncomingMessage & { originalUrl?: string }): URL {
  const path = req.originalUrl ?? req.url ?? '/';
  try {
    return new URL(path, `http://${req.headers.host ?? 'localhost'}`);
  } catch {
    return new URL(path.startsWith('/') ? path : '/', 'http://localhost');
  }
}

async function send(res: ServerResponse, response: Response, close = false): Promise<void> {
  const headers: Record<string, string | string[]> = {};
  response.headers.forEach((value, name) => {
    headers[name] = value;
  });
  if (close) headers.connection = 'close';
  res.writeHead(response.status, headers);
  const body = response.body ? Buffer.from(await response.arrayBuffer()) : undefined;
  await new Promise<void>((resolve) => res.end(body, resolve));
}

/**
 * Mounts a Web-standard handler on node:http or Express: reads the raw body
 * itself (refusing it with 413 as soon as it passes the limit, without
 * buffering the rest), builds a `Request`, and writes the `Response` back.
 * Mount it without `express.json()` in front; `express.raw()` is fine.
 *
 * @example
 * app.post('/api/meta/webhook/:clientId', toNodeHandler(handler));
 * http.createServer(toNodeHandler(handler)).listen(3000);
 */
export function toNodeHandler(
  handler: ((request: Request) => Promise<Response>) & { maxBodyBytes?: number },
  options: ToNodeHandlerOptions = {},
): NodeHandler {
  const maxBodyBytes = options.maxBodyBytes ?? handler.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  return async (req, res, next) => {
    try {
      const method = req.method ?? 'GET';
      let body: Uint8Array | undefined;
      if (method !== 'GET' && method !== 'HEAD') {
        body = preParsedBody(req);
        if (body === undefined) {
          try {
            body = await readRaw(req, maxBodyBytes);
          } catch (error) {
            if (error instanceof BodyTooLarge) {
              await send(res, errorResponse(new PayloadTooLargeError(maxBodyBytes)), true);
              req.destroy();
              return;
            }
            throw error;
          }
        }
      }
      const headers = new Headers();
      for (const [name, value] of Object.entries(req.headers)) {
        if (value === undefined) continue;
        if (Array.isArray(value)) for (const v of value) headers.append(name, v);
        else headers.set(name, value);
      }
      const url = requestUrl(req);
      const request = new Request(url, {
        method,
        headers,
        ...(body !== undefined ? { body: body as Uint8Array<ArrayBuffer> } : {}),
      });
      await send(res, await handler(request));
    } catch (error) {
      if (res.headersSent) {
        res.destroy(error instanceof Error ? error : undefined);
        return;
      }
      if (next && !(error instanceof LeadRelayError)) return next(error);
      await send(res, errorResponse(error));
    }
  };
}
