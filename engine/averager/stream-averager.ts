import { Logger } from '../config/logger';
import { isValidTimeText, localToUtc, naiveMs, naiveText, utcToLocal } from '../config/time';
import { DbiWriter, Propagation } from '../dbi/dbi-writer';
import { lastValidity } from '../dbi/dbi-reader';
import { Aggregator, RowFilter } from '../scraper/aggregator';
import { SpecTable } from '../spec/spec-table';
import { SourceKey, SourcePage, SourceReader, SourceRow } from '../source/source-reader';
import { SourceStream } from '../source/source-stream';
import { Mapping } from '../transform/mapping';
import { UnpivotPlan } from '../transform/unpivot-plan';
import { TimeBins, chunkLine } from './time-bins';

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
    if (!bin.first || !bin.last) return;
    const { timezone } = this.settings;
    const timestart = localToUtc(bin.first.date_time, timezone);
    const timeend = localToUtc(bin.last.date_time, timezone);
    const agg = this.aggregator.result(naiveText(this.settings.bins.end(bin.start)));
    const ctx = this.ctx;
    for (const [k, target] of this.targets.entries()) {
      if (bin.start < this.targetResume[k]) continue;
      const rows = await target.mapping.evaluate({ first: bin.first, last: bin.last, agg, ctx }, this.plan);
      pending[k].push({ timestart, timeend, context: this.stream.context, rows });
    }
  }
}
