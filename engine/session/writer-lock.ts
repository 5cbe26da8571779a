import { Logger } from '../core/logger';
import { DatabaseLocation } from '../config/dbconf';
import { describeLocation } from '../db/open-database';
import { LockRole, RegimeLock } from './regime-lock';

/**
 * Takes the single-writer lock of `role` for a regime on a target before any write: held by
 * another process, throws LOCK_HELD naming it, or with `standby` waits (polling every
 * `SCRAPE_LOCK_POLL_MS`, default 1 s) and takes over when the holder dies. Undefined when the
 * signal stopped the wait.
 */
export async function acquireRegimeLock(
  role: LockRole,
  regime: string,
  targetLoc: DatabaseLocation,
  logger: Logger,
  signal: AbortSignal,
  standby?: boolean,
  env: NodeJS.ProcessEnv = process.env,
): Promise<RegimeLock | undefined> {
  const lock = RegimeLock.for(targetLoc, role, regime);
  const what = `regime ${regime} on ${describeLocation(targetLoc)}`;
  try {
    await lock.acquire(what, {
      standby,
      signal,
      pollMs: Number(env.SCRAPE_LOCK_POLL_MS) || 1000,
      onStandby: (holder) => logger.log('info', `standing by: ${holder} holds the lock of ${what}`),
    });
  } catch (err) {
    await lock.release();
    if (standby && signal.aborted) return undefined;
    throw err;
  }
  if (standby) logger.log('info', `took the lock of ${what}`);
  return lock;
}

/**
 * Checks every few seconds (`SCRAPE_LOCK_CHECK_MS`, default 3 s) that the lock is still ours;
 * when lost, logs it and calls `onLost` (which stops the run between pages).
 */
export function watchLock(lock: RegimeLock, logger: Logger, onLost: () => void, env: NodeJS.ProcessEnv = process.env): { lost(): boolean; stop(): void } {
  let lost = false;
  let busy = false;
  const timer = setInterval(() => {
    if (busy || lost) return;
    busy = true;
    lock
      .stillHeld()
      .then((ok) => {
        if (!ok && !lost) {
          lost = true;
          logger.log('error', `lost the writer lock ${lock.name}: stopping`);
          onLost();
        }
      })
      .finally(() => (busy = false));
  }, Number(env.SCRAPE_LOCK_CHECK_MS) || 3000);
  timer.unref();
  return { lost: () => lost, stop: () => clearInterval(timer) };
}
