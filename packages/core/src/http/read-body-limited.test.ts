import { describe, expect, it } from 'vitest';
import { isLeadRelayError } from '../errors/errors.js';
import { readBodyLimited } from './read-body-limited.js';

/** A streamed request body from chunks, recording how far it was pulled and whether it was cancelled. */
function streamedRequest(chunks: Uint8Array[], headers: HeadersInit = {}) {
  const state = { pulled: 0, cancelled: false };
  const body = new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        const chunk = chunks[state.pulled++];
        if (chunk === undefined) controller.close();
        else controller.enqueue(chunk);
      },
      cancel() {
        state.cancelled = true;
      },
    },
    { highWaterMark: 0 },
  );
  const request = new Request('https://hooks.example.com/x', {
    method: 'POST',
    body,
    headers,
    duplex: 'half',
  } as RequestInit);
  return { request, state };
}

async function codeOf(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(
    () => new Error('expected a rejection'),
    (e: unknown) => e,
  );
  return isLeadRelayError(error) ? `${error.status} ${error.code}` : String(error);
}

describe('readBodyLimited', () => {
  it('joins the chunks into the exact bytes, up to and including the limit', async () => {
    const { request } = streamedRequest([Uint8Array.of(1, 2), Uint8Array.of(), Uint8Array.of(3, 0xff)]);
    expect(await readBodyLimited(request, 4)).toEqual(Uint8Array.of(1, 2, 3, 0xff));
    expect(await readBodyLimited(new Request('https://x.example/', { method: 'POST' }), 0)).toEqual(
      new Uint8Array(0),
    );
  });

  it('refuses a declared Content-Length over the limit before reading anything', async () => {
    const { request, state } = streamedRequest([Uint8Array.of(1)], { 'content-length': '5' });
    expect(await codeOf(readBodyLimited(request, 4))).toBe('413 payload_too_large');
    expect(state.pulled).toBe(0);
  });

  it('stops a stream as soon as it passes the limit and cancels the rest', async () => {
    const chunk = new Uint8Array(1024);
    const { request, state } = streamedRequest(Array.from({ length: 100 }, () => chunk));
    expect(await codeOf(readBodyLimited(request, 2048))).toBe('413 payload_too_large');
    expect(state.pulled).toBeLessThan(10);
    expect(state.cancelled).toBe(true);
  });
});
