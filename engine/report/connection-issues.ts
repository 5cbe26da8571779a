import * as fs from 'fs';
import * as path from 'path';
import { Knex } from 'knex';
import { DatabaseLocation } from '../config/dbconf';
import { Regime } from '../config/regime';
import { Issue, RegimeText } from '../config/regime-issue';
import { ErrorCode } from '../core/error-codes';
import { isScrapeError } from '../core/errors';
import { dialectOf, quoteIdentifier } from '../db/dialect';
import { databaseFileMissing } from '../db/introspection';
import { describeLocation, openDatabase } from '../db/open-database';
import { expandColumnNames } from '../faker/source-schema';
import { discoverStreams, SourceStream, streamTables } from '../source/source-stream';
import { LOCALSEQNO, PROVENANCE_TABLE, SOURCE_IDS_TABLE, vldTableName } from '../spec/ddl';
import { SpecTable } from '../spec/spec-table';
import { columnIssues, someNames } from './declared-column-issues';

/** Where the regime's databases are and how long to wait for each. */
export interface ConnectionCheckOptions {
  source: DatabaseLocation;
  target: DatabaseLocation;
  /** How long to wait for a connection before saying the database cannot be reached. */
  timeoutMs: number;
}

const label = (loc: DatabaseLocation): string => `${loc.name} (${describeLocation(loc)})`;

/** The driver's or server's message of an error, on one line. */
const reason = (err: unknown): string => String((err as { sqlMessage?: string }).sqlMessage ?? (err as Error)?.message ?? err).split('\n')[0];

/**
 * Opens `location` and waits for one answer, at most `timeoutMs`: the connection, or an issue
 * saying why not (`DATABASE_CONNECT` at `key`).
 */
async function connect(location: DatabaseLocation, key: string, readOnly: boolean, timeoutMs: number, issues: Issue[]): Promise<Knex | undefined> {
  const db = openDatabase(location, { readOnly, poolMax: 1, connectTimeoutMs: timeoutMs });
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      db.raw('SELECT 1'),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs / 1000} s`)), timeoutMs);
      }),
    ]);
    return db;
  } catch (err) {
    issues.push({ segments: [key], code: 'DATABASE_CONNECT', message: `cannot use ${key} ${label(location)}: ${reason(err)}` });
    void db.destroy().catch(() => undefined);
    return undefined;
  } finally {
    clearTimeout(timer);
  }
}

/** Runs `sql`; on failure an issue (`code` at `segments`) saying what was refused. */
async function allowed(db: Knex, sql: string, segments: Array<string | number>, what: string, issues: Issue[]): Promise<boolean> {
  try {
    await db.raw(sql);
    return true;
  } catch (err) {
    issues.push({ segments, code: 'DATABASE_PRIVILEGE', message: `${what}: ${reason(err)}` });
    return false;
  }
}

/**
 * `scrape validate --connect`: what only the databases can tell, checked without writing. The
 * source: it answers (within `timeoutMs`), tables match, their joins exist, the user may SELECT
 * them, every declared column is there, and the mappings and change rules hold against the real
 * columns (as `scrape run` checks before reading). The target: it answers, the DBI tables of each
 * spec and LOCALSEQNO exist (a production target's must; elsewhere a missing one is a warning:
 * `--allow-drop-create-table` makes it), the payload tables hold the spec's columns, and the user
 * may SELECT and INSERT them and UPDATE LOCALSEQNO (on MySQL by PREPARE, which checks privileges
 * and runs nothing; on SQLite the files must be writable). Issues point at the regime keys.
 */
export async function connectionIssues(regime: Regime, specs: Map<string, SpecTable>, src: RegimeText, options: ConnectionCheckOptions): Promise<Issue[]> {
  const issues: Issue[] = [];
  await sourceIssues(regime, specs, src, options, issues);
  await targetIssues(regime, specs, options, issues);
  return issues;
}

async function sourceIssues(regime: Regime, specs: Map<string, SpecTable>, src: RegimeText, options: ConnectionCheckOptions, issues: Issue[]): Promise<void> {
  const { source } = options;
  if (databaseFileMissing(source)) {
    issues.push({ segments: ['source'], code: 'DATABASE_MISSING', message: `source ${label(source)} does not exist` });
    return;
  }
  const db = await connect(source, 'source', true, options.timeoutMs, issues);
  if (!db) return;
  try {
    let streams: SourceStream[];
    try {
      streams = await discoverStreams(db, regime);
    } catch (err) {
      if (!isScrapeError(err)) throw err;
      issues.push({ segments: [err.code === 'REGIME_CONTEXT' || err.code === 'REGIME_CAPTURE' ? 'context' : 'tables'], code: err.code, message: `source ${label(source)}: ${err.message}` });
      return;
    }
    const dialect = dialectOf(db);
    const mapping = new Map<string, Issue>();
    for (const stream of streams) {
      const decl = regime.tables[stream.declIndex];
      const tables = [...streamTables(stream), ...stream.joins.map((j) => j.table)];
      let readable = true;
      for (const table of tables) {
        readable = (await allowed(db, `SELECT * FROM ${quoteIdentifier(table, dialect)} WHERE 1 = 0`, ['source'], `source ${label(source)}: cannot SELECT from ${table}`, issues)) && readable;
      }
      if (!readable) continue;
      const missing = (declared: Record<string, string> | undefined, have: string[], where: Array<string | number>, table: string) => {
        for (const template of Object.keys(declared ?? {})) {
          const names = expandColumnNames(template).filter((n) => !have.includes(n));
          if (names.length) {
            issues.push({ segments: [...where, 'columns', template], useKey: true, code: 'SOURCE_SCHEMA', message: `source table ${table} has no column ${names.join(', ')}` });
          }
        }
      };
      missing(decl.columns, stream.mainColumns.map((c) => c.name), ['tables', stream.declIndex], stream.table);
      stream.joins.forEach((j, k) => missing(decl.join?.[k]?.columns, j.tableColumns, ['tables', stream.declIndex, 'join', k], j.table));
      // the checks scrape run makes on each stream; one message per place, naming the first table
      for (const issue of columnIssues(regime, specs, src, stream, `the columns of source table ${stream.table}: ${someNames(stream.columns.map((c) => c.name))}`)) {
        const key = JSON.stringify(issue.segments) + issue.code;
        if (!mapping.has(key)) mapping.set(key, issue);
      }
    }
    issues.push(...mapping.values());
  } finally {
    await db.destroy();
  }
}

async function targetIssues(regime: Regime, specs: Map<string, SpecTable>, options: ConnectionCheckOptions, issues: Issue[]): Promise<void> {
  const { target } = options;
  const sqlite = target.dialect === 'sqlite';
  if (sqlite) {
    if (target.filename === ':memory:') return;
    const file = target.filename!;
    // scrape run creates a missing file and its tables; it writes the file and, for its journal, the folder
    let dir = path.dirname(file);
    while (!fs.existsSync(dir) && path.dirname(dir) !== dir) dir = path.dirname(dir);
    for (const p of fs.existsSync(file) ? [file, path.dirname(file)] : [dir]) {
      try {
        fs.accessSync(p, fs.constants.W_OK);
      } catch {
        issues.push({ segments: ['target'], code: 'DATABASE_PRIVILEGE', message: `target ${label(target)}: ${p} is not writable` });
      }
    }
    if (!fs.existsSync(file)) return;
  }
  const db = await connect(target, 'target', sqlite, options.timeoutMs, issues);
  if (!db) return;
  const dialect = dialectOf(db);
  const q = (name: string) => quoteIdentifier(name, dialect);
  const where = `target ${label(target)}`;
  // the same connection for PREPARE and DEALLOCATE: the pool holds one
  const mayInsert = async (table: string, column: string, segments: Array<string | number>): Promise<void> => {
    if (sqlite) return;
    if (await allowed(db, `PREPARE scrape_validate FROM 'INSERT INTO ${q(table)} (${q(column)}) VALUES (?)'`, segments, `${where}: cannot INSERT into ${table}`, issues)) {
      await db.raw('DEALLOCATE PREPARE scrape_validate');
    }
  };
  const missingTable = (name: string, segments: Array<string | number>): void => {
    if (sqlite) return; // made by scrape run
    const code: ErrorCode = 'TARGET_TABLE_MISSING';
    if (target.production) issues.push({ segments, code, message: `${where} has no table ${name}; production tables are never created by scrape` });
    else issues.push({ segments, code, severity: 'warning', message: `${where} has no table ${name}: scrape run makes it only with --allow-drop-create-table (the user then needs CREATE)` });
  };
  try {
    for (const [k, spec] of regimeTargets(regime, specs)) {
      const segments = ['targets', k, 'spec'];
      for (const table of [spec.table, vldTableName(spec)]) {
        if (!(await db.schema.hasTable(table))) {
          missingTable(table, segments);
          continue;
        }
        if (!(await allowed(db, `SELECT * FROM ${q(table)} WHERE 1 = 0`, segments, `${where}: cannot SELECT from ${table}`, issues))) continue;
        await mayInsert(table, 'SEQNO', segments);
        if (table === spec.table) {
          const present = new Set(Object.keys(await db(table).columnInfo()).map((c) => c.toLowerCase()));
          const absent = ['SEQNO', 'ROW_COUNTER', ...spec.columns.map((c) => c.name)].filter((c) => !present.has(c.toLowerCase()));
          if (absent.length) issues.push({ segments, code: 'TARGET_SCHEMA', message: `table ${table} in ${where} lacks column(s) ${absent.join(', ')} of ${spec.file}` });
        }
      }
    }
    if (!(await db.schema.hasTable(LOCALSEQNO))) {
      missingTable(LOCALSEQNO, ['target']);
    } else if (await allowed(db, `SELECT * FROM ${q(LOCALSEQNO)} WHERE 1 = 0`, ['target'], `${where}: cannot SELECT from ${LOCALSEQNO}`, issues)) {
      await mayInsert(LOCALSEQNO, 'TABLENAME', ['target']);
      if (!sqlite && (await allowed(db, `PREPARE scrape_validate FROM 'UPDATE ${q(LOCALSEQNO)} SET ${q('LASTUSEDSEQNO')} = ? WHERE ${q('TABLENAME')} = ?'`, ['target'], `${where}: cannot UPDATE ${LOCALSEQNO}`, issues))) {
        await db.raw('DEALLOCATE PREPARE scrape_validate');
      }
    }
    // written with every validity when it exists
    if ((await db.schema.hasTable(SOURCE_IDS_TABLE)) && (await allowed(db, `SELECT * FROM ${q(SOURCE_IDS_TABLE)} WHERE 1 = 0`, ['target'], `${where}: cannot SELECT from ${SOURCE_IDS_TABLE}`, issues))) {
      await mayInsert(SOURCE_IDS_TABLE, 'TABLENAME', ['target']);
    }
    if ((await db.schema.hasTable(PROVENANCE_TABLE)) && (await allowed(db, `SELECT * FROM ${q(PROVENANCE_TABLE)} WHERE 1 = 0`, ['target'], `${where}: cannot SELECT from ${PROVENANCE_TABLE}`, issues))) {
      await mayInsert(PROVENANCE_TABLE, 'TABLENAME', ['target']);
    }
  } finally {
    await db.destroy();
  }
}

/** The regime's targets with their loaded specs, by index. */
function regimeTargets(regime: Regime, specs: Map<string, SpecTable>): Array<[number, SpecTable]> {
  return regime.targets.flatMap((t, k) => {
    const spec = specs.get(t.spec);
    return spec ? [[k, spec] as [number, SpecTable]] : [];
  });
}
