import { Knex } from 'knex';
import { SqlDialect, dialectOf } from '../db/dialect';

/**
 * One driver connection taken from a knex pool, for work that needs a single session (a dump's
 * `SET`/`LOCK TABLES`, long write transactions) or SQL text that must reach the server untouched
 * (knex would read a `?` inside a string literal as a binding).
 */
export interface RawConnection {
  dialect: SqlDialect;
  /** Runs SQL text as it is; resolves to the rows of a query (or the driver's result). */
  query(sql: string): Promise<any>;
  /** Runs SQL text that returns no rows (DDL, INSERT, BEGIN/COMMIT). */
  exec(sql: string): Promise<void>;
  /** The better-sqlite3 database (SQLite only): prepared statements for bulk inserts. */
  sqlite?: any;
}

/** Runs `work` on one connection of `db`'s pool and gives it back afterwards. */
export async function withRawConnection<T>(db: Knex, work: (conn: RawConnection) => Promise<T>): Promise<T> {
  const dialect = dialectOf(db);
  const client = db.client as any;
  const driver = await client.acquireConnection();
  const conn: RawConnection =
    dialect === 'sqlite'
      ? {
          dialect,
          sqlite: driver,
          query: async (sql: string) => {
            const stmt = driver.prepare(sql);
            return stmt.reader ? stmt.all() : stmt.run();
          },
          exec: async (sql: string) => {
            driver.exec(sql);
          },
        }
      : {
          dialect,
          query: (sql: string) =>
            new Promise((resolve, reject) => {
              driver.query(sql, (err: Error | null, rows: unknown) => (err ? reject(err) : resolve(rows)));
            }),
          exec: (sql: string) =>
            new Promise<void>((resolve, reject) => {
              driver.query(sql, (err: Error | null) => (err ? reject(err) : resolve()));
            }),
        };
  try {
    return await work(conn);
  } finally {
    await client.releaseConnection(driver);
  }
}

