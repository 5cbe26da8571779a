import { Knex } from 'knex';
import { ManualClock } from '../../engine/core/clock';
import { loadRegime, LoadedRegime } from '../../engine/config/load-regime';
import { MemoryLogger } from '../../engine/core/logger';
import { CatchUpProgress, humanSpan, reasonsText } from '../../engine/session/progress';
import { runScraper } from '../../engine/scraper/scraper';
import { StreamObserver } from '../../engine/stream/stream-observer';
import { DIALECTS, createTestDatabase, TestDatabase } from '../support/databases';
import { localPlus } from '../support/source-fixture';
import { ADTEMP_YAML, PT, fillAdTempSource, ROOT } from './ops-support';

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

/**
 * The write reasons of the target's validities, worked out from the source alone: a validity
 * `[sv[0], sv[-1])` is `changed` when some PT column moved by more than adtemp's threshold (1.0)
 * between the source rows at its two ends, else `overage` (it was written, so it aged past maxage).
 */
async function reasonsFromSource(source: Knex, target: Knex): Promise<{ changed: number; overage: number }> {
  const rows = await source('DBNS_SAB_Temp').select('*');
  const at = new Map(rows.map((r: Record<string, unknown>) => [String(r.date_time), r]));
  const vld = await target('DcsAdTempVld').select('TIMESTART', 'TIMEEND').orderBy('TIMESTART');
  const out = { changed: 0, overage: 0 };
  for (const v of vld) {
    // Asia/Shanghai is UTC+8 without DST since 1991
    const first = at.get(localPlus(String(v.TIMESTART), 8 * 3600))!;
    const last = at.get(localPlus(String(v.TIMEEND), 8 * 3600))!;
    if (PT.some((c) => Math.abs(Number(last[c]) - Number(first[c])) > 1.0)) out.changed++;
    else out.overage++;
  }
  return out;
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
    const reasons = await reasonsFromSource(source.db, target.db);
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
