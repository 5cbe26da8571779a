import { Knex } from 'knex';
import { Regime } from '../config/regime';
import { UnpivotCell, compileUnpivotPlan } from '../transform/unpivot-plan';
import { SourceColumn, StreamContext, discoverStreams } from '../source/source-stream';
import { dialectOf, quoteIdentifier, rawRows, yearExpression } from '../db/dialect';

/**
 * One `GROUP BY year` line of a source table, the manual's "check ranges in the table with
 * group by year query": zero dates (`0000-00-00 00:00:00`) form their own group, year `0000`.
 */
export interface YearRange {
  /** Four-digit year, `0000` for zero dates. */
  year: string;
  count: number;
  minId: number;
  maxId: number;
  minTime: string;
  maxTime: string;
}

/** Rows a scraper never reads: zero dates, and valid dates before `timefloor`. */
export interface SkippedRows {
  timefloor: string;
  zeroDates: number;
  beforeTimefloor: number;
  total: number;
}

/** A range of values a fixed unpivot field takes over the cells (`ladder 1..8`). */
export interface FieldRange {
  field: string;
  /** Distinct values in cell order. */
  values: unknown[];
}

/** The unpivot of one stream as the regime sees it: every cell, and the fields' ranges. */
export interface UnpivotView {
  pattern: string;
  cells: UnpivotCell[];
  fixedFields: FieldRange[];
  valueFields: string[];
}

/** A joined table of a stream: its name, prefix and size. */
export interface JoinView {
  table: string;
  prefix: string;
  columns: number;
  rows: number;
}

/** What `scrape inspect` shows of one matched source table. */
export interface TableInspection {
  table: string;
  captures: Record<string, string>;
  context: StreamContext;
  /** Columns as the regime sees them (main, then prefixed joined columns), without id/date_time. */
  columns: SourceColumn[];
  joins: JoinView[];
  unpivot?: UnpivotView;
  rows: number;
  years: YearRange[];
  skipped: SkippedRows;
  /** The older tables of a table succession (oldest first) and their rows; read before `table`. */
  older?: { table: string; rows: number }[];
}

/** What `scrape inspect` shows of a regime's source. */
export interface SourceInspection {
  regime: string;
  timezone: string;
  tables: TableInspection[];
}

const ZERO_YEAR = '0000';

/** Per-year counts, id and `date_time` ranges of a table (SQLite `substr`, MySQL `YEAR()`). */
export async function yearRanges(db: Knex, table: string): Promise<YearRange[]> {
  const q = (n: string) => quoteIdentifier(n, dialectOf(db));
  const yearExpr = yearExpression(q('date_time'), dialectOf(db));
  const rows = await rawRows(
    db,
    `SELECT ${yearExpr} AS y, COUNT(*) AS n, MIN(${q('id')}) AS min_id, MAX(${q('id')}) AS max_id, ` +
      `MIN(${q('date_time')}) AS min_t, MAX(${q('date_time')}) AS max_t FROM ${q(table)} GROUP BY ${yearExpr} ORDER BY ${yearExpr}`,
  );
  return rows.map((r) => ({
    year: r.y === null || r.y === undefined || Number(r.y) === 0 ? ZERO_YEAR : String(r.y).padStart(4, '0'),
    count: Number(r.n),
    minId: Number(r.min_id),
    maxId: Number(r.max_id),
    minTime: String(r.min_t),
    maxTime: String(r.max_t),
  }));
}

/** Zero dates and rows before `timefloor` (`date_time < timefloor` as the scraper's reads compare). */
export async function skippedRows(db: Knex, table: string, timefloor: string): Promise<SkippedRows> {
  const q = (n: string) => quoteIdentifier(n, dialectOf(db));
  // Zero dates sort below every real date on both dialects ('0000-00-00 ...' as text or datetime).
  const [row] = await rawRows(
    db,
    `SELECT SUM(CASE WHEN ${q('date_time')} < ? THEN 1 ELSE 0 END) AS n_zero, SUM(CASE WHEN ${q('date_time')} < ? THEN 1 ELSE 0 END) AS n_before ` +
      `FROM ${q(table)}`,
    ['0001-01-01 00:00:00', timefloor],
  );
  const zeroDates = Number(row?.n_zero ?? 0);
  const total = Number(row?.n_before ?? 0);
  return { timefloor, zeroDates, beforeTimefloor: total - zeroDates, total };
}

/** Distinct values of each fixed field over the cells, in cell order (`column` left out). */
function fieldRanges(cells: UnpivotCell[], fields: string[]): FieldRange[] {
  return fields
    .filter((f) => f !== 'column')
    .map((field) => ({ field, values: [...new Set(cells.map((c) => c.fields[field]))] }));
}

/**
 * Inspects the source tables a regime matches, without writing SQL: per table its context, its
 * columns as the regime sees them (unpivot cells when the regime unpivots), its rows per year
 * and the rows a scraper will skip. `only` limits it to some tables. Read-only.
 */
export async function inspectSource(db: Knex, regime: Regime, only?: string[]): Promise<SourceInspection> {
  const streams = await discoverStreams(db, regime, only);
  const tables: TableInspection[] = [];
  for (const s of streams) {
    const years = await yearRanges(db, s.table);
    const joins: JoinView[] = [];
    for (const j of s.joins) {
      const [r] = await rawRows(db, `SELECT COUNT(*) AS n FROM ${quoteIdentifier(j.table, dialectOf(db))}`);
      joins.push({ table: j.table, prefix: j.prefix, columns: j.columns.length, rows: Number(r?.n ?? 0) });
    }
    let unpivot: UnpivotView | undefined;
    if (regime.unpivot) {
      const plan = compileUnpivotPlan(s.columns.map((c) => c.name), regime.unpivot);
      unpivot = { pattern: regime.unpivot.pattern, cells: plan.cells, fixedFields: fieldRanges(plan.cells, plan.fixedFields), valueFields: plan.valueFields };
    }
    tables.push({
      table: s.table,
      captures: s.captures,
      context: s.context,
      columns: s.columns,
      joins,
      unpivot,
      rows: years.reduce((n, y) => n + y.count, 0),
      years,
      skipped: await skippedRows(db, s.table, regime.scraper.timefloor),
    });
    if (s.succession) {
      const older: { table: string; rows: number }[] = [];
      for (const m of s.succession) older.push({ table: m.table, rows: Number((await rawRows(db, `SELECT COUNT(*) AS n FROM ${quoteIdentifier(m.table, dialectOf(db))}`))[0]?.n ?? 0) });
      tables[tables.length - 1].older = older;
    }
  }
  return { regime: regime.name, timezone: regime.timezone, tables };
}

/** One line of a column summary: names folded into a pattern, their common type and count. */
export interface ColumnGroup {
  /** `L{1..8}C{1..3}R{1..8}`, `first … last`, or the single name. */
  text: string;
  type: string;
  count: number;
  names: string[];
}

/**
 * Columns summarised the way a regime declares them: columns of one type whose names differ
 * only in their digit runs are folded into `{a..b}` ranges when they form the full product of
 * the ranges (`L1C1R1 … L8C3R8` → `L{1..8}C{1..3}R{1..8}`), else shown as `first … last`.
 * Groups keep first-seen order.
 */
export function summarizeColumns(columns: ReadonlyArray<{ name: string; type: string }>): ColumnGroup[] {
  const groups = new Map<string, { shape: string; type: string; names: string[] }>();
  for (const c of columns) {
    const shape = c.name.replace(/\d+/g, '#');
    const key = `${shape}\u0000${c.type}`;
    const g = groups.get(key);
    if (g) g.names.push(c.name);
    else groups.set(key, { shape, type: c.type, names: [c.name] });
  }
  const out: ColumnGroup[] = [];
  for (const { shape, type, names } of groups.values()) {
    const base = { type, count: names.length, names };
    if (names.length === 1) {
      out.push({ text: names[0], ...base });
      continue;
    }
    const runs = names.map((m) => m.match(/\d+/g) ?? []);
    const slots: string[] = [];
    let product = 1;
    let foldable = true;
    for (let i = 0; i < runs[0].length; i++) {
      const distinct = [...new Set(runs.map((d) => d[i]))];
      if (distinct.length === 1) {
        slots.push(distinct[0]);
        continue;
      }
      // plain numbers only (no leading zeros), so {a..b} expands back to the same names
      if (!distinct.every((t) => String(Number(t)) === t)) foldable = false;
      const nums = distinct.map(Number);
      const lo = Math.min(...nums);
      const hi = Math.max(...nums);
      slots.push(`{${lo}..${hi}}`);
      product *= hi - lo + 1;
    }
    // every name lies in the box of the ranges: as many distinct names as the box holds = all of it
    if (foldable && product === new Set(names).size && product === names.length) {
      let i = 0;
      out.push({ text: shape.replace(/#/g, () => slots[i++]), ...base });
    } else {
      out.push({ text: `${names[0]} … ${names[names.length - 1]}`, ...base });
    }
  }
  return out;
}
