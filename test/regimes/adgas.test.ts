import { DIALECTS, TestDatabase, createTestDatabase } from '../support/databases';
import { createSourceTable, insertRows } from '../support/source-fixture';
import { Validity, averageAll, mean, populationStd, scrapeAll, shippedRegime, utcOf, validities } from './regime-run';

const QUANTITIES = ['SupplyPressure', 'Oxygen', 'Humidity_GdLS', 'Humidity_LS'];
type GasRow = [time: string, p: number, o2: number, hg: number, hl: number];

async function gasTable(src: TestDatabase, ad: number, rows: GasRow[]): Promise<void> {
  await createSourceTable(src.db, `AD${ad}_ADCoverGas`, Object.fromEntries(QUANTITIES.map((q) => [q, 'decimal(8,2)'])));
  await insertRows(src.db, `AD${ad}_ADCoverGas`, rows.map(([date_time, ...v], k) => ({ id: k + 1, date_time, ...Object.fromEntries(QUANTITIES.map((q, j) => [q, v[j]])) })));
}

const D = '2012-01-01';
/** AD1 (EH1 → SITEMASK 1, SUBSITE 1). */
const AD1: GasRow[] = [
  [`${D} 00:10:00`, 101.0, 20, 10, 12],
  [`${D} 00:30:00`, 101.2, 22, 10, 12],
  [`${D} 00:50:00`, 101.4, 24, 11, 12],
  [`${D} 01:05:00`, 101.3, 27, 11, 13],
  [`${D} 01:55:00`, 101.1, 28, 11, 13],
  [`${D} 03:20:00`, 101.1, 28, 11, 13],
];
/** AD8 (EH2 → SITEMASK 2, SUBSITE 2): nothing moves past a threshold, no gap over an hour. */
const AD8: GasRow[] = [
  [`${D} 00:00:00`, 100.0, 30, 20, 21],
  [`${D} 00:59:00`, 100.4, 33, 21, 22],
  [`${D} 01:00:00`, 100.2, 31, 20, 21],
];
/** AD5 (EH3 → SITEMASK 4, SUBSITE 2): one entry in the first hour. */
const AD5: GasRow[] = [
  [`${D} 00:20:00`, 102.0, 40, 30, 31],
  [`${D} 01:20:00`, 102.0, 40, 30, 31],
];

/** Expects the aggregates of `v`'s single payload row to be those of `rows` (by hand: mean, min, max, population std, count). */
function expectAggregates(v: Validity, rows: GasRow[]): void {
  expect(v.rows).toHaveLength(1);
  const r = v.rows[0];
  for (const [j, q] of QUANTITIES.entries()) {
    const s = rows.map((x) => x[j + 1] as number);
    expect([q, r[`${q}_avg`]]).toEqual([q, expect.closeTo(mean(s), 3)]);
    expect([q, r[`${q}_min`]]).toEqual([q, expect.closeTo(Math.min(...s), 3)]);
    expect([q, r[`${q}_max`]]).toEqual([q, expect.closeTo(Math.max(...s), 3)]);
    expect([q, r[`${q}_std`]]).toEqual([q, expect.closeTo(populationStd(s), 4)]);
  }
  expect(r.count).toBe(rows.length);
}

describe.each(DIALECTS)('regime adgas on %s', (dialect) => {
  let src: TestDatabase;
  let tgt: TestDatabase;
  beforeAll(async () => {
    src = await createTestDatabase(dialect, 'fake_adgas_src');
    tgt = await createTestDatabase(dialect, 'adgas_tgt');
    await gasTable(src, 1, AD1);
    await gasTable(src, 8, AD8);
    await gasTable(src, 5, AD5);
  });
  afterAll(async () => {
    await src.drop();
    await tgt.drop();
  });

  it('averages complete hours (TASK 1) and scrapes changes (TASK 0) into one target, context from the AD -> hall map', async () => {
    const loaded = shippedRegime('adgas');
    await averageAll(loaded, src, tgt);
    await scrapeAll(loaded, src, tgt);
    const got = await validities(loaded, tgt, 'GDcsAdCoverGas');
    const u = (i: GasRow) => utcOf(i[0]);
    // Averager (TASK 1): a bin is complete once a later entry exists; the last one never is.
    //  AD1: hour 00 holds rows 1..3 → [00:10, 00:50]; hour 01 rows 4, 5 → [01:05, 01:55];
    //       hour 02 has no entry (a gap, nothing written); hour 03 holds the latest entry: open.
    //  AD8: hour 00 holds rows 1, 2 → [00:00, 00:59]; hour 01 is open.
    //  AD5: hour 00 holds row 1 only → [00:20, 00:20] (TIMESTART = TIMEEND); hour 01 is open.
    // Scraper (TASK 0), every row a sample (interval 1m ≤ the gaps between rows):
    //  AD1: row 4 has Oxygen 27, 7 above row 1's 20 (> 5) → changed [row 1, row 4), aggregates of
    //       rows 1..3; row 5 is 50 min after row 4 with Oxygen +1, pressure -0.2: unchanged; row 6 is
    //       2 h 15 after row 4 → overage [row 4, row 6), aggregates of rows 4, 5.
    //  AD8: at most 0.4 / 3 / 1 / 1 from row 1, and 60 min old at most (not more than maxage): nothing.
    //  AD5: row 2 is exactly 60 min after row 1 (not more than maxage): nothing.
    expect(got.map((v) => [v.sitemask, v.subsite, v.task, v.start, v.end])).toEqual([
      [1, 1, 0, u(AD1[0]), u(AD1[3])],
      [1, 1, 0, u(AD1[3]), u(AD1[5])],
      [1, 1, 1, u(AD1[0]), u(AD1[2])],
      [1, 1, 1, u(AD1[3]), u(AD1[4])],
      [2, 2, 1, u(AD8[0]), u(AD8[1])],
      [4, 2, 1, u(AD5[0]), u(AD5[0])],
    ]);
    expectAggregates(got[0], AD1.slice(0, 3));
    expectAggregates(got[1], AD1.slice(3, 5));
    expectAggregates(got[2], AD1.slice(0, 3));
    expectAggregates(got[3], AD1.slice(3, 5));
    expectAggregates(got[4], AD8.slice(0, 2));
    expectAggregates(got[5], AD5.slice(0, 1));
    // one value spelled out: hour 00 of AD1, pressure 101.0, 101.2, 101.4 → avg 101.2, std √(0.08/3)
    expect(got[2].rows[0].SupplyPressure_avg as number).toBeCloseTo(101.2, 3);
    expect(got[2].rows[0].SupplyPressure_std as number).toBeCloseTo(Math.sqrt(0.08 / 3), 4);
  });
});
