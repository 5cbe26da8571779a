import { DIALECTS, createTestDatabase, TestDatabase } from '../support/databases';
import { prepareTargetTables } from '../../engine/dbi/target-tables';
import { DbiWriter } from '../../engine/dbi/dbi-writer';
import { isScrapeError, ScrapeError } from '../../engine/core/errors';
import { testSpec } from './dbi-support';

async function failure(promise: Promise<unknown>): Promise<ScrapeError> {
  try {
    await promise;
  } catch (err) {
    if (isScrapeError(err)) return err;
    throw err;
  }
  throw new Error('expected a ScrapeError');
}

const spec = testSpec();
const context = { sitemask: 32, simmask: 1, subsite: 1, task: 0, aggregateno: -1 };

describe.each(DIALECTS)('prepareTargetTables on %s', (dialect) => {
  let t: TestDatabase;
  beforeEach(async () => {
    t = await createTestDatabase(dialect, 'dbi_target');
  });
  afterEach(async () => {
    await t.drop();
  });

  it('refuses to create or drop tables in a production target, and reports missing ones', async () => {
    const production = { ...t.location, production: true };
    expect(await failure(prepareTargetTables(t.db, [spec], { create: true, drop: false, location: production }))).toMatchObject({ code: 'TARGET_PRODUCTION' });
    expect(await failure(prepareTargetTables(t.db, [spec], { create: true, drop: true, location: production }))).toMatchObject({ code: 'TARGET_PRODUCTION' });
    // not even an embedded-looking SQLite target gets tables when it is production
    const missing = await failure(prepareTargetTables(t.db, [spec], { create: false, drop: false, location: production }));
    expect(missing.code).toBe('TARGET_TABLE_MISSING');
    expect(await t.db.schema.hasTable('DcsProbe')).toBe(false);
    expect(await t.db.schema.hasTable('LOCALSEQNO')).toBe(false);
    // existing tables are fine in production
    await prepareTargetTables(t.db, [spec], { create: true, drop: false, location: t.location });
    expect(await prepareTargetTables(t.db, [spec], { create: false, drop: false, location: production })).toEqual({ created: [], dropped: [] });
  });

  it('creates missing tables only when allowed (always for an embedded SQLite target), idempotently', async () => {
    const plain = { create: false, drop: false, location: t.location };
    if (dialect === 'mariadb') {
      const err = await failure(prepareTargetTables(t.db, [spec], plain));
      expect(err.code).toBe('TARGET_TABLE_MISSING');
      expect(err.message).toMatch(/--allow-drop-create-table/);
      expect(err.message).toMatch(/LOCALSEQNO/);
      expect(await t.db.schema.hasTable('LOCALSEQNO')).toBe(false);
      // LOCALSEQNO present but the spec's tables missing: still refused, naming them
      await t.db.raw('CREATE TABLE LOCALSEQNO (TABLENAME char(64) NOT NULL PRIMARY KEY, LASTUSEDSEQNO int)');
      const err2 = await failure(prepareTargetTables(t.db, [spec], plain));
      expect(err2.message).toMatch(/DcsProbe and DcsProbeVld.*--allow-drop-create-table/);
      expect(await t.db.schema.hasTable('DcsProbe')).toBe(false);
      const report = await prepareTargetTables(t.db, [spec], { ...plain, create: true });
      expect(report).toEqual({ created: ['SCRAPE_SOURCE_IDS', 'SCRAPE_PROVENANCE', 'SCRAPE_VLD_SPAN', 'DcsProbe', 'DcsProbeVld'], dropped: [] });
    } else {
      expect(await prepareTargetTables(t.db, [spec], plain)).toEqual({ created: ['LOCALSEQNO', 'SCRAPE_SOURCE_IDS', 'SCRAPE_PROVENANCE', 'SCRAPE_VLD_SPAN', 'DcsProbe', 'DcsProbeVld'], dropped: [] });
    }
    expect(await prepareTargetTables(t.db, [spec], { ...plain, create: true })).toEqual({ created: [], dropped: [] });
    expect(await prepareTargetTables(t.db, [spec], plain)).toEqual({ created: [], dropped: [] });
  });

  it('drops and recreates with drop (which needs create); SEQNOs start again at 1', async () => {
    await prepareTargetTables(t.db, [spec], { create: true, drop: false, location: t.location });
    const rows = [{ value: 1 }];
    await new DbiWriter(t.db, spec).write([{ timestart: '2011-02-01 00:00:00', timeend: '2011-02-01 00:01:00', context, rows }]);
    expect(await failure(prepareTargetTables(t.db, [spec], { create: false, drop: true, location: t.location }))).toMatchObject({ code: 'TARGET_DROP_NEEDS_CREATE' });
    expect(Number((await t.db('DcsProbeVld').count({ n: '*' }))[0].n)).toBe(1);
    const report = await prepareTargetTables(t.db, [spec], { create: true, drop: true, location: t.location });
    expect(report).toEqual({ created: ['DcsProbe', 'DcsProbeVld'], dropped: ['DcsProbe', 'DcsProbeVld'] });
    expect(Number((await t.db('DcsProbeVld').count({ n: '*' }))[0].n)).toBe(0);
    expect(await new DbiWriter(t.db, spec).write([{ timestart: '2011-02-01 00:00:00', timeend: '2011-02-01 00:01:00', context, rows }])).toEqual([1]);
  });

  it('refuses an existing payload table that lacks spec attributes', async () => {
    await prepareTargetTables(t.db, [spec], { create: true, drop: false, location: t.location });
    await t.db.schema.alterTable('DcsProbe', (table) => table.dropColumn('label'));
    const err = await failure(prepareTargetTables(t.db, [spec], { create: true, drop: false, location: t.location }));
    expect(err.code).toBe('TARGET_SCHEMA');
    expect(err.message).toMatch(/lacks column\(s\) label/);
  });
});
