import * as fs from 'fs';
import * as path from 'path';
import { Command, Option } from 'commander';
import { openDatabase, describeLocation } from '../config/database';
import { projectRoot, resolveDatabase } from '../config/dbconf';
import { ScrapeError } from '../config/errors';
import { LOG_LEVELS, LogLevel } from '../config/logger';
import { applySettingOverrides, loadRegime, LoadedRegime } from '../config/load-regime';
import { runScraper } from '../scraper/scraper';
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

/** An AbortSignal that fires on SIGINT/SIGTERM (the run finishes its write in flight, then exits 0). */
export function shutdownSignal(): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  const stop = () => controller.abort();
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
    .option('--drop-target-tables', 'drop and recreate the target tables first (with --allow-drop-create-table)');
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
    const source = openDatabase(sourceLoc, { readOnly: true });
    const target = openDatabase(targetLoc);
    const shutdown = shutdownSignal();
    try {
      const report = await runScraper({
        regime: loaded.regime,
        specs: loaded.specs,
        source,
        target,
        targetLocation: targetLoc,
        logger,
        signal: shutdown.signal,
        untilCaughtUp: opts.untilCaughtUp,
        seed: opts.seed || loaded.regime.scraper.seed_target_tables,
        tables: opts.tables?.split(',').map((t) => t.trim()).filter(Boolean),
        allowCreate: opts.allowDropCreateTable,
        dropTargets: opts.dropTargetTables,
      });
      for (const s of report.streams) {
        logger.log('info', `done ${s.table}: ${s.rowsRead} rows read, ${s.samples} samples, ${s.propagations} propagations${s.rowsSkipped ? `, ${s.rowsSkipped} skipped` : ''}`);
      }
    } finally {
      shutdown.dispose();
      await source.destroy();
      await target.destroy();
    }
  });
};
