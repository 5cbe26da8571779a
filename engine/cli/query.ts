import * as fs from 'fs';
import * as path from 'path';
import { Command } from 'commander';
import { describeLocation, openDatabase } from '../db/open-database';
import { databaseFileMissing } from '../db/introspection';
import { resolveDatabase } from '../config/dbconf';
import { ScrapeError } from '../core/errors';
import { normalizeTimeText } from '../core/time';
import { readAt } from '../dbi/dbi-reader';
import { vldTableName } from '../spec/ddl';
import { SpecTable, defaultSpecDir, loadSpec } from '../spec/spec-table';
import { CliIo } from './io';
import { LogOptions, addLogOptions, cliLogger } from './common-options';
import { RegisterCommand } from './main';

interface QueryOptions extends LogOptions {
  at: string;
  site: string;
  subsite: string;
  simmask?: string;
  task?: string;
  rollback?: string;
  json?: boolean;
  target: string;
  dbconf?: string;
  specDir?: string;
}

/** Site names accepted by `--site` besides the SITEMASK number (DESIGN §7). */
const SITE_NAMES: Record<string, number> = { dayabay: 1, lingao: 2, far: 4, sab: 32 };

/**
 * `scrape query <Table|Class> --at <time> --site <n> --subsite <n>`: the payload a DBI reader
 * gets at that UTC time (newest VERSIONDATE among the validities covering it; `--rollback D`
 * reads the database as it was at D). Prints the Vld row and the payload rows, or JSON; exit 1
 * when nothing is valid.
 */
export const registerQuery: RegisterCommand = (program, io, setExit) => {
  const cmd = program
    .command('query')
    .description('show the DBI payload valid at a time for a context (DBI rule: newest VERSIONDATE wins)')
    .argument('<table>', 'target table or class, e.g. DcsAdTemp or GDcsAdTemp')
    .requiredOption('--at <time>', 'UTC time, YYYY-MM-DD HH:MM:SS')
    .requiredOption('--site <n>', 'SITEMASK (1 DayaBay, 2 LingAo, 4 Far, 32 SAB; names accepted)')
    .requiredOption('--subsite <n>', 'SUBSITE (detector id: AD1..AD4 = 1..4, IWS 5, OWS 6, RPC 7)')
    .option('--simmask <n>', 'SIMMASK (1 data); default: any')
    .option('--task <n>', 'TASK; default: any')
    .option('--rollback <date>', 'UTC time: only rows inserted before it count (the database as it was then)')
    .option('--json', 'print JSON {table, vld, rows}')
    .option('--target <name>', 'dbconf section or URL of the DBI database', 'tmp_offline_db')
    .option('--dbconf <file>', 'dbconf file looked in first (then $SCRAPE_DBCONF, ~/.my.cnf, the shipped dbconf.ini)')
    .option('--spec-dir <dir>', 'folder of .spec files (default: the project spec/)');
  addLogOptions(cmd)
    .action(async (table: string, opts: QueryOptions) => {
      const code = await runQuery(table, opts, io);
      if (code !== 0) setExit(code);
    });
};

async function runQuery(name: string, opts: QueryOptions, io: CliIo): Promise<number> {
  const specDir = opts.specDir ? path.resolve(io.cwd, opts.specDir) : defaultSpecDir();
  const spec = findSpec(name, specDir);
  const at = normalizeTimeText(opts.at);
  const rollback = opts.rollback === undefined ? undefined : normalizeTimeText(opts.rollback);
  const sitemask = siteNumber(opts.site);
  const subsite = integer(opts.subsite, '--subsite');
  const simmask = opts.simmask === undefined ? undefined : integer(opts.simmask, '--simmask');
  const task = opts.task === undefined ? undefined : integer(opts.task, '--task');

  const location = resolveDatabase(opts.target, { dbconf: opts.dbconf ? path.resolve(io.cwd, opts.dbconf) : undefined, env: io.env });
  const logger = cliLogger(io, opts);
  for (const warning of location.warnings) logger.log('warn', warning);
  if (databaseFileMissing(location)) {
    throw new ScrapeError('TARGET_MISSING', `target ${opts.target} (${describeLocation(location)}) does not exist yet: nothing was written there`);
  }
  const db = openDatabase(location, { readOnly: true, poolMax: 1 });
  try {
    for (const t of [spec.table, vldTableName(spec)]) {
      if (!(await db.schema.hasTable(t))) {
        throw new ScrapeError('TARGET_TABLE_MISSING', `target ${opts.target} (${describeLocation(location)}) has no table ${t}`);
      }
    }
    const found = await readAt(db, spec, { at, sitemask, subsite, simmask, task, rollback });
    const context = `SITEMASK ${sitemask} SUBSITE ${subsite}${simmask === undefined ? '' : ` SIMMASK ${simmask}`}${task === undefined ? '' : ` TASK ${task}`}`;
    if (!found) {
      const message = `no ${spec.table} validity covers ${at} UTC for ${context}${rollback ? ` (rollback: inserted before ${rollback})` : ''}`;
      // the outcome (exit 1) as a line of the log format asked for
      if (opts.logFormat === 'json') logger.log('error', message, { table: spec.table, at_utc: at, sitemask, subsite, simmask, task, rollback, exit_code: 1 });
      else io.stderr.write(message + '\n');
      return 1;
    }
    if (opts.json) {
      io.stdout.write(JSON.stringify({ table: spec.table, at, rollback: rollback ?? null, vld: found.vld, rows: found.rows }, null, 2) + '\n');
      return 0;
    }
    const v = found.vld;
    io.stdout.write(`${spec.table} at ${at} UTC, ${context}${rollback ? `, rollback ${rollback}` : ''}\n`);
    io.stdout.write(renderTable([v as unknown as Record<string, unknown>], Object.keys(v)));
    io.stdout.write(`${found.rows.length} payload row${found.rows.length === 1 ? '' : 's'}\n`);
    if (found.rows.length > 0) io.stdout.write(renderTable(found.rows, ['ROW_COUNTER', ...spec.columns.map((c) => c.name)]));
    return 0;
  } finally {
    await db.destroy();
  }
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
  const named = SITE_NAMES[text.trim().toLowerCase()];
  return named ?? integer(text, '--site');
}

function cell(value: unknown): string {
  return value === null || value === undefined ? 'NULL' : String(value);
}

/** Aligned text table: a header line of column names, then one line per row. */
function renderTable(rows: Record<string, unknown>[], columns: string[]): string {
  const widths = columns.map((c) => Math.max(c.length, ...rows.map((r) => cell(r[c]).length)));
  const line = (cells: string[]) => cells.map((s, i) => s.padEnd(widths[i])).join('  ').trimEnd() + '\n';
  return line(columns) + rows.map((r) => line(columns.map((c) => cell(r[c])))).join('');
}
