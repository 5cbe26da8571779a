import { Clock } from '../core/clock';
import { isScrapeError } from '../core/errors';
import { isTransientError } from '../db/transient-error';
import { Logger } from '../core/logger';
import { BackoffOptions, RetryGuard } from '../db/retry-guard';

export type { BackoffOptions } from '../db/retry-guard';
export { RetryGuard, backoffDelay, describeError } from '../db/retry-guard';

/** Options of `retryingWith`. */
export interface RetryLoopOptions {
  logger: Logger;
  clock: Clock;
  backoff?: BackoffOptions;
  /** Aborts the waiting; a retry loop then gives up and resolves to undefined. */
  signal?: AbortSignal;
  /** After each transient failure (metrics). */
  onRetry?: (err: unknown) => void;
}

/**
 * A retry loop over one `RetryGuard`: the returned function runs `fn` until it succeeds.
 * Transient errors (lost connections, timeouts, deadlocks) are retried with backoff, calling
 * `recover` first; others propagate; once the signal aborts it resolves to undefined. A write
 * the target refused (`FENCE_MOVED`: another writer wrote the context meanwhile) is logged and
 * redone at once, after `recover`, without backoff: it is no outage. A success
 * ends an outage (logs "back") only with `endsOutage`: work that did not go through every
 * database involved proves nothing of the others.
 */
export function retryingWith(options: RetryLoopOptions): <T>(fn: () => Promise<T>, recover?: () => void, endsOutage?: boolean) => Promise<T | undefined> {
  const guard = new RetryGuard(options.logger, options.clock, options.backoff);
  const { signal } = options;
  return async <T>(fn: () => Promise<T>, recover?: () => void, endsOutage = true): Promise<T | undefined> => {
    for (;;) {
      try {
        const value = await fn();
        if (endsOutage) guard.ok();
        return value;
      } catch (err) {
        if (!isTransientError(err)) throw err;
        recover?.();
        options.onRetry?.(err);
        if (signal?.aborted) return undefined;
        if (isScrapeError(err, 'FENCE_MOVED')) {
          // not an outage: the target refused a write another writer made stale; said once, redone at once
          options.logger.log('warn', err.message);
          continue;
        }
        await guard.failed(err, signal);
        if (signal?.aborted) return undefined;
      }
    }
  };
}
