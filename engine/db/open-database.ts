import * as fs from 'fs';
import * as path from 'path';
import knexFactory, { Knex } from 'knex';
import { format as formatMysql } from 'mysql2';
import { ScrapeError } from '../core/errors';
import { DatabaseLocation } from './database-location';

/** Silence on a MySQL connection after which TCP keepalive probes start (see `openDatabase`). */
export const KEEPALIVE_AFTER_MS = 60_000;

/**
 * The sql_mode every MySQL session runs in, whatever the server's default: backslash escapes on
 * (values are escaped the MySQL way) and strict (`STRICT_ALL_TABLES`), so a value a column cannot
 * hold (an overflowing tinyint, a too long string) is an error instead of a silently clipped
 * value and a warning nobody reads.
 */
export const SESSION_SQL_MODE = "SET SESSION sql_mode = CONCAT(REPLACE(@@SESSION.sql_mode, 'NO_BACKSLASH_ESCAPES', ''), ',STRICT_ALL_TABLES')";

/**
 * Prepared statements a MySQL connection may keep (mysql2's `maxPreparedStatements`). The engine
 * sends none (the text protocol only), but mysql2 allocates each connection's statement cache at
 * its full size up front: at the default 16000 entries that is half a megabyte of arrays per
 * connection, 10 MB of the heap of a process running every shipped regime (two pools and a lock
 * connection per regime).
 */
export const MYSQL_PREPARED_STATEMENTS = 16;

/** How a connection is used: sources are read-only, only the faker and DBI writer write. */
export interface OpenOptions {
  readOnly?: boolean;
  /** Pool size (default 1 for SQLite, 4 for MySQL). */
  poolMax?: number;
  /**
   * MySQL: DECIMAL columns arrive as JS numbers (parsed from the wire) instead of strings, as
   * SQLite already gives them. Cuts a third of the client CPU of bulk reads (the averager).
   * Exact for DECIMALs of up to 15 digits only: the source reader selects wider ones as text
   * (`exactColumns` in source/source-reader), so their digits survive a pass-through mapping.
   */
  decimalNumbers?: boolean;
  /** MySQL: how long one connection attempt may take, 1 to 10 s (default the driver's 10 s). */
  connectTimeoutMs?: number;
}

/**
 * Opens a knex connection to a resolved database. Times travel as `YYYY-MM-DD HH:MM:SS` text on
 * both dialects (MySQL `dateStrings`, session time zone UTC) so the engine never meets a JS Date
 * conjured in the machine's time zone; zero dates stay visible as `0000-00-00 00:00:00`.
 * Read-only connections are enforced by the database (`SET SESSION TRANSACTION READ ONLY`,
 * SQLite `query_only`). MySQL sessions are strict (`SESSION_SQL_MODE`). A SQLite file is never
 * conjured: its folder must exist (`DATABASE_FOLDER`), and a file opened read-only must exist
 * (`DATABASE_MISSING`); a writable one is created in its folder.
 *
 * SQLite files opened for writing run in WAL mode with `synchronous = NORMAL`, set here rather
 * than left to the build's WAL default: a commit is not flushed to the disk (no fsync per write
 * transaction), the WAL is at each checkpoint. A crash of the process loses nothing committed;
 * a power cut or an OS crash may lose the last commits before it but never leaves the file
 * inconsistent, and the scraper, resuming from what the target holds, writes them again.
 */
export function openDatabase(location: DatabaseLocation, options: OpenOptions = {}): Knex {
  const readOnly = options.readOnly ?? false;
  if (location.dialect === 'sqlite') {
    const filename = location.filename ?? ':memory:';
    if (filename !== ':memory:') checkSqliteFile(location, filename, readOnly);
    return knexFactory({
      client: 'better-sqlite3',
      connection: { filename },
      useNullAsDefault: true,
      pool: {
        min: 1,
        max: options.poolMax ?? 1,
        afterCreate: (conn: any, done: (err: Error | null, conn: unknown) => void) => {
          try {
            conn.pragma('busy_timeout = 30000');
            if (filename !== ':memory:' && !readOnly) {
              conn.pragma('journal_mode = WAL');
              conn.pragma('synchronous = NORMAL');
            }
            if (readOnly) conn.pragma('query_only = ON');
            done(null, conn);
          } catch (err) {
            done(err as Error, conn);
          }
        },
      },
    });
  }
  return knexFactory({
    client: 'mysql2',
    connection: {
      host: location.socket ? undefined : location.host,
      port: location.port,
      user: location.user,
      password: location.password,
      database: location.database,
      socketPath: location.socket,
      dateStrings: true,
      supportBigNumbers: true,
      decimalNumbers: options.decimalNumbers ?? false,
      timezone: 'Z',
      charset: 'utf8mb4',
      maxPreparedStatements: MYSQL_PREPARED_STATEMENTS,
      ...(options.connectTimeoutMs !== undefined ? { connectTimeout: Math.max(1000, Math.min(options.connectTimeoutMs, 10_000)) } : {}),
      // A network that drops packets silently leaves a query waiting for an answer that never
      // comes; TCP keepalive probes after a minute of silence (then the OS's interval and count;
      // an unacknowledged request is cut by the retransmission timeout instead, both about a
      // quarter of an hour on Linux) turn that into an error the scraper retries.
      enableKeepAlive: true,
      keepAliveInitialDelay: KEEPALIVE_AFTER_MS,
      queryFormat: mysqlQueryFormat,
    },
    ...(options.connectTimeoutMs === undefined ? {} : { acquireConnectionTimeout: options.connectTimeoutMs }),
    // Knex prints connection warnings straight to the console on every failed acquire; the errors
    // reach the caller anyway (the scraper logs one line per outage), so they are not printed twice.
    log: { warn: () => undefined },
    pool: {
      min: 0,
      max: options.poolMax ?? 4,
      afterCreate: (conn: any, done: (err: Error | null, conn: unknown) => void) => {
        const statements = ["SET time_zone = '+00:00'", SESSION_SQL_MODE];
        if (readOnly) statements.push('SET SESSION TRANSACTION READ ONLY');
        const next = (i: number): void => {
          if (i >= statements.length) return done(null, conn);
          conn.query(statements[i], (err: Error | null) => (err ? done(err, conn) : next(i + 1)));
        };
        next(0);
      },
    },
  });
}

/**
 * The driver's placeholder substitution, skipped for a statement sent without values: the driver
 * scans every statement for `?` even then (its values default to `[]`), which on the writer's
 * multi-row INSERTs, their values already written into the text, cost as much client time as
 * building them (measured on pmthv: 0.3 s of 3.8 s per 100 k joined rows). Without values the
 * driver's own substitution returns the text unchanged, so the result is the same.
 */
export function mysqlQueryFormat(this: { config?: { stringifyObjects?: boolean } } | undefined, sql: string, values: any, timezone?: any): string {
  if (values === undefined || values === null || (Array.isArray(values) && values.length === 0)) return sql;
  return formatMysql(sql, values, this?.config?.stringifyObjects ?? false, timezone);
}

/**
 * Throws the error a person can act on when a SQLite file cannot be what is asked: a folder that
 * does not exist (a typo would otherwise create a tree of folders), a path that is a folder, or a
 * file to read that is not there (it would be created empty).
 */
function checkSqliteFile(location: DatabaseLocation, filename: string, readOnly: boolean): void {
  const dir = path.dirname(filename);
  if (!fs.existsSync(dir)) {
    throw new ScrapeError('DATABASE_FOLDER', `${locationLabel(location)}: the folder ${dir} of SQLite file ${path.basename(filename)} does not exist`, {
      hint: `create it (mkdir -p ${dir}) or correct the path`,
    });
  }
  if (fs.existsSync(filename) && fs.statSync(filename).isDirectory()) {
    throw new ScrapeError('DATABASE_OPEN', `${locationLabel(location)}: ${filename} is a folder, not a SQLite file`, { hint: 'give the path of the SQLite file itself' });
  }
  if (readOnly && !fs.existsSync(filename)) {
    throw new ScrapeError('DATABASE_MISSING', `${locationLabel(location)}: SQLite file ${filename} does not exist`, {
      hint: 'correct the path, or create the database first (scrape fake, scrape load, or a scrape run writing it)',
    });
  }
}

/**
 * A location as messages name it: the dbconf section and what it points to
 * (`dcs (mysql://scrape:***@db1:3306/dcs)`), or the URL alone when one was given; never a password.
 */
export function locationLabel(location: DatabaseLocation): string {
  const described = describeLocation(location);
  return location.origin === 'url' || location.name === described ? described : `${location.name} (${described})`;
}

/** Short label of a location for logs, never showing a password (`mysql://user:***@host:port/db`). */
export function describeLocation(location: DatabaseLocation): string {
  if (location.dialect === 'sqlite') return `sqlite:${location.filename}`;
  const where = location.socket ? location.socket : `${location.host}:${location.port}`;
  const user = `${location.user ?? ''}${location.password ? ':***' : ''}`;
  return `mysql://${user}${user ? '@' : ''}${where}/${location.database ?? ''}`;
}
