import { Knex } from 'knex';
import { ManualClock } from '../../engine/core/clock';
import { applySettingOverrides, loadRegime, LoadedRegime } from '../../engine/config/load-regime';
import { MemoryLogger } from '../../engine/core/logger';
import { CatchUpProgress, humanSpan, reasonsText } from '../../engine/session/progress';
import { runScraper } from '../../engine/scraper/scraper';
import { runAverager } from '../../engine/averager/averager';
import { createLidTable, insertLidRows, lidRows } from '../averager/lid-fixture';
import { StreamObserver } from '../../engine/stream/stream-observer';
import { DIALECTS, createTestDatabase, TestDatabase } from '../support/databases';
import { ADTEMP_YAML, adtempReasons, fillAdTempSource, ROOT } from './ops-support';

describe('humanSpan', () => {
  it('prints spans as an operator reads them', () => {
    expect(humanSpan((12 * 86400 + 3 * 3600 + 59) * 1000)).toBe('12d 3h');
    expect(humanSpan((6 * 3600 + 40 * 60) * 1000)).toBe('6h 40m');
    expect(humanSpan(130_000)).toBe('2m10s');
    expect(humanSpan(48_000)).toBe('48s');
  });
});

describe('reasonsText', () => {
  it('gives write counts by reason in one order, whatever order they came in', () => {
    expect(reasonsText(new Map([['overage', 136], ['changed', 7]]))).toBe('changed 7, overage 136');
    expect(reasonsText(new Map([['zeta', 1], ['seed', 1], ['bin', 24], ['alpha', 2], ['changed', 3]]))).toBe('changed 3, seed 1, bin 24, alpha 2, zeta 1');
  });
});

/** The observer `runRegimeSession` gives a run, with each step taking `stepMs` of (manual) wall time. */
function progressObserver(progress: CatchUpProgress, clock: ManualClock, stepMs: number): StreamObserver {
  return {
    start: (workers) => progress.start(workers),
    propagation: (worker, reason) => progress.propagation(worker, reason),
    step: (worker, step, lagMs) => {
      clock.advance(stepMs);
      progress.step(worker, step, lagMs);
    },
  };
}

async function vldCount(db: Knex): Promise<number> {
  const [{ n }] = await db('DcsAdTempVld').count({ n: '*' });
  return Number(n);
}

describe.each(DIALECTS)('catch-up progress lines on %s', (dialect) => {
  let source: TestDatabase;
  let target: TestDatabase;
  let loaded: LoadedRegime;
  beforeAll(async () => {
    source = await createTestDatabase(dialect, 'fake_progress_src');
    target = await createTestDatabase(dialect, 'progress_t');
    await fillAdTempSource(source.db, 3000, 3); // one row every 10 s from 2011-02-01 00:00:00
    loaded = loadRegime(ADTEMP_YAML, { cwd: ROOT, env: {} });
  });
  afterAll(async () => {
    await source?.drop();
    await target?.drop();
  });

  it('a line every 10 s with rows, rows/s, writes by reason, position, lag and ETA; one when caught up; no line per write', async () => {
    // maxage 2m: the walk of the fixture (±0.25 per row) writes for both reasons
    const regime = { ...loaded.regime, scraper: { ...loaded.regime.scraper, page_size: 100, maxage: '2m' } };
    const clock = new ManualClock();
    const logger = new MemoryLogger();
    const observer = progressObserver(new CatchUpProgress(logger, clock), clock, 2000);
    await runScraper({ regime, specs: loaded.specs, source: source.db, target: target.db, targetLocation: target.location, logger, clock, untilCaughtUp: true, allowCreate: true, seed: false, observer });

    const info = logger.lines.filter((l) => l.level === 'info');
    // a catch-up from the start: each write is a debug SV line, none at info
    expect(info.filter((l) => l.message.startsWith('SV '))).toEqual([]);
    const written = await vldCount(target.db);
    expect(written).toBeGreaterThan(20);
    const proceeds = logger.lines.filter((l) => l.message.startsWith('SV ') && l.message.endsWith('==> PROCEED'));
    expect(proceeds.length).toBe(written);
    expect(proceeds.every((l) => l.level === 'debug')).toBe(true);

    // Pages of 100 rows, 2 s each: 30 full pages, the 31st empty (caught up). Lines at steps 5,
    // 10, …, 30 (10 s apart). Step 5: 500 rows, 500 of them in 10 s → 50 rows/s; the cursor is
    // row 500 (00:00:00 + 499 × 10 s = 01:23:10); lag to row 3000 (08:19:50) 25000 s = 6h 56m;
    // since step 1 (row 100, 2 s in) the cursor moved 4000 s of source time in 8 s, so the ETA
    // is 25000 / 500 = 50 s; then 5000 s per 10 s.
    const lines = info.filter((l) => /^(catch-up|caught up):/.test(l.message)).map((l) => l.message.replace(/ \d+ writes? \([^)]*\)| 0 writes/, ' W writes'));
    expect(lines).toEqual([
      'catch-up: 500 rows read, 50 rows/s, W writes; DBNS_SAB_Temp at 2011-02-01 01:23:10 Asia/Shanghai, lag 6h 56m, ETA 50s',
      'catch-up: 1000 rows read, 50 rows/s, W writes; DBNS_SAB_Temp at 2011-02-01 02:46:30 Asia/Shanghai, lag 5h 33m, ETA 40s',
      'catch-up: 1500 rows read, 50 rows/s, W writes; DBNS_SAB_Temp at 2011-02-01 04:09:50 Asia/Shanghai, lag 4h 10m, ETA 30s',
      'catch-up: 2000 rows read, 50 rows/s, W writes; DBNS_SAB_Temp at 2011-02-01 05:33:10 Asia/Shanghai, lag 2h 46m, ETA 20s',
      'catch-up: 2500 rows read, 50 rows/s, W writes; DBNS_SAB_Temp at 2011-02-01 06:56:30 Asia/Shanghai, lag 1h 23m, ETA 10s',
      'catch-up: 3000 rows read, 50 rows/s, W writes; DBNS_SAB_Temp at 2011-02-01 08:19:50 Asia/Shanghai, lag 0s, ETA 0s',
      // steps 1..31: 62 s
      'caught up: 3000 rows read, W writes in 1m02s; DBNS_SAB_Temp at 2011-02-01 08:19:50 Asia/Shanghai',
    ]);
    // the writes: all of them at the end, by the reasons the source gives; growing before
    const reasons = await adtempReasons(source.db, target.db);
    expect(reasons.changed + reasons.overage).toBe(written);
    expect(reasons.changed).toBeGreaterThan(0);
    expect(reasons.overage).toBeGreaterThan(0);
    const last = info[info.length - 1];
    expect(last.message).toContain(`caught up: 3000 rows read, ${written} writes (changed ${reasons.changed}, overage ${reasons.overage}) in`);
    expect(last.fields).toEqual({ event: 'caught-up', rows: 3000, writes: written, reasons: reasons, seconds: 62, streams: 1, stream: 'DBNS_SAB_Temp', at: '2011-02-01 08:19:50', zone: 'Asia/Shanghai' });
    const counts = info.filter((l) => l.fields?.event === 'catch-up').map((l) => l.fields!.writes as number);
    expect(counts).toEqual([...counts].sort((a, b) => a - b));
    expect(counts[0]).toBeGreaterThan(0);
    expect(info.find((l) => l.fields?.event === 'catch-up')!.fields).toMatchObject({ rows: 500, rows_per_s: 50, streams_behind: 1, streams: 1, stream: 'DBNS_SAB_Temp', at: '2011-02-01 01:23:10', zone: 'Asia/Shanghai', lag_s: 25000, eta_s: 50 });
  });
});

describe.each(DIALECTS)('catch-up progress lines of a process with two streams (averager) on %s', (dialect) => {
  const databases: TestDatabase[] = [];
  afterAll(async () => {
    for (const d of databases) await d.drop();
  });

  it('one line for both streams: how many are behind, the one furthest behind; one line when both are caught up', async () => {
    const source = await createTestDatabase(dialect, 'fake_progress2_src');
    const target = await createTestDatabase(dialect, 'progress2_t');
    databases.push(source, target);
    // AD1: 4 hours, AD5: 2 hours, rows about every 10 s from 2012-03-01 00:00:05 local; bins of
    // 10 minutes, chunks of an hour
    await createLidTable(source.db, 'AD1_LidSensor');
    await createLidTable(source.db, 'AD5_LidSensor');
    await insertLidRows(source.db, 'AD1_LidSensor', lidRows('2012-03-01 00:00:05', 4 * 3600 - 30, 1));
    await insertLidRows(source.db, 'AD5_LidSensor', lidRows('2012-03-01 00:00:05', 2 * 3600 - 30, 5));
    const loaded = loadRegime('adlid', { cwd: ROOT, env: {} });
    const regime = applySettingOverrides(loaded.regime, ['bin=10m', 'chunk=1h'], 'averager');
    const clock = new ManualClock(Date.UTC(2026, 0, 1));
    const logger = new MemoryLogger();
    await runAverager({ regime, specs: loaded.specs, source: source.db, target: target.db, targetLocation: target.location, logger, clock, untilCaughtUp: true, allowCreate: true, observer: progressObserver(new CatchUpProgress(logger, clock), clock, 2000) });

    // Each stream reads a chunk (an hour) per step, in turns: 1 AD1 hour 0, 2 AD5 hour 0, 3 AD1
    // hour 1, 4 AD5 hour 1 (up to its last complete bin: caught up), 5 AD1 hour 2 (10 s: a line,
    // AD1 at 03:00:00), 6 AD5 nothing left, 7 AD1 hour 3 (caught up: both are).
    const rowsBefore = async (table: string, end: string) => Number((await source.db(table).where('date_time', '>=', '2010-01-01 00:00:00').andWhere('date_time', '<', end).count({ n: '*' }))[0].n);
    // complete bins end at the bin of each stream's last row
    const lastBin = async (table: string) => String((await source.db(table).max({ t: 'date_time' }))[0].t).slice(0, 15) + '0:00';
    const ad5 = await rowsBefore('AD5_LidSensor', await lastBin('AD5_LidSensor'));
    const atLine = (await rowsBefore('AD1_LidSensor', '2012-03-01 03:00:00')) + ad5;
    const all = (await rowsBefore('AD1_LidSensor', await lastBin('AD1_LidSensor'))) + ad5;
    const [{ n }] = await target.db('DcsAdLidSensorVld').count({ n: '*' });
    const written = Number(n);
    // 23 + 11 complete bins of 10 minutes, a few perhaps without a good entry
    expect(written).toBeGreaterThan(30);
    expect(written).toBeLessThanOrEqual(34);

    const lines = logger.lines.filter((l) => l.level === 'info' && /^(catch-up|caught up):/.test(l.message));
    expect(lines).toHaveLength(2);
    expect(lines[0].message).toMatch(new RegExp(`^catch-up: ${atLine} rows read, \\d+ rows/s, \\d+ writes \\(bin \\d+\\); 1 of 2 streams behind, furthest AD1_LidSensor at 2012-03-01 03:00:00 Asia/Shanghai, lag 59m\\d\\ds, ETA \\d+s$`));
    expect(lines[0].fields).toMatchObject({ event: 'catch-up', rows: atLine, streams_behind: 1, streams: 2, stream: 'AD1_LidSensor', at: '2012-03-01 03:00:00', zone: 'Asia/Shanghai' });
    expect(lines[1].message).toBe(`caught up: ${all} rows read, ${written} writes (bin ${written}) in 14s; 2 streams`);
    expect(lines[1].fields).toMatchObject({ event: 'caught-up', rows: all, writes: written, reasons: { bin: written }, seconds: 14, streams: 2 });
    // a catch-up from the start: every chunk line is a debug line
    const chunks = logger.lines.filter((l) => / chunk \d+: /.test(l.message));
    expect(chunks.map((l) => l.level)).toEqual(['debug', 'debug', 'debug', 'debug', 'debug', 'debug']);
  });
});
