import { Knex } from 'knex';
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

/**
 * The part of a context a reader selects on; simmask, task and aggregateno are optional filters.
 * A writer's context always has all three: each AGGREGATENO is its own sequence of validities.
 */
export interface ReadContext {
  sitemask: number;
  subsite: number;
  simmask?: number;
  task?: number;
  aggregateno?: number;
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
  if (ctx.aggregateno !== undefined) query.andWhere('AGGREGATENO', ctx.aggregateno);
  return query;
}

/**
 * The last validity of a context: largest TIMEEND, ties → largest SEQNO. The scraper resumes
 * from its TIMEEND.
 */
export async function lastValidity(db: Knex, spec: SpecTable, ctx: ReadContext): Promise<VldRow | undefined> {
  const row = await whereContext(db(vldTableName(spec)).select(VLD_SELECT), ctx)
    .orderBy([{ column: 'TIMEEND', order: 'desc' }, { column: 'SEQNO', order: 'desc' }])
    .first();
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

/** A validity with one of its payload rows (`validitiesInRange`). */
export interface ValidityWithRow {
  vld: VldRow;
  /** The payload row of the asked ROW_COUNTER, normalised as `readAt` gives it; undefined when the validity has none. */
  row?: Record<string, unknown>;
}

/**
 * The validities of a context that overlap the UTC range `[from, to)` (`TIMEEND > from AND
 * TIMESTART < to`), ordered by TIMESTART then SEQNO, each with its payload row `rowCounter`
 * (default 1), in one query: what a plot of a stretch of the target draws. Every validity is
 * returned, whatever its VERSIONDATE (an overlay shows as overlapping steps).
 */
export async function validitiesInRange(db: Knex, spec: SpecTable, ctx: ReadContext, range: { from: string; to: string; rowCounter?: number }): Promise<ValidityWithRow[]> {
  const vldTable = vldTableName(spec);
  const v = (c: string) => `v.${c}`;
  const query = db({ v: vldTable })
    .leftJoin({ p: spec.table }, (on) => on.on('p.SEQNO', '=', 'v.SEQNO').andOn('p.ROW_COUNTER', '=', db.raw('?', [range.rowCounter ?? 1])))
    .select([...VLD_SELECT.map((c) => `${v(c)} as ${c}`), 'p.ROW_COUNTER as ROW_COUNTER', ...spec.columns.map((c) => `p.${c.name} as ${c.name}`)])
    .where(v('SITEMASK'), ctx.sitemask)
    .andWhere(v('SUBSITE'), ctx.subsite)
    .andWhere(v('TIMEEND'), '>', range.from)
    .andWhere(v('TIMESTART'), '<', range.to);
  if (ctx.simmask !== undefined) query.andWhere(v('SIMMASK'), ctx.simmask);
  if (ctx.task !== undefined) query.andWhere(v('TASK'), ctx.task);
  if (ctx.aggregateno !== undefined) query.andWhere(v('AGGREGATENO'), ctx.aggregateno);
  const normalize = payloadNormalizer(spec);
  const rows = await query.orderBy([{ column: v('TIMESTART') }, { column: v('SEQNO') }]);
  return rows.map((r: Record<string, unknown>) => ({ vld: toVldRow(r), row: r.ROW_COUNTER === null || r.ROW_COUNTER === undefined ? undefined : normalize(r) }));
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
