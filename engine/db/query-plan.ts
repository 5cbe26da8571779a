import { Knex } from 'knex';
import { dialectOf } from './dialect';

/** A statement's query plan as the database gives it, and what it says about the work. */
export interface QueryPlan {
  /** One line per plan step (SQLite `EXPLAIN QUERY PLAN` details; MariaDB `EXPLAIN` rows as `table type key rows extra`). */
  lines: string[];
  /** Indexes the plan uses (`PRIMARY` for MariaDB's primary key, the rowid/primary key on SQLite too). */
  indexes: string[];
  /**
   * Plan steps that read a whole table or a whole index (SQLite `SCAN`, MariaDB type `ALL` or
   * `index`): work that grows with the table, not with the rows asked for.
   */
  fullScans: string[];
}

/**
 * The query plan of `sql` with its bindings (`EXPLAIN QUERY PLAN` on SQLite, `EXPLAIN` on MariaDB):
 * the bench and the tests check with it that the queries run on every write, resume and status
 * find their rows by an index range, whatever the size of the target (a plan, unlike a time, does
 * not depend on the machine).
 */
export async function explainQuery(db: Knex, sql: string, bindings: readonly unknown[] = []): Promise<QueryPlan> {
  if (dialectOf(db) === 'sqlite') {
    const rows = (await db.raw(`EXPLAIN QUERY PLAN ${sql}`, bindings as Knex.RawBinding[])) as { detail: string }[];
    const lines = rows.map((r) => r.detail);
    const indexes = new Set<string>();
    for (const l of lines) {
      const m = /USING (?:COVERING )?INDEX (\S+)/.exec(l);
      if (m) indexes.add(m[1]);
      else if (/USING INTEGER PRIMARY KEY|USING PRIMARY KEY/.test(l)) indexes.add('PRIMARY');
    }
    // `SCAN CONSTANT ROW` and the scan of a list of constants read no table
    const fullScans = lines.filter((l) => /^SCAN /.test(l) && !/^SCAN CONSTANT ROW/.test(l));
    return { lines, indexes: [...indexes], fullScans };
  }
  const [rows] = await db.raw(`EXPLAIN ${sql}`, bindings as Knex.RawBinding[]);
  const lines: string[] = [];
  const indexes = new Set<string>();
  const fullScans: string[] = [];
  for (const r of rows as Record<string, unknown>[]) {
    const line = `${r.table ?? ''} type=${r.type ?? ''} key=${r.key ?? ''} rows=${r.rows ?? ''} ${r.Extra ?? ''}`.trim();
    lines.push(line);
    if (r.key) for (const k of String(r.key).split(',')) indexes.add(k);
    if (r.type === 'ALL' || r.type === 'index') fullScans.push(line);
  }
  return { lines, indexes: [...indexes], fullScans };
}
