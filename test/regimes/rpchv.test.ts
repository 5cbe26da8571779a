import { DIALECTS, TestDatabase, createTestDatabase } from '../support/databases';
import { createSourceTable, insertRows, localPlus } from '../support/source-fixture';
import { scrapeAll, shippedRegime, utcOf, validities } from './regime-run';

const START = '2012-01-01 00:00:00';
/** The 48 channels in the table's column order: FO00N, FO00P, FO01N, … FO23P. */
const CHANNELS = Array.from({ length: 24 }, (_, n) => n).flatMap((n) => (['N', 'P'] as const).map((pol) => ({ n, pol, code: `FO${String(n).padStart(2, '0')}${pol}` })));
/** Each channel's own voltage, so a payload row shows which column it came from: ±(3000 + 10 n), P a quarter volt above. */
const baseVoltage = (n: number, pol: 'N' | 'P') => (pol === 'P' ? 3000.5 + 10 * n : -(3000.25 + 10 * n));

/** `<site>_RPC_HV_Vmon`, row i at START + minutes[i-1]: each channel at its base plus `delta[i]?.[code]`. */
async function rpcTable(src: TestDatabase, site: string, minutes: number[], delta: Record<number, Record<string, number>>): Promise<number[][]> {
  await createSourceTable(src.db, `${site}_RPC_HV_Vmon`, Object.fromEntries(CHANNELS.map((c) => [`${site}_${c.code}`, 'decimal(8,2)'])));
  const values = minutes.map((_, k) => CHANNELS.map((c) => Number((baseVoltage(c.n, c.pol) + (delta[k + 1]?.[c.code] ?? 0)).toFixed(2))));
  await insertRows(src.db, `${site}_RPC_HV_Vmon`, values.map((v, k) => ({
    id: k + 1, date_time: localPlus(START, minutes[k] * 60), ...Object.fromEntries(CHANNELS.map((c, j) => [`${site}_${c.code}`, v[j]])),
  })));
  return values;
}

describe.each(DIALECTS)('regime rpchv on %s', (dialect) => {
  let src: TestDatabase;
  let tgt: TestDatabase;
  beforeAll(async () => {
    src = await createTestDatabase(dialect, 'fake_rpchv_src');
    tgt = await createTestDatabase(dialect, 'rpchv_tgt');
  });
  afterAll(async () => {
    await src.drop();
    await tgt.drop();
  });

  it('unpivots the FOnnN/P columns into 48 rows (channel, polarity, voltage) at the rows where a channel moved more than 10 V', async () => {
    // DBNS, 12 rows a minute apart:
    //  row 4: FO07P +8 (≤ 10)   row 6: FO07P +12 (against sv[0] = row 1: > 10)  → changed [1, 6)
    //  row 9: FO23N -11 (|Δ| > 10 against sv[0] = row 6)                           → changed [6, 9)
    //  row 12: FO00N +10 exactly (not more than 10): nothing more
    const up8 = { FO07P: 8 };
    const up12 = { FO07P: 12 };
    const neg = { ...up12, FO23N: -11 };
    const dbns = await rpcTable(src, 'DBNS', [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11], {
      4: up8, 5: up8, 6: up12, 7: up12, 8: up12, 9: neg, 10: neg, 11: neg, 12: { ...neg, FO00N: 10 },
    });
    // FARS, constant, rows at 0 and 61 minutes: overage [1, 2), SITEMASK 4
    const fars = await rpcTable(src, 'FARS', [0, 61], {});

    const loaded = shippedRegime('rpchv');
    await scrapeAll(loaded, src, tgt);
    const got = await validities(loaded, tgt, 'GDcsRpcHv');
    const at = (m: number) => utcOf(localPlus(START, m * 60));
    // SUBSITE 7 (RPC) for every hall
    expect(got.map((x) => [x.sitemask, x.subsite, x.task, x.start, x.end])).toEqual([
      [1, 7, 0, at(0), at(5)],
      [1, 7, 0, at(5), at(8)],
      [4, 7, 0, at(0), at(61)],
    ]);
    // 48 rows each, in column order, with the voltages of the row ending the validity (DBNS 6, 9; FARS 2)
    const rows = (values: number[]) => CHANNELS.map((c, j) => [c.n, c.pol, values[j]]);
    expect(got.map((x) => x.rows.map((r) => [r.channel, r.polarity, Number(Number(r.voltage).toFixed(2))]))).toEqual([rows(dbns[5]), rows(dbns[8]), rows(fars[1])]);
    // spelled out once: FO07P of [1, 6) is 3000.5 + 70 + 12, FO23N of [6, 9) is -(3000.25 + 230) - 11
    expect(got[0].rows[15]).toMatchObject({ channel: 7, polarity: 'P' });
    expect(got[0].rows[15].voltage as number).toBeCloseTo(3082.5, 1);
    expect(got[1].rows[46]).toMatchObject({ channel: 23, polarity: 'N' });
    expect(got[1].rows[46].voltage as number).toBeCloseTo(-3241.25, 1);
  });
});
