import { Knex } from 'knex';
import { Clock, systemClock } from '../core/clock';
import { Regime, WriterRole } from '../config/regime';
import { regimeForRole } from '../config/regime-defaults';
import { isValidTimeText, localToEpochMs, naiveMs, utcNowText, utcToLocal } from '../core/time';
import { regimeHorizon } from '../source/future-horizon';
import { BeyondHorizon, SourceReader } from '../source/source-reader';
import { SourceStream, StreamContext, discoverStreams, streamTables } from '../source/source-stream';
import { vldTableName } from '../spec/ddl';
import { SqlDialect, dialectOf, quoteIdentifier, rawRows } from '../db/dialect';
import { SpecTable } from '../spec/spec-table';
import { lastValidity } from '../dbi/dbi-reader';
import { lockStatus } from '../session/target-lock';
import { SourceKey } from '../source/source-reader';
import { findLateRows, latestSourceMark } from '../stream/late-rows';

/** Who holds a regime's writer lock on a target. */
export interface LockHolder {
  held: boolean;
  /** Who holds it (host, pid...) when `held`. */
  holder?: string;
}

/**
 * Whether a writer (scraper or averager, of any regime) holds the lock of this stream's (target
 * table, context) on `target` (see `engine/session/target-lock.ts`); undefined means unknown (the
 * probe failed).
 */
export async function lockHolder(target: Knex, spec: SpecTable, stream: SourceStream): Promise<LockHolder | undefined> {
  try {
    return await lockStatus(target, { table: spec.table, context: stream.context });
  } catch {
    return undefined;
  }
}

/** A time both as stored (UTC) and in the regime's source-local zone. */
export interface UtcAndLocal {
  utc: string;
  local: string;
}

/** The last validity of a stream's context. */
export interface LastValidityStatus {
  seqno: number;
  timestart: UtcAndLocal;
  timeend: UtcAndLocal;
  /** UTC time of the write. */
  insertDate: string;
}

/** Where one stream of a regime stands, read from the source and target databases only. */
export interface StreamStatus {
  regime: string;
  /** Source table of the stream. */
  table: string;
  /** Payload table written (the spec's table). */
  target: string;
  context: StreamContext;
  /** The zone of the local times shown (`SourceStream.zone`: the regime's, or its standard time for a TIMESTAMP source). */
  zone: string;
  /** Undefined when nothing was written for the context yet (or the target tables are missing). */
  last?: LastValidityStatus;
  /**
   * Latest source `date_time` (source-local) up to the horizon (`future_limit` ahead of now),
   * undefined when there is none: a row dated in the future is not what the stream has to reach.
   */
  sourceLatest?: string;
  /**
   * Wall clock minus the newest source row (`sourceLatest` as a UTC instant through the regime's
   * zone), in ms: how long the source has not written. Unlike the lag it grows when the DCS stops
   * writing. Undefined when the source has no rows (up to the horizon).
   */
  stalenessMs?: number;
  /** Source rows dated past the horizon (quarantined: not read until the wall clock reaches them), and the first of them. */
  quarantined: BeyondHorizon;
  /**
   * Late rows: source rows dated before the end of the latest validity the stream wrote whose id
   * is above the highest id it had read then (kept in `SCRAPE_SOURCE_IDS`); never read by the
   * stream. Undefined when the target keeps no source ids for the stream.
   */
  late?: LateRowsStatus;
  /** Source latest minus the last TIMEEND, both source-local, in ms; undefined without both. */
  lagMs?: number;
  /**
   * Validities of the context in the target, only when asked (`countAll`): the count walks the
   * whole context, so `scrape status` does not ask it.
   */
  validities?: number;
  /** Validities of the context whose INSERTDATE is within the last hour. */
  writesLastHour: number;
  /** Undefined: unknown (see `lockHolder`). */
  lock?: LockHolder;
  /** Why figures are missing (e.g. target tables not created yet). */
  problem?: string;
}

/** Late rows of a stream (`StreamStatus.late`). */
export interface LateRowsStatus {
  count: number;
  /** The first late row by id; undefined when none. */
  first?: SourceKey;
  /** Source-local `date_time` of the latest written validity's end entry: late rows are dated before it. */
  before: string;
  /** Highest source id the stream had read when it wrote that validity: late rows have larger ids. */
  maxId: number;
}

/** What `streamStatuses` reads. */
export interface StreamStatusInput {
  regime: Regime;
  specs: Map<string, SpecTable>;
  source: Knex;
  target: Knex;
  /** Real time (for "the last hour" and the `future_limit` horizon); injected by tests. */
  clock?: Clock;
  /** Only these source tables. */
  tables?: string[];
  /** Also count every validity of each context (`StreamStatus.validities`): work that grows with the context. */
  countAll?: boolean;
  /** Whose writes: the scraper's (default) or the averager's, when the regime gives them different tasks. */
  role?: WriterRole;
}

const HOUR_MS = 3_600_000;

/**
 * The status of every stream of a regime, per target: last validity (UTC and source-local),
 * latest source `date_time`, its staleness (wall clock minus it, UTC), lag, rows quarantined for being dated in the future, late rows
 * (appeared after the stream wrote past their time; see `findLateRows`), validities
 * written in the last hour, and the lock holder.
 * Reads only, so it works from any machine that reaches the databases.
 */
export async function streamStatuses(input: StreamStatusInput): Promise<StreamStatus[]> {
  const { source, target } = input;
  const regime = regimeForRole(input.regime, input.role ?? 'scrape');
  const clock = input.clock ?? systemClock;
  const streams = await discoverStreams(source, regime, input.tables);
  const hourAgo = utcNowText(clock.now() - HOUR_MS);
  const out: StreamStatus[] = [];
  for (const stream of streams) {
    const reader = new SourceReader(source, stream, 1, { horizon: regimeHorizon(regime, clock, stream.zone) });
    const sourceLatest = (await reader.latestTime()) ?? undefined;
    const stalenessMs = sourceLatest && isValidTimeText(sourceLatest) ? clock.now() - localToEpochMs(sourceLatest, regime.timezone) : undefined;
    const quarantined = (await reader.beyondHorizon())!;
    for (const decl of regime.targets) {
      const spec = input.specs.get(decl.spec);
      if (!spec) throw new Error(`regime ${regime.name}: spec ${decl.spec} was not loaded`);
      const status: StreamStatus = {
        regime: regime.name,
        table: stream.table,
        target: spec.table,
        context: stream.context,
        zone: stream.zone,
        sourceLatest,
        stalenessMs,
        quarantined,
        writesLastHour: 0,
      };
      const vld = vldTableName(spec);
      if (!(await target.schema.hasTable(vld))) {
        status.problem = `target table ${vld} does not exist`;
        out.push(status);
        continue;
      }
      const ctx = stream.context;
      const last = await lastValidity(target, spec, ctx);
      if (last) {
        status.last = {
          seqno: last.SEQNO,
          timestart: { utc: last.TIMESTART, local: utcToLocal(last.TIMESTART, stream.zone) },
          timeend: { utc: last.TIMEEND, local: utcToLocal(last.TIMEEND, stream.zone) },
          insertDate: last.INSERTDATE,
        };
        if (sourceLatest) status.lagMs = naiveMs(sourceLatest) - naiveMs(status.last.timeend.local);
      }
      const recent = statusWritesQuery(dialectOf(target), spec, ctx, hourAgo);
      status.writesLastHour = Number((await rawRows(target, recent.sql, recent.bindings as Knex.RawBinding[]))[0]?.n ?? 0);
      if (input.countAll) {
        const all = await target(vld).where({ SITEMASK: ctx.sitemask, SUBSITE: ctx.subsite, SIMMASK: ctx.simmask, TASK: ctx.task, AGGREGATENO: ctx.aggregateno }).count({ n: '*' }).first();
        status.validities = Number(all?.n ?? 0);
      }
      // each table of a succession against its own marks (ids restart); the newest mark is shown
      for (const table of streamTables(stream)) {
        const mark = await latestSourceMark(target, spec, table, ctx);
        if (!mark) continue;
        const found = await findLateRows(source, { table, timestampZone: stream.timestampZone }, mark);
        const count = (status.late?.count ?? 0) + found.count;
        status.late = { count, first: status.late?.first ?? found.rows[0], before: mark.lastTime, maxId: mark.maxId };
      }
      status.lock = await lockHolder(target, spec, stream);
      out.push(status);
    }
  }
  return out;
}

/**
 * The statement of a stream's writes in the last hour (`StreamStatus.writesLastHour`): a COUNT
 * over the `<Vld>_ctx_insert` index range (context, `INSERTDATE >= ?`), which holds only that
 * hour's rows however long the context is. (A count of every validity of the context, which
 * `scrape status` once showed, walks the whole context: it is not asked.)
 */
export function statusWritesQuery(dialect: SqlDialect, spec: SpecTable, ctx: StreamContext, since: string): { sql: string; bindings: unknown[] } {
  const q = (n: string) => quoteIdentifier(n, dialect);
  const sql =
    `SELECT COUNT(*) AS n FROM ${q(vldTableName(spec))} WHERE ${q('SITEMASK')} = ? AND ${q('SIMMASK')} = ? AND ${q('SUBSITE')} = ? AND ${q('TASK')} = ? ` +
    `AND ${q('AGGREGATENO')} = ? AND ${q('INSERTDATE')} >= ?`;
  return { sql, bindings: [ctx.sitemask, ctx.simmask, ctx.subsite, ctx.task, ctx.aggregateno, since] };
}
