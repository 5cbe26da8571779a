import { Knex } from 'knex';
import { Clock, ManualClock } from '../../engine/core/clock';
import { MemoryLogger } from '../../engine/core/logger';
import { loadRegime } from '../../engine/config/load-regime';
import { runScraper } from '../../engine/scraper/scraper';
import { ScrapeMetrics } from '../../engine/session/metrics-server';
import { streamStatuses } from '../../engine/report/stream-status';
import { renderStreamStatus } from '../../engine/cli/status';
import { StreamObserver } from '../../engine/stream/stream-observer';
import { DIALECTS, createTestDatabase, TestDatabase } from '../support/databases';
import { localPlus } from '../support/source-fixture';
import { ADTEMP_YAML, fillAdTempSource, ROOT, samples, targetContent } from '../ops/ops-support';

/**
 * docs/design.md §4.11, the future: a source row dated more than `future_limit` (default 1d) ahead
 * of the wall clock is quarantined: never sampled, reported (warning, worker, metric, status), and
 * read as an ordinary row once the clock reaches it. Expected targets come from runs over a
 * source that lacks the row (or over which nothing can be quarantined), never from the engine's
 * own arithmetic.
 */

const loaded = loadRegime(ADTEMP_YAML, { cwd: ROOT, env: {} });
const spec = loaded.specs.get('GDcsAdTemp')!;
const TABLE = 'DBNS_SAB_Temp';
const START = '2011-02-01 00:00:00';
const ROWS = 2011;
const BAD_ID = 1006;
const FUTURE = '2100-01-01 00:00:00';
/** Wall clock of the runs: 2011-02-02 08:00 in Asia/Shanghai, after every ordinary row (the last at 2011-02-01 05:35:00). */
const NOW = Date.UTC(2011, 1, 2);
const DAY = 86_400_000;
/** The earliest wall clock at which FUTURE (local, UTC + 8 h) is within future_limit 1d. */
const RELEASE = Date.UTC(2099, 11, 31, 16) - DAY;

/** What a run told: its report, its log, the metrics and each worker's quarantine count. */
async function scrape(source: TestDatabase, target: TestDatabase, clock: Clock) {
  const logger = new MemoryLogger();
  const metrics = new ScrapeMetrics('adtemp');
  const seen: number[] = [];
  const watcher: StreamObserver = { step: (worker) => seen.push(worker.quarantined) };
  const observer: StreamObserver = { step: (w, s, l) => (metrics.step(w, s, l), watcher.step!(w, s, l)), quarantine: (w, n) => metrics.quarantine(w, n) };
  const report = await runScraper({
    regime: loaded.regime, specs: loaded.specs, source: source.db, target: target.db, targetLocation: target.location,
    logger, clock, untilCaughtUp: true, allowCreate: true, seed: false, observer,
  });
  return { report, logger, metrics: samples(await metrics.render(), 'scrape_quarantined_rows'), quarantined: seen };
}

const STREAM = `{regime="adtemp",stream="${TABLE}"}`;

async function setDate(db: Knex, id: number, dateTime: string): Promise<void> {
  await db(TABLE).where({ id }).update({ date_time: dateTime });
}

describe.each(DIALECTS)('rows dated in the future on %s', (dialect) => {
  const databases: TestDatabase[] = [];
  async function database(label: string): Promise<TestDatabase> {
    const d = await createTestDatabase(dialect, label);
    databases.push(d);
    return d;
  }
  afterAll(async () => {
    for (const d of databases) await d.drop();
  });

  it('a row dated 2100 is quarantined: the target is that of the rows without it, later rows are scraped, it is reported', async () => {
    // the same 2011 rows twice: one of them dated 2100 in `bad`, absent from `reference`
    const bad = await database('fake_future_bad');
    const reference = await database('fake_future_ref');
    await fillAdTempSource(bad.db, ROWS, 11);
    await fillAdTempSource(reference.db, ROWS, 11);
    await setDate(bad.db, BAD_ID, FUTURE);
    await reference.db(TABLE).where({ id: BAD_ID }).delete();
    const target = await database('future_bad_t');
    const expected = await database('future_ref_t');

    const run = await scrape(bad, target, new ManualClock(NOW));
    const ref = await scrape(reference, expected, new ManualClock(NOW));
    expect(ref.report.streams[0].rowsRead).toBe(ROWS - 1);
    expect(run.report.streams[0].rowsRead).toBe(ROWS - 1);
    expect((await targetContent(expected.db, spec)).vld.length).toBeGreaterThan(10);
    expect(await targetContent(target.db, spec)).toEqual(await targetContent(expected.db, spec));

    const warnings = run.logger.messages('warn');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(new RegExp(`^${TABLE}: 1 entry dated more than future_limit 1d ahead of the wall clock \\(after 2011-02-03 08:00:00 Asia/Shanghai\\) quarantined.*first id ${BAD_ID} at ${FUTURE}$`));
    expect(ref.logger.messages('warn')).toEqual([]);
    expect(new Set(run.quarantined)).toEqual(new Set([1]));
    expect(new Set(ref.quarantined)).toEqual(new Set([0]));
    expect(run.metrics).toEqual(new Map([[STREAM, 1]]));
    expect(ref.metrics).toEqual(new Map([[STREAM, 0]]));

    // status: the latest entry is the last ordinary one, and the quarantined row is shown
    const [status] = await streamStatuses({ regime: loaded.regime, specs: loaded.specs, source: bad.db, target: target.db, clock: new ManualClock(NOW) });
    const [refStatus] = await streamStatuses({ regime: loaded.regime, specs: loaded.specs, source: reference.db, target: expected.db, clock: new ManualClock(NOW) });
    expect(status.sourceLatest).toBe(localPlus(START, 10 * (ROWS - 1)));
    expect(status.lagMs).toBe(refStatus.lagMs);
    expect(status.lagMs).toBeGreaterThan(0);
    expect(status.quarantined).toEqual({ count: 1, horizon: '2011-02-03 08:00:00', first: { id: BAD_ID, date_time: FUTURE } });
    expect(refStatus.quarantined).toEqual({ count: 0, horizon: '2011-02-03 08:00:00' });
    expect(renderStreamStatus(status, 'Asia/Shanghai')).toContain(`\n  quarantined    1 entry dated after 2011-02-03 08:00:00 Asia/Shanghai (future_limit); first id ${BAD_ID} at ${FUTURE}\n`);
    expect(renderStreamStatus(refStatus, 'Asia/Shanghai')).not.toContain('quarantined');

    // rows written later (as a live source grows) are scraped past the bad row, in both
    const more = 300;
    for (const d of [bad, reference]) await fillAdTempSource(d.db, more, 12, localPlus(START, 10 * ROWS), false, ROWS + 1);
    const later = await scrape(bad, target, new ManualClock(NOW));
    await scrape(reference, expected, new ManualClock(NOW));
    expect(later.report.streams[0].rowsRead).toBeGreaterThan(more - 1);
    const content = await targetContent(target.db, spec);
    expect(content).toEqual(await targetContent(expected.db, spec));
    // the last validity ends within the rows added, not in 2100
    const lastEnd = content.vld.map((v) => String(v.TIMEEND)).sort().pop()!;
    expect(lastEnd > '2011-01-31 21:35:00').toBe(true);
    expect(lastEnd < '2011-02-02 00:00:00').toBe(true);
    expect(later.logger.messages('warn')).toHaveLength(1); // one warning per run (at resume), not per page
  }, 120_000);

  it('released once the wall clock is within future_limit of it: then an ordinary row', async () => {
    const bad = await database('fake_future_rel');
    await fillAdTempSource(bad.db, ROWS, 13);
    await setDate(bad.db, BAD_ID, FUTURE);
    const target = await database('future_rel_t');
    const oneRun = await database('future_rel_one');

    const before = await scrape(bad, target, new ManualClock(NOW));
    expect(before.report.streams[0].rowsRead).toBe(ROWS - 1);
    // one second before the release the row is still quarantined
    const almost = await scrape(bad, target, new ManualClock(RELEASE - 1000));
    expect(almost.quarantined.every((n) => n === 1)).toBe(true);
    expect(almost.metrics).toEqual(new Map([[STREAM, 1]]));
    const released = await scrape(bad, target, new ManualClock(RELEASE));
    expect(released.metrics).toEqual(new Map([[STREAM, 0]]));
    expect(released.logger.messages('warn')).toEqual([]);
    expect(released.quarantined.every((n) => n === 0)).toBe(true);
    // the runs resumed from the target: the row was read after the rows before it in time
    const resumedRows = released.report.streams[0].rowsRead;
    expect(resumedRows).toBeGreaterThan(0);
    // what one run at the release time (nothing quarantined) writes
    const one = await scrape(bad, oneRun, new ManualClock(RELEASE));
    expect(one.report.streams[0].rowsRead).toBe(ROWS);
    expect(await targetContent(target.db, spec)).toEqual(await targetContent(oneRun.db, spec));
    const ends = (await targetContent(oneRun.db, spec)).vld.map((v) => String(v.TIMEEND));
    // the 2100 row took part: a validity reaches (UTC) into the 2090s
    expect(ends.some((e) => e >= '2099-01-01')).toBe(true);
  }, 120_000);

  it('a row within future_limit (now + 1 h) is an ordinary row', async () => {
    const soon = await database('fake_future_soon');
    await fillAdTempSource(soon.db, ROWS, 14);
    // NOW is 2011-02-02 08:00:00 local
    await setDate(soon.db, BAD_ID, '2011-02-02 09:00:00');
    const target = await database('future_soon_t');
    const late = await database('future_soon_late');
    const run = await scrape(soon, target, new ManualClock(NOW));
    expect(run.report.streams[0].rowsRead).toBe(ROWS);
    expect(run.logger.messages('warn')).toEqual([]);
    expect(run.metrics).toEqual(new Map([[STREAM, 0]]));
    // the same as at a wall clock decades later, where nothing of this source is in the future
    await scrape(soon, late, new ManualClock(Date.UTC(2040, 0, 1)));
    expect(await targetContent(target.db, spec)).toEqual(await targetContent(late.db, spec));
  }, 120_000);
});
