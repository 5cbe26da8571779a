import { Knex } from 'knex';
import { addMs, naiveMs } from '../core/time';
import { databaseError } from '../db/database-error';
import { SqlDialect, dialectOf, insertIgnoreVerb, quoteIdentifier, sqliteStatement } from '../db/dialect';
import { VLD_SPAN_TABLE, vldTableName } from '../spec/ddl';
import { SpecTable } from '../spec/spec-table';

/**
 * Validities beyond `SEQNO_COVERED` (written by another tool) a reader or writer folds into the
 * bound by reading them (a primary-key range); more, and the reader does without the bound.
 */
export const VLD_SPAN_FOLD_LIMIT = 1000;

/** `timeend − timestart` in whole seconds, both UTC text; NaN when either is no time. */
export function validitySpanSeconds(timestart: string, timeend: string): number {
  return (naiveMs(timeend) - naiveMs(timestart)) / 1000;
}

/** The longest span of `rows` (0 for none), NaN when one has a time that is no time. */
function longestSpan(rows: { TIMESTART: unknown; TIMEEND: unknown }[]): number {
  let longest = 0;
  for (const r of rows) {
    const span = validitySpanSeconds(String(r.TIMESTART), String(r.TIMEEND));
    if (Number.isNaN(span)) return NaN;
    if (span > longest) longest = span;
  }
  return longest;
}

/**
 * The statements that give a just-created, empty `<Table>Vld` its `SCRAPE_VLD_SPAN` row: span 0,
 * nothing covered yet. A row left by an earlier table of that name is set back only while the
 * validity table is still empty (never over validities another process may have written since).
 */
export function startVldSpanStatements(spec: SpecTable, dialect: SqlDialect): { sql: string; bindings: unknown[] }[] {
  const q = (name: string) => quoteIdentifier(name, dialect);
  return [
    { sql: `${insertIgnoreVerb(dialect)} INTO ${q(VLD_SPAN_TABLE)} (${q('TABLENAME')}, ${q('MAX_SPAN_SECONDS')}, ${q('SEQNO_COVERED')}) VALUES (?, 0, 0)`, bindings: [spec.table] },
    {
      sql: `UPDATE ${q(VLD_SPAN_TABLE)} SET ${q('MAX_SPAN_SECONDS')} = 0, ${q('SEQNO_COVERED')} = 0 WHERE ${q('TABLENAME')} = ? AND NOT EXISTS (SELECT 1 FROM ${q(vldTableName(spec))})`,
      bindings: [spec.table],
    },
  ];
}

/** What `recordVldSpan` did. */
export type VldSpanRecord = 'recorded' | 'no-row' | 'gap';

/**
 * Inside a write's transaction, after its validities `seqnos` (consecutive, taken under the
 * table's LOCALSEQNO lock) went in: folds their longest span `longest` (seconds) into the table's
 * `SCRAPE_VLD_SPAN` row and moves `SEQNO_COVERED` to the last of them (`connection`: the
 * transaction's native driver connection, as the write path uses it). One UPDATE when the row
 * already covers every SEQNO before them (the rule while this engine is the table's only writer).
 * Validities in between (another tool's) are read and folded in when at most
 * `VLD_SPAN_FOLD_LIMIT`; more is `gap` and the row stays as it was, as it does without one
 * (`no-row`, a table not made by this version): leaving the row alone is always safe, readers
 * then look at what it does not cover.
 */
export async function recordVldSpan(trx: Knex.Transaction, connection: unknown, spec: SpecTable, seqnos: readonly number[], longest: number): Promise<VldSpanRecord> {
  const first = seqnos[0];
  const last = seqnos[seqnos.length - 1];
  const mysql = dialectOf(trx) === 'mysql';
  // on every write: one statement text per dialect, on the transaction's native connection (prepared once on SQLite)
  const q = (name: string) => quoteIdentifier(name, mysql ? 'mysql' : 'sqlite');
  const greatest = (column: string) => `${q(column)} = CASE WHEN ${q(column)} < ? THEN ? ELSE ${q(column)} END`;
  const head = `UPDATE ${q(VLD_SPAN_TABLE)} SET ${greatest('MAX_SPAN_SECONDS')}, ${greatest('SEQNO_COVERED')} WHERE ${q('TABLENAME')} = ?`;
  const update = (span: number, guard: boolean) => nativeUpdate(connection, mysql, guard ? `${head} AND ${q('SEQNO_COVERED')} >= ?` : head, [span, span, last, last, spec.table, ...(guard ? [first - 1] : [])]);
  if ((await update(longest, true)) > 0) return 'recorded';
  const row = (await trx(VLD_SPAN_TABLE).select('SEQNO_COVERED').where('TABLENAME', spec.table).first()) as { SEQNO_COVERED: unknown } | undefined;
  if (!row) return 'no-row';
  const covered = Number(row.SEQNO_COVERED);
  if (covered >= first - 1) return 'recorded'; // nothing to change (a server counting changed rows only)
  // the validities between: locked against a late insert until the commit (MySQL; SQLite writes one at a time)
  const between = trx(vldTableName(spec)).select('TIMESTART', 'TIMEEND').where('SEQNO', '>', covered).andWhere('SEQNO', '<', first).orderBy('SEQNO').limit(VLD_SPAN_FOLD_LIMIT + 1);
  const rows = (await (mysql ? between.forShare() : between)) as { TIMESTART: unknown; TIMEEND: unknown }[];
  const folded = longestSpan(rows);
  if (rows.length > VLD_SPAN_FOLD_LIMIT || Number.isNaN(folded)) return 'gap';
  await update(Math.max(longest, folded), false);
  return 'recorded';
}

/** Runs an UPDATE on a native driver connection (mysql2 or better-sqlite3) and resolves to the rows it matched. */
async function nativeUpdate(connection: unknown, mysql: boolean, sql: string, bindings: unknown[]): Promise<number> {
  if (!mysql) return sqliteStatement(connection, sql).run(bindings).changes;
  const conn = connection as { query(sql: string, values: unknown[], cb: (err: Error | null, result: { affectedRows: number }) => void): void };
  return new Promise((resolve, reject) => conn.query(sql, bindings, (err, result) => (err ? reject(err) : resolve(result.affectedRows))));
}

/**
 * The reader's look at the bound (`vldSpanLowerBound`): the table's `SCRAPE_VLD_SPAN` row (`span`,
 * `covered`) with the Vld table's largest SEQNO (`top`), by primary key and the primary key's end.
 */
export function vldSpanQuery(dialect: SqlDialect, spec: SpecTable): { sql: string; bindings: unknown[] } {
  const q = (name: string) => quoteIdentifier(name, dialect);
  return {
    sql: `SELECT ${q('MAX_SPAN_SECONDS')} AS span, ${q('SEQNO_COVERED')} AS covered, (SELECT MAX(${q('SEQNO')}) FROM ${q(vldTableName(spec))}) AS top FROM ${q(VLD_SPAN_TABLE)} WHERE ${q('TABLENAME')} = ?`,
    bindings: [spec.table],
  };
}

/**
 * The earliest TIMESTART a validity covering `at` can have, exactly (UTC text), or undefined when
 * the target cannot say: `at` minus the table's longest validity, from its `SCRAPE_VLD_SPAN` row,
 * with the validities the row does not cover (SEQNO above `SEQNO_COVERED`, at most
 * `VLD_SPAN_FOLD_LIMIT` of them) read and folded in. Undefined without the table, the row or the
 * privilege to read it, or with more uncovered validities: the reader then reads as before.
 */
export async function vldSpanLowerBound(db: Knex, spec: SpecTable, at: string): Promise<string | undefined> {
  let row: { span: unknown; covered: unknown; top: unknown } | undefined;
  try {
    const { sql, bindings } = vldSpanQuery(dialectOf(db), spec);
    const rows = await db.raw(sql, bindings as Knex.RawBinding[]);
    row = (dialectOf(db) === 'mysql' ? rows[0] : rows)[0];
  } catch (err) {
    if (isMissingOrDenied(err)) return undefined;
    throw err;
  }
  if (!row) return undefined;
  let span = Number(row.span);
  const covered = Number(row.covered);
  if (row.top !== null && row.top !== undefined && Number(row.top) > covered) {
    const rows = await db(vldTableName(spec)).select('TIMESTART', 'TIMEEND').where('SEQNO', '>', covered).orderBy('SEQNO').limit(VLD_SPAN_FOLD_LIMIT + 1);
    const folded = longestSpan(rows);
    if (rows.length > VLD_SPAN_FOLD_LIMIT || Number.isNaN(folded)) return undefined;
    span = Math.max(span, folded);
  }
  const atMs = naiveMs(at);
  // before MySQL's first DATETIME (1000-01-01): no bound worth having (and no text to write it in)
  if (!Number.isFinite(span) || !(atMs - span * 1000 >= Date.UTC(1000, 0, 1))) return undefined;
  return addMs(at, -span * 1000);
}

/** A missing table (an older target) or a user without SELECT on it. */
function isMissingOrDenied(err: unknown): boolean {
  const e = err as { code?: string; message?: string };
  return e?.code === 'ER_NO_SUCH_TABLE' || /no such table/i.test(String(e?.message)) || databaseError(err)?.code === 'DB_PRIVILEGE';
}
