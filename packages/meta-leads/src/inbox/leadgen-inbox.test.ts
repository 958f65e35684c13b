import { migrate } from '@leadrelay/core';
import { testDatabases } from '@leadrelay/core/testing';
import { describeLeadgenInboxContract } from '../../test/leadgen-inbox-contract.js';
import { createMemoryLeadgenInbox } from './memory-leadgen-inbox.js';
import { metaLeadsMigrations } from './meta-leads-migrations.js';
import { createPostgresLeadgenInbox } from './postgres-leadgen-inbox.js';

describeLeadgenInboxContract('memory', async () => ({
  fresh: async () => createMemoryLeadgenInbox(),
  close: async () => {},
}));

for (const factory of testDatabases()) {
  describeLeadgenInboxContract(
    factory.name,
    async () => {
      const db = await factory.create();
      await migrate(db, metaLeadsMigrations);
      return {
        fresh: async () => {
          await db.query('TRUNCATE meta_leadgen_events');
          return createPostgresLeadgenInbox(db);
        },
        close: () => db.close(),
      };
    },
    { concurrent: factory.name === 'postgres' },
  );
}
