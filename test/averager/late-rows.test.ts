import { Knex } from 'knex';
import { ManualClock } from '../../engine/core/clock';
import { MemoryLogger } from '../../engine/core/logger';
import { loadRegime } from '../../engine/config/load-regime';
import { runAverager } from '../../engine/averager/averager';
import { ScrapeMetrics } from '../../engine/session/metrics-server';
import { streamStatuses } from '../../engine/report/stream-status';
import { StreamObserver } from '../../engine/stream/stream-observer';
import { DIALECTS, createTestDatabase, TestDatabase } from '../support/databases';
import { insertRows, localPlus } from '../support/source-fixture';
import { ADTEMP_YAML, PT, fillAdTempSource, ROOT, samples, targetContent } from '../ops/ops-support';

/**
 * docs/design.md §4.11, late rows, for the averager: a row dated inside a bin already written
 * appears later. It is not averaged into anything; it is counted and reported (warning, metric,
 * status), and the written bins stay as they were.
 */

const loaded = loadRegime(ADTEMP_YAML, { cwd: ROOT, env: {} });
const spec = loaded.specs.get('GDcsAdTemp')!;
const TABLE = 'DBNS_SAB_Temp';
const START = '2011-02-01 00:00:00';
// 1000 rows every 10 s: 00:00:00 .. 02:46:30 local; the bins [00, 01) and [01, 02) are complete
const ROWS = 1000;
const LATE_ID = ROWS + 1;
const LATE_TIME = localPlus(START, 1005); // 00:16:45, inside the first bin
const CLOSER_ID = ROWS + 2;
const CLOSER_TIME = '2011-02-01 03:00:00'; // completes the bin [02, 03)
const NOW = Date.UTC(2012, 0, 1);
const STREAM = `{regime="adtemp",stream="${TABLE}"}`;

async function average(source: TestDatabase, target: TestDatabase) {
  const logger = new MemoryLogger();
  const metrics = new ScrapeMetrics('adtemp');
  const observer: StreamObserver = { step: (w, s, l) => metrics.step(w, s, l), late: (w, n) => metrics.late(w, n) };
  const report = await runAverager({
    regime: loaded.regime, specs: loaded.specs, source: source.db, target: target.db, targetLocation: target.location,
    logger, clock: new ManualClock(NOW), untilCaughtUp: true, allowCreate: true, observer,
  });
  return { report, logger, metric: samples(await metrics.render(), 'scrape_late_rows') };
}

async function bins(db: Knex) {
  return (await targetContent(db, spec)).vld.map((v) => [String(v.TIMESTART), String(v.TIMEEND)]);
}

function row(id: number, dateTime: string): Record<string, unknown> {
  return { id, date_time: dateTime, ...Object.fromEntries(PT.map((c) => [c, 99])) };
}

describe.each(DIALECTS)('late rows for the averager on %s', (dialect) => {
  const databases: TestDatabase[] = [];
  afterAll(async () => {
    for (const d of databases) await d.drop();
  });

  it('a row dated inside a written bin is reported, not averaged; the row completing the next bin is not late', async () => {
    const [source, target] = await Promise.all([createTestDatabase(dialect, 'avg_late_s'), createTestDatabase(dialect, 'avg_late_t')]);
    databases.push(source, target);
    await fillAdTempSource(source.db, ROWS, 31);
    const first = await average(source, target);
    // by hand (Asia/Shanghai, UTC+8): the first and last entries of the two complete hours
    expect(await bins(target.db)).toEqual([
      ['2011-01-31 16:00:00', '2011-01-31 16:59:50'],
      ['2011-01-31 17:00:00', '2011-01-31 17:59:50'],
    ]);
    expect(first.metric).toEqual(new Map([[STREAM, 0]]));
    const before = await targetContent(target.db, spec);

    await insertRows(source.db, TABLE, [row(LATE_ID, LATE_TIME), row(CLOSER_ID, CLOSER_TIME)]);
    const [status] = await streamStatuses({ regime: loaded.regime, specs: loaded.specs, source: source.db, target: target.db, clock: new ManualClock(NOW), role: 'average' });
    expect(status.late).toMatchObject({ count: 1, first: { id: LATE_ID, date_time: LATE_TIME } });

    const second = await average(source, target);
    const warnings = second.logger.messages('warn');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(new RegExp(`^${TABLE}: 1 late row: .*first id ${LATE_ID} at ${LATE_TIME}`));
    expect(second.metric).toEqual(new Map([[STREAM, 1]]));
    // the first two bins as they were (the late 99s averaged into nothing); the third bin written
    const after = await targetContent(target.db, spec);
    expect(after.vld.slice(0, 2)).toEqual(before.vld);
    expect(after.payload.slice(0, before.payload.length)).toEqual(before.payload);
    expect((await bins(target.db))[2]).toEqual(['2011-01-31 18:00:00', '2011-01-31 18:46:30']);
  }, 120_000);
});
