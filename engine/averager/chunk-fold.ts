import { naiveMs, naiveText } from '../core/time';
import type { SourceRow } from '../source/source-row';
import { Aggregator } from '../aggregate/aggregator';
import { RowFilter } from '../aggregate/row-filter';
import { TimeBins } from './time-bins';

/** A bin whose entries are all read: its start, aggregates and first/last passing entries. */
export interface ClosedBin {
  start: number;
  first: SourceRow;
  last: SourceRow;
  agg: Record<string, number | null>;
  /** Highest source id read when the bin closed (`SCRAPE_SOURCE_IDS`, late rows). */
  maxId: number;
  /** Entries read in the bin, passing the filter or not (provenance `ROWS_SEEN`). */
  rows: number;
  /** Entries of the bin passing the filter: those averaged (provenance `SAMPLES`). */
  passed: number;
}

/**
 * One chunk's bins folded from its rows as they arrive (the averager's streamed path): `onRow`
 * takes the rows as arrays in `(date_time, id)` order, each into the running aggregates of its
 * bin (its own aggregator, so the next chunk, read ahead, folds at the same time into another);
 * `finish` closes the last bin. Nothing of a row is kept but a bin's first and last passing
 * entries, so a chunk read ahead costs no more memory than one read in turn.
 *
 * A bin's `maxId` is the highest id read when it closed: the chunk's own running maximum here,
 * raised by `finish` to the highest id read before the chunk (known only once the chunks before
 * it are done), which is the running maximum over the stream's rows in order.
 */
export class ChunkFold {
  /** Rows taken (passing the filter or not). */
  rows = 0;
  /** Highest id among them. */
  maxId = -Infinity;
  private readonly closed: ClosedBin[] = [];
  private binEnd = '';
  private binStart = NaN;
  private firstRow?: unknown[];
  private lastRow?: unknown[];
  private firstT = '';
  private lastT = '';
  private binRows = 0;
  private binPassed = 0;

  constructor(
    private readonly bins: TimeBins,
    /** Used by this fold alone (`Aggregator.spawn`), without a filter of its own. */
    private readonly agg: Aggregator,
    /** Where each aggregated column is in a row's array. */
    private readonly at: Int32Array,
    /** The regime's filter over the arrays: only passing rows are averaged and bound a validity. */
    private readonly filter: RowFilter,
    /** Column names of the arrays, for the first/last entries handed on as rows. */
    private readonly names: readonly string[],
  ) {}

  /** Folds one row (`values[0]` its id) dated `t` (source-local text). */
  readonly onRow = (values: unknown[], t: string): void => {
    this.rows++;
    const id = Number(values[0]);
    if (id > this.maxId) this.maxId = id;
    if (!(t < this.binEnd)) {
      this.close();
      this.binStart = this.bins.start(naiveMs(t));
      this.binEnd = naiveText(this.bins.end(this.binStart));
      this.firstRow = this.lastRow = undefined;
      this.binRows = 0;
      this.binPassed = 0;
      this.agg.reset();
    }
    this.binRows++;
    if (this.filter(values as unknown as SourceRow)) {
      this.binPassed++;
      this.agg.addAt(values, this.at, t);
      if (this.firstRow === undefined) {
        this.firstRow = values;
        this.firstT = t;
      }
      this.lastRow = values;
      this.lastT = t;
    }
  };

  /** Closes the last bin; the chunk's bins with every `maxId` at least `maxIdBefore`, the highest id read before the chunk. */
  finish(maxIdBefore: number): ClosedBin[] {
    this.close();
    this.agg.reset();
    for (const bin of this.closed) if (maxIdBefore > bin.maxId) bin.maxId = maxIdBefore;
    return this.closed;
  }

  /** The open bin's aggregates, taken now; a bin without a passing entry is a gap. */
  private close(): void {
    const { firstRow, lastRow } = this;
    if (!firstRow || !lastRow) return;
    this.closed.push({
      start: this.binStart,
      first: this.toRow(firstRow, this.firstT),
      last: this.toRow(lastRow, this.lastT),
      agg: this.agg.result(naiveText(this.bins.end(this.binStart))),
      maxId: this.maxId,
      rows: this.binRows,
      passed: this.binPassed,
    });
  }

  private toRow(values: unknown[], dateTime: string): SourceRow {
    const names = this.names;
    const row: Record<string, unknown> = {};
    for (let i = 0; i < names.length; i++) row[names[i]] = values[i];
    row.id = Number(row.id);
    row.date_time = dateTime;
    return row as SourceRow;
  }
}
