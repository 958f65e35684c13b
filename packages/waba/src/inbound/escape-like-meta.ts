import { escapeMetaSlashes, escapeMetaUnicode } from '@leadrelay/core';

/**
 * The body as Meta escapes it: every character outside ASCII as lower-case
 * `\uXXXX` (UTF-16 units, so an emoji becomes two escapes), and with
 * `slashes` every `/` not already escaped as `\/`.
 *
 * @deprecated Use core's `escapeMetaUnicode` and `escapeMetaSlashes`.
 * @example escapeLikeMeta('₹1.4 Cr') // '\\u20b91.4 Cr'
 */
export function escapeLikeMeta(text: string, options: { slashes?: boolean } = {}): string {
  const escaped = escapeMetaUnicode(text);
  return options.slashes ? escapeMetaSlashes(escaped) : escaped;
}
