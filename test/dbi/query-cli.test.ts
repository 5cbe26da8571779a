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
    // by hand, SUBSITE 3, [00:00, 01:00): SEQNO, SITEMASK, SIMMASK, TASK, AGGREGATENO, VERSIONDATE
    const vld: [number, number, number, number, number, string][] = [
      [101, 3, 1, 0, 0, '00:00'], // DayaBay | LingAo, aggregate 0
      [102, 1, 1, 0, 1, '00:00'], // aggregate 1
      [103, 1, 4, 0, 0, '00:30'], // newer, but MC
      [104, 1, 1, 1, 1, '00:30'], // newer, but TASK 1
    ];
    await t.db('DcsAdTempVld').insert(vld.map(([SEQNO, SITEMASK, SIMMASK, TASK, AGGREGATENO, v]) => ({
      SEQNO, TIMESTART: '2011-02-01 00:00:00', TIMEEND: '2011-02-01 01:00:00', SITEMASK, SIMMASK, SUBSITE: 3, TASK, AGGREGATENO,
      VERSIONDATE: `2011-02-01 ${v}:00`, INSERTDATE: '2011-02-02 09:00:00',
    })));
    await t.db('DcsAdTemp').insert(vld.map(([SEQNO]) => ({ SEQNO, ROW_COUNTER: 1, ...payload(SEQNO * 10) })));
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
    expect(lines[0]).toBe('DcsAdTemp at 2011-02-01 00:45:00 UTC, SITEMASK & 32, SUBSITE 1, SIMMASK & 1, TASK 0');
    expect(lines[1].split(/\s+/)).toEqual(['SEQNO', 'TIMESTART', 'TIMEEND', 'SITEMASK', 'SIMMASK', 'SUBSITE', 'TASK', 'AGGREGATENO', 'VERSIONDATE', 'INSERTDATE']);
    expect(lines[2].split(/\s+/)).toEqual(['2', '2011-02-01', '00:30:00', '2011-02-01', '01:30:00', '32', '1', '1', '0', '-1', '2011-02-01', '00:01:00', '2011-02-02', '11:00:00']);
    expect(lines[3]).toBe('1 payload row');
    // the payload (ROW_COUNTER and 27 attributes) is wider than a table line: a column per line
    expect(lines.slice(4, 8).map((l) => l.trim())).toEqual(['*** row 1 ***', 'ROW_COUNTER: 1', 'Temp_PT1: 20', 'Temp_PT2: 21']);
  });

  it('gives JSON, by class name too, and the older version under --rollback', async () => {
    const newest = await query('GDcsAdTemp', '--at', '2011-02-01T00:45', '--site', 'SAB', '--subsite', '1', '--simmask', '1', '--task', '0', '--json');
    expect(newest.code).toBe(0);
    const json = JSON.parse(newest.out);
    expect(json).toMatchObject({ table: 'DcsAdTemp', at: '2011-02-01 00:45:00', context: { site: 32, subsite: 1, simflag: 1, task: 0, aggregateno: null }, rollback: null, rollbackVersion: null });
    expect(json.aggregates).toHaveLength(1);
    const [newestAgg] = json.aggregates;
    expect(newestAgg.aggregateno).toBe(-1);
    expect(newestAgg.vld).toMatchObject({ SEQNO: 2, VERSIONDATE: '2011-02-01 00:01:00', INSERTDATE: '2011-02-02 11:00:00' });
    expect(newestAgg.rows).toHaveLength(1);
    expect(newestAgg.rows[0]).toMatchObject({ SEQNO: 2, ROW_COUNTER: 1, Temp_PT1: 20, Temp_PT5: 24, count: 7 });

    const older = await query('DcsAdTemp', '--at', '2011-02-01 00:45:00', '--site', '32', '--subsite', '1', '--rollback', '2011-02-02 10:30:00', '--json');
    expect(older.code).toBe(0);
    const old = JSON.parse(older.out);
    expect(old.aggregates[0].vld).toMatchObject({ SEQNO: 1, VERSIONDATE: '2011-02-01 00:00:00', INSERTDATE: '2011-02-02 10:00:00' });
    expect(old.aggregates[0].rows[0]).toMatchObject({ Temp_PT1: 10, count: 7 });

    // B's VERSIONDATE is 00:01:00: not before 00:01:00, so A
    const byVersion = await query('DcsAdTemp', '--at', '2011-02-01 00:45:00', '--site', '32', '--subsite', '1', '--rollback-version', '2011-02-01 00:01:00', '--json');
    expect(byVersion.code).toBe(0);
    expect(JSON.parse(byVersion.out)).toMatchObject({ rollbackVersion: '2011-02-01 00:01:00', aggregates: [{ aggregateno: -1, vld: { SEQNO: 1 } }] });
    const afterB = await query('DcsAdTemp', '--at', '2011-02-01 00:45:00', '--site', '32', '--subsite', '1', '--rollback-version', '2011-02-01 00:01:01', '--json');
    expect(JSON.parse(afterB.out).aggregates[0].vld.SEQNO).toBe(2);
  });

  it('tests masks by bit, reads SimFlag 1 and TASK 0 unless told, and labels every aggregate', async () => {
    const both = await query('DcsAdTemp', '--at', '2011-02-01 00:15:00', '--site', '1', '--subsite', '3');
    expect(both.err).toBe('');
    expect(both.code).toBe(0);
    const lines = both.out.split('\n');
    // DayaBay, data, task 0: 101 (3 & 1) is aggregate 0's only validity, 102 aggregate 1's
    expect(lines[0]).toBe('DcsAdTemp at 2011-02-01 00:15:00 UTC, SITEMASK & 1, SUBSITE 3, SIMMASK & 1, TASK 0: 2 aggregates');
    expect(lines[1]).toBe('AGGREGATENO 0');
    expect(lines[2].split(/\s+/)[0]).toBe('SEQNO');
    expect(lines[3].split(/\s+/).slice(0, 6)).toEqual(['101', '2011-02-01', '00:00:00', '2011-02-01', '01:00:00', '3']);
    expect(lines[4]).toBe('1 payload row');
    expect(lines.slice(5, 8).map((l) => l.trim())).toEqual(['*** row 1 ***', 'ROW_COUNTER: 1', 'Temp_PT1: 1010']);
    const second = lines.indexOf('AGGREGATENO 1');
    expect(second).toBeGreaterThan(7);
    expect(lines[second + 2].split(/\s+/)[0]).toBe('102');
    expect(lines[second + 3]).toBe('1 payload row');
    expect(lines.slice(second + 4, second + 7).map((l) => l.trim())).toEqual(['*** row 1 ***', 'ROW_COUNTER: 1', 'Temp_PT1: 1020']);
    // each aggregate: the label, the Vld header and row, the count, the row marker, ROW_COUNTER and the attributes
    expect(lines).toHaveLength(1 + 2 * (second - 1) + 1); // the first line, two blocks alike, the final newline

    // LingAo sees 101 through its SITEMASK 3: one aggregate, no label
    const lingao = await query('DcsAdTemp', '--at', '2011-02-01 00:15:00', '--site', '2', '--subsite', '3');
    expect(lingao.code).toBe(0);
    expect(lingao.out.split('\n')[0]).toBe('DcsAdTemp at 2011-02-01 00:15:00 UTC, SITEMASK & 2, SUBSITE 3, SIMMASK & 1, TASK 0');
    expect(lingao.out.split('\n')[2].split(/\s+/)[0]).toBe('101');

    const json = async (...args: string[]) => {
      const r = await query('DcsAdTemp', '--at', '2011-02-01 00:15:00', '--subsite', '3', '--json', ...args);
      expect(r.code).toBe(0);
      return JSON.parse(r.out) as { context: Record<string, unknown>; aggregates: { aggregateno: number; vld: { SEQNO: number }; rows: unknown[] }[] };
    };
    const winners = (j: Awaited<ReturnType<typeof json>>) => j.aggregates.map((a) => [a.aggregateno, a.vld.SEQNO]);
    expect(winners(await json('--site', '1'))).toEqual([[0, 101], [1, 102]]);
    const one = await json('--site', '1', '--aggregate', '1');
    expect(one.context).toEqual({ site: 1, subsite: 3, simflag: 1, task: 0, aggregateno: 1 });
    expect(winners(one)).toEqual([[1, 102]]);
    expect(one.aggregates[0].rows).toEqual([expect.objectContaining({ SEQNO: 102, ROW_COUNTER: 1, Temp_PT1: 1020 })]);
    expect(winners(await json('--site', '1', '--simmask', '4'))).toEqual([[0, 103]]);
    expect(winners(await json('--site', '1', '--task', '1'))).toEqual([[1, 104]]);

    for (const bad of [['--site', '3'], ['--site', '1', '--simmask', '5'], ['--site', '1', '--aggregate', 'x']]) {
      const r = await query('DcsAdTemp', '--at', '2011-02-01 00:15:00', '--subsite', '3', ...bad);
      expect(r.code).toBe(1);
      expect(r.err).toMatch(/QUERY_OPTION/);
    }
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
      return JSON.parse(r.out).aggregates[0].rows[0].Temp_PT1;
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
      return r.code === 0 ? JSON.parse(r.out).aggregates[0].vld.SEQNO : `exit ${r.code}`;
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

  it('--json with nothing valid prints the same shape with no aggregates, and exits 1', async () => {
    const r = await query('DcsAdTemp', '--at', '2011-02-01 01:30:00', '--site', 'SAB', '--subsite', '1', '--json');
    expect(r.code).toBe(1);
    expect(JSON.parse(r.out)).toEqual({
      table: 'DcsAdTemp', at: '2011-02-01 01:30:00', context: { site: 32, subsite: 1, simflag: 1, task: 0, aggregateno: null },
      rollback: null, rollbackVersion: null, aggregates: [],
    });
    expect(r.err).toMatch(/no DcsAdTemp validity covers 2011-02-01 01:30:00 UTC/);
  });

  it('exits 1 with a message when nothing is valid, or on bad input', async () => {
    const none = await query('DcsAdTemp', '--at', '2011-02-01 01:30:00', '--site', '32', '--subsite', '1');
    expect(none.code).toBe(1);
    expect(none.out).toBe('');
    expect(none.err).toMatch(/no DcsAdTemp validity covers 2011-02-01 01:30:00 UTC for SITEMASK & 32, SUBSITE 1, SIMMASK & 1, TASK 0/);
    const noneJson = await query('DcsAdTemp', '--at', '2011-02-01 01:30:00', '--site', '32', '--subsite', '1', '--log-format', 'json');
    expect(noneJson.code).toBe(1);
    expect(noneJson.err.trim().split('\n').map((l) => JSON.parse(l))).toEqual([
      expect.objectContaining({ level: 'error', message: 'no DcsAdTemp validity covers 2011-02-01 01:30:00 UTC for SITEMASK & 32, SUBSITE 1, SIMMASK & 1, TASK 0', table: 'DcsAdTemp', at_utc: '2011-02-01 01:30:00', site: 32, subsite: 1, exit_code: 1 }),
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
