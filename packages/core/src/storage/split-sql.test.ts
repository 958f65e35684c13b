import { describe, expect, it } from 'vitest';
import { splitSql } from './migrations.js';

describe('splitSql', () => {
  it('splits on top-level semicolons and drops empty statements', () => {
    expect(splitSql('CREATE TABLE a (id int);\n\n;CREATE INDEX a_id ON a (id)\n')).toEqual([
      'CREATE TABLE a (id int)',
      'CREATE INDEX a_id ON a (id)',
    ]);
    expect(splitSql('  ;; \n')).toEqual([]);
  });

  it('keeps $$ and tagged dollar-quoted bodies whole', () => {
    const fn = `CREATE FUNCTION touch() RETURNS trigger AS $$
BEGIN
  NEW.updated_at := now();
  RETURN NEW;
END;
$$ LANGUAGE plpgsql`;
    const tagged = `DO $body$ BEGIN PERFORM 1; PERFORM '$$'; END $body$`;
    expect(splitSql(`${fn};\n${tagged};\nSELECT 1;`)).toEqual([fn, tagged, 'SELECT 1']);
  });

  it('does not take $1 placeholders for dollar quotes', () => {
    expect(splitSql('SELECT $1::int; SELECT $2')).toEqual(['SELECT $1::int', 'SELECT $2']);
  });

  it('keeps semicolons inside quoted strings, doubled quotes included', () => {
    expect(splitSql("INSERT INTO t VALUES ('a;b', 'it''s; fine', '');SELECT ';'")).toEqual([
      "INSERT INTO t VALUES ('a;b', 'it''s; fine', '')",
      "SELECT ';'",
    ]);
  });

  it('drops -- comments, semicolons in them included', () => {
    expect(
      splitSql('-- first; not a statement\nCREATE TABLE a (id int); -- trailing; comment\nSELECT 1 -- end'),
    ).toEqual(['CREATE TABLE a (id int)', 'SELECT 1']);
  });
});

describe('splitSql with block comments and quoted identifiers', () => {
  it('ignores semicolons inside /* */ comments and "quoted" identifiers', () => {
    const script = `/* first; part */ CREATE TABLE "a;b" (x int); SELECT 1 /* ; */;`;
    expect(splitSql(script)).toEqual(['CREATE TABLE "a;b" (x int)', 'SELECT 1']);
  });
});
