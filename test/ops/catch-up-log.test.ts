import { Knex } from 'knex';
import { ManualClock } from '../../engine/core/clock';
import { loadRegime, LoadedRegime } from '../../engine/config/load-regime';
import { MemoryLogger } from '../../engine/core/logger';
import { runBatchFaker } from '../../engine/faker/faker';
import { CatchUpProgress } from '../../engine/session/progress';
import { runScraper } from '../../engine/scraper/scraper';
import { DIALECTS, createTestDatabase, TestDatabase } from '../support/databases';
import { adtempLikeRegime } from '../faker/fake-regime';
import { ADTEMP_YAML, ROOT } from './ops-support';

async function vldCount(db: Knex): Promise<number> {
  const [{ n }] = await db('DcsAdTempVld').count({ n: '*' });
  return Number(n);
}

/** `count` more rows of the test pattern (each PT column id mod 10: a write about every other row) into the source. */
async function fakeRows(source: TestDatabase, count: number): Promise<void> {
  await runBatchFaker({ db: source.db, location: { ...source.location, fake: true }, regime: adtempLikeRegime(), count });
}

const isSv = (message: string) => message.startsWith('SV ');
const isProceed = (message: string) => isSv(message) && message.endsWith('==> PROCEED');

/**
 * Catch-up must not log a line per write: a backlog of N rows gives log lines in proportion to
 * the time it takes (a progress line per 10 s), not to N or to the writes; once caught up,
 * each write has its info line again.
 */
describe.each(DIALECTS)('log volume of a catch-up on %s', (dialect) => {
  let loaded: LoadedRegime;
  const databases: TestDatabase[] = [];
  beforeAll(() => {
    loaded = loadRegime(ADTEMP_YAML, { cwd: ROOT, env: {} });
  });
  afterAll(async () => {
    for (const d of databases) await d.drop();
  });

  it('10000 rows, 5000 writes: 6 info lines (start, a progress line per 10 s, caught up); every write a debug line', async () => {
    const source = await createTestDatabase(dialect, 'fake_volume_src');
    const target = await createTestDatabase(dialect, 'volume_t');
    databases.push(source, target);
    await fakeRows(source, 10_000);
    const regime = { ...loaded.regime, scraper: { ...loaded.regime.scraper, page_size: 500 } };
    // (wall time long after the rows: none is dated in the future)
    const clock = new ManualClock(Date.UTC(2026, 0, 1));
    const logger = new MemoryLogger();
    const progress = new CatchUpProgress(logger, clock);
    // each step (a page of 500 rows) takes 2 s of wall time
    const observer = {
      start: progress.start.bind(progress),
      propagation: progress.propagation.bind(progress),
      step: (...args: Parameters<CatchUpProgress['step']>) => (clock.advance(2000), progress.step(...args)),
    };
    await runScraper({ regime, specs: loaded.specs, source: source.db, target: target.db, targetLocation: target.location, logger, clock, untilCaughtUp: true, allowCreate: true, observer });

    const written = await vldCount(target.db);
    // id mod 10 moves by 1 per row: from sv[0] at id 1 the writes end at ids 3, 5, 7, 9, then
    // 10 (9 → 0), 12, …, 20 (8 → 0) and so on: 5 per 10 rows
    expect(written).toBe(5000);
    expect(logger.lines.filter((l) => isProceed(l.message)).length).toBe(written);
    expect(logger.lines.filter((l) => isSv(l.message)).every((l) => l.level === 'debug')).toBe(true);
    // 20 full pages and an empty one: 21 steps, 42 s; progress lines at 10, 20, 30 and 40 s
    // (at 2 M rows and the same pace: 4000 steps, 800 lines)
    const info = logger.lines.filter((l) => l.level !== 'debug').map((l) => l.message);
    expect(info.length).toBe(6);
    expect(info[0]).toMatch(/^timecursor\(local\) DBNS_SAB_Temp /);
    expect(info.slice(1, 5).map((m) => m.replace(/,.*/, ''))).toEqual(['catch-up: 2500 rows read', 'catch-up: 5000 rows read', 'catch-up: 7500 rows read', 'catch-up: 10000 rows read']);
    // the last row: id 10000 at 2011-02-01 00:00:00 + 100000 s
    expect(info[5]).toBe('caught up: 10000 rows read, 5000 writes (changed 5000) in 42s; DBNS_SAB_Temp at 2011-02-02 03:46:40 Asia/Shanghai');
  }, 60_000);

  it('once caught up, each write is an info SV line; before, a debug line', async () => {
    const source = await createTestDatabase(dialect, 'fake_live_log_src');
    const target = await createTestDatabase(dialect, 'live_log_t');
    databases.push(source, target);
    await fakeRows(source, 200);
    const controller = new AbortController();
    let writtenBefore = -1;
    // the run sleeps once caught up: 30 rows arrive during the first sleep, the second one stops it
    class ArrivingClock extends ManualClock {
      async sleep(ms: number): Promise<void> {
        await super.sleep(ms);
        if (writtenBefore >= 0) {
          controller.abort();
          return;
        }
        writtenBefore = await vldCount(target.db);
        await fakeRows(source, 30);
      }
    }
    const clock = new ArrivingClock(Date.UTC(2026, 0, 1));
    const logger = new MemoryLogger();
    const progress = new CatchUpProgress(logger, clock);
    const observer = { start: progress.start.bind(progress), propagation: progress.propagation.bind(progress), step: progress.step.bind(progress) };
    await runScraper({ regime: loaded.regime, specs: loaded.specs, source: source.db, target: target.db, targetLocation: target.location, logger, clock, signal: controller.signal, allowCreate: true, observer });

    const written = await vldCount(target.db);
    expect(writtenBefore).toBeGreaterThan(50);
    expect(written).toBeGreaterThan(writtenBefore + 10);
    const proceeds = logger.lines.filter((l) => isProceed(l.message));
    // the first step read the 200 rows as a catch-up (debug), the second step the 30 new ones live (info)
    expect(proceeds.filter((l) => l.level === 'debug').length).toBe(writtenBefore);
    expect(proceeds.filter((l) => l.level === 'info').length).toBe(written - writtenBefore);
    expect(logger.lines.filter((l) => isSv(l.message) && !isProceed(l.message)).every((l) => l.level === 'debug')).toBe(true);
    const caughtUp = logger.lines.filter((l) => l.message.startsWith('caught up:'));
    expect(caughtUp.map((l) => l.message.replace(/ in \S+;/, ' in T;'))).toEqual([`caught up: 200 rows read, ${writtenBefore} writes (changed ${writtenBefore}) in T; DBNS_SAB_Temp at 2011-02-01 00:33:20 Asia/Shanghai`]);
    // an info SV line says its stream, sample, ids, times and reason as fields too
    const line = proceeds.find((l) => l.level === 'info')!;
    const m = /^SV (\d+)\s+\((\d+), (\d+)\)\s+(\S+ \S+) Asia\/Shanghai full\s+(\w+)/.exec(line.message)!;
    expect(m).not.toBeNull();
    expect(line.fields).toMatchObject({ stream: 'DBNS_SAB_Temp', sample: Number(m[1]), first_id: Number(m[2]), last_id: Number(m[3]), zone: 'Asia/Shanghai', reason: m[5], proceed: true });
    // ids are the faker's: date_time = 2011-02-01 00:00:00 + id × 10 s
    const at = (id: number) => new Date(Date.UTC(2011, 1, 1) + id * 10_000).toISOString().slice(0, 19).replace('T', ' ');
    expect(line.fields).toMatchObject({ first_time: at(Number(m[2])), last_time: at(Number(m[3])) });
  }, 60_000);
});
