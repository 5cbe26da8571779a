import { Knex } from 'knex';
import { Clock, systemClock } from '../core/clock';
import { DatabaseLocation } from '../config/dbconf';
import { ScrapeError } from '../core/errors';
import { Logger } from '../core/logger';
import { Regime } from '../config/regime';
import { parseDuration } from '../core/time';
import { DbiWriter } from '../dbi/dbi-writer';
import { prepareTargetTables } from '../dbi/target-tables';
import { SpecTable } from '../spec/spec-table';
import { SourceReader } from '../source/source-reader';
import { discoverStreams, SourceStream } from '../source/source-stream';
import { compileMapping } from '../transform/mapping';
import { compileUnpivotPlan } from '../transform/unpivot-plan';
import { Aggregator, aggregateColumns } from '../aggregate/aggregator';
import { compileChangeRules } from './change-rules';
import { BackoffOptions, isTransientError, retryingWith } from '../stream/retry';
import { tuneSleep } from './sleep-tuner';
import { StepResult, StreamRunner, StreamSettings } from './stream-runner';

/** What a scraper or averager run needs; connections are opened and closed by the caller. */
export interface RunOptions {
  regime: Regime;
  specs: Map<string, SpecTable>;
  source: Knex;
  target: Knex;
  targetLocation: DatabaseLocation;
  logger: Logger;
  /** Real time: live-mode sleeps and INSERTDATE (injected by tests). */
  clock?: Clock;
  /** Stops the run between pages or chunks (SIGTERM). */
  signal?: AbortSignal;
  /** Return once every stream is caught up (instead of sleeping and waiting for more). */
  untilCaughtUp?: boolean;
  /** Only these source tables. */
  tables?: string[];
  /** Table creation policy (`--allow-drop-create-table`, `--drop-target-tables`). */
  allowCreate?: boolean;
  dropTargets?: boolean;
  /** Backoff of retries after transient errors (lost connections): default 0.5 s doubling to 30 s. */
  backoff?: BackoffOptions;
}

/** Everything a scraper run needs. */
export interface ScraperOptions extends RunOptions {
  /** Write a seed validity into empty targets (`--seed` or `seed_target_tables`). */
  seed?: boolean;
  /** Told of every step, write and retry (progress lines, metrics). */
  observer?: ScraperObserver;
}

/** Hooks for progress reporting and metrics; all optional, all synchronous. */
export interface ScraperObserver {
  /** After each successful step of a stream, with the stream's lag (DB time) when known. */
  step?(runner: StreamRunner, step: StepResult, lagMs: number | undefined): void;
  /** After each transient failure (one retry). */
  retry?(err: unknown): void;
  /** Once per PROCEED sample, when it is known to be written, with its decision (`changed`, `overage`). */
  propagation?(runner: StreamRunner, reason: string): void;
  /** After each write (one transaction of a target), with its duration. */
  write?(runner: StreamRunner, seconds: number): void;
}

/** One observer telling all of `observers` (undefined ones skipped). */
export function combineObservers(...observers: (ScraperObserver | undefined)[]): ScraperObserver {
  const all = observers.filter((o): o is ScraperObserver => o !== undefined);
  return {
    step: (runner, step, lagMs) => all.forEach((o) => o.step?.(runner, step, lagMs)),
    retry: (err) => all.forEach((o) => o.retry?.(err)),
    propagation: (runner, reason) => all.forEach((o) => o.propagation?.(runner, reason)),
    write: (runner, seconds) => all.forEach((o) => o.write?.(runner, seconds)),
  };
}

/** Per-stream counters of a run. */
export interface ScraperReport {
  streams: { table: string; rowsRead: number; rowsSkipped: number; samples: number; propagations: number; resumedAt: string }[];
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
    timezone: regime.timezone,
    pageSize: s.page_size,
    joinWaitMs: parseDuration(s.join_wait),
    seed: seed ? { timestart: s.seed_timestart.replace('T', ' '), timeend: s.seed_timeend.replace('T', ' ') } : undefined,
  };
}

/** Builds one StreamRunner per source stream the regime matches. */
export async function buildStreamRunners(options: ScraperOptions): Promise<StreamRunner[]> {
  const { regime, specs, source, target, logger } = options;
  const clock = options.clock ?? systemClock;
  const seed = options.seed ?? regime.scraper.seed_target_tables;
  if (seed && options.targetLocation.production) {
    throw new ScrapeError('SEED_PRODUCTION', `refusing to seed ${options.targetLocation.name}: seeding is never allowed on a production target`);
  }
  const targetSpecs = regime.targets.map((t) => {
    const spec = specs.get(t.spec);
    if (!spec) throw new ScrapeError('REGIME_SPEC', `regime ${regime.name}: spec ${t.spec} not loaded`);
    return spec;
  });
  // Everything that can be checked against the source (columns named by rules and mappings) is
  // checked before the target is touched: a regime error writes nothing, not even a table.
  const writers = targetSpecs.map((spec) => new DbiWriter(target, spec, { clock }));
  const streams = await discoverStreams(source, regime, options.tables);
  const settings = streamSettings(regime, seed);
  const runners: StreamRunner[] = [];
  for (const stream of streams) {
    runners.push(withStreamContext(regime, stream.table, () => buildRunner(stream)));
  }
  await prepareTargetTables(target, targetSpecs, { create: options.allowCreate ?? false, drop: options.dropTargets ?? false, location: options.targetLocation });
  return runners;

  function buildRunner(stream: SourceStream): StreamRunner {
    const columnNames = stream.columns.map((c) => c.name);
    const plan = regime.unpivot ? compileUnpivotPlan(columnNames, regime.unpivot) : undefined;
    const changes = compileChangeRules(regime.changes, columnNames, regime.scraper.threshold);
    const aggDecl = regime.aggregate;
    const aggColumns = aggDecl ? aggregateColumns(stream.columns.filter((c) => c.numeric).map((c) => c.name), undefined, aggDecl) : [];
    const makeAggregator = aggDecl ? () => new Aggregator(aggColumns, aggDecl) : undefined;
    const aggKeys = aggDecl ? [...aggColumns.flatMap((c) => aggDecl.functions.map((f) => `${c}_${f}`)), aggDecl.count] : undefined;
    const targets = regime.targets.map((t, i) => {
      const mapping = compileMapping(t.map, targetSpecs[i].columns.map((c) => c.name), `targets[${i}].map`);
      mapping.check({ columns: columnNames, plan, aggKeys, ctxKeys: [...Object.keys(stream.captures), 'sitemask', 'subsite', 'simmask', 'task', 'aggregateno', 'table'] });
      return { spec: targetSpecs[i], writer: writers[i], mapping };
    });
    const reader = new SourceReader(source, stream, settings.pageSize);
    return new StreamRunner(stream, regime, reader, targets, settings, changes, makeAggregator, plan, logger, clock, target);
  }
}

/** Runs `build`, prefixing regime errors about columns with the regime and source table they concern. */
function withStreamContext<T>(regime: Regime, table: string, build: () => T): T {
  try {
    return build();
  } catch (err) {
    if (err instanceof ScrapeError && err.code.startsWith('REGIME_')) {
      throw new ScrapeError(err.code, `regime ${regime.name}, source table ${table}: ${err.message}`, { cause: err });
    }
    throw err;
  }
}

/**
 * Runs the scraper: every stream in turn, a page at a time, until all are caught up (with
 * `untilCaughtUp`), every stream reached `maxiter`, or the signal aborts; otherwise sleeps
 * (tuned from the lag) and goes on. Sleeping and batching change when rows are written, never
 * which.
 */
export async function runScraper(options: ScraperOptions): Promise<ScraperReport> {
  const clock = options.clock ?? systemClock;
  const { logger, regime, signal, observer } = options;
  /**
   * Only a step (which after a failure resumes from the target, then reads the source and writes)
   * ends an outage: a lag query answered by the source alone proves nothing of the target, whose
   * pool may still hand out a connection the outage killed. A failed lag query marks its
   * stream(s) stale, so the step that ends the outage goes through the target too.
   */
  const retrying = retryingWith({ logger, clock, backoff: options.backoff, signal, onRetry: (err) => observer?.retry?.(err) });
  const runners = await retrying(() => buildStreamRunners(options));
  if (!runners) return { streams: [] };
  for (const runner of runners) {
    if (observer?.propagation) runner.onPropagation = (reason) => observer.propagation!(runner, reason);
    if (observer?.write) runner.onWrite = (ms) => observer.write!(runner, ms / 1000);
  }
  const heartbeatMs = parseDuration(regime.scraper.heartbeat);
  let sleepMs = parseDuration(regime.scraper.sleep);
  let propagationsSinceTune = 0;
  // A stream whose step failed resumes from the target again: work not yet written is redone,
  // work written is skipped (the target says where it is), so nothing is lost or written twice.
  const stale = new Set<StreamRunner>(runners);
  for (const runner of runners) {
    await retrying(async () => {
      await runner.resume();
      stale.delete(runner);
    });
  }
  const finished = new Set<StreamRunner>();
  const stepOf = async (runner: StreamRunner): Promise<StepResult> => {
    if (stale.has(runner)) {
      await runner.resume();
      stale.delete(runner);
    }
    return runner.step();
  };
  while (!signal?.aborted) {
    let allCaughtUp = true;
    for (const runner of runners) {
      if (finished.has(runner) || signal?.aborted) continue;
      const step = await retrying(() => stepOf(runner), () => stale.add(runner));
      if (!step) break;
      propagationsSinceTune += step.propagations;
      if (step.finished) finished.add(runner);
      if (!step.caughtUp) allCaughtUp = false;
      if (observer?.step) observer.step(runner, step, await retrying(() => runner.lagMs(), () => stale.add(runner), false));
    }
    if (signal?.aborted) break;
    if (finished.size === runners.length) break;
    if (!allCaughtUp) continue;
    if (options.untilCaughtUp) break;
    if (propagationsSinceTune >= regime.scraper.tunesleepmod || propagationsSinceTune === 0) {
      let maxLag = 0;
      for (const runner of runners) maxLag = Math.max(maxLag, (await retrying(() => runner.lagMs(), () => runners.forEach((r) => stale.add(r)), false)) ?? 0);
      sleepMs = tuneSleep({ lagMs: maxLag, heartbeatMs, offset: regime.scraper.offset, currentMs: sleepMs });
      propagationsSinceTune = 0;
    }
    await clock.sleep(sleepMs, signal);
  }
  for (const runner of runners) {
    if (stale.has(runner)) continue;
    try {
      await runner.flush();
    } catch (err) {
      // Shutting down: what is not written is redone by the next run, from the target.
      if (!(signal?.aborted && isTransientError(err))) throw err;
    }
  }
  return {
    streams: runners.map((r) => ({ table: r.stream.table, resumedAt: r.resumeTime, ...r.totals })),
  };
}
