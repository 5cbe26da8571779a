import * as fs from 'fs';
import { Knex } from 'knex';
import { DatabaseLocation } from './database-location';
import { dialectOf, quoteString } from './dialect';

/**
 * Questions about what a database holds, one function per question, the same answer on SQLite
 * (`sqlite_master`, `PRAGMA table_info`) and MySQL/MariaDB (`information_schema` of the current
 * database): callers ask here instead of branching on the dialect.
 */

/** A column as the live schema declares it. */
export interface ColumnInfo {
  name: string;
  /** Declared SQL type, lower case: MySQL's full `COLUMN_TYPE` (`decimal(6,2)`, `int(10) unsigned`), SQLite's as written (`integer`, `text`). */
  type: string;
}

/** The base tables of the database (no views, no SQLite internal tables), by name. */
export async function listTables(db: Knex): Promise<string[]> {
  if (dialectOf(db) === 'sqlite') {
    const rows = await db.raw(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`);
    return rows.map((r: { name: string }) => r.name);
  }
  const [rows] = await db.raw(
    `SELECT TABLE_NAME AS name FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_TYPE = 'BASE TABLE' ORDER BY TABLE_NAME`,
  );
  return rows.map((r: { name: string }) => r.name);
}

/** True when `table` exists in the database (on MySQL a view of that name counts too). */
export async function tableExists(db: Knex, table: string): Promise<boolean> {
  if (dialectOf(db) === 'sqlite') {
    const rows = await db.raw(`SELECT name FROM sqlite_master WHERE type = 'table' AND name = ?`, [table]);
    return rows.length > 0;
  }
  const [rows] = await db.raw(`SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?`, [table]);
  return rows.length > 0;
}

/** The columns of `table` in table order, with their declared types (none when it does not exist). */
export async function listColumns(db: Knex, table: string): Promise<ColumnInfo[]> {
  let raw: { name: string; type: string }[];
  if (dialectOf(db) === 'sqlite') {
    raw = await db.raw(`PRAGMA table_info(${quoteString(table, 'sqlite')})`);
  } else {
    const [rows] = await db.raw(
      `SELECT COLUMN_NAME AS name, COLUMN_TYPE AS type FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION`,
      [table],
    );
    raw = rows;
  }
  return raw.map((c) => ({ name: c.name, type: String(c.type).toLowerCase() }));
}

/**
 * True when `location` is an embedded database file that does not exist (yet): opening it would
 * create an empty one, so read-only commands stop instead. Server databases are never missing here.
 */
export function databaseFileMissing(location: DatabaseLocation): boolean {
  return location.dialect === 'sqlite' && location.filename !== ':memory:' && !fs.existsSync(location.filename ?? '');
}
