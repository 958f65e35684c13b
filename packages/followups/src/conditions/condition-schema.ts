import type { ValidationIssue } from '@leadrelay/core';
import { z } from 'zod';
import { CONDITION_OPERATORS, FORBIDDEN_PATH_SEGMENTS } from './operators.js';

/** A JSON Logic expression as stored: validated by {@link conditionSchema} before use. */
export type Condition = null | boolean | number | string | Condition[] | { [operator: string]: unknown };

const MAX_DEPTH = 32;
const MAX_NODES = 1000;

interface WalkState {
  nodes: number;
  issues: ValidationIssue[];
}

type Path = (string | number)[];

/**
 * Lists what is wrong with a condition, each issue carrying the JSON path of
 * the bad node (relative to the condition). An empty list means the compiler
 * accepts it.
 *
 * @example conditionIssues({ '>': [{ var: 'lead.answers.budget' }] })
 * // [{ path: ['>'], message: '">" takes 2 arguments, got 1' }]
 */
export function conditionIssues(value: unknown): ValidationIssue[] {
  const state: WalkState = { nodes: 0, issues: [] };
  walk(value, [], 0, state);
  return state.issues;
}

/**
 * The zod schema for a stored condition: any JSON value that
 * {@link conditionIssues} accepts. Issues keep the path of the bad node, so a
 * campaign save reports e.g. `steps.1.condition.and.0.==`.
 *
 * @example conditionSchema.parse({ '==': [{ var: 'lead.status' }, 'new'] })
 */
export const conditionSchema: z.ZodType<Condition> = z.unknown().superRefine((value, ctx) => {
  for (const issue of conditionIssues(value)) {
    ctx.addIssue({ code: 'custom', message: issue.message, path: issue.path });
  }
}) as unknown as z.ZodType<Condition>;

function issue(state: WalkState, path: Path, message: string): void {
  state.issues.push({ path, message });
}

function walk(node: unknown, path: Path, depth: number, state: WalkState): void {
  state.nodes++;
  if (state.nodes === MAX_NODES + 1) issue(state, path, `a condition may have at most ${MAX_NODES} nodes`);
  if (state.nodes > MAX_NODES) return;
  if (depth > MAX_DEPTH) {
    issue(state, path, `a condition may nest at most ${MAX_DEPTH} levels`);
    return;
  }
  if (node === null || typeof node === 'boolean' || typeof node === 'string') return;
  if (typeof node === 'number') {
    if (!Number.isFinite(node)) issue(state, path, 'numbers must be finite');
    return;
  }
  if (Array.isArray(node)) {
    for (const [i, item] of node.entries()) walk(item, [...path, i], depth + 1, state);
    return;
  }
  if (typeof node !== 'object') {
    issue(state, path, `a condition holds JSON values only, not ${typeof node}`);
    return;
  }
  const keys = Object.keys(node);
  if (keys.length !== 1) {
    issue(state, path, `an operation is an object with exactly one operator key, got ${keys.length} keys`);
    return;
  }
  const op = keys[0]!;
  const opPath = [...path, op];
  if (!CONDITION_OPERATORS.has(op)) {
    issue(state, opPath, `unknown operator "${op}"; allowed: ${[...CONDITION_OPERATORS].join(', ')}`);
    return;
  }
  const raw = (node as Record<string, unknown>)[op];
  const args = Array.isArray(raw) ? raw : [raw];
  const argPath = (i: number): Path => (Array.isArray(raw) ? [...opPath, i] : opPath);
  const arity = (min: number, max: number): boolean => {
    if (args.length >= min && args.length <= max) return true;
    const wanted = min === max ? `${min}` : max === Infinity ? `at least ${min}` : `${min} to ${max}`;
    issue(
      state,
      opPath,
      `"${op}" takes ${wanted} argument${min === 1 && max === 1 ? '' : 's'}, got ${args.length}`,
    );
    return false;
  };
  const walkArgs = () => {
    for (const [i, a] of args.entries()) walk(a, argPath(i), depth + 1, state);
  };

  switch (op) {
    case 'var': {
      if (!arity(1, 2)) return;
      const p = args[0];
      if (
        !(p === null || typeof p === 'string' || (typeof p === 'number' && Number.isInteger(p) && p >= 0))
      ) {
        issue(
          state,
          argPath(0),
          '"var" takes a literal path (a string such as "lead.name" or an array index)',
        );
        return;
      }
      if (typeof p === 'string') {
        for (const segment of p.split('.')) {
          if (FORBIDDEN_PATH_SEGMENTS.has(segment)) {
            issue(state, argPath(0), `"var" path may not use "${segment}"`);
          }
        }
      }
      if (args.length === 2) walk(args[1], argPath(1), depth + 1, state);
      return;
    }
    case 'missing': {
      if (!arity(1, Infinity)) return;
      walkArgs();
      return;
    }
    case '!':
    case '!!':
    case 'exists':
    case 'hours_since':
    case 'days_since':
      if (arity(1, 1)) walkArgs();
      return;
    case '<':
    case '<=':
      if (arity(2, 3)) walkArgs();
      return;
    case 'and':
    case 'or':
    case 'if':
    case '?:':
      if (!Array.isArray(raw)) {
        issue(state, opPath, `"${op}" takes an array of arguments`);
        return;
      }
      if (arity(1, Infinity)) walkArgs();
      return;
    default:
      // ==, !=, ===, !==, >, >=, in, contains, some, all, none: two arguments.
      if (!Array.isArray(raw)) {
        issue(state, opPath, `"${op}" takes an array of 2 arguments`);
        return;
      }
      if (arity(2, 2)) walkArgs();
  }
}
