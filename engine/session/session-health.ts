import { Clock, systemClock } from '../core/clock';
import { describeError } from '../stream/retry';
import { StreamObserver } from '../stream/stream-observer';

/** Floor of the default health timeout: a slow query or a long page is not an outage. */
export const MIN_HEALTH_TIMEOUT_MS = 30_000;

/**
 * The default health timeout of a session: three times the longest pause its loop takes when
 * caught up (`max(heartbeat, sleep)` for the scraper, `averager.sleep` for the averager), at least
 * `MIN_HEALTH_TIMEOUT_MS`.
 */
export function defaultHealthTimeoutMs(pauseMs: number): number {
  return Math.max(MIN_HEALTH_TIMEOUT_MS, 3 * pauseMs);
}

/** What `GET /healthz` answers: `healthy` is its 200 (else 503), the rest its JSON body. */
export interface HealthReport {
  healthy: boolean;
  /**
   * `starting` (no step yet), `ok` (the loop turns), `standby` (another process holds the
   * writer lock; this one waits to take over), `down` (nothing succeeded within the timeout).
   */
  status: 'starting' | 'ok' | 'standby' | 'down';
  /** Why `down`; or, while still healthy, the error being retried. */
  reason?: string;
  /** Seconds since the last success (a step of the loop, the writer lock taken, the target answering while standing by). */
  lastSuccessAgeSeconds: number;
  timeoutSeconds: number;
  /** The lock holder, while standing by. */
  holder?: string;
}

/**
 * Whether a scraper or averager session is doing its job, for `GET /healthz` and the
 * `scrape_healthy` gauge. Healthy while something succeeded within `timeoutMs`: a step of the
 * loop (each step reads the source, and after a failure resumes from the target), the writer
 * lock taken, or, standing by, the target answering that another process holds it. A transient
 * failure (lost connection, refused connection, the target cut) stops the successes; after the
 * timeout the session is `down` with the error as its reason; a loop stuck in a call that never
 * returns is `down` with no error. Fed as a StreamObserver (steps, retries) and by the session
 * (lock taken, standing by, lock retries).
 */
export class SessionHealth implements StreamObserver {
  private lastOkAt: number;
  private failure?: { at: number; message: string };
  private holder?: string;
  private stepped = false;

  constructor(
    /** Nothing succeeded for longer than this: `down`. */
    readonly timeoutMs: number,
    private readonly clock: Clock = systemClock,
  ) {
    this.lastOkAt = clock.now();
  }

  /** A step of the loop finished. */
  step(): void {
    this.stepped = true;
    this.ok();
  }

  /** A transient failure of the loop, about to be retried. */
  retry(err: unknown): void {
    this.failed(err);
  }

  /** Something went through every database it needed (a step, the lock taken): the failure, if any, is over. */
  ok(): void {
    this.lastOkAt = this.clock.now();
    this.failure = undefined;
  }

  /** A transient failure (the loop's or the writer lock's); the first of an outage is its reason. */
  failed(err: unknown): void {
    if (this.failure) return;
    this.failure = { at: this.clock.now(), message: describeError(err) };
  }

  /** Standing by for the writer lock (`holder` holds it; the target answered); undefined: no longer. */
  standby(holder: string | undefined): void {
    this.holder = holder;
    if (holder !== undefined) this.ok();
  }

  /** The answer of `GET /healthz` now. */
  report(): HealthReport {
    const now = this.clock.now();
    // standing by succeeds silently every poll: only a failure since stops it
    const since = this.holder !== undefined ? (this.failure?.at ?? now) : this.lastOkAt;
    const age = Math.max(0, now - since);
    const base = { lastSuccessAgeSeconds: age / 1000, timeoutSeconds: this.timeoutMs / 1000 };
    if (age > this.timeoutMs) {
      const secs = `${Math.round(age / 1000)} s`;
      const reason = this.failure
        ? `${this.failure.message} (retrying; nothing succeeded for ${secs})`
        : this.stepped
          ? `no step of the loop finished for ${secs}: stuck`
          : `no step of the loop yet after ${secs}`;
      return { healthy: false, status: 'down', reason, ...base };
    }
    const status = this.holder !== undefined ? 'standby' : this.stepped ? 'ok' : 'starting';
    return { healthy: true, status, ...base, ...(this.failure ? { reason: this.failure.message } : {}), ...(this.holder !== undefined ? { holder: this.holder } : {}) };
  }
}
