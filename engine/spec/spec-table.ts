import * as fs from 'fs';
import * as path from 'path';
import { ScrapeError } from '../core/errors';
import { projectRoot } from '../core/project-root';

/** One attribute (column) of a DBI payload table, from a `.spec` column line. */
export interface SpecColumn {
  name: string;
  /** SQL type as written in the spec (`float`, `int`, `double`, `tinyint`, `varchar(64)`, ...). */
  dbtype: string;
  /** C++ type of the generated DybDbi class (`double`, `int`, ...). */
  codetype: string;
  description: string;
  /** 1-based line of the column in the `.spec` file. */
  line: number;
}

/** A parsed DybDbi `.spec`: the target table and its attributes. */
export interface SpecTable {
  /** Generated class name (`GDcsAdTemp`), the name regimes use. */
  className: string;
  /** Payload table name (`DcsAdTemp`); the validity table is `<table>Vld`. */
  table: string;
  meta: string;
  legacy: string;
  canL2Cache: string;
  rctx?: string;
  wctx?: string;
  docstring?: string;
  columns: SpecColumn[];
  /** File the spec was read from. */
  file: string;
}

/** SQL types a spec column may declare. */
export const SPEC_DBTYPE = /^(tinyint|smallint|int|integer|bigint|float|double|datetime|date|char\(\d+\)|varchar\(\d+\)|text|decimal\(\d+,\d+\))( unsigned)?$/i;

/**
 * Parses the DybDbi `.spec` format: optional `"""docstring"""`, blocks separated by a line
 * holding only `;`, each block a `|`-separated header line then value lines. The block whose
 * header starts with `table` names the table; `meta | rctx | wctx` gives contexts; blocks headed
 * `name | dbtype | codetype | description` list the columns.
 */
export function parseSpec(text: string, file = '<spec>'): SpecTable {
  const lines = text.split(/\r?\n/);
  let i = 0;
  let docstring: string | undefined;
  const fail = (line: number, message: string): never => {
    throw new ScrapeError('SPEC_PARSE', `${file}:${line}: ${message}`);
  };
  // docstring
  while (i < lines.length && lines[i].trim() === '') i++;
  if (i < lines.length && lines[i].trim().startsWith('"""')) {
    const start = i;
    let body = lines[i].trim().slice(3);
    if (body.endsWith('"""') && body.length >= 3) {
      docstring = body.slice(0, -3).trim();
      i++;
    } else {
      const parts = [body];
      i++;
      while (i < lines.length && !lines[i].includes('"""')) parts.push(lines[i++]);
      if (i >= lines.length) fail(start + 1, 'unterminated """docstring"""');
      parts.push(lines[i].slice(0, lines[i].indexOf('"""')));
      i++;
      docstring = parts.join('\n').trim();
    }
  }
  // blocks
  type Block = { header: string[]; rows: { cells: string[]; line: number }[]; line: number };
  const blocks: Block[] = [];
  let current: Block | undefined;
  for (; i < lines.length; i++) {
    const raw = lines[i];
    const line = raw.trim();
    if (line === ';') {
      current = undefined;
      continue;
    }
    if (line === '' || line.startsWith('#')) continue;
    const cells = line.split('|').map((c) => c.trim());
    if (!current) {
      current = { header: cells.map((c) => c.toLowerCase()), rows: [], line: i + 1 };
      blocks.push(current);
    } else {
      if (cells.length !== current.header.length) {
        fail(i + 1, `expected ${current.header.length} '|'-separated cells like the header (${current.header.join(' | ')}), found ${cells.length}`);
      }
      current.rows.push({ cells, line: i + 1 });
    }
  }
  const spec: Partial<SpecTable> & { columns: SpecColumn[] } = { columns: [], file, docstring };
  for (const block of blocks) {
    const col = (name: string) => block.header.indexOf(name);
    if (block.header[0] === 'table') {
      const row = block.rows[0] ?? fail(block.line, 'table block has no value line');
      const get = (name: string) => (col(name) >= 0 ? row.cells[col(name)] : '');
      spec.table = get('table');
      spec.meta = get('meta');
      spec.legacy = get('legacy');
      spec.canL2Cache = get('canl2cache');
      spec.className = get('class');
    } else if (block.header[0] === 'meta' && col('rctx') >= 0) {
      const row = block.rows[0];
      if (row) {
        spec.rctx = row.cells[col('rctx')];
        spec.wctx = col('wctx') >= 0 ? row.cells[col('wctx')] : undefined;
      }
    } else if (block.header[0] === 'name' && col('dbtype') >= 0) {
      for (const row of block.rows) {
        const [name, dbtype, codetype, description] = [col('name'), col('dbtype'), col('codetype'), col('description')].map((c) =>
          c >= 0 ? row.cells[c] : '',
        );
        if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) fail(row.line, `bad column name '${name}'`);
        if (!SPEC_DBTYPE.test(dbtype)) fail(row.line, `column ${name}: unsupported dbtype '${dbtype}'`);
        if (['SEQNO', 'ROW_COUNTER'].includes(name.toUpperCase())) fail(row.line, `column ${name} is reserved by DBI`);
        if (spec.columns.some((c) => c.name === name)) fail(row.line, `duplicate column ${name}`);
        spec.columns.push({ name, dbtype: dbtype.toLowerCase(), codetype, description, line: row.line });
      }
    } else {
      fail(block.line, `unknown block header '${block.header.join(' | ')}'`);
    }
  }
  if (!spec.table) fail(1, 'no `table | meta | legacy | CanL2Cache | class` block');
  // a DBI table name is a plain identifier (no dots: those source column names allow)
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(spec.table!)) fail(1, `bad table name '${spec.table}'`);
  if (!spec.className) spec.className = `G${spec.table}`;
  if (!/^[A-Za-z][A-Za-z0-9_]*$/.test(spec.table!)) fail(1, `bad table name '${spec.table}'`);
  if (spec.columns.length === 0) fail(1, 'no columns');
  return spec as SpecTable;
}

/** Default folder of `.spec` files: `spec/` of the project. */
export function defaultSpecDir(): string {
  return path.join(projectRoot(), 'spec');
}

/** Reads and parses `spec/<className>.spec`; a missing file is a clear error naming the folder. */
export function loadSpec(className: string, specDir = defaultSpecDir()): SpecTable {
  const file = path.join(specDir, `${className}.spec`);
  if (!fs.existsSync(file)) {
    const known = fs.existsSync(specDir) ? fs.readdirSync(specDir).filter((f) => f.endsWith('.spec')).map((f) => f.slice(0, -5)) : [];
    throw new ScrapeError('SPEC_MISSING', `no spec ${className}: ${file} does not exist (known: ${known.join(', ') || 'none'})`);
  }
  return parseSpec(fs.readFileSync(file, 'utf8'), file);
}
