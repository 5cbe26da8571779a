import * as fs from 'fs';
import * as path from 'path';
import { Command } from 'commander';
import { locationLabel } from '../db/open-database';
import { databaseFileMissing } from '../db/introspection';
import { resolveDatabase } from '../config/dbconf';
import { ScrapeError } from '../core/errors';
import { normalizeUtcTimeText } from '../core/time';
import { readContextAt, readProvenance } from '../dbi/dbi-reader';
import type { Provenance } from '../dbi/propagation';
import { isSingleMaskBit } from '../dbi/mask-bits';
import { vldTableName } from '../spec/ddl';
import { SpecTable, defaultSpecDir, loadSpec } from '../spec/spec-table';
import { CliIo } from './io';
import { LogOptions, addLogOptions, cliLogger } from './common-options';
import { RegisterCommand } from './main';
import { addConnectTimeoutOption, connectDatabase, connectTimeoutMs } from './connect-database';

interface QueryOptions extends LogOptions {
  at: string;
  site: string;
  subsite: string;
  simmask?: string;
  task?: string;
  aggregate?: string;
  rollback?: string;
  rollbackVersion?: string;
  json?: boolean;
  why?: boolean;
  target: string;
  dbconf?: string;
  specDir?: string;
  connectTimeout?: string;
}

/**
 * Site names accepted by `--site` besides the SITEMASK number (docs/design.md §7): the DBI names and
 * the hall prefixes of the DCS tables (`DBNS_…`, `LANS_…`, `FARS_…`), any case.
 */
const SITE_NAMES: Array<[string, number]> = [['DayaBay', 1], ['DBNS', 1], ['LingAo', 2], ['LANS', 2], ['Far', 4], ['FARS', 4], ['SAB', 32]];

/**
 * `scrape query <Table|Class> --at <time> --site <n> --subsite <n>`: what a DBI reader gets at
 * that UTC time (`readContextAt`: SITEMASK and SIMMASK tested by bit, SimFlag 1 and TASK 0 unless
 * given, the newest VERSIONDATE of each AGGREGATENO; `--rollback D` reads the database as it was at
 * D, `--rollback-version D` only VERSIONDATEs before D; times UTC, ISO 8601 with a zone converted).
 * Prints each aggregate's Vld row and payload rows, or JSON (`aggregates: []` when nothing is
 * valid); exit 1 when nothing is valid.
 */
export const registerQuery: RegisterCommand = (program, io, setExit) => {
  const cmd = program
    .command('query')
    .description('show the DBI payload valid at a time for a context (DBI rule: per AGGREGATENO, newest VERSIONDATE wins)')
    .argument('<table>', 'target table or class, e.g. DcsAdTemp or GDcsAdTemp')
    .requiredOption('--at <time>', 'UTC time, YYYY-MM-DD HH:MM:SS, or ISO 8601 with Z or an offset (2011-02-01T04:00:00+08:00)')
    .requiredOption('--site <n>', 'site bit the SITEMASK must have, a number or a name: 1 DayaBay or DBNS, 2 LingAo or LANS, 4 Far or FARS, 32 SAB')
    .requiredOption('--subsite <n>', 'SUBSITE (detector id: AD1..AD4 = 1..4, IWS 5, OWS 6, RPC 7)')
    .option('--simmask <n>', 'SimFlag bit the SIMMASK must have (1 data, 4 MC)', '1')
    .option('--task <n>', 'TASK', '0')
    .option('--aggregate <n>', 'only this AGGREGATENO (default: every aggregate, each labelled)')
    .option('--rollback <date>', 'UTC time (forms as --at): only rows inserted before it count (INSERTDATE < date: the database as it was then)')
    .option('--rollback-version <date>', 'UTC time (forms as --at): only validities with VERSIONDATE < date count')
    .option('--json', 'print JSON {table, at, context, rollback, rollbackVersion, aggregates: [{aggregateno, vld, rows, why}]}; aggregates [] when nothing is valid (exit 1)')
    .option('--why', 'print beside the payload why each validity was written (SCRAPE_PROVENANCE: reason, rules fired, source range, what the deadband suppressed, regime hash, engine version)')
    .option('--target <name>', 'dbconf section or URL of the DBI database', 'tmp_offline_db')
    .option('--dbconf <file>', 'dbconf file looked in first (then $SCRAPE_DBCONF, ~/.my.cnf, the shipped dbconf.ini)')
    .option('--spec-dir <dir>', 'folder of .spec files (default: the project spec/)');
  addConnectTimeoutOption(addLogOptions(cmd)).action(async (table: string, opts: QueryOptions) => {
    const code = await runQuery(table, opts, io);
    if (code !== 0) setExit(code);
  });
};

async function runQuery(name: string, opts: QueryOptions, io: CliIo): Promise<number> {
  const specDir = opts.specDir ? path.resolve(io.cwd, opts.specDir) : defaultSpecDir();
  const spec = findSpec(name, specDir);
  const at = normalizeUtcTimeText(opts.at, 'down');
  const rollback = opts.rollback === undefined ? undefined : normalizeUtcTimeText(opts.rollback, 'up');
  const rollbackVersion = opts.rollbackVersion === undefined ? undefined : normalizeUtcTimeText(opts.rollbackVersion, 'up');
  const timeoutMs = connectTimeoutMs(opts.connectTimeout);
  const sitemask = siteNumber(opts.site);
  const subsite = integer(opts.subsite, '--subsite');
  const simflag = integer(opts.simmask ?? '1', '--simmask');
  const task = integer(opts.task ?? '0', '--task');
  const aggregateno = opts.aggregate === undefined ? undefined : integer(opts.aggregate, '--aggregate');
  for (const [value, option] of [[sitemask, '--site'], [simflag, '--simmask']] as const) {
    if (!isSingleMaskBit(value)) {
      throw new ScrapeError('QUERY_OPTION', `${option} names one bit (1, 2, 4, 8, 16, 32 or 64): a DBI reader asks for one site and one SimFlag; got ${value}`);
    }
  }

  const location = resolveDatabase(opts.target, { dbconf: opts.dbconf, env: io.env, cwd: io.cwd });
  const logger = cliLogger(io, opts);
  for (const warning of location.warnings) logger.log('warn', warning);
  const where = locationLabel(location);
  if (databaseFileMissing(location)) {
    throw new ScrapeError('TARGET_MISSING', `target ${where} does not exist yet: nothing was written there`, {
      hint: 'check --target (and --dbconf), or run the scraper first',
    });
  }
  const db = await connectDatabase(location, { readOnly: true, poolMax: 1, timeoutMs, logger });
  try {
    for (const t of [spec.table, vldTableName(spec)]) {
      if (!(await db.schema.hasTable(t))) {
        throw new ScrapeError('TARGET_TABLE_MISSING', `target ${where} has no table ${t}`, { hint: 'check --target (and --dbconf), or run the scraper first' });
      }
    }
    const found = await readContextAt(db, spec, { at, site: sitemask, subsite, simflag, task, aggregateno, rollback, rollbackVersion });
    const whys = opts.json || opts.why ? await readProvenance(db, spec, found.map((f) => f.vld.SEQNO)) : new Map();
    const context = `SITEMASK & ${sitemask}, SUBSITE ${subsite}, SIMMASK & ${simflag}, TASK ${task}${aggregateno === undefined ? '' : `, AGGREGATENO ${aggregateno}`}`;
    const rollbacks = [rollback ? `rollback ${rollback}` : '', rollbackVersion ? `rollback-version ${rollbackVersion}` : ''].filter((r) => r).join(', ');
    const json = () => ({
      table: spec.table, at, context: { site: sitemask, subsite, simflag, task, aggregateno: aggregateno ?? null },
      rollback: rollback ?? null, rollbackVersion: rollbackVersion ?? null, aggregates: found.map((f) => ({ ...f, why: whys.get(f.vld.SEQNO) ?? null })),
    });
    if (found.length === 0) {
      const message = `no ${spec.table} validity covers ${at} UTC for ${context}${rollbacks ? ` (${rollbacks})` : ''}`;
      // the outcome (exit 1) as a line of the log format asked for
      if (opts.logFormat === 'json') logger.log('error', message, { table: spec.table, at_utc: at, site: sitemask, subsite, simflag, task, aggregateno, rollback, rollback_version: rollbackVersion, exit_code: 1 });
      else io.stderr.write(message + '\n');
      // scripts parse stdout: the same shape, with nothing in it
      if (opts.json) io.stdout.write(JSON.stringify(json(), null, 2) + '\n');
      return 1;
    }
    if (opts.json) {
      io.stdout.write(JSON.stringify(json(), null, 2) + '\n');
      return 0;
    }
    io.stdout.write(`${spec.table} at ${at} UTC, ${context}${rollbacks ? `, ${rollbacks}` : ''}${found.length > 1 ? `: ${found.length} aggregates` : ''}\n`);
    for (const { aggregateno: n, vld, rows } of found) {
      if (found.length > 1) io.stdout.write(`AGGREGATENO ${n}\n`);
      io.stdout.write(renderTable([vld as unknown as Record<string, unknown>], Object.keys(vld)));
      io.stdout.write(`${rows.length} payload row${rows.length === 1 ? '' : 's'}\n`);
      if (rows.length > 0) io.stdout.write(renderTable(rows, ['ROW_COUNTER', ...spec.columns.map((c) => c.name)]));
      if (opts.why) io.stdout.write(renderWhy(whys.get(vld.SEQNO)));
    }
    return 0;
  } finally {
    await db.destroy();
  }
}

/** `why:` lines of one validity's provenance (`--why`); says so when the target kept none. */
function renderWhy(why: Provenance | undefined): string {
  if (!why) return 'why: no provenance kept for this validity (written before SCRAPE_PROVENANCE, or by another tool)\n';
  const lines = [`why: ${why.reason}${why.fired ? ` (${why.fired.map((f) => `changes[${f.rule}]${f.columns.length ? ` on ${f.columns.join(', ')}` : ''}`).join('; ')})` : ''}${why.overlays ? ` (overlays SEQNO ${why.overlays.join(', ')})` : ''}`];
  if (why.sourceTable !== undefined && why.firstId !== undefined) {
    lines.push(`  source ${why.sourceTable} ids ${why.firstId} to ${why.lastId}, local ${why.firstTime} to ${why.lastTime}`);
  } else if (why.sourceTable !== undefined) lines.push(`  source ${why.sourceTable}`);
  if (why.samples !== undefined || why.rows !== undefined) lines.push(`  ${why.samples ?? '-'} samples, ${why.rows ?? '-'} rows in the range`);
  for (const [column, s] of Object.entries(why.suppressed ?? {})) lines.push(`  suppressed ${column}: ${s.n} samples, max |deviation| ${s.maxdev}, min ${s.min}, max ${s.max}`);
  lines.push(`  regime sha256 ${why.regimeHash}, engine ${why.engineVersion}`);
  return lines.join('\n') + '\n';
}

/** The spec for a table (`DcsAdTemp`) or class (`GDcsAdTemp`) name. */
function findSpec(name: string, specDir: string): SpecTable {
  if (!/^[A-Za-z][A-Za-z0-9_]*$/.test(name)) throw new ScrapeError('QUERY_TABLE', `not a table or class name: '${name}'`);
  for (const candidate of [name, `G${name}`]) {
    if (fs.existsSync(path.join(specDir, `${candidate}.spec`))) return loadSpec(candidate, specDir);
  }
  return loadSpec(name.startsWith('G') ? name : `G${name}`, specDir);
}

function integer(text: string, option: string): number {
  if (!/^-?\d+$/.test(text.trim())) throw new ScrapeError('QUERY_OPTION', `${option} must be an integer, got '${text}'`);
  return Number(text);
}

function siteNumber(text: string): number {
  const named = SITE_NAMES.find(([name]) => name.toLowerCase() === text.trim().toLowerCase());
  if (named) return named[1];
  if (/^-?\d+$/.test(text.trim())) return Number(text);
  throw new ScrapeError('QUERY_OPTION', `--site '${text}' is neither a SITEMASK number nor a site name (${SITE_NAMES.map(([n, v]) => `${n} ${v}`).join(', ')})`);
}

function cell(value: unknown): string {
  return value === null || value === undefined ? 'NULL' : String(value);
}

/** Widest table line printed across; a wider one is printed a column per line (`renderTable`). */
export const TABLE_WIDTH = 240;

/**
 * Aligned text table: a header line of column names, then one line per row. Rows wider than
 * `TABLE_WIDTH` (adlid's 73 attributes) are printed as the mysql client's `\G` does instead:
 * a `*** row N ***` line, then one `column: value` line per column, names aligned.
 */
export function renderTable(rows: Record<string, unknown>[], columns: string[]): string {
  const widths = columns.map((c) => Math.max(c.length, ...rows.map((r) => cell(r[c]).length)));
  const total = widths.reduce((a, b) => a + b, 0) + 2 * (columns.length - 1);
  if (total > TABLE_WIDTH) {
    const name = Math.max(...columns.map((c) => c.length));
    return rows.map((r, i) => `*** row ${i + 1} ***\n` + columns.map((c) => `${c.padStart(name)}: ${cell(r[c])}\n`).join('')).join('');
  }
  const line = (cells: string[]) => cells.map((s, i) => s.padEnd(widths[i])).join('  ').trimEnd() + '\n';
  return line(columns) + rows.map((r) => line(columns.map((c) => cell(r[c])))).join('');
}
