/**
 * The logging surface LeadRelay writes to. It is the subset of pino's API the
 * packages use, so a pino logger (or a child of one) can be passed as is.
 */
export interface Logger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  child(bindings: Record<string, unknown>): Logger;
}

/** A logger that drops everything: the default, so packages are silent unless given one. */
export const noopLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  child() {
    return noopLogger;
  },
};

const SECRET_KEY =
  /(secret|token|password|authorization|apikey|api_key|api-key|cookie|signature|proof|credential)/i;

/**
 * True for a field, header or query parameter name that looks like it holds
 * a secret (`access_token`, `appsecret_proof`, `apikey`, `authorization`, …).
 *
 * @example isSecretName('access_token') // true
 */
export function isSecretName(name: string): boolean {
  return SECRET_KEY.test(name);
}

/**
 * Returns a copy of `value` with every field whose name looks secret replaced
 * by `[redacted]`, to any depth. Used before anything reaches a logger.
 */
export function redact<T>(value: T, depth = 6): T {
  if (depth < 0 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => redact(v, depth - 1)) as T;
  if (value instanceof Date) return value;
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
    out[key] = isSecretName(key) ? '[redacted]' : redact(v, depth - 1);
  }
  return out as T;
}
