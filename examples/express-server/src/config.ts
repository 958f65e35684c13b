import { z } from 'zod';

const required = {
  error: (issue: { input: unknown }) => (issue.input === undefined ? 'is required' : 'must be text'),
};
const base64Key = z
  .string(required)
  .refine((value) => Buffer.from(value, 'base64').length === 32, 'must be a base64 32-byte key');
const url = z.string().url();

const schema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  DATABASE_URL: z.string().min(1).optional(),
  LEADRELAY_MASTER_KEY: base64Key,
  ADMIN_TOKEN: z.string(required).min(16, 'must be at least 16 characters'),
  META_GRAPH_URL: url.optional(),
  META_GRAPH_VERSION: z
    .string()
    .regex(/^v[0-9]+\.[0-9]+$/, 'must look like v24.0')
    .optional(),
  GUPSHUP_API_URL: url.optional(),
  WHATSAPP_CLOUD_API_URL: url.optional(),
  FOLLOWUP_POLL_MS: z.coerce.number().int().min(50).max(600_000).default(1000),
  LOG_LEVEL: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal']).default('info'),
  DATA_DIR: z.string().min(1).default('./.data'),
});

export type ServerConfig = z.infer<typeof schema>;

/** A configuration problem, named by its variable: the server does not start. */
export class ConfigError extends Error {}

/**
 * Reads and checks the environment once at start-up; a bad or missing
 * value throws a `ConfigError` whose message names each variable.
 */
export function loadConfig(env: Record<string, string | undefined>): ServerConfig {
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const result = schema.safeParse(present);
  if (!result.success) {
    const lines = result.error.issues.map((issue) => `  ${issue.path.join('.')}: ${issue.message}`);
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
  }
  return result.data;
}
