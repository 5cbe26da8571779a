import { systemClock } from '../core/clock';
import { ScrapeError } from '../core/errors';
import { Regime } from '../config/regime';
import { regimeHash } from '../config/regime-hash';
import { engineVersion } from '../core/project-root';
import { CollectingWriter } from '../dbi/collecting-writer';
import { DbiWriter } from '../dbi/dbi-writer';
import { vldTableName } from '../spec/ddl';
import { prepareTargetTables } from '../dbi/target-tables';
import { SpecTable } from '../spec/spec-table';
import { regimeHorizon } from '../source/future-horizon';
import { SourceReader } from '../source/source-reader';
import { SourceStream, discoverStreams } from '../source/source-stream';
import { compileMapping } from '../transform/mapping';
import { UnpivotPlan, compileUnpivotPlan } from '../transform/unpivot-plan';
import { FutureQuarantine } from './quarantine';
import { LateRows } from './late-rows';
import { RunOptions } from './run-options';
import { StreamWorker } from './stream-worker';
import { PendingBudget, TargetSet } from './target-set';

/** What every stream gets before its decider is added: the matched table, its reader, its columns as the regime sees them, and its targets. */
export interface StreamParts {
  stream: SourceStream;
  /**
   * Keyset pages (and, on MySQL, streamed pages) of the stream, `scraper.page_size` rows each,
   * never past the horizon (`scraper.future_limit` ahead of the run's clock). Its `onRead` is
   * set once the worker is made (the observer's `read`); a decider reading by other means
   * forwards its read durations there.
   */
  reader: SourceReader;
  /** Counts the reader's rows past the horizon; the worker checks it at resume and as it steps. */
  quarantine: FutureQuarantine;
  /** Column names of the stream's rows (main table and joined columns). */
  columnNames: string[];
  plan?: UnpivotPlan;
  targets: TargetSet;
}

/** What a decider adds to the common build: the `agg` keys its mappings may use, and the worker itself. */
export interface WorkerFactory<W> {
  /** Keys bound under `agg` for a stream (undefined when the decider computes no aggregates). */
  aggregateKeys(stream: SourceStream, columnNames: string[]): string[] | undefined;
  make(parts: StreamParts): W;
}

/** Context fields bound as `ctx` in mappings, besides the name captures. */
export const CONTEXT_KEYS = ['sitemask', 'subsite', 'simmask', 'task', 'aggregateno', 'table'];

/**
 * Builds one worker per source stream the regime matches, the same way for the scraper and
 * the averager: the regime's target specs, one writer per target, the streams found in the
 * source, each stream's unpivot plan and mappings, every mapping checked against the columns,
 * cells and aggregates the stream really has. Only when all of that holds are the target
 * tables created (or dropped) as allowed: a regime error writes nothing, not even a table.
 * With `options.replay`, each target is a `CollectingWriter` and nothing is created.
 */
export async function buildStreamWorkers<W extends StreamWorker>(options: RunOptions, factory: WorkerFactory<W>): Promise<W[]> {
  const { regime, specs, source, target } = options;
  const clock = options.clock ?? systemClock;
  const targetSpecs = targetSpecsOf(regime, specs);
  const replay = options.replay;
  const writers = targetSpecs.map((spec) => (replay ? new CollectingWriter(target, spec, { clock }) : new DbiWriter(target, spec, { clock })));
  const absent = replay ? await Promise.all(targetSpecs.map(async (spec) => !(await target.schema.hasTable(vldTableName(spec))) || !(await target.schema.hasTable(spec.table)))) : targetSpecs.map(() => false);
  const streams = await discoverStreams(source, regime, options.tables);
  const stamp = { regimeHash: regimeHash(regime), engineVersion: engineVersion() };
  const budget = options.pendingBudget ?? new PendingBudget();
  const workers = streams.map((stream) =>
    withStreamContext(regime, stream.table, () => {
      const columnNames = stream.columns.map((c) => c.name);
      const plan = regime.unpivot ? compileUnpivotPlan(columnNames, regime.unpivot) : undefined;
      const aggKeys = factory.aggregateKeys(stream, columnNames);
      const ctxKeys = [...Object.keys(stream.captures), ...CONTEXT_KEYS];
      const targets = regime.targets.map((t, i) => {
        const mapping = compileMapping(t.map, targetSpecs[i].columns.map((c) => c.name), `targets[${i}].map`);
        mapping.check({ columns: columnNames, plan, aggKeys, ctxKeys });
        return { spec: targetSpecs[i], writer: writers[i], mapping, absent: absent[i] };
      });
      const ctx = { ...stream.captures, ...stream.context, table: stream.table };
      const set = new TargetSet(targets, stream.context, ctx, stream.zone, clock, plan);
      set.logger = options.logger; // nonexistent local times: warned once, counted
      set.stamp = stamp; // provenance of every validity
      set.budget = budget; // decided rows held, shared with the run's (or process's) other streams
      set.resumeBefore = replay?.resumeBefore;
      const reader = new SourceReader(source, stream, Math.max(regime.scraper.page_size, 1), {
        rowDecoder: options.rowDecoder,
        // told once per stream: its rows come from the driver's own parse from then on
        onDecoderDisabled: (reason) => {
          options.logger.log('warn', `${stream.table}: ${reason}; reading on with the driver's parse`, { stream: stream.table });
          options.observer?.decoderOff?.(stream.table, reason);
        },
        horizon: regimeHorizon(regime, clock, stream.zone),
        excludeIds: stream.succession ? undefined : replay?.excludeIds?.get(stream.table),
        // a succession: one id space per table
        excludeIdsByTable: stream.succession ? replay?.excludeIds : undefined,
      });
      if (stream.succession) set.succession = reader;
      const quarantine = new FutureQuarantine(reader, stream.table, options.logger, clock, regime.scraper.future_limit);
      quarantine.zone = regime.timezone;
      const worker = factory.make({ stream, reader, quarantine, columnNames, plan, targets: set });
      quarantine.onCount = (count) => options.observer?.quarantine?.(worker, count);
      if (options.observer?.read) reader.onRead = (seconds) => options.observer!.read!(worker, seconds);
      if (replay) return worker; // a replay checks no late rows (`scrape verify` reports them itself)
      worker.lateRows = new LateRows(source, stream, targets, options.logger, clock);
      worker.lateRows.zone = regime.timezone;
      worker.lateRows.onCount = (count) => options.observer?.late?.(worker, count);
      if (stream.succession) worker.lateRows.onMark = (table, mark) => reader.seedMaxIdIn(table, mark.maxId);
      return worker;
    }),
  );
  // a replay writes nothing, not even a table
  if (!replay) await prepareTargetTables(target, targetSpecs, { create: options.allowCreate ?? false, drop: options.dropTargets ?? false, location: options.targetLocation });
  return workers;
}

/** The loaded specs of a regime's targets, in the regime's order. */
function targetSpecsOf(regime: Regime, specs: Map<string, SpecTable>): SpecTable[] {
  return regime.targets.map((t) => {
    const spec = specs.get(t.spec);
    if (!spec) throw new ScrapeError('REGIME_SPEC', `regime ${regime.name}: spec ${t.spec} not loaded`);
    return spec;
  });
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
