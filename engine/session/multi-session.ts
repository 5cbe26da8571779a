import { setMaxListeners } from 'events';
import { Knex } from 'knex';
import { Clock, systemClock } from '../core/clock';
import { parseDuration } from '../core/time';
import { ScrapeError, isScrapeError } from '../core/errors';
import { Logger } from '../core/logger';
import { DatabaseLocation } from '../config/dbconf';
import { regimeForRole } from '../config/regime-defaults';
import { describeLocation, openDatabase } from '../db/open-database';
import { rowDecoderUnavailable } from '../source/row-decoder';
import { discoverStreams } from '../source/source-stream';
import { BackoffOptions, RetryGuard } from '../db/retry-guard';
import { isTransientError } from '../db/transient-error';
import { waitForDatabase } from '../db/wait-for-database';
import { RunOptions } from '../stream/run-options';
import { retryingWith } from '../stream/retry';
import { SleepPolicy, runStreams } from '../stream/stream-loop';
import { StreamObserver, combineObservers } from '../stream/stream-observer';
import { StreamWorker } from '../stream/stream-worker';
import { PendingBudget } from '../stream/target-set';
import { StepGate } from '../stream/step-gate';
import { buildStreamRunners, scraperSleep } from '../scraper/scraper';
import { StreamRunner } from '../scraper/stream-runner';
import { averagerSleep, buildStreamAveragers } from '../averager/averager';
import { StreamAverager } from '../averager/stream-averager';
import { ScrapeMetrics, startMetricsServer } from './metrics-server';
import { SessionHealth, defaultHealthTimeoutMs } from './session-health';
import { CatchUpProgress } from './progress';
import { DEFAULT_CONNECT_TIMEOUT_MS, RegimeWithSpecs, StatusPageRenderer } from './regime-session';
import { LockScope, TargetLock, scopeKey } from './target-lock';
import { shutdownSignal } from './shutdown-signal';
import { acquireTargetLock, watchLock, writerScopes } from './writer-lock';

/** One regime of a several-regime process, with the databases it reads and writes. */
export interface SessionRegime {
  loaded: RegimeWithSpecs;
  source: DatabaseLocation;
  target: DatabaseLocation;
  /** SIGHUP: re-reads this regime's file (a string: why the edit is invalid, the running regime kept). */
  reload?: () => RegimeWithSpecs | string;
}

/** Options of `runMultiSession`: those of a one-regime session, for several regimes. */
export interface MultiSessionOptions {
  mode: 'scrape' | 'average';
  regimes: SessionRegime[];
  /** What the process runs, in its log lines and the metrics' process-wide series (`ALL`, `adtemp+pmthv`). */
  label: string;
  logger: Logger;
  clock?: Clock;
  env?: NodeJS.ProcessEnv;
  standby?: boolean;
  untilCaughtUp?: boolean;
  /** Only these source tables: each regime runs those it matches (a regime matching none is left out). */
  tables?: string[];
  allowCreate?: boolean;
  seed?: boolean;
  rowDecoder?: boolean;
  metrics?: { port: number; host?: string; healthTimeoutMs?: number; statusPage?: StatusPageRenderer };
  backoff?: BackoffOptions;
  connectTimeoutMs?: number;
  /** Also told of every stream's steps and writes (benchmarks, embedding). */
  observer?: StreamObserver;
  /** Stops the process as SIGTERM does (after the writes in flight); for embedding and tests. */
  signal?: AbortSignal;
}

/** A stream (or a whole regime, `stream` `*`) stopped on a permanent error while the others went on. */
export interface StreamFailure {
  regime: string;
  stream: string;
  code?: string;
  message: string;
}

/** What a several-regime process did: the streams it ran and those that failed. */
export interface MultiSessionReport {
  streams: number;
  failed: StreamFailure[];
}

/**
 * Database connections of one process, one pool per database location and role (a source is
 * opened read-only), shared by every regime that names that location.
 */
class SharedConnections {
  private readonly pools = new Map<string, { db: Knex; location: DatabaseLocation }>();

  constructor(private readonly open: (location: DatabaseLocation, source: boolean) => Knex) {}

  get(location: DatabaseLocation, source: boolean): Knex {
    const key = `${source ? 'source' : 'target'}\n${JSON.stringify(location)}`;
    let entry = this.pools.get(key);
    if (!entry) {
      entry = { db: this.open(location, source), location };
      this.pools.set(key, entry);
    }
    return entry.db;
  }

  all(): { db: Knex; location: DatabaseLocation }[] {
    return [...this.pools.values()];
  }

  async destroy(): Promise<void> {
    for (const { db } of this.pools.values()) await db.destroy();
  }
}

/**
 * Every stream of several regimes in one process (`scrape run A B`, `scrape run ALL`, and the
 * averager's `scrape average`). Each regime keeps what its own process would have: its writer
 * lock over the (table, context) scopes it writes (taken for every regime before anything is
 * written, so a scope another process holds refuses the whole start with LOCK_HELD, as one
 * regime does; with `standby` each regime waits for its own), a lock lost while running taken
 * again, SIGHUP re-reading its file. Within a regime every stream runs its own loop: its own
 * resume, fence, late-row and future-row handling, sleep tuned from its own lag, and retries of
 * transient errors (an outage of its databases); a permanent error stops that stream alone and
 * is reported, the others keep writing. Connections are shared per database location; one
 * metrics server (series labelled by each stream's regime), health check and status page serve
 * them all. Resolves when every stream ended (caught up, `maxiter`, failed) or a signal stopped
 * the process, with the failed streams.
 */
export async function runMultiSession(options: MultiSessionOptions): Promise<MultiSessionReport> {
  const { logger, mode } = options;
  const clock = options.clock ?? systemClock;
  const env = options.env ?? process.env;
  for (const r of options.regimes) {
    const regime = r.loaded.regime;
    logger.log('info', `${mode === 'scrape' ? 'regime' : 'averager'} ${regime.name}: ${describeLocation(r.source)} -> ${describeLocation(r.target)}, source times ${regime.timezone}`, {
      regime: regime.name,
      role: mode,
      source: describeLocation(r.source),
      target: describeLocation(r.target),
      zone: regime.timezone,
    });
  }
  const decoderMissing = options.rowDecoder === false ? undefined : rowDecoderUnavailable();
  if (decoderMissing) logger.log('info', decoderMissing);
  const backoff: BackoffOptions = {
    ...options.backoff,
    giveUpAfterMs: options.untilCaughtUp ? options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS : undefined,
  };
  const pauseMs = Math.max(
    ...options.regimes.map(({ loaded: { regime } }) =>
      mode === 'scrape' ? Math.max(parseDuration(regime.scraper.heartbeat), parseDuration(regime.scraper.sleep)) : parseDuration(regime.averager.sleep),
    ),
  );
  const health = options.metrics ? new SessionHealth(options.metrics.healthTimeoutMs ?? defaultHealthTimeoutMs(pauseMs), clock) : undefined;
  const regimeOfWorker = new WeakMap<StreamWorker, string>();
  const metrics = options.metrics ? new ScrapeMetrics(options.label, { clock, health, regimeOf: (w) => regimeOfWorker.get(w) ?? options.label }) : undefined;
  const progress = new CatchUpProgress(logger, clock);
  // each stream's loop must not restart the progress count of the others (`start`): streams join it as they are built
  const observer: StreamObserver = { ...combineObservers(progress, metrics, health, options.observer), start: undefined };
  // an averager stream holds a source connection for each chunk it reads (given back between steps); the streams' loops run at once: room for many
  const poolMax = mode === 'average' ? 64 : undefined;
  const connections = new SharedConnections((location, source) =>
    openDatabase(location, source ? { readOnly: true, decimalNumbers: true, connectTimeoutMs: backoff.giveUpAfterMs, poolMax: location.dialect === 'sqlite' ? undefined : poolMax } : { connectTimeoutMs: backoff.giveUpAfterMs }),
  );
  // decided rows held before writing: one budget for every stream of the process, whatever the number of regimes
  const budget = new PendingBudget();
  // and a few scraper streams stepping at once: each holds a page while it steps (not averager
  // streams: one may hold a source connection between its steps, so a stream waiting its turn
  // could hold the connection a stream stepping needs)
  const gate = mode === 'scrape' ? new StepGate() : undefined;
  const runs = options.regimes.map((r) => new RegimeRun(r, options, backoff, clock, env, observer, regimeOfWorker, progress, { budget, gate }, health));
  let connected = false;
  const statusPage = options.metrics?.statusPage;
  const page = statusPage
    ? async (query: URLSearchParams): Promise<string> => {
        const run = runs.find((r) => r.name === query.get('regime')) ?? runs[0];
        if (!connected) return `<!doctype html><meta charset="utf-8"><meta http-equiv="refresh" content="5"><title>scrape ${options.label}</title><p>scrape ${options.label}: connecting to the databases</p>`;
        const html = await statusPage({ regime: run.regime, specs: run.specs, source: run.source!, target: run.target!, role: mode, clock, health: health?.report(), query });
        const links = runs.map((r) => (r === run ? `<b>${r.name}</b>` : `<a href="?regime=${encodeURIComponent(r.name)}">${r.name}</a>`)).join(' · ');
        return html.replace(/<body[^>]*>/i, (body) => `${body}<nav class="regimes">regimes: ${links}</nav>`);
      }
    : undefined;
  let metricsServer: { port: number; close(): Promise<void> } | undefined;
  if (metrics) {
    const host = options.metrics!.host ?? '127.0.0.1';
    metricsServer = await startMetricsServer(metrics, options.metrics!.port, host, health, page);
    logger.log('info', `metrics at http://${host}:${metricsServer.port}/metrics, health at /healthz (503 after ${Math.round(health!.timeoutMs / 1000)} s without success)${page ? ', status page at /' : ''}`);
  }
  const shutdown = shutdownSignal(logger);
  // SIGTERM/SIGINT, or the caller's signal
  const stopping = new AbortController();
  // every regime and every stream's sleep listen to it: not a leak
  setMaxListeners(0, stopping.signal);
  const stopGiven = (): void => stopping.abort();
  for (const s of [shutdown.signal, options.signal]) {
    s?.addEventListener('abort', stopGiven, { once: true });
    if (s?.aborted) stopping.abort();
  }
  const stopped = stopping.signal;
  const onHup = (): void => runs.forEach((r) => r.reload());
  process.on('SIGHUP', onHup);
  try {
    for (const run of runs) {
      run.source = connections.get(run.locations.source, true);
      run.target = connections.get(run.locations.target, false);
    }
    const wait = { logger, clock, signal: stopped, timeoutMs: backoff.giveUpAfterMs, backoff };
    for (const { db, location } of connections.all()) {
      if (!(await waitForDatabase(db, location, wait))) return { streams: 0, failed: [] };
    }
    connected = true;
    if (options.tables?.length) await leaveOutUnmatched(runs, options.tables);
    if (!options.standby) {
      // every regime's lock before anything is written: a scope another process holds refuses the start, as for one regime
      for (const run of runs) {
        if (!(await run.takeLock(stopped, false))) return { streams: 0, failed: runs.flatMap((r) => r.failures()) };
      }
    }
    await Promise.all(runs.map((run) => run.run(stopped)));
  } finally {
    process.removeListener('SIGHUP', onHup);
    for (const s of [shutdown.signal, options.signal]) s?.removeEventListener('abort', stopGiven);
    await metricsServer?.close();
    shutdown.dispose();
    for (const run of runs) await run.release();
    await connections.destroy();
  }
  return { streams: runs.reduce((n, r) => n + r.streamCount, 0), failed: runs.flatMap((r) => r.failures()) };
}

/**
 * `--tables` over several regimes: each regime keeps the named tables it matches, one matching
 * none is left out, and a name no regime matches is refused (USAGE), naming it.
 */
async function leaveOutUnmatched(runs: RegimeRun[], tables: string[]): Promise<void> {
  const matched = new Set<string>();
  for (const run of runs) {
    const streams = await discoverStreams(run.source!, regimeForRole(run.regime, run.mode), tables).catch((err) => {
      if (isScrapeError(err, 'SOURCE_NO_TABLES')) return [];
      throw err;
    });
    for (const s of streams) matched.add(s.table);
    run.included = streams.length > 0;
  }
  const unknown = tables.filter((t) => !matched.has(t));
  if (unknown.length) {
    throw new ScrapeError('USAGE', `--tables ${unknown.join(', ')}: no source table of that name matches any of the regimes ${runs.map((r) => r.name).join(', ')}`, {
      hint: 'name source tables the regimes match (scrape inspect <regime> lists them)',
    });
  }
}

/** One regime of the process: its lock, its streams' loops, its reloads. */
class RegimeRun {
  regime;
  specs;
  source?: Knex;
  target?: Knex;
  /** False when `--tables` names none of its tables: it runs nothing. */
  included = true;
  streamCount = 0;
  readonly mode: 'scrape' | 'average';
  private lock?: TargetLock;
  private pending?: RegimeWithSpecs;
  private runAbort?: AbortController;
  private readonly failed = new Map<string, StreamFailure>();
  private readonly logger: Logger;
  private readonly guard: RetryGuard;

  constructor(
    readonly locations: SessionRegime,
    private readonly options: MultiSessionOptions,
    private readonly backoff: BackoffOptions,
    private readonly clock: Clock,
    private readonly env: NodeJS.ProcessEnv,
    private readonly observer: StreamObserver,
    private readonly regimeOfWorker: WeakMap<StreamWorker, string>,
    private readonly progress: CatchUpProgress,
    private readonly shared: { budget: PendingBudget; gate?: StepGate },
    private readonly health?: SessionHealth,
  ) {
    this.regime = locations.loaded.regime;
    this.specs = locations.loaded.specs;
    this.mode = options.mode;
    this.logger = options.logger;
    this.guard = new RetryGuard(options.logger, clock, backoff);
  }

  get name(): string {
    return this.regime.name;
  }

  failures(): StreamFailure[] {
    return [...this.failed.values()];
  }

  /** SIGHUP: a valid edit restarts this regime's streams with it (they resume from the target). */
  reload(): void {
    const reloaded = this.locations.reload?.();
    if (reloaded === undefined) return;
    if (typeof reloaded === 'string') {
      this.logger.log('warn', `SIGHUP: regime file ${this.locations.loaded.file ?? this.name} is invalid, keeping the running regime:\n${reloaded}`);
      return;
    }
    this.pending = reloaded;
    this.runAbort?.abort();
  }

  async release(): Promise<void> {
    const lock = this.lock;
    this.lock = undefined;
    await lock?.release();
  }

  /**
   * Takes this regime's writer lock (standing by when asked), retrying a lost or refused target
   * connection. LOCK_HELD without standby propagates (the process refuses to start); another
   * permanent error (no source table, say) marks the regime failed. False when it did not get it.
   */
  async takeLock(signal: AbortSignal, standby: boolean): Promise<boolean> {
    if (!this.included) return true;
    const what = `${this.mode === 'scrape' ? 'scraper' : 'averager'} of regime ${this.name}`;
    for (;;) {
      try {
        const scopes = await writerScopes(this.source!, regimeForRole(this.regime, this.mode), this.specs, this.options.tables);
        this.lock = await acquireTargetLock(what, scopes, this.locations.target, this.logger, signal, standby, this.env, (holder) => this.health?.standby(holder));
        this.guard.ok();
        this.health?.standby(undefined);
        return this.lock !== undefined;
      } catch (err) {
        if (isScrapeError(err, 'LOCK_HELD')) throw err;
        if (!isTransientError(err)) {
          this.fail('*', err);
          return !signal.aborted;
        }
        if (signal.aborted) return false;
        this.health?.failed(err);
        await this.guard.failed(err, signal);
        if (signal.aborted) return false;
      }
    }
  }

  /** Runs the regime's streams until they end, taking its lock again when lost and restarting on a reload. */
  async run(signal: AbortSignal): Promise<void> {
    if (!this.included) return;
    if (!this.lock && !this.failed.has('*') && !(await this.takeLock(signal, true))) return;
    if (!this.lock) return; // failed before it could lock
    for (;;) {
      this.runAbort = new AbortController();
      setMaxListeners(0, this.runAbort.signal); // each stream's sleeps and reads listen to it
      const stop = (): void => this.runAbort?.abort();
      signal.addEventListener('abort', stop, { once: true });
      if (signal.aborted) this.runAbort.abort();
      const watch = watchLock(this.lock, this.logger, stop, this.env);
      let done: string[];
      try {
        done = await this.runStreams(this.runAbort.signal);
      } finally {
        watch.stop();
        signal.removeEventListener('abort', stop);
      }
      if (watch.lost() && !signal.aborted) {
        await this.release();
        this.logger.log('warn', `lost the writer lock of regime ${this.name} on ${describeLocation(this.locations.target)}: taking it again`);
        if (!(await this.takeLock(signal, true)) || !this.lock) return;
        continue;
      }
      if (this.pending && !signal.aborted) {
        ({ regime: this.regime, specs: this.specs } = this.pending);
        this.pending = undefined;
        this.logger.log('info', `reloaded regime ${this.name}${this.locations.loaded.file ? ` from ${this.locations.loaded.file}` : ''}`);
        const scopes = await writerScopes(this.source!, regimeForRole(this.regime, this.mode), this.specs, this.options.tables).catch(() => undefined);
        if (!scopes || !sameScopes(scopes, this.lock.scopes)) {
          await this.release();
          if (!(await this.takeLock(signal, true)) || !this.lock) return;
        }
        continue;
      }
      for (const line of done) this.logger.log('info', line, { regime: this.name });
      return;
    }
  }

  /** Builds the regime's streams and runs each in its own loop; the `done` lines of those that ended well. */
  private async runStreams(signal: AbortSignal): Promise<string[]> {
    const regime = regimeForRole(this.regime, this.mode);
    const run: RunOptions = {
      regime,
      specs: this.specs,
      source: this.source!,
      target: this.target!,
      targetLocation: this.locations.target,
      logger: this.logger,
      clock: this.options.clock,
      signal,
      untilCaughtUp: this.options.untilCaughtUp,
      tables: this.options.tables,
      allowCreate: this.options.allowCreate,
      rowDecoder: this.options.rowDecoder,
      backoff: this.backoff,
      observer: this.observer,
      pendingBudget: this.shared.budget,
      stepGate: this.shared.gate,
    };
    this.failed.clear();
    const retrying = retryingWith({ logger: this.logger, clock: this.clock, backoff: this.backoff, signal, onRetry: (err) => this.observer.retry?.(err) });
    let workers: (StreamRunner | StreamAverager)[] | undefined;
    try {
      workers = await retrying<(StreamRunner | StreamAverager)[]>(() =>
        this.mode === 'scrape' ? buildStreamRunners({ ...run, seed: this.options.seed || regime.scraper.seed_target_tables }) : buildStreamAveragers(run),
      );
    } catch (err) {
      this.fail('*', err);
      return [];
    }
    if (!workers) return [];
    this.streamCount = workers.length;
    for (const w of workers) this.regimeOfWorker.set(w, this.name);
    for (const w of workers) this.progress.join(w);
    const done: string[] = [];
    await Promise.all(
      workers.map(async (worker) => {
        const sleep: SleepPolicy = this.mode === 'scrape' ? scraperSleep(regime) : averagerSleep(regime);
        try {
          const ran = await runStreams(run, async () => [worker], sleep);
          if (ran) done.push(doneLine(this.name, worker));
        } catch (err) {
          if (signal.aborted && isTransientError(err)) return;
          this.progress.leave(worker);
          this.fail(worker.stream.table, err);
        }
      }),
    );
    return done;
  }

  private fail(stream: string, err: unknown): void {
    const code = isScrapeError(err) ? err.code : undefined;
    const message = err instanceof Error ? err.message : String(err);
    this.failed.set(stream, { regime: this.name, stream, code, message });
    const what = stream === '*' ? `regime ${this.name}` : `stream ${stream} of regime ${this.name}`;
    this.logger.log('error', `${what} stopped: ${code ? `${code} ` : ''}${message}; the other streams go on`, { regime: this.name, stream, code, event: 'stream-failed' });
  }
}

/** The line a stream logs when it ended well. */
function doneLine(regime: string, worker: StreamRunner | StreamAverager): string {
  const t = worker.totals;
  if (worker instanceof StreamAverager) {
    return `done ${regime}/${worker.stream.table}: resumed at ${worker.resumeTime} ${worker.timezone}, ${t.rowsRead} rows read, ${worker.chunks} chunks, ${t.propagations} validities`;
  }
  return `done ${regime}/${worker.stream.table}: ${t.rowsRead} rows read, ${t.samples} samples, ${t.propagations} propagations${t.rowsSkipped ? `, ${t.rowsSkipped} skipped` : ''}`;
}

function sameScopes(a: readonly LockScope[], b: readonly LockScope[]): boolean {
  const keys = (list: readonly LockScope[]) => list.map(scopeKey).sort().join('\n');
  return keys(a) === keys(b);
}
