import { Knex } from 'knex';
import { Logger } from '../core/logger';
import { DatabaseLocation } from '../config/dbconf';
import { Regime } from '../config/regime';
import { describeLocation } from '../db/open-database';
import { discoverStreams } from '../source/source-stream';
import { SpecTable } from '../spec/spec-table';
import { LockScope, TargetLock } from './target-lock';

/**
 * The (target table, context) scopes a regime's writer touches: every target table of the regime
 * for every source stream it finds now (`only`: those tables). `regime` is the regime as the role
 * writes it (`regimeForRole`), so a scraper and an averager of different tasks have disjoint scopes.
 */
export async function writerScopes(source: Knex, regime: Regime, specs: Map<string, SpecTable>, only?: string[]): Promise<LockScope[]> {
  const streams = await discoverStreams(source, regime, only);
  const tables = [...new Set(regime.targets.map((t) => specs.get(t.spec)?.table ?? t.spec))];
  return tables.flatMap((table) => streams.map((s) => ({ table, context: s.context })));
}

/**
 * Takes the writer lock of `scopes` on a target before any write: held by another process,
 * throws LOCK_HELD naming it and the contested (table, context), or with `standby` waits (polling
 * every `SCRAPE_LOCK_POLL_MS`, default 1 s) and takes over when the holder dies. Undefined when
 * the signal stopped the wait.
 */
export async function acquireTargetLock(
  what: string,
  scopes: LockScope[],
  targetLoc: DatabaseLocation,
  logger: Logger,
  signal: AbortSignal,
  standby?: boolean,
  env: NodeJS.ProcessEnv = process.env,
  /** Told each time the wait starts (standing by), with the holder. */
  onStandby?: (holder: string) => void,
): Promise<TargetLock | undefined> {
  const lock = TargetLock.for(targetLoc, scopes);
  const where = `${what} on ${describeLocation(targetLoc)}`;
  try {
    await lock.acquire(where, {
      standby,
      signal,
      pollMs: Number(env.SCRAPE_LOCK_POLL_MS) || 1000,
      onStandby: (holder) => {
        logger.log('info', `standing by: ${holder} holds the lock of ${where}`);
        onStandby?.(holder);
      },
    });
  } catch (err) {
    await lock.release();
    if (standby && signal.aborted) return undefined;
    throw err;
  }
  if (standby) logger.log('info', `took the lock of ${where} (${lock.scopes.length} table and context${lock.scopes.length === 1 ? '' : 's'})`);
  return lock;
}

/**
 * Checks every few seconds (`SCRAPE_LOCK_CHECK_MS`, default 3 s) that the lock is still ours;
 * when lost, logs it and calls `onLost` (which stops the run between pages).
 */
export function watchLock(lock: TargetLock, logger: Logger, onLost: () => void, env: NodeJS.ProcessEnv = process.env): { lost(): boolean; stop(): void } {
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
