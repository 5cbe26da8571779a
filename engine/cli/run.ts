import * as fs from 'fs';
import * as path from 'path';
import { Command, Option } from 'commander';
import { openDatabase, describeLocation } from '../db/open-database';
import { projectRoot, resolveDatabase } from '../config/dbconf';
import { ScrapeError } from '../core/errors';
import { LOG_LEVELS, LogLevel } from '../core/logger';
import { applySettingOverrides, checkRegimeFile, loadRegime, LoadedRegime, renderDiagnostics } from '../config/load-regime';
import { DatabaseLocation } from '../config/dbconf';
import { Logger } from '../core/logger';
import { Regime } from '../config/regime';
import { RegimeLock, LockRole } from '../session/regime-lock';
import { SpecTable } from '../spec/spec-table';
import { runScraper } from '../scraper/scraper';
import { systemClock } from '../core/clock';
import { parseDuration } from '../core/time';
import { CatchUpProgress } from '../session/progress';
import { ScrapeMetrics, startMetricsServer } from '../session/metrics-server';
import { combineObservers } from '../stream/stream-observer';
import { CliIo, streamLogger } from './io';
import { RegisterCommand } from './main';

/** Options every database command shares. */
export interface CommonOptions {
  dbconf?: string;
  regimes?: string;
  specDir?: string;
  set?: string[];
  logLevel: LogLevel;
  logFormat: 'human' | 'json';
}

/** Adds the options every regime command shares. */
export function addCommonOptions(cmd: Command): Command {
  return cmd
    .option('--dbconf <file>', 'dbconf file looked in first (then $SCRAPE_DBCONF, ~/.my.cnf, the shipped dbconf.ini)')
    .option('--regimes <dir>', 'folder of regime YAML files (default $SCRAPE_REGIMES or ./regimes.d)')
    .option('--spec-dir <dir>', 'folder of .spec files (default: the project spec/)')
    .option('--set <key=value>', 'override a setting, e.g. --set maxage=1m (repeatable)', (v: string, prev: string[] = []) => [...prev, v])
    .addOption(new Option('--log-level <level>', 'least level logged').choices([...LOG_LEVELS]).default('info'))
    .addOption(new Option('--log-format <format>', 'log line format').choices(['human', 'json']).default('human'));
}

/** Loads a regime given on the command line, applying `--set` overrides to `section`. */
export function loadRegimeForCli(name: string, opts: CommonOptions, io: CliIo, section: 'scraper' | 'averager' | 'faker'): LoadedRegime {
  const loaded = loadRegime(name, { regimesDir: opts.regimes, specDir: opts.specDir, cwd: io.cwd, env: io.env });
  if (opts.set?.length) loaded.regime = applySettingOverrides(loaded.regime, opts.set, section);
  return loaded;
}

/** Time a command has after SIGINT/SIGTERM to finish before it exits without waiting any longer. */
export const SHUTDOWN_GRACE_MS = 3500;

/**
 * An AbortSignal that fires on SIGINT/SIGTERM (the run finishes its write in flight, then exits
 * 0). A database call that does not return (a network that drops packets silently answers
 * nothing, not even an error) must not hold the process: `SHUTDOWN_GRACE_MS` after the signal
 * the process logs what it is doing and exits 0 anyway. Nothing is lost: an open transaction dies
 * with its connection and is rolled back by the server, and the next run resumes from the target.
 */
export function shutdownSignal(logger?: Logger): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  let overdue: NodeJS.Timeout | undefined;
  const stop = () => {
    controller.abort();
    overdue ??= setTimeout(() => {
      logger?.log('warn', `shutdown: still waiting for the database ${SHUTDOWN_GRACE_MS / 1000} s after the signal; exiting without it (an unfinished write is rolled back by the server and redone by the next run)`);
      // a command that already returned its code (and only left a handle behind) keeps that code
      process.exit(process.exitCode ?? 0);
    }, SHUTDOWN_GRACE_MS);
    overdue.unref(); // never what keeps the process alive
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  return {
    signal: controller.signal,
    dispose: () => {
      process.removeListener('SIGINT', stop);
      process.removeListener('SIGTERM', stop);
    },
  };
}

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

/** The schema's defaults of a settings section, for help output. */
function schemaDefaults(section: string): Record<string, unknown> {
  const schema = JSON.parse(fs.readFileSync(path.join(projectRoot(), 'schemas', 'regime.schema.json'), 'utf8'));
  const props = schema.definitions[section]?.properties ?? {};
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries<any>(props)) {
    out[k] = v.default ?? (v.$ref ? schema.definitions[v.$ref.split('/').pop()].default : undefined);
  }
  return out;
}

/** `--help` with a regime: its effective settings beside their defaults, as `scr.py -s X --help` did. */
export function effectiveSettingsText(loaded: LoadedRegime, section: 'scraper' | 'averager' | 'faker'): string {
  const defaults = schemaDefaults(section);
  const values = loaded.regime[section] as unknown as Record<string, unknown>;
  const rows = Object.keys(defaults).map((k) => [k, JSON.stringify(values[k] ?? null), JSON.stringify(defaults[k] ?? null)]);
  const w0 = Math.max(...rows.map((r) => r[0].length), 7);
  const w1 = Math.max(...rows.map((r) => r[1].length), 9);
  const lines = [
    `Effective ${section} settings of regime ${loaded.regime.name} (${loaded.file}):`,
    `  ${'setting'.padEnd(w0)}  ${'effective'.padEnd(w1)}  default`,
    ...rows.map(([k, v, d]) => `  ${k.padEnd(w0)}  ${v.padEnd(w1)}  ${d}${v !== d ? '   *' : ''}`),
    `  source = ${loaded.regime.source}   target = ${loaded.regime.target}   timezone = ${loaded.regime.timezone}`,
    '  (* differs from the default; change with --set key=value)',
  ];
  return lines.join('\n') + '\n';
}

interface RunOptions extends CommonOptions {
  source?: string;
  target?: string;
  maxiter?: string;
  untilCaughtUp?: boolean;
  seed?: boolean;
  tables?: string;
  allowDropCreateTable?: boolean;
  dropTargetTables?: boolean;
  help?: boolean;
  standby?: boolean;
  metricsPort?: string;
}

/** `scrape run <regime>`: the scraper. */
export const registerRun: RegisterCommand = (program, io, setExit) => {
  const cmd = program
    .command('run')
    .description('scrape a regime: source tables -> DBI validities, resuming where the target stopped')
    .argument('[regime]', 'regime name (regimes.d/<name>.yaml) or path to a YAML file')
    .helpOption(false)
    .option('-h, --help', 'show this help and, with a regime, its effective settings')
    .option('--source <name>', 'dbconf section or URL of the source (default: the regime\'s)')
    .option('--target <name>', 'dbconf section or URL of the target (default: the regime\'s)')
    .option('--maxiter <n>', 'stop after n samples per stream (0 = forever)')
    .option('--until-caught-up', 'exit 0 once every stream has consumed the source rows present')
    .option('--seed', 'write a seed validity into empty targets (never on production targets)')
    .option('--tables <names>', 'only these source tables (comma separated)')
    .option('--allow-drop-create-table', 'create missing target tables')
    .option('--drop-target-tables', 'drop and recreate the target tables first (with --allow-drop-create-table)')
    .option('--standby', 'when another scraper holds the regime lock on the target, wait and take over when it dies')
    .option('--metrics-port <n>', 'serve Prometheus metrics at http://<host>:<n>/metrics while running');
  addCommonOptions(cmd);
  cmd.action(async (name: string | undefined, opts: RunOptions) => {
    const sets = [...(opts.set ?? [])];
    if (opts.maxiter !== undefined) sets.push(`maxiter=${opts.maxiter}`);
    if (opts.help || !name) {
      io.stdout.write(cmd.helpInformation());
      if (name) io.stdout.write('\n' + effectiveSettingsText(loadRegimeForCli(name, { ...opts, set: sets }, io, 'scraper'), 'scraper'));
      if (!name && !opts.help) setExit(1);
      return;
    }
    const loaded = loadRegimeForCli(name, { ...opts, set: sets }, io, 'scraper');
    const logger = streamLogger(io, opts.logLevel, opts.logFormat);
    const dbconf = { dbconf: opts.dbconf, env: io.env };
    const sourceLoc = resolveDatabase(opts.source ?? loaded.regime.source, dbconf);
    const targetLoc = resolveDatabase(opts.target ?? loaded.regime.target, dbconf);
    for (const w of [...sourceLoc.warnings, ...targetLoc.warnings]) logger.log('warn', w);
    if (opts.dropTargetTables && !opts.allowDropCreateTable) {
      throw new ScrapeError('USAGE', '--drop-target-tables needs --allow-drop-create-table too');
    }
    logger.log('info', `regime ${loaded.regime.name}: ${describeLocation(sourceLoc)} -> ${describeLocation(targetLoc)}`);
    const shutdown = shutdownSignal(logger);
    let lock: RegimeLock | undefined;
    try {
      lock = await acquireRegimeLock('scrape', loaded.regime.name, targetLoc, logger, shutdown.signal, opts.standby, io.env);
    } finally {
      if (!lock) shutdown.dispose();
    }
    if (!lock) {
      return; // stopped while standing by
    }
    // DECIMAL readings as numbers, as SQLite gives them: parsed once by the driver instead of
    // once per change test and aggregate (a third of the catch-up CPU).
    const source = openDatabase(sourceLoc, { readOnly: true, decimalNumbers: true });
    const target = openDatabase(targetLoc);
    let regime = loaded.regime;
    let specs = loaded.specs;
    let pending: { regime: Regime; specs: Map<string, SpecTable> } | undefined;
    let runAbort: AbortController | undefined;
    // SIGHUP: re-read the regime file; a valid edit restarts the run loop between pages (it
    // resumes from the target), an invalid one is logged and ignored.
    const onHup = (): void => {
      const lookup = { regimesDir: opts.regimes, specDir: opts.specDir, cwd: io.cwd, env: io.env };
      const checked = checkRegimeFile(loaded.file, lookup);
      if (!checked.regime || checked.diagnostics.some((d) => d.severity === 'error')) {
        logger.log('warn', `SIGHUP: regime file ${loaded.file} is invalid, keeping the running regime:\n${renderDiagnostics(checked.diagnostics, io.cwd)}`);
        return;
      }
      pending = { regime: sets.length ? applySettingOverrides(checked.regime, sets, 'scraper') : checked.regime, specs: checked.specs };
      runAbort?.abort();
    };
    process.on('SIGHUP', onHup);
    const watch = watchLock(lock, logger, () => runAbort?.abort(), io.env);
    const metrics = opts.metricsPort !== undefined ? new ScrapeMetrics(loaded.regime.name) : undefined;
    const observer = combineObservers(new CatchUpProgress(logger, systemClock, parseDuration(loaded.regime.scraper.heartbeat)), metrics);
    let metricsServer: { port: number; close(): Promise<void> } | undefined;
    try {
      if (metrics) {
        const port = Number(opts.metricsPort);
        if (!Number.isInteger(port) || port < 0 || port > 65535) throw new ScrapeError('USAGE', `--metrics-port ${opts.metricsPort}: not a port number`);
        metricsServer = await startMetricsServer(metrics, port);
        logger.log('info', `metrics at http://0.0.0.0:${metricsServer.port}/metrics`);
      }
      for (;;) {
        runAbort = new AbortController();
        const stop = (): void => runAbort?.abort();
        shutdown.signal.addEventListener('abort', stop, { once: true });
        if (shutdown.signal.aborted) runAbort.abort();
        let report;
        try {
          report = await runScraper({
            regime,
            specs,
            source,
            target,
            targetLocation: targetLoc,
            logger,
            signal: runAbort.signal,
            untilCaughtUp: opts.untilCaughtUp,
            seed: opts.seed || regime.scraper.seed_target_tables,
            tables: opts.tables?.split(',').map((t) => t.trim()).filter(Boolean),
            allowCreate: opts.allowDropCreateTable,
            dropTargets: opts.dropTargetTables && regime === loaded.regime,
            observer,
          });
        } finally {
          shutdown.signal.removeEventListener('abort', stop);
        }
        if (watch.lost()) {
          throw new ScrapeError('LOCK_LOST', `lost the lock of regime ${regime.name} on ${describeLocation(targetLoc)}: stopped writing`, { transient: true });
        }
        if (pending && !shutdown.signal.aborted) {
          ({ regime, specs } = pending);
          pending = undefined;
          logger.log('info', `reloaded regime ${regime.name} from ${loaded.file}`);
          continue;
        }
        for (const s of report.streams) {
          logger.log('info', `done ${s.table}: ${s.rowsRead} rows read, ${s.samples} samples, ${s.propagations} propagations${s.rowsSkipped ? `, ${s.rowsSkipped} skipped` : ''}`);
        }
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
  });
};
