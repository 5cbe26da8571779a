import { DIALECTS, TestDatabase, createTestDatabase } from '../support/databases';
import { createSourceTable, insertRows, localPlus } from '../support/source-fixture';
import { scrapeAll, shippedRegime, utcOf, validities } from './regime-run';

const START = '2012-01-01 00:00:00';
const BASE: Record<string, number> = {
  PoolWaterResistivity: 17.5, ProductResistivity: 18.1, WaterLevel: 980, IWaterOxygenContent: 2.1, OWaterOxygenContent: 2.4,
  HeaterTemperature: 25, HeatExchangeTemperature: 23,
};
const COLUMNS = Object.keys(BASE);

/** `<site>_WaterSystem`, row i at START + minutes[i-1]: BASE plus `delta[i]` (null for a NULL cell). */
async function waterTable(src: TestDatabase, site: string, minutes: number[], delta: Record<number, Record<string, number | null>>): Promise<Record<string, number | null>[]> {
  await createSourceTable(src.db, `${site}_WaterSystem`, Object.fromEntries(COLUMNS.map((c) => [c, 'decimal(8,2)'])));
  const values = minutes.map((_, k) => Object.fromEntries(COLUMNS.map((c) => {
    const d = delta[k + 1]?.[c];
    return [c, d === null ? null : Number((BASE[c] + (d ?? 0)).toFixed(2))];
  })));
  await insertRows(src.db, `${site}_WaterSystem`, values.map((v, k) => ({ id: k + 1, date_time: localPlus(START, minutes[k] * 60), ...v })));
  return values;
}

describe.each(DIALECTS)('regime watersys on %s', (dialect) => {
  let src: TestDatabase;
  let tgt: TestDatabase;
  beforeAll(async () => {
    src = await createTestDatabase(dialect, 'fake_watersys_src');
    tgt = await createTestDatabase(dialect, 'watersys_tgt');
  });
  afterAll(async () => {
    await src.drop();
    await tgt.drop();
  });

  it('writes the last value of each quantity when one moves past its threshold (a NULL is no change) or after an hour', async () => {
    // DBNS, 12 rows a minute apart (each row's deltas spelled out, they hold until changed):
    //  row 3: WaterLevel +1.5 (> 1)                                   → changed [1, 3)
    //  rows 5..8: OWaterOxygenContent NULL (turning NULL is no change without null_is_change)
    //  row 7: HeaterTemperature +0.4 (≤ 0.5)   row 8: PoolWaterResistivity -0.6 (> 0.5) → changed [3, 8)
    //  rows 9..12: oxygen back (no change), nothing else moves, 4 minutes ≤ maxage: nothing more
    const lvl = { WaterLevel: 1.5 };
    const nul = { ...lvl, OWaterOxygenContent: null };
    const heat = { ...nul, HeaterTemperature: 0.4 };
    const res = { ...heat, PoolWaterResistivity: -0.6 };
    const back = { ...lvl, HeaterTemperature: 0.4, PoolWaterResistivity: -0.6 };
    const dbns = await waterTable(src, 'DBNS', [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11], {
      3: lvl, 4: lvl, 5: nul, 6: nul, 7: heat, 8: res, 9: back, 10: back, 11: back, 12: back,
    });
    // FARS, constant, two rows 61 minutes apart: overage → [1, 2)
    const fars = await waterTable(src, 'FARS', [0, 61], {});

    const loaded = shippedRegime('watersys');
    await scrapeAll(loaded, src, tgt);
    const got = await validities(loaded, tgt, 'GDcsWaterSystem');
    const t = (m: number) => utcOf(localPlus(START, m * 60));
    expect(got.map((v) => [v.sitemask, v.subsite, v.task, v.start, v.end])).toEqual([
      [1, 0, 0, t(0), t(2)],
      [1, 0, 0, t(2), t(7)],
      [4, 0, 0, t(0), t(61)],
    ]);
    // one payload row: the values of the row ending the validity (rows 3 and 8 of DBNS, 2 of FARS)
    const round = (r: Record<string, unknown>) => Object.fromEntries(COLUMNS.map((c) => [c, r[c] === null ? null : Number(Number(r[c]).toFixed(2))]));
    expect(got.map((v) => v.rows.map(round))).toEqual([[dbns[2]], [dbns[7]], [fars[1]]]);
    expect(got[1].rows[0].OWaterOxygenContent).toBeNull();
  });
});
