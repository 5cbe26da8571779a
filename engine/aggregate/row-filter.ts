import type { FilterCondition } from '../config/regime';
import { ScrapeError } from '../core/errors';
import type { SourceRow } from '../source/source-row';

/** A compiled structured filter: true when the row counts. */
export type RowFilter = (row: SourceRow) => boolean;

/**
 * Compiles `filter` conditions (all must hold) with SQL semantics: a NULL column fails every
 * comparison (including `!=`, `in`, `not in`) and passes only `is null`. Numbers compare
 * numerically when both sides are numeric, else as text. `keyOf` maps a column to where rows
 * hold it (an array index for rows read as arrays); default the column name.
 */
export function compileFilter(conditions: readonly FilterCondition[], keyOf?: (column: string) => string | number): RowFilter {
  if (conditions.length === 0) return () => true;
  const tests = conditions.map((c) => compileCondition(c, keyOf ? keyOf(c.column) : c.column));
  return (row) => {
    for (let i = 0; i < tests.length; i++) if (!tests[i](row)) return false;
    return true;
  };
}

function compileCondition(cond: FilterCondition, key: string | number): RowFilter {
  const column = cond.column;
  const at = key as string;
  const op = cond.op;
  if (op === 'is null') return (row) => row[at] === null || row[at] === undefined;
  if (op === 'is not null') return (row) => row[at] !== null && row[at] !== undefined;
  if (op === 'in' || op === 'not in') {
    const list = Array.isArray(cond.value) ? cond.value : cond.value === undefined ? [] : [cond.value];
    const comparers = list.map((v) => comparer(v as number | string | boolean));
    const want = op === 'in';
    return (row) => {
      const v = row[at];
      if (v === null || v === undefined) return false;
      for (let i = 0; i < comparers.length; i++) if (comparers[i](v) === 0) return want;
      return !want;
    };
  }
  if (cond.value === undefined || Array.isArray(cond.value)) {
    throw new ScrapeError('REGIME_FILTER', `filter on '${column}': operator '${op}' needs a single value`);
  }
  const cmp = comparer(cond.value);
  const holds: (c: number) => boolean =
    op === '=' ? (c) => c === 0
    : op === '!=' ? (c) => c !== 0 && c === c
    : op === '<' ? (c) => c < 0
    : op === '<=' ? (c) => c <= 0
    : op === '>' ? (c) => c > 0
    : op === '>=' ? (c) => c >= 0
    : badOp(op, column);
  return (row) => {
    const v = row[at];
    if (v === null || v === undefined) return false;
    return holds(cmp(v));
  };
}

function badOp(op: string, column: string): never {
  throw new ScrapeError('REGIME_FILTER', `filter on '${column}': unknown operator '${op}'`);
}

/** Returns a function giving sign(columnValue - value), NaN when incomparable. */
function comparer(value: number | string | boolean): (v: unknown) => number {
  const num = toNumber(value);
  const text = String(typeof value === 'boolean' ? (value ? 1 : 0) : value);
  return (v) => {
    if (num === num) {
      const x = toNumber(v);
      if (x === x) return x < num ? -1 : x > num ? 1 : 0;
    }
    const s = String(v);
    return s < text ? -1 : s > text ? 1 : 0;
  };
}

/** NULL → NaN; numbers as is; numeric strings (MySQL DECIMAL) parsed; anything else NaN. */
export function toNumber(v: unknown): number {
  if (typeof v === 'number') return v;
  if (v === null || v === undefined) return NaN;
  if (typeof v === 'string') {
    // Number() trims white space itself; only an empty (or all-blank) text, which it reads as 0, is NULL-like
    const x = +v;
    return x !== 0 ? x : v.trim() === '' ? NaN : x;
  }
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'boolean') return v ? 1 : 0;
  return NaN;
}
