import { ErrorCode } from '../core/error-codes';
import { ScrapeError } from '../core/errors';
import { maskPasswords } from '../core/mask-passwords';
import { DatabaseLocation } from './database-location';
import { locationLabel } from './open-database';

/** What a driver error means to the person running scrape: our code, and what to do. */
interface Meaning {
  code: ErrorCode;
  /** How the message starts when the database is known (`cannot connect to`, `on`). */
  verb: string;
  hint: string;
}

const UNREACHABLE: Meaning = {
  code: 'DB_UNREACHABLE',
  verb: 'cannot connect to',
  hint: 'check that the database server is running and that host and port (dbconf section or URL) are right; a firewall may be dropping the connection',
};
const UNKNOWN_HOST: Meaning = { code: 'DB_UNKNOWN_HOST', verb: 'cannot connect to', hint: 'correct the host name in the dbconf section or URL (or fix DNS on this machine)' };
const ACCESS_DENIED: Meaning = {
  code: 'DB_ACCESS_DENIED',
  verb: 'cannot connect to',
  hint: "check user and password in the dbconf section or URL, and that the server lets that user in from this host (GRANT … TO 'user'@'host')",
};
const UNKNOWN_DATABASE: Meaning = {
  code: 'DATABASE_MISSING',
  verb: 'cannot connect to',
  hint: 'correct the database name in the dbconf section or URL, or create the database (CREATE DATABASE name)',
};
const PRIVILEGE: Meaning = { code: 'DB_PRIVILEGE', verb: 'refused on', hint: 'grant the database user the privilege the message names (README, "Databases", lists what each command needs)' };
const SPEC_TYPE: Meaning = {
  code: 'SPEC_TYPE',
  verb: 'refused on',
  hint: 'change the column type in the .spec file (decimal(M,D) with M ≤ 65 and D ≤ 30, varchar(N) with N ≤ 16383, char(N) with N ≤ 255, text for long strings); scrape validate checks them',
};
const READ_ONLY: Meaning = { code: 'DB_READ_ONLY', verb: 'refused on', hint: 'point it at a writable server or file (not a read-only replica, mount or file)' };
const FULL: Meaning = { code: 'DB_FULL', verb: 'refused on', hint: 'free disk space where the database keeps its files' };
const CANNOT_OPEN: Meaning = { code: 'DATABASE_OPEN', verb: 'cannot open', hint: 'check the path and that this user may read and write the file and its folder' };

/** Driver and system error codes (mysql2, Node, better-sqlite3) a person can act on. */
const MEANINGS: Record<string, Meaning> = {
  ECONNREFUSED: UNREACHABLE,
  ETIMEDOUT: UNREACHABLE,
  EHOSTUNREACH: UNREACHABLE,
  ENETUNREACH: UNREACHABLE,
  ECONNRESET: UNREACHABLE,
  EPIPE: UNREACHABLE,
  PROTOCOL_CONNECTION_LOST: UNREACHABLE,
  ER_CON_COUNT_ERROR: UNREACHABLE,
  ER_SERVER_SHUTDOWN: UNREACHABLE,
  ENOTFOUND: UNKNOWN_HOST,
  EAI_AGAIN: UNKNOWN_HOST,
  ER_ACCESS_DENIED_ERROR: ACCESS_DENIED,
  ER_DBACCESS_DENIED_ERROR: ACCESS_DENIED,
  ER_ACCESS_DENIED_NO_PASSWORD_ERROR: ACCESS_DENIED,
  ER_HOST_NOT_PRIVILEGED: ACCESS_DENIED,
  ER_HOST_IS_BLOCKED: ACCESS_DENIED,
  ER_NOT_SUPPORTED_AUTH_MODE: ACCESS_DENIED,
  ER_MUST_CHANGE_PASSWORD_LOGIN: ACCESS_DENIED,
  ER_MUST_CHANGE_PASSWORD: ACCESS_DENIED,
  ER_BAD_DB_ERROR: UNKNOWN_DATABASE,
  ER_TABLEACCESS_DENIED_ERROR: PRIVILEGE,
  ER_COLUMNACCESS_DENIED_ERROR: PRIVILEGE,
  ER_SPECIFIC_ACCESS_DENIED_ERROR: PRIVILEGE,
  ER_PROCACCESS_DENIED_ERROR: PRIVILEGE,
  ER_TOO_BIG_PRECISION: SPEC_TYPE,
  ER_TOO_BIG_SCALE: SPEC_TYPE,
  ER_TOO_BIG_FIELDLENGTH: SPEC_TYPE,
  ER_TOO_BIG_ROWSIZE: SPEC_TYPE,
  ER_TOO_BIG_DISPLAYWIDTH: SPEC_TYPE,
  ER_M_BIGGER_THAN_D: SPEC_TYPE,
  ER_TOO_MANY_FIELDS: SPEC_TYPE,
  ER_OPTION_PREVENTS_STATEMENT: READ_ONLY,
  ER_READ_ONLY_MODE: READ_ONLY,
  SQLITE_READONLY: READ_ONLY,
  ER_RECORD_FILE_FULL: FULL,
  ER_DISK_FULL: FULL,
  ENOSPC: FULL,
  SQLITE_FULL: FULL,
  SQLITE_CANTOPEN: CANNOT_OPEN,
  SQLITE_NOTADB: CANNOT_OPEN,
  SQLITE_PERM: CANNOT_OPEN,
  SQLITE_AUTH: CANNOT_OPEN,
  EACCES: CANNOT_OPEN,
  EPERM: CANNOT_OPEN,
};

/** Messages without a code that mean the same (the pool, better-sqlite3's own checks). */
const MEANING_BY_MESSAGE: Array<[RegExp, Meaning]> = [
  [/Knex: Timeout acquiring a connection/i, UNREACHABLE],
  [/Cannot open database because the directory does not exist/i, { ...CANNOT_OPEN, code: 'DATABASE_FOLDER', hint: 'create the folder of the SQLite file or correct the path' }],
  [/Can't create table .*Too many columns/i, SPEC_TYPE],
];

function meaningOf(e: { code?: unknown; message?: unknown }): Meaning | undefined {
  const code = typeof e.code === 'string' ? e.code : '';
  // better-sqlite3 extended codes: SQLITE_CANTOPEN_ISDIR, SQLITE_READONLY_DBMOVED, …
  const meaning = MEANINGS[code] ?? MEANINGS[code.replace(/^(SQLITE_[A-Z]+)_.*$/, '$1')];
  if (meaning) return meaning;
  const message = typeof e.message === 'string' ? e.message : '';
  return MEANING_BY_MESSAGE.find(([re]) => re.test(message))?.[1];
}

/**
 * The `ScrapeError` a driver or system error stands for when a person can fix its cause: a
 * server that refuses or does not answer connections (`DB_UNREACHABLE`), an unknown host, a
 * refused user or password, an unknown database (`DATABASE_MISSING`), a missing privilege, a
 * column type the server refuses (`SPEC_TYPE`), a read-only or full database, a SQLite file that
 * cannot be opened. Each comes with a one-line hint; the message names the database when
 * `location` is given and never holds a password. Undefined for anything else (a bug, or a
 * `ScrapeError` already). The one place driver errors are given meaning: the CLI applies it to
 * whatever reaches it, and `waitForDatabase` to the first connection of each database.
 */
export function databaseError(err: unknown, location?: DatabaseLocation): ScrapeError | undefined {
  const seen = new Set<unknown>();
  let e: any = err;
  while (e && typeof e === 'object' && !seen.has(e)) {
    seen.add(e);
    if (e instanceof ScrapeError) return undefined;
    // a file error (it has a path) is the database's only when the database is known to be the caller
    const meaning = typeof e.path === 'string' && !location ? undefined : meaningOf(e);
    if (meaning) {
      const driver = maskPasswords(String(e.message ?? e.code).split('\n')[0], [location?.password]);
      const shown = typeof e.code === 'string' && !driver.includes(e.code) && !e.code.startsWith('ER_') ? `${e.code} ${driver}` : driver;
      const where = location ? `${meaning.verb} ${locationLabel(location)}: ` : '';
      return new ScrapeError(meaning.code, `${where}${shown}`, { hint: meaning.hint });
    }
    e = e.cause;
  }
  return undefined;
}
