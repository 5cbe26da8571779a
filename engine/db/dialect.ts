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

/** A letter, `_` or `$`, then letters, digits, `_` and `$`: the names the engine reads and writes. */
const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;
/** MySQL's limit on table, column and index names. */
export const MAX_IDENTIFIER = 64;

/**
 * Checks that `name` is a usable SQL identifier (a letter, `_` or `$` first, then letters,
 * digits, `_` and `$`; at most 64 characters) and quotes it for `dialect`. Every name that reaches SQL text goes through here:
 * names come from `.spec` files, regimes, live schemas and command lines, never trusted as they
 * are.
 */
export function quoteIdentifier(name: string, dialect: SqlDialect): string {
  if (typeof name !== 'string' || !IDENTIFIER.test(name) || name.length > MAX_IDENTIFIER) {
    throw new ScrapeError('SQL_IDENTIFIER', `not a usable SQL identifier: ${JSON.stringify(String(name))} (a letter, _ or $ first, then letters, digits, _ and $; at most ${MAX_IDENTIFIER} characters)`);
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
