import { Clock } from '../core/clock';
import { ScrapeError } from '../core/errors';
import { Logger } from '../core/logger';

/** Error codes (driver or system) of conditions that pass by themselves: lost or refused connections, timeouts, deadlocks, busy files. */
const TRANSIENT_CODES = new Set([
  'PROTOCOL_CONNECTION_LOST',
  'PROTOCOL_SEQUENCE_TIMEOUT',
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTCONN',
  'EAI_AGAIN',
  'ER_LOCK_DEADLOCK',
  'ER_LOCK_WAIT_TIMEOUT',
  'ER_CON_COUNT_ERROR',
  'ER_SERVER_SHUTDOWN',
  'ER_QUERY_INTERRUPTED',
  'SQLITE_BUSY',
  'SQLITE_LOCKED',
]);

/** Messages of transient conditions that carry no code (knex pool, mysql2 closed connections). */
const TRANSIENT_MESSAGES = [
  /Knex: Timeout acquiring a connection/i,
  /Connection lost/i,
  /connection is in closed state/i,
  /Cannot enqueue .* after fatal error/i,
  /read ECONNRESET|connect ECONNREFUSED|write EPIPE/i,
  /Server has gone away/i,
  /Lost connection to (MySQL|MariaDB) server/i,
  /database is locked/i,
];

/**
 * True when `err` (or any error in its `cause` chain) is transient: a lost, refused or reset
 * connection, a timeout, a deadlock, a busy SQLite file, or a `ScrapeError` marked transient.
 * The scraper retries those; anything else stops it.
 */
export function isTransientError(err: unknown): boolean {
  const seen = new Set<unknown>();
  let e: any = err;
  while (e && typeof e === 'object' && !seen.has(e)) {
    seen.add(e);
    if (e instanceof ScrapeError && e.transient) return true;
    if (typeof e.code === 'string' && TRANSIENT_CODES.has(e.code)) return true;
    if (e.fatal === true && typeof e.code === 'string' && e.code.startsWith('PROTOCOL_')) return true;
    if (typeof e.message === 'string' && TRANSIENT_MESSAGES.some((re) => re.test(e.message))) return true;
    e = e.cause;
  }
  return false;
}

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
 * `recover` first; others propagate; once the signal aborts it resolves to undefined. A success
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
        await guard.failed(err, signal);
        if (signal?.aborted) return undefined;
      }
    }
  };
}
