// biome-ignore-all lint/suspicious/noExplicitAny: JSON Logic compares and indexes untyped JSON values with JavaScript's own semantics
/**
 * Closures that read a literal `var` path and test its value in one call,
 * for the shapes most conditions are made of (`{"==": [{"var": "lead.status"}, "new"]}`,
 * `{"in": [{"var": "lead.source"}, [...]]}`, `{"!": {"var": "lead.optedOut"}}`).
 * Reading inline instead of calling a getter closure halves the calls per
 * evaluation and keeps each closure's property-access feedback to one path.
 * Paths of one to three segments are fused; longer ones use the generic form.
 * The read is exactly JSON Logic's `var`: stop at null or undefined, an
 * undefined value gives the default.
 */

import { truthy } from './truthy.js';

export type Evaluator = (data: any, root: any) => unknown;

/** Comparison codes, so one closure per path length serves every operator. */
export const COMPARE_CODES: Readonly<Record<string, number>> = {
  '==': 0,
  '!=': 1,
  '===': 2,
  '!==': 3,
  '<': 4,
  '<=': 5,
  '>': 6,
  '>=': 7,
};

function compare(code: number, v: any, b: any): boolean {
  switch (code) {
    case 0:
      // biome-ignore lint/suspicious/noDoubleEquals: JSON Logic's == is JavaScript's loose equality
      return v == b;
    case 1:
      // biome-ignore lint/suspicious/noDoubleEquals: JSON Logic's != is JavaScript's loose inequality
      return v != b;
    case 2:
      return v === b;
    case 3:
      return v !== b;
    case 4:
      return v < b;
    case 5:
      return v <= b;
    case 6:
      return v > b;
    default:
      return v >= b;
  }
}

/** `{op: [{var: path}, constant]}` as one closure; `null` when the path is not 1–3 segments. */
export function fusedCompare(
  keys: readonly string[],
  nf: unknown,
  code: number,
  b: unknown,
): Evaluator | null {
  switch (keys.length) {
    case 1: {
      const [k0] = keys as [string];
      return (d) => {
        if (d === null || d === undefined) return compare(code, nf, b);
        const v = d[k0];
        return compare(code, v === undefined ? nf : v, b);
      };
    }
    case 2: {
      const [k0, k1] = keys as [string, string];
      return (d) => {
        if (d === null || d === undefined) return compare(code, nf, b);
        let v = d[k0];
        if (v === null || v === undefined) return compare(code, nf, b);
        v = v[k1];
        return compare(code, v === undefined ? nf : v, b);
      };
    }
    case 3: {
      const [k0, k1, k2] = keys as [string, string, string];
      return (d) => {
        if (d === null || d === undefined) return compare(code, nf, b);
        let v = d[k0];
        if (v === null || v === undefined) return compare(code, nf, b);
        v = v[k1];
        if (v === null || v === undefined) return compare(code, nf, b);
        v = v[k2];
        return compare(code, v === undefined ? nf : v, b);
      };
    }
    default:
      return null;
  }
}

/** `{in: [{var: path}, [constants]]}` as one closure; `null` when the path is not 1–3 segments. */
export function fusedIn(
  keys: readonly string[],
  nf: unknown,
  haystack: readonly unknown[],
): Evaluator | null {
  switch (keys.length) {
    case 1: {
      const [k0] = keys as [string];
      return (d) => {
        if (d === null || d === undefined) return haystack.indexOf(nf) !== -1;
        const v = d[k0];
        return haystack.indexOf(v === undefined ? nf : v) !== -1;
      };
    }
    case 2: {
      const [k0, k1] = keys as [string, string];
      return (d) => {
        if (d === null || d === undefined) return haystack.indexOf(nf) !== -1;
        let v = d[k0];
        if (v === null || v === undefined) return haystack.indexOf(nf) !== -1;
        v = v[k1];
        return haystack.indexOf(v === undefined ? nf : v) !== -1;
      };
    }
    case 3: {
      const [k0, k1, k2] = keys as [string, string, string];
      return (d) => {
        if (d === null || d === undefined) return haystack.indexOf(nf) !== -1;
        let v = d[k0];
        if (v === null || v === undefined) return haystack.indexOf(nf) !== -1;
        v = v[k1];
        if (v === null || v === undefined) return haystack.indexOf(nf) !== -1;
        v = v[k2];
        return haystack.indexOf(v === undefined ? nf : v) !== -1;
      };
    }
    default:
      return null;
  }
}

/** `{"!": {var: path}}` (negate) or `{"!!": …}` as one closure; `null` when the path is not 1–3 segments. */
export function fusedTruthy(keys: readonly string[], nf: unknown, negate: boolean): Evaluator | null {
  const missing = truthy(nf) !== negate;
  switch (keys.length) {
    case 1: {
      const [k0] = keys as [string];
      return (d) => {
        if (d === null || d === undefined) return missing;
        const v = d[k0];
        return v === undefined ? missing : truthy(v) !== negate;
      };
    }
    case 2: {
      const [k0, k1] = keys as [string, string];
      return (d) => {
        if (d === null || d === undefined) return missing;
        let v = d[k0];
        if (v === null || v === undefined) return missing;
        v = v[k1];
        return v === undefined ? missing : truthy(v) !== negate;
      };
    }
    case 3: {
      const [k0, k1, k2] = keys as [string, string, string];
      return (d) => {
        if (d === null || d === undefined) return missing;
        let v = d[k0];
        if (v === null || v === undefined) return missing;
        v = v[k1];
        if (v === null || v === undefined) return missing;
        v = v[k2];
        return v === undefined ? missing : truthy(v) !== negate;
      };
    }
    default:
      return null;
  }
}
