import * as path from 'path';
import { Knex } from 'knex';
import { ManualClock } from '../../engine/core/clock';
import { MemoryLogger } from '../../engine/core/logger';
import { loadRegime, LoadedRegime } from '../../engine/config/load-regime';
import { AveragerReport, runAverager } from '../../engine/averager/averager';
import { dumpTarget, floatValue } from '../../engine/dbi/dbi-reader';
import { openDatabase } from '../../engine/db/open-database';
import { holdMysqlConnection } from '../../engine/db/mysql-row-stream';
import { discoverStreams } from '../../engine/source/source-stream';
import { rangeReaderFor } from '../../engine/source/range-reader';
import { DIALECTS, createTestDatabase, TestDatabase } from '../support/databases';
import { localPlus } from '../support/source-fixture';
import { LidRow, QUANTITIES, createLidTable, insertLidRows, lidRows, timeOf } from './lid-fixture';

const REGIME_FILE = path.join(__dirname, '..', '..', 'regimes.d', 'adlid.yaml');
const SPEC = 'GDcsAdLidSensor';
const START = '2012-02-01 00:00:03';
/** The latest entry: the hour 02-05 23 h is incomplete, so five chunks (days) of complete hours. */
const END = '2012-02-05 23:30:00';
/**
 * Ids run against time on this day only: neighbours swapped across two hour boundaries, within
 * an hour, and across the day's end (the next day's first row then has a smaller id than the
 * day's last).
 */
const DISORDERED_DAY = '2012-02-03';
const SWAPS = ['2012-02-03 10:00:00', '2012-02-03 17:00:00', '2012-02-03 17:31:00', '2012-02-04 00:00:00'];

type TargetRow = Record<string, unknown>;

/** Vld rows joined with their payload, without SEQNO and INSERTDATE, in time order. */
async function targetRows(loaded: LoadedRegime, target: TestDatabase): Promise<TargetRow[]> {
  const { vld, payload } = await dumpTarget(target.db, loaded.specs.get(SPEC)!);
  const bySeqno = new Map(payload.map((p) => [p.SEQNO as number, p]));
  return vld
    .map(({ SEQNO, INSERTDATE, ...rest }) => {
      const { SEQNO: s, ...values } = bySeqno.get(SEQNO)!;
      return { ...rest, ...values };
    })
    .sort((a, b) => String(a.TIMESTART).localeCompare(String(b.TIMESTART)));
}

/** Hourly GROUP BY of the good entries before the latest entry's hour, computed by the database itself. */
async function groupByHour(db: Knex, dialect: string): Promise<Record<string, unknown>[]> {
  const sqlite = dialect === 'sqlite';
  const q = (n: string) => (sqlite ? `"${n}"` : `\`${n}\``);
  const hour = sqlite ? `substr(${q('date_time')}, 1, 13)` : `DATE_FORMAT(${q('date_time')}, '%Y-%m-%d %H')`;
  const parts = [`${hour} AS h`, `MIN(${q('date_time')}) AS t0`, `MAX(${q('date_time')}) AS t1`, 'COUNT(*) AS n'];
  for (const c of QUANTITIES) {
    parts.push(`AVG(${q(c)}) AS ${q(c + '_avg')}`, `MIN(${q(c)}) AS ${q(c + '_min')}`, `MAX(${q(c)}) AS ${q(c + '_max')}`);
    // MariaDB's STD of an exact-value column is rounded to 4 decimals: feed it doubles
    parts.push(sqlite ? `AVG(${q(c)} * ${q(c)}) - AVG(${q(c)}) * AVG(${q(c)}) AS ${q(c + '_var')}` : `STD(${q(c)} * 1e0) AS ${q(c + '_std')}`);
  }
  const sql = `SELECT ${parts.join(', ')} FROM ${q('AD1_LidSensor')} WHERE ${q('SensorStatus')} = 0 AND ${q('date_time')} >= '2010-01-01 00:00:00' AND ${q('date_time')} < '2012-02-05 23:00:00' GROUP BY h ORDER BY h`;
  const raw = await db.raw(sql);
  const rows: Record<string, unknown>[] = sqlite ? raw : raw[0];
  if (sqlite) for (const r of rows) for (const c of QUANTITIES) r[c + '_std'] = r[c + '_var'] === null ? null : Math.sqrt(Math.max(0, Number(r[c + '_var'])));
  return rows;
}

function close(actual: unknown, expected: number, what: string): void {
  const a = Number(actual);
  if (!(Math.abs(a - expected) <= 1e-5 + 2e-5 * Math.abs(expected))) throw new Error(`${what}: target ${a}, SQL ${expected}`);
}

/**
 * Lid rows whose ids follow time (the fixture's rows in time order, numbered again), but for
 * the neighbours at each of `SWAPS` (the last row before it and the first at or after it), whose
 * `date_time`s are swapped: there a row with the higher id has the earlier time.
 */
function rowsWithIdsFollowingTime(): LidRow[] {
  const rows = lidRows(START, 5 * 86_400, 20120203).filter((r) => timeOf(r) < END);
  rows.sort((a, b) => (timeOf(a) < timeOf(b) ? -1 : timeOf(a) > timeOf(b) ? 1 : 0));
  rows.forEach((r, i) => (r[0] = i + 1));
  for (const at of SWAPS) {
    const i = rows.findIndex((r) => timeOf(r) >= at) - 1;
    [rows[i][1], rows[i + 1][1]] = [rows[i + 1][1], rows[i][1]];
  }
  return rows;
}

/**
 * The averager's streamed path (MariaDB) reads a chunk in id order, unsorted by the server, and
 * checks that the rows come in time order; on a chunk whose ids run against time it reads the
 * chunk again in time order (and the rest of the pass). Either way the bins are SQL's GROUP BY
 * of each hour's good rows. SQLite reads keyset pages: nothing is read in id order there.
 */
describe.each(DIALECTS)('averager reading in id order, regime adlid, on %s', (dialect) => {
  let loaded: LoadedRegime;
  let source: TestDatabase;
  let rows: LidRow[];
  const databases: TestDatabase[] = [];
  const handles: Knex[] = [];
  const runs: Record<string, { report: AveragerReport; rows: TargetRow[] }> = {};

  async function average(label: string, poolMax: number): Promise<void> {
    const db = openDatabase(source.location, { readOnly: true, poolMax, decimalNumbers: true });
    handles.push(db);
    const target = await createTestDatabase(dialect, `avg_idorder_${label}`);
    databases.push(target);
    const report = await runAverager({
      regime: loaded.regime,
      specs: loaded.specs,
      source: db,
      target: target.db,
      targetLocation: target.location,
      logger: new MemoryLogger(),
      clock: new ManualClock(Date.UTC(2012, 3, 1)),
      untilCaughtUp: true,
      allowCreate: true,
    });
    runs[label] = { report, rows: await targetRows(loaded, target) };
  }

  beforeAll(async () => {
    loaded = loadRegime(REGIME_FILE);
    source = await createTestDatabase(dialect, 'fake_avg_idorder_src');
    databases.push(source);
    rows = rowsWithIdsFollowingTime();
    await createLidTable(source.db, 'AD1_LidSensor');
    await insertLidRows(source.db, 'AD1_LidSensor', rows);
    // one connection: every chunk on the held one; four: chunks read ahead
    await average('single', 1);
    await average('ahead', 4);
  }, 600_000);

  afterAll(async () => {
    for (const h of handles) await h.destroy();
    for (const d of databases) await d.drop();
  });

  it('has ids running against time on the one day only (the fixture is what the test means)', () => {
    const against = rows.filter((r, i) => i > 0 && timeOf(r) < timeOf(rows[i - 1])).map((r) => timeOf(r).slice(0, 10));
    expect(against).toEqual(SWAPS.map(() => DISORDERED_DAY));
  });

  it('writes one validity per complete hour equal to SQL GROUP BY over the good entries, read ahead or not', async () => {
    const groups = await groupByHour(source.db, dialect);
    // 5 days less the latest entry's hour, every hour with good entries
    expect(groups.length).toBe(5 * 24 - 1);
    for (const label of ['single', 'ahead']) {
      const written = runs[label].rows;
      expect(written.length).toBe(groups.length);
      for (const [i, g] of groups.entries()) {
        const r = written[i];
        expect(r.TIMESTART).toBe(localPlus(String(g.t0), -8 * 3600));
        expect(r.TIMEEND).toBe(localPlus(String(g.t1), -8 * 3600));
        expect(r.count).toBe(Number(g.n));
        for (const c of QUANTITIES) {
          for (const fn of ['avg', 'min', 'max', 'std']) {
            const expected = g[`${c}_${fn}`];
            if (expected === null) expect(r[`${c}_${fn}`]).toBeNull();
            else close(r[`${c}_${fn}`], floatValue(Number(expected)), `${label} ${g.h} ${c}_${fn}`);
          }
        }
      }
    }
    expect(runs.ahead.rows).toEqual(runs.single.rows);
  });

  it('reads chunks in id order on MariaDB until ids run against time, then that chunk again and the rest of the pass in time order', () => {
    const single = runs.single.report.streams[0];
    const ahead = runs.ahead.report.streams[0];
    expect(single.chunks).toBe(5);
    expect(ahead.chunks).toBe(5);
    if (dialect === 'sqlite') {
      for (const s of [single, ahead]) expect([s.chunksById, s.chunksReread]).toEqual([0, 0]);
      return;
    }
    // one connection: 02-01 and 02-02 in id order, 02-03 read again, 02-04 and 02-05 in time order
    expect([single.chunksById, single.chunksReread]).toEqual([2, 1]);
    // read ahead (two chunks): 02-04 and 02-05 were asked for in id order before 02-03 was
    // found to run against time; 02-05 came in order, 02-04's id span holds 02-03's last row
    expect([ahead.chunksById, ahead.chunksReread]).toEqual([3, 2]);
    expect(ahead.chunksReadAhead).toBe(4);
  });

  it('streams a range in id order while the times follow, and stops at the first row whose time runs against the one before', async () => {
    const streams = await discoverStreams(source.db, loaded.regime);
    const range = rangeReaderFor(source.db, streams[0]);
    if (dialect === 'sqlite') {
      expect(range).toBeUndefined();
      return;
    }
    const reader = range!;
    const held = await holdMysqlConnection(source.db);
    try {
      const read = async (from: string, to: string, byId: boolean) => {
        const got: unknown[][] = [];
        const bounds = await reader.bounds(held.conn, from, to);
        const ordered = await reader.stream(held.conn, bounds, from, to, (values, t) => got.push([Number(values[0]), t]), byId);
        return { ordered, got };
      };
      // what SQL says, ordered either way (ids as numbers, times as text)
      const sql = async (from: string, to: string, order: string): Promise<unknown[][]> => {
        const [found] = await source.db.raw(`SELECT id, CAST(date_time AS CHAR) AS t FROM AD1_LidSensor WHERE date_time >= ? AND date_time < ? ORDER BY ${order}`, [from, to]);
        return (found as { id: number; t: string }[]).map((r) => [Number(r.id), r.t]);
      };
      const orderedDay = await read('2012-02-02 00:00:00', '2012-02-03 00:00:00', true);
      expect(orderedDay.ordered).toBe(true);
      expect(orderedDay.got).toEqual(await sql('2012-02-02 00:00:00', '2012-02-03 00:00:00', 'date_time, id'));
      const disordered = await read('2012-02-03 00:00:00', '2012-02-04 00:00:00', true);
      expect(disordered.ordered).toBe(false);
      const byId = await sql('2012-02-03 00:00:00', '2012-02-04 00:00:00', 'id');
      // the rows before the first swap's second row, in id order
      const firstAgainst = byId.findIndex((r, i) => i > 0 && String(r[1]) < String(byId[i - 1][1]));
      expect(firstAgainst).toBeGreaterThan(0);
      expect(disordered.got).toEqual(byId.slice(0, firstAgainst));
      const byTime = await read('2012-02-03 00:00:00', '2012-02-04 00:00:00', false);
      expect(byTime.ordered).toBe(true);
      expect(byTime.got).toEqual(await sql('2012-02-03 00:00:00', '2012-02-04 00:00:00', 'date_time, id'));
      // 02-04's id span holds 02-03's last row (its first row's neighbour, dated before it): by id
      // that row runs against time, in time order it is not read
      const nextDay = await read('2012-02-04 00:00:00', '2012-02-05 00:00:00', true);
      expect(nextDay.ordered).toBe(false);
      expect(nextDay.got).toEqual((await sql('2012-02-04 00:00:00', '2012-02-05 00:00:00', 'date_time, id')).slice(0, 1));
      const nextDayByTime = await read('2012-02-04 00:00:00', '2012-02-05 00:00:00', false);
      expect(nextDayByTime.got).toEqual(await sql('2012-02-04 00:00:00', '2012-02-05 00:00:00', 'date_time, id'));
      // the connection reads on after a range dropped part-way
      expect((await read('2012-02-04 01:00:00', '2012-02-04 02:00:00', true)).ordered).toBe(true);
    } finally {
      await held.release();
    }
  });
});
