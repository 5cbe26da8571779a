import type { Knex } from 'knex';

/** A raw mysql2 connection taken from a knex pool (callback API). */
export type MysqlConnection = any;

/** One streamed query: its text, bound values, and whether rows come as arrays (column order) instead of objects. */
export interface StreamedQuery {
  sql: string;
  values?: unknown[];
  rowsAsArray?: boolean;
}

/** One connection of a MySQL knex pool held across several calls, given back by `release`. */
export interface HeldConnection {
  conn: MysqlConnection;
  release(): Promise<void>;
}

/** Takes one connection of a MySQL knex pool until `release` (queries queued on it run in order). */
export async function holdMysqlConnection(db: Knex): Promise<HeldConnection> {
  const client = db.client as { acquireConnection(): Promise<MysqlConnection>; releaseConnection(c: unknown): Promise<unknown> };
  const conn = await client.acquireConnection();
  let released = false;
  return {
    conn,
    release: async () => {
      if (released) return;
      released = true;
      await client.releaseConnection(conn);
    },
  };
}

/**
 * As `holdMysqlConnection`, but only when the pool has a connection to spare now (its in-use,
 * pending and being-made connections below its maximum): undefined otherwise, so a caller that
 * only reads ahead never waits on a pool that other readers hold.
 */
export async function holdSpareMysqlConnection(db: Knex): Promise<HeldConnection | undefined> {
  const pool = (db.client as { pool?: { max: number; numUsed(): number; numPendingAcquires(): number; numPendingCreates(): number } }).pool;
  if (!pool || typeof pool.numUsed !== 'function') return undefined;
  if (pool.numUsed() + pool.numPendingAcquires() + pool.numPendingCreates() >= pool.max) return undefined;
  return holdMysqlConnection(db);
}

/**
 * Runs `fn` with one connection of a MySQL knex pool to itself (queries queued on it run in
 * order, so a second query can be sent while the first one's rows still arrive), and gives the
 * connection back after.
 */
export async function withMysqlConnection<T>(db: Knex, fn: (conn: MysqlConnection) => Promise<T>): Promise<T> {
  const held = await holdMysqlConnection(db);
  try {
    return await fn(held.conn);
  } finally {
    await held.release();
  }
}

/**
 * Streams the rows of one query through `onRow` as mysql2 parses them: no result set is held.
 * The one way the engine streams MySQL rows. Resolves when the result ends; rejects on the
 * query's error, on an exception of `onRow` (the rest of the result is read and dropped first,
 * so the connection stays usable), and on the loss of the connection: mysql2 tells a query read
 * without a callback nothing when its connection dies (the connection gets the error), so that
 * is listened for here, or the read would wait forever. `hook` sees the driver's query object
 * before any row arrives (the numeric row decoder replaces its row step there).
 */
export function streamMysqlRows(
  conn: MysqlConnection,
  query: StreamedQuery,
  onRow: (row: any) => void,
  hook?: (driverQuery: any, connectionConfig: unknown) => void,
): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let failure: unknown;
    let settled = false;
    const finish = (err?: unknown): void => {
      if (settled) return;
      settled = true;
      conn.removeListener('error', lost);
      conn.removeListener('end', lost);
      if (err !== undefined) reject(err);
      else resolve();
    };
    const lost = (err?: unknown): void =>
      finish(err instanceof Error ? err : Object.assign(new Error('the connection closed during a read'), { code: 'PROTOCOL_CONNECTION_LOST', fatal: true }));
    conn.once('error', lost);
    conn.once('end', lost);
    const deliver = (row: unknown): void => {
      if (failure !== undefined) return;
      try {
        onRow(row);
      } catch (err) {
        failure = err;
      }
    };
    const driverQuery = conn.query({ sql: query.sql, rowsAsArray: query.rowsAsArray ?? false }, query.values ?? []);
    hook?.(driverQuery, conn.config);
    driverQuery
      .on('result', deliver)
      .on('error', (err: unknown) => finish(err))
      .on('end', () => finish(failure));
  });
}
