import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDatabases } from '../testing/databases.js';
import type { SqlDatabase } from './sql.js';

for (const factory of testDatabases()) {
  describe(`prepared statements on ${factory.name}`, () => {
    let db: SqlDatabase;
    beforeAll(async () => {
      db = await factory.create();
      await db.query('CREATE TABLE items (id int PRIMARY KEY, name text NOT NULL)');
      await db.query("INSERT INTO items SELECT g, 'item ' || g FROM generate_series(1, 5) g");
    });
    afterAll(async () => {
      await db?.close();
    });

    const text = 'SELECT name FROM items WHERE id = ANY($1::int[]) ORDER BY id';

    it('answers a prepared statement like a plain one, on every call', async () => {
      for (const ids of [[1, 3], [5], [2, 4, 9]]) {
        const plain = await db.query(text, [ids]);
        const prepared = await db.query(text, [ids], { prepare: true });
        expect(prepared).toEqual(plain);
      }
      expect((await db.query(text, [[3]], { prepare: true })).rows).toEqual([{ name: 'item 3' }]);
    });

    it('runs prepared statements inside a transaction and sees its writes', async () => {
      await db.transaction(async (tx) => {
        await tx.query("INSERT INTO items VALUES (6, 'item 6')");
        expect((await tx.query(text, [[6]], { prepare: true })).rows).toEqual([{ name: 'item 6' }]);
      });
    });

    if (factory.name === 'postgres') {
      it('keeps one server-side statement per text on a connection', async () => {
        await db.transaction(async (tx) => {
          for (let i = 0; i < 3; i++) await tx.query(text, [[1]], { prepare: true });
          const { rows } = await tx.query<{ n: number }>(
            'SELECT count(*)::int AS n FROM pg_prepared_statements WHERE statement = $1',
            [text],
          );
          expect(rows[0]!.n).toBe(1);
        });
      });
    }
  });
}
