import { systemClock } from '../core/clock';
import { ScrapeError } from '../core/errors';
import { parseDuration } from '../core/time';
import { Regime } from '../config/regime';
import { regimeForRole } from '../config/regime-defaults';
import { Aggregator, aggregateColumns } from '../aggregate/aggregator';
import { RunOptions } from '../stream/run-options';
import { buildStreamWorkers } from '../stream/stream-builder';
import { SleepPolicy, runStreams } from '../stream/stream-loop';
import { compileChangeRules } from './change-rules';
import { tuneSleep } from './sleep-tuner';
import { StreamRunner, StreamSettings } from './stream-runner';

/** Everything a scraper run needs. */
export interface ScraperOptions extends RunOptions {
  /** Write a seed validity into empty targets (`--seed` or `seed_target_tables`). */
  seed?: boolean;
}

/** Per-stream counters of a run. */
export interface ScraperReport {
  streams: { table: string; rowsRead: number; rowsSkipped: number; samples: number; propagations: number; writes: number; resumedAt: string }[];
}

/** The settings of a stream in numbers. */
export function streamSettings(regime: Regime, seed: boolean): StreamSettings {
  const s = regime.scraper;
  return {
    intervalMs: parseDuration(s.interval),
    offset: s.offset,
    maxageMs: parseDuration(s.maxage),
    maxiter: s.maxiter,
    timefloor: s.timefloor.replace('T', ' '),
    pageSize: s.page_size,
    joinWaitMs: parseDuration(s.join_wait),
    seed: seed ? { timestart: s.seed_timestart.replace('T', ' '), timeend: s.seed_timeend.replace('T', ' ') } : undefined,
  };
}

/**
 * The keys the scraper binds under `agg` for a stream with these columns: `<column>_<fn>` of each
 * aggregated numeric column and the count; undefined when the regime does not aggregate.
 */
export function scraperAggregateKeys(regime: Regime, columns: ReadonlyArray<{ name: string; numeric: boolean }>): string[] | undefined {
  const decl = regime.aggregate;
  if (!decl) return undefined;
  const aggregated = aggregateColumns(columns.filter((c) => c.numeric).map((c) => c.name), undefined, decl);
  return [...aggregated.flatMap((c) => decl.functions.map((f) => `${c}_${f}`)), decl.count];
}

/**
 * Builds one StreamRunner per source stream the regime matches: the common stream build (specs,
 * writers, mappings checked, target tables) with the scraper's decider, a source vector over
 * the regime's change rules and, when declared, running aggregates.
 */
export async function buildStreamRunners(options: ScraperOptions): Promise<StreamRunner[]> {
  const { regime, logger } = options;
  const clock = options.clock ?? systemClock;
  const seed = options.seed ?? regime.scraper.seed_target_tables;
  if (seed && options.targetLocation.production) {
    throw new ScrapeError('SEED_PRODUCTION', `refusing to seed ${options.targetLocation.name}: seeding is never allowed on a production target`, {
      hint: 'leave out --seed (and scraper.seed_target_tables) for this target, or seed a test copy',
    });
  }
  const settings = streamSettings(regime, seed);
  const aggDecl = regime.aggregate;
  const numericColumns = (stream: { columns: { name: string; numeric: boolean }[] }) => (aggDecl ? aggregateColumns(stream.columns.filter((c) => c.numeric).map((c) => c.name), undefined, aggDecl) : []);
  return buildStreamWorkers(options, {
    aggregateKeys: (stream) => scraperAggregateKeys(regime, stream.columns),
    make: ({ stream, reader, quarantine, columnNames, targets }) => {
      const changes = compileChangeRules(regime.changes, columnNames, regime.scraper.threshold);
      const aggColumns = numericColumns(stream);
      const makeAggregator = aggDecl ? () => new Aggregator(aggColumns, aggDecl) : undefined;
      return new StreamRunner(stream, regime, reader, targets, settings, changes, makeAggregator, logger, clock, quarantine);
    },
  });
}

/**
 * The scraper's sleep when caught up: tuned from the largest lag every `tunesleepmod`
 * propagations (and whenever nothing was propagated), else the last tuned value.
 */
export function scraperSleep(regime: Regime): SleepPolicy {
  const heartbeatMs = parseDuration(regime.scraper.heartbeat);
  let sleepMs = parseDuration(regime.scraper.sleep);
  let since = 0;
  return {
    async next(propagations, maxLagMs) {
      since += propagations;
      if (since >= regime.scraper.tunesleepmod || since === 0) {
        sleepMs = tuneSleep({ lagMs: await maxLagMs(), heartbeatMs, offset: regime.scraper.offset, currentMs: sleepMs });
        since = 0;
      }
      return sleepMs;
    },
  };
}

/**
 * Runs the scraper: the stream loop over every stream of the regime, until all are caught up
 * (with `untilCaughtUp`), every stream reached `maxiter`, or the signal aborts; otherwise sleeps
 * (tuned from the lag) and goes on. Sleeping and batching change when rows are written, never
 * which. The scraper writes its own `scraper.task` when the regime gives one.
 */
export async function runScraper(given: ScraperOptions): Promise<ScraperReport> {
  const options = { ...given, regime: regimeForRole(given.regime, 'scrape') };
  const runners = await runStreams(options, () => buildStreamRunners(options), scraperSleep(options.regime));
  return { streams: (runners ?? []).map((r) => ({ table: r.stream.table, resumedAt: r.resumeTime, ...r.totals })) };
}
