import { Knex } from 'knex';
import { DIALECTS, createTestDatabase, TestDatabase } from '../support/databases';
import { prepareTargetTables } from '../../engine/dbi/target-tables';
import { createTableStatements, dropTableStatements } from '../../engine/spec/ddl';
import { TargetLock } from '../../engine/session/target-lock';
import { isScrapeError } from '../../engine/core/errors';
import { testSpec } from './dbi-support';

/** Any (table, context) will do: the lock's bookkeeping is what is checked. */
const PRODGUARD_SCOPE = { table: 'ProdGuard', context: { sitemask: 1, subsite: 1, simmask: 1, task: 0, aggregateno: -1 } };

/** The SQL `db` is sent while `run` runs. */
async function statementsOf(db: Knex, run: () => Promise<unknown>): Promise<{ sql: string[]; error: unknown }> {
  const sql: string[] = [];
  const listen = (q: { sql: string }) => sql.push(q.sql);
  db.on('query', listen);
  let error: unknown;
  try {
    await run();
  } catch (err) {
    error = err;
  } finally {
    db.removeListener('query', listen);
  }
  return { sql, error };
}

async function tables(t: TestDatabase): Promise<string[]> {
  const rows: Record<string, string>[] =
    t.dialect === 'sqlite'
      ? await t.db('sqlite_master').where('type', 'table').select('name')
      : (await t.db.raw('SELECT TABLE_NAME AS name FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE()'))[0];
  return rows.map((r) => r.name).sort();
}

describe('spec tables named like bookkeeping tables', () => {
  it('the DDL refuses them (SPEC_TABLE_RESERVED), whatever the case', () => {
    for (const table of ['LOCALSEQNO', 'LocalSeqNo', 'SCRAPE_LOCKS', 'scrape_x']) {
      for (const dialect of ['sqlite', 'mysql'] as const) {
        expect(() => createTableStatements(testSpec(table), dialect)).toThrow(/reserved|shared LOCALSEQNO/);
        expect(() => dropTableStatements(testSpec(table), dialect)).toThrow(/reserved|shared LOCALSEQNO/);
      }
    }
    expect(createTableStatements(testSpec('DcsScrape_Probe'), 'mysql')).toHaveLength(4);
  });
});

describe.each(DIALECTS)('guards before any statement on %s', (dialect) => {
  let t: TestDatabase;
  beforeEach(async () => {
    t = await createTestDatabase(dialect, 'prod_guards');
  });
  afterEach(async () => {
    await t.drop();
  });

  it('a spec table LOCALSEQNO with --drop-target-tables is refused before anything is sent: every counter stays', async () => {
    const probe = testSpec();
    await prepareTargetTables(t.db, [probe], { create: true, drop: false, location: t.location });
    await t.db('LOCALSEQNO').insert({ TABLENAME: 'DcsOther', LASTUSEDSEQNO: 41 });
    const { sql, error } = await statementsOf(t.db, () => prepareTargetTables(t.db, [probe, testSpec('LOCALSEQNO')], { create: true, drop: true, location: t.location }));
    expect(isScrapeError(error, 'SPEC_TABLE_RESERVED')).toBe(true);
    expect(sql).toEqual([]);
    expect(await t.db('LOCALSEQNO').orderBy('TABLENAME').select('TABLENAME', 'LASTUSEDSEQNO')).toEqual([
      { TABLENAME: '*', LASTUSEDSEQNO: 0 },
      { TABLENAME: 'DcsOther', LASTUSEDSEQNO: 41 },
    ]);
    // a spec that is another's Vld table, too
    const clash = await statementsOf(t.db, () => prepareTargetTables(t.db, [probe, testSpec('DcsProbeVld')], { create: true, drop: false, location: t.location }));
    expect(isScrapeError(clash.error, 'SPEC_TABLE_RESERVED')).toBe(true);
    expect(clash.sql).toEqual([]);
  });

  it('creating or dropping in a production target is refused before any statement', async () => {
    const production = { ...t.location, production: true };
    for (const opts of [{ create: true, drop: false }, { create: true, drop: true }]) {
      const { sql, error } = await statementsOf(t.db, () => prepareTargetTables(t.db, [testSpec()], { ...opts, location: production }));
      expect(isScrapeError(error, 'TARGET_PRODUCTION')).toBe(true);
      expect(sql).toEqual([]);
    }
    expect(await tables(t)).toEqual([]);
  });

  if (dialect === 'mariadb') {
    it('the writer lock creates no SCRAPE_LOCKS in a production database; an existing one records the holder', async () => {
      const production = { ...t.location, production: true };
      const lock = TargetLock.for(production, [PRODGUARD_SCOPE]);
      try {
        expect(await lock.tryAcquire()).toBe(true);
        expect(await lock.stillHeld()).toBe(true);
        expect(await tables(t)).toEqual([]);
      } finally {
        await lock.release();
      }
      // made by the administrators: used
      await t.db.raw('CREATE TABLE SCRAPE_LOCKS (name VARCHAR(64) NOT NULL PRIMARY KEY, holder VARCHAR(255) NOT NULL, since DATETIME NOT NULL)');
      const again = TargetLock.for(production, [PRODGUARD_SCOPE]);
      try {
        expect(await again.tryAcquire()).toBe(true);
        const rows = await t.db('SCRAPE_LOCKS').select('name', 'holder');
        expect(rows.map((r: Record<string, string>) => r.name)).toEqual(again.names);
        expect(rows[0].holder).toBe(again.holder);
      } finally {
        await again.release();
      }
      // a non-production target still gets its table
      await t.db.raw('DROP TABLE SCRAPE_LOCKS');
      const plain = TargetLock.for(t.location, [PRODGUARD_SCOPE]);
      try {
        expect(await plain.tryAcquire()).toBe(true);
        expect(await tables(t)).toEqual(['SCRAPE_LOCKS']);
      } finally {
        await plain.release();
      }
    });
  }
});
