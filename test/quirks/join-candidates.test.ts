import * as path from 'path';
import { MemoryLogger } from '../../engine/core/logger';
import { ManualClock } from '../../engine/core/clock';
import { isScrapeError } from '../../engine/core/errors';
import { loadRegime, applySettingOverrides, LoadedRegime } from '../../engine/config/load-regime';
import { runScraper } from '../../engine/scraper/scraper';
import { listTables } from '../../engine/db/introspection';
import { runBatchFaker } from '../../engine/faker/faker';
import { DIALECTS, createTestDatabase, TestDatabase } from '../support/databases';
import { createSourceTable, localPlus } from '../support/source-fixture';
import { CHANNELS, HV_START as START, hvTables } from './hv-fixture';
import { targetRowsBySql } from './target-rows';

const REGIMES = path.join(__dirname, '..', '..', 'regimes.d');

describe.each(DIALECTS)('a join with candidate table names (pmthv: DBNS_AD1_HVPw beside DBNS_AD2_HV_Pw) on %s', (dialect) => {
  let loaded: LoadedRegime;
  const dbs: TestDatabase[] = [];
  const make = async (label: string) => {
    const d = await createTestDatabase(dialect, label);
    dbs.push(d);
    return d;
  };
  beforeAll(() => {
    loaded = loadRegime(path.join(REGIMES, 'pmthv.yaml'));
  });
  afterAll(async () => {
    for (const d of dbs) await d.drop();
  });

  const scrape = async (source: TestDatabase, target: TestDatabase) => {
    const regime = applySettingOverrides(loaded.regime, ['maxage=2m']);
    return runScraper({ regime, specs: loaded.specs, source: source.db, target: target.db, targetLocation: target.location, logger: new MemoryLogger(), clock: new ManualClock(Date.UTC(2026, 0, 1)), untilCaughtUp: true, allowCreate: true });
  };

  it('one AD with each spelling gives exactly the target of both spelled alike', async () => {
    const irregular = await make('fake_jc_irregular');
    await hvTables(irregular, 'DBNS_AD1_HV', 'DBNS_AD1_HVPw', 20, 41);
    await hvTables(irregular, 'DBNS_AD2_HV', 'DBNS_AD2_HV_Pw', 33, 12);
    const alike = await make('fake_jc_alike');
    await hvTables(alike, 'DBNS_AD1_HV', 'DBNS_AD1_HV_Pw', 20, 41);
    await hvTables(alike, 'DBNS_AD2_HV', 'DBNS_AD2_HV_Pw', 33, 12);
    const t1 = await make('jc_target_irregular');
    const t2 = await make('jc_target_alike');
    const r1 = await scrape(irregular, t1);
    await scrape(alike, t2);
    expect(r1.streams.map((s) => [s.table, s.rowsRead]).sort()).toEqual([['DBNS_AD1_HV_Vmon', 60], ['DBNS_AD2_HV_Vmon', 60]]);
    const a = await targetRowsBySql(t1.db, 'DcsPmtHv');
    const b = await targetRowsBySql(t2.db, 'DcsPmtHv');
    // By hand (maxage 2m: overage once sv[-1] is more than 120 s, i.e. 13 rows, after sv[0]).
    // AD1: overage [1, 14); the 3 V jump (> 1 V) at 20 → changed [14, 20); overage [20, 33); the
    // flag turning 0 at 41 → changed [33, 41); overage [41, 54); row 60 is 60 s after 54.
    // AD2: flag at 12 → [1, 12); overage [12, 25); jump at 33 → [25, 33); overage [33, 46),
    // [46, 59). Ten validities of 192 rows each.
    expect(a.vld).toHaveLength(10);
    expect(a.payloadRows).toBe(10 * 192);
    const utc = (id: number) => localPlus(START, id * 10 - 8 * 3600);
    expect(a.vld.filter((v) => v.SUBSITE === 1).map((v) => [v.TIMESTART, v.TIMEEND])).toEqual([[1, 14], [14, 20], [20, 33], [33, 41], [41, 54]].map(([s, e]) => [utc(s), utc(e)]));
    // the flag read from DBNS_AD1_HVPw: L5C1R7 (ladder 5, col 1, ring 7) on until row 41, off after
    const seq = a.vld.filter((v) => v.SUBSITE === 1).map((v) => v.SEQNO);
    const flag = (s: number) => a.payload.find((p) => p.SEQNO === s && p.ladder === 5 && p.col === 1 && p.ring === 7)!.pw;
    expect(seq.map(flag)).toEqual([1, 1, 1, 0, 0]);
    expect(a).toEqual(b);
  });

  it('two existing spellings are an error naming both; none existing is a missing joined table', async () => {
    const both = await make('fake_jc_both');
    await hvTables(both, 'DBNS_AD1_HV', 'DBNS_AD1_HVPw', 20, 41);
    await createSourceTable(both.db, 'DBNS_AD1_HV_Pw', { L1C1R1: 'tinyint' });
    const t = await make('jc_target_both');
    let error: unknown;
    await scrape(both, t).catch((e) => (error = e));
    expect(isScrapeError(error, 'SOURCE_JOIN_AMBIGUOUS')).toBe(true);
    expect(String((error as Error).message)).toMatch(/DBNS_AD1_HV_Pw and DBNS_AD1_HVPw both exist/);

    const none = await make('fake_jc_none');
    await createSourceTable(none.db, 'DBNS_AD1_HV_Vmon', { L1C1R1: 'decimal(6,2)' });
    error = undefined;
    await scrape(none, t).catch((e) => (error = e));
    expect(isScrapeError(error, 'SOURCE_JOIN_MISSING')).toBe(true);
    expect(String((error as Error).message)).toMatch(/DBNS_AD1_HV_Pw, DBNS_AD1_HVPw, none of which exists/);
  });

  it('the faker writes the spelling that exists and creates the first one otherwise', async () => {
    const src = await make('fake_jc_faker');
    await createSourceTable(src.db, 'DBNS_AD1_HV_Vmon', Object.fromEntries(CHANNELS.map((c) => [c, 'decimal(6,2)'])));
    await createSourceTable(src.db, 'DBNS_AD1_HVPw', Object.fromEntries(CHANNELS.map((c) => [c, 'tinyint'])));
    await runBatchFaker({ db: src.db, location: { ...src.location, fake: true }, regime: loaded.regime, tables: ['DBNS_AD1_HV_Vmon', 'DBNS_AD2_HV_Vmon'], count: 5 });
    const tables = (await listTables(src.db)).sort();
    expect(tables).toEqual(['DBNS_AD1_HVPw', 'DBNS_AD1_HV_Vmon', 'DBNS_AD2_HV_Pw', 'DBNS_AD2_HV_Vmon']);
    const n = async (t: string) => Number((await src.db(t).count({ n: '*' }))[0].n);
    expect(await n('DBNS_AD1_HVPw')).toBe(5);
    expect(await n('DBNS_AD2_HV_Pw')).toBe(5);
  });
});
