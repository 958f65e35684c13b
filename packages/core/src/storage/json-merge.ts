import { ConflictError, ValidationError } from '../errors/errors.js';

/** Keys to set in and remove from a JSON record field. */
export interface JsonMerge {
  set?: Record<string, unknown>;
  /** Keys merged into the object under a key (created when missing, replaced when not an object). */
  patch?: Record<string, Record<string, unknown>>;
  remove?: string[];
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** A record with `merge` applied: keys set, then patched, then removed (a removed key ends up removed). */
export function applyJsonMerge(record: Record<string, unknown>, merge: JsonMerge): Record<string, unknown> {
  const next = { ...record, ...(merge.set ?? {}) };
  for (const [key, fields] of Object.entries(merge.patch ?? {})) {
    const current = next[key];
    next[key] = { ...(isRecord(current) ? current : {}), ...fields };
  }
  for (const key of merge.remove ?? []) delete next[key];
  return next;
}

/** A patch may replace a field or merge into it, not both: the result would depend on the order. */
export function assertOneWrite(field: string, replace: unknown, merge: unknown): void {
  if (replace !== undefined && merge !== undefined) {
    throw new ValidationError(`A lead patch takes either ${field} or its merge, not both`, {
      code: 'patch_invalid',
      details: { field },
    });
  }
}

/** The lead changed since the caller read it. */
export function leadModified(id: string, expectedUpdatedAt: Date): ConflictError {
  return new ConflictError('The lead was changed since it was read', {
    code: 'lead_modified',
    details: { leadId: id, expectedUpdatedAt: expectedUpdatedAt.toISOString() },
  });
}
