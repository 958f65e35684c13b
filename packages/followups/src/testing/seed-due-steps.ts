import { type SqlDatabase, ValidationError } from '@leadrelay/core';
import { campaignDefinition, campaignInputSchema } from '../campaigns/campaign.js';

export interface SeedDueStepsOptions {
  /** How many enrolments, each with one step due now. */
  count: number;
  tenant?: string;
  campaignId?: string;
  /** The lead of enrolment n is `leadIds[n - 1]` (leads that exist in core, say); default `lead-<n>`. */
  leadIds?: readonly string[];
}

/**
 * Seeds an active single-step campaign (template `welcome_lead`, no quiet
 * hours) with `count` enrolments whose step is due now, in a few set-based
 * statements: for load tests, crash tests and benchmarks of the runner.
 * Enrolments are `enr-<n>`, leads `lead-<n>` (or `leadIds`), steps `enr-<n>:hello`, for n from 1.
 * The tenant and the leads are created in core's tables (bare rows, no phone)
 * when missing: apply `coreMigrations` before `followupsMigrations`.
 *
 * @example await seedDueSteps(db, { count: 20_000 });
 */
export async function seedDueSteps(db: SqlDatabase, options: SeedDueStepsOptions): Promise<void> {
  const tenant = options.tenant ?? 'tenant-load';
  if (options.leadIds && options.leadIds.length !== options.count) {
    throw new ValidationError(`${options.leadIds.length} lead ids for ${options.count} enrolments`, {
      code: 'seed_lead_ids_mismatch',
    });
  }
  const leadIds = options.leadIds ? [...options.leadIds] : null;
  const campaignId = options.campaignId ?? 'camp-load';
  const def = campaignDefinition(
    campaignInputSchema.parse({
      clientAccountId: tenant,
      status: 'active',
      name: 'Load',
      trigger: { type: 'lead_created' },
      steps: [{ id: 'hello', delay: 'PT0S', message: { type: 'template', name: 'welcome_lead' } }],
      schedule: { quietHours: null },
      maxSendsPerLeadPerDay: 10,
    }),
  );
  await db.query(
    `INSERT INTO client_accounts (id, name) VALUES ($1::text, $1::text) ON CONFLICT (id) DO NOTHING`,
    [tenant],
  );
  await db.query(
    `INSERT INTO leads (client_account_id, id)
     SELECT $2, COALESCE(($3::text[])[g], 'lead-' || g) FROM generate_series(1, $1::int) g
     ON CONFLICT DO NOTHING`,
    [options.count, tenant, leadIds],
  );
  await db.query(
    `INSERT INTO follow_up_campaigns (id, client_account_id, name, status, version, trigger_type, definition)
     VALUES ($1, $2, 'Load', 'active', 1, 'lead_created', $3::jsonb)`,
    [campaignId, tenant, JSON.stringify(def)],
  );
  await db.query(
    `INSERT INTO follow_up_campaign_versions (campaign_id, version, client_account_id, definition)
     VALUES ($1, 1, $2, $3::jsonb)`,
    [campaignId, tenant, JSON.stringify(def)],
  );
  await db.query(
    `INSERT INTO follow_up_enrolments (id, client_account_id, campaign_id, campaign_version, lead_id, status, enrolled_at)
     SELECT 'enr-' || g, $2, $3, 1, COALESCE(($4::text[])[g], 'lead-' || g), 'active', now() - interval '1 hour'
     FROM generate_series(1, $1::int) g`,
    [options.count, tenant, campaignId, leadIds],
  );
  await db.query(
    `INSERT INTO scheduled_follow_ups (id, client_account_id, enrolment_id, campaign_id, campaign_version, lead_id,
       step_id, step_index, status, due_at)
     SELECT 'enr-' || g || ':hello', $2, 'enr-' || g, $3, 1, COALESCE(($4::text[])[g], 'lead-' || g), 'hello', 0,
       'pending', now() - interval '1 minute' + g * interval '1 millisecond'
     FROM generate_series(1, $1::int) g`,
    [options.count, tenant, campaignId, leadIds],
  );
  await db.query('ANALYZE leads, follow_up_enrolments, scheduled_follow_ups');
}
