import { ManualClock } from '../../engine/core/clock';
import { loadRegime } from '../../engine/config/load-regime';
import { MemoryLogger } from '../../engine/core/logger';
import { CatchUpProgress, humanSpan } from '../../engine/session/progress';
import { runScraper } from '../../engine/scraper/scraper';
import { DIALECTS, createTestDatabase, TestDatabase } from '../support/databases';
import { ADTEMP_YAML, fillAdTempSource, ROOT } from './ops-support';

describe('humanSpan', () => {
  it('prints spans as an operator reads them', () => {
    expect(humanSpan((12 * 86400 + 3 * 3600 + 59) * 1000)).toBe('12d 3h');
    expect(humanSpan((6 * 3600 + 40 * 60) * 1000)).toBe('6h 40m');
    expect(humanSpan(130_000)).toBe('2m10s');
    expect(humanSpan(48_000)).toBe('48s');
  });
});

describe.each(DIALECTS)('catch-up progress lines on %s', (dialect) => {
  let source: TestDatabase;
  let target: TestDatabase;
  beforeAll(async () => {
    source = await createTestDatabase(dialect, 'fake_progress_src');
    target = await createTestDatabase(dialect, 'progress_t');
    await fillAdTempSource(source.db, 3000, 3); // one row every 10 s from 2011-02-01 00:00:00
  });
  afterAll(async () => {
    await source?.drop();
    await target?.drop();
  });

  it('a line every 10 s while behind, with rows, rows/s, position, lag and ETA; one when caught up', async () => {
    const loaded = loadRegime(ADTEMP_YAML, { cwd: ROOT, env: {} });
    const regime = { ...loaded.regime, scraper: { ...loaded.regime.scraper, page_size: 100 } };
    const clock = new ManualClock();
    const logger = new MemoryLogger();
    const progress = new CatchUpProgress(logger, clock, 3000);
    // Each page takes 2 s of (manual) wall time.
    const observer = { step: (...args: Parameters<CatchUpProgress['step']>) => (clock.advance(2000), progress.step(...args)) };
    await runScraper({ regime, specs: loaded.specs, source: source.db, target: target.db, targetLocation: target.location, logger, clock, untilCaughtUp: true, allowCreate: true, seed: false, observer });
    const lines = logger.lines.filter((l) => /^(catch-up|caught up) /.test(l.message));
    expect(lines.every((l) => l.level === 'info')).toBe(true);
    // Steps 1..30 read 100 rows each; catch-up starts at step 1, lines at steps 6, 11, 16, 21, 26.
    // Step 6: 600 rows read, 500 of them in the 10 s since step 1 → 50 rows/s; the cursor is row
    // 600 (00:00:00 + 599 × 10 s = 01:39:50); lag to row 3000 = 2400 × 10 s = 6h 40m; the cursor
    // moved 5000 s of source time in 10 s, so the ETA is 24000 / 500 = 48 s.
    expect(lines.map((l) => l.message)).toEqual([
      'catch-up DBNS_SAB_Temp: 600 rows, 50 rows/s, at 2011-02-01 01:39:50, lag 6h 40m, ETA 48s',
      'catch-up DBNS_SAB_Temp: 1 100 rows, 50 rows/s, at 2011-02-01 03:03:10, lag 5h 16m, ETA 38s',
      'catch-up DBNS_SAB_Temp: 1 600 rows, 50 rows/s, at 2011-02-01 04:26:30, lag 3h 53m, ETA 28s',
      'catch-up DBNS_SAB_Temp: 2 100 rows, 50 rows/s, at 2011-02-01 05:49:50, lag 2h 30m, ETA 18s',
      'catch-up DBNS_SAB_Temp: 2 600 rows, 50 rows/s, at 2011-02-01 07:13:10, lag 1h 6m, ETA 8s',
      // Step 30 reads row 3000: no lag left; 3000 rows between steps 1 and 30 (58 s).
      'caught up DBNS_SAB_Temp: 3 000 rows in 58s, at 2011-02-01 08:19:50',
    ]);
  });
});
