import { DIALECTS, TestDatabase, createTestDatabase } from '../support/databases';
import { createSourceTable, insertRows, localPlus } from '../support/source-fixture';
import { scrapeAll, shippedRegime, utcOf, validities } from './regime-run';

const START = '2012-01-01 00:00:00';
const BASE: Record<string, number> = {
  Voltage_5V: 5.02, Current_5V: 40.5, Voltage_12V: 12.01, Current_12V: 3.2, Voltage_N12V: -11.98, Current_N12V: 2.9,
  Temperature1: 31, Temperature2: 32, Temperature3: 33, Temperature4: 34, Temperature5: 35, Temperature6: 36, Temperature7: 37, Temperature8: 38,
  FanTemperature: 28, Fanspeed: 3000, PowerStatus: 1,
};
const COLUMNS = Object.keys(BASE);

/** `<site>_<crate>_VME`, row i at START + minutes[i-1]: BASE with `delta[i]` added (PowerStatus: replaced). */
async function vmeTable(src: TestDatabase, table: string, minutes: number[], delta: Record<number, Record<string, number>>): Promise<Record<string, number>[]> {
  await createSourceTable(src.db, table, Object.fromEntries(COLUMNS.map((c) => [c, c === 'PowerStatus' ? 'int' : 'decimal(8,2)'])));
  const values = minutes.map((_, k) => Object.fromEntries(COLUMNS.map((c) => {
    const d = delta[k + 1]?.[c];
    return [c, c === 'PowerStatus' ? (d ?? BASE[c]) : Number((BASE[c] + (d ?? 0)).toFixed(2))];
  })));
  await insertRows(src.db, table, values.map((v, k) => ({ id: k + 1, date_time: localPlus(START, minutes[k] * 60), ...v })));
  return values;
}

describe.each(DIALECTS)('regime vme on %s', (dialect) => {
  let src: TestDatabase;
  let tgt: TestDatabase;
  beforeAll(async () => {
    src = await createTestDatabase(dialect, 'fake_vme_src');
    tgt = await createTestDatabase(dialect, 'vme_tgt');
  });
  afterAll(async () => {
    await src.drop();
    await tgt.drop();
  });

  it('writes a validity when PowerStatus takes another value (equal rule) or an analogue monitor passes its threshold, context from site and crate', async () => {
    // DBNS_AD1_VME, 12 rows a minute apart:
    //  row 3: PowerStatus 0 (differs from sv[0] = row 1)                    → changed [1, 3)
    //  row 4: PowerStatus 1 again (differs from sv[0] = row 3)              → changed [3, 4)
    //  row 6: Voltage_5V +0.05 (≤ 0.1)   row 7: Temperature3 +0.9 (≤ 1)   row 8: Current_5V +0.4 (≤ 0.5)
    //  row 9: Fanspeed -150 (> 100)                                          → changed [4, 9)
    //  rows 10, 11: as row 9; row 12: PowerStatus 3 (differs from sv[0] = row 9)  → changed [9, 12)
    const v = { Voltage_5V: 0.05 };
    const t = { ...v, Temperature3: 0.9 };
    const c = { ...t, Current_5V: 0.4 };
    const f = { ...c, Fanspeed: -150 };
    const ad1 = await vmeTable(src, 'DBNS_AD1_VME', [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11], {
      3: { PowerStatus: 0 }, 6: v, 7: t, 8: c, 9: f, 10: f, 11: f, 12: { ...f, PowerStatus: 3 },
    });
    // LANS_RPC_VME, constant, rows at 0 and 61 minutes: overage → [1, 2) with SITEMASK 2 (LANS), SUBSITE 7 (RPC)
    const rpc = await vmeTable(src, 'LANS_RPC_VME', [0, 61], {});
    // FARS_IWS_VME, constant, rows at 0 and 30 minutes: no validity (not old enough, nothing changed)
    await vmeTable(src, 'FARS_IWS_VME', [0, 30], {});

    const loaded = shippedRegime('vme');
    await scrapeAll(loaded, src, tgt);
    const got = await validities(loaded, tgt, 'GDcsVme');
    const at = (m: number) => utcOf(localPlus(START, m * 60));
    expect(got.map((x) => [x.sitemask, x.subsite, x.task, x.start, x.end])).toEqual([
      [1, 1, 0, at(0), at(2)],
      [1, 1, 0, at(2), at(3)],
      [1, 1, 0, at(3), at(8)],
      [1, 1, 0, at(8), at(11)],
      [2, 7, 0, at(0), at(61)],
    ]);
    // one payload row: the row ending each validity (DBNS rows 3, 4, 9, 12; LANS row 2)
    const round = (r: Record<string, unknown>) => Object.fromEntries(COLUMNS.map((k) => [k, Number(Number(r[k]).toFixed(2))]));
    expect(got.map((x) => x.rows.map(round))).toEqual([[ad1[2]], [ad1[3]], [ad1[8]], [ad1[11]], [rpc[1]]]);
    expect(got.map((x) => x.rows[0].PowerStatus)).toEqual([0, 1, 1, 3, 1]);
  });
});
