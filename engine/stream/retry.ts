import { Clock } from '../core/clock';
import { isScrapeError } from '../core/errors';
import { isTransientError } from '../db/transient-error';
import { Logger } from '../core/logger';

/** Backoff settings: first delay, cap (both ms). */
export interface BackoffOptions {
  initialMs?: number;
  maxMs?: number;
}

/**
 * Capped exponential backoff plus one log line per state change: the first failure of an outage
 * logs `… lost: <error>, retrying`, the first success after it logs `… back after 12.3 s, 5
 * retries`; the retries in between are silent (counted in `retries`), so an outage of hours logs
 * two lines.
 */
export class RetryGuard {
  /** Retries since the process started (metrics). */
  retries = 0;
  private failing = false;
  private since = 0;
  private attempts = 0;
  private delayMs: number;
  private readonly initialMs: number;
  private readonly maxMs: number;

  constructor(
    private readonly logger: Logger,
    private readonly clock: Clock,
    options: BackoffOptions = {},
  ) {
    this.initialMs = options.initialMs ?? 500;
    this.maxMs = options.maxMs ?? 30_000;
    this.delayMs = this.initialMs;
  }

  /** True between a failure and the next success. */
  get down(): boolean {
    return this.failing;
  }

  /** Records a transient failure and waits the backoff delay (cut short when `signal` aborts). */
  async failed(err: unknown, signal?: AbortSignal): Promise<void> {
    if (!this.failing) {
      this.failing = true;
      this.since = this.clock.now();
      this.attempts = 0;
      this.delayMs = this.initialMs;
      this.logger.log('warn', `database connection lost: ${describeError(err)}, retrying`);
    }
    this.attempts++;
    this.retries++;
    const wait = this.delayMs;
    this.delayMs = Math.min(this.maxMs, this.delayMs * 2);
    await this.clock.sleep(wait, signal);
  }

  /** Records a success; logs the recovery once after an outage. */
  ok(): void {
    if (!this.failing) return;
    this.failing = false;
    const secs = (this.clock.now() - this.since) / 1000;
    this.logger.log('info', `database connection back after ${secs.toFixed(1)} s, ${this.attempts} retries`);
    this.delayMs = this.initialMs;
  }
}

/** A one-line description of an error: its code and message. */
export function describeError(err: unknown): string {
  const e = err as { code?: unknown; message?: unknown };
  const msg = typeof e?.message === 'string' ? e.message.split('\n')[0] : String(err);
  return typeof e?.code === 'string' && !msg.includes(e.code) ? `${e.code} ${msg}` : msg;
}

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
