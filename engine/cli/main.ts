import * as fs from 'fs';
import * as path from 'path';
import { Command, CommanderError } from 'commander';
import { projectRoot } from '../config/dbconf';
import { isScrapeError } from '../core/errors';
import { CliIo, processIo } from './io';
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

/** Each command file exports one of these; it adds its command to the program. */
export type RegisterCommand = (program: Command, io: CliIo, setExit: (code: number) => void) => void;

/** Builds the `scrape` program with every command, writing to `io`. */
export function buildProgram(io: CliIo, setExit: (code: number) => void): Command {
  const program = new Command('scrape')
    .description('Scrape slow-control (DCS) tables into a DBI conditions database, as declared by regimes.d/*.yaml')
    .version(JSON.parse(fs.readFileSync(path.join(projectRoot(), 'package.json'), 'utf8')).version)
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) })
    .exitOverride();
  for (const register of [registerValidate, registerRun, registerFake, registerAverage, registerQuery, registerLoad, registerSupervisor, registerInspect, registerStatus, registerPlot]) {
    register(program, io, setExit);
  }
  return program;
}

/**
 * Runs the command line and resolves to the exit code: 0 ok, 1 user-fixable (bad input, config,
 * refused operation), 2 unexpected (printed with its stack).
 */
export async function main(argv: string[], io: CliIo = processIo()): Promise<number> {
  let code = 0;
  const program = buildProgram(io, (c) => (code = Math.max(code, c)));
  try {
    await program.parseAsync(argv);
    return code;
  } catch (err) {
    if (err instanceof CommanderError) {
      return err.exitCode === 0 ? 0 : 1;
    }
    if (isScrapeError(err)) {
      io.stderr.write(`error ${err.code}: ${err.message}\n`);
      return 1;
    }
    const e = err as Error;
    io.stderr.write(`internal error: ${e && e.stack ? e.stack : String(err)}\n`);
    return 2;
  }
}
