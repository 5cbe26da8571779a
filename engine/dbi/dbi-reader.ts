import { Knex } from 'knex';
import { dialectOf, preparedRows, quoteIdentifier } from '../db/dialect';
import { columnValueKind, vldTableName } from '../spec/ddl';
import { SpecTable } from '../spec/spec-table';

/** One row of a `<Table>Vld` validity table, times as UTC text. */
export interface VldRow {
  SEQNO: number;
  TIMESTART: string;
  TIMEEND: string;
  SITEMASK: number;
  SIMMASK: number;
  SUBSITE: number;
  TASK: number;
  AGGREGATENO: number;
  VERSIONDATE: string;
  INSERTDATE: string;
}

/** The part of a context a reader selects on; simmask and task are optional filters. */
export interface ReadContext {
  sitemask: number;
  subsite: number;
  simmask?: number;
  task?: number;
}

/** A point-in-time read: `at` and `rollback` are UTC text. */
export interface ReadAtQuery extends ReadContext {
  at: string;
  /** Only rows inserted before this time count: the database as it was then. */
  rollback?: string;
}

const VLD_SELECT = ['SEQNO', 'TIMESTART', 'TIMEEND', 'SITEMASK', 'SIMMASK', 'SUBSITE', 'TASK', 'AGGREGATENO', 'VERSIONDATE', 'INSERTDATE'];

function whereContext(query: Knex.QueryBuilder, ctx: ReadContext): Knex.QueryBuilder {
  query.where('SITEMASK', ctx.sitemask).andWhere('SUBSITE', ctx.subsite);
  if (ctx.simmask !== undefined) query.andWhere('SIMMASK', ctx.simmask);
  if (ctx.task !== undefined) query.andWhere('TASK', ctx.task);
  return query;
}

/**
 * The last validity of a context: largest TIMEEND, ties → largest SEQNO. The scraper resumes
 * from its TIMEEND.
 */
export async function lastValidity(db: Knex, spec: SpecTable, ctx: ReadContext): Promise<VldRow | undefined> {
  // asked before every write (the fence) and at every resume: one statement text per table and
  // filter, prepared once per connection on SQLite (`preparedRows`)
  const q = (name: string) => quoteIdentifier(name, dialectOf(db));
  const where = [`${q('SITEMASK')} = ?`, `${q('SUBSITE')} = ?`];
  const bindings: unknown[] = [ctx.sitemask, ctx.subsite];
  if (ctx.simmask !== undefined) {
    where.push(`${q('SIMMASK')} = ?`);
    bindings.push(ctx.simmask);
  }
  if (ctx.task !== undefined) {
    where.push(`${q('TASK')} = ?`);
    bindings.push(ctx.task);
  }
  const sql = `SELECT ${VLD_SELECT.map(q).join(', ')} FROM ${q(vldTableName(spec))} WHERE ${where.join(' AND ')} ORDER BY ${q('TIMEEND')} DESC, ${q('SEQNO')} DESC LIMIT 1`;
  const [row] = await preparedRows(db, sql, bindings);
  return row ? toVldRow(row) : undefined;
}

/**
 * The payload valid at `q.at` by the DBI rule: among the context's validities with
 * `TIMESTART <= at < TIMEEND` (and, with `rollback`, `INSERTDATE < rollback`), the newest
 * VERSIONDATE wins (ties → larger SEQNO); its payload rows ordered by ROW_COUNTER.
 */
export async function readAt(db: Knex, spec: SpecTable, q: ReadAtQuery): Promise<{ vld: VldRow; rows: Record<string, unknown>[] } | undefined> {
  const query = whereContext(db(vldTableName(spec)).select(VLD_SELECT), q).andWhere('TIMESTART', '<=', q.at).andWhere('TIMEEND', '>', q.at);
  if (q.rollback !== undefined) query.andWhere('INSERTDATE', '<', q.rollback);
  const row = await query.orderBy([{ column: 'VERSIONDATE', order: 'desc' }, { column: 'SEQNO', order: 'desc' }]).first();
  if (!row) return undefined;
  const vld = toVldRow(row);
  const normalize = payloadNormalizer(spec);
  const rows = (await db(spec.table).select(payloadSelect(spec)).where('SEQNO', vld.SEQNO).orderBy('ROW_COUNTER')).map(normalize);
  return { vld, rows };
}

/**
 * Everything in a target table pair, ordered by SEQNO (payload also by ROW_COUNTER), values
 * normalised as the readers return them: tests compare whole targets with it.
 */
export async function dumpTarget(db: Knex, spec: SpecTable): Promise<{ vld: VldRow[]; payload: Record<string, unknown>[] }> {
  const vld = (await db(vldTableName(spec)).select(VLD_SELECT).orderBy('SEQNO')).map(toVldRow);
  const normalize = payloadNormalizer(spec);
  const payload = (await db(spec.table).select(payloadSelect(spec)).orderBy([{ column: 'SEQNO' }, { column: 'ROW_COUNTER' }])).map(normalize);
  return { vld, payload };
}

function payloadSelect(spec: SpecTable): string[] {
  return ['SEQNO', 'ROW_COUNTER', ...spec.columns.map((c) => c.name)];
}

function num(value: unknown): number {
  return value === null || value === undefined ? (value as unknown as number) : Number(value);
}

function toVldRow(row: Record<string, unknown>): VldRow {
  return {
    SEQNO: num(row.SEQNO),
    TIMESTART: String(row.TIMESTART),
    TIMEEND: String(row.TIMEEND),
    SITEMASK: num(row.SITEMASK),
    SIMMASK: num(row.SIMMASK),
    SUBSITE: num(row.SUBSITE),
    TASK: num(row.TASK),
    AGGREGATENO: num(row.AGGREGATENO),
    VERSIONDATE: String(row.VERSIONDATE),
    INSERTDATE: String(row.INSERTDATE),
  };
}

/**
 * A single-precision FLOAT as MySQL shows it to clients (6 significant digits of the float32
 * value). SQLite stores doubles, so both dialects are brought to this one form and targets
 * compare equal across databases.
 */
export function floatValue(value: number): number {
  return Number(Math.fround(value).toPrecision(6));
}

/**
 * Converts driver output of payload rows to plain values per spec dbtype: numbers as numbers
 * (MySQL DECIMAL/BIGINT arrive as strings), `float` columns in FLOAT precision, NULL kept.
 */
export function payloadNormalizer(spec: SpecTable): (row: Record<string, unknown>) => Record<string, unknown> {
  const kinds = spec.columns.map((c) => [c.name, columnValueKind(c.dbtype)] as const);
  return (row) => {
    const out: Record<string, unknown> = { SEQNO: Number(row.SEQNO), ROW_COUNTER: Number(row.ROW_COUNTER) };
    for (const [name, kind] of kinds) {
      const value = row[name];
      if (value === null || value === undefined) out[name] = null;
      else if (kind === 'text') out[name] = typeof value === 'string' ? value : String(value);
      else if (kind === 'float') out[name] = floatValue(Number(value));
      else out[name] = Number(value);
    }
    return out;
  };
}
