import { SourceStream } from '../source/source-stream';
import { LateRows } from './late-rows';
import { TargetSet } from './target-set';

/** What one step of a stream did. */
export interface StepResult {
  rowsRead: number;
  samples: number;
  propagations: number;
  /** No more source rows now (or waiting for a joined table, or no complete bin left). */
  caughtUp: boolean;
  /** maxiter reached: this stream takes no more samples. */
  finished: boolean;
}

/** Counters of a stream since it started. */
export interface StreamTotals {
  rowsRead: number;
  rowsSkipped: number;
  samples: number;
  propagations: number;
  writes: number;
}

/**
 * One source stream as the stream loop drives it, whatever decides its validities (the
 * scraper's source vector or the averager's time bins): resume from the targets, take a step
 * (read, decide, map, write behind), flush, and say how far behind the source it is.
 */
export interface StreamWorker {
  readonly stream: SourceStream;
  readonly targets: TargetSet;
  readonly totals: StreamTotals;
  /** Source-local `date_time` the stream resumed from at its last `resume`. */
  readonly resumeTime: string;
  /** Source-local `date_time` of the last entry consumed (the resume time before any): progress lines. */
  readonly cursor: string;
  /** IANA zone of the stream's source-local times (the regime's `timezone`): log lines say it. */
  readonly timezone: string;
  /**
   * True once a step has read to the end of the source (the last step caught up): the worker
   * then logs each write at info; before that, and while it reads full pages again, it is
   * catching up and logs them at debug (the catch-up progress lines count them instead).
   */
  readonly live: boolean;
  /**
   * Source rows dated more than `future_limit` ahead of the wall clock at the last count
   * (`FutureQuarantine`): not read until the clock reaches them.
   */
  readonly quarantined: number;
  /**
   * Late rows found since the stream started (`LateRows`: rows that appeared after the stream
   * wrote past their `date_time`); undefined when the stream does not check for them.
   */
  readonly late?: number;
  /** The late-row check, set by the stream builder; the worker runs it at resume and as it steps. */
  lateRows?: LateRows;
  /** Finds where to start from the targets; forgets everything not written. */
  resume(): Promise<void>;
  /** Reads and decides one page (or chunk) and hands its writes on. */
  step(): Promise<StepResult>;
  /** Writes everything decided so far. */
  flush(): Promise<void>;
  /** Gives back what the worker holds between steps (a source connection of a catch-up pass); the run is over. */
  close(): Promise<void>;
  /**
   * Lag behind the source in source time (ms), for sleep tuning, progress and metrics. Also
   * notes the newest source row it finds (`sourceLatestMs`).
   */
  lagMs(): Promise<number>;
  /**
   * The newest source row's `date_time` found by the last `lagMs`, as a real instant (ms since
   * the epoch, through the regime's zone); undefined before the first, or when the table has no
   * rows. The wall clock minus it is the source's staleness, which grows when the DCS stops
   * writing while the lag stays 0.
   */
  readonly sourceLatestMs?: number;
}

/** A step that did nothing. */
export function emptyStep(): StepResult {
  return { rowsRead: 0, samples: 0, propagations: 0, caughtUp: false, finished: false };
}
