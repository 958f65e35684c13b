import { isLeadRelayError, ValidationError } from '@leadrelay/core';
import fc from 'fast-check';
import jsonLogic from 'json-logic-js';
import { describe, expect, it } from 'vitest';
import { compileCondition } from './compile-condition.js';
import { conditionIssues } from './condition-schema.js';
import { truthy } from './truthy.js';

const KEYS = ['a', 'b', 'c', 'n', 'list', 'obj'];

// JSON values the data holds, including the cases where loose equality and coercion differ.
const scalar = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.integer({ min: -5, max: 5 }),
  fc.constantFrom(0, 1, -1, 0.5, 10),
  fc.constantFrom('', '0', '1', 'a', 'b', 'abc', 'true', 'new', ' 1 '),
);
const dataValue = fc.oneof(
  { weight: 4, arbitrary: scalar },
  { weight: 1, arbitrary: fc.array(scalar, { maxLength: 4 }) },
  {
    weight: 1,
    arbitrary: fc.dictionary(fc.constantFrom('x', 'y'), scalar, { maxKeys: 2, noNullPrototype: true }),
  },
);
const data = fc.dictionary(fc.constantFrom(...KEYS), dataValue, { maxKeys: 6, noNullPrototype: true });

const path = fc.oneof(
  fc.constantFrom(...KEYS),
  fc.constantFrom(
    'obj.x',
    'obj.y',
    'list.0',
    'list.1',
    'missing.deep',
    '',
    'obj.x.length',
    'list.0.length',
    'a.b.c',
  ),
);

/** Standard JSON Logic expressions over the allow-listed operators. */
const { expr } = fc.letrec<{ expr: unknown; leaf: unknown }>((tie) => ({
  leaf: fc.oneof(
    scalar,
    path.map((p) => ({ var: p })),
    fc.tuple(path, scalar).map(([p, d]) => ({ var: [p, d] })),
  ),
  expr: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    tie('leaf'),
    fc
      .tuple(fc.constantFrom('==', '!=', '===', '!==', '<', '<=', '>', '>='), tie('expr'), tie('expr'))
      .map(([op, a, b]) => ({ [op]: [a, b] })),
    fc
      .tuple(fc.constantFrom('<', '<='), tie('expr'), tie('expr'), tie('expr'))
      .map(([op, a, b, c]) => ({ [op]: [a, b, c] })),
    fc.tuple(fc.constantFrom('!', '!!'), tie('expr')).map(([op, a]) => ({ [op]: [a] })),
    fc
      .tuple(fc.constantFrom('and', 'or'), fc.array(tie('expr'), { minLength: 1, maxLength: 5 }))
      .map(([op, xs]) => ({ [op]: xs })),
    fc.array(tie('expr'), { minLength: 1, maxLength: 5 }).map((xs) => ({ if: xs })),
    fc
      .tuple(
        tie('expr'),
        fc.oneof(fc.array(scalar, { maxLength: 12 }), tie('expr'), fc.string({ maxLength: 4 })),
      )
      .map(([a, b]) => ({ in: [a, b] })),
    fc.array(path, { minLength: 1, maxLength: 3 }).map((ps) => ({ missing: ps })),
    fc
      .tuple(fc.constantFrom('some', 'all', 'none'), tie('expr'), tie('expr'))
      .map(([op, list, pred]) => ({ [op]: [list, pred] })),
  ),
}));

describe('compileCondition', () => {
  it('agrees with json-logic-js apply on the standard operators (differential property)', () => {
    fc.assert(
      fc.property(expr, data, (logic, d) => {
        const compiled = compileCondition(logic);
        let expected: unknown;
        try {
          expected = jsonLogic.apply(logic, d);
        } catch {
          // Where the reference throws (comparing objects that have no primitive value), so must we.
          expect(() => compiled.evaluate(d)).toThrow();
          return;
        }
        expect(compiled.evaluate(d)).toEqual(expected);
        expect(compiled.test(d)).toBe(jsonLogic.truthy(expected));
      }),
      { numRuns: 3000 },
    );
  });

  it('evaluates the custom operators against the snapshot now', () => {
    const snapshot = {
      now: '2026-11-25T12:00:00.000Z',
      lead: {
        email: 'p@example.com',
        phone: null,
        name: 'Priya Sharma',
        tags: ['hot', 'pune'],
        createdAt: '2026-11-24T12:00:00.000Z',
      },
      items: [{ at: '2026-11-25T11:00:00.000Z' }],
    };
    expect(compileCondition({ exists: { var: 'lead.email' } }).test(snapshot)).toBe(true);
    expect(compileCondition({ exists: { var: 'lead.phone' } }).test(snapshot)).toBe(false);
    expect(compileCondition({ exists: { var: 'lead.nothing' } }).test(snapshot)).toBe(false);
    expect(compileCondition({ contains: [{ var: 'lead.name' }, 'SHARMA'] }).test(snapshot)).toBe(true);
    expect(compileCondition({ contains: [{ var: 'lead.tags' }, 'pune'] }).test(snapshot)).toBe(true);
    expect(compileCondition({ contains: [{ var: 'lead.tags' }, 'goa'] }).test(snapshot)).toBe(false);
    expect(compileCondition({ hours_since: { var: 'lead.createdAt' } }).evaluate(snapshot)).toBe(24);
    expect(compileCondition({ days_since: { var: 'lead.createdAt' } }).evaluate(snapshot)).toBe(1);
    expect(compileCondition({ hours_since: { var: 'lead.nothing' } }).evaluate(snapshot)).toBeNull();
    // Inside some/all/none the scope is the item, but `now` is still the snapshot's.
    expect(
      compileCondition({ some: [{ var: 'items' }, { '<': [{ hours_since: { var: 'at' } }, 2] }] }).test(
        snapshot,
      ),
    ).toBe(true);
  });

  it('refuses malformed conditions with the JSON path of the bad node', () => {
    const bad = { and: [{ '==': [{ var: 'lead.status' }, 'new'] }, { or: [{ '>': [1] }, { eval: 'x' }] }] };
    expect(conditionIssues(bad)).toEqual([
      { path: ['and', 1, 'or', 0, '>'], message: '">" takes 2 arguments, got 1' },
      { path: ['and', 1, 'or', 1, 'eval'], message: expect.stringContaining('unknown operator "eval"') },
    ]);
    try {
      compileCondition(bad);
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(ValidationError);
      expect(isLeadRelayError(error) && error.code).toBe('validation_failed');
      expect((error as ValidationError).issues[0]!.path).toEqual(['and', 1, 'or', 0, '>']);
    }
    expect(conditionIssues({ var: '__proto__.x' })[0]!.path).toEqual(['var']);
    expect(conditionIssues({ var: [{ var: 'a' }] })[0]!.message).toMatch(/literal path/);
    expect(conditionIssues({ a: 1, b: 2 })[0]!.message).toMatch(/exactly one operator/);
    expect(conditionIssues({ '==': [1, Number.NaN] })[0]!.path).toEqual(['==', 1]);
    let deep: unknown = true;
    for (let i = 0; i < 40; i++) deep = { '!': [deep] };
    expect(conditionIssues(deep)[0]!.message).toMatch(/nest at most/);
  });

  it('never runs user data as code', () => {
    const c = compileCondition({ '==': [{ var: 'x' }, 'process.exit(1)'] });
    expect(c.test({ x: 'process.exit(1)' })).toBe(true);
  });

  it('uses JSON Logic truthiness (empty arrays are false)', () => {
    expect(truthy([])).toBe(false);
    expect(truthy([0])).toBe(true);
    expect(truthy('0')).toBe(true);
    expect(truthy(0)).toBe(false);
  });
});
