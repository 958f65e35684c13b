import { PayloadTooLargeError } from '../errors/errors.js';

/**
 * The body limit of LeadRelay's webhook handlers and of `toNodeHandler`
 * unless told otherwise: 1 MiB. Meta's largest batches (1,000 changes) stay
 * well under it.
 */
export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;

/**
 * Reads a Web `Request` body as bytes, stopping as soon as it passes
 * `maxBytes` (a declared `Content-Length` over the limit is refused before
 * reading). Throws `PayloadTooLargeError` (413).
 *
 * @example const raw = await readBodyLimited(request, 1024 * 1024);
 */
export async function readBodyLimited(request: Request, maxBytes: number): Promise<Uint8Array> {
  const declared = request.headers.get('content-length');
  if (declared !== null && Number(declared) > maxBytes) throw new PayloadTooLargeError(maxBytes);
  if (request.body === null) return new Uint8Array(0);
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel().catch(() => {});
      throw new PayloadTooLargeError(maxBytes);
    }
    chunks.push(value);
  }
  if (chunks.length === 1) return chunks[0]!;
  const body = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    body.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return body;
}
