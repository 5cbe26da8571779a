import type { PayloadValues } from './payload-converter';
import { rowsIn } from './payload-converter';
import type { WritePath } from './write-path';
import { sqliteStatement } from '../db/dialect';

/** SQLite's bound-parameter limit (SQLITE_MAX_VARIABLE_NUMBER). */
const SQLITE_PLACEHOLDER_LIMIT = 32766;
/** Rows per SQLite multi-row INSERT (larger statements gain nothing). */
const SQLITE_ROWS_PER_INSERT = 500;

/**
 * Multi-row INSERTs in chunks on a native better-sqlite3 connection (the transaction's own), bound
 * parameters, statements prepared once per connection and shape and cached (`sqliteStatement`).
 */
export async function sqliteInsertRows(connection: unknown, head: string, width: number, count: number, rowAt: (i: number) => unknown[]): Promise<void> {
  if (count === 0) return;
  const perInsert = Math.max(1, Math.min(SQLITE_ROWS_PER_INSERT, Math.floor(SQLITE_PLACEHOLDER_LIMIT / width)));
  const tuple = `(${new Array(width).fill('?').join(', ')})`;
  const statement = (rows: number) => sqliteStatement(connection, head + new Array(rows).fill(tuple).join(', '));
  let i = 0;
  if (count >= perInsert) {
    const big = statement(perInsert);
    const params = new Array<unknown>(perInsert * width);
    for (; i + perInsert <= count; i += perInsert) {
      let k = 0;
      for (let r = i; r < i + perInsert; r++) {
        const row = rowAt(r);
        for (let c = 0; c < width; c++) params[k++] = row[c];
      }
      big.run(params);
    }
  }
  if (i < count) {
    const single = statement(1);
    for (; i < count; i++) single.run(rowAt(i));
  }
}

/**
 * The SQLite write path: Vld and payload rows by cached prepared multi-row INSERTs; payload rows
 * get SEQNO and ROW_COUNTER prefixed in one array per row.
 */
export const sqliteWritePath: WritePath = {
  insertRows: sqliteInsertRows,
  async insertPayload(connection, head, attrs, seqnos, payloadValues: PayloadValues[]) {
    const width = attrs + 2;
    // payload rows: prefix SEQNO and ROW_COUNTER without copying into one more array per row
    const payloadRows: unknown[][] = [];
    for (let i = 0; i < payloadValues.length; i++) {
      const values = payloadValues[i];
      const count = rowsIn(values, attrs);
      for (let r = 0; r < count; r++) {
        const row = new Array(width);
        row[0] = seqnos[i];
        row[1] = r + 1;
        for (let c = 0; c < attrs; c++) row[c + 2] = values[r * attrs + c];
        payloadRows.push(row);
      }
    }
    await sqliteInsertRows(connection, head, width, payloadRows.length, (i) => payloadRows[i]);
  },
};
