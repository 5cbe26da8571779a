import * as path from 'path';
import { ManualClock } from '../../engine/core/clock';
import { MemoryLogger } from '../../engine/core/logger';
import { LoadedRegime, applySettingOverrides, loadRegime } from '../../engine/config/load-regime';
import { runScraper } from '../../engine/scraper/scraper';
import { runAverager } from '../../engine/averager/averager';
import { dumpTarget } from '../../engine/dbi/dbi-reader';
import { TestDatabase } from '../support/databases';
import { localPlus } from '../support/source-fixture';

/** The shipped regimes folder. */
export const REGIMES = path.join(__dirname, '..', '..', 'regimes.d');

/** Loads a shipped regime by name. */
export function shippedRegime(name: string): LoadedRegime {
  return loadRegime(path.join(REGIMES, `${name}.yaml`));
}

/** UTC text of a source-local (Asia/Shanghai, UTC+8, no daylight saving) time text. */
export const utcOf = (local: string): string => localPlus(local, -8 * 3600);

/** Scrapes `source` into `target` until caught up (tables created), with optional `--set` overrides. */
export async function scrapeAll(loaded: LoadedRegime, source: TestDatabase, target: TestDatabase, overrides: string[] = []) {
  return runScraper({
    regime: overrides.length ? applySettingOverrides(loaded.regime, overrides) : loaded.regime,
    specs: loaded.specs,
    source: source.db,
    target: target.db,
    targetLocation: target.location,
    logger: new MemoryLogger(),
    clock: new ManualClock(Date.UTC(2026, 0, 1)),
    untilCaughtUp: true,
    allowCreate: true,
  });
}

/** Averages `source` into `target` until caught up (tables created). */
export async function averageAll(loaded: LoadedRegime, source: TestDatabase, target: TestDatabase) {
  return runAverager({
    regime: loaded.regime,
    specs: loaded.specs,
    source: source.db,
    target: target.db,
    targetLocation: target.location,
    logger: new MemoryLogger(),
    clock: new ManualClock(Date.UTC(2026, 0, 1)),
    untilCaughtUp: true,
    allowCreate: true,
  });
}

/** One validity of the target with its context and payload rows (ROW_COUNTER order). */
export interface Validity {
  start: string;
  end: string;
  sitemask: number;
  subsite: number;
  task: number;
  rows: Record<string, unknown>[];
}

/** Every validity of `spec` in the target, ordered by SITEMASK, SUBSITE, TASK, TIMESTART. */
export async function validities(loaded: LoadedRegime, target: TestDatabase, spec: string): Promise<Validity[]> {
  const { vld, payload } = await dumpTarget(target.db, loaded.specs.get(spec)!);
  const out = vld.map((v) => ({
    start: v.TIMESTART,
    end: v.TIMEEND,
    sitemask: v.SITEMASK,
    subsite: v.SUBSITE,
    task: v.TASK,
    simmask: v.SIMMASK,
    aggregateno: v.AGGREGATENO,
    rows: payload.filter((p) => p.SEQNO === v.SEQNO).sort((a, b) => Number(a.ROW_COUNTER) - Number(b.ROW_COUNTER)),
  }));
  for (const v of out) {
    // every shipped regime writes data (SIMMASK 1) and a single aggregate (AGGREGATENO -1)
    expect([v.simmask, v.aggregateno]).toEqual([1, -1]);
    expect(v.rows.map((r) => r.ROW_COUNTER)).toEqual(v.rows.map((_, i) => i + 1));
  }
  return out
    .map(({ simmask: _s, aggregateno: _a, ...v }) => v)
    .sort((a, b) => a.sitemask - b.sitemask || a.subsite - b.subsite || a.task - b.task || a.start.localeCompare(b.start));
}

/** Population standard deviation of `values` (MySQL STD), written out for hand-derived expectations. */
export function populationStd(values: number[]): number {
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  return Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / values.length);
}

/** Arithmetic mean. */
export function mean(values: number[]): number {
  return values.reduce((a, b) => a + b, 0) / values.length;
}
