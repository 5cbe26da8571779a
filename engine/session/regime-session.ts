import { Knex } from 'knex';
import { Clock, systemClock } from '../core/clock';
import { parseDuration } from '../core/time';
import { ScrapeError, isScrapeError } from '../core/errors';
import { Logger } from '../core/logger';
import { DatabaseLocation } from '../config/dbconf';
import { Regime, WriterRole } from '../config/regime';
import { regimeForRole } from '../config/regime-defaults';
import { describeLocation, openDatabase } from '../db/open-database';
import { SpecTable } from '../spec/spec-table';
import { rowDecoderUnavailable } from '../source/row-decoder';
import { BackoffOptions, RetryGuard } from '../db/retry-guard';
import { isTransientError } from '../db/transient-error';
import { waitForDatabase } from '../db/wait-for-database';
import { combineObservers } from '../stream/stream-observer';
import { runScraper } from '../scraper/scraper';
import { runAverager } from '../averager/averager';
import { ScrapeMetrics, startMetricsServer } from './metrics-server';
import { HealthReport, SessionHealth, defaultHealthTimeoutMs } from './session-health';
import { CatchUpProgress } from './progress';
import { LockScope, TargetLock, scopeKey } from './target-lock';
import { shutdownSignal } from './shutdown-signal';
import { acquireTargetLock, watchLock, writerScopes } from './writer-lock';

/** A regime and its target specs, as loaded from its file. */
export interface RegimeWithSpecs {
  regime: Regime;
  specs: Map<string, SpecTable>;
  /** The regime's file, when it has one (log lines of reloads). */
  file?: string;
}

/**
 * What the status page (`GET /` of the metrics server) is drawn from: the running regime (as
 * last reloaded), the session's own connections, whose writes (`role`), its health, and the
 * page's query (`?refresh=N` seconds between reloads, `?hours=N` of validities plotted).
 */
export interface StatusPageView {
  regime: Regime;
  specs: Map<string, SpecTable>;
  source: Knex;
  target: Knex;
  role: WriterRole;
  clock: Clock;
  health?: HealthReport;
  query: URLSearchParams;
}

/** Draws the status page as HTML (the CLI gives the report layer's `renderStatusPage`). */
export type StatusPageRenderer = (view: StatusPageView) => Promise<string>;

/** Everything a long-running scraper or averager process needs; the CLI fills it from flags. */
export interface RegimeSessionOptions {
  /** `scrape` runs the scraper, `average` the averager; the writer lock covers the (table, context) set written. */
  mode: 'scrape' | 'average';
  loaded: RegimeWithSpecs;
  /**
   * SIGHUP: re-reads the regime file. A valid edit restarts the run loop between pages with the
   * new regime (it resumes from the target); an invalid one (a string saying why) is logged and
   * the running regime kept.
   */
  reload?: () => RegimeWithSpecs | string;
  source: DatabaseLocation;
  target: DatabaseLocation;
  logger: Logger;
  clock?: Clock;
  /** Where `SCRAPE_LOCK_POLL_MS` / `SCRAPE_LOCK_CHECK_MS` are read (default `process.env`). */
  env?: NodeJS.ProcessEnv;
  /** When another process holds the writer lock: wait and take over when it dies (else LOCK_HELD). */
  standby?: boolean;
  untilCaughtUp?: boolean;
  tables?: string[];
  allowCreate?: boolean;
  dropTargets?: boolean;
  /** Scraper only: write a seed validity into empty targets. */
  seed?: boolean;
  /** false: never decode rows from their packets (`--no-row-decoder`). */
  rowDecoder?: boolean;
  /**
   * Serve Prometheus metrics at `http://host:port/metrics` and the health check at `/healthz`
   * while running (port 0: any free port; host default 127.0.0.1). `healthTimeoutMs`: `/healthz`
   * answers 503 once nothing succeeded for that long (default `defaultHealthTimeoutMs`).
   * `statusPage`: also serve a status page at `/` (streams, lag, staleness, writes, plots).
   */
  metrics?: { port: number; host?: string; healthTimeoutMs?: number; statusPage?: StatusPageRenderer };
  backoff?: BackoffOptions;
  /**
   * With `untilCaughtUp`: how long a database may stay unreachable (at start or in an outage
   * while running) before the run ends with `DB_UNREACHABLE` (exit 1); default 30 s. Without
   * `untilCaughtUp` outages are waited out however long they last.
   */
  connectTimeoutMs?: number;
}

/** Default of `connectTimeoutMs` (`--connect-timeout`). */
export const DEFAULT_CONNECT_TIMEOUT_MS = 30_000;

/**
 * Runs a regime as an operator's process does, for the scraper and the averager alike: takes
 * the writer lock (or stands by), opens the source read-only and the target, serves metrics,
 * logs catch-up progress, re-reads the regime on SIGHUP, stops on SIGINT/SIGTERM after the write
 * in flight. A lock that cannot be taken for a lost or refused connection (at start too) is
 * retried with the capped backoff of source outages; a lock lost while running (its connection
 * killed or cut) stops the run between pages and is taken again, standing by when another
 * process took it meanwhile: the process never exits on a blip, and the target's fencing keeps
 * every write exactly once whatever the lock does. Both databases are connected to first: what a
 * person must fix (password, unknown database or host) ends it at once with its coded error; an
 * unreachable server is waited for, forever when long-running (a line every 5 minutes), at most
 * `connectTimeoutMs` with `untilCaughtUp`, which bounds every later outage too. The metrics port
 * is taken before anything waits, so one in use is said at once (`METRICS_PORT`). Resolves when
 * the run ends (caught up, stopped by a signal, or stopped while standing by); closes everything
 * it opened.
 */
export async function runRegimeSession(options: RegimeSessionOptions): Promise<void> {
  const { logger, mode } = options;
  const clock = options.clock ?? systemClock;
  const env = options.env ?? process.env;
  const first = options.loaded.regime;
  const sourceText = describeLocation(options.source);
  const targetText = describeLocation(options.target);
  logger.log('info', mode === 'scrape'
    ? `regime ${first.name}: ${sourceText} -> ${targetText}, source times ${first.timezone}`
    : `averager ${first.name}: ${sourceText} -> ${targetText} bin ${first.averager.bin} chunk ${first.averager.chunk}, source times ${first.timezone}`,
  { regime: first.name, role: mode, source: sourceText, target: targetText, zone: first.timezone });
  const decoderMissing = options.rowDecoder === false ? undefined : rowDecoderUnavailable();
  if (decoderMissing) logger.log('info', decoderMissing);
  const backoff: BackoffOptions = {
    ...options.backoff,
    giveUpAfterMs: options.untilCaughtUp ? options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS : undefined,
  };
  // the longest pause of the loop when caught up: the scraper's tuned sleep stays within
  // max(heartbeat, sleep), the averager sleeps averager.sleep
  const pauseMs = mode === 'scrape' ? Math.max(parseDuration(first.scraper.heartbeat), parseDuration(first.scraper.sleep)) : parseDuration(first.averager.sleep);
  const health = options.metrics ? new SessionHealth(options.metrics.healthTimeoutMs ?? defaultHealthTimeoutMs(pauseMs), clock) : undefined;
  const metrics = options.metrics ? new ScrapeMetrics(first.name, { clock, health }) : undefined;
  let metricsServer: { port: number; close(): Promise<void> } | undefined;
  let { regime, specs } = options.loaded;
  let opened: { source: Knex; target?: Knex } | undefined;
  const statusPage = options.metrics?.statusPage;
  // the page reads the databases once they are connected; before, it says so
  const page = statusPage
    ? (query: URLSearchParams) =>
        opened?.target
          ? statusPage({ regime, specs, source: opened.source, target: opened.target, role: mode, clock, health: health?.report(), query })
          : Promise.resolve(`<!doctype html><meta charset="utf-8"><meta http-equiv="refresh" content="5"><title>scrape ${first.name}</title><p>scrape ${first.name}: connecting to the databases</p>`)
    : undefined;
  if (metrics) {
    // served from the start, before anything waits: a port in use is said at once (METRICS_PORT),
    // and a process standing by, or waiting for its target, is seen too
    const host = options.metrics!.host ?? '127.0.0.1';
    metricsServer = await startMetricsServer(metrics, options.metrics!.port, host, health, page);
    logger.log('info', `metrics at http://${host}:${metricsServer.port}/metrics, health at /healthz (503 after ${Math.round(health!.timeoutMs / 1000)} s without success)${page ? ', status page at /' : ''}`);
  }
  const shutdown = shutdownSignal(logger);
  let takeLock: ReturnType<typeof lockTaker> | undefined;
  let lock: TargetLock | undefined;
  try {
    // DECIMAL readings as numbers, as SQLite gives them: parsed once by the driver instead of
    // once per change test and aggregate (a third of the catch-up CPU).
    const connectTimeoutMs = backoff.giveUpAfterMs;
    opened = { source: openDatabase(options.source, { readOnly: true, decimalNumbers: true, connectTimeoutMs }) };
    opened.target = openDatabase(options.target, { connectTimeoutMs });
    const wait = { logger, clock, signal: shutdown.signal, timeoutMs: backoff.giveUpAfterMs, backoff };
    if ((await waitForDatabase(opened.source, options.source, wait)) && (await waitForDatabase(opened.target, options.target, wait))) {
      takeLock = lockTaker({ ...options, backoff }, opened.source, logger, clock, env, shutdown.signal, health);
      lock = await takeLock({ regime, specs }, options.standby ?? false);
    }
  } finally {
    if (!lock) {
      shutdown.dispose();
      await opened?.source.destroy();
      await opened?.target?.destroy();
      await metricsServer?.close();
    }
  }
  if (!lock || !opened?.target || !takeLock) return; // stopped while connecting or standing by
  const { source, target } = opened;
  const retake = takeLock;
  let pending: RegimeWithSpecs | undefined;
  let runAbort: AbortController | undefined;
  const onHup = (): void => {
    const reloaded = options.reload?.();
    if (reloaded === undefined) return;
    if (typeof reloaded === 'string') {
      logger.log('warn', `SIGHUP: regime file ${options.loaded.file ?? ''} is invalid, keeping the running regime:\n${reloaded}`);
      return;
    }
    pending = reloaded;
    runAbort?.abort();
  };
  process.on('SIGHUP', onHup);
  let watch = watchLock(lock, logger, () => runAbort?.abort(), env);
  // while catching up, a progress line every 10 s instead of a line per write
  const observer = combineObservers(new CatchUpProgress(logger, clock), metrics, health);
  try {
    for (;;) {
      runAbort = new AbortController();
      const stop = (): void => runAbort?.abort();
      shutdown.signal.addEventListener('abort', stop, { once: true });
      if (shutdown.signal.aborted) runAbort.abort();
      const run = {
        regime,
        specs,
        source,
        target,
        targetLocation: options.target,
        logger,
        clock: options.clock,
        signal: runAbort.signal,
        untilCaughtUp: options.untilCaughtUp,
        tables: options.tables,
        allowCreate: options.allowCreate,
        dropTargets: options.dropTargets && regime === options.loaded.regime,
        rowDecoder: options.rowDecoder,
        backoff,
        observer,
      };
      let done: { message: string; fields: Record<string, unknown> }[];
      try {
        if (mode === 'scrape') {
          const report = await runScraper({ ...run, seed: options.seed || regime.scraper.seed_target_tables });
          done = report.streams.map((s) => ({
            message: `done ${s.table}: ${s.rowsRead} rows read, ${s.samples} samples, ${s.propagations} propagations${s.rowsSkipped ? `, ${s.rowsSkipped} skipped` : ''}`,
            fields: { stream: s.table, rows: s.rowsRead, samples: s.samples, propagations: s.propagations, skipped: s.rowsSkipped },
          }));
        } else {
          const report = await runAverager(run);
          done = report.streams.map((s) => ({
            message: `done ${s.table}: resumed at ${s.resumedAt} ${regime.timezone}, ${s.rowsRead} rows read, ${s.chunks} chunks, ${s.validities} validities`,
            fields: { stream: s.table, resumed_at: s.resumedAt, zone: regime.timezone, rows: s.rowsRead, chunks: s.chunks, propagations: s.validities },
          }));
        }
      } finally {
        shutdown.signal.removeEventListener('abort', stop);
      }
      if (watch.lost() && !shutdown.signal.aborted) {
        // taken again (or stood by for whoever took it); the run resumes from the target
        watch.stop();
        await lock.release();
        logger.log('warn', `lost the writer lock of regime ${regime.name} on ${describeLocation(options.target)}: taking it again`);
        const again = await retake({ regime, specs }, true);
        if (!again) break; // stopped while standing by
        lock = again;
        watch = watchLock(lock, logger, () => runAbort?.abort(), env);
        continue;
      }
      if (pending && !shutdown.signal.aborted) {
        ({ regime, specs } = pending);
        pending = undefined;
        logger.log('info', `reloaded regime ${regime.name}${options.loaded.file ? ` from ${options.loaded.file}` : ''}`);
        const scopes = await writerScopes(source, regimeForRole(regime, mode), specs, options.tables).catch(() => undefined);
        if (!scopes || !sameScopes(scopes, lock.scopes)) {
          // the edit changed the tables or contexts written: the lock follows them
          watch.stop();
          await lock.release();
          const again = await retake({ regime, specs }, true);
          if (!again) break; // stopped while standing by
          lock = again;
          watch = watchLock(lock, logger, () => runAbort?.abort(), env);
        }
        continue;
      }
      for (const line of done) logger.log('info', line.message, line.fields);
      break;
    }
  } finally {
    watch.stop();
    await metricsServer?.close();
    process.removeListener('SIGHUP', onHup);
    shutdown.dispose();
    await source.destroy();
    await target.destroy();
    await lock.release();
  }
}

/**
 * Takes the writer lock, standing by when asked: a lock held by another process throws LOCK_HELD
 * (exit 1) unless standing by; a lost or refused connection to the target is retried with capped
 * backoff (one log line when it is lost, one when it is back). Undefined when the signal stopped
 * the wait.
 */
function lockTaker(
  options: RegimeSessionOptions,
  source: Knex,
  logger: Logger,
  clock: Clock,
  env: NodeJS.ProcessEnv,
  signal: AbortSignal,
  health?: SessionHealth,
): (loaded: RegimeWithSpecs, standby: boolean) => Promise<TargetLock | undefined> {
  const guard = new RetryGuard(logger, clock, options.backoff);
  const what = `${options.mode === 'scrape' ? 'scraper' : 'averager'} of regime ${options.loaded.regime.name}`;
  return async ({ regime, specs }, standby) => {
    for (;;) {
      try {
        const scopes = await writerScopes(source, regimeForRole(regime, options.mode), specs, options.tables);
        const lock = await acquireTargetLock(what, scopes, options.target, logger, signal, standby, env, (holder) => health?.standby(holder));
        guard.ok();
        health?.standby(undefined);
        if (lock) health?.ok();
        return lock;
      } catch (err) {
        if (isScrapeError(err, 'LOCK_HELD') || !isTransientError(err)) throw err;
        if (signal.aborted) return undefined;
        health?.failed(err);
        await guard.failed(err, signal);
        if (signal.aborted) return undefined;
      }
    }
  };
}

function sameScopes(a: readonly LockScope[], b: readonly LockScope[]): boolean {
  const keys = (list: readonly LockScope[]) => list.map(scopeKey).sort().join('\n');
  return keys(a) === keys(b);
}
