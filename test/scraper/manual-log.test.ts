import * as path from 'path';
import { MemoryLogger } from '../../engine/core/logger';
import { ManualClock } from '../../engine/core/clock';
import { loadRegime, applySettingOverrides } from '../../engine/config/load-regime';
import { runScraper } from '../../engine/scraper/scraper';
import { dumpTarget } from '../../engine/dbi/dbi-reader';
import { DIALECTS, createTestDatabase, TestDatabase } from '../support/databases';
import { createSourceTable, insertRows, localPlus } from '../support/source-fixture';
import { vldSpanBySql, vldSpanRow } from '../dbi/dbi-support';

const REGIMES = path.join(__dirname, '..', '..', 'regimes.d');

/**
 * The manual's "Scraper Logging" example: fake rows every 10 s of DB time from 2011-02-01
 * 00:00:00 (id n at 00:00:00 + n*10 s, so id 6 is at 00:01:00), seed [00:00:00, 00:01:00),
 * interval 10s, maxage 1m, values that never change.
 */
describe.each(DIALECTS)('the manual\'s scraper log on %s', (dialect) => {
  let source: TestDatabase;
  let target: TestDatabase;
  beforeAll(async () => {
    source = await createTestDatabase(dialect, 'fake_manual_src');
    target = await createTestDatabase(dialect, 'manual_tgt');
    const cols = Object.fromEntries([1, 2, 3, 4, 5].map((i) => [`DBNS_SAB_Temp_PT${i}`, 'decimal(6,2)']));
    await createSourceTable(source.db, 'DBNS_SAB_Temp', cols);
    const rows = [];
    for (let id = 1; id <= 30; id++) {
      rows.push({ id, date_time: localPlus('2011-02-01 00:00:00', id * 10), ...Object.fromEntries(Object.keys(cols).map((c) => [c, '18.50'])) });
    }
    await insertRows(source.db, 'DBNS_SAB_Temp', rows);
  });
  afterAll(async () => {
    await source.drop();
    await target.drop();
  });

  it('prints the manual\'s SV sequence and writes its validities, 8 hours earlier in UTC', async () => {
    const loaded = loadRegime(path.join(REGIMES, 'adtemp.yaml'));
    const regime = applySettingOverrides(loaded.regime, ['maxage=1m', 'interval=10s', 'offset=0']);
    const logger = new MemoryLogger();
    await runScraper({
      regime,
      specs: loaded.specs,
      source: source.db,
      target: target.db,
      targetLocation: target.location,
      logger,
      clock: new ManualClock(Date.UTC(2026, 0, 1)),
      untilCaughtUp: true,
      seed: true,
      allowCreate: true,
    });
    const sv = logger.messages().filter((m) => m.startsWith('SV '));
    const parsed = sv.map((line) => {
      // the time cursor is source-local, labelled with the regime's zone
      const m = /^SV (\d+)\s+\((\d+),\s*(\d*)\)\s+\S+ \S+ Asia\/Shanghai\s+(\w+)\s+(\w+)\s+\((\S+) (\S+)\)\s+==>\s*(PROCEED)?$/.exec(line);
      if (!m) throw new Error(`unparsable SV line: ${line}`);
      return { n: +m[1], ids: m[3] ? `${m[2]},${m[3]}` : `${m[2]},`, full: m[4], decision: m[5], span: `${m[6]} ${m[7]}`, proceed: !!m[8] };
    });
    // From the manual, line by line.
    expect(parsed.slice(0, 9)).toEqual([
      { n: 1, ids: '6,', full: 'partial', decision: 'notfull', span: '00:01:00 ++', proceed: false },
      { n: 2, ids: '6,7', full: 'full', decision: 'unchanged', span: '00:01:00 00:01:10', proceed: false },
      { n: 3, ids: '6,8', full: 'full', decision: 'unchanged', span: '00:01:00 00:01:20', proceed: false },
      { n: 4, ids: '6,9', full: 'full', decision: 'unchanged', span: '00:01:00 00:01:30', proceed: false },
      { n: 5, ids: '6,10', full: 'full', decision: 'unchanged', span: '00:01:00 00:01:40', proceed: false },
      { n: 6, ids: '6,11', full: 'full', decision: 'unchanged', span: '00:01:00 00:01:50', proceed: false },
      { n: 7, ids: '6,12', full: 'full', decision: 'unchanged', span: '00:01:00 00:02:00', proceed: false },
      { n: 8, ids: '6,13', full: 'full', decision: 'overage', span: '00:01:00 00:02:10', proceed: true },
      { n: 9, ids: '13,14', full: 'full', decision: 'unchanged', span: '00:02:10 00:02:20', proceed: false },
    ]);
    expect(parsed.find((p) => p.n === 15)).toEqual({ n: 15, ids: '13,20', full: 'full', decision: 'overage', span: '00:02:10 00:03:20', proceed: true });
    expect(parsed.find((p) => p.n === 16)?.ids).toBe('20,21');
    expect(parsed.find((p) => p.n === 22)).toEqual({ n: 22, ids: '20,27', full: 'full', decision: 'overage', span: '00:03:20 00:04:30', proceed: true });
    expect(parsed.filter((p) => p.proceed).map((p) => p.n)).toEqual([8, 15, 22]);

    const { vld } = await dumpTarget(target.db, loaded.specs.get('GDcsAdTemp')!);
    // Local [00:01:00, 00:02:10) is UTC 2011-01-31 [16:01:00, 16:02:10), and so on; the seed first.
    expect(vld.map((v) => [v.TIMESTART, v.TIMEEND, v.SITEMASK, v.SUBSITE, v.SIMMASK, v.TASK, v.AGGREGATENO])).toEqual([
      ['2011-01-31 16:00:00', '2011-01-31 16:01:00', 32, 1, 1, 0, -1],
      ['2011-01-31 16:01:00', '2011-01-31 16:02:10', 32, 1, 1, 0, -1],
      ['2011-01-31 16:02:10', '2011-01-31 16:03:20', 32, 1, 1, 0, -1],
      ['2011-01-31 16:03:20', '2011-01-31 16:04:30', 32, 1, 1, 0, -1],
    ]);
    expect(vld.map((v) => v.VERSIONDATE)).toEqual(vld.map((v) => v.TIMESTART));
    expect(vld.map((v) => v.INSERTDATE)).toEqual(vld.map(() => '2026-01-01 00:00:00'));
    // the seed's write and the scraper's kept SCRAPE_VLD_SPAN: the longest validity (70 s, by hand) up to the last SEQNO, as SQL finds them
    expect(await vldSpanBySql(target.db, 'DcsAdTemp')).toEqual({ span: 70, seqno: 4 });
    expect(await vldSpanRow(target.db, 'DcsAdTemp')).toEqual({ span: 70, seqno: 4 });
  });
});
