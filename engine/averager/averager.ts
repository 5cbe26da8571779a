import { normalizeTimeText, parseDuration } from '../core/time';
import { AggregateDecl, Regime } from '../config/regime';
import { averagerAggregate, regimeForRole } from '../config/regime-defaults';
import { rangeReaderFor } from '../source/range-reader';
import { Aggregator, aggregateColumns } from '../aggregate/aggregator';
import { compileFilter } from '../aggregate/row-filter';
import { RunOptions } from '../stream/run-options';
import { buildStreamWorkers } from '../stream/stream-builder';
import { SleepPolicy, runStreams } from '../stream/stream-loop';
import { StreamAverager, StreamAveragerSettings } from './stream-averager';
import { TimeBins } from './time-bins';

/** Everything an averager run needs (a stream is caught up when no complete bin is left). */
export type AveragerOptions = RunOptions;

/** Per-stream counters of an averager run. */
export interface AveragerReport {
  streams: { table: string; resumedAt: string; rowsRead: number; chunks: number; chunksReadAhead: number; chunksById: number; chunksReread: number; validities: number }[];
}

/** The averager settings of a regime in numbers. */
export function averagerSettings(regime: Regime): StreamAveragerSettings {
  const a = regime.averager;
  return {
    bins: new TimeBins(parseDuration(a.bin)),
    chunks: new TimeBins(parseDuration(a.chunk)),
    timefloor: normalizeTimeText(regime.scraper.timefloor),
  };
}

/**
 * The keys the averager binds under `agg` for a stream with these columns: `<column>_<fn>` of each
 * aggregated numeric column and the count, over the regime's `aggregate` or the averager's default.
 */
export function averagerAggregateKeys(regime: Regime, columns: ReadonlyArray<{ name: string; numeric: boolean }>): string[] {
  const decl = averagerAggregate(regime);
  const aggregated = aggregateColumns(columns.filter((c) => c.numeric).map((c) => c.name), undefined, decl);
  return [...aggregated.flatMap((c) => decl.functions.map((f) => `${c}_${f}`)), decl.count];
}

/**
 * Builds one StreamAverager per source stream the regime matches: the common stream build
 * (specs, writers, mappings checked against the bins' aggregates, target tables) with the
 * averager's decider, time bins over running aggregates.
 */
export async function buildStreamAveragers(options: AveragerOptions): Promise<StreamAverager[]> {
  const { regime, source, logger } = options;
  const settings = averagerSettings(regime);
  const decl = averagerAggregate(regime);
  // The filter decides bin membership too (TIMESTART/TIMEEND, first/last), so it runs once in
  // the averager and the aggregator sees only passing rows.
  const filter = compileFilter(decl.filter);
  const unfiltered: AggregateDecl = { ...decl, filter: [] };
  const columnsOf = (stream: { columns: { name: string; numeric: boolean }[] }) => aggregateColumns(stream.columns.filter((c) => c.numeric).map((c) => c.name), undefined, decl);
  return buildStreamWorkers(options, {
    aggregateKeys: (stream) => averagerAggregateKeys(regime, stream.columns),
    make: ({ stream, reader, quarantine, targets }) => {
      // a replay leaves the late rows out here too (`scrape verify --average`)
      const rangeReader = rangeReaderFor(source, stream, reader, options.replay?.excludeIds?.get(stream.table));
      // its reads are timed like the keyset pages' (the builder sets reader.onRead afterwards)
      if (rangeReader) rangeReader.onRead = (seconds) => reader.onRead?.(seconds);
      const range = rangeReader ? { reader: rangeReader, filter: decl.filter } : undefined;
      return new StreamAverager(stream, reader, targets, settings, new Aggregator(columnsOf(stream), unfiltered), filter, logger, range, quarantine);
    },
  });
}

/** The averager's sleep when caught up: `averager.sleep`, the time to wait for the next bin to complete. */
export function averagerSleep(regime: Regime): SleepPolicy {
  const sleepMs = parseDuration(regime.averager.sleep);
  return { next: async () => sleepMs };
}

/**
 * Runs the averager (docs/design.md §5) in the one stream loop: every stream catches up over its
 * complete bins, a chunk per step; then, with `untilCaughtUp`, returns, else sleeps
 * `averager.sleep` and wakes to look for newly completed bins, until the signal aborts. Target
 * rows depend only on the source rows and the regime, never on chunking, restarts or when the
 * run happened. The averager writes its own `averager.task` when the regime gives one.
 */
export async function runAverager(given: AveragerOptions): Promise<AveragerReport> {
  const options = { ...given, regime: regimeForRole(given.regime, 'average') };
  const averagers = await runStreams(options, () => buildStreamAveragers(options), averagerSleep(options.regime));
  return {
    streams: (averagers ?? []).map((a) => ({ table: a.stream.table, resumedAt: a.resumeTime, rowsRead: a.totals.rowsRead, chunks: a.chunks, chunksReadAhead: a.chunksReadAhead, chunksById: a.chunksById, chunksReread: a.chunksReread, validities: a.totals.propagations })),
  };
}
