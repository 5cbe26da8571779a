import { Clock } from '../core/clock';
import { Logger, logs } from '../core/logger';
import { Regime } from '../config/regime';
import { isValidTimeText, localToEpochMs, localToUtc, naiveMs } from '../core/time';
import { announceResume } from '../stream/announce-resume';
import { FutureQuarantine } from '../stream/quarantine';
import { LateRows } from '../stream/late-rows';
import { TargetSet, nextTurn } from '../stream/target-set';
import { StepResult, StreamTotals, StreamWorker, emptyStep } from '../stream/stream-worker';
import { SourceKey, SourcePage, SourceReader, SourceRow, StreamedPage } from '../source/source-reader';
import { SourceStream } from '../source/source-stream';
import { Aggregator } from '../aggregate/aggregator';
import { CompiledChangeRules } from './change-rules';
import { Sample, SourceVector, formatSvLine, svFields } from './source-vector';

/** Settings of one stream, already parsed into numbers. */
export interface StreamSettings {
  intervalMs: number;
  offset: number;
  maxageMs: number;
  /** Samples to take before stopping (0 = no limit). */
  maxiter: number;
  timefloor: string;
  pageSize: number;
  joinWaitMs: number;
  seed?: { timestart: string; timeend: string };
}

/** A page streaming into the source vector: what its rows did, for the step that takes it. */
interface StreamedRun {
  page: Promise<StreamedPage>;
  result: StepResult;
  /** PROCEED samples not mapped yet, in order. */
  proceeds: Sample[];
  /** maxiter reached within the page. */
  stoppedEarly: boolean;
  /** Key of its last row handed on. */
  lastKey?: SourceKey;
}

/** Values processed between two turns of the event loop while a page is processed (about 1 ms). */
const YIELD_VALUES = 25_000;

/**
 * Runs one source stream: resumes from the target's last validity, reads keyset pages, feeds the
 * source vector, turns PROCEED samples into DBI propagations and writes each page's propagations
 * in one transaction per target. Holds O(1) rows besides the current page (and, while catching
 * up, the next one, read ahead).
 */
export class StreamRunner implements StreamWorker {
  private readonly counts = { rowsRead: 0, rowsSkipped: 0, samples: 0, propagations: 0 };
  private vector?: SourceVector;
  private rangeStart = '';
  private lastKey?: SourceKey;
  /**
   * `lastKey` as of the last step returned (progress and lag): a page already streaming for the
   * next step has moved `lastKey` on, not the step's report.
   */
  private reportedKey?: SourceKey;
  private joinWaitSince?: number;
  /** The last page stopped at an entry whose joined row has not arrived yet. */
  private waitingForJoin = false;
  private lastSample?: Sample;
  /** During catch-up: the next page, read while this one is processed (from `after`). */
  private prefetch?: { after: SourceKey; page: Promise<SourcePage> };
  /**
   * Rows are processed as the driver parses them (`streamPage`): MySQL with synchronous change
   * rules. Otherwise, and for the page after a missing joined row (`pageMode`), whole pages.
   */
  private readonly streaming: boolean;
  private pageMode = false;
  /** While catching up by streamed pages: the next page, streaming while this one is mapped and written. */
  private nextStream?: StreamedRun;
  /**
   * Highest source `id` read so far (a running max: ids need not grow with `date_time`), from the
   * target's mark on at resume; each decision carries it into `SCRAPE_SOURCE_IDS` (late rows).
   */
  private maxIdRead = -Infinity;
  /** The late-row check (`LateRows`), set by the stream builder. */
  lateRows?: LateRows;
  /** See `StreamWorker.sourceLatestMs`. */
  sourceLatestMs?: number;
  /** Bumped by `resume`: a page still streaming from before stops handing rows on. */
  private generation = 0;
  /**
   * The last step read to the end of the source: PROCEED lines at info. False until then and
   * while full pages are read (catching up): PROCEED lines at debug, the progress lines count them.
   */
  live = false;

  constructor(
    readonly stream: SourceStream,
    private readonly regime: Regime,
    private readonly reader: SourceReader,
    readonly targets: TargetSet,
    private readonly settings: StreamSettings,
    private readonly changes: CompiledChangeRules,
    private readonly makeAggregator: (() => Aggregator) | undefined,
    private readonly logger: Logger,
    private readonly clock: Clock,
    /** Counts the rows the reader leaves for later (dated past `future_limit`); none when absent. */
    private readonly quarantine?: FutureQuarantine,
  ) {
    // Wide rows stay the driver's arrays through the source vector when nothing there needs
    // names (no aggregates, no JSONata rules): objects are made for sv[0] and sv[-1] at PROCEED.
    if (!makeAggregator && !changes.asyncTest && changes.forArrays && reader.useArrayRows()) {
      this.changedTest = changes.forArrays((c) => reader.columnIndex(c));
      this.arrayRows = true;
    } else {
      this.changedTest = changes.test;
    }
    this.streaming = reader.canStream() && !changes.asyncTest;
  }

  /** True when the source vector is fed the reader's array rows. */
  private readonly arrayRows: boolean = false;

  /** The synchronous change test the source vector uses (over array rows when the reader gives them). */
  private readonly changedTest: CompiledChangeRules['test'];

  /** Counters of the stream since it started. */
  get totals(): StreamTotals {
    return { ...this.counts, writes: this.targets.writes };
  }

  /** Context fields bound as `ctx` in mappings: captures, context columns, table name. */
  get ctx(): Record<string, unknown> {
    return { ...this.stream.captures, ...this.stream.context, table: this.stream.table };
  }

  /** Zone of the source-local times (the regime's `timezone`). */
  get timezone(): string {
    return this.stream.zone;
  }

  /** Local time the stream resumes from (after `resume`). */
  get resumeTime(): string {
    return this.rangeStart;
  }

  /** Source-local `date_time` of the last entry consumed (the resume time before any): progress lines. */
  get cursor(): string {
    return this.reportedKey?.date_time ?? this.rangeStart;
  }

  /** Rows dated past `future_limit` at the last count: not read until the wall clock reaches them. */
  get quarantined(): number {
    return this.quarantine?.count ?? 0;
  }

  /** Late rows found since the stream started; undefined when it does not check. */
  get late(): number | undefined {
    return this.lateRows?.count;
  }

  /** Latest sample, for lag and status. */
  get latestSample(): Sample | undefined {
    return this.lastSample;
  }

  /**
   * Finds where to start: the largest TIMEEND of the stream's context over the targets (each
   * target also remembers its own, so a target that is behind is filled without duplicating
   * the others), the seed validity for an empty target when seeding, else `timefloor`.
   */
  async resume(): Promise<void> {
    // a page read ahead belongs to the run before: forgotten (one still streaming stops handing
    // rows on and is let finish); a write in flight is let finish first
    this.prefetch = undefined;
    this.generation++;
    const streaming = this.nextStream;
    this.nextStream = undefined;
    if (streaming) await streaming.page.catch(() => undefined);
    const { timefloor } = this.settings;
    const timezone = this.stream.zone;
    let lasts = await this.targets.lastValidities();
    const seed = this.settings.seed;
    if (seed && lasts.some((last) => last === undefined)) {
      const timestart = localToUtc(seed.timestart, timezone);
      const timeend = localToUtc(seed.timeend, timezone);
      for (const table of await this.targets.seed(timestart, timeend, lasts.map((last) => last === undefined))) {
        this.logger.log('info', `seeded ${table} for ${this.stream.table} with [${seed.timestart}, ${seed.timeend}) ${timezone}`, { stream: this.stream.table, table, reason: 'seed', from: seed.timestart, to: seed.timeend, zone: timezone });
      }
      lasts = await this.targets.lastValidities();
    }
    // each target's last TIMEEND in local time (its TIMESTART after a gap: see resumePoints)
    const ends = this.targets.resumePoints;
    this.targets.holdBefore(ends.map((e) => (e === undefined ? undefined : naiveMs(e))));
    // Start from the earliest target: a target that is ahead skips what it already holds.
    const known = ends.filter((e): e is string => e !== undefined);
    let start = ends.some((e) => e === undefined) || known.length === 0 ? timefloor : known.reduce((a, b) => (a < b ? a : b));
    if (start < timefloor) start = timefloor;
    this.rangeStart = start;
    this.lastKey = undefined;
    this.reportedKey = undefined;
    this.pageMode = false;
    this.vector = new SourceVector({
      intervalMs: this.settings.intervalMs,
      offset: this.settings.offset,
      maxageMs: this.settings.maxageMs,
      changed: this.changedTest,
      changedAsync: this.changes.asyncTest ? (first, last) => this.changes.asyncTest!(first, last, this.ctx) : undefined,
      aggregator: this.makeAggregator?.(),
      logCursor: start,
      suppression: this.arrayRows ? this.changes.suppression((c) => this.reader.columnIndex(c)) : this.changes.suppression(),
    });
    await announceResume(this.reader, this.stream, this.logger, timefloor, start, timezone);
    await this.quarantine?.check(true);
    await this.lateRows?.check(true);
    // what the stream had read before it stopped counts as read (a row read then is not late)
    const mark = this.lateRows?.mark;
    if (mark && mark.maxId > this.maxIdRead) this.maxIdRead = mark.maxId;
  }

  /**
   * Reads one page and processes it. While catching up (full pages), the page's propagations are
   * written while the next page is processed (one write in flight; the next step waits for it
   * before starting its own, so writes stay in order and a failed write fails the next step).
   * When a step fails, the write in flight is waited for before the error is passed on, so the
   * resume that follows sees the target as it is.
   */
  async step(): Promise<StepResult> {
    try {
      return await this.stepPage();
    } catch (err) {
      await this.targets.settle();
      throw err;
    }
  }

  private async stepPage(): Promise<StepResult> {
    if (!this.vector) await this.resume();
    else {
      await this.quarantine?.check();
      await this.lateRows?.check();
    }
    const vector = this.vector!;
    const { maxiter } = this.settings;
    const result: StepResult = emptyStep();
    // a page already streaming is taken first: its samples count before maxiter stops the stream
    if (this.nextStream) return this.streamStep(vector);
    if (maxiter > 0 && vector.samples >= maxiter) return { ...result, caughtUp: true, finished: true };
    if (this.streaming && !this.pageMode) return this.streamStep(vector);
    const page = await this.readPage();
    if (page.full && !page.waitingForJoin && page.lastKey && !this.streaming) {
      // catching up: the database reads the next page while this one is processed
      // (not when rows stream: the next step streams again unless it waits for a joined row)
      const after = page.lastKey;
      const next = this.reader.readPage(this.rangeStart, after);
      next.catch(() => undefined); // awaited by the next step, or dropped
      this.prefetch = { after, page: next };
    }
    for (const row of page.skipped) {
      if (row.id > this.maxIdRead) this.maxIdRead = row.id;
      this.logger.log('warn', `${this.stream.table} id ${row.id} at ${row.date_time} ${this.stream.zone}: joined row missing while the joined table is past it; entry skipped`, { stream: this.stream.table, id: row.id, time: row.date_time, zone: this.stream.zone });
    }
    this.counts.rowsSkipped += page.skipped.length;
    let stoppedEarly = false;
    const debug = logs(this.logger, 'debug');
    // Every YIELD_VALUES values the loop lets the event loop run: the write in flight goes on
    // to its next statement and the page read ahead is taken off the socket meanwhile, instead
    // of both waiting until this page is done (measured on pmthv: 1.8 s less waiting for writes).
    const yieldEvery = Math.max(16, Math.floor(YIELD_VALUES / this.reader.rowWidth));
    let untilYield = yieldEvery;
    for (const row of page.rows) {
      if (--untilYield === 0) {
        untilYield = yieldEvery;
        await nextTurn();
      }
      const sample = vector.needsAsync ? await vector.pushAsync(row) : vector.push(row);
      this.lastKey = { date_time: row.date_time, id: row.id };
      if (row.id > this.maxIdRead) this.maxIdRead = row.id;
      const proceed = this.took(sample, vector, result, debug);
      if (proceed) {
        await this.propagate(proceed);
        result.propagations++;
        if (this.targets.overBudget) await this.targets.writeBehind();
      }
      if (result.finished) {
        stoppedEarly = true;
        break;
      }
    }
    if (!stoppedEarly && page.skipped.length && page.lastKey && (!this.lastKey || page.lastKey.date_time > this.lastKey.date_time || (page.lastKey.date_time === this.lastKey.date_time && page.lastKey.id > this.lastKey.id))) {
      this.lastKey = page.lastKey;
    }
    // catching up: this page's propagations are written while the next one is processed
    if (page.full && !page.waitingForJoin && !stoppedEarly && this.prefetch) await this.targets.writeBehind();
    else await this.flush();
    this.addTotals(result);
    // the joined row waited on has come or was skipped: rows stream again
    if (!page.waitingForJoin) this.pageMode = false;
    this.waitingForJoin = page.waitingForJoin;
    if (page.waitingForJoin) {
      const now = this.clock.now();
      const at = page.waitingAt;
      const what = at ? `id ${at.key.id} at ${at.key.date_time} ${this.stream.zone} has no row in ${at.tables.join(', ')} yet` : 'a joined row is missing';
      if (this.joinWaitSince === undefined) {
        // Said once per wait: nothing at or after this entry is scraped until its joined row arrives.
        this.joinWaitSince = now;
        this.logger.log('info', `${this.stream.table}: ${what}; waiting for it (no partial row is written)`, { stream: this.stream.table });
      } else if (now - this.joinWaitSince >= this.settings.joinWaitMs) {
        this.logger.log('warn', `${this.stream.table}: still waiting: ${what}; joined table(s) lag behind by more than ${this.regime.scraper.join_wait}`, { stream: this.stream.table });
        this.joinWaitSince = now;
      }
    } else {
      this.joinWaitSince = undefined;
    }
    result.caughtUp = !page.full && !stoppedEarly;
    this.live = result.caughtUp;
    this.reportedKey = this.lastKey;
    return result;
  }

  /**
   * Counts one row the source vector took and what it made of it: its sample (logged as the
   * manual's SV line: PROCEEDs at info once live, every sample at debug), the PROCEED sample to
   * propagate, and `finished` once maxiter samples are taken. The same for whole and streamed
   * pages.
   */
  private took(sample: Sample | undefined, vector: SourceVector, result: StepResult, debug: boolean): Sample | undefined {
    result.rowsRead++;
    if (!sample) return undefined;
    result.samples++;
    this.lastSample = sample;
    const level = sample.proceed && this.live ? 'info' : debug ? 'debug' : undefined;
    if (level) {
      const zone = this.stream.zone;
      this.logger.log(level, formatSvLine(sample, zone), svFields(sample, this.stream.table, zone));
    }
    const { maxiter } = this.settings;
    if (maxiter > 0 && vector.samples >= maxiter) result.finished = true;
    return sample.proceed ? sample : undefined;
  }

  /**
   * One streamed page: each row goes through the source vector as the driver parses it (no page
   * held, so pages are `page_size` rows however wide); PROCEED samples are mapped once the page
   * is in. While catching up, the next page starts streaming before this one's samples are
   * mapped and its write (which then runs while the next page streams) is handed over. A row
   * whose joined row is missing ends delivery; the next step reads on by whole pages, which wait
   * for it or skip it.
   */
  private async streamStep(vector: SourceVector): Promise<StepResult> {
    const run = this.nextStream ?? this.startStream(vector);
    this.nextStream = undefined;
    const page = await run.page;
    const { result } = run;
    if (page.joinMissing && !run.stoppedEarly) this.pageMode = true;
    const more = (page.full || page.joinMissing) && !run.stoppedEarly;
    if (more) this.live = false; // the next page streams in as catch-up
    if (more && !page.joinMissing) this.nextStream = this.startStream(vector);
    await this.mapProceeds(run);
    // catching up: this page's propagations are written while the next one streams
    if (more) await this.targets.writeBehind();
    else await this.flush();
    this.waitingForJoin = false;
    this.joinWaitSince = undefined;
    result.caughtUp = !more;
    this.live = result.caughtUp;
    this.reportedKey = run.lastKey ?? this.reportedKey;
    return result;
  }

  /**
   * Starts streaming the page after `lastKey` into `vector`: its rows advance `lastKey` as they
   * come, its PROCEED samples wait in the run for `mapProceeds`. A resume in between (a new
   * generation) stops its delivery.
   */
  private startStream(vector: SourceVector): StreamedRun {
    const generation = this.generation;
    const debug = logs(this.logger, 'debug');
    const result: StepResult = emptyStep();
    const run: StreamedRun = { result, proceeds: [], stoppedEarly: false, page: undefined as unknown as Promise<StreamedPage> };
    run.page = this.reader.streamPage(this.rangeStart, this.lastKey, (row) => {
      if (generation !== this.generation) return false;
      const sample = vector.push(row);
      this.lastKey = run.lastKey = { date_time: row.date_time, id: row.id };
      if (row.id > this.maxIdRead) this.maxIdRead = row.id;
      const proceed = this.took(sample, vector, result, debug);
      if (proceed) run.proceeds.push(proceed);
      run.stoppedEarly = result.finished;
      return !result.finished;
    });
    run.page.catch(() => undefined); // awaited by the next step, flush or resume
    return run;
  }

  /** Maps a streamed page's PROCEED samples into pending propagations, in order, and counts the page. */
  private async mapProceeds(run: StreamedRun): Promise<void> {
    for (let k = 0; k < run.proceeds.length; k++) {
      const sample = run.proceeds[k];
      await this.propagate(sample);
      run.result.propagations++;
      // the process holds as many decided rows as it may: these are written before more are mapped
      if (this.targets.overBudget) await this.targets.writeBehind();
      else if (k % 16 === 15) await nextTurn(); // a page streaming in is read in between
    }
    run.proceeds.length = 0; // their rows are mapped: not held while the last write finishes
    this.addTotals(run.result);
  }

  private addTotals(result: StepResult): void {
    this.counts.rowsRead += result.rowsRead;
    this.counts.samples += result.samples;
    this.counts.propagations += result.propagations;
  }

  /**
   * Lag of the stream in DB time, for sleep tuning: latest source date_time minus the read cursor
   * (the last entry consumed). Measured from the entries read, not from sv[0] + interval: an open
   * range only ages while the scraper waits for the next change, and counting that age as lag
   * would tune the sleep to 0 and spin on empty pages. A stream waiting for a joined table is not
   * behind either (reading sooner cannot help): lag 0.
   */
  async lagMs(): Promise<number> {
    const latest = await this.reader.latestTime();
    this.sourceLatestMs = latest && isValidTimeText(latest) ? localToEpochMs(latest, this.stream.zone) : undefined;
    if (this.waitingForJoin) return 0;
    if (!latest) return 0;
    const cursor = this.cursor;
    if (!cursor) return 0;
    return Math.max(0, naiveMs(latest) - naiveMs(cursor));
  }

  /** Hands a PROCEED sample to the targets (mapped for each target that lacks it). */
  private async propagate(sample: Sample): Promise<void> {
    const first = this.reader.materialize(sample.first);
    const last = this.reader.materialize(sample.last as SourceRow);
    const fired = sample.decision === 'changed' ? await this.changes.explain(first, last, this.ctx) : undefined;
    await this.targets.add({
      positionMs: naiveMs(first.date_time),
      first,
      last,
      agg: sample.agg,
      reason: sample.decision,
      maxSourceId: this.maxIdRead,
      fired,
      samples: sample.samples,
      rows: sample.rows,
      suppressed: sample.suppressed,
    });
  }


  /** Nothing is held between steps beyond the targets' write, which `flush` ends. */
  async close(): Promise<void> {}

  /** Writes the propagations collected so far (after the write in flight, if any), one transaction per target. */
  async flush(): Promise<void> {
    // a page already streaming: its decisions are made, so they are written too
    const run = this.nextStream;
    this.nextStream = undefined;
    if (run) {
      await run.page;
      await this.mapProceeds(run);
      this.reportedKey = run.lastKey ?? this.reportedKey;
    }
    await this.targets.flush();
  }

  /** The page after `lastKey`: the one read ahead when it starts there, else read now. */
  private async readPage(): Promise<SourcePage> {
    const ahead = this.prefetch;
    this.prefetch = undefined;
    const key = this.lastKey;
    if (ahead && key && ahead.after.id === key.id && ahead.after.date_time === key.date_time) return ahead.page;
    return this.reader.readPage(this.rangeStart, this.lastKey);
  }
}
