import { StepResult, StreamWorker } from './stream-worker';

/** Hooks for progress lines, metrics and logs of a run; all optional, all synchronous. */
export interface StreamObserver {
  /** Once the streams of a run are built, before they resume (again for each run of a session: a reload, a lock taken again). */
  start?(workers: readonly StreamWorker[]): void;
  /** After each successful step of a stream, with the stream's lag (source time) when known. */
  step?(worker: StreamWorker, step: StepResult, lagMs: number | undefined): void;
  /** After each transient failure (one retry). */
  retry?(err: unknown): void;
  /** Once per validity decided, when it is known to be written, with its decision (`changed`, `overage`, `bin`; `seed` for a seed validity). */
  propagation?(worker: StreamWorker, reason: string): void;
  /** After each write (one transaction of a target), with its duration. */
  write?(worker: StreamWorker, seconds: number): void;
  /** After each source page (or averager range) read in full, with its duration (from the query to the last row). */
  read?(worker: StreamWorker, seconds: number): void;
  /** A stream's row decoder found a difference from the driver's parse and was turned off. */
  decoderOff?(table: string, reason: string): void;
  /** Each count of a stream's quarantined rows (dated past `future_limit`; see `FutureQuarantine`), 0 included. */
  quarantine?(worker: StreamWorker, count: number): void;
  /** Each count of a stream's late rows (appeared after the stream wrote past their time; see `LateRows`), 0 included. */
  late?(worker: StreamWorker, count: number): void;
}

/** One observer telling all of `observers` (undefined ones skipped). */
export function combineObservers(...observers: (StreamObserver | undefined)[]): StreamObserver {
  const all = observers.filter((o): o is StreamObserver => o !== undefined);
  return {
    start: (workers) => all.forEach((o) => o.start?.(workers)),
    step: (worker, step, lagMs) => all.forEach((o) => o.step?.(worker, step, lagMs)),
    retry: (err) => all.forEach((o) => o.retry?.(err)),
    propagation: (worker, reason) => all.forEach((o) => o.propagation?.(worker, reason)),
    write: (worker, seconds) => all.forEach((o) => o.write?.(worker, seconds)),
    read: (worker, seconds) => all.forEach((o) => o.read?.(worker, seconds)),
    decoderOff: (table, reason) => all.forEach((o) => o.decoderOff?.(table, reason)),
    quarantine: (worker, count) => all.forEach((o) => o.quarantine?.(worker, count)),
    late: (worker, count) => all.forEach((o) => o.late?.(worker, count)),
  };
}
