import * as path from 'path';
import { MemoryLogger } from '../../engine/core/logger';
import { ManualClock } from '../../engine/core/clock';
import { loadRegime, applySettingOverrides, LoadedRegime } from '../../engine/config/load-regime';
import { runScraper } from '../../engine/scraper/scraper';
import { runBatchFaker } from '../../engine/faker/faker';
import { DIALECTS, createTestDatabase, TestDatabase } from '../support/databases';
import { createSourceTable, insertRows, localPlus } from '../support/source-fixture';
import { targetRowsBySql } from './target-rows';

const REGIMES = path.join(__dirname, '..', '..', 'regimes.d');
const START = '2011-02-01 00:00:00';
/** UTC text of source row `id` (row id at START + 10 s × id local, Asia/Shanghai is UTC+8). */
const utc = (id: number) => localPlus(START, id * 10 - 8 * 3600);

/** Four channels of a small Imon table: names with dots, as the DCS spells them. */
const COLUMNS = ['DBNS_AD_HV.Slot0.I0', 'DBNS_AD_HV.Slot0.I1', 'DBNS_AD_HV.Slot1.I0', 'DBNS_AD_HV.Slot1.I1'];

/**
 * AD1 current of channel k at row id: 300 + k, except Slot0.I1 +0.5 from row 5 on (exactly the
 * threshold: no change) and Slot1.I1 +0.6 during rows 15..29 (above it: a change each way).
 */
function ad1(id: number, k: number): number {
  let v = 300 + k;
  if (k === 1 && id >= 5) v += 0.5;
  if (k === 3 && id >= 15 && id < 30) v += 0.6;
  return v;
}

async function imonTable(src: TestDatabase, name: string, rows: number, value: (id: number, k: number) => number): Promise<void> {
  await createSourceTable(src.db, name, Object.fromEntries(COLUMNS.map((c) => [c, 'decimal(8,2)'])));
  const out = [];
  for (let id = 1; id <= rows; id++) out.push({ id, date_time: localPlus(START, id * 10), ...Object.fromEntries(COLUMNS.map((c, k) => [c, value(id, k).toFixed(2)])) });
  await insertRows(src.db, name, out);
}

describe.each(DIALECTS)('regime pmtimon (dotted column names) on %s', (dialect) => {
  let loaded: LoadedRegime;
  const dbs: TestDatabase[] = [];
  const make = async (label: string) => {
    const d = await createTestDatabase(dialect, label);
    dbs.push(d);
    return d;
  };
  beforeAll(() => {
    loaded = loadRegime(path.join(REGIMES, 'pmtimon.yaml'));
  });
  afterAll(async () => {
    for (const d of dbs) await d.drop();
  });

  it('unpivots DBNS_AD_HV.SlotN.IM columns into slot/channel rows, a new validity when a current moves by more than 0.5', async () => {
    const src = await make('fake_pmtimon_src');
    const tgt = await make('pmtimon_tgt');
    await imonTable(src, 'DBNS_AD1_HV_Imon', 40, ad1);
    await imonTable(src, 'DBNS_AD2_HV_Imon', 20, (_id, k) => 310 + k);
    const regime = applySettingOverrides(loaded.regime, ['maxage=2m']);
    const report = await runScraper({ regime, specs: loaded.specs, source: src.db, target: tgt.db, targetLocation: tgt.location, logger: new MemoryLogger(), clock: new ManualClock(Date.UTC(2026, 0, 1)), untilCaughtUp: true, allowCreate: true });
    expect(report.streams.map((s) => [s.table, s.rowsRead]).sort()).toEqual([['DBNS_AD1_HV_Imon', 40], ['DBNS_AD2_HV_Imon', 20]]);

    // By hand (maxage 2m: overage once sv[-1] is 13 rows = 130 s after sv[0]).
    // AD1: row 5 moves Slot0.I1 by exactly 0.5 (not more: no change); overage [1, 14); row 15
    // moves Slot1.I1 by 0.6 → changed [14, 15); overage [15, 28); row 30 moves it back →
    // changed [28, 30); rows 31..40 are at most 100 s after 30.
    // AD2: constant → overage [1, 14) only (row 20 is 60 s after 14).
    const { vld, payload } = await targetRowsBySql(tgt.db, 'DcsPmtImon');
    const ranges = (subsite: number) => vld.filter((v) => v.SUBSITE === subsite).map((v) => [v.TIMESTART, v.TIMEEND]);
    expect(ranges(1)).toEqual([[1, 14], [14, 15], [15, 28], [28, 30]].map(([a, b]) => [utc(a), utc(b)]));
    expect(ranges(2)).toEqual([[utc(1), utc(14)]]);
    expect(vld.every((v) => v.SITEMASK === 1 && v.SIMMASK === 1 && v.TASK === 0 && v.AGGREGATENO === -1)).toBe(true);

    // Payload: one row per column in column order, slot and channel from the name, the value of
    // sv[-1] (the row that ends the validity).
    const ends: Record<number, number> = {};
    for (const v of vld) ends[v.SEQNO] = v.SUBSITE === 1 ? [14, 15, 28, 30][vld.filter((w) => w.SUBSITE === 1).indexOf(v)] : 14;
    const expected = vld.flatMap((v) =>
      COLUMNS.map((c, k) => ({
        SEQNO: v.SEQNO,
        ROW_COUNTER: k + 1,
        slot: Number(/Slot(\d+)/.exec(c)![1]),
        channel: Number(/\.I(\d+)$/.exec(c)![1]),
        current: v.SUBSITE === 1 ? ad1(ends[v.SEQNO], k) : 310 + k,
      })),
    );
    expect(payload).toEqual(expected);
  });

  it('fakes the declared dotted columns and scrapes them: 192 rows per validity', async () => {
    const src = await make('fake_pmtimon_faked');
    const tgt = await make('pmtimon_faked_tgt');
    await runBatchFaker({ db: src.db, location: { ...src.location, fake: true }, regime: loaded.regime, count: 30 });
    const regime = applySettingOverrides(loaded.regime, ['maxage=1m']);
    await runScraper({ regime, specs: loaded.specs, source: src.db, target: tgt.db, targetLocation: tgt.location, logger: new MemoryLogger(), clock: new ManualClock(Date.UTC(2026, 0, 1)), untilCaughtUp: true, allowCreate: true });
    const { vld, payloadRows, payload } = await targetRowsBySql(tgt.db, 'DcsPmtImon');
    expect(vld.length).toBeGreaterThan(0);
    expect(payloadRows).toBe(vld.length * 192);
    // the 192 (slot, channel) pairs 0..7 × 0..23 of the declared 'DBNS_AD_HV.Slot{0..7}.I{0..23}'
    const pairs = new Set(payload.filter((p) => p.SEQNO === vld[0].SEQNO).map((p) => `${p.slot}/${p.channel}`));
    expect(pairs.size).toBe(192);
    expect(pairs.has('7/23')).toBe(true);
    // each current is the faked value of its column in the row ending the validity, read by SQL
    const q = (n: string) => (dialect === 'sqlite' ? `"${n}"` : `\`${n}\``);
    const first = vld.find((v) => v.SUBSITE === 1)!;
    const local = localPlus(first.TIMEEND, 8 * 3600);
    const raw = (await src.db.raw(`SELECT ${q('DBNS_AD_HV.Slot7.I23')} AS v FROM ${q('DBNS_AD1_HV_Imon')} WHERE ${q('date_time')} = ?`, [local])) as unknown;
    const rows = (Array.isArray(raw) && Array.isArray(raw[0]) ? raw[0] : raw) as Array<{ v: unknown }>;
    const cell = payload.find((p) => p.SEQNO === first.SEQNO && p.slot === 7 && p.channel === 23)!;
    expect(cell.current).toBeCloseTo(Number(rows[0].v), 2);
  });
});
