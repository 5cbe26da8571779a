import { describeLocation, locationLabel } from '../db/open-database';
import { resolveDatabase } from '../config/dbconf';
import { FieldRange, SourceInspection, TableInspection, inspectSource, summarizeColumns } from '../report/source-inspection';
import { UnpivotCell } from '../transform/unpivot-plan';
import { CommonOptions, addCommonOptions, cliLogger, loadRegimeForCli } from './common-options';
import { RegisterCommand } from './main';
import { addConnectTimeoutOption, connectDatabase, connectTimeoutMs } from './connect-database';
import { streamLogger } from './io';

interface InspectOptions extends CommonOptions {
  source?: string;
  tables?: string;
  json?: boolean;
  verbose?: boolean;
  connectTimeout?: string;
}

/** Table text: columns padded to their widest cell, numbers right-aligned. */
function renderTable(head: string[], rows: string[][], indent: string, numeric: boolean[]): string[] {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => indent + cells.map((c, i) => (numeric[i] ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ').trimEnd();
  return [line(head), ...rows.map(line)];
}

/** `1..8` for a run of consecutive integers, else the values listed (at most 8). */
function rangeText(r: FieldRange): string {
  const v = r.values;
  const ints = v.every((x) => typeof x === 'number' && Number.isInteger(x));
  if (ints && v.length > 2) {
    const nums = v as number[];
    const lo = Math.min(...nums);
    const hi = Math.max(...nums);
    if (hi - lo + 1 === nums.length) return `${r.field} ${lo}..${hi}`;
  }
  const shown = v.slice(0, 8).map((x) => String(x)).join(',');
  return `${r.field} ${shown}${v.length > 8 ? `,… (${v.length})` : ''}`;
}

function cellText(cell: UnpivotCell, fixed: string[], values: string[]): string {
  const parts = [...fixed.map((f) => `${f}=${cell.fields[f]}`), ...values.map((f) => `${f}=${cell.values[f]}`)];
  return `${cell.column} → ${parts.join(' ')}`;
}

function renderTableInspection(t: TableInspection, verbose: boolean): string[] {
  const lines: string[] = [];
  const caps = Object.entries(t.captures).map(([k, v]) => `${k}=${v}`).join(' ');
  lines.push(`${t.table}  sitemask ${t.context.sitemask}  subsite ${t.context.subsite}  simmask ${t.context.simmask}  task ${t.context.task}${caps ? `  (${caps})` : ''}`);
  for (const o of t.older ?? []) lines.push(`  older name: ${o.table} (${o.rows} rows), read first, up to the first date_time of the tables after it`);
  for (const j of t.joins) lines.push(`  joined on id: ${j.table} as ${j.prefix}* (${j.columns} columns, ${j.rows} rows)`);
  lines.push(`  columns as the regime sees them (${t.columns.length}, without id and date_time):`);
  const groups = verbose ? t.columns.map((c) => ({ text: c.name, type: c.type, count: 1 })) : summarizeColumns(t.columns);
  lines.push(...renderTable(['column', 'type', 'count'], groups.map((g) => [g.text, g.type, String(g.count)]), '    ', [false, false, true]).slice(1));
  if (t.unpivot) {
    const u = t.unpivot;
    const fixed = u.fixedFields.map((f) => f.field);
    lines.push(`  unpivot ${u.pattern}: ${u.cells.length} target rows per entry; ${u.fixedFields.map(rangeText).join(', ')}; values ${u.valueFields.join(', ')}`);
    const cells = verbose || u.cells.length <= 3 ? u.cells : [u.cells[0], u.cells[1], undefined, u.cells[u.cells.length - 1]];
    for (const c of cells) lines.push(c ? `    ${cellText(c, fixed, u.valueFields)}` : '    …');
  }
  if (t.years.length === 0) {
    lines.push('  no rows');
  } else {
    lines.push('  rows per year:');
    lines.push(
      ...renderTable(
        ['year', 'count', 'min(id)', 'max(id)', 'min(date_time)', 'max(date_time)'],
        t.years.map((y) => [y.year, String(y.count), String(y.minId), String(y.maxId), y.minTime, y.maxTime]),
        '    ',
        [false, true, true, true, false, false],
      ),
    );
    lines.push(`    total ${t.rows}`);
  }
  const s = t.skipped;
  lines.push(`  skipped by the scraper: ${s.zeroDates} zero date${s.zeroDates === 1 ? '' : 's'}, ${s.beforeTimefloor} before timefloor ${s.timefloor} (${s.total} in all)`);
  return lines;
}

/** The human report of `scrape inspect`. */
export function renderInspection(inspection: SourceInspection, sourceLabel: string, verbose = false): string {
  const lines = [`regime ${inspection.regime}: ${inspection.tables.length} source table${inspection.tables.length === 1 ? '' : 's'} in ${sourceLabel} (times ${inspection.timezone})`];
  for (const t of inspection.tables) lines.push('', ...renderTableInspection(t, verbose));
  return lines.join('\n') + '\n';
}

/** `scrape inspect <regime>`: what the regime sees in its source, without writing SQL. */
export const registerInspect: RegisterCommand = (program, io) => {
  const cmd = program
    .command('inspect')
    .description('list the source tables a regime matches: context, columns as the regime sees them, rows per year, rows the scraper skips')
    .argument('<regime>', 'regime name (regimes.d/<name>.yaml) or path to a YAML file')
    .option('--source <name>', "dbconf section or URL of the source (default: the regime's)")
    .option('--tables <names>', 'only these source tables (comma separated)')
    .option('--json', 'print the inspection as JSON')
    .option('--verbose', 'every column and every unpivot cell, not a summary');
  addConnectTimeoutOption(cmd);
  addCommonOptions(cmd);
  cmd.action(async (name: string, opts: InspectOptions) => {
    const loaded = loadRegimeForCli(name, opts, io, 'scraper');
    const location = resolveDatabase(opts.source ?? loaded.regime.source, { dbconf: opts.dbconf, env: io.env, cwd: io.cwd });
    const logger = cliLogger(io, opts);
    for (const w of location.warnings) logger.log('warn', w);
    const timeoutMs = connectTimeoutMs(opts.connectTimeout);
    const db = await connectDatabase(location, { readOnly: true, timeoutMs, logger });
    try {
      const only = opts.tables?.split(',').map((t) => t.trim()).filter(Boolean);
      const inspection = await inspectSource(db, loaded.regime, only);
      if (opts.json) {
        io.stdout.write(JSON.stringify({ source: describeLocation(location), ...inspection }, null, 2) + '\n');
      } else {
        io.stdout.write(renderInspection(inspection, locationLabel(location), !!opts.verbose));
      }
    } finally {
      await db.destroy();
    }
  });
};
