import { Worker } from 'node:worker_threads';

/**
 * A provider stand-in: a node:http server on 127.0.0.1 in its own thread, so
 * the sender's event loop cannot delay its answers. Every POST is answered
 * `status` with `body`, where `{{n}}` becomes a per-request counter (unique
 * provider message ids), after `delayMs`.
 */
export interface ProviderStub {
  url: string;
  close(): Promise<void>;
}

export interface ProviderStubOptions {
  delayMs: number;
  status?: number;
  /** The JSON answer; `{{n}}` is replaced with a 10-digit counter. */
  body: string;
}

const source = `
const { parentPort, workerData } = require('node:worker_threads');
const { createServer } = require('node:http');
const [before, after] = workerData.body.split('{{n}}');
let n = 0;
const server = createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    const text = after === undefined ? before : before + String(++n).padStart(10, '0') + after;
    const answer = () => {
      res.writeHead(workerData.status, { 'content-type': 'application/json' });
      res.end(text);
    };
    if (workerData.delayMs > 0) setTimeout(answer, workerData.delayMs); else answer();
  });
});
server.listen(0, '127.0.0.1', () => parentPort.postMessage(server.address().port));
parentPort.on('message', () => { server.closeAllConnections(); server.close(() => process.exit(0)); });
`;

export async function startProviderStub(options: ProviderStubOptions): Promise<ProviderStub> {
  const worker = new Worker(source, {
    eval: true,
    workerData: { delayMs: options.delayMs, status: options.status ?? 200, body: options.body },
  });
  const port = await new Promise<number>((resolve) => worker.once('message', resolve));
  return {
    url: `http://127.0.0.1:${port}`,
    close: async () => {
      worker.postMessage('close');
      await new Promise((resolve) => worker.once('exit', resolve));
    },
  };
}

/** Meta's answer to an accepted Cloud API send (shared/fixtures/cloud-send-accepted.json), one wamid per request. */
export const cloudAcceptedBody = JSON.stringify({
  messaging_product: 'whatsapp',
  contacts: [{ input: '919845012345', wa_id: '919845012345' }],
  messages: [{ id: 'wamid.HBgMOTE5ODQ1MDEyMzQ1FQIAERgS{{n}}' }],
});
