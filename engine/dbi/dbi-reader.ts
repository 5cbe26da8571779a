import { Knex } from 'knex';
import { SqlDialect, dialectOf, preparedRows, quoteIdentifier } from '../db/dialect';
import { PROVENANCE_TABLE, columnValueKind, vldTableName } from '../spec/ddl';
import { parseSuppressed, type Provenance } from './propagation';
import { SpecTable } from '../spec/spec-table';
import { ScrapeError } from '../core/errors';
import { normalizeTimeText } from '../core/time';
import { isSingleMaskBit, tinyintMasksSharing } from './mask-bits';
import { vldSpanLowerBound } from './vld-span';

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
 * An exact context (each field given must equal the column; an absent one matches any): what
 * `lastValidity` selects on. A writer's context always has all five: each AGGREGATENO is its own
 * sequence of validities.
 */
export interface ReadContext {
  sitemask: number;
  subsite: number;
  simmask?: number;
  task?: number;
  aggregateno?: number;
}

const VLD_SELECT = ['SEQNO', 'TIMESTART', 'TIMEEND', 'SITEMASK', 'SIMMASK', 'SUBSITE', 'TASK', 'AGGREGATENO', 'VERSIONDATE', 'INSERTDATE'];

/**
 * The last validity of a context, by exact equality of its columns: largest TIMEEND, ties →
 * largest SEQNO. The scraper resumes from its TIMEEND; the fence compares it. With
 * `endAtOrBefore` (UTC), only validities ending then or earlier count (a replay from a time).
 */
export async function lastValidity(db: Knex, spec: SpecTable, ctx: ReadContext, endAtOrBefore?: string): Promise<VldRow | undefined> {
  // asked before every write (the fence) and at every resume: one statement text per table and
  // filter, prepared once per connection on SQLite (`preparedRows`)
  const { sql, bindings } = lastValidityQuery(dialectOf(db), spec, ctx, endAtOrBefore);
  const [row] = await preparedRows(db, sql, bindings);
  return row ? toVldRow(row) : undefined;
}

/** A statement and its `?` bindings (what the bench and the plan tests explain). */
export interface SqlQuery {
  sql: string;
  bindings: unknown[];
}

/**
 * The statement of `lastValidity`: equality on the context columns given, `ORDER BY TIMEEND DESC,
 * SEQNO DESC LIMIT 1`, which the `<Vld>_ctx_end` index answers from its end (SEQNO, the primary
 * key, is the last part of every index entry on both databases): one index probe, however many
 * validities the context holds.
 */
export function lastValidityQuery(dialect: SqlDialect, spec: SpecTable, ctx: ReadContext, endAtOrBefore?: string): SqlQuery {
  const q = (name: string) => quoteIdentifier(name, dialect);
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
  if (ctx.aggregateno !== undefined) {
    where.push(`${q('AGGREGATENO')} = ?`);
    bindings.push(ctx.aggregateno);
  }
  if (endAtOrBefore !== undefined) {
    where.push(`${q('TIMEEND')} <= ?`);
    bindings.push(endAtOrBefore);
  }
  const sql = `SELECT ${VLD_SELECT.map(q).join(', ')} FROM ${q(vldTableName(spec))} WHERE ${where.join(' AND ')} ORDER BY ${q('TIMEEND')} DESC, ${q('SEQNO')} DESC LIMIT 1`;
  return { sql, bindings };
}

/**
 * A DBI read context (a `VldContext` plus task and rollback dates): one site bit, one detector,
 * one SimFlag, one task, one UTC time. Times are UTC text `YYYY-MM-DD HH:MM:SS`.
 */
export interface DbiReadQuery {
  /** The time read: validities with `TIMESTART <= at < TIMEEND` serve it. */
  at: string;
  /** One site bit (DayaBay 1, LingAo 2, Far 4, SAB 32): validities whose SITEMASK has it. */
  site: number;
  /** SUBSITE, compared for equality. */
  subsite: number;
  /** One SimFlag bit, default 1 (data): validities whose SIMMASK has it. */
  simflag?: number;
  /** TASK, compared for equality; default 0. */
  task?: number;
  /** Only this AGGREGATENO; default: every aggregate. */
  aggregateno?: number;
  /** Only validities with `INSERTDATE < rollback`: the database as it was at that time. */
  rollback?: string;
  /** Only validities with `VERSIONDATE < rollbackVersion`. */
  rollbackVersion?: string;
}

/** The winning validity of one aggregate and its payload rows (ROW_COUNTER order). */
export interface DbiAggregate {
  aggregateno: number;
  vld: VldRow;
  rows: Record<string, unknown>[];
}

/** Refuses a Site or SimFlag that is not one bit 1..64 (a DBI context names one of each). */
function checkOneBit(value: number, what: string): void {
  if (!isSingleMaskBit(value)) {
    throw new ScrapeError('DBI_READ_CONTEXT', `a DBI read names one ${what} bit (1, 2, 4, 8, 16, 32 or 64), got ${value}`);
  }
}

/** Index entries up to which SQLite's probes count a time range of the site and detector. */
const SQLITE_PROBE = 10_000;

/**
 * The validity query of `readContextAt` (a knex builder; `.toSQL()` gives its text): the candidates
 * for `q.at`, best first within each AGGREGATENO. The mask tests are `SITEMASK IN (…)`, which the
 * `<Vld>_site_start` and `<Vld>_site_end` indexes serve with the SUBSITE equality and one of the
 * time bounds. Which validities cover a time is one B-tree range only with a bound on their
 * length: when the table's `SCRAPE_VLD_SPAN` row gives one (`vldSpanLowerBound`, exact), the
 * query also asks `TIMESTART >= at − longest validity`, and the `<Vld>_site_start` range holds
 * only the validities starting within one such length before `at`. Without it, every validity
 * of the site and detector starting before `at`, or ending after it. MariaDB takes the smaller
 * range by its own estimates. SQLite has none: it is told which one (the other bound written
 * `+column`, not an index term) by probes counting at most 10,000 index entries, first of the
 * bounded TIMESTART range, then of those ending after `at` (a read of the present, when a long
 * validity makes the bounded range long too).
 */
export async function readContextQuery(db: Knex, spec: SpecTable, q: DbiReadQuery): Promise<{ query: Knex.QueryBuilder }> {
  checkOneBit(q.site, 'site');
  const simflag = q.simflag ?? 1;
  checkOneBit(simflag, 'SimFlag');
  const at = normalizeTimeText(q.at);
  const masks = tinyintMasksSharing(q.site);
  const from = await vldSpanLowerBound(db, spec, at);
  let byEnd: boolean | undefined;
  if (dialectOf(db) === 'sqlite') {
    const count = async (range: (b: Knex.QueryBuilder) => Knex.QueryBuilder) => {
      const probe = range(db(vldTableName(spec)).select(db.raw('1')).whereIn('SITEMASK', masks).andWhere('SUBSITE', q.subsite)).limit(SQLITE_PROBE);
      const [{ n }] = await db.from(probe.as('p')).count({ n: '*' });
      return Number(n);
    };
    const startsFew = from !== undefined && (await count((b) => b.andWhere('TIMESTART', '>=', from).andWhere('TIMESTART', '<=', at))) < SQLITE_PROBE;
    byEnd = startsFew ? false : (await count((b) => b.andWhere('TIMEEND', '>', at))) < SQLITE_PROBE;
  }
  const query = db(vldTableName(spec))
    .select(VLD_SELECT)
    .whereIn('SITEMASK', masks)
    .andWhereRaw('(?? & ?) <> 0', ['SIMMASK', simflag])
    .andWhere('SUBSITE', q.subsite)
    .andWhere('TASK', q.task ?? 0);
  if (byEnd === undefined) query.andWhere('TIMESTART', '<=', at).andWhere('TIMEEND', '>', at);
  else if (byEnd) query.andWhereRaw('+?? <= ?', ['TIMESTART', at]).andWhere('TIMEEND', '>', at);
  else query.andWhere('TIMESTART', '<=', at).andWhereRaw('+?? > ?', ['TIMEEND', at]);
  if (from !== undefined) {
    if (byEnd) query.andWhereRaw('+?? >= ?', ['TIMESTART', from]);
    else query.andWhere('TIMESTART', '>=', from);
  }
  if (q.aggregateno !== undefined) query.andWhere('AGGREGATENO', q.aggregateno);
  if (q.rollback !== undefined) query.andWhere('INSERTDATE', '<', normalizeTimeText(q.rollback));
  if (q.rollbackVersion !== undefined) query.andWhere('VERSIONDATE', '<', normalizeTimeText(q.rollbackVersion));
  // wrapped: a builder is a thenable, which an async function would run instead of returning
  return { query: query.orderBy([{ column: 'AGGREGATENO' }, { column: 'VERSIONDATE', order: 'desc' }, { column: 'SEQNO', order: 'desc' }]) };
}

/**
 * What a DBI reader gets for a context at one time (the DBI validity query and
 * validity-record builder): the validities with `TIMESTART <= at < TIMEEND`, `SITEMASK & site`,
 * `SIMMASK & simflag`, equal SUBSITE and TASK (and, with rollback dates, `INSERTDATE < rollback`,
 * `VERSIONDATE < rollbackVersion`) compete per AGGREGATENO; in each, the newest VERSIONDATE wins,
 * ties → the larger SEQNO. Returns every aggregate's winner, by AGGREGATENO, with its payload rows
 * in ROW_COUNTER order; `[]` when nothing is valid.
 */
export async function readContextAt(db: Knex, spec: SpecTable, q: DbiReadQuery): Promise<DbiAggregate[]> {
  const { query } = await readContextQuery(db, spec, q);
  const candidates = (await query).map(toVldRow);
  // rows come best first within each AGGREGATENO: the first of each is its winner
  const winners: VldRow[] = [];
  for (const v of candidates) if (winners.length === 0 || winners[winners.length - 1].AGGREGATENO !== v.AGGREGATENO) winners.push(v);
  const normalize = payloadNormalizer(spec);
  const bySeqno = new Map<number, Record<string, unknown>[]>(winners.map((v) => [v.SEQNO, []]));
  const seqnos = [...bySeqno.keys()];
  for (let from = 0; from < seqnos.length; from += 500) {
    const rows = await db(spec.table).select(payloadSelect(spec)).whereIn('SEQNO', seqnos.slice(from, from + 500)).orderBy([{ column: 'SEQNO' }, { column: 'ROW_COUNTER' }]);
    for (const row of rows) bySeqno.get(Number(row.SEQNO))!.push(normalize(row));
  }
  return winners.map((vld) => ({ aggregateno: vld.AGGREGATENO, vld, rows: bySeqno.get(vld.SEQNO)! }));
}

/**
 * A point-in-time read of one aggregate (`readContextAt` with `sitemask` as the site bit and
 * `simmask` as the SimFlag): the winner of `aggregateno`, or of the only aggregate that answers.
 * Several aggregates answering and none named is a `DBI_READ_CONTEXT` error: use `readContextAt`.
 */
export interface ReadAtQuery {
  at: string;
  /** One site bit. */
  sitemask: number;
  subsite: number;
  /** One SimFlag bit; default 1 (data). */
  simmask?: number;
  /** Default 0. */
  task?: number;
  aggregateno?: number;
  /** Only rows inserted before this time count: the database as it was then. */
  rollback?: string;
  /** Only validities with an older VERSIONDATE count. */
  rollbackVersion?: string;
}

/** The DBI payload of one aggregate valid at `q.at` (see `ReadAtQuery`, `readContextAt`). */
export async function readAt(db: Knex, spec: SpecTable, q: ReadAtQuery): Promise<{ vld: VldRow; rows: Record<string, unknown>[] } | undefined> {
  const found = await readContextAt(db, spec, {
    at: q.at, site: q.sitemask, subsite: q.subsite, simflag: q.simmask, task: q.task, aggregateno: q.aggregateno,
    rollback: q.rollback, rollbackVersion: q.rollbackVersion,
  });
  if (found.length > 1) {
    throw new ScrapeError('DBI_READ_CONTEXT', `${found.length} aggregates of ${spec.table} answer (AGGREGATENO ${found.map((f) => f.aggregateno).join(', ')}): name one, or read them all with readContextAt`);
  }
  return found.length === 0 ? undefined : { vld: found[0].vld, rows: found[0].rows };
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

/**
 * The provenance of validities of `spec` (`SCRAPE_PROVENANCE`) by SEQNO: why each was written, as
 * the writer stored it (JSON columns parsed, times as text, absent fields left out). A SEQNO
 * without a row is missing from the map; a target without the table (an older one) gives an
 * empty map.
 */
export async function readProvenance(db: Knex, spec: SpecTable, seqnos: readonly number[]): Promise<Map<number, Provenance>> {
  const out = new Map<number, Provenance>();
  if (seqnos.length === 0 || !(await db.schema.hasTable(PROVENANCE_TABLE))) return out;
  for (let from = 0; from < seqnos.length; from += 500) {
    const rows = await db(PROVENANCE_TABLE).select('*').where('TABLENAME', spec.table).whereIn('SEQNO', seqnos.slice(from, from + 500));
    for (const r of rows) {
      const why: Provenance = { reason: String(r.REASON), regimeHash: String(r.REGIME_HASH), engineVersion: String(r.ENGINE_VERSION) };
      const num = (v: unknown) => (v === null || v === undefined ? undefined : Number(v));
      const text = (v: unknown) => (v === null || v === undefined ? undefined : v instanceof Date ? v.toISOString().slice(0, 19).replace('T', ' ') : normalizeTimeText(String(v)));
      if (r.FIRED !== null && r.FIRED !== undefined) {
        // a repair keeps the SEQNOs it overlays there: {"overlays": [...]}
        const fired = JSON.parse(String(r.FIRED));
        if (Array.isArray(fired)) why.fired = fired;
        else if (Array.isArray(fired?.overlays)) why.overlays = fired.overlays.map(Number);
      }
      if (r.SOURCE_TABLE !== null && r.SOURCE_TABLE !== undefined) why.sourceTable = String(r.SOURCE_TABLE);
      why.firstId = num(r.FIRST_ID);
      why.lastId = num(r.LAST_ID);
      why.firstTime = text(r.FIRST_TIME);
      why.lastTime = text(r.LAST_TIME);
      why.samples = num(r.SAMPLES);
      why.rows = num(r.ROWS_SEEN);
      if (r.SUPPRESSED !== null && r.SUPPRESSED !== undefined) why.suppressed = parseSuppressed(String(r.SUPPRESSED));
      for (const k of Object.keys(why) as (keyof Provenance)[]) if (why[k] === undefined) delete why[k];
      out.set(Number(r.SEQNO), why);
    }
  }
  return out;
}
