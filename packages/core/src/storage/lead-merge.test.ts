import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createManualClock } from '../testing/index.js';
import { coreMigrations } from './core-migrations.js';
import { createMemoryStore } from './memory-store.js';
import { migrate } from './migrations.js';
import type { CoreStore } from './ports.js';
import { createPostgresStore } from './postgres-store.js';
import { createPgliteDatabase, type SqlDatabase } from './sql.js';

/*
 * upsertByPhone is implemented twice: `mergeLead` in TypeScript (memory store)
 * and one INSERT … ON CONFLICT statement (SQL store). This property test
 * feeds both the same random arrivals and requires identical leads.
 */

const emptyish = fc.constantFrom<unknown>(null, '', [], {});
const answer = fc.oneof(
  fc.constantFrom('', 'yes', 'no', '2 BHK'),
  fc.array(fc.constantFrom('a', 'b'), { maxLength: 2 }),
);
const attribute = fc.oneof(
  emptyish,
  fc.integer({ min: -5, max: 5 }),
  fc.boolean(),
  fc.constantFrom('x', 'y'),
  fc.record({ n: fc.nat(3) }),
);
const key = fc.constantFrom('budget', 'city', 'bhk', 'when');

const arrival = fc.record({
  source: fc.constantFrom('WA Direct', 'Facebook Lead Ad', 'Referral', 'Website', 'Walk-in'),
  name: fc.constantFrom(null, '', 'Kiran', 'Asha'),
  email: fc.constantFrom(null, 'k@acme.test', 'a@acme.test'),
  leadFormId: fc.constantFrom(null, '123', '456'),
  timeZone: fc.constantFrom(null, 'Asia/Kolkata', 'UTC'),
  answers: fc.dictionary(key, answer, { maxKeys: 3 }),
  attributes: fc.dictionary(key, attribute, { maxKeys: 3 }),
});

describe('upsertByPhone: memory and SQL merge identically', () => {
  let db: SqlDatabase;
  let sql: CoreStore;
  const memory = createMemoryStore({ clock: createManualClock('2026-01-01T00:00:00Z') });
  let sqlTenant: string;
  let memoryTenant: string;

  beforeAll(async () => {
    db = await createPgliteDatabase();
    await migrate(db, coreMigrations);
    sql = createPostgresStore(db, { clock: createManualClock('2026-01-01T00:00:00Z') });
    sqlTenant = (await sql.tenants.create({ name: 'SQL' })).id;
    memoryTenant = (await memory.tenants.create({ name: 'Memory' })).id;
  });
  afterAll(() => db.close());

  let n = 0;
  it('for any sequence of arrivals of one phone', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(arrival, { minLength: 1, maxLength: 5 }), async (arrivals) => {
        const phone = `+9198${String(++n).padStart(8, '0')}`;
        let fromSql: Awaited<ReturnType<CoreStore['leads']['upsertByPhone']>> | undefined;
        let fromMemory: typeof fromSql;
        for (const input of arrivals) {
          fromSql = await sql.leads.upsertByPhone({ ...input, clientAccountId: sqlTenant, phone });
          fromMemory = await memory.leads.upsertByPhone({ ...input, clientAccountId: memoryTenant, phone });
          expect(fromSql.created).toBe(fromMemory.created);
        }
        const strip = ({
          id,
          clientAccountId,
          createdAt,
          updatedAt,
          ...rest
        }: NonNullable<typeof fromSql>['lead']) => rest;
        expect(strip(fromSql!.lead)).toEqual(strip(fromMemory!.lead));
        const all = [fromSql!.lead.source, ...fromSql!.lead.additionalSources];
        expect(new Set(all).size).toBe(all.length);
        expect(all).toEqual([...new Set(arrivals.map((a) => a.source))]);
      }),
      { numRuns: 40 },
    );
  });
});
