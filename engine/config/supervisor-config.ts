import * as path from 'path';
import { ScrapeError } from '../core/errors';

/** Which long-running command a supervisord program runs for a regime. */
export type SupervisorMode = 'run' | 'average' | 'fake';

/** The modes and the role word of their program names (`adtemp_scraper`, as the manual names them). */
export const SUPERVISOR_ROLES: Record<SupervisorMode, string> = { run: 'scraper', average: 'averager', fake: 'faker' };

/** What one supervisord `[program:…]` section is generated from. */
export interface SupervisorProgramInput {
  /** Regime name (the YAML file's base name): the program is `<regime>_<role>`. */
  regime: string;
  /** Absolute path of the regime file; its folder becomes `SCRAPE_REGIMES`. */
  regimeFile: string;
  mode: SupervisorMode;
  /** Absolute path of the node executable. */
  nodePath: string;
  /** Absolute path of `bin/scrape`. */
  scriptPath: string;
  /** Working directory of the program (absolute). */
  directory: string;
  /** Absolute dbconf file the program reads sections from (`SCRAPE_DBCONF`). */
  dbconf: string;
  /** Folder of the program's log files (absolute). */
  logDir: string;
  /** Unix user the program runs as (supervisord must run as root to switch). */
  user?: string;
  /** Seconds a start must last to count as successful (default 10). */
  startsecs?: number;
}

/** A generated program section: its name, the file name to write it to, and the text. */
export interface SupervisorProgram {
  program: string;
  fileName: string;
  text: string;
}

/** Log rotation limits: one log is at most 50 MB, five old ones kept (≤ 300 MB per program). */
export const LOG_MAXBYTES = '50MB';
export const LOG_BACKUPS = 5;
/** Seconds supervisord waits after SIGTERM before SIGKILL (a scraper exits within 5 s). */
export const STOP_WAIT_SECS = 10;
/** Failed quick starts before supervisord gives up (state FATAL) instead of looping. */
export const START_RETRIES = 3;

/** Characters an argument may hold without quoting on the `command=` line. */
const SAFE_ARG = /^[A-Za-z0-9_./:=@+,-]+$/;

/** supervisord expands `%(name)s` in values: a literal `%` must be written `%%`. */
function escapePercent(text: string): string {
  return text.replace(/%/g, '%%');
}

function checkValue(what: string, text: string): void {
  if (/[\r\n\0]/.test(text)) throw new ScrapeError('SUPERVISOR_VALUE', `${what} ${JSON.stringify(text)} holds a line break or NUL, which a supervisord .ini cannot carry`);
}

/**
 * One argument of the `command=` line: supervisord splits the line like a POSIX shell, so
 * arguments with spaces or quotes are single-quoted (`'` as `'"'"'`), and `%` is doubled.
 */
export function quoteCommandArg(arg: string): string {
  checkValue('command argument', arg);
  const quoted = SAFE_ARG.test(arg) ? arg : `'${arg.replace(/'/g, `'"'"'`)}'`;
  return escapePercent(quoted);
}

/**
 * One value of the `environment=` line, always quoted: supervisord splits that line on `,` and
 * `=` outside quotes and keeps quote characters literally inside a quoted token (no escapes), so
 * a value is put in double quotes, or in single quotes when it holds a double quote — the
 * manual's "single quotes" workaround. A value with both kinds cannot be written.
 */
export function quoteEnvironmentValue(value: string): string {
  checkValue('environment value', value);
  let quoted: string;
  if (!value.includes('"')) quoted = `"${value}"`;
  else if (!value.includes("'")) quoted = `'${value}'`;
  else throw new ScrapeError('SUPERVISOR_VALUE', `environment value ${JSON.stringify(value)} holds both ' and ", which supervisord cannot parse`);
  return escapePercent(quoted);
}

/** A plain .ini value (directory=): no line breaks, `%` doubled. */
function plainValue(what: string, text: string): string {
  checkValue(what, text);
  return escapePercent(text);
}

/** A log file path: supervisord expands `%` in these twice (version-dependent), so none allowed. */
function logPath(text: string): string {
  checkValue('log path', text);
  if (text.includes('%')) throw new ScrapeError('SUPERVISOR_VALUE', `log path ${text} holds '%', which supervisord expands in log paths: choose a log folder without it`);
  return text;
}

/** The program name of a regime in a mode: `adtemp_scraper`, `adtemp_averager`, `adtemp_faker`. */
export function supervisorProgramName(regime: string, mode: SupervisorMode): string {
  const name = `${regime}_${SUPERVISOR_ROLES[mode]}`;
  if (!/^[A-Za-z0-9_.-]+$/.test(name)) {
    throw new ScrapeError('SUPERVISOR_NAME', `regime name '${regime}' cannot be a supervisord program name (letters, digits, _ . - only)`);
  }
  return name;
}

/**
 * The supervisord program section that keeps one regime running unattended, as the manual's
 * `dybinst -S` wrote: the absolute command (no shell, so the pid is the scraper's own and
 * SIGTERM reaches it), restart on unexpected exits only, bounded retries of failed starts (a
 * config error exits 1 at once and would only loop), clean stop by SIGTERM, the dbconf and
 * regimes folder in the environment, and rotated logs.
 */
export function supervisorProgram(input: SupervisorProgramInput): SupervisorProgram {
  for (const [what, p] of [['node', input.nodePath], ['script', input.scriptPath], ['directory', input.directory], ['dbconf', input.dbconf], ['log dir', input.logDir], ['regime file', input.regimeFile]] as const) {
    if (!path.isAbsolute(p)) throw new ScrapeError('SUPERVISOR_PATH', `${what} path ${p} must be absolute: supervisord starts programs from its own directory`);
  }
  const program = supervisorProgramName(input.regime, input.mode);
  const startsecs = input.startsecs ?? 10;
  if (!Number.isInteger(startsecs) || startsecs < 0) throw new ScrapeError('BAD_OPTION', `startsecs ${startsecs}: expected a whole number of seconds`);
  const command = [input.nodePath, input.scriptPath, input.mode, input.regime].map(quoteCommandArg).join(' ');
  const log = path.join(input.logDir, program);
  const lines = [
    `; ${program}: ${input.mode === 'run' ? 'scraper' : input.mode === 'average' ? 'averager' : 'live faker'} of regime ${input.regime} (${input.regimeFile})`,
    `; generated by \`scrape supervisor\`; install into the folder supervisord.conf [include]s, then`,
    `; \`supervisorctl reread && supervisorctl add ${program}\` (after edits: remove, reread, add).`,
    `[program:${program}]`,
    `command=${command}`,
    `directory=${plainValue('directory', input.directory)}`,
  ];
  if (input.user) {
    if (!/^[A-Za-z0-9_.][A-Za-z0-9_.-]*$/.test(input.user)) throw new ScrapeError('BAD_OPTION', `--user '${input.user}' is not a user name`);
    lines.push(`user=${input.user}`);
  }
  lines.push(
    'autostart=true',
    '; exit 0 is a requested stop (SIGTERM, --until-caught-up): not restarted. Any other exit,',
    '; or a kill, is restarted. A config error (exit 1) fails within startsecs: after startretries',
    '; such quick failures supervisord marks the program FATAL instead of restarting it forever.',
    'autorestart=unexpected',
    'exitcodes=0',
    `startsecs=${startsecs}`,
    `startretries=${START_RETRIES}`,
    '; SIGTERM: the write in flight is finished or rolled back and the program exits 0 within 5 s.',
    'stopsignal=TERM',
    `stopwaitsecs=${STOP_WAIT_SECS}`,
    `environment=SCRAPE_DBCONF=${quoteEnvironmentValue(input.dbconf)},SCRAPE_REGIMES=${quoteEnvironmentValue(path.dirname(input.regimeFile))}`,
    '; the program logs to stderr, merged into the one log below; logs rotate at 50MB, 5 kept.',
    '; (stderr_logfile would be ignored beside redirect_stderr=true; its limits apply if it is turned off.)',
    'redirect_stderr=true',
    `stdout_logfile=${logPath(log + '.log')}`,
    `stdout_logfile_maxbytes=${LOG_MAXBYTES}`,
    `stdout_logfile_backups=${LOG_BACKUPS}`,
    `stderr_logfile_maxbytes=${LOG_MAXBYTES}`,
    `stderr_logfile_backups=${LOG_BACKUPS}`,
  );
  return { program, fileName: `${program}.ini`, text: lines.join('\n') + '\n' };
}
