import { Knex } from 'knex';
import { ScrapeError } from '../core/errors';
import { addMs, localToUtc, naiveMs, normalizeTimeText, utcToLocal } from '../core/time';
import { Regime, TargetDecl, WriterRole } from '../config/regime';
import { regimeForRole } from '../config/regime-defaults';
import { SourceReader } from '../source/source-reader';
import { SourceStream, StreamContext, discoverStreams } from '../source/source-stream';
import { columnValueKind, vldTableName } from '../spec/ddl';
import { SpecTable } from '../spec/spec-table';
import { trivialPath } from '../transform/compile-expression';
import { lastValidity, validitiesInRange } from '../dbi/dbi-reader';

/** One validity as drawn: a value held over `[TIMESTART, TIMEEND)`. */
export interface PlotValidity {
  seqno: number;
  /** TIMESTART and TIMEEND as UTC milliseconds. */
  startMs: number;
  endMs: number;
  /** TIMESTART and TIMEEND as UTC text and as source-local text. */
  start: { utc: string; local: string };
  end: { utc: string; local: string };
  /** UTC time of the write. */
  insertDate: string;
  /** Payload values of the plotted columns and their bands (NULL as null). */
  values: Record<string, number | null>;
}

/** One source row as drawn: a point per plotted column that has a source column. */
export interface PlotSample {
  id: number;
  /** `date_time` as a UTC instant (ms) through the stream's zone. */
  ms: number;
  /** `date_time` as stored: source-local text. */
  local: string;
  values: Record<string, number | null>;
}

/** One plotted target column (a panel). */
export interface PlotSeries {
  /** Payload column (`Temp_PT1`, `Temp_GdLS_avg`). */
  column: string;
  /**
   * The source column its mapping reads (`last.X`, `first.X`, or `agg.X_avg|min|max|first|last|twavg`),
   * drawn as points; undefined for any other mapping (no points then).
   */
  sourceColumn?: string;
  /** Payload columns of the aggregate band (`<stem>_min`, `<stem>_max`) when the target has both. */
  band?: { min: string; max: string };
}

/** Everything a plot of one stream over a UTC range draws, read from the source and the target. */
export interface PlotData {
  regime: string;
  role: WriterRole;
  /** Source table of the stream. */
  stream: string;
  /** Payload table (the spec's table). */
  target: string;
  context: StreamContext;
  /** The zone of the source-local times. */
  zone: string;
  /** The range, UTC text and ms: `[from, to)`. */
  from: string;
  to: string;
  fromMs: number;
  toMs: number;
  /** ROW_COUNTER of the payload row plotted (more than one row per validity with `unpivot`). */
  rowCounter: number;
  series: PlotSeries[];
  /** Validities of the context overlapping the range, by TIMESTART. */
  validities: PlotValidity[];
  /** Source rows in the range (at most `maxSamples`), in stream order; empty when not read. */
  samples: PlotSample[];
  /** True when the range held more source rows than `maxSamples` (the first ones are drawn). */
  samplesTruncated: boolean;
}

/** What `readPlotData` reads. */
export interface PlotDataInput {
  regime: Regime;
  specs: Map<string, SpecTable>;
  source: Knex;
  target: Knex;
  /** Source table; may be left out when the regime has one stream. */
  stream?: string;
  /** Streams already discovered (the status page), else found in the source. */
  streams?: SourceStream[];
  /** UTC range `[from, to)`; default: the day before the last validity's TIMEEND, from the first TIMESTART at the earliest (see `defaultRange`). */
  from?: string;
  to?: string;
  /** Payload columns (default: the first numeric one that is not a `_min`, `_max` or `_std`). */
  columns?: string[];
  /** Payload table whose default column is drawn when `columns` is not given (default: the regime's first target). */
  table?: string;
  /** The scraper's writes (default) or the averager's (its own `averager.task`). */
  role?: WriterRole;
  rowCounter?: number;
  /** Source rows read at most (default 50,000); false: none (validities only). */
  maxSamples?: number | false;
}

/** Default span of a plot when `from` or `to` is missing: one day. */
export const DEFAULT_PLOT_SPAN_MS = 86_400_000;
/** Source rows read at most by default. */
export const DEFAULT_MAX_SAMPLES = 50_000;

/** Aggregate functions whose value is in the unit of its column (drawn beside the column's samples). */
const SAME_UNIT = /^(.*)_(avg|min|max|first|last|twavg)$/;

/**
 * Reads what a plot of one stream draws: the source rows of the UTC range `[from, to)` through the
 * engine's source reader (their `date_time` turned into UTC instants through the stream's zone),
 * and the validities of the stream's context overlapping it through the DBI reader, with the
 * plotted payload columns and their `_min`/`_max` band. Reads only.
 */
export async function readPlotData(input: PlotDataInput): Promise<PlotData> {
  const role = input.role ?? 'scrape';
  const regime = regimeForRole(input.regime, role);
  const stream = await pickStream(input, regime);
  const { spec, series } = pickColumns(regime, input.specs, stream, input.columns, input.table);
  const rowCounter = input.rowCounter ?? 1;
  if (!(await input.target.schema.hasTable(vldTableName(spec)))) {
    throw new ScrapeError('TARGET_TABLE_MISSING', `target has no table ${vldTableName(spec)}: nothing written for regime ${regime.name} yet`);
  }
  const { from, to } = await defaultRange(input, spec, stream);
  const found = await validitiesInRange(input.target, spec, stream.context, { from, to, rowCounter });
  const wanted = [...new Set(series.flatMap((s) => [s.column, ...(s.band ? [s.band.min, s.band.max] : [])]))];
  const validities: PlotValidity[] = found.map(({ vld, row }) => ({
    seqno: vld.SEQNO,
    startMs: naiveMs(vld.TIMESTART),
    endMs: naiveMs(vld.TIMEEND),
    start: { utc: vld.TIMESTART, local: utcToLocal(vld.TIMESTART, stream.zone) },
    end: { utc: vld.TIMEEND, local: utcToLocal(vld.TIMEEND, stream.zone) },
    insertDate: vld.INSERTDATE,
    values: Object.fromEntries(wanted.map((c) => [c, numeric(row?.[c])])),
  }));
  const sourceColumns = [...new Set(series.map((s) => s.sourceColumn).filter((c): c is string => c !== undefined))];
  const max = input.maxSamples === undefined ? DEFAULT_MAX_SAMPLES : input.maxSamples;
  const { samples, truncated } = max === false || sourceColumns.length === 0 ? { samples: [], truncated: false } : await readSamples(input.source, stream, from, to, sourceColumns, max);
  return {
    regime: regime.name,
    role,
    stream: stream.table,
    target: spec.table,
    context: stream.context,
    zone: stream.zone,
    from,
    to,
    fromMs: naiveMs(from),
    toMs: naiveMs(to),
    rowCounter,
    series,
    validities,
    samples,
    samplesTruncated: truncated,
  };
}

async function pickStream(input: PlotDataInput, regime: Regime): Promise<SourceStream> {
  const streams = input.streams ?? (await discoverStreams(input.source, regime));
  if (input.stream === undefined) {
    if (streams.length === 1) return streams[0];
    throw new ScrapeError('PLOT_STREAM', `regime ${regime.name} has ${streams.length} streams; name one with --stream: ${streams.map((s) => s.table).join(', ')}`);
  }
  const stream = streams.find((s) => s.table === input.stream);
  if (!stream) throw new ScrapeError('PLOT_STREAM', `${input.stream} is not a source table of regime ${regime.name}; its streams: ${streams.map((s) => s.table).join(', ')}`);
  return stream;
}

/** True for a payload column holding numbers. */
function isNumeric(spec: SpecTable, column: string): boolean {
  const c = spec.columns.find((x) => x.name === column);
  return c !== undefined && columnValueKind(c.dbtype) !== 'text';
}

/**
 * The target and series of the asked columns (all in one target: the first of the regime's
 * targets that has the first of them), or the default column of `table` (else the first target).
 */
function pickColumns(regime: Regime, specs: Map<string, SpecTable>, stream: SourceStream, columns: string[] | undefined, table: string | undefined): { decl: TargetDecl; spec: SpecTable; series: PlotSeries[] } {
  const targets = regime.targets.map((decl) => {
    const spec = specs.get(decl.spec);
    if (!spec) throw new Error(`regime ${regime.name}: spec ${decl.spec} was not loaded`);
    return { decl, spec };
  });
  const numericColumns = (spec: SpecTable) => spec.columns.filter((c) => isNumeric(spec, c.name)).map((c) => c.name);
  let chosen = targets.find((t) => t.spec.table === table) ?? targets[0];
  let names: string[];
  if (columns && columns.length) {
    chosen = targets.find((t) => isNumeric(t.spec, columns[0])) ?? targets[0];
    for (const c of columns) {
      if (!isNumeric(chosen.spec, c)) {
        throw new ScrapeError('PLOT_COLUMN', `${c} is not a numeric column of ${chosen.spec.table}; its numeric columns: ${numericColumns(chosen.spec).join(', ')}`);
      }
    }
    names = columns;
  } else {
    const first = numericColumns(chosen.spec).find((c) => !/_(min|max|std|stddev_samp|variance|var_samp)$/.test(c) && c !== regime.aggregate?.count) ?? numericColumns(chosen.spec)[0];
    if (first === undefined) throw new ScrapeError('PLOT_COLUMN', `${chosen.spec.table} has no numeric column to plot`);
    names = [first];
  }
  const streamColumns = new Set(stream.columns.map((c) => c.name));
  const series = names.map((column): PlotSeries => {
    const s: PlotSeries = { column };
    const path = chosen.decl.map[column] === undefined ? undefined : trivialPath(chosen.decl.map[column]);
    if (path && path.length === 2) {
      if ((path[0] === 'last' || path[0] === 'first') && streamColumns.has(path[1])) s.sourceColumn = path[1];
      const m = path[0] === 'agg' ? SAME_UNIT.exec(path[1]) : null;
      if (m && streamColumns.has(m[1])) s.sourceColumn = m[1];
    }
    const stem = column.replace(/_(avg|twavg|first|last)$/, '');
    const min = `${stem}_min`;
    const max = `${stem}_max`;
    if (column !== min && column !== max && isNumeric(chosen.spec, min) && isNumeric(chosen.spec, max)) s.band = { min, max };
    return s;
  });
  return { ...chosen, series };
}

/**
 * The range to plot, UTC text: `from` and `to` as given; one missing is one day from the other,
 * a missing `from` not before the context's first TIMESTART; both missing is the day before the
 * context's last TIMEEND.
 */
async function defaultRange(input: PlotDataInput, spec: SpecTable, stream: SourceStream): Promise<{ from: string; to: string }> {
  let from = input.from === undefined ? undefined : normalizeTimeText(input.from);
  let to = input.to === undefined ? undefined : normalizeTimeText(input.to);
  if (from === undefined && to === undefined) {
    const last = await lastValidity(input.target, spec, stream.context);
    if (!last) throw new ScrapeError('PLOT_RANGE', `nothing written for ${stream.table} in ${spec.table} yet: give --from and --to`);
    to = last.TIMEEND;
  }
  if (from === undefined) {
    from = addMs(to!, -DEFAULT_PLOT_SPAN_MS);
    // not before the context's first validity: a day's plot of an hour's data shows the hour
    const first = await input.target(vldTableName(spec))
      .where({ SITEMASK: stream.context.sitemask, SUBSITE: stream.context.subsite, SIMMASK: stream.context.simmask, TASK: stream.context.task, AGGREGATENO: stream.context.aggregateno })
      .andWhere('TIMEEND', '>', from)
      .min({ t: 'TIMESTART' })
      .first();
    const start = first?.t === null || first?.t === undefined ? undefined : String(first.t);
    if (start !== undefined && start > from && start < to!) from = start;
  }
  if (to === undefined) to = addMs(from, DEFAULT_PLOT_SPAN_MS);
  if (naiveMs(from) >= naiveMs(to)) throw new ScrapeError('PLOT_RANGE', `empty range: --from ${from} is not before --to ${to} (UTC)`);
  return { from, to };
}

/** Source rows of the UTC range `[from, to)`, through the source reader in keyset pages, at most `max`. */
async function readSamples(db: Knex, stream: SourceStream, from: string, to: string, columns: string[], max: number): Promise<{ samples: PlotSample[]; truncated: boolean }> {
  const reader = new SourceReader(db, stream, 5000);
  const localFrom = utcToLocal(from, stream.zone);
  const toMs = naiveMs(to);
  const samples: PlotSample[] = [];
  let after: { date_time: string; id: number } | undefined;
  for (;;) {
    const page = await reader.readPage(localFrom, after);
    for (const row of page.rows) {
      const ms = naiveMs(localToUtc(row.date_time, stream.zone));
      if (ms >= toMs) return { samples, truncated: false };
      if (samples.length >= max) return { samples, truncated: true };
      samples.push({ id: Number(row.id), ms, local: row.date_time, values: Object.fromEntries(columns.map((c) => [c, numeric(row[c])])) });
    }
    if (!page.full || !page.lastKey) return { samples, truncated: false };
    after = page.lastKey;
  }
}

/** A value as a number (MySQL DECIMAL text included); null for NULL, missing or not a number. */
function numeric(value: unknown): number | null {
  if (value === null || value === undefined || value === '') return null;
  const n = Number(value);
  return Number.isFinite(n) ? n : null;
}
