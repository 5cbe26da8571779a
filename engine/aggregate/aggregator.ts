import type { AggregateDecl, AggregateFunction } from '../config/regime';
import { ScrapeError } from '../core/errors';
import { naiveMs } from '../core/time';
import type { SourceRow } from '../source/source-row';
import { RowFilter, compileFilter, toNumber } from './row-filter';

/**
 * Running aggregates with MySQL semantics, fed one source row at a time, so that the scraper
 * never re-reads or re-scans rows and never issues one aggregate query per sample
 * (docs/design.md §4.6, §9).
 *
 * Per column: NULLs (and non-numeric values) are ignored; `avg` = sum / count like SQL `AVG`;
 * `std`/`variance` are population, `stddev_samp`/`var_samp` sample (NULL below 2 values), from
 * Welford's running mean and M2 (numerically stable, mergeable with Chan's formula); `count` is
 * `COUNT(col)`; `first`/`last` the first/last non-NULL value in `(date_time, id)` order; `twavg`
 * the time-weighted average where each non-NULL value is held until the next non-NULL value of the
 * same column and the last one until `endTime` (plain `avg` when the total weight is zero).
 * Rows failing the structured filter are not counted at all. With zero rows every `<col>_<fn>`
 * is `decl.none` and the row count is 0.
 */
export class Aggregator {
  /** The aggregated columns, in order. */
  readonly columns: readonly string[];
  /** The output key for the row count (`decl.count`). */
  readonly countKey: string;
  private readonly functions: readonly AggregateFunction[];
  private readonly none: number | null;
  private readonly filter: RowFilter;
  private readonly hasFilter: boolean;
  private readonly timed: boolean;
  /** Some function needs the values' order (`first`, `last`, `twavg`): only then are first/last values and time weights kept. */
  private readonly ordered: boolean;
  private readonly keys: string[][];
  private readonly decl: AggregateDecl;

  private rows = 0;
  private readonly n: Float64Array;
  private readonly sum: Float64Array;
  private readonly mean: Float64Array;
  private readonly m2: Float64Array;
  private readonly min: Float64Array;
  private readonly max: Float64Array;
  private readonly first: Float64Array;
  private readonly last: Float64Array;
  private readonly firstT: Float64Array;
  private readonly lastT: Float64Array;
  private readonly wsum: Float64Array;
  private readonly wtotal: Float64Array;
  private cachedText = '';
  private cachedMs = NaN;

  /** `decl` as loaded: every key present (schema defaults filled in by engine/config; the averager's from averagerAggregate). */
  constructor(columns: readonly string[], decl: AggregateDecl) {
    this.decl = decl;
    this.columns = [...columns];
    this.functions = [...decl.functions];
    this.countKey = decl.count;
    this.none = decl.none;
    this.filter = compileFilter(decl.filter);
    this.hasFilter = decl.filter.length > 0;
    this.timed = this.functions.includes('twavg');
    this.ordered = this.timed || this.functions.includes('first') || this.functions.includes('last');
    this.keys = this.columns.map((c) => this.functions.map((f) => `${c}_${f}`));
    const k = this.columns.length;
    this.n = new Float64Array(k);
    this.sum = new Float64Array(k);
    this.mean = new Float64Array(k);
    this.m2 = new Float64Array(k);
    this.min = new Float64Array(k);
    this.max = new Float64Array(k);
    this.first = new Float64Array(k);
    this.last = new Float64Array(k);
    this.firstT = new Float64Array(k);
    this.lastT = new Float64Array(k);
    this.wsum = new Float64Array(k);
    this.wtotal = new Float64Array(k);
    this.reset();
  }

  /** A fresh, empty aggregator with the same columns and declaration. */
  spawn(): Aggregator {
    return new Aggregator(this.columns, this.decl);
  }

  /** Number of rows that passed the filter since the last reset. */
  get count(): number {
    return this.rows;
  }

  /** Forgets everything: the state of a newly built aggregator. */
  reset(): void {
    this.rows = 0;
    this.n.fill(0);
    this.sum.fill(0);
    this.mean.fill(0);
    this.m2.fill(0);
    this.min.fill(Infinity);
    this.max.fill(-Infinity);
    this.first.fill(0);
    this.last.fill(0);
    this.firstT.fill(0);
    this.lastT.fill(0);
    this.wsum.fill(0);
    this.wtotal.fill(0);
  }

  /** Folds one row (rows must come in `(date_time, id)` order); rows failing the filter are ignored. */
  add(row: SourceRow): void {
    if (!this.filter(row)) return;
    this.rows++;
    let t = 0;
    if (this.timed) t = this.timeOf(row.date_time);
    const cols = this.columns;
    for (let i = 0; i < cols.length; i++) {
      const x = toNumber(row[cols[i]]);
      if (x !== x) continue; // NULL or not numeric
      this.fold(i, x, t);
    }
  }

  /** Folds value `x` of column `i` at DB time `t` into the running figures (Welford, twavg). */
  private fold(i: number, x: number, t: number): void {
    const n = this.n[i] + 1;
    this.n[i] = n;
    this.sum[i] += x;
    const d = x - this.mean[i];
    this.mean[i] += d / n;
    this.m2[i] += d * (x - this.mean[i]);
    if (x < this.min[i]) this.min[i] = x;
    if (x > this.max[i]) this.max[i] = x;
    if (!this.ordered) return;
    if (n === 1) {
      this.first[i] = x;
      this.firstT[i] = t;
    } else {
      const dt = t - this.lastT[i];
      this.wsum[i] += this.last[i] * dt;
      this.wtotal[i] += dt;
    }
    this.last[i] = x;
    this.lastT[i] = t;
  }

  /**
   * As `add` for a row held as an array (mysql2 `rowsAsArray`): column `i` is `values[at[i]]`,
   * `dateTime` its `date_time`. For bulk readers that have already applied the filter: only on
   * aggregators without one.
   */
  addAt(values: readonly unknown[], at: ArrayLike<number>, dateTime: string): void {
    if (this.hasFilter) throw new ScrapeError('AGGREGATE_FILTER', 'addAt needs an aggregator without a filter (the caller filters)');
    this.rows++;
    const k = this.columns.length;
    if (this.ordered) {
      let t = 0;
      if (this.timed) t = this.timeOf(dateTime);
      for (let i = 0; i < k; i++) {
        const v = values[at[i]];
        const x = typeof v === 'number' ? v : toNumber(v);
        if (x !== x) continue; // NULL or not numeric
        this.fold(i, x, t);
      }
      return;
    }
    // `fold` without the order's bookkeeping, the same arithmetic in the same order (the bulk
    // readers' loop: 18 values a row over millions of rows)
    const { n, sum, mean, m2, min, max } = this;
    for (let i = 0; i < k; i++) {
      const v = values[at[i]];
      const x = typeof v === 'number' ? v : toNumber(v);
      if (x !== x) continue; // NULL or not numeric
      const c = n[i] + 1;
      n[i] = c;
      sum[i] += x;
      const d = x - mean[i];
      const mu = mean[i] + d / c;
      mean[i] = mu;
      m2[i] += d * (x - mu);
      if (x < min[i]) min[i] = x;
      if (x > max[i]) max[i] = x;
    }
  }

  /**
   * Folds `later` (built from rows that all come after this one's) into this aggregator. Merging
   * into an empty aggregator copies `later` exactly, so results do not depend on where a run
   * started.
   */
  merge(later: Aggregator): void {
    if (later.columns.length !== this.columns.length) throw new ScrapeError('AGGREGATE_MERGE', 'cannot merge aggregators over different columns');
    if (later.rows === 0) return;
    this.rows += later.rows;
    for (let i = 0; i < this.columns.length; i++) {
      const nb = later.n[i];
      if (nb === 0) continue;
      const na = this.n[i];
      if (na === 0) {
        this.n[i] = nb;
        this.sum[i] = later.sum[i];
        this.mean[i] = later.mean[i];
        this.m2[i] = later.m2[i];
        this.min[i] = later.min[i];
        this.max[i] = later.max[i];
        this.first[i] = later.first[i];
        this.firstT[i] = later.firstT[i];
        this.last[i] = later.last[i];
        this.lastT[i] = later.lastT[i];
        this.wsum[i] = later.wsum[i];
        this.wtotal[i] = later.wtotal[i];
        continue;
      }
      const n = na + nb;
      const delta = later.mean[i] - this.mean[i];
      this.mean[i] += (delta * nb) / n;
      this.m2[i] += later.m2[i] + (delta * delta * na * nb) / n;
      this.n[i] = n;
      this.sum[i] += later.sum[i];
      if (later.min[i] < this.min[i]) this.min[i] = later.min[i];
      if (later.max[i] > this.max[i]) this.max[i] = later.max[i];
      const gap = later.firstT[i] - this.lastT[i];
      this.wsum[i] += this.last[i] * gap + later.wsum[i];
      this.wtotal[i] += gap + later.wtotal[i];
      this.last[i] = later.last[i];
      this.lastT[i] = later.lastT[i];
    }
  }

  /**
   * The aggregates so far: `<column>_<fn>` for every column and function, plus the row count under
   * `decl.count`. `endTime` (source-local text, sv[-1].date_time) ends the hold of the last value
   * for `twavg`; without it the last value has no weight.
   */
  result(endTime?: string): Record<string, number | null> {
    const out: Record<string, number | null> = {};
    const cols = this.columns;
    const fns = this.functions;
    if (this.rows === 0) {
      for (let i = 0; i < cols.length; i++) for (let j = 0; j < fns.length; j++) out[this.keys[i][j]] = this.none;
      out[this.countKey] = 0;
      return out;
    }
    const end = endTime === undefined || !this.timed ? NaN : naiveMs(endTime);
    for (let i = 0; i < cols.length; i++) {
      const n = this.n[i];
      for (let j = 0; j < fns.length; j++) out[this.keys[i][j]] = this.value(i, n, fns[j], end);
    }
    out[this.countKey] = this.rows;
    return out;
  }

  private value(i: number, n: number, fn: AggregateFunction, end: number): number | null {
    if (fn === 'count') return n;
    if (n === 0) return null;
    switch (fn) {
      case 'avg':
        return this.sum[i] / n;
      case 'sum':
        return this.sum[i];
      case 'min':
        return this.min[i];
      case 'max':
        return this.max[i];
      case 'std':
        return Math.sqrt(Math.max(0, this.m2[i]) / n);
      case 'variance':
        return Math.max(0, this.m2[i]) / n;
      case 'stddev_samp':
        return n < 2 ? null : Math.sqrt(Math.max(0, this.m2[i]) / (n - 1));
      case 'var_samp':
        return n < 2 ? null : Math.max(0, this.m2[i]) / (n - 1);
      case 'first':
        return this.first[i];
      case 'last':
        return this.last[i];
      case 'twavg': {
        let wsum = this.wsum[i];
        let wtotal = this.wtotal[i];
        if (end === end && end > this.lastT[i]) {
          const hold = end - this.lastT[i];
          wsum += this.last[i] * hold;
          wtotal += hold;
        }
        return wtotal > 0 ? wsum / wtotal : this.sum[i] / n;
      }
      default:
        throw new ScrapeError('AGGREGATE_FUNCTION', `unknown aggregate function '${String(fn)}'`);
    }
  }

  private timeOf(text: string): number {
    if (text !== this.cachedText) {
      this.cachedText = text;
      this.cachedMs = naiveMs(text);
    }
    return this.cachedMs;
  }
}


/**
 * The columns to aggregate, decided once per stream: every column not in `decl.skips` whose value
 * in `sampleRow` (when given) is NULL or numeric. Text columns and the skipped ones drop out.
 * `decl.skips` is as loaded (schema default `[id, date_time]`).
 */
export function aggregateColumns(columns: readonly string[], sampleRow: SourceRow | undefined, decl: Pick<AggregateDecl, 'skips'>): string[] {
  const skips = new Set(decl.skips);
  return columns.filter((c) => {
    if (skips.has(c)) return false;
    if (!sampleRow) return true;
    const v = sampleRow[c];
    return v === null || v === undefined || !Number.isNaN(toNumber(v));
  });
}
