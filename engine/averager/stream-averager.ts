import { Knex } from 'knex';
import { Logger } from '../core/logger';
import { FilterCondition } from '../config/regime';
import { isValidTimeText, localToUtc, naiveMs, naiveText, utcToLocal } from '../core/time';
import { DbiWriter, Propagation } from '../dbi/dbi-writer';
import { lastValidity } from '../dbi/dbi-reader';
import { Aggregator } from '../aggregate/aggregator';
import { RowFilter, compileFilter } from '../aggregate/row-filter';
import { SpecTable } from '../spec/spec-table';
import { SourceKey, SourcePage, SourceReader, SourceRow } from '../source/source-reader';
import { SourceStream } from '../source/source-stream';
import { Mapping } from '../transform/mapping';
import { UnpivotPlan } from '../transform/unpivot-plan';
import { TimeBins, chunkLine } from './time-bins';
import { dialectOf, quoteIdentifier } from '../db/dialect';

/** A target table of an averaged stream. */
export interface AveragerTarget {
  spec: SpecTable;
  mapping: Mapping;
  writer: DbiWriter;
}

/** Settings of one averaged stream, in numbers. */
export interface StreamAveragerSettings {
  bins: TimeBins;
  /** Catch-up chunk grid (same alignment rules as bins); chunk ends are rounded up to bin ends. */
  chunks: TimeBins;
  /** Source-local `YYYY-MM-DD HH:MM:SS`: entries before it (zero dates too) are never read. */
  timefloor: string;
  timezone: string;
}

/** What one catch-up pass of a stream did. */
export interface PassResult {
  chunks: number;
  validities: number;
  rowsRead: number;
  /** Stopped by the signal before reaching the end of the complete bins. */
  aborted: boolean;
}

/** Counters of a stream since it started. */
export interface StreamAveragerTotals {
  rowsRead: number;
  chunks: number;
  validities: number;
}

/**
 * Keyset-paged cursor over a stream's rows from `from` on, handing out whole pages so the bin
 * loop runs synchronously over them. The next page is requested as soon as a full page arrives,
 * so the database produces it while this one is aggregated. Rows whose joined row is missing for
 * good are dropped; a row still waiting for its joined row ends the cursor (`blocked`).
 */
class PageCursor {
  rows: SourceRow[] = [];
  pos = 0;
  exhausted = false;
  blocked = false;
  private lastKey?: SourceKey;
  private prefetch?: Promise<SourcePage>;

  constructor(private readonly reader: SourceReader, private readonly from: string) {}

  /** True when `rows[pos]` is a row; reads the next page when the current one is used up. */
  async ready(): Promise<boolean> {
    while (this.pos >= this.rows.length) {
      if (this.exhausted) return false;
      const page = await (this.prefetch ?? this.reader.readPage(this.from, this.lastKey));
      this.prefetch = undefined;
      this.rows = page.rows;
      this.pos = 0;
      if (page.lastKey) this.lastKey = page.lastKey;
      if (!page.full) {
        this.exhausted = true;
        this.blocked = page.waitingForJoin;
      } else {
        const next = this.reader.readPage(this.from, this.lastKey);
        next.catch(() => undefined); // awaited (and its error raised) by the next ready() or close()
        this.prefetch = next;
      }
    }
    return true;
  }

  /** Waits for a page read still in flight (its result is not needed). */
  async close(): Promise<void> {
    const pending = this.prefetch;
    this.prefetch = undefined;
    if (pending) await pending.catch(() => undefined);
  }
}

/** The bin being filled: its end as text (rows compare as text) and its first/last passing entry. */
interface OpenBin {
  start: number;
  endText: string;
  first?: SourceRow;
  last?: SourceRow;
}

/**
 * Averages one source stream into its targets (DESIGN §5): DB-time bins, only complete ones (a
 * source entry exists at or after the bin's end), one validity per bin with at least one entry
 * passing the aggregate filter, `[min(date_time), max(date_time)]` of those entries, payload from
 * the regime's mappings over `agg` (the bin's running aggregates), `first`/`last` (the bin's
 * first and last passing entries) and `ctx`. Rows are read once, in keyset pages, into running
 * accumulators: O(1) memory per bin, no query per bin. Catch-up is cut into chunks, each written
 * in one transaction per target; bins depend only on `date_time`, so chunking, restarting and
 * appending never change which rows are written.
 */
export class StreamAverager {
  readonly totals: StreamAveragerTotals = { rowsRead: 0, chunks: 0, validities: 0 };
  /** Naive local ms where the next pass starts reading (a bin start, or timefloor). */
  private startMs = NaN;
  /** Per target: bins starting before this naive local ms are already in that target. */
  private targetResume: number[] = [];
  private resumed = false;
  /** Local time the stream resumed from at its (last) `resume`. */
  resumedAt = '';

  constructor(
    readonly stream: SourceStream,
    private readonly reader: SourceReader,
    private readonly targets: AveragerTarget[],
    private readonly settings: StreamAveragerSettings,
    private readonly aggregator: Aggregator,
    private readonly filter: RowFilter,
    private readonly logger: Logger,
    /** Unpivot plan of the stream: one payload row per cell, as the scraper writes them. */
    private readonly plan?: UnpivotPlan,
    /**
     * The source connection and the regime's filter, for MySQL streams without joined tables:
     * each chunk is then read by one streamed range query and aggregated row by row as the rows
     * arrive (no page arrays, the server sending while the rows are aggregated). Without it,
     * keyset pages.
     */
    private readonly streaming?: { source: Knex; filter: readonly FilterCondition[] },
  ) {}

  /** Context fields bound as `ctx` in mappings: captures, context columns, table name. */
  get ctx(): Record<string, unknown> {
    return { ...this.stream.captures, ...this.stream.context, table: this.stream.table };
  }

  /** Local time the next pass starts from (after `resume`). */
  get resumeTime(): string {
    return Number.isNaN(this.startMs) ? '' : naiveText(this.startMs);
  }

  /**
   * Finds where to start: per target, the bin after the one holding its last validity's
   * TIMESTART (converted to local); an empty target starts at `timefloor`. The stream starts at
   * the earliest target; targets that are ahead skip the bins they already hold.
   */
  async resume(): Promise<void> {
    const { bins, timefloor, timezone } = this.settings;
    const floorMs = naiveMs(timefloor);
    const starts: number[] = [];
    for (const target of this.targets) {
      const last = await lastValidity(target.writer.db, target.spec, this.stream.context);
      const start = last ? bins.end(bins.start(naiveMs(utcToLocal(last.TIMESTART, timezone)))) : floorMs;
      starts.push(Math.max(start, floorMs));
    }
    this.targetResume = starts;
    this.startMs = starts.length ? Math.min(...starts) : floorMs;
    this.resumed = true;
    this.resumedAt = naiveText(this.startMs);
    const before = await this.reader.countBefore(timefloor);
    if (before > 0) {
      this.logger.log('warn', `${this.stream.table}: ${before} entries before timefloor ${timefloor} (zero dates included) are skipped`, { stream: this.stream.table });
    }
    const c = this.stream.context;
    this.logger.log('info', `timecursor(local) ${this.stream.table} {sitemask: ${c.sitemask}, subsite: ${c.subsite}} ${naiveText(this.startMs)}`, {
      stream: this.stream.table,
      resume_utc: localToUtc(naiveText(this.startMs), timezone),
    });
  }

  /**
   * Averages every complete bin from the resume point on, chunk by chunk, and returns when none
   * is left (or the signal aborts, between chunks). Call again later to pick up bins completed
   * since.
   */
  async pass(signal?: AbortSignal): Promise<PassResult> {
    if (!this.resumed) await this.resume();
    const result: PassResult = { chunks: 0, validities: 0, rowsRead: 0, aborted: false };
    const { bins, chunks } = this.settings;
    const latest = await this.reader.latestTime();
    if (!latest || !isValidTimeText(latest)) return result;
    // Every bin ending at or before the bin of the latest entry is complete.
    const territoryEnd = bins.start(naiveMs(latest));
    if (territoryEnd <= bins.start(this.startMs)) return result;
    if (this.streaming && this.stream.joins.length === 0) return this.streamedPass(territoryEnd, result, signal);
    const cursor = new PageCursor(this.reader, naiveText(this.startMs));
    const agg = this.aggregator;
    const filter = this.filter;
    let index = 0;
    try {
      while (true) {
        if (signal?.aborted) {
          result.aborted = true;
          break;
        }
        if (!(await cursor.ready())) {
          // No entry left before the territory end: the remaining bins are empty gaps.
          if (!cursor.blocked) this.startMs = Math.max(this.startMs, territoryEnd);
          break;
        }
        const firstMs = naiveMs(cursor.rows[cursor.pos].date_time);
        if (firstMs >= territoryEnd) {
          this.startMs = territoryEnd;
          break;
        }
        // The chunk holding the next entry; empty chunks before it are skipped silently.
        const chunkStart = Math.max(chunks.start(firstMs), bins.start(this.startMs));
        const chunkEnd = Math.min(bins.ceil(chunks.end(chunks.start(firstMs))), territoryEnd);
        const chunkEndText = naiveText(chunkEnd);
        const pending: Propagation[][] = this.targets.map(() => []);
        let bin = this.openBin(firstMs);
        agg.reset();
        let blocked = false;
        let consumed = 0;
        scan: while (true) {
          if (!(await cursor.ready())) {
            blocked = cursor.blocked;
            break;
          }
          const rows = cursor.rows;
          let i = cursor.pos;
          for (; i < rows.length; i++) {
            const row = rows[i];
            const t = row.date_time;
            if (t >= chunkEndText) {
              consumed += i - cursor.pos;
              cursor.pos = i;
              break scan;
            }
            if (t >= bin.endText) {
              await this.closeBin(bin, pending);
              bin = this.openBin(naiveMs(t));
              agg.reset();
            }
            if (filter(row)) {
              agg.add(row);
              if (bin.first === undefined) bin.first = row;
              bin.last = row;
            }
          }
          consumed += i - cursor.pos;
          cursor.pos = i;
        }
        let end = chunkEnd;
        if (blocked) {
          // A joined row has not arrived: the open bin may still grow; leave it for later.
          end = bin.start;
        } else {
          await this.closeBin(bin, pending);
        }
        agg.reset();
        let written = 0;
        for (const [k, target] of this.targets.entries()) {
          if (pending[k].length === 0) continue;
          await target.writer.write(pending[k]);
          written = Math.max(written, pending[k].length);
        }
        this.startMs = end;
        result.rowsRead += consumed;
        result.validities += written;
        if (end > chunkStart || written > 0) {
          this.logger.log('info', chunkLine(index, chunkStart, end), { stream: this.stream.table, validities: written, rows: consumed });
          index++;
          result.chunks++;
        }
        if (blocked) {
          this.logger.log('info', `${this.stream.table}: waiting for joined table(s) ${this.stream.joins.map((j) => j.table).join(', ')} to catch up`, { stream: this.stream.table });
          break;
        }
      }
    } finally {
      await cursor.close();
      this.totals.rowsRead += result.rowsRead;
      this.totals.chunks += result.chunks;
      this.totals.validities += result.validities;
    }
    return result;
  }

  private openBin(t: number): OpenBin {
    const start = this.settings.bins.start(t);
    return { start, endText: naiveText(this.settings.bins.end(start)) };
  }

  /** Turns a filled bin into one propagation per target that does not hold it yet; empty bins are gaps. */
  private async closeBin(bin: OpenBin, pending: Propagation[][]): Promise<void> {
    const closed = this.closedBin(bin);
    if (closed) await this.propagate(closed, pending);
  }

  /** The aggregates of a filled bin, taken now (synchronously); undefined for an empty bin. */
  private closedBin(bin: OpenBin): ClosedBin | undefined {
    if (!bin.first || !bin.last) return undefined;
    return { start: bin.start, first: bin.first, last: bin.last, agg: this.aggregator.result(naiveText(this.settings.bins.end(bin.start))) };
  }

  /** One propagation per target that does not hold the bin yet. */
  private async propagate(bin: ClosedBin, pending: Propagation[][]): Promise<void> {
    const { timezone } = this.settings;
    const timestart = localToUtc(bin.first.date_time, timezone);
    const timeend = localToUtc(bin.last.date_time, timezone);
    const ctx = this.ctx;
    for (const [k, target] of this.targets.entries()) {
      if (bin.start < this.targetResume[k]) continue;
      const rows = await target.mapping.evaluate({ first: bin.first, last: bin.last, agg: bin.agg, ctx }, this.plan);
      pending[k].push({ timestart, timeend, context: this.stream.context, rows });
    }
  }

  /**
   * `pass` for a MySQL stream without joined tables: per chunk, one range query
   * `date_time >= from AND date_time < chunkEnd ORDER BY date_time, id` streamed (rows as arrays)
   * and aggregated row by row as it arrives; a chunk's DBI write runs while the next chunk is read
   * (writes stay in order, one at a time, and `startMs` only moves past a chunk once its write is
   * done). The range query also names the chunk's id range (`MIN(id)`, `MAX(id)` over the same
   * date range, read from the `(date_time, id)` index): the rows are the same, but when ids follow
   * time, as auto-increment ids do, MariaDB reads the chunk along the primary key instead of one
   * primary-key lookup per row. Same bins, same chunks, same rows written as the paged path.
   */
  private async streamedPass(territoryEnd: number, result: PassResult, signal?: AbortSignal): Promise<PassResult> {
    const { bins, chunks } = this.settings;
    const db = this.streaming!.source;
    const q = (n: string) => quoteIdentifier(n, dialectOf(db));
    const names = ['id', 'date_time', ...this.stream.mainColumns.map((c) => c.name)];
    const position = new Map(names.map((n, i) => [n, i]));
    const at = Int32Array.from(this.aggregator.columns, (c) => position.get(c) ?? -1);
    if (at.some((i) => i < 0)) throw new Error(`averager: aggregated column not read from ${this.stream.table}`);
    const filter = compileFilter(this.streaming!.filter, (c) => position.get(c) ?? -1);
    const table = q(this.stream.table);
    const dt = q('date_time');
    const id = q('id');
    const inRange = `${dt} >= ? AND ${dt} < ?`;
    const boundsSql = `SELECT MIN(${id}) AS lo, MAX(${id}) AS hi FROM ${table} WHERE ${inRange}`;
    const rangeSql = `SELECT ${names.map(q).join(', ')} FROM ${table} WHERE ${id} >= ? AND ${id} <= ? AND ${inRange} ORDER BY ${dt}, ${id}`;
    const firstSql = `SELECT MIN(${dt}) AS t FROM ${table} WHERE ${dt} >= ?`;
    const guessSql = `SELECT MIN(${dt}) AS t, MIN(${id}) AS lo, MAX(${id}) AS hi FROM ${table} WHERE ${inRange}`;
    const territoryEndText = naiveText(territoryEnd);
    const toRow = (values: unknown[]): SourceRow => {
      const row: Record<string, unknown> = {};
      for (let i = 0; i < names.length; i++) row[names[i]] = values[i];
      row.id = Number(row.id);
      return row as SourceRow;
    };
    const agg = this.aggregator;
    let index = 0;
    let writing: Promise<void> | undefined;
    /** Read position: the previous chunk's end, while `startMs` waits for that chunk's write. */
    let from = this.startMs;
    const client = db.client as { acquireConnection(): Promise<any>; releaseConnection(conn: unknown): Promise<unknown> };
    const conn = await client.acquireConnection();
    const query = (sql: string, values: unknown[], onRow: (row: any[]) => void): Promise<void> =>
      new Promise((resolve, reject) => {
        let failure: unknown;
        conn
          .query({ sql, values, rowsAsArray: true })
          .on('result', (row: any[]) => {
            if (failure !== undefined) return;
            try {
              onRow(row);
            } catch (err) {
              failure = err;
            }
          })
          .on('error', reject)
          .on('end', () => (failure === undefined ? resolve() : reject(failure)));
      });
    /** The chunk holding the first entry at or after `at` and its id range; undefined when none is left. */
    type Chunk = { from: number; chunkStart: number; chunkEnd: number; lo: unknown; hi: unknown };
    const chunkAt = async (at: number): Promise<Chunk | undefined> => {
      // usually the entry is in the chunk that `at` starts: one query gives it and the id range
      const guessEnd = Math.min(bins.ceil(chunks.end(chunks.start(at))), territoryEnd);
      let row: unknown[] = [];
      await query(guessSql, [naiveText(at), naiveText(guessEnd)], (r) => (row = r));
      const first = (row[0] as string | null) ?? undefined;
      if (first !== undefined && chunks.start(naiveMs(first)) === chunks.start(at)) {
        return { from: at, chunkStart: Math.max(chunks.start(naiveMs(first)), bins.start(at)), chunkEnd: guessEnd, lo: row[1], hi: row[2] };
      }
      let found: string | undefined;
      await query(firstSql, [naiveText(at)], (r) => (found = (r[0] as string | null) ?? undefined));
      if (found === undefined || (found as string) >= territoryEndText) return undefined;
      const firstMs = naiveMs(found);
      const chunkEnd = Math.min(bins.ceil(chunks.end(chunks.start(firstMs))), territoryEnd);
      await query(boundsSql, [naiveText(at), naiveText(chunkEnd)], (r) => (row = r));
      return { from: at, chunkStart: Math.max(chunks.start(firstMs), bins.start(at)), chunkEnd, lo: row[0], hi: row[1] };
    };
    let next: Promise<Chunk | undefined> | undefined = chunkAt(from);
    try {
      while (true) {
        if (signal?.aborted) {
          result.aborted = true;
          break;
        }
        const chunk = await next!;
        next = undefined;
        if (chunk === undefined) {
          // No entry left before the territory end: the remaining bins are empty gaps.
          if (writing) await writing;
          writing = undefined;
          this.startMs = Math.max(this.startMs, territoryEnd);
          break;
        }
        const { chunkStart, chunkEnd } = chunk;
        const range = [naiveText(from), naiveText(chunkEnd)];
        const bounds = [chunk.lo, chunk.hi];
        const closed: ClosedBin[] = [];
        let binEnd = '';
        let binStart = NaN;
        let firstRow: unknown[] | undefined;
        let lastRow: unknown[] | undefined;
        const close = () => {
          if (firstRow && lastRow) closed.push({ start: binStart, first: toRow(firstRow), last: toRow(lastRow), agg: agg.result(naiveText(bins.end(binStart))) });
        };
        let consumed = 0;
        agg.reset();
        if (bounds[0] !== null && bounds[0] !== undefined) {
          const reading = query(rangeSql, [bounds[0], bounds[1], ...range], (values) => {
            consumed++;
            const t = values[1] as string;
            if (!(t < binEnd)) {
              close();
              binStart = bins.start(naiveMs(t));
              binEnd = naiveText(bins.end(binStart));
              firstRow = lastRow = undefined;
              agg.reset();
            }
            if (filter(values as unknown as SourceRow)) {
              agg.addAt(values, at, t);
              if (firstRow === undefined) firstRow = values;
              lastRow = values;
            }
          });
          // queued behind this chunk's rows on the same connection: the server goes on at once
          if (chunkEnd < territoryEnd) {
            next = chunkAt(chunkEnd);
            next.catch(() => undefined); // awaited by the next turn or in finally
          }
          await reading;
        }
        if (next === undefined && chunkEnd < territoryEnd) next = chunkAt(chunkEnd);
        close();
        agg.reset();
        const pending: Propagation[][] = this.targets.map(() => []);
        for (const b of closed) await this.propagate(b, pending);
        let written = 0;
        for (const p of pending) written = Math.max(written, p.length);
        // the previous chunk's write must be done before this one starts (order, startMs)
        if (writing) await writing;
        const end = chunkEnd;
        writing = this.writeChunk(pending).then(() => {
          this.startMs = end;
        });
        writing.catch(() => undefined); // awaited by the next chunk or below
        result.rowsRead += consumed;
        result.validities += written;
        this.logger.log('info', chunkLine(index, chunkStart, end), { stream: this.stream.table, validities: written, rows: consumed });
        index++;
        result.chunks++;
        // the next chunk is read from where this one ends while its write runs
        from = end;
        if (from >= territoryEnd) {
          await writing;
          writing = undefined;
          break;
        }
      }
      if (writing) await writing;
    } finally {
      if (writing) await writing.catch(() => undefined); // a failure already on its way out wins
      if (next) await next.catch(() => undefined);
      await client.releaseConnection(conn);
      this.totals.rowsRead += result.rowsRead;
      this.totals.chunks += result.chunks;
      this.totals.validities += result.validities;
    }
    return result;
  }

  /** Writes one chunk's propagations, one transaction per target. */
  private async writeChunk(pending: Propagation[][]): Promise<void> {
    for (const [k, target] of this.targets.entries()) {
      if (pending[k].length === 0) continue;
      await target.writer.write(pending[k]);
    }
  }
}

/** A bin whose entries are all read: its aggregates and first/last passing entries. */
interface ClosedBin {
  start: number;
  first: SourceRow;
  last: SourceRow;
  agg: Record<string, number | null>;
}
