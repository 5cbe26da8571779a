import * as path from 'path';
import { PassThrough } from 'stream';
import { main } from '../../engine/cli/main';
import { CliIo } from '../../engine/cli/io';

/** The project root (where regimes.d/, spec/ and bin/ live). */
export const ROOT = path.join(__dirname, '..', '..');

/** What an in-process `scrape …` run printed and returned. */
export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `scrape <args>` in-process with captured output (default cwd: the project root, empty env). */
export async function runCli(args: string[], options: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): Promise<CliResult> {
  const out: string[] = [];
  const err: string[] = [];
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  stdout.on('data', (c) => out.push(String(c)));
  stderr.on('data', (c) => err.push(String(c)));
  const io: CliIo = { stdout, stderr, env: options.env ?? {}, cwd: options.cwd ?? ROOT };
  const code = await main(['node', 'scrape', ...args], io);
  return { code, stdout: out.join(''), stderr: err.join('') };
}
