import { Knex } from 'knex';
import { Clock } from '../core/clock';
import { Logger } from '../core/logger';
import { DatabaseLocation } from '../config/dbconf';
import { Regime } from '../config/regime';
import { SpecTable } from '../spec/spec-table';
import { BackoffOptions } from './retry';
import { StreamObserver } from './stream-observer';
import type { PendingBudget } from './target-set';
import type { StepGate } from './step-gate';

/** What a scraper or averager run needs; connections are opened and closed by the caller. */
export interface RunOptions {
  regime: Regime;
  specs: Map<string, SpecTable>;
  source: Knex;
  target: Knex;
  targetLocation: DatabaseLocation;
  logger: Logger;
  /** Real time: live-mode sleeps and INSERTDATE (injected by tests). */
  clock?: Clock;
  /** Stops the run between pages or chunks (SIGTERM). */
  signal?: AbortSignal;
  /** Return once every stream is caught up (instead of sleeping and waiting for more). */
  untilCaughtUp?: boolean;
  /** Only these source tables. */
  tables?: string[];
  /** Table creation policy (`--allow-drop-create-table`, `--drop-target-tables`). */
  allowCreate?: boolean;
  dropTargets?: boolean;
  /** Backoff of retries after transient errors (lost connections): default 0.5 s doubling to 30 s. */
  backoff?: BackoffOptions;
  /** false: wide numeric rows are never decoded from their packets (the driver parses every row; `--no-row-decoder`). */
  rowDecoder?: boolean;
  /** Told of every step, write and retry (progress lines, metrics). */
  observer?: StreamObserver;
  /**
   * Decided payload rows the run's streams may hold together before writing (shared by every
   * regime of a several-regime process); default: one `PendingBudget` of `PENDING_ROWS_LIMIT`
   * for the run.
   */
  pendingBudget?: PendingBudget;
  /** Steps at once over the streams sharing it (a several-regime process, whose streams each run their own loop); none: no bound. */
  stepGate?: StepGate;
  /**
   * A replay instead of a run (`scrape run --dry-run`, `scrape verify`): every target is written
   * by a `CollectingWriter` (nothing reaches the target, no table is created; a missing table is
   * an empty one) and late rows are not checked.
   */
  replay?: ReplayOptions;
}

/** How a replay reads the target and the source. */
export interface ReplayOptions {
  /** UTC: each target resumes from its last validity ending at or before this (none: the last one). */
  resumeBefore?: string;
  /** Per source table: ids not read (late rows, which the run that wrote the target never read). */
  excludeIds?: Map<string, number[]>;
}
