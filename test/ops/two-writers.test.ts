import { Knex } from 'knex';
import { MemoryLogger } from '../../engine/core/logger';
import { isScrapeError } from '../../engine/core/errors';
import { applySettingOverrides, loadRegime } from '../../engine/config/load-regime';
import { openDatabase } from '../../engine/db/open-database';
import { buildStreamRunners, runScraper, ScraperOptions } from '../../engine/scraper/scraper';
import { DIALECTS, createTestDatabase, TestDatabase } from '../support/databases';
import { ADTEMP_YAML, fillAdTempSource, targetContent } from './ops-support';

const loaded = loadRegime(ADTEMP_YAML);
const SPEC = loaded.specs.get('GDcsAdTemp')!;
/** Small pages: many writes, so two writers meet often. */
const regimeWithPages = (pageSize: number) => applySettingOverrides(loaded.regime, [`page_size=${pageSize}`], 'scraper');

describe.each(DIALECTS)('two writers on one (table, context) on %s (docs/design.md §4.12)', (dialect) => {
  const databases: TestDatabase[] = [];
  let source: TestDatabase;
  let reference: Awaited<ReturnType<typeof targetContent>>;

  const fresh = async (label: string): Promise<TestDatabase> => {
    const d = await createTestDatabase(dialect, label);
    databases.push(d);
    return d;
  };
  const options = (target: TestDatabase, db: Knex, pageSize: number, logger = new MemoryLogger()): ScraperOptions => ({
    regime: regimeWithPages(pageSize),
    specs: loaded.specs,
    source: source.db,
    target: db,
    targetLocation: target.location,
    logger,
    untilCaughtUp: true,
    allowCreate: true,
    backoff: { initialMs: 5, maxMs: 20 },
  });

  beforeAll(async () => {
    source = await fresh('fake_two_writers_src');
    await fillAdTempSource(source.db, 2000, 11);
    const one = await fresh('two_writers_ref');
    await runScraper(options(one, one.db, 5000));
    reference = await targetContent(one.db, SPEC);
    expect(reference.vld.length).toBeGreaterThan(50);
  });
  afterAll(async () => {
    for (const d of databases) await d.drop();
  });

  it('a writer whose context moved on meanwhile writes nothing, then resumes from the target', async () => {
    const target = await fresh('two_writers_stale');
    const [stale] = await buildStreamRunners(options(target, target.db, 100));
    await stale.resume(); // resumes from the empty target
    await runScraper(options(target, target.db, 300)); // another writer does the whole job meanwhile
    let refused: unknown;
    try {
      for (;;) if ((await stale.step()).caughtUp) break;
      await stale.flush();
    } catch (err) {
      refused = err;
    }
    expect(isScrapeError(refused, 'FENCE_MOVED')).toBe(true);
    expect(await targetContent(target.db, SPEC)).toEqual(reference);
    // the stale writer resumes where the target ends: nothing left to write
    await stale.resume();
    for (;;) if ((await stale.step()).caughtUp) break;
    await stale.flush();
    expect(stale.totals.writes).toBe(0);
    expect(await targetContent(target.db, SPEC)).toEqual(reference);
  });

  // Two writers *in one process* on SQLite block each other (better-sqlite3 waits for a busy file
  // synchronously, holding the event loop the other writer needs to commit): that case is for
  // processes, which test/ops/exactly-once.test.ts covers on both databases.
  if (dialect === 'mariadb') it('two scrapers running at once, pages of different sizes, leave the target equal to one run', async () => {
    for (let trial = 0; trial < 3; trial++) {
      const target = await fresh(`two_writers_${trial}`);
      // each writer with its own connections to the target, as two processes would have
      const second = openDatabase(target.location);
      try {
        const logs = [new MemoryLogger(), new MemoryLogger()];
        await Promise.all([runScraper(options(target, target.db, 100 + 37 * trial, logs[0])), runScraper(options(target, second, 170, logs[1]))]);
        const content = await targetContent(target.db, SPEC);
        const starts = content.vld.map((v) => `${v.SITEMASK}/${v.SUBSITE} ${v.TIMESTART}`);
        expect(new Set(starts).size).toBe(starts.length); // no duplicate validity
        expect(content).toEqual(reference);
      } finally {
        await second.destroy();
      }
    }
  });
});
