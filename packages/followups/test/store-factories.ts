import {
  type Clock,
  type CoreStore,
  coreMigrations,
  createMemoryStore,
  createPostgresStore,
  migrate,
  type SqlDatabase,
} from '@leadrelay/core';
import { testDatabases } from '@leadrelay/core/testing';
import { createMemoryFollowUpStore } from '../src/store/memory-store.js';
import { followupsMigrations } from '../src/store/migrations.js';
import type { FollowUpStore } from '../src/store/ports.js';
import { createPostgresFollowUpStore } from '../src/store/postgres-store.js';
import { OTHER_TENANT, TENANT } from './fixtures.js';

export interface StoreBackend {
  db: SqlDatabase | null;
  /**
   * A store over this backend, emptied first. On a database the fixtures' tenants exist, and a lead
   * a test enrols by a bare id is created in core's leads first: enrolments reference their lead.
   */
  fresh(clock?: Clock): Promise<FollowUpStore>;
  /** Core's store over the same backend, for the leads and tenants the runner reads. */
  core(clock?: Clock): CoreStore;
  close(): Promise<void>;
}

export interface StoreFactory {
  name: 'memory' | 'pglite' | 'postgres';
  /** Opens the backend once per suite (databases are slow to create); `fresh` empties it per test. */
  open(): Promise<StoreBackend>;
}

/** Memory, PGlite and (with DATABASE_URL) an isolated Postgres schema, each with the migrations applied. */
export function storeFactories(): StoreFactory[] {
  return [
    {
      name: 'memory',
      open: async () => ({
        db: null,
        fresh: async (clock) => createMemoryFollowUpStore({ clock }),
        core: (clock) => createMemoryStore({ clock }),
        close: async () => {},
      }),
    },
    ...testDatabases().map(
      (f): StoreFactory => ({
        name: f.name,
        async open() {
          const db = await f.create();
          await migrate(db, [...coreMigrations, ...followupsMigrations]);
          return {
            db,
            async fresh(clock) {
              await migrate(db, [...coreMigrations, ...followupsMigrations]);
              // Every follow-up table references client_accounts: this empties them all.
              await db.query('TRUNCATE client_accounts CASCADE');
              await db.query(`INSERT INTO client_accounts (id, name) VALUES ($1, 'A'), ($2, 'B')`, [
                TENANT,
                OTHER_TENANT,
              ]);
              const store = createPostgresFollowUpStore(db, { clock });
              return {
                ...store,
                async enrol(input) {
                  await db.query(
                    'INSERT INTO leads (client_account_id, id) VALUES ($1, $2) ON CONFLICT DO NOTHING',
                    [input.clientAccountId, input.leadId],
                  );
                  return store.enrol(input);
                },
              };
            },
            core: (clock) => createPostgresStore(db, { clock }),
            close: () => db.close(),
          };
        },
      }),
    ),
  ];
}
