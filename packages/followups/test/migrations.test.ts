import { coreMigrations, migrate, type SqlDatabase, type SqlExecutor } from '@leadrelay/core';
import { testDatabases } from '@leadrelay/core/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { followupsMigrations } from '../src/store/migrations.js';

const BEFORE_0005 = followupsMigrations.filter((m) => m.id < 'followups/0005');

/**
 * A campaign of `tenant`, and for `lead` an enrolment with a step, a ledger row and an exit event,
 * all named after `tag`; written as rows, the way data from before followups/0005 can look.
 */
async function rows(db: SqlExecutor, tag: string, tenant: string, lead: string) {
  await db.query(
    `INSERT INTO follow_up_campaigns (id, client_account_id, name, status, trigger_type, definition)
     VALUES ($1, $2, 'c', 'active', 'lead_created', '{}')`,
    [`camp-${tag}`, tenant],
  );
  await db.query(
    `INSERT INTO follow_up_campaign_versions (campaign_id, version, client_account_id, definition)
     VALUES ($1, 1, $2, '{}')`,
    [`camp-${tag}`, tenant],
  );
  await db.query(
    `INSERT INTO follow_up_enrolments (id, client_account_id, campaign_id, campaign_version, lead_id, status, enrolled_at)
     VALUES ($1, $2, $3, 1, $4, 'exited', now())`,
    [`enr-${tag}`, tenant, `camp-${tag}`, lead],
  );
  await db.query(
    `INSERT INTO scheduled_follow_ups (id, client_account_id, enrolment_id, campaign_id, campaign_version, lead_id,
       step_id, step_index, status, due_at)
     VALUES ($1 || ':hello', $2, $1, $3, 1, $4, 'hello', 0, 'sent', now())`,
    [`enr-${tag}`, tenant, `camp-${tag}`, lead],
  );
  await db.query(
    `INSERT INTO follow_up_sends (enrolment_id, step_id, client_account_id, scheduled_id, campaign_id, lead_id,
       idempotency_key)
     VALUES ($1, 'hello', $2, $1 || ':hello', $3, $4, 'fu:' || $1 || ':hello')`,
    [`enr-${tag}`, tenant, `camp-${tag}`, lead],
  );
  await db.query(
    `INSERT INTO follow_up_exit_events (id, client_account_id, enrolment_id, campaign_id, lead_id, reason)
     VALUES ($1, $2, $3, $4, $5, 'replied')`,
    [`exit-${tag}`, tenant, `enr-${tag}`, `camp-${tag}`, lead],
  );
  await db.query(
    `INSERT INTO follow_up_parked_statuses (client_account_id, provider_message_id, status, at)
     VALUES ($1, $2, 'delivered', now())`,
    [tenant, `wamid.${tag}`],
  );
}

const TABLES = [
  'follow_up_campaigns',
  'follow_up_campaign_versions',
  'follow_up_enrolments',
  'scheduled_follow_ups',
  'follow_up_sends',
  'follow_up_exit_events',
  'follow_up_parked_statuses',
];

async function counts(db: SqlExecutor): Promise<Record<string, number>> {
  const result: Record<string, number> = {};
  for (const table of TABLES) {
    const { rows } = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`);
    result[table] = rows[0]!.n;
  }
  return result;
}

for (const factory of testDatabases()) {
  describe(`followupsMigrations on ${factory.name}`, () => {
    let db: SqlDatabase | undefined;
    afterEach(async () => {
      await db?.close();
      db = undefined;
    });

    it('followups/0005 deletes rows whose tenant or lead is gone and keeps the others; down and up again', async () => {
      db = await factory.create();
      await migrate(db, [...coreMigrations, ...BEFORE_0005]);
      await db.query(`INSERT INTO client_accounts (id, name) VALUES ('t1', 'T1')`);
      await db.query(`INSERT INTO leads (client_account_id, id) VALUES ('t1', 'l1')`);
      await rows(db, 'kept', 't1', 'l1');
      await rows(db, 'lead-gone', 't1', 'l-gone');
      await rows(db, 'tenant-gone', 't-gone', 'l1');
      // A step whose tenant differs from its enrolment's.
      await db.query(
        `INSERT INTO scheduled_follow_ups (id, client_account_id, enrolment_id, campaign_id, campaign_version, lead_id,
           step_id, step_index, status, due_at)
         VALUES ('enr-kept:day1', 't-gone', 'enr-kept', 'camp-kept', 1, 'l1', 'day1', 1, 'pending', now())`,
      );
      // What 0001 to 0003 do not stop: three of each, and one more step.
      expect((await counts(db)).scheduled_follow_ups).toBe(4);

      expect((await migrate(db, [...coreMigrations, ...followupsMigrations])).applied).toEqual([
        'followups/0005_tenant_keys',
      ]);
      // The lead that is gone takes its enrolment's rows; its campaign (of a live tenant) stays.
      expect(await counts(db)).toEqual({
        follow_up_campaigns: 2,
        follow_up_campaign_versions: 2,
        follow_up_enrolments: 1,
        scheduled_follow_ups: 1,
        follow_up_sends: 1,
        follow_up_exit_events: 1,
        follow_up_parked_statuses: 2,
      });
      const { rows: left } = await db.query<{ id: string }>('SELECT id FROM follow_up_enrolments');
      expect(left).toEqual([{ id: 'enr-kept' }]);
      await expect(rows(db, 'new', 't1', 'l-unknown')).rejects.toMatchObject({ code: '23503' });

      const after = await counts(db);
      expect((await migrate(db, followupsMigrations, { direction: 'down', steps: 1 })).reverted).toEqual([
        'followups/0005_tenant_keys',
      ]);
      await rows(db, 'orphan', 't1', 'l-unknown');
      expect((await migrate(db, [...coreMigrations, ...followupsMigrations])).applied).toEqual([
        'followups/0005_tenant_keys',
      ]);
      // Its campaign and parked status belong to a live tenant and stay; the enrolment's rows go.
      expect(await counts(db)).toEqual({
        ...after,
        follow_up_campaigns: after.follow_up_campaigns! + 1,
        follow_up_campaign_versions: after.follow_up_campaign_versions! + 1,
        follow_up_parked_statuses: after.follow_up_parked_statuses! + 1,
      });

      // A deleted campaign takes its enrolments, their steps, ledger rows and exit events.
      await db.query(`DELETE FROM follow_up_campaigns WHERE id = 'camp-kept'`);
      expect(await counts(db)).toMatchObject({
        follow_up_enrolments: 0,
        scheduled_follow_ups: 0,
        follow_up_sends: 0,
        follow_up_exit_events: 0,
      });
    }, 120_000);
  });
}
