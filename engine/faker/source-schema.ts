import { Knex } from 'knex';
import { ScrapeError } from '../core/errors';
import { ColumnTypes, Regime, TableDecl } from '../config/regime';
import { sqliteType } from './mysql-to-sqlite';
import { SqlDialect, quoteIdentifier } from '../db/dialect';
import { listColumns, tableExists } from '../db/introspection';
import { namedGroupSources, templateRegex } from '../source/source-stream';

/** SQL dialects a fake source can live in. */

/** A column the faker writes (besides `id` and `date_time`). */
export interface FakeColumn {
  /** Name in the table itself. */
  name: string;
  /** Declared SQL type, lower case (`decimal(6,2)`, `tinyint`, `varchar(16)`...). */
  type: string;
  /** Name as rows of the stream show it (join prefix + name): what `faker.columns` regexes match. */
  key: string;
}

/** A concrete table the faker writes; a main table carries its joined tables (same ids and times). */
export interface FakeTable {
  name: string;
  columns: FakeColumn[];
  /** Named captures of the regime pattern the table matched. */
  captures: Record<string, string>;
  /** Prefix of the columns in rows of the stream (`pw_` for a joined table, `` for a main one). */
  prefix: string;
  /** Tables joined on `id` to this one (empty for joined tables themselves). */
  joins: FakeTable[];
  /**
   * A joined table declared by candidate spellings: every candidate name, `name` the first. The
   * faker writes the one that exists in the source (`useExistingCandidates`), else creates `name`.
   */
  candidates?: string[];
}

const COLUMN_TYPE = /^(tinyint|smallint|mediumint|int|integer|bigint|float|double|real|decimal\(\d+,\d+\)|numeric\(\d+,\d+\)|varchar\(\d+\)|char\(\d+\)|text|datetime)( unsigned)?$/;


/**
 * Expands `{a..b}` ranges in a column-name template, leftmost range varying slowest:
 * `L{1..8}C{1..3}R{1..8}` gives the 192 names `L1C1R1, L1C1R2, …, L8C3R8` in that order.
 */
export function expandColumnNames(template: string): string[] {
  const m = /\{(\d+)\.\.(\d+)\}/.exec(template);
  if (!m) return [template];
  const from = Number(m[1]);
  const to = Number(m[2]);
  if (to < from) throw new ScrapeError('REGIME_COLUMNS', `column range '${m[0]}' in '${template}' runs backwards`);
  const head = template.slice(0, m.index);
  const tail = template.slice(m.index + m[0].length);
  const out: string[] = [];
  for (let i = from; i <= to; i++) for (const rest of expandColumnNames(tail)) out.push(`${head}${i}${rest}`);
  return out;
}

/** Declared columns (`name-with-ranges: type`) as concrete columns, in declaration order, prefixed keys. */
export function expandColumns(types: ColumnTypes | undefined, prefix = ''): FakeColumn[] {
  const out: FakeColumn[] = [];
  const seen = new Set<string>();
  for (const [template, rawType] of Object.entries(types ?? {})) {
    const type = String(rawType).trim().toLowerCase().replace(/\s+/g, ' ');
    if (!COLUMN_TYPE.test(type)) throw new ScrapeError('REGIME_COLUMNS', `column '${template}': unsupported type '${rawType}'`);
    for (const name of expandColumnNames(template)) {
      if (name === 'id' || name === 'date_time') throw new ScrapeError('REGIME_COLUMNS', `column '${name}' is implicit: every source table has id and date_time`);
      if (seen.has(name)) throw new ScrapeError('REGIME_COLUMNS', `column '${name}' declared twice`);
      seen.add(name);
      out.push({ name, type, key: prefix + name });
    }
  }
  return out;
}

function matchDecl(decl: TableDecl, name: string): Record<string, string> | undefined {
  if (decl.name !== undefined) return decl.name === name ? {} : undefined;
  const m = new RegExp(decl.pattern!).exec(name);
  if (!m || m[0] !== name || m.index !== 0) return undefined;
  return { ...(m.groups ?? {}) };
}

/** The captures of `name` as an older name of a succession of `decl` (`DBNS_AD1_HV` of `..._HV_Vmon`), else undefined. */
function matchOlderName(decl: TableDecl, name: string): Record<string, string> | undefined {
  const groups = decl.pattern !== undefined ? namedGroupSources(decl.pattern) : {};
  for (const template of decl.succession ?? []) {
    const m = templateRegex(template, groups).exec(name);
    if (m) return { ...(m.groups ?? {}) };
  }
  return undefined;
}

function fillTemplate(template: string, captures: Record<string, string>, table: string): string {
  return template.replace(/\{(\w+)\}/g, (_whole, key: string) => {
    if (!(key in captures)) throw new ScrapeError('REGIME_CAPTURE', `join template '${template}' names {${key}}, which table ${table} does not capture`);
    return captures[key];
  });
}

/**
 * The concrete tables the faker writes: `faker.tables` when given (each must match a name or
 * pattern of `tables[]`, or an older name of a succession), else the regime's exact `tables[].name`s. Joined tables come from the
 * `join[].table` templates filled with the main table's captures. `only` narrows the list
 * (`--tables a,b`).
 */
export function fakeTables(regime: Regime, only?: string[]): FakeTable[] {
  let names = regime.faker.tables;
  if (!names || names.length === 0) {
    names = regime.tables.filter((t) => t.name !== undefined).map((t) => t.name!);
    if (names.length === 0) {
      throw new ScrapeError('FAKER_TABLES', `regime ${regime.name} declares its tables by pattern only: list the concrete tables to fake in faker.tables`);
    }
  }
  if (only && only.length) {
    const unknown = only.filter((n) => !names!.includes(n));
    if (unknown.length) throw new ScrapeError('FAKER_TABLES', `--tables: ${unknown.join(', ')} not among the faked tables (${names.join(', ')})`);
    names = names.filter((n) => only.includes(n));
  }
  const out: FakeTable[] = [];
  for (const name of names) {
    quoteIdentifier(name, 'mysql');
    let found: { decl: TableDecl; captures: Record<string, string> } | undefined;
    for (const decl of regime.tables) {
      const captures = matchDecl(decl, name);
      if (captures) {
        found = { decl, captures };
        break;
      }
    }
    // an older name of a table succession is faked like the table it was renamed to
    for (const decl of found ? [] : regime.tables) {
      const captures = matchOlderName(decl, name);
      if (captures) {
        found = { decl, captures };
        break;
      }
    }
    if (!found) throw new ScrapeError('FAKER_TABLES', `faker table ${name} matches no name or pattern of the regime's tables`);
    const joins = (found.decl.join ?? []).map((j): FakeTable => {
      const candidates = [...new Set((Array.isArray(j.table) ? j.table : [j.table]).map((t) => fillTemplate(t, found!.captures, name)))];
      for (const c of candidates) quoteIdentifier(c, 'mysql');
      return { name: candidates[0], columns: expandColumns(j.columns, j.prefix), captures: found!.captures, prefix: j.prefix, joins: [], ...(candidates.length > 1 ? { candidates } : {}) };
    });
    out.push({ name, columns: expandColumns(found.decl.columns), captures: found.captures, prefix: '', joins });
  }
  return out;
}

/**
 * Joined tables declared by candidate spellings, each named as the candidate that already exists
 * in the source (a dump holding `DBNS_AD1_HVPw` beside `DBNS_AD2_HV_Pw`), the first candidate when
 * none does; two existing is `SOURCE_JOIN_AMBIGUOUS`, as for the scraper.
 */
export function useExistingCandidates(tables: FakeTable[], existing: Set<string>): FakeTable[] {
  return tables.map((t) => ({
    ...t,
    joins: t.joins.map((j) => {
      if (!j.candidates) return j;
      const found = j.candidates.filter((c) => existing.has(c));
      if (found.length > 1) throw new ScrapeError('SOURCE_JOIN_AMBIGUOUS', `table ${t.name}: joined tables ${found.join(' and ')} both exist; the join's candidate names must leave exactly one`);
      return { ...j, name: found[0] ?? j.name };
    }),
  }));
}

/** Main tables followed by their joined tables, each once. */
export function flattenTables(tables: FakeTable[]): FakeTable[] {
  const out: FakeTable[] = [];
  const seen = new Set<string>();
  for (const t of tables) {
    for (const x of [t, ...t.joins]) {
      if (!seen.has(x.name)) {
        seen.add(x.name);
        out.push(x);
      }
    }
  }
  return out;
}

/** SQL type of a declared column in `dialect`: MySQL keeps it, SQLite gets a type of the matching affinity (see `sqliteType`). */
export function sourceColumnType(type: string, dialect: SqlDialect): string {
  return dialect === 'mysql' ? type : sqliteType(type);
}

/** The DDL of one fake source table: `id` auto-increment key, `date_time`, declared columns, index on (date_time, id). */
export function createTableStatements(table: FakeTable, dialect: SqlDialect, ifNotExists = true): string[] {
  const q = (n: string) => quoteIdentifier(n, dialect);
  const cols = table.columns.map((c) => `  ${q(c.name)} ${sourceColumnType(c.type, dialect)}`);
  const ine = ifNotExists ? 'IF NOT EXISTS ' : '';
  const index = `${table.name}_dt_id`.slice(0, 64);
  if (dialect === 'sqlite') {
    return [
      `CREATE TABLE ${ine}${q(table.name)} (\n  "id" INTEGER PRIMARY KEY,\n  "date_time" TEXT NOT NULL${cols.length ? ',\n' + cols.join(',\n') : ''}\n)`,
      `CREATE INDEX ${ine}${q(index)} ON ${q(table.name)} ("date_time", "id")`,
    ];
  }
  return [
    `CREATE TABLE ${ine}${q(table.name)} (\n  \`id\` int unsigned NOT NULL AUTO_INCREMENT PRIMARY KEY,\n  \`date_time\` datetime NOT NULL${cols.length ? ',\n' + cols.join(',\n') : ''},\n  KEY ${q(index)} (\`date_time\`, \`id\`)\n) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`,
  ];
}

/**
 * Creates the fake source tables (main and joined) from the columns the regime declares;
 * with `drop` they are dropped first (the caller has checked the database is a fake one),
 * else existing tables are left as they are.
 */
export async function createSourceTables(db: Knex, dialect: SqlDialect, tables: FakeTable[], options: { drop?: boolean } = {}): Promise<string[]> {
  const created: string[] = [];
  for (const table of flattenTables(tables)) {
    if (options.drop) await db.raw(`DROP TABLE IF EXISTS ${quoteIdentifier(table.name, dialect)}`);
    else if (await tableExists(db, table.name)) continue;
    for (const sql of createTableStatements(table, dialect)) await db.raw(sql);
    created.push(table.name);
  }
  return created;
}

/** The columns of an existing table besides `id` and `date_time` (name and declared type, lower case). */
export async function readTableColumns(db: Knex, table: string): Promise<{ name: string; type: string }[]> {
  return (await listColumns(db, table)).filter((c) => c.name !== 'id' && c.name !== 'date_time');
}
