import { SqlDialect } from '../db/dialect';
import type { PayloadValues } from './payload-converter';
import { mysqlWritePath } from './mysql-write';
import { sqliteWritePath } from './sqlite-write';

/**
 * How one dialect puts a write's rows in, on the transaction's native driver connection. The DBI
 * writer picks one per target (`writePathFor`): the only place its writes depend on the dialect,
 * besides MySQL's LOAD DATA (`mysql-load-data.ts`).
 */
export interface WritePath {
  /** `count` rows (`rowAt(i)`, `width` values each) by multi-row INSERTs after `head` (`INSERT INTO t (…) VALUES `). */
  insertRows(connection: unknown, head: string, width: number, count: number, rowAt: (i: number) => unknown[]): Promise<void>;
  /** The payload rows of flat values per propagation (`attrs` each), SEQNO `seqnos[i]` and ROW_COUNTER 1..N prefixed. */
  insertPayload(connection: unknown, head: string, attrs: number, seqnos: number[], payloadValues: PayloadValues[]): Promise<void>;
}

/** The write path of `dialect`. */
export function writePathFor(dialect: SqlDialect): WritePath {
  return dialect === 'mysql' ? mysqlWritePath : sqliteWritePath;
}
