import { limitHeapGrowth } from '../core/heap-growth';
import { Command, CommanderError } from 'commander';
import { engineVersion } from '../core/project-root';
import { maskPasswords } from '../core/mask-passwords';
import { userError } from './user-error';
import { CliIo, LogFormat, logRecord, processIo } from './io';
import { registerValidate } from './validate';
import { registerQuery } from './query';
import { registerRun } from './run';
import { registerFake } from './fake';
import { registerAverage } from './average';
import { registerLoad } from './load';
import { registerSupervisor } from './supervisor';
import { registerInspect } from './inspect';
import { registerStatus } from './status';
import { registerPlot } from './plot';
import { registerVerify } from './verify';
import { registerRepair } from './repair';
import { registerNew } from './new';

/** Each command file exports one of these; it adds its command to the program. */
export type RegisterCommand = (program: Command, io: CliIo, setExit: (code: number) => void) => void;

/**
 * The `--log-format` the command line asks for, read from argv itself: fatal errors are written
 * in it even when commander refuses the command line before any option is parsed.
 */
export function argvLogFormat(argv: readonly string[]): LogFormat {
  let format: LogFormat = 'human';
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') break;
    const value = a === '--log-format' ? argv[i + 1] : a.startsWith('--log-format=') ? a.slice('--log-format='.length) : undefined;
    if (value === 'json' || value === 'human') format = value;
  }
  return format;
}

/**
 * Builds the `scrape` program with every command, writing to `io`. `format` is where the log
 * format of the command line is kept once known (fatal errors are written in it): with JSON,
 * commander's own errors become JSON lines too and its usage hints are left out.
 */
export function buildProgram(io: CliIo, setExit: (code: number) => void, format: { value: LogFormat } = { value: 'human' }): Command {
  const program = new Command('scrape')
    .description('Scrape slow-control (DCS) tables into a DBI conditions database, as declared by regimes.d/*.yaml')
    .version(engineVersion())
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => (format.value === 'json' ? undefined : io.stderr.write(s)),
      outputError: (s) => {
        if (format.value === 'json') io.stderr.write(JSON.stringify(logRecord(Date.now(), 'error', s.trim().replace(/^error: /, ''), { code: 'USAGE', exit_code: 1 })) + '\n');
        else io.stderr.write(s);
      },
    })
    .exitOverride();
  program.hook('preAction', (_program, action) => {
    const chosen = action.opts().logFormat;
    if (chosen === 'json' || chosen === 'human') format.value = chosen;
  });
  for (const register of [registerValidate, registerRun, registerFake, registerAverage, registerQuery, registerLoad, registerSupervisor, registerInspect, registerStatus, registerPlot, registerVerify, registerRepair, registerNew]) {
    register(program, io, setExit);
  }
  return program;
}

/**
 * Runs the command line and resolves to the exit code: 0 ok, 1 user-fixable (bad input, config,
 * refused operation, a database or file a person must fix; printed as `error CODE: message` and
 * a `hint:` line), 2 unexpected (printed with its stack). No password reaches the output. A fatal
 * error is written in the log format asked for: with `--log-format json` one JSON line (`level`
 * error, `message`, `exit_code`; the `code` and `hint` of a fixable error, the `stack` of anything
 * unexpected).
 */
export async function main(argv: string[], io: CliIo = processIo()): Promise<number> {
  // memory follows what a long run keeps, not how long it has run (README, "Performance")
  limitHeapGrowth();
  let code = 0;
  const format = { value: argvLogFormat(argv.slice(2)) };
  const program = buildProgram(io, (c) => (code = Math.max(code, c)), format);
  try {
    await program.parseAsync(argv);
    return code;
  } catch (err) {
    if (err instanceof CommanderError) {
      return err.exitCode === 0 ? 0 : 1;
    }
    const json = format.value === 'json';
    const fixable = userError(err);
    if (fixable) {
      if (json) io.stderr.write(maskPasswords(JSON.stringify(logRecord(Date.now(), 'error', fixable.message, { code: fixable.code, hint: fixable.hint, exit_code: 1 }))) + '\n');
      else io.stderr.write(maskPasswords(`error ${fixable.code}: ${fixable.message}\n${fixable.hint ? `hint: ${fixable.hint}\n` : ''}`));
      return 1;
    }
    const e = err as Error;
    if (json) io.stderr.write(maskPasswords(JSON.stringify(logRecord(Date.now(), 'error', `internal error: ${e && e.message !== undefined ? e.message : String(err)}`, { exit_code: 2, stack: e && e.stack ? e.stack : undefined }))) + '\n');
    else io.stderr.write(maskPasswords(`internal error: ${e && e.stack ? e.stack : String(err)}\n`));
    return 2;
  }
}
