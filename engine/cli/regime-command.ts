import { Command } from 'commander';
import { ScrapeError } from '../core/errors';
import { parseDuration } from '../core/time';
import { resolveDatabase } from '../config/dbconf';
import { applySettingOverrides, checkRegimeFile, renderDiagnostics } from '../config/load-regime';
import { StatusPageRenderer, runRegimeSession } from '../session/regime-session';
import { renderStatusPage } from '../report/status-page';
import { CommonOptions, addCommonOptions, cliLogger, effectiveSettingsText, loadRegimeForCli } from './common-options';
import { CliIo } from './io';
import { addConnectTimeoutOption, connectDatabase, connectTimeoutMs } from './connect-database';
import { DatabaseLocation } from '../db/database-location';
import { databaseFileMissing } from '../db/introspection';
import { Logger } from '../core/logger';
import { utcToLocal } from '../core/time';
import { LoadedRegime } from '../config/load-regime';
import { replayRegime } from '../report/replay-regime';
import { findRegimeFile, listRegimeFiles } from '../config/load-regime';
import { declaresAverager } from '../config/declares-averager';
import { runMultiSession } from '../session/multi-session';

/** Flags of `scrape run` and `scrape average`. */
export interface RegimeCommandOptions extends CommonOptions {
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
  metricsHost?: string;
  healthTimeout?: string;
  rowDecoder?: boolean;
  connectTimeout?: string;
  dryRun?: boolean;
}

/** The options `scrape run` and `scrape average` share, worded for `mode`. */
export function addRegimeRunOptions(cmd: Command, mode: 'scrape' | 'average'): Command {
  const who = mode === 'scrape' ? 'scraper' : 'averager';
  cmd
    .argument('[regimes...]', `regime names (regimes.d/<name>.yaml) or paths to YAML files; several, or ALL (every regime${mode === 'average' ? ' declaring an averager' : ''}), run every stream of each in one process`)
    .helpOption(false)
    .option('-h, --help', `show this help and, with a regime, its effective ${who} settings`)
    .option('--source <name>', "dbconf section or URL of the source (default: the regime's)")
    .option('--target <name>', "dbconf section or URL of the target (default: the regime's)")
    .option('--until-caught-up', mode === 'scrape' ? 'exit 0 once every stream has consumed the source rows present' : 'exit 0 once every complete bin present is written (default: keep waiting for new bins)')
    .option('--tables <names>', 'only these source tables (comma separated)')
    .option('--allow-drop-create-table', "create missing target tables (the manual's --ALLOW_DROP_CREATE_TABLE)")
    .option('--drop-target-tables', 'drop and recreate the target tables first (with --allow-drop-create-table)')
    .option('--standby', `when another ${who} holds the regime lock on the target, wait and take over when it dies`)
    .option('--metrics-port <n>', 'serve Prometheus metrics at http://<host>:<n>/metrics, the health check at /healthz and a status page at / while running (0: any free port)')
    .option('--metrics-host <host>', 'address the metrics server listens on (0.0.0.0: every interface)', '127.0.0.1')
    .option('--health-timeout <duration>', '/healthz answers 503 once nothing succeeded for this long (default: 3 × the longest caught-up pause, at least 30s)')
    .option('--dry-run', 'print the validities a run would write now (one line each), writing nothing: no table created, no lock taken')
    .option('--no-row-decoder', 'let the MySQL driver parse every source row (never decode wide numeric rows from their packets)');
  addConnectTimeoutOption(cmd, 'with --until-caught-up: how long an unreachable database is waited for (at start or in an outage) before exit 1; without it outages are waited out');
  return addCommonOptions(cmd);
}

/**
 * The action of `scrape run` / `scrape average`: help with the effective settings, flag checks,
 * the regime and databases resolved, then the regime session (lock, run, signals, metrics).
 */
export async function runRegimeCommand(cmd: Command, mode: 'scrape' | 'average', io: CliIo, setExit: (code: number) => void, names: string[], opts: RegimeCommandOptions): Promise<void> {
  if (names.length > 1 || names[0] === 'ALL') {
    await runRegimesCommand(cmd, mode, io, names, opts);
    return;
  }
  const name = names[0] as string | undefined;
  const section = mode === 'scrape' ? 'scraper' : 'averager';
  const withSets = withMaxiterSet(opts);
  if (opts.help || !name) {
    io.stdout.write(cmd.helpInformation());
    if (name) io.stdout.write('\n' + effectiveSettingsText(loadRegimeForCli(name, withSets, io, section), section));
    if (!name && !opts.help) setExit(1);
    return;
  }
  if (opts.dropTargetTables && !opts.allowDropCreateTable) {
    throw new ScrapeError('USAGE', '--drop-target-tables needs --allow-drop-create-table too');
  }
  const metrics = metricsOptions(opts);
  const connectTimeout = connectTimeoutMs(opts.connectTimeout);
  const loaded = loadRegimeForCli(name, withSets, io, section);
  const logger = cliLogger(io, opts);
  const dbconf = { dbconf: opts.dbconf, env: io.env, cwd: io.cwd };
  const source = resolveDatabase(opts.source ?? loaded.regime.source, dbconf);
  const target = resolveDatabase(opts.target ?? loaded.regime.target, dbconf);
  for (const w of [...source.warnings, ...target.warnings]) logger.log('warn', w);
  if (opts.dryRun) {
    await dryRun(mode, io, loaded, source, target, logger, connectTimeout, opts);
    return;
  }
  const lookup = { regimesDir: opts.regimes, specDir: opts.specDir, cwd: io.cwd, env: io.env };
  await runRegimeSession({
    mode,
    loaded,
    reload: () => {
      const checked = checkRegimeFile(loaded.file, lookup);
      if (!checked.regime || checked.diagnostics.some((d) => d.severity === 'error')) return renderDiagnostics(checked.diagnostics, io.cwd);
      return { regime: withSets.set.length ? applySettingOverrides(checked.regime, withSets.set, section) : checked.regime, specs: checked.specs };
    },
    source,
    target,
    logger,
    env: io.env,
    standby: opts.standby,
    untilCaughtUp: opts.untilCaughtUp,
    tables: opts.tables?.split(',').map((t) => t.trim()).filter(Boolean),
    allowCreate: opts.allowDropCreateTable,
    dropTargets: opts.dropTargetTables,
    seed: opts.seed,
    rowDecoder: opts.rowDecoder,
    metrics,
    connectTimeoutMs: connectTimeout,
  });
}

/**
 * `scrape run A B …` / `scrape run ALL` (`scrape average`: ALL is every regime declaring an
 * averager): every stream of each regime in one process (`runMultiSession`). `--set`, `--maxiter`,
 * `--seed` apply to every regime; `--source`/`--target` only when the regimes name one database
 * (else ambiguous: refused); `--tables` runs each regime's named tables and refuses a name no
 * regime matches; `--drop-target-tables` is refused (one regime at a time). Streams that failed
 * while the others went on end the run with STREAMS_FAILED (exit 1), naming each.
 */
async function runRegimesCommand(cmd: Command, mode: 'scrape' | 'average', io: CliIo, names: string[], opts: RegimeCommandOptions): Promise<void> {
  const section = mode === 'scrape' ? 'scraper' : 'averager';
  const lookup = { regimesDir: opts.regimes, specDir: opts.specDir, cwd: io.cwd, env: io.env };
  if (names.includes('ALL') && names.length > 1) throw new ScrapeError('USAGE', 'ALL stands alone: it means every regime of the regimes folder');
  if (opts.help) {
    io.stdout.write(cmd.helpInformation());
    return;
  }
  let files = names[0] === 'ALL' ? listRegimeFiles(lookup).files : names.map((n) => findRegimeFile(n, lookup));
  if (names[0] === 'ALL' && mode === 'average') files = files.filter(declaresAverager);
  files = [...new Set(files)];
  if (files.length === 0) {
    throw new ScrapeError('REGIME_NOT_FOUND', `no regime${mode === 'average' ? ' declaring an averager' : ''} in ${listRegimeFiles(lookup).dir}`, { hint: 'name the regimes to run, or add regime files' });
  }
  if (opts.dropTargetTables) {
    throw new ScrapeError('USAGE', '--drop-target-tables with several regimes: drop one regime\'s tables at a time', { hint: 'run scrape run <regime> --allow-drop-create-table --drop-target-tables for each regime first' });
  }
  const withSets = withMaxiterSet(opts);
  const loaded = files.map((f) => loadRegimeForCli(f, withSets, io, section));
  for (const [flag, given, key] of [['--source', opts.source, 'source'], ['--target', opts.target, 'target']] as const) {
    const named = [...new Set(loaded.map((l) => l.regime[key]))];
    if (given !== undefined && named.length > 1) {
      throw new ScrapeError('USAGE', `${flag} ${given} with regimes of different ${key}s (${named.join(', ')}): which regime it replaces is ambiguous`, {
        hint: `run the regimes of one ${key} together, or give ${flag} one regime at a time`,
      });
    }
  }
  const metrics = metricsOptions(opts);
  const connectTimeout = connectTimeoutMs(opts.connectTimeout);
  const logger = cliLogger(io, opts);
  const dbconf = { dbconf: opts.dbconf, env: io.env, cwd: io.cwd };
  const regimes = loaded.map((l) => {
    const source = resolveDatabase(opts.source ?? l.regime.source, dbconf);
    const target = resolveDatabase(opts.target ?? l.regime.target, dbconf);
    for (const w of [...source.warnings, ...target.warnings]) logger.log('warn', w);
    return {
      loaded: l,
      source,
      target,
      reload: () => {
        const checked = checkRegimeFile(l.file, lookup);
        if (!checked.regime || checked.diagnostics.some((d) => d.severity === 'error')) return renderDiagnostics(checked.diagnostics, io.cwd);
        return { regime: withSets.set.length ? applySettingOverrides(checked.regime, withSets.set, section) : checked.regime, specs: checked.specs };
      },
    };
  });
  const tables = opts.tables?.split(',').map((t) => t.trim()).filter(Boolean);
  if (opts.dryRun) {
    for (const r of regimes) await dryRun(mode, io, r.loaded, r.source, r.target, logger, connectTimeout, opts);
    return;
  }
  const report = await runMultiSession({
    mode,
    regimes,
    label: names[0] === 'ALL' ? 'ALL' : loaded.map((l) => l.regime.name).join('+'),
    logger,
    env: io.env,
    standby: opts.standby,
    untilCaughtUp: opts.untilCaughtUp,
    tables,
    allowCreate: opts.allowDropCreateTable,
    seed: opts.seed,
    rowDecoder: opts.rowDecoder,
    metrics,
    connectTimeoutMs: connectTimeout,
  });
  if (report.failed.length) {
    const list = report.failed.map((f) => `${f.regime}/${f.stream}${f.code ? ` (${f.code})` : ''}`).join(', ');
    throw new ScrapeError('STREAMS_FAILED', `${report.failed.length} of ${report.streams} streams stopped on an error, the others ran: ${list}`, {
      hint: 'the error lines above say why; fix them and run again (each stream resumes from its target)',
    });
  }
}

/** The options with `--maxiter N` checked and added to the `--set` list as `maxiter=N` (a scraper setting like any other). */
function withMaxiterSet(opts: RegimeCommandOptions): RegimeCommandOptions & { set: string[] } {
  const sets = [...(opts.set ?? [])];
  if (opts.maxiter !== undefined) {
    if (!/^\d+$/.test(opts.maxiter.trim())) {
      throw new ScrapeError('BAD_OPTION', `--maxiter ${opts.maxiter}: expected a whole number of samples per stream (0 = forever)`, { hint: 'give a whole number, e.g. --maxiter 100' });
    }
    sets.push(`maxiter=${opts.maxiter.trim()}`);
  }
  return { ...opts, set: sets };
}

/** `--metrics-port`, `--metrics-host` and `--health-timeout` checked and put together (undefined: no metrics server). */
function metricsOptions(opts: RegimeCommandOptions): { port: number; host: string; healthTimeoutMs?: number; statusPage: StatusPageRenderer } | undefined {
  if (opts.metricsPort === undefined) {
    if (opts.healthTimeout !== undefined) throw new ScrapeError('USAGE', '--health-timeout needs --metrics-port (the health check is served beside the metrics)');
    return undefined;
  }
  const port = Number(opts.metricsPort);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new ScrapeError('USAGE', `--metrics-port ${opts.metricsPort}: not a port number`);
  const host = (opts.metricsHost ?? '127.0.0.1').trim();
  if (!host) throw new ScrapeError('USAGE', '--metrics-host: empty');
  return { port, host, healthTimeoutMs: opts.healthTimeout === undefined ? undefined : parseDuration(opts.healthTimeout), statusPage: renderStatusPage };
}

/**
 * `--dry-run`: the run replayed through the engine with nothing written (`replayRegime`), one
 * line per validity it would write: target, context, range in UTC and source-local time, the
 * decision, a payload summary; then a count on stderr.
 */
async function dryRun(mode: 'scrape' | 'average', io: CliIo, loaded: LoadedRegime, sourceLocation: DatabaseLocation, targetLocation: DatabaseLocation, logger: Logger, timeoutMs: number, opts: RegimeCommandOptions): Promise<void> {
  const source = await connectDatabase(sourceLocation, { readOnly: true, decimalNumbers: true, timeoutMs, logger });
  try {
    // a SQLite target not made yet is an empty target: the dry run shows the first run's writes, and creates no file
    let targetToRead = targetLocation;
    if (databaseFileMissing(targetLocation)) {
      logger.log('info', `target ${targetLocation.filename} does not exist yet: dry run against an empty target (no file created)`);
      targetToRead = { ...targetLocation, filename: ':memory:' };
    }
    const target = await connectDatabase(targetToRead, { readOnly: true, timeoutMs, logger });
    try {
      const tables = opts.tables?.split(',').map((t) => t.trim()).filter(Boolean);
      const streams = await replayRegime({ regime: loaded.regime, specs: loaded.specs, source, target, targetLocation, logger, tables, rowDecoder: opts.rowDecoder }, mode);
      let count = 0;
      for (const s of streams) {
        const c = s.context;
        for (const t of s.targets) {
          for (const v of t.validities) {
            count++;
            const local = `[${utcToLocal(v.timestart, s.zone)}, ${utcToLocal(v.timeend, s.zone)}) ${s.zone}`;
            io.stdout.write(`${t.spec.table}  ${c.sitemask}/${c.subsite}/${c.simmask}/${c.task}/${c.aggregateno}  [${v.timestart}, ${v.timeend}) UTC  ${local}  ${v.reason ?? ''}  ${payloadSummary(v.rows)}\n`);
          }
        }
      }
      logger.log('info', `dry run: ${count} ${count === 1 ? 'validity' : 'validities'} would be written (context as sitemask/subsite/simmask/task/aggregateno); nothing was written`, { validities: count });
    } finally {
      await target.destroy();
    }
  } finally {
    await source.destroy();
  }
}

/** A payload in a few words: its row count and the first row's first values. */
function payloadSummary(rows: Record<string, unknown>[]): string {
  const first = rows[0] ? Object.entries(rows[0]).slice(0, 5).map(([k, v]) => `${k}=${v === null || v === undefined ? 'NULL' : String(v)}`).join(' ') : '';
  const more = rows[0] && Object.keys(rows[0]).length > 5 ? ' …' : '';
  return `${rows.length} ${rows.length === 1 ? 'row' : 'rows'}${first ? `: ${first}${more}` : ''}`;
}
