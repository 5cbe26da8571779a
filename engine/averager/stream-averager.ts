import { Logger } from '../core/logger';
import { isValidTimeText, localToEpochMs, naiveMs, naiveText } from '../core/time';
import { FilterCondition } from '../config/regime';
import { SourceKey, SourcePage, SourceReader, SourceRow } from '../source/source-reader';
import { RangeBounds, RangeReader } from '../source/range-reader';
import type { HeldConnection } from '../db/mysql-row-stream';
import { SourceStream } from '../source/source-stream';
import { Aggregator } from '../aggregate/aggregator';
import { RowFilter, compileFilter } from '../aggregate/row-filter';
import { announceResume } from '../stream/announce-resume';
import { FutureQuarantine } from '../stream/quarantine';
import { LateRows } from '../stream/late-rows';
import { TargetSet } from '../stream/target-set';
import { StepResult, StreamTotals, StreamWorker, emptyStep } from '../stream/stream-worker';
import { TimeBins, chunkLine } from './time-bins';
import { ChunkFold, ClosedBin } from './chunk-fold';

/** Settings of one averaged stream, in numbers. */
export interface StreamAveragerSettings {
  bins: TimeBins;
  /** Catch-up chunk grid (same alignment rules as bins); chunk ends are rounded up to bin ends. */
  chunks: TimeBins;
  /** Source-local `YYYY-MM-DD HH:MM:SS`: entries before it (zero dates too) are never read. */
  timefloor: string;
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

/**
 * A later chunk read ahead on a spare connection (the streamed path) while this chunk is
 * aggregated: its bounds, then its rows, folded as they arrive into the chunk's own bins
 * (`ChunkFold`), which wait for the chunk's turn. The connection goes back to the pool as soon
 * as the read ends.
 */
class ReadAhead {
  readonly bounds: Promise<RangeBounds>;
  /** Resolves as `RangeReader.stream` does: false when the rows were read in id order and ran against time (the fold holds a prefix). */
  readonly done: Promise<boolean>;

  constructor(
    readonly from: number,
    readonly to: number,
    held: HeldConnection,
    reader: RangeReader,
    /** True when the rows of these bounds are the chunk's (its first entry in the chunk `from` starts): only then are they read. */
    inChunk: (bounds: RangeBounds) => boolean,
    /** Read in id order (`RangeReader.stream`'s `byId`). */
    readonly byId: boolean,
    readonly fold: ChunkFold,
  ) {
    const fromText = naiveText(from);
    const toText = naiveText(to);
    this.bounds = reader.bounds(held.conn, fromText, toText);
    this.done = this.bounds
      .then((b) => (inChunk(b) ? reader.stream(held.conn, b, fromText, toText, fold.onRow, byId) : true))
      .finally(() => held.release());
    this.bounds.catch(() => undefined);
    this.done.catch(() => undefined); // awaited (and its error raised) by the chunk's turn, or when the pass ends
  }
}

/**
 * Bins decided but not written after which a step waits for the write in flight (see
 * `TargetSet.writeBehindUnlessBusy`): some 40 days of hourly bins, a few MB of payload rows.
 */
const MAX_PENDING_BINS = 1000;

/**
 * Chunks read ahead at most, each on a spare connection of the source pool (streamed path): the
 * server converts two chunks to text while this one is folded. On 2 cores under load, two ahead
 * took a tenth less time than one; three, no less than two.
 */
const READ_AHEAD = 2;

/** What one chunk of a step covered. */
interface ChunkRead {
  chunkStart: number;
  /** Where the next chunk starts (naive local ms). */
  end: number;
  bins: ClosedBin[];
  rows: number;
  /** A joined row has not arrived: the open bin may still grow, the stream waits. */
  blocked: boolean;
}

/**
 * The averager's decider over one source stream (docs/design.md §5), as a worker of the one stream
 * loop: DB-time bins, only complete ones (a source entry exists at or after the bin's end), one
 * validity per bin with at least one entry passing the aggregate filter, `[min(date_time),
 * max(date_time)]` of those entries, payload from the regime's mappings over `agg` (the bin's
 * running aggregates), `first`/`last` (the bin's first and last passing entries) and `ctx`. A
 * step reads one chunk (e.g. a day) of complete bins into running accumulators (O(1) memory per
 * bin, no query per bin) and writes it behind while the next chunk is read. Bins depend only on
 * `date_time`, so chunking, restarting and appending never change which rows are written.
 */
export class StreamAverager implements StreamWorker {
  private readonly counts = { rowsRead: 0, rowsSkipped: 0, samples: 0, propagations: 0 };
  /** Chunks read since the stream started. */
  chunks = 0;
  /** Of those, chunks whose rows were read ahead on a spare connection while an earlier one was aggregated (streamed path). */
  chunksReadAhead = 0;
  /** Chunks whose rows were read in id order and came in time order (streamed path, `RangeReader.stream`'s `byId`). */
  chunksById = 0;
  /** Chunks read in id order whose ids ran against time: read again in time order, and the rest of the pass with them. */
  chunksReread = 0;
  /**
   * The streamed path reads the pass's chunks in id order (the server sends a range unsorted,
   * checked to come in time order) until a chunk's ids run against time; then in time order
   * until the pass ends.
   */
  private byId = true;
  /** Naive local ms where the next chunk starts reading (a bin start, or timefloor). */
  private startMs = NaN;
  /** Local time the stream resumed from at its (last) `resume`. */
  resumeTime = '';
  /**
   * The last step found no complete bin left (or waits for a joined table): chunk lines at info.
   * False until then and while chunks are read one after another (catching up): chunk lines at
   * debug, the progress lines count them.
   */
  live = false;
  /** Highest source `id` read so far (a running max), from the target's mark on at resume: each bin carries it (late rows). */
  private maxIdRead = -Infinity;
  /** The late-row check (`LateRows`), set by the stream builder. */
  lateRows?: LateRows;
  /** See `StreamWorker.sourceLatestMs`. */
  sourceLatestMs?: number;
  /** The paged path's cursor, open across the chunks of one catch-up pass. */
  private pages?: PageCursor;
  /**
   * The streamed path's connection, held for one chunk (given back between steps), and the next
   * chunk's bounds, asked on it while this chunk's rows arrive (the server answers at once).
   */
  private held?: HeldConnection;
  private nextBounds?: { from: number; to: number; bounds: Promise<RangeBounds> };
  /** The next chunks read ahead on spare connections (streamed path), in order, as many as the pool had (up to `READ_AHEAD`). */
  private ahead: ReadAhead[] = [];
  /** End of the complete bins of the current pass (the latest entry's bin start), read once per pass. */
  private territoryEnd?: number;
  private chunkIndex = 0;
  /** The regime's filter over the range reader's arrays (streamed path). */
  private readonly arrayFilter?: RowFilter;
  private readonly arrayColumns?: Int32Array;

  constructor(
    readonly stream: SourceStream,
    private readonly reader: SourceReader,
    readonly targets: TargetSet,
    private readonly settings: StreamAveragerSettings,
    private readonly aggregator: Aggregator,
    private readonly filter: RowFilter,
    private readonly logger: Logger,
    /**
     * For MySQL streams without joined tables, with the regime's filter: each chunk is then read
     * by one streamed range query and aggregated row by row as the rows arrive (no page arrays,
     * the server sending while the rows are aggregated). Without it, keyset pages.
     */
    private readonly range?: { reader: RangeReader; filter: readonly FilterCondition[] },
    /**
     * Counts the rows the reader leaves for later (dated past `future_limit`): they are not read,
     * and the reader's `latestTime` stops before them, so they complete no bin.
     */
    private readonly quarantine?: FutureQuarantine,
  ) {
    if (range) {
      const position = new Map(range.reader.columnNames.map((n, i) => [n, i]));
      this.arrayColumns = Int32Array.from(aggregator.columns, (c) => position.get(c) ?? -1);
      if (this.arrayColumns.some((i) => i < 0)) throw new Error(`averager: aggregated column not read from ${stream.table}`);
      this.arrayFilter = compileFilter(range.filter, (c) => position.get(c) ?? -1);
    }
  }

  /** Counters of the stream since it started (`propagations`: bins handed to the targets). */
  get totals(): StreamTotals {
    return { ...this.counts, writes: this.targets.writes };
  }

  /** Rows dated past `future_limit` at the last count: not read until the wall clock reaches them. */
  get quarantined(): number {
    return this.quarantine?.count ?? 0;
  }

  /** Zone of the source-local times (the regime's `timezone`). */
  get timezone(): string {
    return this.stream.zone;
  }

  /** Late rows found since the stream started; undefined when it does not check. */
  get late(): number | undefined {
    return this.lateRows?.count;
  }

  /** Source-local time where the next chunk starts. */
  get cursor(): string {
    return Number.isNaN(this.startMs) ? '' : naiveText(this.startMs);
  }

  /**
   * Finds where to start: per target, the bin after the one holding its last validity's
   * TIMESTART (converted to local); an empty target starts at `timefloor`. The stream starts at
   * the earliest target; targets that are ahead skip the bins they already hold.
   */
  async resume(): Promise<void> {
    await this.closePages();
    const { bins, timefloor } = this.settings;
    const floorMs = naiveMs(timefloor);
    const lasts = await this.targets.lastValidities();
    const starts = lasts.map((last) => Math.max(last ? bins.end(bins.start(this.targets.positionOf(last.TIMESTART))) : floorMs, floorMs));
    this.targets.holdBefore(starts);
    this.startMs = starts.length ? Math.min(...starts) : floorMs;
    this.resumeTime = naiveText(this.startMs);
    await announceResume(this.reader, this.stream, this.logger, timefloor, this.resumeTime, this.stream.zone);
    await this.quarantine?.check(true);
    await this.lateRows?.check(true);
    // what the stream had read before it stopped counts as read (a row read then is not late)
    const mark = this.lateRows?.mark;
    if (mark && mark.maxId > this.maxIdRead) this.maxIdRead = mark.maxId;
  }

  /**
   * Averages the next chunk of complete bins and writes it behind (the next step reads while it
   * is written); caught up when no complete bin is left, or a joined row has not arrived.
   */
  async step(): Promise<StepResult> {
    try {
      return await this.stepChunk();
    } catch (err) {
      await this.closePages();
      await this.targets.settle();
      throw err;
    }
  }

  private async stepChunk(): Promise<StepResult> {
    if (Number.isNaN(this.startMs)) await this.resume();
    else {
      await this.quarantine?.check();
      await this.lateRows?.check();
    }
    const result = emptyStep();
    const { bins } = this.settings;
    if (this.territoryEnd === undefined) {
      const latest = await this.reader.latestTime();
      // Every bin ending at or before the bin of the latest entry is complete.
      this.territoryEnd = latest && isValidTimeText(latest) ? bins.start(naiveMs(latest)) : -Infinity;
    }
    const territoryEnd = this.territoryEnd;
    const chunk = territoryEnd > bins.start(this.startMs) ? await this.readChunk(territoryEnd) : undefined;
    if (!chunk) {
      await this.closePages();
      await this.flush();
      this.live = true;
      return { ...result, caughtUp: true };
    }
    for (const bin of chunk.bins) {
      const added = await this.targets.add({ positionMs: bin.start, first: bin.first, last: bin.last, agg: bin.agg, reason: 'bin', maxSourceId: bin.maxId, samples: bin.passed, rows: bin.rows });
      if (added) result.propagations++;
    }
    this.startMs = chunk.end;
    result.rowsRead = chunk.rows;
    result.samples = chunk.bins.length;
    this.counts.rowsRead += result.rowsRead;
    this.counts.samples += result.samples;
    this.counts.propagations += result.propagations;
    result.caughtUp = chunk.blocked || chunk.end >= territoryEnd;
    if (chunk.end > chunk.chunkStart || result.propagations > 0) {
      this.chunks++;
      const zone = this.stream.zone;
      const index = this.chunkIndex++;
      // a chunk read while catching up is counted by the progress lines; one read live is said
      const level = this.live && result.caughtUp ? 'info' : 'debug';
      this.logger.log(level, chunkLine(this.stream.table, index, chunk.chunkStart, chunk.end, zone, result.propagations, chunk.rows), {
        stream: this.stream.table,
        chunk: index,
        from: naiveText(chunk.chunkStart),
        to: naiveText(chunk.end),
        zone,
        validities: result.propagations,
        rows: chunk.rows,
      });
    }
    if (chunk.blocked) {
      this.logger.log('info', `${this.stream.table}: waiting for joined table(s) ${this.stream.joins.map((j) => j.table).join(', ')} to catch up`, { stream: this.stream.table });
    }
    if (result.caughtUp) {
      await this.closePages();
      await this.flush();
    } else {
      await this.targets.writeBehindUnlessBusy(MAX_PENDING_BINS);
    }
    this.live = result.caughtUp;
    return result;
  }

  /** Writes every bin decided so far. */
  async flush(): Promise<void> {
    await this.targets.flush();
  }

  /** Lag in source time: the latest source entry minus where the next chunk starts. */
  async lagMs(): Promise<number> {
    const latest = await this.reader.latestTime();
    this.sourceLatestMs = latest && isValidTimeText(latest) ? localToEpochMs(latest, this.stream.zone) : undefined;
    if (!latest || !isValidTimeText(latest) || Number.isNaN(this.startMs)) return 0;
    return Math.max(0, naiveMs(latest) - this.startMs);
  }

  /** Gives back the pass's source connection or page cursor (the run is over). */
  async close(): Promise<void> {
    await this.closePages();
  }

  /** Ends a catch-up pass: the page cursor or held connection goes, the territory is read again next time. */
  private async closePages(): Promise<void> {
    const pages = this.pages;
    this.pages = undefined;
    this.territoryEnd = undefined;
    this.byId = true;
    if (pages) await pages.close();
    const next = this.nextBounds;
    this.nextBounds = undefined;
    if (next) await next.bounds.catch(() => undefined);
    const ahead = this.ahead;
    this.ahead = [];
    for (const a of ahead) await a.done.catch(() => undefined);
    const held = this.held;
    this.held = undefined;
    if (held) await held.release();
  }

  /** The next chunk before `territoryEnd`, read the streamed way when possible, else by pages; undefined when none is left. */
  private readChunk(territoryEnd: number): Promise<ChunkRead | undefined> {
    return this.range ? this.readRange(territoryEnd) : this.readPages(territoryEnd);
  }

  /** Releases the streamed path's connection once the bounds queued on it are answered (they are kept). */
  private async giveBackConnection(): Promise<void> {
    const next = this.nextBounds;
    if (next) {
      const answered = await next.bounds.then((b) => b, () => undefined);
      this.nextBounds = answered ? { ...next, bounds: Promise.resolve(answered) } : undefined;
    }
    const held = this.held;
    this.held = undefined;
    if (held) await held.release();
  }

  /** The chunk grid's chunk holding `firstMs`, cut at the territory end, and where it starts reading (never before `startMs`'s bin). */
  private chunkAround(firstMs: number, territoryEnd: number): { chunkStart: number; chunkEnd: number } {
    const { bins, chunks } = this.settings;
    return {
      chunkStart: Math.max(chunks.start(firstMs), bins.start(this.startMs)),
      chunkEnd: Math.min(bins.ceil(chunks.end(chunks.start(firstMs))), territoryEnd),
    };
  }

  /**
   * One chunk by keyset pages: the cursor stays open across the chunks of a pass; rows from
   * the chunk's end on stay in it for the next chunk.
   */
  private async readPages(territoryEnd: number): Promise<ChunkRead | undefined> {
    this.pages ??= new PageCursor(this.reader, naiveText(this.startMs));
    const cursor = this.pages;
    if (!(await cursor.ready())) {
      // No entry left before the territory end: the remaining bins are empty gaps.
      if (!cursor.blocked) this.startMs = Math.max(this.startMs, territoryEnd);
      return undefined;
    }
    const firstMs = naiveMs(cursor.rows[cursor.pos].date_time);
    if (firstMs >= territoryEnd) {
      this.startMs = territoryEnd;
      return undefined;
    }
    const { chunkStart, chunkEnd } = this.chunkAround(firstMs, territoryEnd);
    const chunkEndText = naiveText(chunkEnd);
    const agg = this.aggregator;
    const filter = this.filter;
    const closed: ClosedBin[] = [];
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
          this.closeBin(bin, closed);
          bin = this.openBin(naiveMs(t));
          agg.reset();
        }
        if (row.id > this.maxIdRead) this.maxIdRead = row.id;
        bin.rows++;
        if (filter(row)) {
          bin.passed++;
          agg.add(row);
          if (bin.first === undefined) bin.first = row;
          bin.last = row;
        }
      }
      consumed += i - cursor.pos;
      cursor.pos = i;
    }
    // A joined row has not arrived: the open bin may still grow; it is left for later.
    if (!blocked) this.closeBin(bin, closed);
    agg.reset();
    return { chunkStart, end: blocked ? bin.start : chunkEnd, bins: closed, rows: consumed, blocked };
  }

  /** One chunk by one streamed range query (MySQL, no joined tables), aggregated row by row as it arrives. */
  private async readRange(territoryEnd: number): Promise<ChunkRead | undefined> {
    const { bins, chunks } = this.settings;
    const range = this.range!.reader;
    const from = this.startMs;
    this.held ??= await range.hold();
    const conn = this.held.conn;
    // usually the next entry is in the chunk that `from` starts: one query gives it and the id
    // range (asked already, while the previous chunk's rows arrived, when that chunk ended here)
    const guessEnd = Math.min(bins.ceil(chunks.end(chunks.start(from))), territoryEnd);
    const inChunkOf = (start: number) => (b: RangeBounds) => b.first !== undefined && chunks.start(naiveMs(b.first)) === chunks.start(start);
    // read ahead by an earlier chunk on a spare connection: its bounds, and its rows when there are any
    const queue = this.ahead;
    this.ahead = [];
    const ahead = queue.shift();
    const asked = this.nextBounds;
    this.nextBounds = undefined;
    let rowsAhead: ReadAhead | undefined;
    let bounds: RangeBounds;
    if (ahead && ahead.from === from && ahead.to === guessEnd) {
      bounds = await ahead.bounds;
      if (inChunkOf(from)(bounds)) {
        rowsAhead = ahead;
        this.chunksReadAhead++;
      } else await ahead.done;
    } else {
      if (ahead) await ahead.done.catch(() => undefined);
      bounds = asked && asked.from === from && asked.to === guessEnd ? await asked.bounds : await range.bounds(conn, naiveText(from), naiveText(guessEnd));
    }
    let around: { chunkStart: number; chunkEnd: number };
    if (inChunkOf(from)(bounds)) {
      around = this.chunkAround(naiveMs(bounds.first!), territoryEnd);
    } else {
      const found = await range.firstFrom(conn, naiveText(from));
      if (found === undefined || naiveMs(found) >= territoryEnd) {
        // No entry left before the territory end: the remaining bins are empty gaps.
        this.startMs = Math.max(this.startMs, territoryEnd);
        for (const a of queue) await a.done.catch(() => undefined);
        await this.giveBackConnection();
        return undefined;
      }
      around = this.chunkAround(naiveMs(found), territoryEnd);
      bounds = await range.bounds(conn, naiveText(from), naiveText(around.chunkEnd));
    }
    // the next chunks: read ahead on spare connections while these rows are aggregated (asked
    // first, so the server works on them meanwhile, their rows folded as they arrive), else the
    // next one's bounds queued behind these rows on the same connection. Those read ahead
    // already go on while they follow this chunk; the others (this chunk began elsewhere) go.
    const fromText = naiveText(from);
    const toText = naiveText(around.chunkEnd);
    const nextFrom = around.chunkEnd;
    const nextEnd = (start: number) => Math.min(bins.ceil(chunks.end(chunks.start(start))), territoryEnd);
    const nextTo = nextEnd(nextFrom);
    let follows = nextFrom;
    for (const a of queue) {
      if (a.from === follows && follows < territoryEnd && a.to === nextEnd(follows)) {
        this.ahead.push(a);
        follows = a.to;
      } else await a.done.catch(() => undefined);
    }
    while (this.ahead.length < READ_AHEAD && follows < territoryEnd) {
      const spare = await range.holdSpare().catch(() => undefined);
      if (!spare) break;
      const to = nextEnd(follows);
      this.ahead.push(new ReadAhead(follows, to, spare, range, inChunkOf(follows), this.byId, this.chunkFold()));
      follows = to;
    }
    const spare = this.ahead.length > 0;
    let fold = rowsAhead ? rowsAhead.fold : this.chunkFold();
    const byId = rowsAhead ? rowsAhead.byId : this.byId;
    const reading = rowsAhead ? rowsAhead.done : range.stream(conn, bounds, fromText, toText, fold.onRow, byId);
    if (nextFrom < territoryEnd && !spare) {
      const next = range.bounds(conn, naiveText(nextFrom), naiveText(nextTo));
      next.catch(() => undefined); // awaited by the next chunk, or when the pass ends
      this.nextBounds = { from: nextFrom, to: nextTo, bounds: next };
    }
    if (await reading) {
      if (byId) this.chunksById++;
    } else {
      // ids ran against time: what was folded goes, the chunk is read again in time order
      // (queued on the held connection), and so is the rest of the pass
      this.byId = false;
      this.chunksReread++;
      fold = this.chunkFold();
      await range.stream(conn, bounds, fromText, toText, fold.onRow);
    }
    const closed = fold.finish(this.maxIdRead);
    if (fold.maxId > this.maxIdRead) this.maxIdRead = fold.maxId;
    // the connection goes back to the pool between steps (the next chunk's bounds answered first):
    // the process's other streams take turns on the same pool, and a stream holding it across its
    // turns would starve the ones beyond the pool's size
    await this.giveBackConnection();
    return { chunkStart: around.chunkStart, end: around.chunkEnd, bins: closed, rows: fold.rows, blocked: false };
  }

  /** A fold of one chunk's rows into bins, with an aggregator of its own (streamed path). */
  private chunkFold(): ChunkFold {
    return new ChunkFold(this.settings.bins, this.aggregator.spawn(), this.arrayColumns!, this.arrayFilter!, this.range!.reader.columnNames);
  }

  private openBin(t: number): OpenBin {
    const start = this.settings.bins.start(t);
    return { start, endText: naiveText(this.settings.bins.end(start)), rows: 0, passed: 0 };
  }

  /** A filled bin's aggregates, taken now; an empty bin is a gap. */
  private closeBin(bin: OpenBin, closed: ClosedBin[]): void {
    if (!bin.first || !bin.last) return;
    closed.push({ start: bin.start, first: bin.first, last: bin.last, agg: this.aggregator.result(naiveText(this.settings.bins.end(bin.start))), maxId: this.maxIdRead, rows: bin.rows, passed: bin.passed });
  }
}

/** The bin being filled: its end as text (rows compare as text) and its first/last passing entry. */
interface OpenBin {
  start: number;
  endText: string;
  /** Entries read in it so far, and those passing the filter. */
  rows: number;
  passed: number;
  first?: SourceRow;
  last?: SourceRow;
}
