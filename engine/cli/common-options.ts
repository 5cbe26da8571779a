import { Command, Option } from 'commander';
import { LOG_LEVELS, LogLevel, Logger } from '../core/logger';
import { applySettingOverrides, loadRegime, LoadedRegime } from '../config/load-regime';
import { settingDefaults } from '../config/regime-defaults';
import { CliIo, LOG_FORMATS, LogFormat, streamLogger } from './io';

/** `--log-level` and `--log-format`, which every command takes. */
export interface LogOptions {
  logLevel: LogLevel;
  logFormat: LogFormat;
}

/** Adds `--log-level` and `--log-format` (every command has them; fatal errors follow the format too). */
export function addLogOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('--log-level <level>', 'least level logged').choices([...LOG_LEVELS]).default('info'))
    .addOption(new Option('--log-format <format>', 'log lines (stderr) as human text (times UTC) or one JSON object per line').choices([...LOG_FORMATS]).default('human'));
}

/** The command's logger on stderr, as its log options say. */
export function cliLogger(io: CliIo, opts: Partial<LogOptions>): Logger {
  return streamLogger(io, opts.logLevel ?? 'info', opts.logFormat ?? 'human');
}

/** Options every regime command shares. */
export interface CommonOptions extends LogOptions {
  dbconf?: string;
  regimes?: string;
  specDir?: string;
  set?: string[];
}

/** Adds the options every regime command shares. */
export function addCommonOptions(cmd: Command): Command {
  cmd
    .option('--dbconf <file>', 'dbconf file looked in first (then $SCRAPE_DBCONF, ~/.my.cnf, the shipped dbconf.ini)')
    .option('--regimes <dir>', 'folder of regime YAML files (default $SCRAPE_REGIMES or ./regimes.d)')
    .option('--spec-dir <dir>', 'folder of .spec files (default: the project spec/)')
    .option('--set <key=value>', 'override a setting, e.g. --set maxage=1m (repeatable)', (v: string, prev: string[] = []) => [...prev, v]);
  return addLogOptions(cmd);
}

/** Loads a regime given on the command line, applying `--set` overrides to `section`. */
export function loadRegimeForCli(name: string, opts: CommonOptions, io: CliIo, section: 'scraper' | 'averager' | 'faker'): LoadedRegime {
  const loaded = loadRegime(name, { regimesDir: opts.regimes, specDir: opts.specDir, cwd: io.cwd, env: io.env });
  if (opts.set?.length) loaded.regime = applySettingOverrides(loaded.regime, opts.set, section);
  return loaded;
}

/** `--help` with a regime: its effective settings beside their defaults, as `scr.py -s X --help` did. */
export function effectiveSettingsText(loaded: LoadedRegime, section: 'scraper' | 'averager' | 'faker'): string {
  const defaults = settingDefaults(section);
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
