/**
 * The operators a follow-up condition may use. Anything else is refused when
 * the campaign is saved, so stored conditions only ever name these.
 */
export const STANDARD_OPERATORS = [
  '==',
  '!=',
  '===',
  '!==',
  '<',
  '<=',
  '>',
  '>=',
  'in',
  '!',
  '!!',
  'and',
  'or',
  'if',
  '?:',
  'var',
  'missing',
  'some',
  'all',
  'none',
] as const;

/** LeadRelay's additions, evaluated against the snapshot's `now` where time matters. */
export const CUSTOM_OPERATORS = ['exists', 'contains', 'hours_since', 'days_since'] as const;

export type ConditionOperator = (typeof STANDARD_OPERATORS)[number] | (typeof CUSTOM_OPERATORS)[number];

export const CONDITION_OPERATORS: ReadonlySet<string> = new Set<string>([
  ...STANDARD_OPERATORS,
  ...CUSTOM_OPERATORS,
]);

/** Property names a `var` path may never walk through (prototype access). */
export const FORBIDDEN_PATH_SEGMENTS: ReadonlySet<string> = new Set([
  '__proto__',
  'prototype',
  'constructor',
]);
