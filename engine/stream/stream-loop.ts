import { systemClock } from '../core/clock';
import { isScrapeError } from '../core/errors';
import { isTransientError } from '../db/transient-error';
import { retryingWith } from './retry';
import { RunOptions } from './run-options';
import { StepResult, StreamWorker } from './stream-worker';

/** When every stream is caught up: how long to sleep before looking again. */
export interface SleepPolicy {
  /**
   * The sleep in ms, told the validities decided since the last call and given a way to ask the
   * largest lag over the streams (one query per stream, asked only when needed).
   */
  next(propagations: number, maxLagMs: () => Promise<number>): Promise<number>;
}

/**
 * The one stream loop of the scraper and the averager: builds the streams (retrying lost
 * connections), resumes each from the targets, then steps every stream in turn until all are
 * caught up (with `untilCaughtUp`), every stream finished, or the signal aborts; otherwise sleeps
 * as `sleep` says and goes on. A transient failure (lost connection, timeout, deadlock) is
 * retried with capped backoff, and the stream that failed resumes from its targets again: work
 * not written is redone, work written is skipped, so nothing is lost or written twice. Returns
 * the workers (for their totals), or undefined when stopped before they were built.
 */
export async function runStreams<W extends StreamWorker>(options: RunOptions, build: () => Promise<W[]>, sleep: SleepPolicy): Promise<W[] | undefined> {
  const clock = options.clock ?? systemClock;
  const { logger, signal, observer } = options;
  /**
   * Only a step (which after a failure resumes from the target, then reads the source and writes)
   * ends an outage: a lag query answered by the source alone proves nothing of the target, whose
   * pool may still hand out a connection the outage killed. A failed lag query marks its
   * stream(s) stale, so the step that ends the outage goes through the target too.
   */
  const retrying = retryingWith({ logger, clock, backoff: options.backoff, signal, onRetry: (err) => observer?.retry?.(err) });
  const workers = await retrying(build);
  if (!workers) return undefined;
  observer?.start?.(workers);
  for (const worker of workers) {
    if (observer?.propagation) worker.targets.onPropagation = (reason) => observer.propagation!(worker, reason);
    if (observer?.write) worker.targets.onWrite = (ms) => observer.write!(worker, ms / 1000);
  }
  try {
    const stale = new Set<W>(workers);
    for (const worker of workers) {
      await retrying(async () => {
        await worker.resume();
        stale.delete(worker);
      });
    }
    const finished = new Set<W>();
    const stepOf = async (worker: W): Promise<StepResult> => {
      // a process running several regimes' streams lets a few step at once (`StepGate`)
      const leave = await options.stepGate?.enter();
      try {
        if (stale.has(worker)) {
          await worker.resume();
          stale.delete(worker);
        }
        return await worker.step();
      } finally {
        leave?.();
      }
    };
    const maxLagMs = async (): Promise<number> => {
      let most = 0;
      for (const worker of workers) most = Math.max(most, (await retrying(() => worker.lagMs(), () => workers.forEach((w) => stale.add(w)), false)) ?? 0);
      return most;
    };
    let propagations = 0;
    while (!signal?.aborted) {
      let allCaughtUp = true;
      for (const worker of workers) {
        if (finished.has(worker) || signal?.aborted) continue;
        const step = await retrying(() => stepOf(worker), () => stale.add(worker));
        if (!step) break;
        propagations += step.propagations;
        if (step.finished) finished.add(worker);
        if (!step.caughtUp) allCaughtUp = false;
        if (observer?.step) observer.step(worker, step, await retrying(() => worker.lagMs(), () => stale.add(worker), false));
      }
      if (signal?.aborted) break;
      if (finished.size === workers.length) break;
      if (!allCaughtUp) continue;
      if (options.untilCaughtUp) break;
      const sleepMs = await sleep.next(propagations, maxLagMs);
      propagations = 0;
      await clock.sleep(sleepMs, signal);
    }
    for (const worker of workers) {
      if (stale.has(worker)) continue;
      try {
        await worker.flush();
      } catch (err) {
        // A write the target refused was stale (another writer wrote the context): nothing to keep.
        if (isScrapeError(err, 'FENCE_MOVED')) {
          logger.log('warn', err.message);
          continue;
        }
        // Shutting down: what is not written is redone by the next run, from the target.
        if (!(signal?.aborted && isTransientError(err))) throw err;
      }
    }
  } finally {
    // a worker may hold a source connection between steps (the averager's catch-up pass)
    for (const worker of workers) await worker.close();
  }
  return workers;
}
