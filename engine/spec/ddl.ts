import { ScrapeError } from '../core/errors';
import { SPEC_DBTYPE, SpecColumn, SpecTable } from './spec-table';
import { SqlDialect, quoteIdentifier } from '../db/dialect';
import { checkSpecTypes } from './spec-type-problems';

/** Name of the shared SEQNO allocation table of a DBI database. */
export const LOCALSEQNO = 'LOCALSEQNO';

/** The context and bookkeeping columns of every `<Table>Vld`, in DBI order. */
export const VLD_COLUMNS = [
  'SEQNO',
  'TIMESTART',
  'TIMEEND',
  'SITEMASK',
  'SIMMASK',
  'SUBSITE',
  'TASK',
  'AGGREGATENO',
  'VERSIONDATE',
  'INSERTDATE',
] as const;

/** Name of the validity table of a spec (`DcsAdTemp` → `DcsAdTempVld`). */
export function vldTableName(spec: Pick<SpecTable, 'table'>): string {
  return `${spec.table}Vld`;
}

/**
 * Why a spec's table name may not be used, or undefined: `LOCALSEQNO` (the counters of every
 * table) and `SCRAPE_*` (the engine's own tables) are bookkeeping, and a payload or Vld table
 * of that name would drop, or write into, them. Case-insensitive: MySQL servers may fold names.
 */
export function reservedTableProblem(table: string): string | undefined {
  if (table.toUpperCase() === LOCALSEQNO) return `table name ${table} is the shared ${LOCALSEQNO} table of every DBI table`;
  if (/^SCRAPE_/i.test(table)) return `table name ${table} starts with SCRAPE_, reserved for the engine's bookkeeping tables`;
  return undefined;
}

/**
 * Why a set of specs may not be written together, or undefined: a reserved name
 * (`reservedTableProblem`), or one spec's table being another's validity table (`DcsFoo` and
 * `DcsFooVld`), which would share one table for two meanings.
 */
export function specTablesProblem(specs: readonly Pick<SpecTable, 'table' | 'file'>[]): string | undefined {
  for (const spec of specs) {
    const problem = reservedTableProblem(spec.table);
    if (problem) return `${spec.file}: ${problem}`;
    const other = specs.find((o) => vldTableName(o).toUpperCase() === spec.table.toUpperCase());
    if (other) return `${spec.file}: table ${spec.table} is the validity table of ${other.file}`;
  }
  return undefined;
}

/** Throws `SPEC_TABLE_RESERVED` when `specTablesProblem` finds one: before any statement runs. */
export function checkSpecTables(specs: readonly Pick<SpecTable, 'table' | 'file'>[]): void {
  const problem = specTablesProblem(specs);
  if (problem) throw new ScrapeError('SPEC_TABLE_RESERVED', problem);
}

/** SQL type of a spec attribute in `dialect`; SQLite keeps times as `YYYY-MM-DD HH:MM:SS` TEXT. */
export function columnSqlType(column: Pick<SpecColumn, 'name' | 'dbtype'>, dialect: SqlDialect): string {
  const dbtype = column.dbtype.toLowerCase().trim();
  if (!SPEC_DBTYPE.test(dbtype)) throw new ScrapeError('SPEC_DBTYPE', `column ${column.name}: unsupported dbtype '${column.dbtype}'`);
  if (dialect === 'mysql') return dbtype;
  const base = dbtype.replace(/ unsigned$/, '');
  if (/^(tinyint|smallint|int|integer|bigint)$/.test(base)) return 'INTEGER';
  if (/^(float|double)$/.test(base)) return 'REAL';
  if (/^decimal/.test(base)) return 'NUMERIC';
  return 'TEXT';
}

/** Bounds of MySQL's integer types (signed; unsigned from 0 to 2 × max + 1). */
const INTEGER_MAX: Record<string, number> = { tinyint: 127, smallint: 32767, int: 2147483647, integer: 2147483647 };

/**
 * Inclusive bounds of the values an integer dbtype holds in MySQL (`tinyint` → [-128, 127],
 * `tinyint unsigned` → [0, 255]); undefined for other types and `bigint` (beyond exact JS
 * numbers). Both dialects refuse a value outside them: MySQL by its strict session, SQLite (no
 * integer widths of its own) by a CHECK of the created column and the payload converter.
 */
export function integerRange(dbtype: string): readonly [number, number] | undefined {
  const t = dbtype.toLowerCase().trim();
  const unsigned = / unsigned$/.test(t);
  const max = INTEGER_MAX[t.replace(/ unsigned$/, '')];
  if (max === undefined) return undefined;
  return unsigned ? [0, 2 * max + 1] : [-max - 1, max];
}

/** Kind of JS value a column holds once read back (used to normalise driver output). */
export function columnValueKind(dbtype: string): 'integer' | 'float' | 'double' | 'decimal' | 'text' {
  const base = dbtype.toLowerCase().trim().replace(/ unsigned$/, '');
  if (/^(tinyint|smallint|int|integer|bigint)$/.test(base)) return 'integer';
  if (base === 'float') return 'float';
  if (base === 'double') return 'double';
  if (/^decimal/.test(base)) return 'decimal';
  return 'text';
}

/**
 * DDL of a DBI target table pair plus `LOCALSEQNO`: the payload table `<Table>` (SEQNO,
 * ROW_COUNTER, attributes; primary key (SEQNO, ROW_COUNTER)), its validity table `<Table>Vld`
 * with indexes for resume (context + TIMEEND), reads (context + TIMESTART) and status (context +
 * INSERTDATE), and the shared
 * `LOCALSEQNO` with its `('*', 0)` row. Every statement is idempotent (`IF NOT EXISTS`,
 * insert-or-ignore), so running them twice changes nothing. MySQL tables are InnoDB/utf8mb4;
 * SQLite integer and char columns CHECK their MySQL range and length (what a strict MySQL session
 * refuses); other values (a time that is no time, text in a float) SQLite keeps as given. A reserved table name is `SPEC_TABLE_RESERVED`,
 * a type MySQL would refuse (`specTypeProblems`) `SPEC_TYPE`, on both dialects.
 */
export function createTableStatements(spec: SpecTable, dialect: SqlDialect): string[] {
  checkSpecTables([spec]);
  checkSpecTypes([spec]);
  const q = (name: string) => quoteIdentifier(name, dialect);
  const table = spec.table;
  const vld = vldTableName(spec);
  // index names are per database in SQLite: prefix them with the table
  for (const suffix of ['_ctx_end', '_site_end', '_site_start', '_ctx_insert']) quoteIdentifier(`${vld}${suffix}`, dialect);
  const mysql = dialect === 'mysql';
  const tail = mysql ? ' ENGINE=InnoDB DEFAULT CHARSET=utf8mb4' : '';
  const int = mysql ? 'int' : 'INTEGER';
  const tinyint = mysql ? 'tinyint' : 'INTEGER';
  const datetime = mysql ? 'datetime' : 'TEXT';

  // SQLite has no integer widths nor string lengths: a CHECK refuses what a strict MySQL session refuses
  const bounds = (c: SpecColumn): string => {
    if (mysql) return '';
    const range = integerRange(c.dbtype);
    if (range) return ` CHECK (${q(c.name)} BETWEEN ${range[0]} AND ${range[1]})`;
    const length = /^(?:var)?char\((\d+)\)$/.exec(c.dbtype.toLowerCase().trim());
    return length ? ` CHECK (length(${q(c.name)}) <= ${length[1]})` : '';
  };
  const attributes = spec.columns.map((c) => `${q(c.name)} ${columnSqlType(c, dialect)}${bounds(c)}`);
  const payload =
    `CREATE TABLE IF NOT EXISTS ${q(table)} (${q('SEQNO')} ${int} NOT NULL, ${q('ROW_COUNTER')} ${int} NOT NULL, ` +
    `${attributes.join(', ')}, PRIMARY KEY (${q('SEQNO')}, ${q('ROW_COUNTER')}))${tail}`;

  const vldColumns = [
    `${q('SEQNO')} ${int} NOT NULL PRIMARY KEY`,
    `${q('TIMESTART')} ${datetime} NOT NULL`,
    `${q('TIMEEND')} ${datetime} NOT NULL`,
    `${q('SITEMASK')} ${tinyint}`,
    `${q('SIMMASK')} ${tinyint}`,
    `${q('SUBSITE')} ${int}`,
    `${q('TASK')} ${int}`,
    `${q('AGGREGATENO')} ${int}`,
    `${q('VERSIONDATE')} ${datetime} NOT NULL`,
    `${q('INSERTDATE')} ${datetime} NOT NULL`,
  ];
  const indexes: [string, string[]][] = [
    [`${vld}_ctx_end`, ['SITEMASK', 'SIMMASK', 'SUBSITE', 'TASK', 'AGGREGATENO', 'TIMEEND']],
    [`${vld}_site_end`, ['SITEMASK', 'SUBSITE', 'TIMEEND']],
    [`${vld}_site_start`, ['SITEMASK', 'SUBSITE', 'TIMESTART']],
    // `scrape status`: a context's writes of the last hour, an index range however old the context
    [`${vld}_ctx_insert`, ['SITEMASK', 'SIMMASK', 'SUBSITE', 'TASK', 'AGGREGATENO', 'INSERTDATE']],
  ];
  const statements: string[] = [payload];
  if (mysql) {
    const keys = indexes.map(([name, cols]) => `KEY ${q(name)} (${cols.map(q).join(', ')})`);
    statements.push(`CREATE TABLE IF NOT EXISTS ${q(vld)} (${[...vldColumns, ...keys].join(', ')})${tail}`);
  } else {
    statements.push(`CREATE TABLE IF NOT EXISTS ${q(vld)} (${vldColumns.join(', ')})`);
    for (const [name, cols] of indexes) statements.push(`CREATE INDEX IF NOT EXISTS ${q(name)} ON ${q(vld)} (${cols.map(q).join(', ')})`);
  }
  statements.push(...localSeqnoStatements(dialect));
  return statements;
}

/** DDL of the shared `LOCALSEQNO` table and its `('*', 0)` row (idempotent). */
export function localSeqnoStatements(dialect: SqlDialect): string[] {
  const q = (name: string) => quoteIdentifier(name, dialect);
  if (dialect === 'mysql') {
    return [
      `CREATE TABLE IF NOT EXISTS ${q(LOCALSEQNO)} (${q('TABLENAME')} char(64) NOT NULL DEFAULT '' PRIMARY KEY, ${q('LASTUSEDSEQNO')} int) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`,
      `INSERT IGNORE INTO ${q(LOCALSEQNO)} (${q('TABLENAME')}, ${q('LASTUSEDSEQNO')}) VALUES ('*', 0)`,
    ];
  }
  return [
    `CREATE TABLE IF NOT EXISTS ${q(LOCALSEQNO)} (${q('TABLENAME')} TEXT NOT NULL DEFAULT '' PRIMARY KEY, ${q('LASTUSEDSEQNO')} INTEGER)`,
    `INSERT OR IGNORE INTO ${q(LOCALSEQNO)} (${q('TABLENAME')}, ${q('LASTUSEDSEQNO')}) VALUES ('*', 0)`,
  ];
}

/**
 * Statements that drop a spec's payload and validity tables and forget its SEQNO counter
 * (`--drop-target-tables`); `LOCALSEQNO` itself stays, other tables share it, and a reserved
 * name (`reservedTableProblem`) is refused before anything is dropped.
 */
export function dropTableStatements(spec: SpecTable, dialect: SqlDialect): string[] {
  checkSpecTables([spec]);
  const q = (name: string) => quoteIdentifier(name, dialect);
  return [`DROP TABLE IF EXISTS ${q(spec.table)}`, `DROP TABLE IF EXISTS ${q(vldTableName(spec))}`];
}

/**
 * Name of the shared side table of a DBI target where the scraper keeps, per written validity,
 * which source rows it had read when it wrote it (late-row detection, provenance). Reserved by
 * the `SCRAPE_` prefix, so no spec table can take it.
 */
export const SOURCE_IDS_TABLE = 'SCRAPE_SOURCE_IDS';

/** Columns of `SCRAPE_SOURCE_IDS`, in insert order. */
export const SOURCE_IDS_COLUMNS = ['TABLENAME', 'SEQNO', 'SOURCE_TABLE', 'MAX_ID', 'FIRST_ID', 'LAST_ID', 'FIRST_TIME', 'LAST_TIME'] as const;

/**
 * DDL of `SCRAPE_SOURCE_IDS` (idempotent): one row per validity written by a stream — the
 * target payload table (`TABLENAME`) and its `SEQNO`, the source table of the stream, the highest
 * source `id` the stream had read when it decided the validity (`MAX_ID`: a source row dated
 * before `LAST_TIME` with a larger id was not read, it came late), and the ids and source-local
 * `date_time`s of the entries that are the validity's TIMESTART and TIMEEND. Primary key
 * (TABLENAME, SEQNO); index (TABLENAME, SOURCE_TABLE, SEQNO) finds a stream's latest row.
 * One shared table, not one per target: no name of a spec table can collide with it.
 */
export function sourceIdsStatements(dialect: SqlDialect): string[] {
  const q = (name: string) => quoteIdentifier(name, dialect);
  const t = q(SOURCE_IDS_TABLE);
  const index = q(`${SOURCE_IDS_TABLE}_stream`);
  if (dialect === 'mysql') {
    return [
      `CREATE TABLE IF NOT EXISTS ${t} (${q('TABLENAME')} varchar(64) NOT NULL, ${q('SEQNO')} int NOT NULL, ${q('SOURCE_TABLE')} varchar(64) NOT NULL, ` +
        `${q('MAX_ID')} bigint NOT NULL, ${q('FIRST_ID')} bigint NOT NULL, ${q('LAST_ID')} bigint NOT NULL, ${q('FIRST_TIME')} datetime NOT NULL, ${q('LAST_TIME')} datetime NOT NULL, ` +
        `PRIMARY KEY (${q('TABLENAME')}, ${q('SEQNO')}), KEY ${index} (${q('TABLENAME')}, ${q('SOURCE_TABLE')}, ${q('SEQNO')})) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`,
    ];
  }
  return [
    `CREATE TABLE IF NOT EXISTS ${t} (${q('TABLENAME')} TEXT NOT NULL, ${q('SEQNO')} INTEGER NOT NULL, ${q('SOURCE_TABLE')} TEXT NOT NULL, ` +
      `${q('MAX_ID')} INTEGER NOT NULL, ${q('FIRST_ID')} INTEGER NOT NULL, ${q('LAST_ID')} INTEGER NOT NULL, ${q('FIRST_TIME')} TEXT NOT NULL, ${q('LAST_TIME')} TEXT NOT NULL, ` +
      `PRIMARY KEY (${q('TABLENAME')}, ${q('SEQNO')}))`,
    `CREATE INDEX IF NOT EXISTS ${index} ON ${t} (${q('TABLENAME')}, ${q('SOURCE_TABLE')}, ${q('SEQNO')})`,
  ];
}

/**
 * Name of the shared side table where the writer keeps, per written validity, why it was written
 * (provenance): one row per (TABLENAME, SEQNO), in the same transaction as the validity. Shared,
 * like `SCRAPE_SOURCE_IDS`, and reserved by the `SCRAPE_` prefix.
 */
export const PROVENANCE_TABLE = 'SCRAPE_PROVENANCE';

/** Columns of `SCRAPE_PROVENANCE`, in insert order. */
export const PROVENANCE_COLUMNS = [
  'TABLENAME', 'SEQNO', 'REASON', 'FIRED', 'SOURCE_TABLE', 'FIRST_ID', 'LAST_ID', 'FIRST_TIME', 'LAST_TIME',
  'SAMPLES', 'ROWS_SEEN', 'SUPPRESSED', 'REGIME_HASH', 'ENGINE_VERSION',
] as const;

/**
 * DDL of `SCRAPE_PROVENANCE` (idempotent): per validity (`TABLENAME`, `SEQNO`, primary key) its
 * `REASON` (`changed`, `overage`, `seed`, `bin`), the change rules that fired (`FIRED`, JSON
 * `[{"rule": i, "columns": [...]}]`, NULL unless `changed`), the source table, the ids and
 * source-local times of the entries at TIMESTART and TIMEEND, the samples decided and the rows
 * seen in `[FIRST_TIME, LAST_TIME)`, what the deadband suppressed (`SUPPRESSED`, JSON of parallel
 * arrays `{"columns", "n", "maxdev", "min", "max"}` over the samples decided `unchanged`,
 * deviations from sv[0]; `suppressedJson`; versions before wrote `{column: {"n", …}}`), the sha256 of the regime's canonical JSON and the engine version. NULL where a reason
 * has no such thing (a seed has no source rows).
 */
export function provenanceStatements(dialect: SqlDialect): string[] {
  const q = (name: string) => quoteIdentifier(name, dialect);
  const t = q(PROVENANCE_TABLE);
  if (dialect === 'mysql') {
    return [
      `CREATE TABLE IF NOT EXISTS ${t} (${q('TABLENAME')} varchar(64) NOT NULL, ${q('SEQNO')} int NOT NULL, ${q('REASON')} varchar(16) NOT NULL, ${q('FIRED')} text NULL, ` +
        `${q('SOURCE_TABLE')} varchar(64) NULL, ${q('FIRST_ID')} bigint NULL, ${q('LAST_ID')} bigint NULL, ${q('FIRST_TIME')} datetime NULL, ${q('LAST_TIME')} datetime NULL, ` +
        `${q('SAMPLES')} int NULL, ${q('ROWS_SEEN')} int NULL, ${q('SUPPRESSED')} mediumtext NULL, ${q('REGIME_HASH')} char(64) NOT NULL, ${q('ENGINE_VERSION')} varchar(32) NOT NULL, ` +
        `PRIMARY KEY (${q('TABLENAME')}, ${q('SEQNO')})) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`,
    ];
  }
  return [
    `CREATE TABLE IF NOT EXISTS ${t} (${q('TABLENAME')} TEXT NOT NULL, ${q('SEQNO')} INTEGER NOT NULL, ${q('REASON')} TEXT NOT NULL, ${q('FIRED')} TEXT, ` +
      `${q('SOURCE_TABLE')} TEXT, ${q('FIRST_ID')} INTEGER, ${q('LAST_ID')} INTEGER, ${q('FIRST_TIME')} TEXT, ${q('LAST_TIME')} TEXT, ` +
      `${q('SAMPLES')} INTEGER, ${q('ROWS_SEEN')} INTEGER, ${q('SUPPRESSED')} TEXT, ${q('REGIME_HASH')} TEXT NOT NULL, ${q('ENGINE_VERSION')} TEXT NOT NULL, ` +
      `PRIMARY KEY (${q('TABLENAME')}, ${q('SEQNO')}))`,
  ];
}

/**
 * Name of the shared side table where the writer keeps, per DBI table, the longest validity it
 * holds: what lets `scrape query --at` read only the TIMESTART range that can cover a time.
 * Shared and reserved by the `SCRAPE_` prefix, like `SCRAPE_SOURCE_IDS`.
 */
export const VLD_SPAN_TABLE = 'SCRAPE_VLD_SPAN';

/**
 * DDL of `SCRAPE_VLD_SPAN` (idempotent): per DBI table (`TABLENAME`, its payload table's name as
 * in `LOCALSEQNO`; primary key) `MAX_SPAN_SECONDS`, at least the longest `TIMEEND − TIMESTART` of
 * the validities of `<TABLENAME>Vld` with a SEQNO up to `SEQNO_COVERED`. A validity with a larger
 * SEQNO (written by another tool) is not accounted for: readers look at those themselves.
 */
export function vldSpanStatements(dialect: SqlDialect): string[] {
  const q = (name: string) => quoteIdentifier(name, dialect);
  const t = q(VLD_SPAN_TABLE);
  if (dialect === 'mysql') {
    return [
      `CREATE TABLE IF NOT EXISTS ${t} (${q('TABLENAME')} varchar(64) NOT NULL PRIMARY KEY, ${q('MAX_SPAN_SECONDS')} bigint NOT NULL, ${q('SEQNO_COVERED')} int NOT NULL) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`,
    ];
  }
  return [`CREATE TABLE IF NOT EXISTS ${t} (${q('TABLENAME')} TEXT NOT NULL PRIMARY KEY, ${q('MAX_SPAN_SECONDS')} INTEGER NOT NULL, ${q('SEQNO_COVERED')} INTEGER NOT NULL)`];
}
