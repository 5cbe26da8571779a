import { ScrapeError } from '../core/errors';
import { SpecColumn, SpecTable } from './spec-table';

/** Most columns an InnoDB table holds (MySQL and MariaDB alike). */
export const MAX_TABLE_COLUMNS = 1017;

/** MySQL's row size limit, in bytes, not counting TEXT contents (every storage engine). */
export const MAX_ROW_BYTES = 65_535;

/** Bytes per character of utf8mb4, the character set of every table scrape creates. */
const CHAR_BYTES = 4;

/** One thing the databases would refuse in a spec: the column (when it is one column's) and why. */
export interface SpecTypeProblem {
  column?: SpecColumn;
  message: string;
}

/** Bytes of a DECIMAL(M,D) (MySQL packs 9 digits into 4 bytes, the rest by this table). */
function decimalBytes(precision: number, scale: number): number {
  const rest = [0, 1, 1, 2, 2, 3, 3, 4, 4, 4];
  const part = (digits: number) => Math.floor(digits / 9) * 4 + rest[digits % 9];
  return part(precision - scale) + part(scale);
}

/** Bytes a column takes at most in a MySQL row (as the 65,535-byte limit counts them). */
function columnBytes(dbtype: string): number {
  const t = dbtype.toLowerCase().trim().replace(/ unsigned$/, '');
  const fixed: Record<string, number> = { tinyint: 1, smallint: 2, int: 4, integer: 4, bigint: 8, float: 4, double: 8, datetime: 5, date: 3, text: 10 };
  if (t in fixed) return fixed[t];
  const decimal = /^decimal\((\d+),(\d+)\)$/.exec(t);
  if (decimal) return decimalBytes(Number(decimal[1]), Number(decimal[2]));
  const char = /^char\((\d+)\)$/.exec(t);
  if (char) return Number(char[1]) * CHAR_BYTES;
  const varchar = /^varchar\((\d+)\)$/.exec(t);
  if (varchar) {
    const bytes = Number(varchar[1]) * CHAR_BYTES;
    return bytes + (bytes > 255 ? 2 : 1);
  }
  return 0;
}

/** Why MySQL/MariaDB refuse one column type, or undefined. */
function columnProblem(dbtype: string): string | undefined {
  const t = dbtype.toLowerCase().trim().replace(/ unsigned$/, '');
  const decimal = /^decimal\((\d+),(\d+)\)$/.exec(t);
  if (decimal) {
    const [m, d] = [Number(decimal[1]), Number(decimal[2])];
    if (m < 1 || m > 65) return `${dbtype}: a precision of ${m} digits (1 to 65 allowed)`;
    if (d > 30) return `${dbtype}: a scale of ${d} digits after the point (at most 30 allowed)`;
    if (d > m) return `${dbtype}: a scale (${d}) above the precision (${m})`;
  }
  const char = /^char\((\d+)\)$/.exec(t);
  if (char && Number(char[1]) > 255) return `${dbtype}: more than the 255 characters a char holds (use varchar or text)`;
  const varchar = /^varchar\((\d+)\)$/.exec(t);
  if (varchar && Number(varchar[1]) * CHAR_BYTES > MAX_ROW_BYTES) {
    return `${dbtype}: more than the ${Math.floor(MAX_ROW_BYTES / CHAR_BYTES)} characters a utf8mb4 varchar holds (use text)`;
  }
  return undefined;
}

/**
 * What MySQL and MariaDB would refuse in a spec's payload table, whatever the target: a decimal
 * beyond 65 digits or a scale beyond 30 (or above its precision), a char beyond 255 or a varchar
 * beyond 16,383 characters (utf8mb4), more than 1017 columns, or a row of more than 65,535 bytes
 * (SEQNO, ROW_COUNTER, the attributes and their NULL bits; TEXT counts its 10-byte pointer).
 * `scrape validate` reports them, and no table is created with one (SQLite would take it, and
 * the same spec would then fail on the production server). Not checked: InnoDB's own limit of
 * about 8 kB of fixed-size columns per row, which the server reports when creating the table.
 */
export function specTypeProblems(spec: Pick<SpecTable, 'columns'>): SpecTypeProblem[] {
  const problems: SpecTypeProblem[] = [];
  for (const column of spec.columns) {
    const problem = columnProblem(column.dbtype);
    if (problem) problems.push({ column, message: `column ${column.name} ${problem}` });
  }
  if (spec.columns.length + 2 > MAX_TABLE_COLUMNS) {
    problems.push({ message: `${spec.columns.length} attributes: more than the ${MAX_TABLE_COLUMNS} columns a table holds, SEQNO and ROW_COUNTER included` });
  }
  if (problems.length === 0) {
    const bytes = 4 + 4 + spec.columns.reduce((sum, c) => sum + columnBytes(c.dbtype), 0) + Math.ceil(spec.columns.length / 8);
    if (bytes > MAX_ROW_BYTES) {
      problems.push({ message: `a row of up to ${bytes} bytes: more than the ${MAX_ROW_BYTES} a row holds (make long strings text, or shorten them)` });
    }
  }
  return problems;
}

/** Throws `SPEC_TYPE` for the first spec with a `specTypeProblems` problem: before any statement runs. */
export function checkSpecTypes(specs: readonly Pick<SpecTable, 'columns' | 'file'>[]): void {
  for (const spec of specs) {
    const [first] = specTypeProblems(spec);
    if (first) {
      throw new ScrapeError('SPEC_TYPE', `${spec.file}${first.column ? `:${first.column.line}` : ''}: ${first.message}`, {
        hint: 'change the type in the .spec file (scrape validate lists every such problem)',
      });
    }
  }
}
