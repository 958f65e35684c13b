import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ValidationError } from '../errors/errors.js';
import { leadInputSchema } from './domain.js';
import { parseOrThrow } from './parse.js';

function validationError(fn: () => unknown): ValidationError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationError);
    return error as ValidationError;
  }
  throw new Error('expected a ValidationError');
}

describe('parseOrThrow', () => {
  const schema = z.object({
    lead: z.object({ phone: z.string().regex(/^\+\d+$/), tags: z.array(z.string()) }),
    count: z.number().int(),
  });

  it('returns the parsed value, defaults applied', () => {
    const lead = parseOrThrow(leadInputSchema, { clientAccountId: 't1', phone: '+919812345678' }, 'lead');
    expect(lead).toMatchObject({
      clientAccountId: 't1',
      phone: '+919812345678',
      source: 'WA Direct',
      answers: {},
    });
  });

  it('reports the path of every bad field, the first one in the message', () => {
    const error = validationError(() =>
      parseOrThrow(schema, { lead: { phone: '98123', tags: ['a', 7] }, count: 1.5 }, 'webhook body'),
    );
    expect(error.code).toBe('validation_failed');
    expect(error.status).toBe(400);
    expect(error.issues.map((i) => i.path)).toEqual([['lead', 'phone'], ['lead', 'tags', 1], ['count']]);
    expect(error.message).toMatch(/^Invalid webhook body at lead\.phone: /);
    expect(error.details).toEqual({ issues: error.issues });
    for (const issue of error.issues) expect(issue.message).toEqual(expect.any(String));
  });

  it('names the input when the root itself is wrong', () => {
    const error = validationError(() => parseOrThrow(schema, 'not an object'));
    expect(error.issues[0]!.path).toEqual([]);
    expect(error.message).toMatch(/^Invalid input: /);
  });

  it('reports the path into a domain schema', () => {
    const error = validationError(() =>
      parseOrThrow(leadInputSchema, { clientAccountId: 't1', phone: '09876543210', email: 'nope' }, 'lead'),
    );
    expect(error.issues.map((i) => i.path)).toEqual([['phone'], ['email']]);
    expect(error.issues[0]!.message).toBe('must be an E.164 phone number');
  });
});
