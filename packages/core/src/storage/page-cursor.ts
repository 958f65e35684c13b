import { ValidationError } from '../errors/errors.js';
import type { ListOptions } from './ports.js';

/**
 * Keyset pagination shared by every store: a page ends at a row's sort
 * timestamp and id, and the next page starts strictly after it. The cursor
 * is opaque to callers (base64url JSON), stable under concurrent inserts and
 * identical between the memory and SQL adapters.
 */
export interface CursorPosition {
  /** The sort timestamp of the last row on the page (millisecond precision). */
  at: Date;
  /** The id of that row: breaks ties between rows with the same timestamp. */
  id: string;
}

/** Page size when the caller gives none. */
export const DEFAULT_PAGE_LIMIT = 50;
/** The largest page a store returns, whatever the caller asks for. */
export const MAX_PAGE_LIMIT = 500;

/**
 * Encodes the position after which the next page starts.
 *
 * @example const nextCursor = encodeCursor({ at: last.createdAt, id: last.id });
 */
export function encodeCursor(position: CursorPosition): string {
  return Buffer.from(JSON.stringify([position.at.toISOString(), position.id]), 'utf8').toString('base64url');
}

/**
 * Decodes a cursor from `encodeCursor`; anything else is a ValidationError
 * with code `cursor_invalid` (a client bug, never a 5xx).
 *
 * @example const after = options.cursor ? decodeCursor(options.cursor) : null;
 */
export function decodeCursor(cursor: string): CursorPosition {
  const invalid = () => new ValidationError('Invalid pagination cursor', { code: 'cursor_invalid' });
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw invalid();
  }
  if (!Array.isArray(value) || value.length !== 2) throw invalid();
  const [at, id] = value as unknown[];
  if (typeof at !== 'string' || typeof id !== 'string' || id.length === 0) throw invalid();
  const date = new Date(at);
  if (Number.isNaN(date.getTime())) throw invalid();
  return { at: date, id };
}

/**
 * The page size to fetch: `DEFAULT_PAGE_LIMIT` when unset, capped at
 * `MAX_PAGE_LIMIT`; a non-positive or fractional limit is a ValidationError.
 *
 * @example const limit = pageLimit(options);
 */
export function pageLimit(options: ListOptions = {}): number {
  const limit = options.limit ?? DEFAULT_PAGE_LIMIT;
  if (!Number.isInteger(limit) || limit < 1) {
    throw new ValidationError('limit must be a positive integer', {
      code: 'validation_failed',
      issues: [{ path: ['limit'], message: 'must be a positive integer' }],
    });
  }
  return Math.min(limit, MAX_PAGE_LIMIT);
}
