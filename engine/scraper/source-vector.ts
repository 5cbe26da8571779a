import { ScrapeError } from '../core/errors';
import { naiveMs, naiveText } from '../core/time';
import type { Aggregator } from '../aggregate/aggregator';
import type { ChangeTest, SuppressionTracker } from './change-rules';
import type { SourceRow } from '../source/source-row';

export type { SourceRow } from '../source/source-row';

/** The outcome of one sample, as the manual's log calls it. */
export type Decision = 'notfull' | 'unchanged' | 'changed' | 'overage';

/** One sample of the source vector: what the log line shows and, on PROCEED, what is written. */
export interface Sample {
  /** Sample count since this vector started, 1-based (the log's `SV n`). */
  n: number;
  /** sv[0]: the entry at the start of the open validity range. */
  first: SourceRow;
  /** sv[-1]: the latest sample; absent on the very first (notfull) sample. */
  last?: SourceRow;
  /**
   * The time cursor shown in the log: `settings.logCursor` (the resumed range start, as the
   * original logged it) until the first PROCEED, then `sv[0].date_time + interval`.
   */
  tcursor: string;
  decision: Decision;
  /** True for `changed` and `overage`: write a validity `[first.date_time, last.date_time)`. */
  proceed: boolean;
  /**
   * On PROCEED samples with an aggregator: the aggregates over every entry fed with
   * `first.date_time <= t < last.date_time`.
   */
  agg?: Record<string, number | null>;
  /** On PROCEED samples: samples decided in the range, this one included (provenance). */
  samples?: number;
  /** On PROCEED samples: entries fed with `first.date_time <= t < last.date_time`. */
  rows?: number;
  /** On PROCEED samples with a suppression tracker: what the deadband suppressed in the range. */
  suppressed?: ReturnType<SuppressionTracker['result']>;
}

/** What a source vector needs to know; durations in milliseconds of DB time. */
export interface SourceVectorSettings {
  /** Minimum DB-time step after sv[0] before the next sample (`interval`), > 0. */
  intervalMs: number;
  /** Candidates skipped before each sample (`offset`: 10 samples every 11th candidate). */
  offset: number;
  /** A vector older than this (strictly) propagates as `overage`. */
  maxageMs: number;
  /** The synchronous change rules. */
  changed: ChangeTest;
  /** Asynchronous change rules (JSONata `when`), consulted when `changed` is false; needs `pushAsync`. */
  changedAsync?: (first: SourceRow, last: SourceRow) => Promise<boolean>;
  /** Running aggregates over the open range; owned by the vector from now on. */
  aggregator?: Aggregator;
  /** The cursor shown in the log before the first PROCEED (the resumed range start). */
  logCursor?: string;
  /** Counts what the deadband suppresses per range (provenance); owned by the vector from now on. */
  suppression?: SuppressionTracker;
}

const FED = 0;
const FIRST = 1;
const CANDIDATE = 2;

/**
 * The source vector of one stream (docs/design.md §4): fed every entry in `(date_time, id)` order
 * from the range start, it picks the samples, decides `unchanged` / `changed` / `overage`, and
 * after a PROCEED restarts from the first entry at sv[-1]'s `date_time`. Everything it decides
 * depends only on the rows fed, so a new vector fed from a restart point (the last TIMEEND)
 * continues exactly as an uninterrupted one would. Memory is O(1) in the number of rows: it keeps
 * sv[0], the first row of the current `date_time` group and running aggregates, never the rows
 * themselves.
 */
export class SourceVector {
  private readonly intervalMs: number;
  private readonly offset: number;
  private readonly maxageMs: number;
  private readonly changed: ChangeTest;
  private readonly changedAsync?: (first: SourceRow, last: SourceRow) => Promise<boolean>;
  private readonly acc?: Aggregator;
  /** Aggregates of the current date_time group, used once the group has two rows or more. */
  private readonly pending?: Aggregator;
  private readonly logCursor?: string;
  private readonly suppression?: SuppressionTracker;
  /** Entries fed since sv[0] (sv[0] included) and `n` when the range started. */
  private rangeFed = 0;
  private rangeN = 1;

  private sv0?: SourceRow;
  private sv0Ms = NaN;
  private cursor = '';
  private shownCursor = '';
  private skipped = 0;
  private n = 0;
  private groupTime = '';
  private groupFirst?: SourceRow;
  private groupSize = 0;
  private lastId = 0;
  private latest?: SourceRow;

  constructor(settings: SourceVectorSettings) {
    if (!(settings.intervalMs > 0)) throw new ScrapeError('REGIME_SETTING', `interval must be longer than 0 (got ${settings.intervalMs} ms)`);
    if (!(Number.isInteger(settings.offset) && settings.offset >= 0)) throw new ScrapeError('REGIME_SETTING', `offset must be a whole number >= 0 (got ${settings.offset})`);
    if (!(settings.maxageMs >= 0)) throw new ScrapeError('REGIME_SETTING', `maxage must be >= 0 (got ${settings.maxageMs} ms)`);
    this.intervalMs = settings.intervalMs;
    this.offset = settings.offset;
    this.maxageMs = settings.maxageMs;
    this.changed = settings.changed;
    this.changedAsync = settings.changedAsync;
    this.acc = settings.aggregator;
    if (this.acc) {
      this.acc.reset();
      this.pending = this.acc.spawn();
    }
    this.logCursor = settings.logCursor;
    this.suppression = settings.suppression;
    this.suppression?.reset();
  }

  /** Number of samples taken so far (the `n` of the latest sample). */
  get samples(): number {
    return this.n;
  }

  /** sv[0], once a row has been fed. */
  get first(): SourceRow | undefined {
    return this.sv0;
  }

  /** sv[-1]: the latest sample since sv[0], if any. */
  get last(): SourceRow | undefined {
    return this.latest;
  }

  /** The sampling cursor `sv[0].date_time + interval` (empty before the first row): the lag is measured from it. */
  get tcursor(): string {
    return this.cursor;
  }

  /** True when the change rules include asynchronous ones: feed with `pushAsync`. */
  get needsAsync(): boolean {
    return this.changedAsync !== undefined;
  }

  /**
   * Feeds the next row. Returns the Sample when this row was sampled (the very first row too, as
   * `notfull`), else undefined. Throws when the rules are asynchronous (use `pushAsync`).
   */
  push(row: SourceRow): Sample | undefined {
    if (this.changedAsync) throw new ScrapeError('SOURCE_VECTOR_ASYNC', 'this source vector has asynchronous change rules: feed it with pushAsync');
    const k = this.feed(row);
    if (k === FED) return undefined;
    if (k === FIRST) return this.firstSample(row);
    return this.decide(row, this.changed(this.sv0 as SourceRow, row));
  }

  /** As `push`, consulting the asynchronous rules when the synchronous ones do not fire. Await each call before the next. */
  async pushAsync(row: SourceRow): Promise<Sample | undefined> {
    const k = this.feed(row);
    if (k === FED) return undefined;
    if (k === FIRST) return this.firstSample(row);
    const sv0 = this.sv0 as SourceRow;
    let changed = this.changed(sv0, row);
    if (!changed && this.changedAsync) changed = await this.changedAsync(sv0, row);
    return this.decide(row, changed);
  }

  private feed(row: SourceRow): number {
    const t = row.date_time;
    if (this.sv0 === undefined) {
      const ms = naiveMs(t);
      if (ms !== ms) throw new ScrapeError('SOURCE_TIME', `source row id ${row.id}: unusable date_time '${String(t)}'`);
      this.sv0 = row;
      this.sv0Ms = ms;
      this.cursor = naiveText(ms + this.intervalMs);
      this.shownCursor = this.logCursor ?? this.cursor;
      this.groupTime = t;
      this.groupFirst = row;
      this.groupSize = 1;
      this.lastId = row.id;
      this.n = 1;
      this.rangeFed = 1;
      this.rangeN = 1;
      return FIRST;
    }
    if (t !== this.groupTime) {
      if (!(t > this.groupTime)) throw new ScrapeError('SOURCE_ORDER', `source row id ${row.id} at '${String(t)}' comes after '${this.groupTime}': rows must arrive in (date_time, id) order`);
      if (this.acc) this.fold();
      this.groupTime = t;
      this.groupFirst = row;
      this.groupSize = 1;
    } else {
      if (!(row.id > this.lastId)) throw new ScrapeError('SOURCE_ORDER', `source row id ${row.id} at '${t}' comes after id ${this.lastId}: rows must arrive in (date_time, id) order`);
      if (this.pending) {
        if (this.groupSize === 1) {
          this.pending.reset();
          this.pending.add(this.groupFirst as SourceRow);
        }
        this.pending.add(row);
      }
      this.groupSize++;
    }
    this.lastId = row.id;
    this.rangeFed++;
    if (t < this.cursor) return FED;
    if (this.skipped < this.offset) {
      this.skipped++;
      return FED;
    }
    this.skipped = 0;
    this.n++;
    return CANDIDATE;
  }

  /** Folds the finished date_time group into the range's aggregates. */
  private fold(): void {
    const acc = this.acc as Aggregator;
    if (this.groupSize === 1) acc.add(this.groupFirst as SourceRow);
    else acc.merge(this.pending as Aggregator);
  }

  private firstSample(row: SourceRow): Sample {
    return { n: 1, first: row, tcursor: this.shownCursor, decision: 'notfull', proceed: false };
  }

  private decide(row: SourceRow, changed: boolean): Sample {
    const sv0 = this.sv0 as SourceRow;
    const decision: Decision = changed ? 'changed' : naiveMs(row.date_time) - this.sv0Ms > this.maxageMs ? 'overage' : 'unchanged';
    const proceed = decision !== 'unchanged';
    const sample: Sample = { n: this.n, first: sv0, last: row, tcursor: this.shownCursor, decision, proceed };
    this.latest = row;
    if (!proceed) {
      this.suppression?.add(sv0, row);
    } else {
      // rows at sv[-1]'s date_time fed so far (the current group) belong to the next range
      sample.rows = this.rangeFed - this.groupSize;
      sample.samples = this.n - this.rangeN;
      this.rangeFed = this.groupSize;
      this.rangeN = this.n;
      if (this.suppression) {
        sample.suppressed = this.suppression.result();
        this.suppression.reset();
      }
      if (this.acc) {
        sample.agg = this.acc.result(row.date_time);
        this.acc.reset();
      }
      const next = this.groupFirst as SourceRow; // the first entry at sv[-1].date_time
      this.sv0 = next;
      this.sv0Ms = naiveMs(next.date_time);
      this.cursor = naiveText(this.sv0Ms + this.intervalMs);
      this.shownCursor = this.cursor;
      this.skipped = 0;
      this.latest = undefined;
    }
    return sample;
  }
}

function hms(row: SourceRow): string {
  return String(row.date_time).slice(11, 19);
}

/**
 * The manual's source-vector log line, column for column:
 * `SV 8   (6, 13)  2011-02-01 00:01:00 full       overage    (00:01:00 00:02:10)  ==> PROCEED`;
 * with `zone`, the (source-local) time cursor is labelled with it:
 * `SV 8   (6, 13)  2011-02-01 00:01:00 Asia/Shanghai full …`.
 */
export function formatSvLine(s: Sample, zone?: string): string {
  const ids = s.last ? `(${s.first.id}, ${s.last.id})` : `(${s.first.id},)`;
  const full = s.last ? 'full' : 'partial';
  const times = `(${hms(s.first)} ${s.last ? hms(s.last) : '++'})`;
  return `SV ${String(s.n).padEnd(3)} ${ids.padEnd(8)} ${s.tcursor}${zone ? ` ${zone}` : ''} ${full.padEnd(10)} ${s.decision.padEnd(10)} ${times}  ==>${s.proceed ? ' PROCEED' : ''}`;
}

/** The fields of a sample's log line (JSON logs): its number, ids, source-local times, zone and decision. */
export function svFields(s: Sample, stream: string, zone: string): Record<string, unknown> {
  return {
    stream,
    sample: s.n,
    first_id: s.first.id,
    last_id: s.last?.id,
    first_time: String(s.first.date_time),
    last_time: s.last ? String(s.last.date_time) : undefined,
    zone,
    reason: s.decision,
    proceed: s.proceed,
  };
}
