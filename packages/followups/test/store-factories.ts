import { type Clock, migrate, type SqlDatabase } from '@leadrelay/core';
import { testDatabases } from '@leadrelay/core/testing';
import { createMemoryFollowUpStore } from '../src/store/memory-store.js';
import { followupsMigrations } from '../src/store/migrations.js';
import type { FollowUpStore } from '../src/store/ports.js';
import { createPostgresFollowUpStore } from '../src/store/postgres-store.js';

export interface StoreBackend {
  db: SqlDatabase | null;
  /** A store over this backend, emptied first. */
  fresh(clock?: Clock): Promise<FollowUpStore>;
  close(): Promise<void>;
}

export interface StoreFactory {
  name: 'memory' | 'pglite' | 'postgres';
  /** Opens the backend once per suite (databases are slow to create); `fresh` empties it per test. */
  open(): Promise<StoreBackend>;
}

const TABLES =
  'follow_up_exit_events, follow_up_sends, scheduled_follow_ups, follow_up_enrolments, follow_up_campaign_versions, follow_up_campaigns';

/** Memory, PGlite and (with DATABASE_URL) an isolated Postgres schema, each with the migrations applied. */
export function storeFactories(): StoreFactory[] {
  return [
    {
      name: 'memory',
      open: async () => ({
        db: null,
        fresh: async (clock) => createMemoryFollowUpStore({ clock }),
        close: async () => {},
      }),
    },
    ...testDatabases().map(
      (f): StoreFactory => ({
        name: f.name,
        async open() {
          const db = await f.create();
          await migrate(db, followupsMigrations);
          return {
            db,
            async fresh(clock) {
              await migrate(db, followupsMigrations);
              await db.query(`TRUNCATE ${TABLES}`);
              return createPostgresFollowUpStore(db, { clock });
            },
            close: () => db.close(),
          };
        },
      }),
    ),
  ];
}
