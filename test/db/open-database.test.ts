import * as path from 'path';
import { Knex } from 'knex';
import { parseDatabaseUrl } from '../../engine/config/dbconf';
import { DIALECTS, TestDatabase, createTestDatabase, expectRejection } from '../support/databases';
import { openDatabase } from '../../engine/db/open-database';
import { TargetLock } from '../../engine/session/target-lock';

/** One value of a one-row query, whatever the driver. */
async function value(db: Knex, sql: string): Promise<unknown> {
  const result = await db.raw(sql);
  const rows = db.client.config.client === 'better-sqlite3' ? result : result[0];
  return Object.values(rows[0])[0];
}

/**
 * The sessions `openDatabase` opens. A writer's SQLite file is in WAL mode with `synchronous =
 * NORMAL` (1 in SQLite's numbering: no flush per commit, see README "Running for months") on
 * every connection from its first statement, whatever default the SQLite build has; a writer's
 * MariaDB session is UTC and strict. A reader's session refuses writes on both.
 */
describe.each(DIALECTS)('sessions opened on %s', (dialect) => {
  let t: TestDatabase;
  beforeEach(async () => {
    t = await createTestDatabase(dialect, 'open_database');
    await t.db.raw(dialect === 'sqlite' ? 'CREATE TABLE "x" ("id" INTEGER)' : 'CREATE TABLE `x` (`id` int)');
  });
  afterEach(async () => {
    await t.drop();
  });

  it('a writer: SQLite WAL without a flush per commit on every connection; MariaDB UTC and strict', async () => {
    if (dialect === 'sqlite') {
      // a new file: its first connection asked before any statement ran (SQLite starts it at FULL,
      // 2, and better-sqlite3's build moves a connection to NORMAL only once it opens the WAL),
      // then after a write, then a second connection to the file, in WAL mode already
      const fresh = parseDatabaseUrl(`sqlite:${path.join(path.dirname(t.location.filename!), 'fresh.sqlite')}`);
      const first = openDatabase(fresh);
      const second = openDatabase(fresh);
      try {
        expect(await value(first, 'PRAGMA synchronous')).toBe(1);
        expect(await value(first, 'PRAGMA journal_mode')).toBe('wal');
        await first.raw('CREATE TABLE "y" ("id" INTEGER)');
        for (const db of [first, second, t.db]) {
          expect(await value(db, 'PRAGMA journal_mode')).toBe('wal');
          expect(await value(db, 'PRAGMA synchronous')).toBe(1);
        }
      } finally {
        await first.destroy();
        await second.destroy();
      }
    } else {
      expect(await value(t.db, 'SELECT @@session.time_zone')).toBe('+00:00');
      const mode = String(await value(t.db, 'SELECT @@session.sql_mode')).split(',');
      expect(mode).toContain('STRICT_ALL_TABLES');
      expect(mode).not.toContain('NO_BACKSLASH_ESCAPES');
    }
    await t.db('x').insert({ id: 1 });
    expect(Number(await value(t.db, 'SELECT COUNT(*) AS n FROM x'))).toBe(1);
  });

  it('a MariaDB connection keeps a small prepared-statement cache (mysql2 allocates it whole), and more distinct statements still run', async () => {
    // mysql2's default (16000 entries) costs half a megabyte of arrays per connection, made up
    // front; the engine sends no prepared statement, so a few dozen is room enough
    const conn = await t.db.client.acquireConnection();
    try {
      if (dialect === 'mariadb') {
        expect(conn._statements.max).toBeLessThanOrEqual(64);
        // more distinct prepared statements than the cache keeps: the oldest are closed, all answer
        for (let k = 1; k <= 80; k++) {
          const [rows] = await conn.promise().execute(`SELECT ? + ${k} AS v`, [k]);
          expect(Number(rows[0].v)).toBe(2 * k);
        }
      }
    } finally {
      await t.db.client.releaseConnection(conn);
    }
    for (let k = 1; k <= 80; k++) expect(Number(await value(t.db, `SELECT ${k} + ${k} AS v`))).toBe(2 * k);
    // the writer lock's own connection (MariaDB: GET_LOCK on a session of its own; SQLite: files)
    const lock = TargetLock.for(t.location, [{ table: 'DcsX', context: { sitemask: 1, subsite: 1, simmask: 1, task: 0, aggregateno: -1 } }]);
    try {
      expect(await lock.tryAcquire()).toBe(true);
      if (dialect === 'mariadb') expect((lock as unknown as { conn: { connection: { _statements: { max: number } } } }).conn.connection._statements.max).toBeLessThanOrEqual(64);
    } finally {
      await lock.release();
    }
  });

  it('a reader refuses to write', async () => {
    const reader = openDatabase(t.location, { readOnly: true });
    try {
      expect(Number(await value(reader, dialect === 'sqlite' ? 'PRAGMA query_only' : 'SELECT @@session.tx_read_only'))).toBe(1);
      await expectRejection(reader('x').insert({ id: 2 }), dialect === 'sqlite' ? /readonly|read-only|query_only/i : /READ ONLY/i);
      expect(Number(await value(t.db, 'SELECT COUNT(*) AS n FROM x'))).toBe(0);
    } finally {
      await reader.destroy();
    }
  });
});
