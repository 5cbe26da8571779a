import type { Knex } from 'knex';
import { ScrapeError } from '../core/errors';

/**
 * The SQL dialects the engine speaks: SQLite (embedded default, tests) and MySQL/MariaDB
 * (production). Every difference between them is decided here or in a function given a
 * `SqlDialect`, never by looking at a driver name elsewhere.
 */
export type SqlDialect = 'sqlite' | 'mysql';

/** The dialect of an open knex handle. */
export function dialectOf(db: Knex): SqlDialect {
  const client = String(db.client.config.client);
  return /sqlite/i.test(client) ? 'sqlite' : 'mysql';
}

/**
 * A letter, `_` or `$`, then letters, digits, `_` and `$`, in parts joined by single dots: the
 * names the engine reads and writes. The dots are the DCS's (`DBNS_AD_HV.Slot0.I0`, a column of
 * DBNS_AD1_HV_Imon): inside quotes a dot is part of the name, never a qualifier, so every name
 * reaching SQL goes through `quoteIdentifier` and never through knex's own column wrapping
 * (which splits `a.b` into table `a`, column `b`).
 */
const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*(?:\.[A-Za-z0-9_$]+)*$/;
/** MySQL's limit on table, column and index names. */
export const MAX_IDENTIFIER = 64;

/**
 * Checks that `name` is a usable SQL identifier (a letter, `_` or `$` first, then letters,
 * digits, `_` and `$`, dots between such parts; at most 64 characters) and quotes it for `dialect`. Every name that reaches SQL text goes through here:
 * names come from `.spec` files, regimes, live schemas and command lines, never trusted as they
 * are.
 */
export function quoteIdentifier(name: string, dialect: SqlDialect): string {
  if (typeof name !== 'string' || !IDENTIFIER.test(name) || name.length > MAX_IDENTIFIER) {
    throw new ScrapeError('SQL_IDENTIFIER', `not a usable SQL identifier: ${JSON.stringify(String(name))} (a letter, _ or $ first, then letters, digits, _ and $, single dots between them; at most ${MAX_IDENTIFIER} characters)`);
  }
  return dialect === 'mysql' ? `\`${name}\`` : `"${name}"`;
}

/** A string as an SQL literal for `dialect` (MySQL backslash escapes, which every session keeps on; SQLite doubled quotes). */
export function quoteString(text: string, dialect: SqlDialect): string {
  if (dialect === 'sqlite') return `'${text.replace(/'/g, "''")}'`;
  return `'${text.replace(/[\0\n\r\b\t\x1a\\'"]/g, (c) => {
    switch (c) {
      case '\0': return '\\0';
      case '\n': return '\\n';
      case '\r': return '\\r';
      case '\b': return '\\b';
      case '\t': return '\\t';
      case '\x1a': return '\\Z';
      default: return '\\' + c;
    }
  })}'`;
}

/** `INSERT` that skips rows whose key is already there: MySQL `INSERT IGNORE`, SQLite `INSERT OR IGNORE`. */
export function insertIgnoreVerb(dialect: SqlDialect): string {
  return dialect === 'mysql' ? 'INSERT IGNORE' : 'INSERT OR IGNORE';
}

/** The statement that opens a transaction on a raw session (MySQL `START TRANSACTION`, SQLite `BEGIN`). */
export function beginTransactionSql(dialect: SqlDialect): string {
  return dialect === 'mysql' ? 'START TRANSACTION' : 'BEGIN';
}

/**
 * The year of a `datetime` expression as an SQL expression: MySQL `YEAR(x)` (a number, 0 for
 * zero dates), SQLite `substr(x, 1, 4)` (the text's first four characters, as times are stored).
 */
export function yearExpression(expr: string, dialect: SqlDialect): string {
  return dialect === 'sqlite' ? `substr(${expr}, 1, 4)` : `YEAR(${expr})`;
}

/**
 * The rows of a raw query on `db`, whatever the driver: better-sqlite3 answers `knex.raw` with the
 * rows, mysql2 with `[rows, fields]`. With `asArrays` each row is an array of its values in select
 * order: mysql2's `rowsAsArray`; on SQLite (where knex has no such option) the statement runs on
 * the native connection in better-sqlite3's raw mode, prepared once per connection
 * (`sqliteStatement`). Arrays cost the driver half what row objects do.
 */
export async function rawRows(db: Knex, sql: string, bindings: Knex.RawBinding[] = [], options: { asArrays?: boolean } = {}): Promise<any[]> {
  if (options.asArrays && dialectOf(db) === 'sqlite') return onSqliteConnection(db, (c) => sqliteStatement(c, sql, true).all(bindings));
  const raw = db.raw(sql, bindings);
  const result = await (options.asArrays ? raw.options({ rowsAsArray: true }) : raw);
  return dialectOf(db) === 'sqlite' ? result : result[0];
}

/**
 * The rows (objects) of a query that runs often, with `?` bindings only: on SQLite by a statement
 * prepared once per connection (`sqliteStatement`) on `db`'s own connection (a transaction's,
 * when `db` is one), without knex building, preparing and parsing it again each time; on MySQL
 * by `knex.raw`, as `rawRows`.
 */
export async function preparedRows(db: Knex, sql: string, bindings: unknown[]): Promise<any[]> {
  if (dialectOf(db) === 'sqlite') return onSqliteConnection(db, (c) => sqliteStatement(c, sql).all(bindings));
  return rawRows(db, sql, bindings as Knex.RawBinding[]);
}

/**
 * Runs `work` on the native better-sqlite3 connection of `db`: a transaction's own connection,
 * else one taken from the pool and given back afterwards.
 */
export async function onSqliteConnection<T>(db: Knex, work: (connection: unknown) => T): Promise<T> {
  const client = db.client as { acquireConnection(): Promise<unknown>; releaseConnection(c: unknown): Promise<unknown> };
  const connection = await client.acquireConnection();
  try {
    return work(connection);
  } finally {
    await client.releaseConnection(connection);
  }
}

/** The part of a better-sqlite3 statement the engine uses. */
export interface SqliteStatement {
  run(params: unknown[]): { changes: number };
  get(params: unknown[]): any;
  all(params: unknown[]): any[];
  raw(on: boolean): SqliteStatement;
}

/** Prepared better-sqlite3 statements per native connection and text (a connection lives as long as its pool keeps it). */
const sqliteStatements = new WeakMap<object, Map<string, SqliteStatement>>();

/**
 * A better-sqlite3 statement of `sql` on a native connection, prepared once per connection and
 * text and kept (at most 64 per connection, then the cache starts over); `raw`: rows as arrays.
 */
export function sqliteStatement(connection: unknown, sql: string, raw = false): SqliteStatement {
  const conn = connection as { prepare(sql: string): SqliteStatement };
  let cache = sqliteStatements.get(conn);
  if (!cache) sqliteStatements.set(conn, (cache = new Map()));
  const key = raw ? `raw:${sql}` : sql;
  let st = cache.get(key);
  if (!st) {
    if (cache.size >= 64) cache.clear();
    st = conn.prepare(sql);
    if (raw) st.raw(true);
    cache.set(key, st);
  }
  return st;
}

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

/** Runs `work` on one connection of `db`'s pool (better-sqlite3 or mysql2, behind `RawConnection`) and gives it back afterwards. */
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
