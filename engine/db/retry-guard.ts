import { Clock } from '../core/clock';
import { ScrapeError } from '../core/errors';
import { Logger } from '../core/logger';
import { maskPasswords } from '../core/mask-passwords';
import { DatabaseLocation } from './database-location';
import { databaseError } from './database-error';

/** Backoff settings (times in ms). */
export interface BackoffOptions {
  /** First delay (default 500). */
  initialMs?: number;
  /** Cap of the doubling delay (default 30 000). */
  maxMs?: number;
  /** Source of the jitter, uniform in [0, 1) (default `Math.random`; tests pin it). */
  random?: () => number;
  /**
   * An outage that has lasted this long is given up: `failed` throws the error a person can act
   * on (`DB_UNREACHABLE`, …) instead of waiting again. Default: never (long-running processes).
   */
  giveUpAfterMs?: number;
  /** While an outage lasts, one "still unreachable" line this often (default 5 min). */
  reportEveryMs?: number;
}

/**
 * The wait before retry number `attempt` (1, 2, …): the capped exponential delay
 * `min(maxMs, initialMs × 2^(attempt−1))`, drawn uniformly between half of it and all of it
 * (`random` in [0, 1)), so processes cut off by one outage do not all come back in step.
 */
export function backoffDelay(attempt: number, options: BackoffOptions = {}): number {
  const initial = options.initialMs ?? 500;
  const max = options.maxMs ?? 30_000;
  const base = Math.min(max, initial * 2 ** Math.min(Math.max(0, attempt - 1), 52));
  const r = (options.random ?? Math.random)();
  return Math.round(base / 2 + Math.min(Math.max(r, 0), 1) * (base / 2));
}

/**
 * Capped exponential backoff with jitter (`backoffDelay`) plus few log lines: the first failure
 * of an outage logs `… lost: <error>, retrying`, every `reportEveryMs` (5 min) of it `… still
 * unreachable for N min`, the first success after it `… back after 12.3 s, 5 retries`; so an
 * outage of hours logs a line per 5 minutes, not one per retry (counted in `retries`). With
 * `giveUpAfterMs` an outage that long ends in the error a person can act on.
 */
export class RetryGuard {
  /** Retries since the process started (metrics). */
  retries = 0;
  private failing = false;
  private since = 0;
  private attempts = 0;
  private nextReport = 0;

  constructor(
    private readonly logger: Logger,
    private readonly clock: Clock,
    private readonly options: BackoffOptions = {},
  ) {}

  /** True between a failure and the next success. */
  get down(): boolean {
    return this.failing;
  }

  /**
   * Records a transient failure and waits the backoff delay (cut short when `signal` aborts);
   * `location` names the database in the lines and in the error. Throws once the outage has
   * lasted `giveUpAfterMs`.
   */
  async failed(err: unknown, signal?: AbortSignal, location?: DatabaseLocation): Promise<void> {
    const now = this.clock.now();
    const what = (): string => `${location ? `${location.name}: ` : ''}${maskPasswords(describeError(err), [location?.password])}`;
    if (!this.failing) {
      this.failing = true;
      this.since = now;
      this.attempts = 0;
      this.nextReport = now + (this.options.reportEveryMs ?? 300_000);
      this.logger.log('warn', `database connection lost: ${what()}, retrying`);
    }
    const giveUp = this.options.giveUpAfterMs;
    if (giveUp !== undefined && now - this.since >= giveUp) {
      this.failing = false;
      throw gaveUp(err, location, now - this.since);
    }
    this.attempts++;
    this.retries++;
    let wait = backoffDelay(this.attempts, this.options);
    if (giveUp !== undefined) wait = Math.max(0, Math.min(wait, this.since + giveUp - now));
    await this.clock.sleep(wait, signal);
    const after = this.clock.now();
    if (after >= this.nextReport && !signal?.aborted) {
      this.logger.log('warn', `database still unreachable for ${Math.round((after - this.since) / 60_000)} min: ${what()}; retrying`);
      while (this.nextReport <= after) this.nextReport += this.options.reportEveryMs ?? 300_000;
    }
  }

  /** Records a success; logs the recovery once after an outage. */
  ok(): void {
    if (!this.failing) return;
    this.failing = false;
    const secs = (this.clock.now() - this.since) / 1000;
    this.logger.log('info', `database connection back after ${secs.toFixed(1)} s, ${this.attempts} retries`);
  }
}

/** The error of an outage given up after `ms`: the driver error's meaning, else DB_UNREACHABLE. */
function gaveUp(err: unknown, location: DatabaseLocation | undefined, ms: number): ScrapeError {
  const meaning = databaseError(err, location);
  const secs = `${Math.round(ms / 1000)} s`;
  if (meaning) return new ScrapeError(meaning.code, `${meaning.message} (still failing after ${secs})`, { hint: meaning.hint, cause: err });
  return new ScrapeError('DB_UNREACHABLE', `database still failing after ${secs}: ${describeError(err)}`, {
    hint: 'check the database server and the network; run again (it resumes where it stopped) or allow a longer --connect-timeout',
    cause: err,
  });
}

/** A one-line description of an error: its code and message. */
export function describeError(err: unknown): string {
  const e = err as { code?: unknown; message?: unknown };
  const msg = typeof e?.message === 'string' ? e.message.split('\n')[0] : String(err);
  return typeof e?.code === 'string' && !msg.includes(e.code) ? `${e.code} ${msg}` : msg;
}
