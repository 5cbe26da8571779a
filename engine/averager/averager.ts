import { systemClock } from '../core/clock';
import { ScrapeError } from '../core/errors';
import { AggregateDecl, Regime } from '../config/regime';
import { normalizeTimeText, parseDuration } from '../core/time';
import { DbiWriter } from '../dbi/dbi-writer';
import { prepareTargetTables } from '../dbi/target-tables';
import { Aggregator, aggregateColumns } from '../aggregate/aggregator';
import { compileFilter } from '../aggregate/row-filter';
import { retryingWith } from '../stream/retry';
import type { RunOptions } from '../scraper/scraper';
import { SourceReader } from '../source/source-reader';
import { discoverStreams } from '../source/source-stream';
import { compileMapping } from '../transform/mapping';
import { compileUnpivotPlan } from '../transform/unpivot-plan';
import { StreamAverager, StreamAveragerSettings } from './stream-averager';
import { TimeBins } from './time-bins';

/** Everything an averager run needs (a stream is caught up when no complete bin is left). */
export type AveragerOptions = RunOptions;

/** Per-stream counters of an averager run. */
export interface AveragerReport {
  streams: { table: string; resumedAt: string; rowsRead: number; chunks: number; validities: number }[];
}

/** Aggregation used when a regime declares none: avg/min/max/std of every numeric column, plus `count`. */
const DEFAULT_AGGREGATE: AggregateDecl = { functions: ['avg', 'min', 'max', 'std'], count: 'count', skips: ['id', 'date_time'], filter: [], none: null };

/** The averager settings of a regime in numbers. */
export function averagerSettings(regime: Regime): StreamAveragerSettings {
  const a = regime.averager;
  return {
    bins: new TimeBins(parseDuration(a.bin ?? '1h')),
    chunks: new TimeBins(parseDuration(a.chunk ?? '1d')),
    timefloor: normalizeTimeText(regime.scraper.timefloor ?? '2010-01-01 00:00:00'),
    timezone: regime.timezone,
  };
}

/** Builds one StreamAverager per source stream the regime matches (creating/dropping targets as allowed). */
export async function buildStreamAveragers(options: AveragerOptions): Promise<StreamAverager[]> {
  const { regime, specs, source, target, logger } = options;
  const clock = options.clock ?? systemClock;
  const targetSpecs = regime.targets.map((t) => {
    const spec = specs.get(t.spec);
    if (!spec) throw new ScrapeError('REGIME_SPEC', `regime ${regime.name}: spec ${t.spec} not loaded`);
    return spec;
  });
  await prepareTargetTables(target, targetSpecs, { create: options.allowCreate ?? false, drop: options.dropTargets ?? false, location: options.targetLocation });
  const writers = targetSpecs.map((spec) => new DbiWriter(target, spec, { clock }));
  const streams = await discoverStreams(source, regime, options.tables);
  const settings = averagerSettings(regime);
  const decl = regime.aggregate ?? DEFAULT_AGGREGATE;
  // The filter decides bin membership too (TIMESTART/TIMEEND, first/last), so it runs once here
  // and the aggregator sees only passing rows.
  const filter = compileFilter(decl.filter ?? []);
  const unfiltered: AggregateDecl = { ...decl, filter: [] };
  const pageSize = Math.max(regime.scraper.page_size ?? 5000, 1);
  return streams.map((stream) => {
    const columns = aggregateColumns(stream.columns.filter((c) => c.numeric).map((c) => c.name), undefined, decl);
    const targets = regime.targets.map((t, i) => ({
      spec: targetSpecs[i],
      writer: writers[i],
      mapping: compileMapping(t.map, targetSpecs[i].columns.map((c) => c.name), `targets[${i}].map`),
    }));
    const plan = regime.unpivot ? compileUnpivotPlan(stream.columns.map((c) => c.name), regime.unpivot) : undefined;
    const reader = new SourceReader(source, stream, pageSize);
    const streaming = source.client.config.client === 'mysql2' ? { source, filter: decl.filter ?? [] } : undefined;
    return new StreamAverager(stream, reader, targets, settings, new Aggregator(columns, unfiltered), filter, logger, plan, streaming);
  });
}

/**
 * Runs the averager (DESIGN §5): every stream catches up over its complete bins, chunk by chunk;
 * then, with `untilCaughtUp`, returns, else sleeps `averager.sleep` and wakes to look for newly
 * completed bins, until the signal aborts. Target rows depend only on the source rows and the
 * regime, never on chunking, restarts or when the run happened.
 */
export async function runAverager(options: AveragerOptions): Promise<AveragerReport> {
  const clock = options.clock ?? systemClock;
  const { logger, regime } = options;
  // Lost connections, timeouts and deadlocks are retried as the scraper retries them: a stream
  // whose pass failed resumes from the target (a chunk not committed is averaged again).
  const retrying = retryingWith({ logger, clock, backoff: options.backoff, signal: options.signal });
  const averagers = await retrying(() => buildStreamAveragers(options));
  if (!averagers) return { streams: [] };
  const sleepMs = parseDuration(regime.averager.sleep ?? '1m');
  const stale = new Set(averagers);
  const resumed = async (averager: StreamAverager): Promise<StreamAverager> => {
    if (stale.has(averager)) {
      await averager.resume();
      stale.delete(averager);
    }
    return averager;
  };
  while (!options.signal?.aborted) {
    let written = 0;
    for (const averager of averagers) {
      if (options.signal?.aborted) break;
      const pass = await retrying(async () => (await resumed(averager)).pass(options.signal), () => stale.add(averager));
      written += pass?.validities ?? 0;
    }
    if (options.signal?.aborted || options.untilCaughtUp) break;
    logger.log('debug', `caught up (${written} validities this pass); sleeping ${sleepMs / 1000}s`);
    await clock.sleep(sleepMs, options.signal);
  }
  return {
    streams: averagers.map((a) => ({ table: a.stream.table, resumedAt: a.resumedAt, ...a.totals })),
  };
}
