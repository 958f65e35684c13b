import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { errorResponse, LeadRelayError } from '@leadrelay/core';

type NodeRequest = IncomingMessage & { originalUrl?: string; rawBody?: unknown; body?: unknown };

export interface NodeHandlerOptions {
  /** Origin used to build the request URL when the Host header is missing. Default `http://localhost`. */
  origin?: string;
}

function rawBodyOf(req: NodeRequest): Uint8Array | null {
  if (req.rawBody instanceof Uint8Array) return req.rawBody;
  if (req.body instanceof Uint8Array) return req.body;
  if (typeof req.body === 'string') return Buffer.from(req.body, 'utf8');
  return null;
}

/**
 * Mounts a Web-standard handler (`(Request) => Promise<Response>`) on
 * node:http or Express, keeping the body's raw bytes for signatures. Mount
 * it before any JSON body parser, or give it the bytes through
 * `express.raw()` (`req.body` Buffer) or `req.rawBody`.
 *
 * @example
 * http.createServer(toNodeHandler(createCloudWebhookHandler({ client: waba }))).listen(3000);
 */
export function toNodeHandler(
  handler: (request: Request) => Promise<Response>,
  options: NodeHandlerOptions = {},
): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  const origin = options.origin ?? 'http://localhost';
  return async (req, res) => {
    let response: Response;
    try {
      const nodeReq = req as NodeRequest;
      const url = new URL(
        nodeReq.originalUrl ?? req.url ?? '/',
        req.headers.host ? `http://${req.headers.host}` : origin,
      );
      const headers = new Headers();
      for (const [name, value] of Object.entries(req.headers)) {
        if (value === undefined) continue;
        for (const item of Array.isArray(value) ? value : [value]) headers.append(name, item);
      }
      const method = req.method ?? 'GET';
      let body: BodyInit | undefined;
      if (method !== 'GET' && method !== 'HEAD') {
        const given = rawBodyOf(nodeReq);
        if (given) body = given as Uint8Array<ArrayBuffer>;
        else if (req.readableEnded) {
          throw new LeadRelayError(
            'The request body was consumed by a body parser before the webhook handler',
            {
              code: 'raw_body_unavailable',
            },
          );
        } else {
          // Streamed, so the handler's size limit stops an oversized body early.
          body = Readable.toWeb(req) as unknown as ReadableStream<Uint8Array>;
        }
      }
      const init = { method, headers, ...(body ? { body, duplex: 'half' } : {}) } as RequestInit;
      response = await handler(new Request(url, init));
    } catch (error) {
      response = errorResponse(error);
    }
    res.statusCode = response.status;
    response.headers.forEach((value, name) => {
      res.setHeader(name, value);
    });
    res.end(Buffer.from(await response.arrayBuffer()));
  };
}
