import { DIALECTS, TestDatabase, createTestDatabase } from '../support/databases';
import { createSourceTable, insertRows, localPlus } from '../support/source-fixture';
import { scrapeAll, shippedRegime, utcOf, validities } from './regime-run';

const START = '2012-01-01 00:00:00';

/** The 64 channel codes of a hall (first letter D, L or F) in the dump's column order. */
function codes(hall: string): { code: string; pool: string }[] {
  const out: { code: string; pool: string }[] = [];
  for (const pool of 'IO') for (const a of 'CV') for (const b of 'UH') for (const n of '1234') for (const e of 'G2') out.push({ code: `${hall}${a}${pool}${b}${n}${e}`, pool });
  return out;
}
/** Each channel's own voltage (its index in the column order), so a row shows which column it came from. */
const baseVoltage = (j: number) => 1600.25 + 5 * j;

/** `<site>_MUON_PMT_HV_Vmon`, row i at START + seconds[i-1]: each channel at its base plus `delta[i]?.[code]`. */
async function wpTable(src: TestDatabase, site: string, hall: string, seconds: number[], delta: Record<number, Record<string, number>>): Promise<number[][]> {
  const chans = codes(hall);
  await createSourceTable(src.db, `${site}_MUON_PMT_HV_Vmon`, Object.fromEntries(chans.map((c) => [c.code, 'decimal(8,2)'])));
  const values = seconds.map((_, k) => chans.map((c, j) => Number((baseVoltage(j) + (delta[k + 1]?.[c.code] ?? 0)).toFixed(2))));
  await insertRows(src.db, `${site}_MUON_PMT_HV_Vmon`, values.map((v, k) => ({
    id: k + 1, date_time: localPlus(START, seconds[k]), ...Object.fromEntries(chans.map((c, j) => [c.code, v[j]])),
  })));
  return values;
}

describe.each(DIALECTS)('regime wppmt on %s', (dialect) => {
  let src: TestDatabase;
  let tgt: TestDatabase;
  beforeAll(async () => {
    src = await createTestDatabase(dialect, 'fake_wppmt_src');
    tgt = await createTestDatabase(dialect, 'wppmt_tgt');
  });
  afterAll(async () => {
    await src.drop();
    await tgt.drop();
  });

  it('writes one row per coded channel (code kept whole, pool letter decoded) where a channel moved more than 1 V', async () => {
    // DBNS, 12 rows 10 s apart:
    //  row 5: DCIU3G +0.8 (≤ 1)   row 7: DCIU3G +1.5 (against sv[0] = row 1: > 1)  → changed [1, 7)
    //  row 10: DVOH42 -2 (against sv[0] = row 7)                                       → changed [7, 10)
    //  rows 11, 12 as row 10, 20 s after it: nothing more
    const a = { DCIU3G: 0.8 };
    const b = { DCIU3G: 1.5 };
    const c = { ...b, DVOH42: -2 };
    const ten = Array.from({ length: 12 }, (_, k) => 10 * k);
    const dbns = await wpTable(src, 'DBNS', 'D', ten, { 5: a, 6: a, 7: b, 8: b, 9: b, 10: c, 11: c, 12: c });
    // LANS (codes starting with L), constant, rows 601 s apart: overage (> maxage 10m) → [1, 2), SITEMASK 2
    const lans = await wpTable(src, 'LANS', 'L', [0, 601], {});

    const loaded = shippedRegime('wppmt');
    await scrapeAll(loaded, src, tgt);
    const got = await validities(loaded, tgt, 'GDcsWpPmtHv');
    const at = (s: number) => utcOf(localPlus(START, s));
    expect(got.map((x) => [x.sitemask, x.subsite, x.task, x.start, x.end])).toEqual([
      [1, 0, 0, at(0), at(60)],
      [1, 0, 0, at(60), at(90)],
      [2, 0, 0, at(0), at(601)],
    ]);
    // 64 rows each, in column order: the code, its third letter, the voltage of the row ending the validity
    const rows = (hall: string, values: number[]) => codes(hall).map((ch, j) => [ch.code, ch.pool, values[j]]);
    expect(got.map((x) => x.rows.map((r) => [r.channel, r.pool, Number(Number(r.voltage).toFixed(2))]))).toEqual([rows('D', dbns[6]), rows('D', dbns[9]), rows('L', lans[1])]);
    // the two codes of the issue, spelled out. Column index = 32·pool(I 0, O 1) + 16·(C 0, V 1)
    // + 8·(U 0, H 1) + 2·(digit − 1) + (G 0, 2 1): DCIU3G is 0 + 0 + 0 + 4 + 0 = 4, DVOH42 is
    // 32 + 16 + 8 + 6 + 1 = 63; voltages 1600.25 + 5·index plus their deltas
    expect(got[0].rows[4]).toMatchObject({ channel: 'DCIU3G', pool: 'I' });
    expect(got[0].rows[4].voltage as number).toBeCloseTo(1600.25 + 20 + 1.5, 1);
    expect(got[1].rows[63]).toMatchObject({ channel: 'DVOH42', pool: 'O' });
    expect(got[1].rows[63].voltage as number).toBeCloseTo(1600.25 + 315 - 2, 1);
  });
});
