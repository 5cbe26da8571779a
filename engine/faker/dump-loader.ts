import * as fs from 'fs';
import { StringDecoder } from 'string_decoder';
import { createGunzip } from 'zlib';
import { Knex } from 'knex';
import { ScrapeError } from '../core/errors';
import { DumpStatementSplitter } from './dump-statement-splitter';
import { DumpValue, parseDropTable, parseInsertStatement, sqliteName, stripExecutableComments, translateCreateTable } from './mysql-to-sqlite';
import { RawConnection, SqlDialect, dialectOf, withRawConnection } from '../db/dialect';

/** How far a dump load has got (reported once per chunk read). */
export interface DumpProgress {
  /** Bytes of the file read so far. */
  bytes: number;
  totalBytes: number;
  statements: number;
  rows: number;
}

/** What a dump load did. */
export interface DumpLoadResult {
  statements: number;
  /** Rows inserted per table. */
  rows: Record<string, number>;
  /** Tables created (in order). */
  created: string[];
  /** Statements skipped or not understood, one line each (deduplicated). */
  warnings: string[];
  bytes: number;
  elapsedMs: number;
}

/** Options of `loadDump`. */
export interface LoadDumpOptions {
  /** A mysqldump file (`.sql`, or `.sql.gz`). */
  file: string;
  db: Knex;
  /** Defaults to the dialect of `db`. */
  dialect?: SqlDialect;
  onProgress?: (progress: DumpProgress) => void;
  /** Only statements about these tables are run (plus session `SET`s); all when omitted. */
  tables?: string[];
  /** Skip `DROP TABLE` statements (create missing tables without touching existing ones). */
  keepExisting?: boolean;
  signal?: AbortSignal;
}

const CHUNK = 1 << 20;
/** SQLite rows per transaction. */
const SQLITE_COMMIT_ROWS = 50_000;

type Kind = 'insert' | 'create' | 'drop' | 'skip' | 'database' | 'other';

function classify(sql: string): { kind: Kind; table?: string } {
  const bare = stripExecutableComments(sql);
  if (!bare) return { kind: 'skip' };
  const word = /^\s*(\w+)(?:\s+(\w+))?/.exec(bare);
  const first = word?.[1].toUpperCase() ?? '';
  const second = word?.[2]?.toUpperCase() ?? '';
  const tableAfter = (re: RegExp): string | undefined => {
    const m = re.exec(bare);
    if (!m) return undefined;
    const name = m[1];
    return name.startsWith('`') ? name.slice(1, -1).replace(/``/g, '`') : name;
  };
  if (first === 'INSERT' || first === 'REPLACE') {
    return { kind: 'insert', table: tableAfter(/^(?:INSERT|REPLACE)\s+(?:(?:LOW_PRIORITY|DELAYED|HIGH_PRIORITY)\s+)?(?:IGNORE\s+)?(?:INTO\s+)?(`(?:[^`]|``)+`|[\w$]+)/i) };
  }
  if (first === 'CREATE' && /^CREATE\s+(?:TEMPORARY\s+)?TABLE\b/i.test(bare)) {
    return { kind: 'create', table: tableAfter(/^CREATE\s+(?:TEMPORARY\s+)?TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?(`(?:[^`]|``)+`|[\w$]+)/i) };
  }
  if (first === 'DROP' && /^DROP\s+(?:TEMPORARY\s+)?TABLE\b/i.test(bare)) {
    return { kind: 'drop', table: tableAfter(/^DROP\s+(?:TEMPORARY\s+)?TABLE\s+(?:IF\s+EXISTS\s+)?(`(?:[^`]|``)+`|[\w$]+)/i) };
  }
  if (first === 'USE' || ((first === 'CREATE' || first === 'DROP') && (second === 'DATABASE' || second === 'SCHEMA'))) return { kind: 'database' };
  if (first === 'LOCK' || first === 'UNLOCK' || first === 'SET' || first === 'START' || first === 'BEGIN' || first === 'COMMIT') return { kind: 'skip' };
  if (first === 'ALTER') {
    const t = tableAfter(/^ALTER\s+TABLE\s+(`(?:[^`]|``)+`|[\w$]+)/i);
    if (/\b(DISABLE|ENABLE)\s+KEYS\s*$/i.test(bare)) return { kind: 'skip', table: t };
    return { kind: 'other', table: t };
  }
  return { kind: 'other' };
}

/** Statement texts of a dump file, read by chunks (never the whole file), with byte progress. */
async function* dumpStatements(file: string, progress: (bytes: number) => void, signal?: AbortSignal): AsyncGenerator<string> {
  const raw = fs.createReadStream(file, { highWaterMark: CHUNK });
  let bytes = 0;
  const source: AsyncIterable<Buffer> = /\.gz$/i.test(file) ? raw.pipe(createGunzip()) : raw;
  if (source !== raw) raw.on('data', (b) => (bytes += (b as Buffer).length));
  const decoder = new StringDecoder('utf8');
  const splitter = new DumpStatementSplitter();
  try {
    for await (const chunk of source) {
      if (signal?.aborted) throw new ScrapeError('DUMP_ABORTED', `load of ${file} interrupted`);
      if (source === raw) bytes += chunk.length;
      for (const statement of splitter.push(decoder.write(chunk))) yield statement;
      progress(bytes);
    }
    for (const statement of splitter.push(decoder.end())) yield statement;
    for (const statement of splitter.end()) yield statement;
  } finally {
    raw.destroy();
  }
}

/**
 * Loads a mysqldump file into a database, streaming: DDL and data dumps, `--no-data` and
 * `--no-create-info` (append) dumps, extended INSERTs with MySQL quoting and escapes. On MySQL
 * each statement runs as it is on one session whose `sql_mode` admits `0000-00-00` dates (`USE`
 * and `CREATE/DROP DATABASE` are skipped: the load stays in the given database). On SQLite the
 * DDL is translated, `SET`/`LOCK TABLES` are ignored and rows are inserted in batched
 * transactions; zero dates are kept as the text they are. Memory stays flat whatever the size.
 */
export async function loadDump(options: LoadDumpOptions): Promise<DumpLoadResult> {
  const started = Date.now();
  if (!fs.existsSync(options.file)) throw new ScrapeError('DUMP_NOT_FOUND', `no dump file ${options.file}`);
  const totalBytes = fs.statSync(options.file).size;
  const dialect = options.dialect ?? dialectOf(options.db);
  const only = options.tables ? new Set(options.tables) : undefined;
  const result: DumpLoadResult = { statements: 0, rows: {}, created: [], warnings: [], bytes: 0, elapsedMs: 0 };
  const warned = new Set<string>();
  const warn = (text: string) => {
    if (!warned.has(text)) {
      warned.add(text);
      result.warnings.push(text);
    }
  };
  let totalRows = 0;
  const onBytes = (bytes: number) => {
    result.bytes = bytes;
    options.onProgress?.({ bytes, totalBytes, statements: result.statements, rows: totalRows });
  };
  await withRawConnection(options.db, async (conn) => {
    const run = dialect === 'mysql' ? mysqlRunner(conn) : sqliteRunner(conn);
    await run.begin();
    try {
      for await (const sql of dumpStatements(options.file, onBytes, options.signal)) {
        result.statements++;
        const { kind, table } = classify(sql);
        if (only && table !== undefined && !only.has(table)) continue;
        if (kind === 'database') {
          warn(`skipped (the load stays in the chosen database): ${sql.slice(0, 60)}`);
          continue;
        }
        if (kind === 'drop' && options.keepExisting) continue;
        const rows = await run.statement(sql, kind, table, warn, result);
        if (rows && table !== undefined) {
          result.rows[table] = (result.rows[table] ?? 0) + rows;
          totalRows += rows;
        }
      }
      await run.end();
    } catch (err) {
      await run.abort();
      throw err instanceof ScrapeError ? err : new ScrapeError('DUMP_LOAD', `loading ${options.file}: ${(err as Error).message}`, { cause: err });
    }
  });
  result.elapsedMs = Date.now() - started;
  return result;
}

interface Runner {
  begin(): Promise<void>;
  statement(sql: string, kind: Kind, table: string | undefined, warn: (text: string) => void, result: DumpLoadResult): Promise<number>;
  end(): Promise<void>;
  abort(): Promise<void>;
}

function countTuples(sql: string): number {
  // rows of an extended insert: count "),(" boundaries outside strings cheaply via the parser
  return parseInsertStatement(sql).rows.length;
}

function mysqlRunner(conn: RawConnection): Runner {
  let savedMode = '';
  const restore = async () => {
    await conn.query(`SET SESSION sql_mode = '${savedMode.replace(/'/g, '')}'`);
    await conn.query("SET time_zone = '+00:00'");
    await conn.query('SET NAMES utf8mb4');
    await conn.query('SET SESSION foreign_key_checks = 1, unique_checks = 1');
  };
  return {
    async begin() {
      const rows = await conn.query('SELECT @@SESSION.sql_mode AS mode');
      savedMode = String(rows[0].mode ?? '');
      const relaxed = savedMode
        .split(',')
        .filter((m) => m && !/^(NO_ZERO_DATE|NO_ZERO_IN_DATE|STRICT_TRANS_TABLES|STRICT_ALL_TABLES|TRADITIONAL)$/i.test(m))
        .join(',');
      await conn.query(`SET SESSION sql_mode = '${relaxed}'`);
    },
    async statement(sql, kind, table, _warn, result) {
      const res = await conn.query(sql);
      if (kind === 'create' && table !== undefined) result.created.push(table);
      if (kind === 'insert') return typeof res?.affectedRows === 'number' && /^\s*INSERT/i.test(sql) ? res.affectedRows : countTuples(sql);
      return 0;
    },
    async end() {
      await conn.query('UNLOCK TABLES');
      await restore();
    },
    async abort() {
      try {
        await conn.query('UNLOCK TABLES');
        await restore();
      } catch {
        /* the error being raised matters more */
      }
    },
  };
}

function sqliteRunner(conn: RawConnection): Runner {
  const db = conn.sqlite;
  const prepared = new Map<string, any>();
  let inTransaction = false;
  let pending = 0;
  const commit = () => {
    if (inTransaction) db.exec('COMMIT');
    inTransaction = false;
    pending = 0;
  };
  const tableColumns = new Map<string, number>();
  return {
    async begin() {
      /* transactions open at the first insert */
    },
    async statement(sql, kind, _table, warn, result) {
      switch (kind) {
        case 'skip':
          return 0;
        case 'drop': {
          commit();
          const { ifExists, tables } = parseDropTable(sql);
          for (const t of tables) db.exec(`DROP TABLE ${ifExists ? 'IF EXISTS ' : ''}${sqliteName(t)}`);
          prepared.clear();
          tableColumns.clear();
          return 0;
        }
        case 'create': {
          commit();
          const { table, statements } = translateCreateTable(sql);
          for (const s of statements) db.exec(s);
          prepared.clear();
          tableColumns.clear();
          result.created.push(table);
          return 0;
        }
        case 'insert': {
          const ins = parseInsertStatement(sql);
          if (!ins.rows.length) return 0;
          const width = ins.rows[0].length;
          const key = `${ins.verb}\u0000${ins.table}\u0000${ins.columns?.join('\u0000') ?? ''}\u0000${width}`;
          let stmt = prepared.get(key);
          if (!stmt) {
            const cols = ins.columns ? ` (${ins.columns.map(sqliteName).join(', ')})` : '';
            stmt = db.prepare(`${ins.verb} INTO ${sqliteName(ins.table)}${cols} VALUES (${new Array(width).fill('?').join(', ')})`);
            prepared.set(key, stmt);
          }
          if (!ins.columns) {
            let n = tableColumns.get(ins.table);
            if (n === undefined) {
              n = (db.prepare(`PRAGMA table_info(${sqliteName(ins.table)})`).all() as unknown[]).length;
              tableColumns.set(ins.table, n);
            }
            if (n !== width) throw new ScrapeError('DUMP_COLUMNS', `INSERT INTO ${ins.table}: rows have ${width} values, the table has ${n} columns`);
          }
          if (!inTransaction) {
            db.exec('BEGIN');
            inTransaction = true;
          }
          for (const row of ins.rows) {
            if (row.length !== width) throw new ScrapeError('DUMP_COLUMNS', `INSERT INTO ${ins.table}: rows of ${width} and ${row.length} values in one statement`);
            stmt.run(row as DumpValue[]);
          }
          pending += ins.rows.length;
          if (pending >= SQLITE_COMMIT_ROWS) commit();
          return ins.rows.length;
        }
        default:
          warn(`ignored on SQLite: ${stripExecutableComments(sql).slice(0, 60)}`);
          return 0;
      }
    },
    async end() {
      commit();
    },
    async abort() {
      if (inTransaction) db.exec('ROLLBACK');
      inTransaction = false;
    },
  };
}
