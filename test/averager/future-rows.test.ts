import { Clock, ManualClock } from '../../engine/core/clock';
import { MemoryLogger } from '../../engine/core/logger';
import { loadRegime } from '../../engine/config/load-regime';
import { runAverager } from '../../engine/averager/averager';
import { ScrapeMetrics } from '../../engine/session/metrics-server';
import { DIALECTS, createTestDatabase, TestDatabase } from '../support/databases';
import { ADTEMP_YAML, fillAdTempSource, ROOT, samples, targetContent } from '../ops/ops-support';

/**
 * docs/design.md §4.11, the future, for the averager: a row dated more than `future_limit` ahead of
 * the wall clock completes no bin (the bins up to it would all look complete) and enters no
 * aggregate, until the clock reaches it. On MariaDB the chunks are read by range queries, on
 * SQLite by keyset pages: both are covered. Expected targets come from runs over a source
 * lacking the row.
 */

const loaded = loadRegime(ADTEMP_YAML, { cwd: ROOT, env: {} });
const spec = loaded.specs.get('GDcsAdTemp')!;
const TABLE = 'DBNS_SAB_Temp';
const ROWS = 2011;
const BAD_ID = 1006;
const FUTURE = '2100-01-01 00:00:00';
/** 2011-02-02 08:00 in Asia/Shanghai: after every ordinary row (the last at 2011-02-01 05:35:00 local). */
const NOW = Date.UTC(2011, 1, 2);
/** The earliest wall clock at which FUTURE (local, UTC + 8 h) is within future_limit 1d. */
const RELEASE = Date.UTC(2099, 11, 31, 16) - 86_400_000;

async function average(source: TestDatabase, target: TestDatabase, clock: Clock) {
  const logger = new MemoryLogger();
  const metrics = new ScrapeMetrics('adtemp');
  const report = await runAverager({
    regime: loaded.regime, specs: loaded.specs, source: source.db, target: target.db, targetLocation: target.location,
    logger, clock, untilCaughtUp: true, allowCreate: true, observer: metrics,
  });
  return { report, logger, metrics: samples(await metrics.render(), 'scrape_quarantined_rows') };
}

describe.each(DIALECTS)('averager and rows dated in the future on %s', (dialect) => {
  const databases: TestDatabase[] = [];
  async function database(label: string): Promise<TestDatabase> {
    const d = await createTestDatabase(dialect, label);
    databases.push(d);
    return d;
  }
  afterAll(async () => {
    for (const d of databases) await d.drop();
  });

  it('a row dated 2100 completes no bin and enters no aggregate; released, it is an ordinary row', async () => {
    const bad = await database('fake_avg_future_bad');
    const reference = await database('fake_avg_future_ref');
    await fillAdTempSource(bad.db, ROWS, 21);
    await fillAdTempSource(reference.db, ROWS, 21);
    // an outlier value: in any aggregate it would show
    await bad.db(TABLE).where({ id: BAD_ID }).update({ date_time: FUTURE, DBNS_SAB_Temp_PT1: 9999 });
    await reference.db(TABLE).where({ id: BAD_ID }).delete();
    const target = await database('avg_future_bad_t');
    const expected = await database('avg_future_ref_t');

    const run = await average(bad, target, new ManualClock(NOW));
    const ref = await average(reference, expected, new ManualClock(NOW));
    const want = await targetContent(expected.db, spec);
    // 00:00 to 05:35 local: the bins of hours 0 to 4 are complete, the one of hour 5 is not
    expect(want.vld).toHaveLength(5);
    expect(await targetContent(target.db, spec)).toEqual(want);
    expect(run.report.streams[0].rowsRead).toBe(ref.report.streams[0].rowsRead);
    expect(run.logger.messages('warn')).toEqual([expect.stringMatching(new RegExp(`^${TABLE}: 1 entry dated more than future_limit 1d .*first id ${BAD_ID} at ${FUTURE}$`))]);
    expect(run.metrics).toEqual(new Map([[`{regime="adtemp",stream="${TABLE}"}`, 1]]));

    // released: the row completes the bin of hour 5 (its own bin, in 2100, stays open)
    const released = await average(bad, target, new ManualClock(RELEASE));
    expect(released.logger.messages('warn')).toEqual([]);
    expect(released.metrics).toEqual(new Map([[`{regime="adtemp",stream="${TABLE}"}`, 0]]));
    const after = await targetContent(target.db, spec);
    expect(after.vld).toHaveLength(6);
    expect(after.vld.slice(0, 5)).toEqual(want.vld);
    // the outlier is in no aggregate: it is alone in its (open) bin
    expect(JSON.stringify(after.payload)).not.toContain('9999');
  }, 120_000);
});
