import { Knex } from 'knex';
import { Clock, systemClock } from '../core/clock';
import { Logger } from '../core/logger';
import { DatabaseLocation } from './database-location';
import { databaseError } from './database-error';
import { BackoffOptions, RetryGuard } from './retry-guard';
import { isTransientError } from './transient-error';

/** How long and how `waitForDatabase` waits. */
export interface WaitForDatabaseOptions {
  logger: Logger;
  clock?: Clock;
  /** Stops the waiting (SIGTERM): `waitForDatabase` then resolves to false. */
  signal?: AbortSignal;
  /**
   * How long a database that does not answer is waited for before the error (`DB_UNREACHABLE`,
   * exit 1); undefined: forever, with a "still unreachable" line every 5 minutes (long-running
   * processes).
   */
  timeoutMs?: number;
  backoff?: BackoffOptions;
}

/**
 * Connects to the database at `location` once (`SELECT 1`) before a command relies on it.
 * A server that refuses or does not answer (or a busy SQLite file) is retried with the jittered
 * backoff of outages until it answers or `timeoutMs` has passed; anything a person must fix
 * (wrong password, unknown database or host, a SQLite file that cannot be opened) is thrown at
 * once, as the coded error with its hint (`databaseError`). Resolves true once connected, false
 * when `signal` stopped the wait.
 */
export async function waitForDatabase(db: Knex, location: DatabaseLocation, options: WaitForDatabaseOptions): Promise<boolean> {
  const guard = new RetryGuard(options.logger, options.clock ?? systemClock, { ...options.backoff, giveUpAfterMs: options.timeoutMs });
  const { signal } = options;
  for (;;) {
    try {
      await db.raw('SELECT 1');
      guard.ok();
      return true;
    } catch (err) {
      if (!isTransientError(err)) throw databaseError(err, location) ?? err;
      if (signal?.aborted) return false;
      await guard.failed(err, signal, location);
      if (signal?.aborted) return false;
    }
  }
}
