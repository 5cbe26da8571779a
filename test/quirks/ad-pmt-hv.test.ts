import * as path from 'path';
import { MemoryLogger } from '../../engine/core/logger';
import { ManualClock } from '../../engine/core/clock';
import { loadRegime, applySettingOverrides } from '../../engine/config/load-regime';
import { runScraper } from '../../engine/scraper/scraper';
import { DIALECTS, createTestDatabase, TestDatabase } from '../support/databases';
import { localPlus } from '../support/source-fixture';
import { CHANNELS, HV_START, hvPower, hvTables, hvVoltage } from './hv-fixture';
import { targetRowsBySql } from './target-rows';

const REGIMES = path.join(__dirname, '..', '..', 'regimes.d');
const utc = (id: number) => localPlus(HV_START, id * 10 - 8 * 3600);

describe.each(DIALECTS)('pmthv second target GDcsAdPmtHv (Ladder, Column, Ring, Voltage, Pw) on %s', (dialect) => {
  let source: TestDatabase;
  let target: TestDatabase;
  beforeAll(async () => {
    source = await createTestDatabase(dialect, 'fake_adpmthv_src');
    target = await createTestDatabase(dialect, 'adpmthv_tgt');
  });
  afterAll(async () => {
    await source.drop();
    await target.drop();
  });

  it('holds one row per channel at every validity, under the DBI names (Column, a reserved word, included)', async () => {
    await hvTables(source, 'DBNS_AD1_HV', 'DBNS_AD1_HVPw', 20, 41);
    const loaded = loadRegime(path.join(REGIMES, 'pmthv.yaml'));
    expect(loaded.regime.targets.map((t) => t.spec)).toEqual(['GDcsPmtHv', 'GDcsAdPmtHv']);
    const regime = applySettingOverrides(loaded.regime, ['maxage=2m']);
    await runScraper({ regime, specs: loaded.specs, source: source.db, target: target.db, targetLocation: target.location, logger: new MemoryLogger(), clock: new ManualClock(Date.UTC(2026, 0, 1)), untilCaughtUp: true, allowCreate: true });

    // By hand (as in join-candidates.test.ts): overage [1, 14); jump at 20 → [14, 20); overage
    // [20, 33); flag off at 41 → [33, 41); overage [41, 54).
    const ranges = [[1, 14], [14, 20], [20, 33], [33, 41], [41, 54]];
    const { vld, payload } = await targetRowsBySql(target.db, 'DcsAdPmtHv');
    expect(vld.map((v) => [v.TIMESTART, v.TIMEEND, v.SITEMASK, v.SUBSITE])).toEqual(ranges.map(([a, b]) => [utc(a), utc(b), 1, 1]));
    // 192 rows per validity in channel order, values of the row ending it
    const expected = vld.flatMap((v, n) =>
      CHANNELS.map((name, k) => {
        const [, l, c, r] = /^L(\d)C(\d)R(\d)$/.exec(name)!.map(Number);
        return { SEQNO: v.SEQNO, ROW_COUNTER: k + 1, Ladder: l, Column: c, Ring: r, Voltage: hvVoltage(k, ranges[n][1], 20), Pw: hvPower(k, ranges[n][1], 41) };
      }),
    );
    expect(payload).toEqual(expected);

    // the first target holds the same validities (times and context) and the same values
    const old = await targetRowsBySql(target.db, 'DcsPmtHv');
    expect(old.vld.map((v) => [v.TIMESTART, v.TIMEEND, v.SITEMASK, v.SUBSITE, v.SIMMASK, v.TASK, v.AGGREGATENO])).toEqual(vld.map((v) => [v.TIMESTART, v.TIMEEND, v.SITEMASK, v.SUBSITE, v.SIMMASK, v.TASK, v.AGGREGATENO]));
    expect(old.payload.map((p) => [p.ROW_COUNTER, p.ladder, p.col, p.ring, p.voltage, p.pw])).toEqual(payload.map((p) => [p.ROW_COUNTER, p.Ladder, p.Column, p.Ring, p.Voltage, p.Pw]));
  });
});

describe.each(DIALECTS)('pmthv reads DBNS_AD1_HV before its rename to DBNS_AD1_HV_Vmon on %s', (dialect) => {
  const dbs: TestDatabase[] = [];
  afterAll(async () => {
    for (const d of dbs) await d.drop();
  });

  it('the 60 rows split at row 25 over DBNS_AD1_HV and DBNS_AD1_HV_Vmon (one power table) give both targets of the unsplit table', async () => {
    const make = async (label: string) => {
      const d = await createTestDatabase(dialect, label);
      dbs.push(d);
      return d;
    };
    const whole = await make('fake_pmthv_whole');
    await hvTables(whole, 'DBNS_AD1_HV', 'DBNS_AD1_HVPw', 20, 41);
    // the same rows, those up to 25 moved into the table's old name (ids kept: the one power
    // table pairs with both on id)
    const split = await make('fake_pmthv_split');
    await hvTables(split, 'DBNS_AD1_HV', 'DBNS_AD1_HVPw', 20, 41);
    const q = (n: string) => (dialect === 'sqlite' ? `"${n}"` : `\`${n}\``);
    await split.db.raw(`CREATE TABLE ${q('DBNS_AD1_HV')} AS SELECT * FROM ${q('DBNS_AD1_HV_Vmon')} WHERE ${q('id')} <= 25`);
    await split.db.raw(`DELETE FROM ${q('DBNS_AD1_HV_Vmon')} WHERE ${q('id')} <= 25`);
    const loaded = loadRegime(path.join(REGIMES, 'pmthv.yaml'));
    const regime = applySettingOverrides(loaded.regime, ['maxage=2m']);
    const results = [];
    for (const src of [whole, split]) {
      const tgt = await make('pmthv_succ_tgt');
      const report = await runScraper({ regime, specs: loaded.specs, source: src.db, target: tgt.db, targetLocation: tgt.location, logger: new MemoryLogger(), clock: new ManualClock(Date.UTC(2026, 0, 1)), untilCaughtUp: true, allowCreate: true });
      expect(report.streams.map((s) => [s.table, s.rowsRead])).toEqual([['DBNS_AD1_HV_Vmon', 60]]);
      results.push([await targetRowsBySql(tgt.db, 'DcsPmtHv'), await targetRowsBySql(tgt.db, 'DcsAdPmtHv')]);
    }
    // the validities by hand, as above: [1, 14), [14, 20), [20, 33), [33, 41), [41, 54)
    expect(results[0][0].vld.map((v) => v.TIMEEND)).toEqual([14, 20, 33, 41, 54].map(utc));
    expect(results[1]).toEqual(results[0]);
  });
});
