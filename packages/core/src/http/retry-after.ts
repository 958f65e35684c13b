/**
 * Reads a `Retry-After` header (delay in seconds, or an HTTP date) as
 * milliseconds from `now`. Answers `undefined` when the header is absent or
 * unreadable, and never a negative number.
 *
 * @example parseRetryAfter(response.headers.get('retry-after')) // '2' → 2000
 */
export function parseRetryAfter(
  value: string | null | undefined,
  now: number = Date.now(),
): number | undefined {
  if (value === null || value === undefined) return undefined;
  const trimmed = value.trim();
  if (trimmed === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
  // Only an IMF-fixdate-like value counts as a date: Date.parse accepts far too much (`'1 2'`).
  if (!/[A-Za-z]{3}/.test(trimmed)) return undefined;
  const at = Date.parse(trimmed);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - now);
}
