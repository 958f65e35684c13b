/**
 * Meta computes `X-Hub-Signature-256` over the body as its JSON encoder wrote
 * it: every non-ASCII character as a lower-case `\uXXXX` escape (UTF-16 code
 * units, so an emoji becomes a surrogate pair) and, in most payloads, `/` as
 * `\/`. A proxy or framework that decoded those escapes leaves literal UTF-8
 * behind; re-escaping recovers the bytes Meta signed.
 */

const HEX = '0123456789abcdef';

/**
 * Escapes every non-ASCII UTF-16 code unit of `text` as a lower-case `\uXXXX`
 * sequence and returns `text` itself when there is none.
 *
 * @example escapeMetaUnicode('₹1.4 Cr') // '\\u20b91.4 Cr'
 */
export function escapeMetaUnicode(text: string): string {
  let out = '';
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x80) continue;
    out +=
      text.slice(start, i) +
      '\\u' +
      HEX[(code >> 12) & 15] +
      HEX[(code >> 8) & 15] +
      HEX[(code >> 4) & 15] +
      HEX[code & 15];
    start = i + 1;
  }
  return start === 0 ? text : out + text.slice(start);
}

/**
 * Escapes every `/` that is not already escaped as `\/`. A slash preceded by
 * an odd run of backslashes is already an escape and stays as it is.
 *
 * @example escapeMetaSlashes('{"url":"https://fb.me"}') // '{"url":"https:\\/\\/fb.me"}'
 */
export function escapeMetaSlashes(text: string): string {
  if (!text.includes('/')) return text;
  return text.replace(/(\\*)\//g, (match, backslashes: string) =>
    backslashes.length % 2 === 0 ? `${backslashes}\\/` : match,
  );
}
