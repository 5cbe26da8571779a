import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { MemoryLogger } from '../../engine/core/logger';
import { ManualClock } from '../../engine/core/clock';
import { loadRegime, applySettingOverrides, LoadedRegime } from '../../engine/config/load-regime';
import { runScraper } from '../../engine/scraper/scraper';
import { verifyRegime } from '../../engine/report/verify-regime';
import { repairRegime } from '../../engine/report/repair-regime';
import { runAverager } from '../../engine/averager/averager';
import { runBatchFaker } from '../../engine/faker/faker';
import { streamStatuses } from '../../engine/report/stream-status';
import { DIALECTS, createTestDatabase, TestDatabase } from '../support/databases';
import { createSourceTable, insertRows, localPlus } from '../support/source-fixture';
import { targetRowsBySql } from './target-rows';
import { namedGroupSources, templateRegex } from '../../engine/source/source-stream';

const START = '2011-11-01 00:00:00';
/** Rows of the whole history; the first BOUNDARY of them are in the old table when split. */
const ROWS = 80;
const BOUNDARY = 37;

/**
 * A regime over `<site>_<detector>_HV_Vmon` whose older name is `<site>_<detector>_HV` (the 2011
 * rename), with a threshold rule, maxage and aggregates, so validities, payload and aggregates all
 * depend on rows on both sides of the hand-over.
 */
const REGIME = `name: succ
source: fake_dcs
target: tmp_offline_db
tables:
  - pattern: '^(?<site>DBNS)_(?<detector>AD[12])_HV_Vmon$'
    succession: ['{site}_{detector}_HV']
    columns:
      'V{1..2}': decimal(6,2)
context:
  sitemask: { capture: site, map: { DBNS: 1 } }
  subsite: { capture: detector, map: { AD1: 1, AD2: 2 } }
changes:
  - columns: '^V\\d$'
    threshold: 1.0
aggregate:
  functions: [avg, max]
scraper:
  interval: 10s
  offset: 0
  maxage: 2m
  timefloor: '2011-01-01 00:00:00'
targets:
  - spec: GSuccHv
    map:
      v1: last.V1
      v2: last.V2
      v1_avg: agg.V1_avg
      v2_max: agg.V2_max
      n: agg.count
`;
const SPEC = `table | meta | legacy | CanL2Cache | class
SuccHv | 1 | SuccHv | kFALSE | GSuccHv
;
meta | rctx | wctx
1 | Site.kDayaBay, DetectorId.kAD1, SimFlag.kData | Site.kDayaBay, DetectorId.kAD1, SimFlag.kData
;
name | dbtype | codetype | description
v1 | float | double | V1 at the end
v2 | float | double | V2 at the end
v1_avg | double | double | average of V1 over the range
v2_max | float | double | largest V2 over the range
n | int | int | entries in the range
`;

/** Row r of the history (1-based): V1 jumps +2 at row 15 and back at 40, V2 ramps by 0.1 a row (a change every 11 rows). */
function row(r: number): Record<string, unknown> {
  return { date_time: localPlus(START, r * 10), V1: (100 + (r >= 15 ? 2 : 0) - (r >= 40 ? 2 : 0)).toFixed(2), V2: (50 + 0.1 * r).toFixed(2) };
}

const COLUMNS = { V1: 'decimal(6,2)', V2: 'decimal(6,2)' };

describe('older names matched with the pattern\'s own captures', () => {
  it('takes each named group\'s text, nested groups, classes and escapes included', () => {
    expect(namedGroupSources('^(?<site>DBNS|LANS|FARS)_(?<detector>AD[1-4])_HV_Vmon$')).toEqual({ site: 'DBNS|LANS|FARS', detector: 'AD[1-4]' });
    expect(namedGroupSources('^(?<a>x(y|z))_(?<b>\\(q[)]\\))$')).toEqual({ a: 'x(y|z)', b: '\\(q[)]\\)' });
  });
  it('matches a template only where the pattern would allow its captures', () => {
    const re = templateRegex('{site}_{detector}_HV', namedGroupSources('^(?<site>DBNS|LANS)_(?<detector>AD[1-4])_HV_Vmon$'));
    expect(re.exec('LANS_AD2_HV')?.groups).toEqual({ site: 'LANS', detector: 'AD2' });
    for (const no of ['DBNS_AD9_HV', 'FARS_AD1_HV', 'DBNS_AD1_HV_Vmon', 'DBNS_AD1_HVx']) expect(re.test(no)).toBe(false);
  });
});

describe.each(DIALECTS)('table succession (DBNS_AD1_HV, then DBNS_AD1_HV_Vmon) on %s', (dialect) => {
  let loaded: LoadedRegime;
  let dir: string;
  const dbs: TestDatabase[] = [];
  const make = async (label: string) => {
    const d = await createTestDatabase(dialect, label);
    dbs.push(d);
    return d;
  };
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'scrape-succession-'));
    fs.mkdirSync(path.join(dir, 'spec'));
    fs.writeFileSync(path.join(dir, 'spec', 'GSuccHv.spec'), SPEC);
    fs.writeFileSync(path.join(dir, 'succ.yaml'), REGIME);
    loaded = loadRegime(path.join(dir, 'succ.yaml'), { cwd: dir, specDir: 'spec' });
  });
  afterAll(async () => {
    for (const d of dbs) await d.drop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const scrape = async (source: TestDatabase, target: TestDatabase, sets: string[] = []) => {
    const regime = applySettingOverrides(loaded.regime, sets);
    const logger = new MemoryLogger();
    const report = await runScraper({ regime, specs: loaded.specs, source: source.db, target: target.db, targetLocation: target.location, logger, clock: new ManualClock(Date.UTC(2026, 0, 1)), untilCaughtUp: true, allowCreate: true });
    return { report, logger };
  };

  /** The whole history in one table (ids 1..ROWS). */
  const oneTable = async (label: string) => {
    const src = await make(label);
    await createSourceTable(src.db, 'DBNS_AD1_HV_Vmon', COLUMNS);
    await insertRows(src.db, 'DBNS_AD1_HV_Vmon', Array.from({ length: ROWS }, (_, i) => ({ id: i + 1, ...row(i + 1) })));
    return src;
  };
  /** Rows [from, to] of the history into the old table (ids continue from the row number). */
  const intoOld = async (src: TestDatabase, from: number, to: number) =>
    insertRows(src.db, 'DBNS_AD1_HV', Array.from({ length: to - from + 1 }, (_, i) => ({ id: from + i, ...row(from + i) })));
  /** Rows [from, to] into the new table, ids restarting at 1 with the table's first row (BOUNDARY + 1). */
  const intoNew = async (src: TestDatabase, from: number, to: number) =>
    insertRows(src.db, 'DBNS_AD1_HV_Vmon', Array.from({ length: to - from + 1 }, (_, i) => ({ id: from + i - BOUNDARY, ...row(from + i) })));

  let reference: Awaited<ReturnType<typeof targetRowsBySql>>;

  it('the reference: one table holding the whole history, validities by hand', async () => {
    const src = await oneTable('fake_succ_one');
    const tgt = await make('succ_one_tgt');
    await scrape(src, tgt);
    reference = await targetRowsBySql(tgt.db, 'SuccHv');
    // By hand: V2 grows 0.1 a row, so |V2 − sv[0]| > 1 first 11 rows after sv[0] (1.1); V1 jumps at
    // 15 and 40; maxage 2m is 13 rows. sv[0]=1: row 12 (V2 +1.1) → [1,12); row 15 (V1) → [12,15);
    // row 26 (V2) → [15,26); row 37 → [26,37); row 40 (V1) → [37,40); 51 → [40,51); 62 → [51,62);
    // 73 → [62,73); rows 74..80 are less than 11 rows after 73: nothing more.
    const utc = (r: number) => localPlus(START, r * 10 - 8 * 3600);
    const ends = [[1, 12], [12, 15], [15, 26], [26, 37], [37, 40], [40, 51], [51, 62], [62, 73]];
    expect(reference.vld.map((v) => [v.TIMESTART, v.TIMEEND])).toEqual(ends.map(([a, b]) => [utc(a), utc(b)]));
    // n: the entries of [start, end); v2_max: V2 of the entry before the end
    expect(reference.payload.map((p) => [p.n, p.v2_max])).toEqual(ends.map(([a, b]) => [b - a, Number((50 + 0.1 * (b - 1)).toFixed(2))]));
  });

  it('the history split over the old table and the renamed one gives exactly the same target', async () => {
    const src = await make('fake_succ_split');
    await createSourceTable(src.db, 'DBNS_AD1_HV', COLUMNS);
    await createSourceTable(src.db, 'DBNS_AD1_HV_Vmon', COLUMNS);
    await intoOld(src, 1, BOUNDARY);
    await intoNew(src, BOUNDARY + 1, ROWS);
    const tgt = await make('succ_split_tgt');
    const { report } = await scrape(src, tgt);
    // one stream, named after the newest table, reading both
    expect(report.streams.map((s) => [s.table, s.rowsRead])).toEqual([['DBNS_AD1_HV_Vmon', ROWS]]);
    expect(await targetRowsBySql(tgt.db, 'SuccHv')).toEqual(reference);
  });

  it('stopped exactly at the boundary (only the old table there yet) and restarted once the new one exists', async () => {
    const src = await make('fake_succ_boundary');
    await createSourceTable(src.db, 'DBNS_AD1_HV', COLUMNS);
    await intoOld(src, 1, BOUNDARY);
    const tgt = await make('succ_boundary_tgt');
    const first = await scrape(src, tgt);
    // the history before the rename runs on its own, as a stream of the old table
    expect(first.report.streams.map((s) => [s.table, s.rowsRead])).toEqual([['DBNS_AD1_HV', BOUNDARY]]);
    await createSourceTable(src.db, 'DBNS_AD1_HV_Vmon', COLUMNS);
    await intoNew(src, BOUNDARY + 1, ROWS);
    const second = await scrape(src, tgt);
    expect(second.report.streams.map((s) => s.table)).toEqual(['DBNS_AD1_HV_Vmon']);
    expect(await targetRowsBySql(tgt.db, 'SuccHv')).toEqual(reference);
  });

  it('restarted in the middle of the old table, and stopped every 14 samples (--maxiter) across the boundary', async () => {
    const src = await make('fake_succ_middle');
    await createSourceTable(src.db, 'DBNS_AD1_HV', COLUMNS);
    await createSourceTable(src.db, 'DBNS_AD1_HV_Vmon', COLUMNS);
    await intoOld(src, 1, 20);
    const tgt = await make('succ_middle_tgt');
    await scrape(src, tgt);
    await intoOld(src, 21, BOUNDARY);
    await intoNew(src, BOUNDARY + 1, 50);
    await scrape(src, tgt);
    await intoNew(src, 51, ROWS);
    await scrape(src, tgt);
    expect(await targetRowsBySql(tgt.db, 'SuccHv')).toEqual(reference);

    const src2 = await make('fake_succ_maxiter');
    await createSourceTable(src2.db, 'DBNS_AD1_HV', COLUMNS);
    await createSourceTable(src2.db, 'DBNS_AD1_HV_Vmon', COLUMNS);
    await intoOld(src2, 1, BOUNDARY);
    await intoNew(src2, BOUNDARY + 1, ROWS);
    const tgt2 = await make('succ_maxiter_tgt');
    // maxiter 14 > the 13 rows after which maxage propagates: every run writes until none is left
    let runs = 0;
    let before = -1;
    for (; runs < 40; runs++) {
      await scrape(src2, tgt2, ['maxiter=14']);
      const after = (await targetRowsBySql(tgt2.db, 'SuccHv')).vld.length;
      if (after === before) break;
      before = after;
    }
    expect(runs).toBeGreaterThan(3);
    expect(await targetRowsBySql(tgt2.db, 'SuccHv')).toEqual(reference);
  });

  it('an old row dated at or after the new table\'s first row is not read: the new table takes over there', async () => {
    const src = await make('fake_succ_overlap');
    await createSourceTable(src.db, 'DBNS_AD1_HV', COLUMNS);
    await createSourceTable(src.db, 'DBNS_AD1_HV_Vmon', COLUMNS);
    await intoOld(src, 1, BOUNDARY);
    // the old table written on for a while after the rename, with values that would change things
    await insertRows(src.db, 'DBNS_AD1_HV', [BOUNDARY + 1, BOUNDARY + 2, BOUNDARY + 5].map((r) => ({ id: r, date_time: localPlus(START, r * 10), V1: '500.00', V2: '500.00' })));
    await intoNew(src, BOUNDARY + 1, ROWS);
    const tgt = await make('succ_overlap_tgt');
    const { report } = await scrape(src, tgt);
    expect(report.streams.map((s) => [s.table, s.rowsRead])).toEqual([['DBNS_AD1_HV_Vmon', ROWS]]);
    expect(await targetRowsBySql(tgt.db, 'SuccHv')).toEqual(reference);
  });

  it('keeps source ids per table, records where each range was read, finds late rows in either table, and verify replays across the boundary', async () => {
    const src = await make('fake_succ_marks');
    await createSourceTable(src.db, 'DBNS_AD1_HV', COLUMNS);
    await createSourceTable(src.db, 'DBNS_AD1_HV_Vmon', COLUMNS);
    await intoOld(src, 1, BOUNDARY);
    await intoNew(src, BOUNDARY + 1, ROWS);
    const tgt = await make('succ_marks_tgt');
    await scrape(src, tgt);
    const rows = async (sql: string) => {
      const raw = (await tgt.db.raw(sql)) as unknown;
      return (Array.isArray(raw) && Array.isArray(raw[0]) ? raw[0] : raw) as Record<string, unknown>[];
    };
    // By hand: the ranges of the reference end at rows 12, 15, 26, 37 (old table, ids = rows) and
    // 40, 51, 62, 73 (new table, ids = row − 37). The mark of a validity is of its end entry's
    // table; the range [37, 40) starts in the old table and ends in the new one.
    const marks = await rows(`SELECT SOURCE_TABLE, MAX_ID, FIRST_ID, LAST_ID FROM SCRAPE_SOURCE_IDS WHERE TABLENAME = 'SuccHv' ORDER BY SEQNO`);
    const ends = [12, 15, 26, 37, 40, 51, 62, 73];
    expect(marks.map((m) => [m.SOURCE_TABLE, Number(m.LAST_ID)])).toEqual(ends.map((r) => (r <= BOUNDARY ? ['DBNS_AD1_HV', r] : ['DBNS_AD1_HV_Vmon', r - BOUNDARY])));
    // every mark is an id of its own table: at least the end entry's, at most the table's largest
    for (const m of marks) {
      expect(Number(m.MAX_ID)).toBeGreaterThanOrEqual(Number(m.LAST_ID));
      expect(Number(m.MAX_ID)).toBeLessThanOrEqual(m.SOURCE_TABLE === 'DBNS_AD1_HV' ? BOUNDARY : ROWS - BOUNDARY);
    }
    const prov = await rows(`SELECT SOURCE_TABLE, FIRST_ID, LAST_ID FROM SCRAPE_PROVENANCE WHERE TABLENAME = 'SuccHv' ORDER BY SEQNO`);
    expect(prov.map((p) => [p.SOURCE_TABLE, Number(p.FIRST_ID), Number(p.LAST_ID)])).toEqual([
      ['DBNS_AD1_HV', 1, 12], ['DBNS_AD1_HV', 12, 15], ['DBNS_AD1_HV', 15, 26], ['DBNS_AD1_HV', 26, 37],
      ['DBNS_AD1_HV>DBNS_AD1_HV_Vmon', 37, 3], ['DBNS_AD1_HV_Vmon', 3, 14], ['DBNS_AD1_HV_Vmon', 14, 25], ['DBNS_AD1_HV_Vmon', 25, 36],
    ]);

    // the replay of `scrape verify` decides exactly what was written
    const verified = await verifyRegime({ regime: loaded.regime, specs: loaded.specs, source: src.db, target: tgt.db, targetLocation: tgt.location, logger: new MemoryLogger(), clock: new ManualClock(Date.UTC(2026, 0, 1)), mode: 'scrape' });
    expect(verified.differences).toEqual([]);

    // late rows: one in each table, dated inside written ranges, with ids above the marks
    await insertRows(src.db, 'DBNS_AD1_HV', [{ id: 1000, date_time: localPlus(START, 20 * 10 + 5), V1: '1.00', V2: '1.00' }]);
    await insertRows(src.db, 'DBNS_AD1_HV_Vmon', [{ id: 1000, date_time: localPlus(START, 45 * 10 + 5), V1: '1.00', V2: '1.00' }]);
    const { logger } = await scrape(src, tgt);
    const warnings = logger.lines.filter((l) => l.level === 'warn').map((l) => l.message);
    expect(warnings.some((w) => /late row/.test(w))).toBe(true);
    const [status] = await streamStatuses({ regime: loaded.regime, specs: loaded.specs, source: src.db, target: tgt.db, clock: new ManualClock(Date.UTC(2026, 0, 1)) });
    expect(status.late?.count).toBe(2);
    // verify reports both as late and leaves them out of its replay: no other difference
    const again = await verifyRegime({ regime: loaded.regime, specs: loaded.specs, source: src.db, target: tgt.db, targetLocation: tgt.location, logger: new MemoryLogger(), clock: new ManualClock(Date.UTC(2026, 0, 1)), mode: 'scrape' });
    expect(again.differences.map((d) => [d.kind, (d as { row?: { id: number } }).row?.id])).toEqual([['late', 1000], ['late', 1000]]);
    // nothing changed in the target
    expect(await targetRowsBySql(tgt.db, 'SuccHv')).toEqual(reference);
  });

  it('a stream whose newest table is missing is found from its older one; --tables may name either', async () => {
    const src = await make('fake_succ_only_old');
    await createSourceTable(src.db, 'DBNS_AD2_HV', COLUMNS);
    await createSourceTable(src.db, 'DBNS_AD1_HV', COLUMNS);
    await createSourceTable(src.db, 'DBNS_AD1_HV_Vmon', COLUMNS);
    const { discoverStreams } = await import('../../engine/source/source-stream');
    const streams = await discoverStreams(src.db, loaded.regime);
    expect(streams.map((s) => [s.table, s.succession?.map((m) => m.table) ?? [], s.context.subsite])).toEqual([
      ['DBNS_AD1_HV_Vmon', ['DBNS_AD1_HV'], 1],
      ['DBNS_AD2_HV', [], 2],
    ]);
    expect((await discoverStreams(src.db, loaded.regime, ['DBNS_AD1_HV'])).map((s) => s.table)).toEqual(['DBNS_AD1_HV_Vmon']);
    // scrape inspect names the older table and its rows
    await intoOld(src, 1, 3);
    const { inspectSource } = await import('../../engine/report/source-inspection');
    expect((await inspectSource(src.db, loaded.regime)).tables.map((t) => [t.table, t.older])).toEqual([
      ['DBNS_AD1_HV_Vmon', [{ table: 'DBNS_AD1_HV', rows: 3 }]],
      ['DBNS_AD2_HV', undefined],
    ]);
  });

  it('the averager and a repair give across the boundary what they give within one table', async () => {
    const one = await oneTable('fake_succ_avg_one');
    const split = await make('fake_succ_avg_split');
    await createSourceTable(split.db, 'DBNS_AD1_HV', COLUMNS);
    await createSourceTable(split.db, 'DBNS_AD1_HV_Vmon', COLUMNS);
    await intoOld(split, 1, BOUNDARY);
    await intoNew(split, BOUNDARY + 1, ROWS);
    const got: Awaited<ReturnType<typeof targetRowsBySql>>[][] = [];
    for (const [src, late] of [[one, 1000], [split, 1000]] as const) {
      // hourly bins are too wide for 80 rows: 2-minute bins, 12 rows each, one across the hand-over
      const averaged = await make('succ_avg_tgt');
      const regime = applySettingOverrides(loaded.regime, []);
      regime.averager = { ...regime.averager, bin: '2m' };
      await runAverager({ regime, specs: loaded.specs, source: src.db, target: averaged.db, targetLocation: averaged.location, logger: new MemoryLogger(), clock: new ManualClock(Date.UTC(2026, 0, 1)), untilCaughtUp: true, allowCreate: true });
      // a scrape, then a late row inside [40, 51) of the newest table, then a repair of that range
      const scraped = await make('succ_rep_tgt');
      await scrape(src, scraped);
      await insertRows(src.db, 'DBNS_AD1_HV_Vmon', [{ id: late, date_time: localPlus(START, 45 * 10 + 5), V1: '300.00', V2: '50.00' }]);
      await repairRegime({ regime: loaded.regime, specs: loaded.specs, source: src.db, target: scraped.db, targetLocation: scraped.location, logger: new MemoryLogger(), clock: new ManualClock(Date.UTC(2026, 0, 1)), from: localPlus(START, 40 * 10 - 8 * 3600), to: localPlus(START, 51 * 10 - 8 * 3600) });
      got.push([await targetRowsBySql(averaged.db, 'SuccHv'), await targetRowsBySql(scraped.db, 'SuccHv')]);
    }
    // by hand: 80 rows from 00:00:10 fill the bins [00:00, 00:02) … [00:12, 00:14); the last bin
    // (rows 72..80 from 00:12:00) is not complete; bins of 12 rows, the first of 11
    expect(got[0][0].vld).toHaveLength(6);
    expect(got[0][0].payload.map((p) => p.n)).toEqual([11, 12, 12, 12, 12, 12]);
    expect(got[1][0]).toEqual(got[0][0]);
    // the repair overlaid the range with the late row's change (V1 300 at 45.5): more validities than the reference
    expect(got[0][1].vld.length).toBeGreaterThan(reference.vld.length);
    expect(got[1][1]).toEqual(got[0][1]);
  });

  it('the faker writes an older name like the table it was renamed to', async () => {
    const src = await make('fake_succ_faker');
    const regime = applySettingOverrides(loaded.regime, []);
    regime.faker = { ...regime.faker, tables: ['DBNS_AD1_HV', 'DBNS_AD1_HV_Vmon'] };
    const location = { ...src.location, fake: true };
    // five minutes in the old table, the next five in the renamed one
    await runBatchFaker({ db: src.db, location, regime, tables: ['DBNS_AD1_HV'], from: '2011-11-01 00:00:00', to: '2011-11-01 00:05:00' });
    await runBatchFaker({ db: src.db, location, regime, tables: ['DBNS_AD1_HV_Vmon'], from: '2011-11-01 00:05:00', to: '2011-11-01 00:10:00' });
    const tgt = await make('succ_faker_tgt');
    const { report } = await scrape(src, tgt);
    // faker interval 10s (the default): 30 rows in each five minutes, read as one stream
    expect(report.streams.map((s) => [s.table, s.rowsRead])).toEqual([['DBNS_AD1_HV_Vmon', 60]]);
    const n = async (t: string) => Number((await src.db(t).count({ n: '*' }))[0].n);
    expect([await n('DBNS_AD1_HV'), await n('DBNS_AD1_HV_Vmon')]).toEqual([30, 30]);
  });
});

describe('a table succession with a TIMESTAMP date_time on mariadb (SQLite has no TIMESTAMP type)', () => {
  const dbs: TestDatabase[] = [];
  let dir: string;
  let loaded: LoadedRegime;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'scrape-succession-ts-'));
    fs.mkdirSync(path.join(dir, 'spec'));
    fs.writeFileSync(path.join(dir, 'spec', 'GSuccHv.spec'), SPEC);
    fs.writeFileSync(path.join(dir, 'succ.yaml'), REGIME);
    loaded = loadRegime(path.join(dir, 'succ.yaml'), { cwd: dir, specDir: 'spec' });
  });
  afterAll(async () => {
    for (const d of dbs) await d.drop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('reads the old table while the new one is empty, then hands over, as a DATETIME table of all the rows', async () => {
    const make = async (label: string) => {
      const d = await createTestDatabase('mariadb', label);
      dbs.push(d);
      return d;
    };
    const scrape = async (src: TestDatabase, tgt: TestDatabase) =>
      runScraper({ regime: loaded.regime, specs: loaded.specs, source: src.db, target: tgt.db, targetLocation: tgt.location, logger: new MemoryLogger(), clock: new ManualClock(Date.UTC(2026, 0, 1)), untilCaughtUp: true, allowCreate: true });
    const whole = await make('fake_succ_ts_whole');
    await createSourceTable(whole.db, 'DBNS_AD1_HV_Vmon', COLUMNS);
    await insertRows(whole.db, 'DBNS_AD1_HV_Vmon', Array.from({ length: ROWS }, (_, i) => ({ id: i + 1, ...row(i + 1) })));
    const expected = await make('succ_ts_whole_tgt');
    await scrape(whole, expected);

    const src = await make('fake_succ_ts_split');
    for (const t of ['DBNS_AD1_HV', 'DBNS_AD1_HV_Vmon']) {
      await src.db.raw(`CREATE TABLE \`${t}\` (id int unsigned NOT NULL AUTO_INCREMENT PRIMARY KEY, date_time TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP, V1 decimal(6,2), V2 decimal(6,2))`);
      await src.db.raw(`CREATE INDEX \`${t}_dt\` ON \`${t}\` (date_time, id)`);
    }
    // written as a DCS in Asia/Shanghai writes them: local text in a +08:00 session
    const write = (table: string, rows: Record<string, unknown>[]) =>
      src.db.transaction(async (trx) => {
        await trx.raw(`SET time_zone = '+08:00'`);
        await trx(table).insert(rows);
        await trx.raw(`SET time_zone = '+00:00'`);
      });
    await write('DBNS_AD1_HV', Array.from({ length: BOUNDARY }, (_, i) => ({ id: i + 1, ...row(i + 1) })));
    const tgt = await make('succ_ts_split_tgt');
    const first = await scrape(src, tgt);
    expect(first.streams.map((s) => [s.table, s.rowsRead])).toEqual([['DBNS_AD1_HV_Vmon', BOUNDARY]]);
    await write('DBNS_AD1_HV_Vmon', Array.from({ length: ROWS - BOUNDARY }, (_, i) => ({ id: i + 1, ...row(BOUNDARY + 1 + i) })));
    await scrape(src, tgt);
    expect(await targetRowsBySql(tgt.db, 'SuccHv')).toEqual(await targetRowsBySql(expected.db, 'SuccHv'));
  });
});
