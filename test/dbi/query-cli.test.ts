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

  it('exits 1 with a message when nothing is valid, or on bad input', async () => {
    const none = await query('DcsAdTemp', '--at', '2011-02-01 01:30:00', '--site', '32', '--subsite', '1');
    expect(none.code).toBe(1);
    expect(none.out).toBe('');
    expect(none.err).toMatch(/no DcsAdTemp validity covers 2011-02-01 01:30:00 UTC for SITEMASK 32 SUBSITE 1/);
    const noneJson = await query('DcsAdTemp', '--at', '2011-02-01 01:30:00', '--site', '32', '--subsite', '1', '--log-format', 'json');
    expect(noneJson.code).toBe(1);
    expect(noneJson.err.trim().split('\n').map((l) => JSON.parse(l))).toEqual([
      expect.objectContaining({ level: 'error', message: 'no DcsAdTemp validity covers 2011-02-01 01:30:00 UTC for SITEMASK 32 SUBSITE 1', table: 'DcsAdTemp', at_utc: '2011-02-01 01:30:00', sitemask: 32, subsite: 1, exit_code: 1 }),
    ]);
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
