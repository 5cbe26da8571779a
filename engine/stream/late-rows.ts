import { Knex } from 'knex';
import { Clock } from '../core/clock';
import { Logger } from '../core/logger';
import { localToUtc, normalizeTimeText, utcToLocal } from '../core/time';
import { SqlDialect, dialectOf, quoteIdentifier, rawRows } from '../db/dialect';
import { PROVENANCE_TABLE, SOURCE_IDS_TABLE, vldTableName } from '../spec/ddl';
import { SpecTable } from '../spec/spec-table';
import { SourceKey } from '../source/source-reader';
import { SourceStream, streamTables } from '../source/source-stream';

/** Wall-clock time between two late-row checks of a running stream (two indexed queries each). */
export const LATE_CHECK_MS = 5 * 60_000;

/** Late rows a check names at most (the count is exact; the ids beyond are not fetched). */
const LATE_IDS_FETCHED = 1000;

/**
 * What the target keeps of the latest validity a stream wrote (`SCRAPE_SOURCE_IDS`): the highest
 * source id it had read then, and the source-local `date_time` of the validity's end entry.
 */
export interface SourceMark {
  seqno: number;
  maxId: number;
  /** Source-local `date_time` of the entry that is the validity's TIMEEND: the stream's resume point. */
  lastTime: string;
}

/** Late rows found against one mark. */
export interface LateRowsFound {
  /** The mark checked against: rows dated before `mark.lastTime` with ids above `mark.maxId`. */
  mark: SourceMark;
  count: number;
  /** The late rows, by id (at most `LATE_IDS_FETCHED` of them). */
  rows: SourceKey[];
}

/** A context as the Vld table has it (what status and the stream know). */
export interface MarkContext {
  sitemask: number;
  subsite: number;
  simmask: number;
  task: number;
  aggregateno: number;
}

/**
 * The latest `SCRAPE_SOURCE_IDS` row of a stream in one target (by SEQNO, the stream's context
 * through its Vld row); undefined when the target has no such table or no row of the stream.
 * A repair's rows are passed over: a repair writes after the stream's last validity but only
 * over an earlier range (`scrape repair` stops before the last validity's start), so its mark
 * would hide rows that came late for the range between the repair's end and the stream's own
 * resume point. The stream's own latest mark is the one whose `LAST_TIME` is its resume point.
 */
export async function latestSourceMark(target: Knex, spec: SpecTable, sourceTable: string, ctx: MarkContext): Promise<SourceMark | undefined> {
  if (!(await target.schema.hasTable(SOURCE_IDS_TABLE))) return undefined;
  const { sql, bindings } = latestSourceMarkQuery(dialectOf(target), spec, sourceTable, ctx, await target.schema.hasTable(PROVENANCE_TABLE));
  const rows = await rawRows(target, sql, bindings as Knex.RawBinding[]);
  const r = rows[0];
  if (!r) return undefined;
  return { seqno: Number(r.seqno), maxId: Number(r.max_id), lastTime: timeText(r.last_time) };
}

/**
 * The `SCRAPE_SOURCE_IDS` marks of a stream in one target from SEQNO `from` on (in SEQNO order,
 * at most `limit`): the staircase a periodic check tests rows against.
 */
export async function sourceMarksSince(target: Knex, spec: SpecTable, sourceTable: string, ctx: MarkContext, from: number, limit = 5000): Promise<SourceMark[]> {
  const { sql, bindings } = sourceMarksSinceQuery(dialectOf(target), spec, sourceTable, ctx, from, limit);
  const rows = await rawRows(target, sql, bindings as Knex.RawBinding[]);
  return rows.map((r) => ({ seqno: Number(r.seqno), maxId: Number(r.max_id), lastTime: timeText(r.last_time) }));
}

/**
 * The statement of `latestSourceMark`: the stream's `SCRAPE_SOURCE_IDS` rows walked by the
 * `(TABLENAME, SOURCE_TABLE, SEQNO)` index from the newest SEQNO down, each joined to its Vld row
 * by primary key for the context (and, `withProvenance`, outer-joined to a repair's provenance row
 * by primary key to pass over repairs), `LIMIT 1`: a few probes whatever the tables hold.
 */
export function latestSourceMarkQuery(dialect: SqlDialect, spec: SpecTable, sourceTable: string, ctx: MarkContext, withProvenance: boolean): { sql: string; bindings: unknown[] } {
  const q = (n: string) => quoteIdentifier(n, dialect);
  // the index walks SEQNO down from the newest; repairs are rare, so few rows are passed over. A
  // repair is passed over by an outer join on the provenance's primary key (one probe per row):
  // MariaDB planned the same test written as NOT EXISTS as a scan of the whole provenance table
  const repair = withProvenance
    ? `LEFT JOIN ${q(PROVENANCE_TABLE)} p ON p.${q('TABLENAME')} = s.${q('TABLENAME')} AND p.${q('SEQNO')} = s.${q('SEQNO')} AND p.${q('REASON')} = 'repair' `
    : '';
  const sql =
    `SELECT s.${q('SEQNO')} AS seqno, s.${q('MAX_ID')} AS max_id, s.${q('LAST_TIME')} AS last_time FROM ${q(SOURCE_IDS_TABLE)} s ` +
    `JOIN ${q(vldTableName(spec))} v ON v.${q('SEQNO')} = s.${q('SEQNO')} ` +
    repair +
    `WHERE s.${q('TABLENAME')} = ? AND s.${q('SOURCE_TABLE')} = ? AND v.${q('SITEMASK')} = ? AND v.${q('SUBSITE')} = ? AND v.${q('SIMMASK')} = ? AND v.${q('TASK')} = ? AND v.${q('AGGREGATENO')} = ? ` +
    (withProvenance ? `AND p.${q('SEQNO')} IS NULL ` : '') +
    `ORDER BY s.${q('SEQNO')} DESC LIMIT 1`;
  return { sql, bindings: [spec.table, sourceTable, ctx.sitemask, ctx.subsite, ctx.simmask, ctx.task, ctx.aggregateno] };
}

/** The statement of `sourceMarksSince`: the `(TABLENAME, SOURCE_TABLE, SEQNO)` index range from SEQNO `from` on, joined to the Vld rows by primary key. */
export function sourceMarksSinceQuery(dialect: SqlDialect, spec: SpecTable, sourceTable: string, ctx: MarkContext, from: number, limit = 5000): { sql: string; bindings: unknown[] } {
  const q = (n: string) => quoteIdentifier(n, dialect);
  const sql =
    `SELECT s.${q('SEQNO')} AS seqno, s.${q('MAX_ID')} AS max_id, s.${q('LAST_TIME')} AS last_time FROM ${q(SOURCE_IDS_TABLE)} s ` +
    `JOIN ${q(vldTableName(spec))} v ON v.${q('SEQNO')} = s.${q('SEQNO')} ` +
    `WHERE s.${q('TABLENAME')} = ? AND s.${q('SOURCE_TABLE')} = ? AND s.${q('SEQNO')} >= ? AND v.${q('SITEMASK')} = ? AND v.${q('SUBSITE')} = ? AND v.${q('SIMMASK')} = ? AND v.${q('TASK')} = ? AND v.${q('AGGREGATENO')} = ? ` +
    `ORDER BY s.${q('SEQNO')} LIMIT ${Math.max(1, Math.floor(limit))}`;
  return { sql, bindings: [spec.table, sourceTable, from, ctx.sitemask, ctx.subsite, ctx.simmask, ctx.task, ctx.aggregateno] };
}

/** Steps of a staircase a check's SQL holds at most (a sound subset of the marks beyond: every k-th, the last kept). */
const MAX_STEPS = 64;

/**
 * The late rows of a stream against `mark`: source rows dated before the mark's end entry (a
 * range already written) whose id is above the highest id the stream had read when it wrote it.
 * Every row the stream read then has an id at most `maxId`, so each row counted was not read
 * (no false positive); a late row whose id is not above the latest mark's (it came while the
 * stream was still reading around its time) is not found by this check. One indexed COUNT
 * (`id > ?` on the primary key) and, when there are some, one query naming them. With `more`
 * marks (earlier validities), a row late for any of them counts: a staircase of at most
 * `MAX_STEPS` steps, the index range starting at the lowest of their ids.
 */
export async function findLateRows(source: Knex, stream: Pick<SourceStream, 'table' | 'timestampZone'>, mark: SourceMark, more: readonly SourceMark[] = []): Promise<LateRowsFound> {
  const q = (n: string) => quoteIdentifier(n, dialectOf(source));
  const zone = stream.timestampZone;
  const server = (local: string) => (zone === undefined ? local : localToUtc(local, zone));
  // a staircase: late for any of the marks (each one sound on its own), at most MAX_STEPS of them
  let steps = [...more, mark];
  if (steps.length > MAX_STEPS) {
    const every = Math.ceil(steps.length / (MAX_STEPS - 1));
    steps = [...steps.filter((_, i) => i % every === 0), mark];
  }
  const lowest = Math.min(...steps.map((m) => m.maxId));
  // SQLite, without statistics, takes the (date_time, id) index for `date_time < ?` and counts
  // through every row before the mark (the whole table, for a stream that is caught up);
  // `+date_time` (the same value, not an indexed term) leaves it the `id > ?` range
  const time = dialectOf(source) === 'sqlite' ? `+${q('date_time')}` : q('date_time');
  const stairs = steps.map(() => `(${q('id')} > ? AND ${time} < ?)`).join(' OR ');
  const where = `FROM ${q(stream.table)} WHERE ${q('id')} > ? AND (${stairs})`;
  const bindings = [lowest, ...steps.flatMap((m) => [m.maxId, server(m.lastTime)])];
  const counted = await rawRows(source, `SELECT COUNT(*) AS n ${where}`, bindings);
  const count = Number(counted[0]?.n ?? 0);
  if (count === 0) return { mark, count, rows: [] };
  const named = await rawRows(source, `SELECT ${q('id')} AS id, ${q('date_time')} AS t ${where} ORDER BY ${q('id')} LIMIT ${LATE_IDS_FETCHED}`, bindings);
  const rows = named.map((r) => {
    const t = timeText(r.t);
    return { id: Number(r.id), date_time: zone === undefined ? t : utcToLocal(t, zone) };
  });
  return { mark, count, rows };
}

/** A time as read from either driver (text or, should a driver give one, a Date) as `YYYY-MM-DD HH:MM:SS`. */
function timeText(v: unknown): string {
  if (v instanceof Date) return v.toISOString().slice(0, 19).replace('T', ' ');
  return normalizeTimeText(String(v));
}

/** A target of a stream as the late-row check reads it. */
export interface LateTarget {
  spec: SpecTable;
  writer: { db: Knex };
}

/**
 * Keeps count of a running stream's late rows: source rows that appeared after the stream had
 * written past their `date_time`, which it never reads (`findLateRows`; with several targets, the
 * marks of the one furthest behind at the first check). Checked at resume (against the latest
 * `SCRAPE_SOURCE_IDS` mark: rows that came while the stream was stopped) and at most once per
 * `everyMs` of wall clock, never per page, against every mark written since the last check (rows
 * that came since, dated in any range written meanwhile). Rows found stay counted while the
 * stream runs (the next write's mark passes their ids, so a later check alone would lose them);
 * they are reported, not repaired: a warning whenever the count grows, naming the first (by id).
 * `onCount` hears every count (a gauge). The target is not changed.
 */
export class LateRows {
  /** Late rows found since the stream started (union of the checks, summed over a succession's tables). */
  count = 0;
  /** The first late row found, by id (of the first table of a succession having any). */
  first?: SourceKey;
  /**
   * The latest mark read (at the last check): the running max id of a resumed stream starts from
   * its `maxId`. For a succession, the mark of the newest table having one (where reading goes on).
   */
  mark?: SourceMark;
  /** Hears each count (metrics). */
  onCount?: (count: number) => void;
  /** Hears each table's latest mark as it is read (a succession's reader seeds its per-table running max from it). */
  onMark?: (table: string, mark: SourceMark) => void;
  /** What the log lines call the zone of the source-local times (the stream builder sets the regime's `timezone`). */
  zone = 'local';
  private checkedAt = -Infinity;
  /** Per source table (one, or each table of a succession): its marks and late rows (ids restart between tables). */
  private readonly perTable: TableLateRows[];

  constructor(
    private readonly source: Knex,
    private readonly stream: Pick<SourceStream, 'table' | 'timestampZone' | 'context' | 'succession'>,
    private readonly targets: readonly LateTarget[],
    private readonly logger: Logger,
    private readonly clock: Clock,
    private readonly everyMs = LATE_CHECK_MS,
  ) {
    this.perTable = streamTables(stream).map((table) => ({ table, seen: new Map<number, string>(), count: 0 }));
  }

  /** Checks for late rows when a check is due, or now with `force` (at resume). */
  async check(force = false): Promise<void> {
    const now = this.clock.now();
    if (!force && now - this.checkedAt < this.everyMs) return;
    this.checkedAt = now;
    let grew: { state: TableLateRows; mark: SourceMark } | undefined;
    let newest: SourceMark | undefined;
    for (const state of this.perTable) {
      const before = state.count;
      const mark = await this.checkTable(state);
      if (mark) newest = mark;
      if (mark && state.count > before) grew = { state, mark };
    }
    this.mark = newest;
    const before = this.count;
    this.count = this.perTable.reduce((n, t) => n + t.count, 0);
    this.first = this.perTable.find((t) => t.first)?.first;
    if (grew && this.count > before) {
      const { state, mark } = grew;
      const first = state.first ? `; first id ${state.first.id} at ${state.first.date_time}` : '';
      this.logger.log(
        'warn',
        `${state.table}: ${this.count} late ${this.count === 1 ? 'row' : 'rows'}: dated before ${mark.lastTime} ${this.zone}, already written, with ids above ${mark.maxId}, the highest id read when it was written${first}; not scraped, the target is left as it is (repairing the validities is a separate operation)`,
        { stream: this.stream.table, late: this.count, before: mark.lastTime, max_id: mark.maxId, first_id: state.first?.id, first_time: state.first?.date_time, zone: this.zone },
      );
    }
    this.onCount?.(this.count);
  }

  /** One table's check (see the class); returns its latest mark (undefined: nothing written from it yet). */
  private async checkTable(state: TableLateRows): Promise<SourceMark | undefined> {
    const previous = state.mark;
    let mark: SourceMark | undefined;
    let more: SourceMark[] = [];
    if (previous && state.markTarget) {
      // every validity written since the last check, from the mark checked then on: a row that
      // came since then, dated in a range written meanwhile, is late for one of them
      const t = state.markTarget;
      more = await sourceMarksSince(t.writer.db, t.spec, state.table, this.stream.context, previous.seqno);
      mark = await latestSourceMark(t.writer.db, t.spec, state.table, this.stream.context);
      more = more.filter((m) => m.seqno !== mark?.seqno);
    } else {
      for (const t of this.targets) {
        const m = await latestSourceMark(t.writer.db, t.spec, state.table, this.stream.context);
        if (m && (!mark || m.lastTime < mark.lastTime)) {
          mark = m;
          state.markTarget = t;
        }
      }
    }
    state.mark = mark;
    if (!mark) return undefined; // nothing written from this table yet: none late
    this.onMark?.(state.table, mark);
    const found = await findLateRows(this.source, { table: state.table, timestampZone: this.stream.timestampZone }, mark, more);
    for (const r of found.rows) if (state.seen.size < 100_000) state.seen.set(r.id, r.date_time);
    state.count = Math.max(state.count, state.seen.size, found.count);
    for (const [id, date_time] of state.seen) if (!state.first || id < state.first.id) state.first = { id, date_time };
    return mark;
  }
}

/** What `LateRows` keeps per source table. */
interface TableLateRows {
  table: string;
  /** The latest mark read and the target it is read from (the one furthest behind at the first check). */
  mark?: SourceMark;
  markTarget?: LateTarget;
  seen: Map<number, string>;
  count: number;
  first?: SourceKey;
}
