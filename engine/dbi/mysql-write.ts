import { escape as escapeMysql } from 'mysql2';
import { rowsIn } from './payload-converter';
import type { WritePath } from './write-path';

/**
 * Characters per MySQL multi-row INSERT statement: at most 1 MiB of UTF-8 even for text of
 * 4-byte characters, the smallest `max_allowed_packet` of supported servers.
 */
const MYSQL_STATEMENT_CHARS = 1 << 18;
/** Tuples per MySQL multi-row INSERT (larger statements gain nothing). */
const MYSQL_ROWS_PER_INSERT = 4000;

/**
 * Multi-row INSERTs on a native mysql2 connection, the values written into the statement text
 * (`mysqlLiteral`, the driver's own escaping) instead of bound: formatting `?` placeholders cost
 * more client time than building the text, and the server parses the same statement either way.
 */
export async function mysqlInsert(connection: unknown, head: string, count: number, tupleAt: (i: number) => string): Promise<void> {
  const conn = connection as { query(sql: string, cb: (err: Error | null) => void): void };
  const send = (sql: string) => new Promise<void>((resolve, reject) => conn.query(sql, (err) => (err ? reject(err) : resolve())));
  let sql = '';
  let rows = 0;
  for (let i = 0; i < count; i++) {
    const tuple = tupleAt(i);
    // sent before it would outgrow the limit (a single oversized tuple still goes, alone)
    if (rows > 0 && (rows >= MYSQL_ROWS_PER_INSERT || sql.length + 1 + tuple.length > MYSQL_STATEMENT_CHARS)) {
      await send(sql);
      sql = '';
      rows = 0;
    }
    sql += rows === 0 ? head + tuple : ',' + tuple;
    rows++;
  }
  if (rows > 0) await send(sql);
}

/** `(v1,v2,…)` of `values[from … from + width)` as MySQL literals. */
export function mysqlTuple(values: unknown[], from: number, width: number, prefix = '('): string {
  let t = prefix;
  for (let c = 0; c < width; c++) t += (c === 0 ? '' : ',') + mysqlLiteral(values[from + c]);
  return t + ')';
}

/**
 * Characters the driver escapes in a string literal but `"`: inside single quotes only `'` and
 * `\` are special to MySQL (the control characters are escaped for readable statements), and a
 * JSON text is full of `"`.
 */
const MYSQL_SPECIAL = /[\0\b\t\n\r\x1a'\\]/;

/**
 * A value checked by `sqlValue` as a MySQL literal: numbers as JS prints them (as the driver binds
 * them), strings escaped by the driver; a string with nothing to escape is quoted as it is (the
 * driver's escaping walks it character by character: 0.25 s per 100 k joined pmthv rows).
 */
export function mysqlLiteral(v: unknown): string {
  if (typeof v === 'number') return String(v);
  if (v === null || v === undefined) return 'NULL';
  if (typeof v === 'string') return MYSQL_SPECIAL.test(v) ? escapeMysql(v) : `'${v}'`;
  return String(v);
}

/**
 * The MySQL write path: Vld and payload rows by multi-row INSERTs whose values are written into
 * the statement text (`mysqlInsert`), payload tuples built straight from the flat values.
 */
export const mysqlWritePath: WritePath = {
  async insertRows(connection, head, width, count, rowAt) {
    if (count === 0) return;
    await mysqlInsert(connection, head, count, (i) => mysqlTuple(rowAt(i), 0, width));
  },
  async insertPayload(connection, head, attrs, seqnos, payloadValues) {
    // the statement text straight from the flat values: no array per payload row
    const at: number[] = [];
    for (let i = 0; i < payloadValues.length; i++) for (let r = 0; r < rowsIn(payloadValues[i], attrs); r++) at.push(i, r);
    await mysqlInsert(connection, head, at.length / 2, (k) => {
      const i = at[2 * k];
      const r = at[2 * k + 1];
      return mysqlTuple(payloadValues[i], r * attrs, attrs, attrs > 0 ? `(${seqnos[i]},${r + 1},` : `(${seqnos[i]},${r + 1}`);
    });
  },
};
