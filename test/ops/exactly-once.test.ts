import { describeTrial, ensureDist, inProcessTrial, processTrial, TrialResult } from '../../bench/exactly-once-harness';

/**
 * The short form of the exactly-once property (docs/design.md §4.12): random interleavings of two
 * writers on one (table, context) with random kills never leave a duplicate or a gap, and the
 * target equals one uninterrupted run. The long form (hundreds of trials) is `npm run property`.
 */

const report = (trials: TrialResult[]): string[] => trials.filter((t) => t.problems.length > 0).map(describeTrial);

describe.each([
  ['sqlite', 20],
  ['mariadb', 5],
] as const)('exactly once on %s: two writers interleaved in one process, killed at random', (dialect, count) => {
  it(`${count} seeded trials equal one uninterrupted run, no validity twice, no gap`, async () => {
    const trials: TrialResult[] = [];
    for (let seed = 1; seed <= count; seed++) trials.push(await inProcessTrial(dialect, seed));
    expect(report(trials)).toEqual([]);
    // the trials did what they are for: writers were killed, and the target refused stale writes
    expect(trials.reduce((n, t) => n + t.stats.kills, 0)).toBeGreaterThan(0);
    expect(trials.reduce((n, t) => n + t.stats.fenced, 0)).toBeGreaterThan(0);
  }, 120_000);
});

describe.each(['sqlite', 'mariadb'] as const)('exactly once on %s: two scrape run processes, SIGKILLed at random', (dialect) => {
  beforeAll(() => ensureDist(), 120_000);

  it('2 seeded trials equal one uninterrupted run, no validity twice, no gap', async () => {
    const trials: TrialResult[] = [];
    for (const seed of [1, 2]) trials.push(await processTrial(dialect, seed));
    expect(report(trials)).toEqual([]);
    expect(trials.reduce((n, t) => n + t.stats.sigkills + t.stats.lockKills, 0)).toBeGreaterThan(0);
  }, 120_000);
});
