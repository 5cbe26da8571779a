import { DIALECTS, createTestDatabase, TestDatabase } from '../support/databases';
import { main } from '../../engine/cli/main';
import { prepareTargetTables } from '../../engine/dbi/target-tables';
import { DbiWriter } from '../../engine/dbi/dbi-writer';
import { ManualClock } from '../../engine/core/clock';
import { loadSpec } from '../../engine/spec/spec-table';
import { captureIo } from './dbi-support';

const spec = loadSpec('GDcsAdTemp');
const SAB_AD1 = { sitemask: 32, simmask: 1, subsite: 1, task: 0, aggregateno: -1 };

describe.each(DIALECTS)('scrape query on %s', (dialect) => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await createTestDatabase(dialect, 'dbi_query');
    await prepareTargetTables(t.db, [spec], { create: true, drop: false, location: t.location });
    const clock = new ManualClock(Date.UTC(2011, 1, 2, 10, 0, 0));
    const writer = new DbiWriter(t.db, spec, { clock });
    const payload = (base: number) => Object.fromEntries(spec.columns.map((c, i) => [c.name, c.name === 'count' ? 7 : base + i]));
    // A [00:00, 01:00) inserted 10:00; B [00:30, 01:30) inserted 11:00 overlays A
    await writer.write([{ timestart: '2011-02-01 00:00:00', timeend: '2011-02-01 01:00:00', context: SAB_AD1, rows: [payload(10)] }]);
    clock.advance(3_600_000);
    await writer.write([{ timestart: '2011-02-01 00:30:00', timeend: '2011-02-01 01:30:00', context: SAB_AD1, rows: [payload(20)] }]);
  });
  afterAll(async () => {
    await t.drop();
  });

  const query = async (...args: string[]) => {
    const io = captureIo();
    const code = await main(['node', 'scrape', 'query', ...args, '--target', t.url], io);
    return { code, out: io.out(), err: io.err() };
  };

  it('prints the newest version of an overlaid range', async () => {
    const r = await query('DcsAdTemp', '--at', '2011-02-01 00:45:00', '--site', '32', '--subsite', '1');
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const lines = r.out.split('\n');
    expect(lines[0]).toBe('DcsAdTemp at 2011-02-01 00:45:00 UTC, SITEMASK 32 SUBSITE 1');
    expect(lines[1].split(/\s+/)).toEqual(['SEQNO', 'TIMESTART', 'TIMEEND', 'SITEMASK', 'SIMMASK', 'SUBSITE', 'TASK', 'AGGREGATENO', 'VERSIONDATE', 'INSERTDATE']);
    expect(lines[2].split(/\s+/)).toEqual(['2', '2011-02-01', '00:30:00', '2011-02-01', '01:30:00', '32', '1', '1', '0', '-1', '2011-02-01', '00:01:00', '2011-02-02', '11:00:00']);
    expect(lines[3]).toBe('1 payload row');
    expect(lines[4].split(/\s+/).slice(0, 3)).toEqual(['ROW_COUNTER', 'Temp_PT1', 'Temp_PT2']);
    expect(lines[5].split(/\s+/).slice(0, 3)).toEqual(['1', '20', '21']);
  });

  it('gives JSON, by class name too, and the older version under --rollback', async () => {
    const newest = await query('GDcsAdTemp', '--at', '2011-02-01T00:45', '--site', 'SAB', '--subsite', '1', '--simmask', '1', '--task', '0', '--json');
    expect(newest.code).toBe(0);
    const json = JSON.parse(newest.out);
    expect(json.vld).toMatchObject({ SEQNO: 2, VERSIONDATE: '2011-02-01 00:01:00', INSERTDATE: '2011-02-02 11:00:00' });
    expect(json.rows).toHaveLength(1);
    expect(json.rows[0]).toMatchObject({ SEQNO: 2, ROW_COUNTER: 1, Temp_PT1: 20, Temp_PT5: 24, count: 7 });

    const older = await query('DcsAdTemp', '--at', '2011-02-01 00:45:00', '--site', '32', '--subsite', '1', '--rollback', '2011-02-02 10:30:00', '--json');
    expect(older.code).toBe(0);
    const old = JSON.parse(older.out);
    expect(old.vld).toMatchObject({ SEQNO: 1, VERSIONDATE: '2011-02-01 00:00:00', INSERTDATE: '2011-02-02 10:00:00' });
    expect(old.rows[0]).toMatchObject({ Temp_PT1: 10, count: 7 });
  });

  it('--site takes the DBI names and the hall prefixes (DBNS, LANS, FARS) in any case, as well as numbers', async () => {
    const writer = new DbiWriter(t.db, spec, { clock: new ManualClock(Date.UTC(2011, 1, 3, 0, 0, 0)) });
    const payload = (base: number) => Object.fromEntries(spec.columns.map((c, i) => [c.name, c.name === 'count' ? 1 : base + i]));
    for (const [sitemask, base] of [[1, 100], [2, 200], [4, 400]]) {
      await writer.write([{ timestart: '2011-03-01 00:00:00', timeend: '2011-03-01 01:00:00', context: { ...SAB_AD1, sitemask }, rows: [payload(base)] }]);
    }
    const pt1 = async (site: string) => {
      const r = await query('DcsAdTemp', '--at', '2011-03-01 00:10:00', '--site', site, '--subsite', '1', '--json');
      expect(r.err).toBe('');
      expect(r.code).toBe(0);
      return JSON.parse(r.out).rows[0].Temp_PT1;
    };
    for (const site of ['1', 'DBNS', 'dbns', 'DayaBay']) expect(await pt1(site)).toBe(100);
    for (const site of ['2', 'LANS', 'LingAo', 'lingao']) expect(await pt1(site)).toBe(200);
    for (const site of ['4', 'FARS', 'Far']) expect(await pt1(site)).toBe(400);
    const unknown = await query('DcsAdTemp', '--at', '2011-03-01 00:10:00', '--site', 'EH4', '--subsite', '1');
    expect(unknown.code).toBe(1);
    expect(unknown.err).toMatch(/QUERY_OPTION.*--site 'EH4' is neither a SITEMASK number nor a site name \(DayaBay 1, DBNS 1, LingAo 2, LANS 2, Far 4, FARS 4, SAB 32\)/);
  });

  it('--at and --rollback take ISO 8601 with Z or an offset, converted to UTC; fractions of a second round the safe way', async () => {
    const seqno = async (...args: string[]) => {
      const r = await query('DcsAdTemp', '--site', '32', '--subsite', '1', '--json', ...args);
      return r.code === 0 ? JSON.parse(r.out).vld.SEQNO : `exit ${r.code}`;
    };
    // 00:45 UTC is covered by A (SEQNO 1, [00:00, 01:00)) and B (SEQNO 2, [00:30, 01:30)): B is newer
    expect(await seqno('--at', '2011-02-01T00:45:00Z')).toBe(2);
    expect(await seqno('--at', '2011-02-01T00:45:00z')).toBe(2);
    expect(await seqno('--at', '2011-02-01T08:45:00+08:00')).toBe(2);
    expect(await seqno('--at', '2011-02-01 08:45:00+0800')).toBe(2);
    expect(await seqno('--at', '2011-02-01T08:45+08')).toBe(2);
    expect(await seqno('--at', '2011-01-31T19:45:00-05:00')).toBe(2);
    // 04:15 local +08:00 is 20:15 UTC the day before: nothing
    expect(await seqno('--at', '2011-02-01T04:15:00+08:00')).toBe('exit 1');
    // 00:29:59.999 is before B starts: only A covers it (rounding up would give B)
    expect(await seqno('--at', '2011-02-01T00:29:59.999Z')).toBe(1);
    // B was inserted 2011-02-02 11:00:00 UTC: "inserted before 11:00:00.001" includes it, "before 11:00:00" does not
    expect(await seqno('--at', '2011-02-01T00:45:00Z', '--rollback', '2011-02-02T11:00:00.001Z')).toBe(2);
    expect(await seqno('--at', '2011-02-01T00:45:00Z', '--rollback', '2011-02-02T11:00:00Z')).toBe(1);
    expect(await seqno('--at', '2011-02-01T00:45:00Z', '--rollback', '2011-02-02T19:00:00+08:00')).toBe(1);
    for (const bad of ['2011-02-01T00:45:00+25:00', '2011-02-01Z', '2011-02-01T00:45.5Z', '2011-02-30T00:45:00Z']) {
      const r = await query('DcsAdTemp', '--at', bad, '--site', '32', '--subsite', '1');
      expect([bad, r.code]).toEqual([bad, 1]);
      expect(r.err).toMatch(/BAD_TIME/);
    }
  });

  it('--json with nothing valid prints the same shape with vld null and no rows, and exits 1', async () => {
    const r = await query('DcsAdTemp', '--at', '2011-02-01 01:30:00', '--site', 'SAB', '--subsite', '1', '--json');
    expect(r.code).toBe(1);
    expect(JSON.parse(r.out)).toEqual({ table: 'DcsAdTemp', at: '2011-02-01 01:30:00', rollback: null, vld: null, rows: [] });
    expect(r.err).toMatch(/no DcsAdTemp validity covers 2011-02-01 01:30:00 UTC/);
  });

  it('exits 1 with a message when nothing is valid, or on bad input', async () => {
    const none = await query('DcsAdTemp', '--at', '2011-02-01 01:30:00', '--site', '32', '--subsite', '1');
    expect(none.code).toBe(1);
    expect(none.out).toBe('');
    expect(none.err).toMatch(/no DcsAdTemp validity covers 2011-02-01 01:30:00 UTC for SITEMASK 32 SUBSITE 1/);
    const otherDetector = await query('DcsAdTemp', '--at', '2011-02-01 00:45:00', '--site', '32', '--subsite', '2', '--json');
    expect(otherDetector.code).toBe(1);
    const beforeAny = await query('DcsAdTemp', '--at', '2011-02-01 00:45:00', '--site', '32', '--subsite', '1', '--rollback', '2011-02-02 10:00:00');
    expect(beforeAny.code).toBe(1);
    const badTime = await query('DcsAdTemp', '--at', 'noon', '--site', '32', '--subsite', '1');
    expect(badTime.code).toBe(1);
    expect(badTime.err).toMatch(/BAD_TIME/);
    const unknown = await query('DcsNothing', '--at', '2011-02-01 00:45:00', '--site', '32', '--subsite', '1');
    expect(unknown.code).toBe(1);
    expect(unknown.err).toMatch(/SPEC_MISSING/);
    const noTable = await query('DcsPmtHv', '--at', '2011-02-01 00:45:00', '--site', '32', '--subsite', '1');
    expect(noTable.code).toBe(1);
    expect(noTable.err).toMatch(/TARGET_TABLE_MISSING.*DcsPmtHv/);
  });
});
