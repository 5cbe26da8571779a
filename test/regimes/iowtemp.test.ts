import { DIALECTS, TestDatabase, createTestDatabase } from '../support/databases';
import { createSourceTable, insertRows, localPlus } from '../support/source-fixture';
import { Validity, mean, populationStd, scrapeAll, shippedRegime, utcOf, validities } from './regime-run';

const START = '2012-01-01 00:00:00';
const SENSORS = [1, 2, 3, 4];
/** Base temperatures, distinct per pool and sensor so each payload row shows where it came from. */
const base = (pool: 'IW' | 'OW', k: number) => (pool === 'IW' ? 23 : 22) + k / 10;

type Row = Record<string, number | string>;

/** A table `<site>_IOW_Temp` whose row i (1-based) is at START + minutes(i), every sensor at its base plus `delta(i, pool, k)`. */
async function iowTable(src: TestDatabase, site: string, n: number, minutes: (i: number) => number, delta: (i: number, pool: 'IW' | 'OW', k: number) => number): Promise<Row[]> {
  const cols: Record<string, string> = {};
  for (const pool of ['IW', 'OW'] as const) for (const k of SENSORS) cols[`${site}_${pool}_Temp_PT${k}`] = 'decimal(8,2)';
  await createSourceTable(src.db, `${site}_IOW_Temp`, cols);
  const rows: Row[] = [];
  for (let i = 1; i <= n; i++) {
    const row: Row = { id: i, date_time: localPlus(START, minutes(i) * 60) };
    for (const pool of ['IW', 'OW'] as const) for (const k of SENSORS) row[`${site}_${pool}_Temp_PT${k}`] = Number((base(pool, k) + delta(i, pool, k)).toFixed(2));
    rows.push(row);
  }
  await insertRows(src.db, `${site}_IOW_Temp`, rows);
  return rows;
}

describe.each(DIALECTS)('regime iowtemp on %s', (dialect) => {
  let src: TestDatabase;
  let tgt: TestDatabase;
  beforeAll(async () => {
    src = await createTestDatabase(dialect, 'fake_iowtemp_src');
    tgt = await createTestDatabase(dialect, 'iowtemp_tgt');
  });
  afterAll(async () => {
    await src.drop();
    await tgt.drop();
  });

  it('writes 8 rows (pool, sensor) per validity at the rows where a sensor moved more than 0.1 C, or after an hour', async () => {
    // DBNS: 12 rows a minute apart. IW PT2 +0.05 at row 5 (under the threshold against sv[0] = row 1),
    // +0.15 from row 6 on (over it): changed [1, 6). OW PT4 -0.2 from row 10 on: changed [6, 10).
    // Rows 11, 12 equal row 10 and are 2 minutes after it: nothing more.
    await iowTable(src, 'DBNS', 12, (i) => i - 1, (i, pool, k) => {
      if (pool === 'IW' && k === 2) return i >= 6 ? 0.15 : i === 5 ? 0.05 : 0;
      if (pool === 'OW' && k === 4) return i >= 10 ? -0.2 : 0;
      return 0;
    });
    // LANS: 8 rows 10 minutes apart; IW PT1 alternates +0 / +0.08 (never 0.1 from sv[0]): the only
    // validity is overage, when sv[-1] is more than maxage 1h after sv[0]: row 8 (70 min) → [1, 8).
    await iowTable(src, 'LANS', 8, (i) => (i - 1) * 10, (i, pool, k) => (pool === 'IW' && k === 1 && i % 2 === 0 ? 0.08 : 0));

    const loaded = shippedRegime('iowtemp');
    await scrapeAll(loaded, src, tgt);
    const got = await validities(loaded, tgt, 'GDcsIowTemp');

    const t = (i: number, step: number) => utcOf(localPlus(START, (i - 1) * step * 60));
    // the context: site from the table prefix (DBNS 1, LANS 2), subsite 0, task 0
    expect(got.map((v) => [v.sitemask, v.subsite, v.task, v.start, v.end])).toEqual([
      [1, 0, 0, t(1, 1), t(6, 1)],
      [1, 0, 0, t(6, 1), t(10, 1)],
      [2, 0, 0, t(1, 10), t(8, 10)],
    ]);

    // Payload: rows in the table's column order (IW PT1..4, OW PT1..4); `temp` is sv[-1]'s value,
    // the aggregates run over the entries with sv[0] <= t < sv[-1].
    const expectRows = (v: Validity, last: (pool: 'IW' | 'OW', k: number) => number, series: (pool: 'IW' | 'OW', k: number) => number[]) => {
      const order = (['IW', 'OW'] as const).flatMap((pool) => SENSORS.map((k) => [pool, k] as const));
      expect(v.rows.map((r) => [r.pool, r.sensor])).toEqual(order.map(([pool, k]) => [pool, k]));
      for (const [j, [pool, k]] of order.entries()) {
        const r = v.rows[j];
        const s = series(pool, k);
        expect(r.temp as number).toBeCloseTo(last(pool, k), 3);
        expect(r.temp_avg as number).toBeCloseTo(mean(s), 3);
        expect(r.temp_min as number).toBeCloseTo(Math.min(...s), 3);
        expect(r.temp_max as number).toBeCloseTo(Math.max(...s), 3);
        expect(r.temp_std as number).toBeCloseTo(populationStd(s), 4);
        expect(r.count).toBe(s.length);
      }
    };
    const flat = (n: number) => (pool: 'IW' | 'OW', k: number) => Array<number>(n).fill(base(pool, k));
    // [1, 6): entries 1..5; IW PT2 is base, base, base, base, base+0.05 → avg base+0.01, std 0.02; row 6 has base+0.15
    expectRows(
      got[0],
      (pool, k) => base(pool, k) + (pool === 'IW' && k === 2 ? 0.15 : 0),
      (pool, k) => (pool === 'IW' && k === 2 ? [0, 0, 0, 0, 0.05].map((d) => base(pool, k) + d) : flat(5)(pool, k)),
    );
    expect(got[0].rows[1].temp_std as number).toBeCloseTo(0.02, 4);
    // [6, 10): entries 6..9, IW PT2 at base+0.15 throughout, OW PT4 still at base; row 10 has OW PT4 base-0.2
    expectRows(
      got[1],
      (pool, k) => base(pool, k) + (pool === 'IW' && k === 2 ? 0.15 : pool === 'OW' && k === 4 ? -0.2 : 0),
      (pool, k) => Array<number>(4).fill(base(pool, k) + (pool === 'IW' && k === 2 ? 0.15 : 0)),
    );
    // LANS [1, 8): entries 1..7; IW PT1 is +0, +0.08, +0, +0.08, +0, +0.08, +0; row 8 is +0.08
    expectRows(
      got[2],
      (pool, k) => base(pool, k) + (pool === 'IW' && k === 1 ? 0.08 : 0),
      (pool, k) => (pool === 'IW' && k === 1 ? [0, 0.08, 0, 0.08, 0, 0.08, 0].map((d) => base(pool, k) + d) : flat(7)(pool, k)),
    );
  });
});
