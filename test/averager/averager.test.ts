import * as path from 'path';
import { Knex } from 'knex';
import { ManualClock } from '../../engine/core/clock';
import { MemoryLogger } from '../../engine/core/logger';
import { loadRegime, LoadedRegime } from '../../engine/config/load-regime';
import { runAverager } from '../../engine/averager/averager';
import { dumpTarget, floatValue } from '../../engine/dbi/dbi-reader';
import { DIALECTS, createTestDatabase, TestDatabase } from '../support/databases';
import { localPlus } from '../support/source-fixture';
import { MONTH_SHAPE, QUANTITIES, LidRow, createLidTable, insertLidRows, lidRows, timeOf } from './lid-fixture';

const REGIME_FILE = path.join(__dirname, '..', '..', 'regimes.d', 'adlid.yaml');
const SPEC = 'GDcsAdLidSensor';
/** Days of one-row-per-10-s data in AD1_LidSensor (the manual's scenario is a month). */
const DAYS = Number(process.env.SCRAPE_AVERAGER_TEST_DAYS ?? 30);
const START = '2012-02-01 00:00:03';
/** An arbitrary instant, not on a bin boundary: the first load stops there, the rest is appended. */
const SPLIT = '2012-02-17 13:27:41';

type TargetRow = Record<string, unknown>;

/** Vld rows joined with their payload, without SEQNO and INSERTDATE, ordered by context and time. */
async function targetRows(loaded: LoadedRegime, target: TestDatabase): Promise<TargetRow[]> {
  const { vld, payload } = await dumpTarget(target.db, loaded.specs.get(SPEC)!);
  const bySeqno = new Map(payload.map((p) => [p.SEQNO as number, p]));
  expect(payload.length).toBe(vld.length);
  return vld
    .map(({ SEQNO, INSERTDATE, ...rest }) => {
      const { SEQNO: s, ...values } = bySeqno.get(SEQNO)!;
      return { ...rest, ...values };
    })
    .sort((a, b) => Number(a.SITEMASK) - Number(b.SITEMASK) || Number(a.SUBSITE) - Number(b.SUBSITE) || String(a.TIMESTART).localeCompare(String(b.TIMESTART)));
}

/** Local Asia/Shanghai text to UTC text, by hand: China has kept +8 h without DST since 1991. */
function utc(local: string): string {
  return localPlus(local, -8 * 3600);
}

function close(actual: unknown, expected: number, what: string): void {
  const a = Number(actual);
  const ok = Math.abs(a - expected) <= 1e-5 + 2e-5 * Math.abs(expected);
  if (!ok) throw new Error(`${what}: target ${a}, SQL ${expected}`);
}

/** Hourly GROUP BY of the good entries, computed by the database itself. */
async function groupByHour(db: Knex, dialect: string, table: string): Promise<Record<string, unknown>[]> {
  const sqlite = dialect === 'sqlite';
  const q = (n: string) => (sqlite ? `"${n}"` : `\`${n}\``);
  const hour = sqlite ? `substr(${q('date_time')}, 1, 13)` : `DATE_FORMAT(${q('date_time')}, '%Y-%m-%d %H')`;
  const parts = [`${hour} AS h`, `MIN(${q('date_time')}) AS t0`, `MAX(${q('date_time')}) AS t1`, 'COUNT(*) AS n'];
  for (const c of QUANTITIES) {
    parts.push(`AVG(${q(c)}) AS ${q(c + '_avg')}`, `MIN(${q(c)}) AS ${q(c + '_min')}`, `MAX(${q(c)}) AS ${q(c + '_max')}`);
    // MariaDB's STD of an exact-value column is rounded to 4 decimals: feed it doubles.
    parts.push(sqlite ? `AVG(${q(c)} * ${q(c)}) - AVG(${q(c)}) * AVG(${q(c)}) AS ${q(c + '_var')}` : `STD(${q(c)} * 1e0) AS ${q(c + '_std')}`);
  }
  const sql = `SELECT ${parts.join(', ')} FROM ${q(table)} WHERE ${q('SensorStatus')} = 0 AND ${q('date_time')} >= '2010-01-01 00:00:00' GROUP BY h ORDER BY h`;
  const raw = await db.raw(sql);
  const rows: Record<string, unknown>[] = sqlite ? raw : raw[0];
  if (sqlite) {
    for (const r of rows) for (const c of QUANTITIES) r[c + '_std'] = r[c + '_var'] === null ? null : Math.sqrt(Math.max(0, Number(r[c + '_var'])));
  }
  return rows;
}

describe.each(DIALECTS)('averager, regime adlid, on %s', (dialect) => {
  let loaded: LoadedRegime;
  let source: TestDatabase;
  let whole: TestDatabase;
  let split: TestDatabase;
  let ad1: LidRow[];
  let ad5: LidRow[];
  const splitLogs = [new MemoryLogger(), new MemoryLogger()];
  const wholeLog = new MemoryLogger();
  const databases: TestDatabase[] = [];

  async function average(target: TestDatabase, logger = new MemoryLogger(), signal?: AbortSignal) {
    return runAverager({
      regime: loaded.regime,
      specs: loaded.specs,
      source: source.db,
      target: target.db,
      targetLocation: target.location,
      logger,
      clock: new ManualClock(Date.UTC(2012, 3, 1)),
      untilCaughtUp: true,
      allowCreate: true,
      signal,
    });
  }

  beforeAll(async () => {
    loaded = loadRegime(REGIME_FILE);
    source = await createTestDatabase(dialect, 'fake_avg_src');
    whole = await createTestDatabase(dialect, 'avg_whole');
    split = await createTestDatabase(dialect, 'avg_split');
    databases.push(source, whole, split);
    ad1 = lidRows(START, DAYS * 86_400, 20120201, MONTH_SHAPE);
    ad5 = lidRows('2012-02-15 00:00:07', 2 * 86_400 + 1800, 5);
    await createLidTable(source.db, 'AD1_LidSensor');
    await createLidTable(source.db, 'AD5_LidSensor');
    // First part (zero dates included), average, append the rest, average again.
    await insertLidRows(source.db, 'AD1_LidSensor', ad1.filter((r) => timeOf(r) <= SPLIT));
    await insertLidRows(source.db, 'AD5_LidSensor', ad5.filter((r) => timeOf(r) <= SPLIT));
    await average(split, splitLogs[0]);
    await insertLidRows(source.db, 'AD1_LidSensor', ad1.filter((r) => timeOf(r) > SPLIT));
    await insertLidRows(source.db, 'AD5_LidSensor', ad5.filter((r) => timeOf(r) > SPLIT));
    await average(split, splitLogs[1]);
    await average(whole, wholeLog);
  }, 600_000);

  afterAll(async () => {
    for (const d of databases) await d.drop();
  });

  it('gives the same rows from one run as from two runs split at an arbitrary instant', async () => {
    const one = await targetRows(loaded, whole);
    const two = await targetRows(loaded, split);
    expect(one.length).toBeGreaterThan(DAYS * 24 - 10);
    expect(two).toEqual(one);
    // The second split run resumed on the bin after the last one written before the append.
    expect(splitLogs[1].messages().some((m) => m.startsWith('timecursor(local) AD1_LidSensor {sitemask: 1, subsite: 1} 2012-02-17 13:00:00 Asia/Shanghai (2012-02-17 05:00:00 UTC)'))).toBe(true);
  });

  it('writes one validity per complete hour whose aggregates equal SQL GROUP BY over the good entries', async () => {
    const rows = (await targetRows(loaded, whole)).filter((r) => r.SITEMASK === 1 && r.SUBSITE === 1);
    const groups = await groupByHour(source.db, dialect, 'AD1_LidSensor');
    // The hour holding the latest entry is incomplete: not written.
    const latest = ad1.reduce((m, r) => (timeOf(r) > m ? timeOf(r) : m), '');
    const complete = groups.filter((g) => String(g.h) < latest.slice(0, 13));
    expect(complete.length).toBe(groups.length - 1);
    expect(rows.length).toBe(complete.length);
    for (const [i, g] of complete.entries()) {
      const r = rows[i];
      expect(r.TIMESTART).toBe(utc(String(g.t0)));
      expect(r.TIMEEND).toBe(utc(String(g.t1)));
      expect(r.VERSIONDATE).toBe(r.TIMESTART);
      // adlid's averager writes TASK 1 (regimes.d/adlid.yaml averager.task), its scraper TASK 0
      expect([r.SIMMASK, r.TASK, r.AGGREGATENO]).toEqual([1, 1, -1]);
      expect(r.count).toBe(Number(g.n));
      for (const c of QUANTITIES) {
        for (const fn of ['avg', 'min', 'max', 'std']) {
          const expected = g[`${c}_${fn}`];
          if (expected === null) expect(r[`${c}_${fn}`]).toBeNull();
          else close(r[`${c}_${fn}`], floatValue(Number(expected)), `${g.h} ${c}_${fn}`);
        }
      }
    }
    // Gaps: the three empty hours and the all-bad hour give no validity.
    const localStarts = rows.map((r) => localPlus(String(r.TIMESTART), 8 * 3600));
    const within = (from: string, to: string) => localStarts.filter((t) => t >= from && t < to).length;
    expect(within(...MONTH_SHAPE.gap)).toBe(0);
    expect(within('2012-02-10 00:00:00', '2012-02-11 00:00:00')).toBe(21);
    expect(within(...MONTH_SHAPE.allBad)).toBe(0);
    expect(within('2012-02-12 00:00:00', '2012-02-13 00:00:00')).toBe(23);
    expect(localStarts[localStarts.length - 1] < latest.slice(0, 13)).toBe(true);
    // The first hour starts at the first entry after the zero-date rows.
    expect(localStarts[0]).toBe(START);
  });

  it('maps AD5 to the far hall (sitemask 4, subsite 2) with its own bins', async () => {
    const rows = (await targetRows(loaded, whole)).filter((r) => r.SITEMASK === 4);
    expect(rows.every((r) => r.SUBSITE === 2)).toBe(true);
    // 2 days + 30 min from 00:00:07: 48 complete hours, the 49th is incomplete.
    expect(rows.length).toBe(48);
    expect(rows[0].TIMESTART).toBe(utc('2012-02-15 00:00:07'));
  });

  it('logs one line per chunk: local times with their zone, span, validities and rows read', async () => {
    const lines = wholeLog.lines.filter((l) => / chunk \d+: /.test(l.message));
    // the whole run catches up from the start: every chunk line is a debug line
    expect(lines.length).toBeGreaterThan(DAYS);
    expect(lines.every((l) => l.level === 'debug')).toBe(true);
    // the first day of AD1: its validities (local TIMESTART on 02-01, from the target) and the
    // rows read (from timefloor on, before the chunk's end, counted by SQL)
    const day1 = (await targetRows(loaded, whole)).filter((r) => r.SITEMASK === 1 && localPlus(String(r.TIMESTART), 8 * 3600).startsWith('2012-02-01')).length;
    const [{ n }] = await source.db('AD1_LidSensor').where('date_time', '>=', '2010-01-01 00:00:00').andWhere('date_time', '<', '2012-02-02 00:00:00').count({ n: '*' });
    expect(lines[0].message).toBe(`AD1_LidSensor chunk 0: 2012-02-01 00:00:00 .. 2012-02-02 00:00:00 Asia/Shanghai (24 h), ${day1} validities from ${Number(n)} rows`);
    expect(lines[0].fields).toMatchObject({ stream: 'AD1_LidSensor', chunk: 0, from: '2012-02-01 00:00:00', to: '2012-02-02 00:00:00', zone: 'Asia/Shanghai', validities: day1, rows: Number(n) });
    // Second split run: picks up mid-day after the append.
    expect(splitLogs[1].messages().some((m) => m.startsWith('AD1_LidSensor chunk 0: 2012-02-17 13:00:00 .. 2012-02-18 00:00:00 Asia/Shanghai (11 h), '))).toBe(true);
  });

  it('resumes after a restart in the middle on the next bin: no duplicate, no gap', async () => {
    const restarted = await createTestDatabase(dialect, 'avg_restart');
    databases.push(restarted);
    const controller = new AbortController();
    let chunks = 0;
    const stopper = new MemoryLogger();
    const logger = {
      log: (level: 'debug' | 'info' | 'warn' | 'error', message: string, fields?: Record<string, unknown>) => {
        stopper.log(level, message, fields);
        if (/ chunk \d+: /.test(message) && ++chunks === 3) controller.abort();
      },
    };
    await average(restarted, logger as MemoryLogger, controller.signal);
    const partial = await targetRows(loaded, restarted);
    expect(partial.length).toBeGreaterThan(24);
    expect(partial.length).toBeLessThan(24 * 4);
    // streams take turns chunk by chunk: each resumes on the bin after its own last validity
    const tables: Record<string, string> = { '1/1': 'AD1_LidSensor', '4/2': 'AD5_LidSensor' };
    const expected = Object.entries(tables).flatMap(([context, table]) => {
      const rows = partial.filter((r) => `${r.SITEMASK}/${r.SUBSITE}` === context);
      if (rows.length === 0) return [];
      const lastStartLocal = localPlus(String(rows[rows.length - 1].TIMESTART), 8 * 3600);
      const nextBin = localPlus(lastStartLocal.slice(0, 13) + ':00:00', 3600);
      return [`timecursor(local) ${table} {sitemask: ${context.split('/')[0]}, subsite: ${context.split('/')[1]}} ${nextBin} Asia/Shanghai (${utc(nextBin)} UTC)`];
    });
    expect(expected.some((line) => line.includes('AD1_LidSensor'))).toBe(true);
    const second = new MemoryLogger();
    await average(restarted, second);
    for (const line of expected) expect(second.messages()).toContain(line);
    expect(await targetRows(loaded, restarted)).toEqual(await targetRows(loaded, whole));
  });
});
