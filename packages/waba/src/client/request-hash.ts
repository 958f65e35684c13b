import { createHash } from 'node:crypto';

/** JSON with object keys sorted, so equal requests hash equally whatever their key order. */
function stable(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (value instanceof Date) return JSON.stringify(value.toISOString());
  if (Array.isArray(value)) return `[${value.map(stable).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stable(v)}`).join(',')}}`;
}

/**
 * A SHA-256 fingerprint of a send request, independent of key order: the
 * ledger tells a retry (same fingerprint) from a key reused for another message.
 *
 * @example requestHash({ to: '+919812345678', message: { type: 'text', text: 'Hi' } })
 */
export function requestHash(request: unknown): string {
  return createHash('sha256').update(stable(request)).digest('hex');
}
