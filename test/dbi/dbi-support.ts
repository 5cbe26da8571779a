import { ChildProcess, execFileSync, spawn } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { Writable } from 'stream';
import { CliIo } from '../../engine/cli/io';
import { Knex } from 'knex';
import { dialectOf } from '../../engine/db/dialect';
import { parseSpec, SpecTable } from '../../engine/spec/spec-table';
export { ensureDist } from '../support/dist';

/** The project folder. */
export const ROOT = path.resolve(__dirname, '..', '..');

/** A small spec used by the DBI tests (two attributes, one per dbtype family). */
export function testSpec(table = 'DcsProbe'): SpecTable {
  return parseSpec(
    [
      `table | meta | legacy | CanL2Cache | class`,
      `${table} | 1 | ${table} | kFALSE | G${table}`,
      `;`,
      `name | dbtype | codetype | description`,
      `value | float | double | a reading`,
      `label | varchar(16) | string | a label`,
    ].join('\n'),
    `${table}.spec`,
  );
}


/**
 * What `SCRAPE_VLD_SPAN` should say of `<table>Vld`, computed by the database itself: the longest
 * `TIMEEND − TIMESTART` in seconds (TIMESTAMPDIFF on MariaDB, strftime('%s') on SQLite) and the
 * largest SEQNO; undefined for an empty table.
 */
export async function vldSpanBySql(db: Knex, table: string): Promise<{ span: number; seqno: number } | undefined> {
  const sqlite = dialectOf(db) === 'sqlite';
  const diff = sqlite ? "CAST(strftime('%s', TIMEEND) AS INTEGER) - CAST(strftime('%s', TIMESTART) AS INTEGER)" : 'TIMESTAMPDIFF(SECOND, TIMESTART, TIMEEND)';
  const [row] = await db(`${table}Vld`).select(db.raw(`MAX(${diff}) AS span`), db.raw('MAX(SEQNO) AS seqno'));
  return row.seqno === null ? undefined : { span: Number(row.span), seqno: Number(row.seqno) };
}

/** The `SCRAPE_VLD_SPAN` row of `table` as numbers, or undefined. */
export async function vldSpanRow(db: Knex, table: string): Promise<{ span: number; seqno: number } | undefined> {
  const row = await db('SCRAPE_VLD_SPAN').where('TABLENAME', table).first();
  return row ? { span: Number(row.MAX_SPAN_SECONDS), seqno: Number(row.SEQNO_COVERED) } : undefined;
}

/** A child node process running `test/dbi/writer-child.js`, with its stdout lines. */
export interface Child {
  process: ChildProcess;
  lines: string[];
  /** Resolves with the first stdout line matching `re`. */
  waitFor(re: RegExp): Promise<string>;
  /** Resolves with the exit code / signal. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>;
}

const running = new Set<ChildProcess>();

/** Kills (SIGKILL) every child writer this test file started that is still running. */
export function killWriters(): void {
  for (const child of running) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  running.clear();
}

/** Spawns the child writer script with `args` (JSON-encoded as one argument). */
export function spawnWriter(args: Record<string, unknown>): Child {
  const child = spawn(process.execPath, [path.join(__dirname, 'writer-child.js'), JSON.stringify(args)], { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
  running.add(child);
  const lines: string[] = [];
  const waiters: { re: RegExp; resolve: (line: string) => void }[] = [];
  let buffer = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8');
  child.stdout!.on('data', (chunk: string) => {
    buffer += chunk;
    let nl: number;
    while ((nl = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      lines.push(line);
      for (const w of [...waiters]) {
        if (w.re.test(line)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(line);
        }
      }
    }
  });
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal, stderr })),
  );
  return {
    process: child,
    lines,
    exited,
    waitFor: (re) =>
      new Promise((resolve, reject) => {
        const seen = lines.find((l) => re.test(l));
        if (seen) return resolve(seen);
        waiters.push({ re, resolve });
        exited.then((e) => reject(new Error(`child exited (${e.code ?? e.signal}) before printing ${re}: ${e.stderr}`)));
      }),
  };
}

/** Captured CLI streams. */
export function captureIo(): CliIo & { out(): string; err(): string } {
  let out = '';
  let err = '';
  const stream = (append: (s: string) => void) =>
    new Writable({
      write(chunk, _enc, cb) {
        append(String(chunk));
        cb();
      },
    });
  return {
    stdout: stream((s) => (out += s)),
    stderr: stream((s) => (err += s)),
    env: { ...process.env, SCRAPE_DBCONF: '' },
    cwd: ROOT,
    out: () => out,
    err: () => err,
  };
}
