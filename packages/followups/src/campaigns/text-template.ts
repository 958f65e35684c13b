import { FORBIDDEN_PATH_SEGMENTS } from '../conditions/operators.js';

const PLACEHOLDER = /\{\{\s*([A-Za-z0-9_.-]+)\s*(?:\|([^}]*))?\}\}/g;

/**
 * Compiles free text with `{{path}}` placeholders (`{{lead.firstName|there}}`
 * uses `there` when the value is empty) into a renderer over a snapshot.
 * Arrays render comma-separated; objects and missing values render the
 * default or nothing.
 *
 * @example compileTextTemplate('Hi {{lead.firstName|there}}!')({ lead: { firstName: 'Priya' } }) // 'Hi Priya!'
 */
export function compileTextTemplate(text: string): (snapshot: unknown) => string {
  const parts: (string | { keys: string[]; fallback: string })[] = [];
  let last = 0;
  for (const m of text.matchAll(PLACEHOLDER)) {
    parts.push(text.slice(last, m.index));
    const keys = m[1]!.split('.');
    parts.push({
      keys: keys.some((k) => FORBIDDEN_PATH_SEGMENTS.has(k)) ? [] : keys,
      fallback: (m[2] ?? '').trim(),
    });
    last = m.index + m[0].length;
  }
  parts.push(text.slice(last));
  if (parts.length === 1) {
    const constant = parts[0] as string;
    return () => constant;
  }
  return (snapshot) => {
    let out = '';
    for (const p of parts) {
      if (typeof p === 'string') {
        out += p;
        continue;
      }
      const s = p.keys.length === 0 ? '' : stringifyValue(read(snapshot, p.keys));
      out += s === '' ? p.fallback : s;
    }
    return out;
  };
}

function read(data: unknown, keys: string[]): unknown {
  let v: unknown = data;
  for (const k of keys) {
    if (v === null || v === undefined) return undefined;
    v = (v as Record<string, unknown>)[k];
  }
  return v;
}

/**
 * How a snapshot value appears in a message: text as is, numbers and
 * booleans as JSON, arrays comma-separated, anything else empty.
 *
 * @example stringifyValue(['2BHK', '3BHK']) // '2BHK, 3BHK'
 */
export function stringifyValue(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value))
    return value
      .map(stringifyValue)
      .filter((s) => s !== '')
      .join(', ');
  return '';
}
