import * as path from 'path';
import { Knex } from 'knex';
import { parseDatabaseUrl } from '../../engine/config/dbconf';
import { DIALECTS, TestDatabase, createTestDatabase, expectRejection } from '../support/databases';
import { openDatabase } from '../../engine/db/open-database';

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
