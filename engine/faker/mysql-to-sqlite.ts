import { ScrapeError } from '../core/errors';

/** A value of a dump's INSERT as bound to SQLite. */
export type DumpValue = string | number | bigint | Buffer | null;

/** An `INSERT`/`REPLACE` statement of a dump, its values parsed. */
export interface ParsedInsert {
  verb: 'INSERT' | 'INSERT OR IGNORE' | 'INSERT OR REPLACE';
  table: string;
  /** Column list when the statement has one (`--complete-insert`), else undefined. */
  columns?: string[];
  rows: DumpValue[][];
}

/** Quotes any identifier for SQLite (dump names are taken as they are, `"` doubled). */
export function sqliteName(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/**
 * A MySQL column type as an SQLite column type with the matching affinity (INTEGER, REAL,
 * NUMERIC, TEXT or BLOB). Numeric types keep their MySQL spelling (`decimal(6,2)`, `int(10)
 * unsigned`), which SQLite maps to the same affinity, so the scale stays readable from the schema
 * on both dialects; every other type becomes its affinity keyword.
 */
export function sqliteType(mysqlType: string): string {
  const base = mysqlType.toLowerCase().trim().replace(/\s+/g, ' ');
  if (/^(tinyint|smallint|mediumint|int|integer|bigint)(\(\d+\))?( unsigned)?( zerofill)?$/.test(base)) return base;
  if (/^(float|double|real)(\(\d+(,\d+)?\))?( unsigned)?( zerofill)?$/.test(base)) return base;
  if (/^(decimal|numeric)(\(\d+(,\d+)?\))?( unsigned)?( zerofill)?$/.test(base)) return base;
  if (/^(tinyint|smallint|mediumint|int|integer|bigint|bit|bool|boolean|year)\b/.test(base)) return 'INTEGER';
  if (/^(float|double|real)\b/.test(base)) return 'REAL';
  if (/^(decimal|numeric|dec|fixed)\b/.test(base)) return 'NUMERIC';
  if (/^(tinyblob|blob|mediumblob|longblob|binary|varbinary|geometry|point)\b/.test(base)) return 'BLOB';
  return 'TEXT';
}

/** Removes MySQL executable comments `/*!NNNNN … *\/` (outside string literals). */
export function stripExecutableComments(sql: string): string {
  let out = '';
  let i = 0;
  let quote = '';
  let start = 0;
  while (i < sql.length) {
    const c = sql[i];
    if (quote) {
      if (c === '\\' && quote !== '`') i += 2;
      else {
        if (c === quote) quote = '';
        i++;
      }
      continue;
    }
    if (c === "'" || c === '"' || c === '`') {
      quote = c;
      i++;
    } else if (c === '/' && sql.startsWith('/*!', i)) {
      const end = sql.indexOf('*/', i + 3);
      out += sql.slice(start, i) + ' ';
      i = end < 0 ? sql.length : end + 2;
      start = i;
    } else i++;
  }
  return (out + sql.slice(start)).trim();
}

/** Reads MySQL literals and names from SQL text, left to right. */
class SqlCursor {
  pos = 0;
  constructor(readonly text: string) {}

  skipSpace(): void {
    const t = this.text;
    while (this.pos < t.length) {
      const c = t.charCodeAt(this.pos);
      if (c === 32 || c === 9 || c === 10 || c === 13) this.pos++;
      else break;
    }
  }

  peek(): string {
    return this.text[this.pos];
  }

  expect(ch: string): void {
    this.skipSpace();
    if (this.text[this.pos] !== ch) this.fail(`expected '${ch}'`);
    this.pos++;
  }

  fail(what: string): never {
    const at = this.text.slice(Math.max(0, this.pos - 30), this.pos + 30).replace(/\s+/g, ' ');
    throw new ScrapeError('DUMP_SYNTAX', `${what} at character ${this.pos} near '${at}'`);
  }

  /** A `name`, "name" or bare name. */
  name(): string {
    this.skipSpace();
    const t = this.text;
    const c = t[this.pos];
    if (c === '`' || c === '"') {
      let out = '';
      let i = this.pos + 1;
      for (;;) {
        const j = t.indexOf(c, i);
        if (j < 0) this.fail('unterminated name');
        out += t.slice(i, j);
        if (t[j + 1] === c) {
          out += c;
          i = j + 2;
        } else {
          this.pos = j + 1;
          return out;
        }
      }
    }
    const m = /^[A-Za-z0-9_$]+/.exec(t.slice(this.pos, this.pos + 256));
    if (!m) this.fail('expected a name');
    this.pos += m[0].length;
    return m[0];
  }

  /** A quoted string with MySQL escapes, the cursor on its opening quote. */
  string(): string {
    const t = this.text;
    const quote = t[this.pos];
    let i = this.pos + 1;
    let out = '';
    let start = i;
    for (;;) {
      if (i >= t.length) this.fail('unterminated string');
      const c = t.charCodeAt(i);
      if (c === 92) {
        out += t.slice(start, i);
        const e = t[i + 1];
        switch (e) {
          case '0': out += '\0'; break;
          case 'n': out += '\n'; break;
          case 'r': out += '\r'; break;
          case 't': out += '\t'; break;
          case 'b': out += '\b'; break;
          case 'Z': out += '\x1a'; break;
          case '%': out += '\\%'; break;
          case '_': out += '\\_'; break;
          default: out += e;
        }
        i += 2;
        start = i;
      } else if (t[i] === quote) {
        if (t[i + 1] === quote) {
          out += t.slice(start, i + 1);
          i += 2;
          start = i;
        } else {
          out += t.slice(start, i);
          this.pos = i + 1;
          return out;
        }
      } else i++;
    }
  }

  /** One literal value of a VALUES tuple or a DEFAULT clause. */
  value(): DumpValue {
    this.skipSpace();
    const t = this.text;
    const c = t[this.pos];
    if (c === "'" || c === '"') return this.string();
    let x: RegExpExecArray | null;
    if ((x = this.sticky(HEX))) return Buffer.from(x[1].length % 2 ? '0' + x[1] : x[1], 'hex');
    const m = this.sticky(NUMBER);
    if (m) {
      if (m[2] === undefined && m[1].indexOf('.') < 0) {
        const n = Number(m[0]);
        return Number.isSafeInteger(n) ? n : BigInt(m[0]);
      }
      return m[0];
    }
    if (this.sticky(NULL_WORD)) return null;
    if ((x = this.sticky(HEX_STRING))) return Buffer.from(x[1], 'hex');
    if ((x = this.sticky(BIT_STRING))) return x[1] ? parseInt(x[1], 2) : 0;
    if ((x = this.sticky(BOOLEAN))) return x[1].toUpperCase() === 'TRUE' ? 1 : 0;
    if (this.sticky(INTRODUCER)) return this.string(); // _binary '…', _utf8mb4 '…'
    this.fail('expected a value');
  }

  /** Matches a sticky regex at the cursor and moves past it. */
  private sticky(re: RegExp): RegExpExecArray | null {
    re.lastIndex = this.pos;
    const m = re.exec(this.text);
    if (m) this.pos += m[0].length;
    return m;
  }
}

const NUMBER = /[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?/y;
const NULL_WORD = /NULL\b/iy;
const HEX = /0x([0-9A-Fa-f]*)/y;
const HEX_STRING = /[xX]'([0-9A-Fa-f]*)'/y;
const BIT_STRING = /[bB]'([01]*)'/y;
const BOOLEAN = /(TRUE|FALSE)\b/iy;
const INTRODUCER = /_[A-Za-z0-9]+\s*(?=['"])/y;

const INSERT_HEAD = /^(INSERT|REPLACE)\s+(?:(?:LOW_PRIORITY|DELAYED|HIGH_PRIORITY)\s+)?(IGNORE\s+)?(?:INTO\s+)?/i;

/**
 * Parses an extended `INSERT INTO t [(cols)] VALUES (…),(…)` of a dump into rows of JS values:
 * strings unescaped (MySQL backslash escapes), integers as numbers, decimals as their text (the
 * column's affinity decides), `NULL` as null, hex as bytes. Zero dates stay the text they are.
 */
export function parseInsertStatement(sql: string): ParsedInsert {
  const head = INSERT_HEAD.exec(sql);
  if (!head) throw new ScrapeError('DUMP_SYNTAX', `not an INSERT: ${sql.slice(0, 60)}`);
  const cur = new SqlCursor(sql);
  cur.pos = head[0].length;
  let table = cur.name();
  if (cur.peek() === '.') {
    cur.pos++;
    table = cur.name();
  }
  cur.skipSpace();
  let columns: string[] | undefined;
  if (cur.peek() === '(') {
    cur.pos++;
    columns = [];
    for (;;) {
      columns.push(cur.name());
      cur.skipSpace();
      const c = cur.peek();
      cur.pos++;
      if (c === ')') break;
      if (c !== ',') cur.fail("expected ',' or ')' in the column list");
    }
    cur.skipSpace();
  }
  const kw = /^VALUES?\b/i.exec(sql.slice(cur.pos, cur.pos + 8));
  if (!kw) return cur.fail('expected VALUES');
  cur.pos += kw[0].length;
  const rows: DumpValue[][] = [];
  for (;;) {
    cur.expect('(');
    const row: DumpValue[] = [];
    cur.skipSpace();
    if (cur.peek() !== ')') {
      for (;;) {
        row.push(cur.value());
        cur.skipSpace();
        const c = cur.peek();
        cur.pos++;
        if (c === ')') break;
        if (c !== ',') cur.fail("expected ',' or ')' in a row");
      }
    } else cur.pos++;
    rows.push(row);
    cur.skipSpace();
    if (cur.peek() === ',') {
      cur.pos++;
      continue;
    }
    if (cur.pos >= sql.length) break;
    cur.fail('unexpected text after the rows (ON DUPLICATE KEY UPDATE is not supported)');
  }
  const verb = /^REPLACE/i.test(head[1]) ? 'INSERT OR REPLACE' : head[2] ? 'INSERT OR IGNORE' : 'INSERT';
  return { verb, table, columns, rows };
}

/**
 * Walks `text` from `from`, skipping quoted strings and names (backslash escapes inside '' and
 * ""), and calls `visit` with each other character, its position and the parenthesis depth
 * after it (`depth` at the start). Returns the position where `visit` returned true, else -1.
 */
function scanUnquoted(text: string, from: number, depth: number, visit: (c: string, i: number, depth: number) => boolean): number {
  let quote = '';
  for (let i = from; i < text.length; i++) {
    const c = text[i];
    if (quote) {
      if (c === '\\' && quote !== '`') i++;
      else if (c === quote) quote = '';
      continue;
    }
    if (c === "'" || c === '"' || c === '`') quote = c;
    else if (c === '(') depth++;
    else if (c === ')') depth--;
    if (visit(c, i, depth)) return i;
  }
  return -1;
}

/** Splits the inside of `( … )` at top-level commas (parentheses and quotes respected). */
function splitTopLevel(text: string): string[] {
  const out: string[] = [];
  let start = 0;
  scanUnquoted(text, 0, 0, (c, i, depth) => {
    if (c === ',' && depth === 0) {
      out.push(text.slice(start, i).trim());
      start = i + 1;
    }
    return false;
  });
  const last = text.slice(start).trim();
  if (last) out.push(last);
  return out;
}

function nameList(text: string): string[] {
  return splitTopLevel(text).map((part) => {
    const cur = new SqlCursor(part);
    return cur.name(); // drops a prefix length `name`(10) and ASC/DESC
  });
}

function sqliteLiteral(value: DumpValue): string {
  if (value === null) return 'NULL';
  if (Buffer.isBuffer(value)) return `X'${value.toString('hex')}'`;
  if (typeof value === 'number' || typeof value === 'bigint') return String(value);
  if (/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(value as string)) return value as string;
  return `'${String(value).replace(/'/g, "''")}'`;
}

/** A `CREATE TABLE` of a dump translated for SQLite. */
export interface TranslatedCreate {
  table: string;
  /** `CREATE TABLE` then one `CREATE [UNIQUE] INDEX` per key. */
  statements: string[];
}

/**
 * Translates a MySQL `CREATE TABLE` (as mysqldump writes it) to SQLite: column types to their
 * affinities, a single integer AUTO_INCREMENT primary key to `INTEGER PRIMARY KEY`, other keys to
 * indexes named `<table>_<key>`, and ENGINE / CHARSET / COMMENT / COLLATE / partitioning dropped.
 */
export function translateCreateTable(sql: string): TranslatedCreate {
  const text = stripExecutableComments(sql);
  const head = /^CREATE\s+(?:TEMPORARY\s+)?TABLE\s+(IF\s+NOT\s+EXISTS\s+)?/i.exec(text);
  if (!head) throw new ScrapeError('DUMP_SYNTAX', `not a CREATE TABLE: ${sql.slice(0, 60)}`);
  const cur = new SqlCursor(text);
  cur.pos = head[0].length;
  let table = cur.name();
  if (cur.peek() === '.') {
    cur.pos++;
    table = cur.name();
  }
  cur.skipSpace();
  if (/^LIKE\b/i.test(text.slice(cur.pos))) throw new ScrapeError('DUMP_UNSUPPORTED', `CREATE TABLE ${table} LIKE … is not supported`);
  cur.expect('(');
  // the matching closing parenthesis
  const close = scanUnquoted(text, cur.pos, 1, (_c, _i, depth) => depth === 0);
  if (close < 0) throw new ScrapeError('DUMP_SYNTAX', `CREATE TABLE ${table}: unbalanced parentheses`);
  const body = text.slice(cur.pos, close);

  interface Col { name: string; type: string; notNull: boolean; def?: string; autoIncrement: boolean; primary: boolean; unique: boolean }
  const cols: Col[] = [];
  let primary: string[] | undefined;
  const indexes: { name: string; unique: boolean; columns: string[] }[] = [];
  for (const item of splitTopLevel(body)) {
    const upper = item.toUpperCase();
    let m: RegExpExecArray | null;
    if ((m = /^PRIMARY\s+KEY\s*(?:USING\s+\w+\s*)?\((.*)\)/is.exec(item))) {
      primary = nameList(m[1]);
    } else if ((m = /^UNIQUE\s+(?:KEY|INDEX)?\s*(`(?:[^`]|``)*`|\w+)?\s*(?:USING\s+\w+\s*)?\((.*)\)/is.exec(item))) {
      const columns = nameList(m[2]);
      indexes.push({ name: m[1] ? new SqlCursor(m[1]).name() : columns.join('_'), unique: true, columns });
    } else if ((m = /^(?:KEY|INDEX)\s*(`(?:[^`]|``)*`|\w+)?\s*(?:USING\s+\w+\s*)?\((.*)\)/is.exec(item))) {
      const columns = nameList(m[2]);
      indexes.push({ name: m[1] ? new SqlCursor(m[1]).name() : columns.join('_'), unique: false, columns });
    } else if (/^(FULLTEXT|SPATIAL|CONSTRAINT|FOREIGN|CHECK)\b/.test(upper)) {
      continue;
    } else {
      const c = new SqlCursor(item);
      const name = c.name();
      c.skipSpace();
      const rest = item.slice(c.pos);
      const t = /^(\w+)(\s*\((?:[^()']|'(?:[^'\\]|\\.)*')*\))?/.exec(rest);
      if (!t) throw new ScrapeError('DUMP_SYNTAX', `CREATE TABLE ${table}: no type for column ${name}`);
      c.pos += t[0].length;
      const attrs = item.slice(c.pos);
      const col: Col = {
        name,
        type: t[0],
        notNull: /\bNOT\s+NULL\b/i.test(attrs),
        autoIncrement: /\bAUTO_INCREMENT\b/i.test(attrs),
        primary: /\bPRIMARY\s+KEY\b/i.test(attrs),
        unique: /\bUNIQUE\b/i.test(attrs),
      };
      const d = /\bDEFAULT\s+/i.exec(attrs);
      if (d) {
        const dc = new SqlCursor(attrs);
        dc.pos = d.index + d[0].length;
        try {
          col.def = /^(CURRENT_TIMESTAMP|NOW\(|LOCALTIME)/i.test(attrs.slice(dc.pos)) ? 'CURRENT_TIMESTAMP' : sqliteLiteral(dc.value());
        } catch {
          col.def = undefined; // expressions as defaults are dropped
        }
      }
      cols.push(col);
    }
  }
  const inlinePrimary = cols.filter((c) => c.primary).map((c) => c.name);
  if (!primary && inlinePrimary.length) primary = inlinePrimary;
  const rowid = primary && primary.length === 1 ? cols.find((c) => c.name === primary![0] && /^(tinyint|smallint|mediumint|int|integer|bigint)\b/i.test(c.type)) : undefined;
  const defs = cols.map((c) => {
    if (c === rowid) return `  ${sqliteName(c.name)} INTEGER PRIMARY KEY`;
    let d = `  ${sqliteName(c.name)} ${sqliteType(c.type)}`;
    if (c.notNull) d += ' NOT NULL';
    if (c.def !== undefined) d += ` DEFAULT ${c.def}`;
    if (c.unique && !c.primary) d += ' UNIQUE';
    return d;
  });
  if (primary && !rowid) defs.push(`  PRIMARY KEY (${primary.map(sqliteName).join(', ')})`);
  const ine = head[1] ? 'IF NOT EXISTS ' : '';
  const statements = [`CREATE TABLE ${ine}${sqliteName(table)} (\n${defs.join(',\n')}\n)`];
  for (const ix of indexes) {
    statements.push(`CREATE ${ix.unique ? 'UNIQUE ' : ''}INDEX ${ine}${sqliteName(`${table}_${ix.name}`)} ON ${sqliteName(table)} (${ix.columns.map(sqliteName).join(', ')})`);
  }
  return { table, statements };
}

/** The table names of a `DROP TABLE [IF EXISTS] a, b`. */
export function parseDropTable(sql: string): { ifExists: boolean; tables: string[] } {
  const text = stripExecutableComments(sql);
  const m = /^DROP\s+(?:TEMPORARY\s+)?TABLE\s+(IF\s+EXISTS\s+)?/i.exec(text);
  if (!m) throw new ScrapeError('DUMP_SYNTAX', `not a DROP TABLE: ${sql.slice(0, 60)}`);
  const list = text.slice(m[0].length).replace(/\s+(RESTRICT|CASCADE)\s*$/i, '');
  const tables = splitTopLevel(list).map((part) => {
    const cur = new SqlCursor(part);
    let name = cur.name();
    if (cur.peek() === '.') {
      cur.pos++;
      name = cur.name();
    }
    return name;
  });
  return { ifExists: !!m[1], tables };
}
