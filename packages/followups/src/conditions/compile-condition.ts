// biome-ignore-all lint/suspicious/noExplicitAny: JSON Logic compares and indexes untyped JSON values with JavaScript's own semantics
import { ValidationError } from '@leadrelay/core';
import { type Condition, conditionIssues } from './condition-schema.js';
import { COMPARE_CODES, type Evaluator, fusedCompare, fusedIn, fusedTruthy } from './fused-path-readers.js';
import { truthy } from './truthy.js';

/**
 * Evaluates one node: `data` is the current scope (the snapshot, or an array
 * item inside `some`/`all`/`none`), `root` is always the whole snapshot.
 */
interface Node {
  fn: Evaluator;
  /** Set when the node's value never depends on the data. */
  constant: boolean;
  value?: unknown;
  /** The node always yields a boolean, so `truthy` can be skipped. */
  boolean: boolean;
  /** For `var` with a literal path and a constant default: what fused readers need. */
  path?: { keys: string[]; nf: unknown };
}

/** A condition compiled once into a tree of closures (no code generation). */
export interface CompiledCondition {
  readonly source: Condition;
  /** The JSON Logic value of the condition for this snapshot. */
  evaluate(snapshot: unknown): unknown;
  /** Whether the condition holds (JSON Logic truthiness of its value). */
  test(snapshot: unknown): boolean;
}

/**
 * Validates and compiles a JSON Logic condition (LeadRelay's allow-listed
 * subset) into closures. Compile once per campaign version, then evaluate
 * against many snapshots. Throws `ValidationError` with the path of each bad
 * node.
 *
 * @example
 * const c = compileCondition({ '>': [{ var: 'lead.answers.budget' }, 50] });
 * c.test({ lead: { answers: { budget: 80 } } }); // true
 */
export function compileCondition(condition: unknown): CompiledCondition {
  const issues = conditionIssues(condition);
  if (issues.length > 0) {
    const first = issues[0]!;
    const where = first.path.length ? ` at ${first.path.join('.')}` : '';
    throw new ValidationError(`Invalid condition${where}: ${first.message}`, { issues });
  }
  const node = compile(condition);
  const fn = node.fn;
  const test: (snapshot: unknown) => boolean = node.constant
    ? (
        (v: boolean) => () =>
          v
      )(truthy(node.value))
    : node.boolean
      ? (s) => fn(s, s) as boolean
      : (s) => truthy(fn(s, s));
  return {
    source: condition as Condition,
    evaluate: (snapshot) => fn(snapshot, snapshot),
    test,
  };
}

function constant(value: unknown): Node {
  return { fn: () => value, constant: true, value, boolean: typeof value === 'boolean' };
}

function dynamic(fn: Evaluator, boolean = false): Node {
  return { fn, constant: false, boolean };
}

function compile(node: unknown): Node {
  if (node === null || typeof node !== 'object') return constant(node);
  if (Array.isArray(node)) {
    const items = node.map(compile);
    if (items.every((i) => i.constant)) return constant(items.map((i) => i.value));
    const fns = items.map((i) => i.fn);
    return dynamic((d, r) => fns.map((f) => f(d, r)));
  }
  const op = Object.keys(node)[0]!;
  const raw = (node as Record<string, unknown>)[op];
  const rawArgs = Array.isArray(raw) ? raw : [raw];
  if (op === 'var') return compileVar(rawArgs);
  const args = rawArgs.map(compile);
  switch (op) {
    case '==':
    case '!=':
    case '===':
    case '!==':
    case '>':
    case '>=':
      return compileBinary(op, args[0]!, args[1]!);
    case '<':
    case '<=':
      return args.length === 2 ? compileBinary(op, args[0]!, args[1]!) : compileBetween(op, args);
    case '!':
      return compileNot(args[0]!, true);
    case '!!':
      return compileNot(args[0]!, false);
    case 'and':
      return compileAndOr(args, true);
    case 'or':
      return compileAndOr(args, false);
    case 'if':
    case '?:':
      return compileIf(args);
    case 'in':
      return compileIn(args[0]!, args[1]!);
    case 'missing':
      return compileMissing(args);
    case 'some':
    case 'all':
    case 'none':
      return compileQuantifier(op, args[0]!, args[1]!);
    case 'exists': {
      const a = args[0]!.fn;
      return dynamic((d, r) => {
        const v = a(d, r);
        return v !== null && v !== undefined;
      }, true);
    }
    case 'contains':
      return compileContains(args[0]!, args[1]!);
    case 'hours_since':
      return compileSince(args[0]!, 3_600_000);
    case 'days_since':
      return compileSince(args[0]!, 86_400_000);
    default:
      // Unreachable: validation admits only the operators above.
      throw new ValidationError(`Unknown operator "${op}"`, { issues: [{ path: [op], message: 'unknown' }] });
  }
}

// -- var ---------------------------------------------------------------------

function compileVar(args: unknown[]): Node {
  const path = args[0];
  const fallback = args.length > 1 ? compile(args[1]) : constant(null);
  const keys = path === null || path === undefined || path === '' ? [] : String(path).split('.');
  if (fallback.constant) {
    const nf = fallback.value;
    const node = compileStaticVar(keys, nf);
    if (keys.length > 0) node.path = { keys, nf };
    return node;
  }
  const nfFn = fallback.fn;
  return dynamic((d, r) => {
    const v = lookup(d, keys, undefined);
    return v === undefined ? nfFn(d, r) : v;
  });
}

function compileStaticVar(keys: string[], nf: unknown): Node {
  switch (keys.length) {
    case 0:
      return dynamic((d) => d);
    case 1: {
      const [k0] = keys as [string];
      return dynamic((d) => {
        if (d === null || d === undefined) return nf;
        const v = d[k0];
        return v === undefined ? nf : v;
      });
    }
    case 2: {
      const [k0, k1] = keys as [string, string];
      return dynamic((d) => {
        if (d === null || d === undefined) return nf;
        let v = d[k0];
        if (v === undefined || v === null) return nf;
        v = v[k1];
        return v === undefined ? nf : v;
      });
    }
    case 3: {
      const [k0, k1, k2] = keys as [string, string, string];
      return dynamic((d) => {
        if (d === null || d === undefined) return nf;
        let v = d[k0];
        if (v === undefined || v === null) return nf;
        v = v[k1];
        if (v === undefined || v === null) return nf;
        v = v[k2];
        return v === undefined ? nf : v;
      });
    }
    default:
      return dynamic((d) => lookup(d, keys, nf));
  }
}

function lookup(data: any, keys: readonly string[], notFound: unknown): unknown {
  let v = data;
  for (const k of keys) {
    if (v === null || v === undefined) return notFound;
    v = v[k];
    if (v === undefined) return notFound;
  }
  return v;
}

// -- comparisons -------------------------------------------------------------

type Binary = [
  (a: Evaluator, b: Evaluator) => Evaluator,
  (a: Evaluator, b: any) => Evaluator,
  (a: any, b: Evaluator) => Evaluator,
  (a: any, b: any) => boolean,
];

// One closure literal per operator and shape, so each keeps its own type feedback.
// biome-ignore-start lint/suspicious/noDoubleEquals: JSON Logic's == and != are JavaScript's loose comparisons
const BINARY: Record<string, Binary> = {
  '==': [
    (a, b) => (d, r) => a(d, r) == b(d, r),
    (a, b) => (d, r) => a(d, r) == b,
    (a, b) => (d, r) => a == b(d, r),
    (a, b) => a == b,
  ],
  '!=': [
    (a, b) => (d, r) => a(d, r) != b(d, r),
    (a, b) => (d, r) => a(d, r) != b,
    (a, b) => (d, r) => a != b(d, r),
    (a, b) => a != b,
  ],
  '===': [
    (a, b) => (d, r) => a(d, r) === b(d, r),
    (a, b) => (d, r) => a(d, r) === b,
    (a, b) => (d, r) => a === b(d, r),
    (a, b) => a === b,
  ],
  '!==': [
    (a, b) => (d, r) => a(d, r) !== b(d, r),
    (a, b) => (d, r) => a(d, r) !== b,
    (a, b) => (d, r) => a !== b(d, r),
    (a, b) => a !== b,
  ],
  '<': [
    (a, b) => (d, r) => (a(d, r) as any) < (b(d, r) as any),
    (a, b) => (d, r) => (a(d, r) as any) < b,
    (a, b) => (d, r) => a < (b(d, r) as any),
    (a, b) => a < b,
  ],
  '<=': [
    (a, b) => (d, r) => (a(d, r) as any) <= (b(d, r) as any),
    (a, b) => (d, r) => (a(d, r) as any) <= b,
    (a, b) => (d, r) => a <= (b(d, r) as any),
    (a, b) => a <= b,
  ],
  '>': [
    (a, b) => (d, r) => (a(d, r) as any) > (b(d, r) as any),
    (a, b) => (d, r) => (a(d, r) as any) > b,
    (a, b) => (d, r) => a > (b(d, r) as any),
    (a, b) => a > b,
  ],
  '>=': [
    (a, b) => (d, r) => (a(d, r) as any) >= (b(d, r) as any),
    (a, b) => (d, r) => (a(d, r) as any) >= b,
    (a, b) => (d, r) => a >= (b(d, r) as any),
    (a, b) => a >= b,
  ],
};
// biome-ignore-end lint/suspicious/noDoubleEquals: JSON Logic's == and != are JavaScript's loose comparisons

function compileBinary(op: string, a: Node, b: Node): Node {
  const [both, right, left, fold] = BINARY[op]!;
  if (a.constant && b.constant) return constant(fold(a.value, b.value));
  if (b.constant && a.path) {
    const fused = fusedCompare(a.path.keys, a.path.nf, COMPARE_CODES[op]!, b.value);
    if (fused) return dynamic(fused, true);
  }
  if (b.constant) return dynamic(right(a.fn, b.value), true);
  if (a.constant) return dynamic(left(a.value, b.fn), true);
  return dynamic(both(a.fn, b.fn), true);
}

function compileBetween(op: '<' | '<=', args: Node[]): Node {
  const [a, b, c] = args.map((n) => n.fn) as [Evaluator, Evaluator, Evaluator];
  if (op === '<') {
    return dynamic((d, r) => {
      const y = b(d, r) as any;
      return (a(d, r) as any) < y && y < (c(d, r) as any);
    }, true);
  }
  return dynamic((d, r) => {
    const y = b(d, r) as any;
    return (a(d, r) as any) <= y && y <= (c(d, r) as any);
  }, true);
}

// -- logic -------------------------------------------------------------------

function compileNot(arg: Node, negate: boolean): Node {
  if (arg.constant) return constant(negate ? !truthy(arg.value) : truthy(arg.value));
  if (arg.path) {
    const fused = fusedTruthy(arg.path.keys, arg.path.nf, negate);
    if (fused) return dynamic(fused, true);
  }
  const a = arg.fn;
  if (arg.boolean) return negate ? dynamic((d, r) => !a(d, r), true) : arg;
  return negate ? dynamic((d, r) => !truthy(a(d, r)), true) : dynamic((d, r) => truthy(a(d, r)), true);
}

function compileAndOr(args: Node[], isAnd: boolean): Node {
  const allBoolean = args.every((n) => n.boolean);
  const fns = args.map((n) => n.fn);
  if (allBoolean) {
    // Each child yields a boolean, so the first decisive child's value is the answer.
    if (isAnd) {
      switch (fns.length) {
        case 1:
          return args[0]!;
        case 2: {
          const [a, b] = fns as [Evaluator, Evaluator];
          return dynamic((d, r) => (a(d, r) as boolean) && (b(d, r) as boolean), true);
        }
        case 3: {
          const [a, b, c] = fns as [Evaluator, Evaluator, Evaluator];
          return dynamic(
            (d, r) => (a(d, r) as boolean) && (b(d, r) as boolean) && (c(d, r) as boolean),
            true,
          );
        }
        case 4: {
          const [a, b, c, e] = fns as [Evaluator, Evaluator, Evaluator, Evaluator];
          return dynamic(
            (d, r) =>
              (a(d, r) as boolean) && (b(d, r) as boolean) && (c(d, r) as boolean) && (e(d, r) as boolean),
            true,
          );
        }
        default:
          return dynamic((d, r) => {
            for (const f of fns) if (!f(d, r)) return false;
            return true;
          }, true);
      }
    }
    switch (fns.length) {
      case 1:
        return args[0]!;
      case 2: {
        const [a, b] = fns as [Evaluator, Evaluator];
        return dynamic((d, r) => (a(d, r) as boolean) || (b(d, r) as boolean), true);
      }
      case 3: {
        const [a, b, c] = fns as [Evaluator, Evaluator, Evaluator];
        return dynamic((d, r) => (a(d, r) as boolean) || (b(d, r) as boolean) || (c(d, r) as boolean), true);
      }
      default:
        return dynamic((d, r) => {
          for (const f of fns) if (f(d, r)) return true;
          return false;
        }, true);
    }
  }
  // General form: `and` returns the first falsy value or the last; `or` the first truthy or the last.
  if (isAnd) {
    return dynamic((d, r) => {
      let v: unknown;
      for (const f of fns) {
        v = f(d, r);
        if (!truthy(v)) return v;
      }
      return v;
    });
  }
  return dynamic((d, r) => {
    let v: unknown;
    for (const f of fns) {
      v = f(d, r);
      if (truthy(v)) return v;
    }
    return v;
  });
}

function compileIf(args: Node[]): Node {
  const fns = args.map((n) => n.fn);
  const allBoolean =
    args.length % 2 === 1 && args.every((n, i) => n.boolean || (i % 2 === 0 && i < args.length - 1));
  if (fns.length === 3) {
    const [c, t, e] = fns as [Evaluator, Evaluator, Evaluator];
    return dynamic((d, r) => (truthy(c(d, r)) ? t(d, r) : e(d, r)), allBoolean);
  }
  return dynamic((d, r) => {
    let i = 0;
    for (; i < fns.length - 1; i += 2) {
      if (truthy(fns[i]!(d, r))) return fns[i + 1]!(d, r);
    }
    return i === fns.length - 1 ? fns[i]!(d, r) : null;
  }, false);
}

// -- membership and text -----------------------------------------------------

function compileIn(needle: Node, haystack: Node): Node {
  const a = needle.fn;
  if (haystack.constant) {
    const h = haystack.value as any;
    if (!h || typeof h.indexOf !== 'function') return constant(false);
    if (Array.isArray(h) && h.length > 8 && h.every((x) => x === null || typeof x !== 'object')) {
      // Set.has equals indexOf (strict equality) for JSON primitives; NaN never comes from JSON literals.
      const set = new Set(h);
      return dynamic((d, r) => set.has(a(d, r)), true);
    }
    if (needle.constant) return constant(h.indexOf(needle.value) !== -1);
    if (needle.path && Array.isArray(h)) {
      const fused = fusedIn(needle.path.keys, needle.path.nf, h);
      if (fused) return dynamic(fused, true);
    }
    return dynamic((d, r) => h.indexOf(a(d, r)) !== -1, true);
  }
  const b = haystack.fn;
  return dynamic((d, r) => {
    const x = a(d, r);
    const h = b(d, r) as any;
    if (!h || typeof h.indexOf !== 'function') return false;
    return h.indexOf(x) !== -1;
  }, true);
}

function compileContains(haystack: Node, needle: Node): Node {
  const h = haystack.fn;
  const n = needle.fn;
  return dynamic((d, r) => {
    const hay = h(d, r);
    const x = n(d, r);
    if (Array.isArray(hay)) return hay.includes(x);
    if (typeof hay === 'string') {
      if (x === null || x === undefined) return false;
      return hay.toLowerCase().includes(String(x).toLowerCase());
    }
    return false;
  }, true);
}

function compileMissing(args: Node[]): Node {
  const fns = args.map((n) => n.fn);
  const staticKeys = args.every((n) => n.constant)
    ? (() => {
        const first = args[0]!.value;
        return (Array.isArray(first) ? first : args.map((n) => n.value)).map((k) => ({
          key: k,
          path: keyPath(k),
        }));
      })()
    : null;
  if (staticKeys) {
    return dynamic((d) => {
      const out: unknown[] = [];
      for (const { key, path } of staticKeys) {
        const v = path === null ? d : lookup(d, path, null);
        if (v === null || v === '') out.push(key);
      }
      return out;
    });
  }
  return dynamic((d, r) => {
    const values = fns.map((f) => f(d, r));
    const keys = Array.isArray(values[0]) ? (values[0] as unknown[]) : values;
    const out: unknown[] = [];
    for (const key of keys) {
      const path = keyPath(key);
      const v = path === null ? d : lookup(d, path, null);
      if (v === null || v === '') out.push(key);
    }
    return out;
  });
}

function keyPath(key: unknown): string[] | null {
  if (key === null || key === undefined || key === '') return null;
  return String(key).split('.');
}

// -- arrays ------------------------------------------------------------------

function compileQuantifier(op: 'some' | 'all' | 'none', list: Node, predicate: Node): Node {
  const l = list.fn;
  const p = predicate.fn;
  const test = predicate.boolean ? (p as (d: any, r: any) => boolean) : (d: any, r: any) => truthy(p(d, r));
  if (op === 'some') {
    return dynamic((d, r) => {
      const items = l(d, r);
      if (!Array.isArray(items)) return false;
      for (const item of items) if (test(item, r)) return true;
      return false;
    }, true);
  }
  if (op === 'all') {
    return dynamic((d, r) => {
      const items = l(d, r);
      if (!Array.isArray(items) || items.length === 0) return false;
      for (const item of items) if (!test(item, r)) return false;
      return true;
    }, true);
  }
  return dynamic((d, r) => {
    const items = l(d, r);
    if (!Array.isArray(items)) return true;
    for (const item of items) if (test(item, r)) return false;
    return true;
  }, true);
}

// -- time --------------------------------------------------------------------

function compileSince(arg: Node, unitMs: number): Node {
  const a = arg.fn;
  return dynamic((d, r) => {
    const then = toEpochMs(a(d, r));
    const now = toEpochMs(r === null || r === undefined ? undefined : r.now);
    if (then === null || now === null) return null;
    return (now - then) / unitMs;
  });
}

/** Timestamps in snapshots are ISO strings; epoch milliseconds and Dates are accepted too. */
function toEpochMs(value: unknown): number | null {
  if (typeof value === 'number') return Number.isFinite(value) ? value : null;
  if (typeof value === 'string') {
    const ms = Date.parse(value);
    return Number.isNaN(ms) ? null : ms;
  }
  if (value instanceof Date) {
    const ms = value.getTime();
    return Number.isNaN(ms) ? null : ms;
  }
  return null;
}
