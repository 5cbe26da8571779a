import { DIALECTS, TestDatabase, createTestDatabase } from '../support/databases';
import { createSourceTable, insertRows, localPlus } from '../support/source-fixture';
import { scrapeAll, shippedRegime, utcOf, validities } from './regime-run';

const START = '2012-01-01 00:00:00';
const QUANTITIES = ['P1', 'T1', 'H1', 'P2', 'T2', 'H2'];
/** Base readings, distinct per sensor: P 1010 + n hPa, T 22 + n C, H 50 + n %. */
const BASE: Record<string, number> = { P1: 1011, T1: 23, H1: 51, P2: 1012, T2: 24, H2: 52 };

/** `<site>_ENV_PTH` with row i (1-based) at START + minutes[i-1], each quantity at BASE plus `delta[i]?.[q]`. */
async function pthTable(src: TestDatabase, site: string, minutes: number[], delta: Record<number, Record<string, number>>): Promise<void> {
  await createSourceTable(src.db, `${site}_ENV_PTH`, Object.fromEntries(QUANTITIES.map((q) => [`${site}_PTH_${q}`, 'decimal(8,2)'])));
  const rows = minutes.map((m, k) => ({
    id: k + 1,
    date_time: localPlus(START, m * 60),
    ...Object.fromEntries(QUANTITIES.map((q) => [`${site}_PTH_${q}`, BASE[q] + (delta[k + 1]?.[q] ?? 0)])),
  }));
  await insertRows(src.db, `${site}_ENV_PTH`, rows);
}

describe.each(DIALECTS)('regime envpth on %s', (dialect) => {
  let src: TestDatabase;
  let tgt: TestDatabase;
  beforeAll(async () => {
    src = await createTestDatabase(dialect, 'fake_envpth_src');
    tgt = await createTestDatabase(dialect, 'envpth_tgt');
  });
  afterAll(async () => {
    await src.drop();
    await tgt.drop();
  });

  it('writes one row per PTH sensor with its P, T and H, when one of them moves past its own threshold or after an hour', async () => {
    // DBNS, 12 rows a minute apart (deltas hold from their row on, spelled out per row):
    //  row 4: P1 +0.8 hPa (under 1 hPa)         row 5: T2 +0.6 C (over 0.5 C) → changed [1, 5)
    //  rows 6..8 as row 5                          row 9: H1 +2.5 % against sv[0] = row 5 → changed [5, 9)
    //  row 11: H1 back to +1.0 (1.5 from row 9)   row 12: P2 +1.0 exactly (not more than 1): nothing more
    const p1 = { P1: 0.8 };
    const t2 = { ...p1, T2: 0.6 };
    const h1 = { ...t2, H1: 2.5 };
    await pthTable(src, 'DBNS', [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11], {
      4: p1, 5: t2, 6: t2, 7: t2, 8: t2, 9: h1, 10: h1, 11: { ...t2, H1: 1.0 }, 12: { ...t2, H1: 1.0, P2: 1.0 },
    });
    // LANS, constant, rows at 0, 30 and 61 minutes: overage at row 3 (61 min > maxage 1h) → [1, 3)
    await pthTable(src, 'LANS', [0, 30, 61], {});

    const loaded = shippedRegime('envpth');
    await scrapeAll(loaded, src, tgt);
    const got = await validities(loaded, tgt, 'GDcsEnvPth');
    const t = (m: number) => utcOf(localPlus(START, m * 60));
    expect(got.map((v) => [v.sitemask, v.subsite, v.task, v.start, v.end])).toEqual([
      [1, 0, 0, t(0), t(4)],
      [1, 0, 0, t(4), t(8)],
      [2, 0, 0, t(0), t(61)],
    ]);
    // payload: sv[-1]'s readings, sensor 1 then sensor 2 (P1 comes first in the table)
    const rows = (d: Record<string, number>) => [1, 2].map((n) => [n, BASE[`P${n}`] + (d[`P${n}`] ?? 0), BASE[`T${n}`] + (d[`T${n}`] ?? 0), BASE[`H${n}`] + (d[`H${n}`] ?? 0)]);
    const payload = got.map((v) => v.rows.map((r) => [r.sensor, r.pressure, r.temperature, r.humidity].map((x) => Number(Number(x).toFixed(2)))));
    expect(payload).toEqual([rows(t2), rows(h1), rows({})]);
  });
});
