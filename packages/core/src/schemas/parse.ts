import type { z } from 'zod';
import { ValidationError } from '../errors/errors.js';

/**
 * Parses untrusted input with a zod schema; on failure throws a
 * `ValidationError` whose issues carry the path of each bad field.
 *
 * @example const lead = parseOrThrow(leadInputSchema, body, 'lead');
 */
export function parseOrThrow<S extends z.ZodType>(schema: S, input: unknown, what = 'input'): z.output<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const issues = result.error.issues.map((issue) => ({
    path: issue.path.filter((p): p is string | number => typeof p !== 'symbol'),
    message: issue.message,
  }));
  const first = issues[0];
  const where = first?.path.length ? ` at ${first.path.join('.')}` : '';
  throw new ValidationError(`Invalid ${what}${where}: ${first?.message ?? 'does not match the schema'}`, {
    issues,
  });
}
