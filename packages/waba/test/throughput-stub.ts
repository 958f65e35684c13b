import { type ChildProcess, fork } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { getPriority, setPriority, tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A Cloud API stand-in in its own process (so the sender's event loop cannot
 * delay its clock), at a raised scheduling priority where allowed: it records when each message arrives and, like the real
 * throughput limit, answers 429 with error 130429 to any message that would
 * make more than `limit` arrive within one second. `/warm-up` answers 204
 * and is not counted.
 */
export interface ThroughputStub {
  url: string;
  /** Arrival times (ms, the stub's clock) of accepted messages, and how many were refused. */
  stats(): Promise<{ arrivals: number[]; rejected: number; rejections: [number, number][] }>;
  /** Forgets what arrived so far (after a warm-up). */
  reset(): Promise<void>;
  close(): Promise<void>;
}

const source = `
const { createServer } = require('node:http');
const workerData = JSON.parse(process.env.STUB_OPTIONS);
const parentPort = { postMessage: (m) => process.send(m), on: (e, f) => process.on(e, f) };
const arrivals = [];
let rejected = 0;
let served = 0;
const rejections = [];
const server = createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    if (req.url === '/warm-up') {
      res.writeHead(204);
      res.end();
      return;
    }
    const at = performance.now();
    let inWindow = 0;
    for (let i = arrivals.length - 1; i >= 0 && arrivals[i] > at - 1000; i--) inWindow++;
    if (inWindow >= workerData.limit) {
      rejected++;
      rejections.push([arrivals.length, at - (arrivals[0] ?? at)]);
      res.writeHead(429, { 'content-type': 'application/json' });
      res.end(workerData.error);
      return;
    }
    arrivals.push(at);
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(workerData.accepted.replace('ERgSQjRCMDQ', 'ERgS' + String(++served).padStart(7, '0')));
  });
});
server.listen(0, '127.0.0.1', () => parentPort.postMessage({ port: server.address().port }));
parentPort.on('message', (m) => {
  if (m === 'stats') parentPort.postMessage({ arrivals, rejected, rejections });
  if (m === 'reset') { arrivals.length = 0; rejections.length = 0; rejected = 0; parentPort.postMessage({ reset: true }); }
  if (m === 'close') { server.closeAllConnections(); server.close(() => parentPort.postMessage({ closed: true })); }
});
`;

export async function startThroughputStub(options: {
  limit: number;
  accepted: string;
  error: string;
}): Promise<ThroughputStub> {
  const file = join(mkdtempSync(join(tmpdir(), 'waba-stub-')), 'stub.cjs');
  writeFileSync(file, source);
  const worker: ChildProcess = fork(file, [], {
    env: { ...process.env, STUB_OPTIONS: JSON.stringify(options) },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  raisePriority(worker.pid);
  const next = <T>() => new Promise<T>((resolve) => worker.once('message', (m) => resolve(m as T)));
  const { port } = await next<{ port: number }>();
  const url = `http://127.0.0.1:${port}`;
  // Open a few keep-alive connections first, as a running sender has: connection set-up is not what is measured.
  await Promise.all(Array.from({ length: 8 }, () => fetch(`${url}/warm-up`).then((r) => r.arrayBuffer())));
  return {
    url,
    async stats() {
      const answer = next<{ arrivals: number[]; rejected: number; rejections: [number, number][] }>();
      worker.send('stats');
      return answer;
    },
    async reset() {
      const done = next();
      worker.send('reset');
      await done;
    },
    async close() {
      const closed = next();
      worker.send('close');
      await closed;
      worker.kill();
    },
  };
}

/**
 * Timing tests share two cores with every other test file: a higher
 * scheduling priority (root only; ignored otherwise) keeps the operating
 * system from pausing the measured processes for tens of milliseconds.
 */
export function raisePriority(pid = 0): () => void {
  try {
    const before = getPriority(pid);
    setPriority(pid, -15);
    return () => setPriority(pid, before);
  } catch {
    // Not permitted: measure at normal priority.
    return () => {};
  }
}

/** The most arrivals inside any window of `ms` milliseconds (`times` in ascending order). */
export function busiestWindow(times: number[], ms: number): number {
  let worst = 0;
  for (let i = 0, j = 0; i < times.length; i++) {
    while (times[i]! - times[j]! >= ms) j++;
    worst = Math.max(worst, i - j + 1);
  }
  return worst;
}
