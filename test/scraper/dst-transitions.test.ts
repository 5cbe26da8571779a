import * as path from 'path';
import { Knex } from 'knex';
import { MemoryLogger } from '../../engine/core/logger';
import { ManualClock } from '../../engine/core/clock';
import { loadRegime, applySettingOverrides, LoadedRegime } from '../../engine/config/load-regime';
import { Regime } from '../../engine/config/regime';
import { runScraper } from '../../engine/scraper/scraper';
import { dumpTarget } from '../../engine/dbi/dbi-reader';
import { DIALECTS, createTestDatabase, TestDatabase } from '../support/databases';
import { createSourceTable, insertRows, localPlus, prng } from '../support/source-fixture';

/**
 * The time rules at work (docs/design.md §4.9–4.10): a source in a zone with daylight saving, rows
 * every 10 s through the repeated hour (clocks back) and through the skipped hour (clocks forward,
 * rows inside it, as a DCS clock keeping standard time writes them). Every run finishes, the
 * validities are contiguous and non-overlapping in UTC, the nonexistent local times are warned
 * of once with their count, and restarting every few samples gives the target of one run.
 */
const REGIMES = path.join(__dirname, '..', '..', 'regimes.d');
const TABLE = 'DBNS_SAB_Temp';
const PT = [1, 2, 3, 4, 5].map((i) => `DBNS_SAB_Temp_PT${i}`);

/** A transition: zone, the first row's local time, the skipped hour's first local time (spring) or undefined (fall). */
interface Case {
  name: string;
  zone: string;
  from: string;
  gapStart?: string;
  /** Fall: the validity across the end of the repeated hour (its first occurrence, then the hour after), in UTC. */
  across?: [string, string];
}

const CASES: Case[] = [
  { name: 'Zurich fall', zone: 'Europe/Zurich', from: '2011-10-30 01:30:00', across: ['2011-10-30 00:59:50', '2011-10-30 02:00:00'] },
  { name: 'Zurich spring', zone: 'Europe/Zurich', from: '2011-03-27 01:30:00', gapStart: '2011-03-27 02:00:00' },
  { name: 'New York fall', zone: 'America/New_York', from: '2011-11-06 00:30:00', across: ['2011-11-06 05:59:50', '2011-11-06 07:00:00'] },
  { name: 'New York spring', zone: 'America/New_York', from: '2011-03-13 01:30:00', gapStart: '2011-03-13 02:00:00' },
];
/** Rows: every 10 s for two hours from `from`, through the transition. */
const ROWS = 720;

/** `alternate`: values change by 2 every row (every sample a PROCEED); else a random walk. */
function rows(from: string, alternate: boolean): Record<string, unknown>[] {
  const rand = prng(20111030);
  const values = PT.map(() => 20);
  return Array.from({ length: ROWS }, (_, i) => {
    for (let k = 0; k < values.length; k++) values[k] = alternate ? 20 + 2 * (i % 2) : Math.round((values[k] + (rand() - 0.5) * 1.6) * 100) / 100;
    return { id: i + 1, date_time: localPlus(from, 10 * i), ...Object.fromEntries(PT.map((c, k) => [c, values[k].toFixed(2)])) };
  });
}

async function scrape(loaded: LoadedRegime, regime: Regime, source: Knex, target: TestDatabase, logger = new MemoryLogger()) {
  return runScraper({
    regime,
    specs: loaded.specs,
    source,
    target: target.db,
    targetLocation: target.location,
    logger,
    clock: new ManualClock(Date.UTC(2012, 0, 1)), // after the data: nothing is dated in the future
    untilCaughtUp: true,
    allowCreate: true,
  });
}

async function targetRows(loaded: LoadedRegime, target: TestDatabase) {
  const { vld, payload } = await dumpTarget(target.db, loaded.specs.get('GDcsAdTemp')!);
  return { vld: vld.map(({ INSERTDATE, ...rest }) => rest), payload };
}

/** Contiguous and strictly increasing: each validity non-empty, starting where the one before ended. */
function expectContiguous(vld: { TIMESTART: unknown; TIMEEND: unknown }[]): void {
  for (const [i, v] of vld.entries()) {
    expect(String(v.TIMESTART) < String(v.TIMEEND)).toBe(true);
    if (i > 0) expect(v.TIMESTART).toBe(vld[i - 1].TIMEEND);
  }
}

describe.each(DIALECTS)('daylight saving transitions on %s', (dialect) => {
  const dbs: TestDatabase[] = [];
  let loaded: LoadedRegime;

  beforeAll(() => {
    loaded = loadRegime(path.join(REGIMES, 'adtemp.yaml'));
  });
  afterAll(async () => {
    for (const d of dbs) await d.drop();
  });

  async function sourceWith(label: string, data: Record<string, unknown>[]): Promise<TestDatabase> {
    const source = await createTestDatabase(dialect, `fake_dst_${label}`);
    dbs.push(source);
    await createSourceTable(source.db, TABLE, Object.fromEntries(PT.map((c) => [c, 'decimal(6,2)'])));
    await insertRows(source.db, TABLE, data);
    return source;
  }

  async function targetDb(label: string): Promise<TestDatabase> {
    const t = await createTestDatabase(dialect, `dst_${label}`);
    dbs.push(t);
    return t;
  }

  it.each(CASES.map((c) => [c.name, c] as const))('%s: every row a validity; the skipped hour collapses to its transition instant, warned once with its count', async (_, c) => {
    const source = await sourceWith('alt', rows(c.from, true));
    const target = await targetDb('alt');
    const regime = { ...applySettingOverrides(loaded.regime, ['interval=10s', 'maxage=10m']), timezone: c.zone };
    const logger = new MemoryLogger();
    await scrape(loaded, regime, source.db, target, logger);
    const { vld } = await targetRows(loaded, target);
    expect(logger.messages('error')).toEqual([]);
    expectContiguous(vld);
    // one validity per pair of neighbouring rows, less those inside the skipped hour: 360 rows
    // (02:00:00 … 02:59:50) are nonexistent, so the 360 validities starting at them are empty
    const gapRows = c.gapStart ? 360 : 0;
    expect(vld.length).toBe(ROWS - 1 - gapRows);
    const warnings = logger.lines.filter((l) => l.level === 'warn' && /does not exist/.test(l.message));
    const counts = logger.lines.filter((l) => /nonexistent local time/.test(l.message));
    if (c.gapStart) {
      expect(warnings).toHaveLength(1);
      expect(warnings[0].message).toContain(TABLE);
      expect(warnings[0].message).toContain(`local time ${c.gapStart} does not exist in ${c.zone}`);
      expect(counts).toHaveLength(1);
      expect(counts[0].fields).toMatchObject({ gap_times: 360, gap_times_total: 360 });
      // the validity into the gap ends at the transition instant, the next one starts there
      const transition = c.zone === 'Europe/Zurich' ? '2011-03-27 01:00:00' : '2011-03-13 07:00:00';
      const into = vld.findIndex((v) => v.TIMEEND === transition);
      expect(vld[into + 1].TIMESTART).toBe(transition);
      expect(vld[into].TIMEEND < String(vld[into + 1].TIMEEND)).toBe(true);
    } else {
      expect(warnings).toHaveLength(0);
      expect(counts).toHaveLength(0);
      // the repeated hour is read as its first occurrence (Zurich 02:59:50 CEST is 00:59:50 UTC,
      // New York 01:59:50 EDT is 05:59:50 UTC); the next row, 03:00:00 CET or 02:00:00 EST, an hour after
      expect(vld).toContainEqual(expect.objectContaining({ TIMESTART: c.across![0], TIMEEND: c.across![1] }));
    }
  });

  it.each(CASES.map((c) => [c.name, c] as const))('%s: restarted every few samples gives the target of one run', async (_, c) => {
    const source = await sourceWith('walk', rows(c.from, false));
    const regime = { ...applySettingOverrides(loaded.regime, ['interval=10s', 'maxage=10m', 'threshold=0.5']), timezone: c.zone };
    const whole = await targetDb('whole');
    await scrape(loaded, regime, source.db, whole);
    const reference = await targetRows(loaded, whole);
    expectContiguous(reference.vld);
    expect(reference.vld.length).toBeGreaterThan(100);

    const pieces = await targetDb('pieces');
    // Pieces of 3 to 12 samples. Nothing can be written inside a skipped hour (every validity there
    // is empty), so a piece ending inside it leaves no trace and the next one redoes it: a piece
    // that wrote nothing is followed by one twice as long.
    const rand = prng(11);
    let maxiter = 3;
    let before = 0;
    for (let run = 0; run < 600; run++) {
      const report = await scrape(loaded, applySettingOverrides(regime, [`maxiter=${maxiter}`]), source.db, pieces);
      if (report.streams[0].samples < maxiter) break;
      const written = (await targetRows(loaded, pieces)).vld.length;
      maxiter = written > before ? 3 + Math.floor(rand() * 10) : maxiter * 2;
      before = written;
    }
    expect(await targetRows(loaded, pieces)).toEqual(reference);
  });
});
