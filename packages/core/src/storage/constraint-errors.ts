import { ConflictError, type LeadRelayError, NotFoundError, ValidationError } from '../errors/errors.js';

/**
 * How a named database constraint surfaces to callers. Each store adapter
 * (memory or SQL) raises the same typed error for the same violated rule, so
 * callers branch on `code` without knowing which adapter they run on.
 */
export interface ConstraintRule {
  /** `unique` → ConflictError (409); `reference` → NotFoundError (404); `check` → ValidationError (400). */
  kind: 'unique' | 'reference' | 'check';
  code: string;
  message: string;
}

export type ConstraintRules = Readonly<Record<string, ConstraintRule>>;

/**
 * The typed error for a violated constraint, by its name in `rules`.
 *
 * @example throw constraintError(coreConstraints, 'leads_client_phone_key');
 */
export function constraintError(rules: ConstraintRules, name: string, cause?: unknown): LeadRelayError {
  const rule = rules[name];
  const details = { constraint: name };
  if (!rule) return new ConflictError(`Constraint ${name} was violated`, { details, cause });
  switch (rule.kind) {
    case 'unique':
      return new ConflictError(rule.message, { code: rule.code, details, cause });
    case 'reference':
      return new NotFoundError(rule.message, { code: rule.code, details, cause });
    case 'check':
      return new ValidationError(rule.message, { code: rule.code, details, cause });
  }
}

/**
 * Maps a Postgres constraint violation (unique 23505, foreign key 23503,
 * check 23514, not-null 23502) to the typed error its rule names (checks
 * without a rule become a plain ValidationError); returns the input unchanged
 * for any other error.
 *
 * @example
 * try { await db.query(sql, params); } catch (e) { throw translateConstraintViolation(e, coreConstraints); }
 */
export function translateConstraintViolation(error: unknown, rules: ConstraintRules): unknown {
  const pg = error as { code?: unknown; constraint?: unknown; column?: unknown };
  if (typeof pg?.code !== 'string') return error;
  const name = typeof pg.constraint === 'string' ? pg.constraint : '';
  switch (pg.code) {
    case '23505':
    case '23503':
      return constraintError(rules, name, error);
    case '23514':
    case '23502':
      if (rules[name]) return constraintError(rules, name, error);
      return new ValidationError(`Value rejected by the database (${name || String(pg.column ?? '')})`, {
        cause: error,
        details: { constraint: name || undefined },
      });
    default:
      return error;
  }
}
