import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Migration, SqlDatabase } from '@leadrelay/core';

/** What the flows need to know about a tenant beyond core's record. */
export interface TenantSettings {
  clientAccountId: string;
  /** The template every lead from an outside source gets once; `null` sends none. */
  welcomeTemplate: { name: string; language: string | null } | null;
  /** SHA-256 of the website intake key (the key itself is shown once, never stored). */
  intakeKeyHash: string | null;
  updatedAt: Date;
}

export type TenantSettingsPatch = Partial<Pick<TenantSettings, 'welcomeTemplate' | 'intakeKeyHash'>>;

export interface TenantSettingsStore {
  get(clientAccountId: string): Promise<TenantSettings | null>;
  /** Creates or updates the tenant's settings with the given fields. */
  set(clientAccountId: string, patch: TenantSettingsPatch, now: Date): Promise<TenantSettings>;
}

/** A new random intake key, to hand out once. */
export function generateIntakeKey(): string {
  return `lrk_${randomBytes(24).toString('base64url')}`;
}

export function hashIntakeKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

/** Compares a presented key with the stored hash in constant time. */
export function intakeKeyMatches(key: string, hash: string | null): boolean {
  if (!hash) return false;
  const presented = Buffer.from(hashIntakeKey(key), 'hex');
  const stored = Buffer.from(hash, 'hex');
  return presented.length === stored.length && timingSafeEqual(presented, stored);
}

export const appMigrations: Migration[] = [
  {
    id: 'app/0001_tenant_settings',
    up: `
      CREATE TABLE app_tenant_settings (
        client_account_id text COLLATE "C" PRIMARY KEY
          REFERENCES client_accounts (id) ON DELETE CASCADE,
        welcome_template text,
        welcome_language text,
        intake_key_hash text CHECK (intake_key_hash ~ '^[0-9a-f]{64}$'),
        updated_at timestamptz NOT NULL
      );
    `,
    down: 'DROP TABLE IF EXISTS app_tenant_settings;',
  },
];

interface Row {
  client_account_id: string;
  welcome_template: string | null;
  welcome_language: string | null;
  intake_key_hash: string | null;
  updated_at: Date | string;
}

const fromRow = (row: Row): TenantSettings => ({
  clientAccountId: row.client_account_id,
  welcomeTemplate: row.welcome_template
    ? { name: row.welcome_template, language: row.welcome_language }
    : null,
  intakeKeyHash: row.intake_key_hash,
  updatedAt: new Date(row.updated_at),
});

export function createPostgresTenantSettings(db: SqlDatabase): TenantSettingsStore {
  return {
    async get(clientAccountId) {
      const { rows } = await db.query<Row>('SELECT * FROM app_tenant_settings WHERE client_account_id = $1', [
        clientAccountId,
      ]);
      return rows[0] ? fromRow(rows[0]) : null;
    },
    async set(clientAccountId, patch, now) {
      const welcome = patch.welcomeTemplate;
      // Each column keeps its value unless the patch names it; one statement, no read first.
      const { rows } = await db.query<Row>(
        `INSERT INTO app_tenant_settings (client_account_id, welcome_template, welcome_language, intake_key_hash, updated_at)
         VALUES ($1, $3, $4, $6, $7)
         ON CONFLICT (client_account_id) DO UPDATE SET
           welcome_template = CASE WHEN $2 THEN EXCLUDED.welcome_template ELSE app_tenant_settings.welcome_template END,
           welcome_language = CASE WHEN $2 THEN EXCLUDED.welcome_language ELSE app_tenant_settings.welcome_language END,
           intake_key_hash = CASE WHEN $5 THEN EXCLUDED.intake_key_hash ELSE app_tenant_settings.intake_key_hash END,
           updated_at = EXCLUDED.updated_at
         RETURNING *`,
        [
          clientAccountId,
          welcome !== undefined,
          welcome?.name ?? null,
          welcome?.language ?? null,
          patch.intakeKeyHash !== undefined,
          patch.intakeKeyHash ?? null,
          now,
        ],
      );
      return fromRow(rows[0]!);
    },
  };
}

export function createMemoryTenantSettings(): TenantSettingsStore {
  const rows = new Map<string, TenantSettings>();
  const copy = (s: TenantSettings): TenantSettings => ({
    ...s,
    welcomeTemplate: s.welcomeTemplate && { ...s.welcomeTemplate },
    updatedAt: new Date(s.updatedAt),
  });
  return {
    async get(clientAccountId) {
      const found = rows.get(clientAccountId);
      return found ? copy(found) : null;
    },
    async set(clientAccountId, patch, now) {
      const current = rows.get(clientAccountId) ?? {
        clientAccountId,
        welcomeTemplate: null,
        intakeKeyHash: null,
        updatedAt: now,
      };
      const next: TenantSettings = { ...current, ...patch, updatedAt: new Date(now) };
      rows.set(clientAccountId, next);
      return copy(next);
    },
  };
}
