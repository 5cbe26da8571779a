import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Knex } from 'knex';
import { DatabaseLocation, parseDatabaseUrl } from '../../engine/config/dbconf';
import { openDatabase } from '../../engine/db/open-database';

/** The two databases every database test runs on. */
export const DIALECTS = ['sqlite', 'mariadb'] as const;
export type TestDialect = (typeof DIALECTS)[number];

/** Server URL for MariaDB tests (`.ci/run` makes sure it answers). */
export const MARIADB_URL = process.env.SCRAPE_TEST_MYSQL ?? 'mysql://root@127.0.0.1:3306';

/** A fresh, empty database of one dialect, named after the test. */
export interface TestDatabase {
  dialect: TestDialect;
  /** URL usable wherever a dbconf name is (`--source`, `--target`). */
  url: string;
  location: DatabaseLocation;
  /** Read-write connection for fixtures and checks. */
  db: Knex;
  /** Closes the connection and removes the database. */
  drop(): Promise<void>;
}

let counter = 0;

/**
 * Creates an empty database for a test: a temporary SQLite file, or a MariaDB database
 * `t_<label>_<pid>_<n>`. `label` should say which test owns it; names starting with `fake` mark
 * the database as fake (the faker may drop tables there).
 */
export async function createTestDatabase(dialect: TestDialect, label: string): Promise<TestDatabase> {
  const safe = label.toLowerCase().replace(/[^a-z0-9_]/g, '_').slice(0, 30);
  const unique = `${safe}_${process.pid}_${++counter}`;
  if (dialect === 'sqlite') {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'scrape-test-'));
    const url = `sqlite:${path.join(dir, `${unique}.sqlite`)}`;
    const location = parseDatabaseUrl(url);
    const db = openDatabase(location);
    return {
      dialect, url, location, db,
      drop: async () => {
        await db.destroy();
        fs.rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  const name = `t_${unique}`.slice(0, 64);
  const admin = openDatabase(parseDatabaseUrl(MARIADB_URL), { poolMax: 1 });
  await admin.raw(`DROP DATABASE IF EXISTS \`${name}\``);
  await admin.raw(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4`);
  await admin.destroy();
  const url = `${MARIADB_URL.replace(/\/+$/, '')}/${name}`;
  const location = parseDatabaseUrl(url);
  const db = openDatabase(location);
  return {
    dialect, url, location, db,
    drop: async () => {
      await db.raw(`DROP DATABASE IF EXISTS \`${name}\``);
      await db.destroy();
    },
  };
}

/**
 * Expects `promise` to reject with a message matching `pattern`. Use this rather than
 * `rejects.toThrow()` for driver errors: better-sqlite3 registers its error class once per process,
 * so in later jest test files (each its own realm) a SqliteError is not an `Error` of that realm
 * and `toThrow` reports "did not throw" although the promise rejected.
 */
export async function expectRejection(promise: Promise<unknown>, pattern: RegExp = /./): Promise<void> {
  let rejected = false;
  let error: unknown;
  try {
    await promise;
  } catch (err) {
    rejected = true;
    error = err;
  }
  expect(rejected).toBe(true);
  expect(String((error as { message?: unknown })?.message ?? error)).toMatch(pattern);
}
