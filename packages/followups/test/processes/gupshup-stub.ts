import { randomUUID } from 'node:crypto';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One send request as the stub received it, with what identifies the message it asks for. */
export interface GupshupArrival {
  /** 0-based, in arrival order. */
  index: number;
  /** The `apikey` header and `src.name`: the tenant's Gupshup app. */
  apiKey: string;
  app: string;
  /** The tenant's number and the lead's, digits only. */
  source: string;
  destination: string;
  /** The Gupshup template id and its parameters: the follow-up step. */
  templateId: string;
  params: unknown[];
  /** The `messageId` the stub answers (or would have answered) with. */
  messageId: string;
  /** `pending` until answered; `aborted` when the sender's connection closed before the answer. */
  state: 'pending' | 'answered' | 'aborted';
}

export interface GupshupStub {
  /** The base URL to give `createGupshupProvider`. */
  baseUrl: string;
  arrivals: GupshupArrival[];
  /** Requests received and not yet answered. */
  pending(): number;
  close(): Promise<void>;
}

export interface GupshupStubOptions {
  /** The answer waits a random delay in this range (ms), so requests are in flight when a sender dies. */
  delayMs: [number, number];
  /** Called synchronously on each arrival, before its answer is scheduled. */
  onArrival?: (arrival: GupshupArrival, stub: GupshupStub) => void;
}

/**
 * A local stand-in for Gupshup's template send API (`POST /wa/api/v1/template/msg`,
 * form-encoded, `apikey` header): records every request as it arrives, with no
 * deduplication (Gupshup has no idempotency key), and answers
 * `202 {"status":"submitted","messageId":…}` after a delay.
 */
export async function startGupshupStub(options: GupshupStubOptions): Promise<GupshupStub> {
  const arrivals: GupshupArrival[] = [];
  const waiting = new Set<ServerResponse>();
  const [minDelay, maxDelay] = options.delayMs;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.method !== 'POST' || req.url !== '/wa/api/v1/template/msg') {
        res.writeHead(404, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ status: 'error', message: `No route ${req.method} ${req.url}` }));
        return;
      }
      const form = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
      const template = JSON.parse(form.get('template') ?? '{}') as { id?: string; params?: unknown[] };
      const arrival: GupshupArrival = {
        index: arrivals.length,
        apiKey: String(req.headers.apikey ?? ''),
        app: form.get('src.name') ?? '',
        source: form.get('source') ?? '',
        destination: form.get('destination') ?? '',
        templateId: template.id ?? '',
        params: template.params ?? [],
        messageId: randomUUID(),
        state: 'pending',
      };
      arrivals.push(arrival);
      waiting.add(res);
      res.on('close', () => {
        waiting.delete(res);
        if (arrival.state === 'pending') arrival.state = 'aborted';
      });
      options.onArrival?.(arrival, stub);
      setTimeout(
        () => {
          if (arrival.state !== 'pending') return;
          arrival.state = 'answered';
          res.writeHead(202, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ status: 'submitted', messageId: arrival.messageId }));
        },
        minDelay + Math.random() * (maxDelay - minDelay),
      );
    });
  });
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const stub: GupshupStub = {
    baseUrl: `http://127.0.0.1:${port}`,
    arrivals,
    pending: () => waiting.size,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return stub;
}
