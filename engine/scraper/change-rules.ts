import type { ChangeRuleDecl, ColumnSelector } from '../config/regime';
import { ScrapeError } from '../core/errors';
import { compileExpression } from '../transform/compile-expression';
import { toNumber } from '../aggregate/row-filter';
import type { SourceRow } from '../source/source-row';
import { PackedSuppressedStats } from '../dbi/propagation';

/** True when the vector sv[0] → sv[-1] has `changed` (docs/design.md §4.4). Synchronous: the hot path. */
export type ChangeTest = (first: SourceRow, last: SourceRow) => boolean;

/** The asynchronous part of the change rules: the JSONata `when` predicates. */
export type AsyncChangeTest = (first: SourceRow, last: SourceRow, ctx: Record<string, unknown>) => Promise<boolean>;

/** Compiled change rules: `test` holds the column rules; `asyncTest` the `when` rules, if any. */
export interface CompiledChangeRules {
  test: ChangeTest;
  asyncTest?: AsyncChangeTest;
  /** The columns each column rule watches, resolved against the real columns (for `explain`/logs). */
  watched: string[][];
  /**
   * The column rules of `test`, same decisions, over rows whose values sit in an array (wide rows
   * as read, see `SourceReader.useArrayRows`): `indexOf` gives each watched column's index.
   */
  forArrays(indexOf: (column: string) => number): ChangeTest;
  /**
   * Which rules fire between `first` and `last` (objects by column name), by index in the
   * regime's `changes`, and on which columns (none for a `when` rule). Slow path: called once per
   * `changed` validity, for its provenance.
   */
  explain(first: SourceRow, last: SourceRow, ctx: Record<string, unknown>): Promise<{ rule: number; columns: string[] }[]>;
  /**
   * A fresh tracker of what the deadband suppresses in the threshold rules' columns (undefined
   * when there are none); `indexOf` when rows are arrays (as `forArrays`).
   */
  suppression(indexOf?: (column: string) => number): SuppressionTracker | undefined;
}

/**
 * Statistics of the samples the deadband suppressed (decided `unchanged`) in one validity range:
 * per threshold-rule column, how many had a number there, the largest |value − sv[0]'s value|,
 * the smallest and largest value.
 */
export class SuppressionTracker {
  /** n, maxdev, min, max of column k at 4k..4k+3 (as `PackedSuppressedStats`). */
  private readonly stats: Float64Array;

  constructor(
    private readonly columns: readonly string[],
    /** Where each column's value sits: a name (object rows) or an index (array rows). */
    private readonly keys: readonly (string | number)[],
  ) {
    this.stats = new Float64Array(4 * columns.length);
  }

  /** Counts one suppressed sample `last` against `first` (sv[0]). */
  add(first: SourceRow, last: SourceRow): void {
    const f = first as unknown as Record<string | number, unknown>;
    const l = last as unknown as Record<string | number, unknown>;
    const s = this.stats;
    for (let k = 0; k < this.keys.length; k++) {
      const key = this.keys[k];
      const b = l[key];
      if (b === null || b === undefined) continue;
      const y = toNumber(b);
      if (y !== y) continue;
      const a = f[key];
      const x = a === null || a === undefined ? NaN : toNumber(a);
      const at = 4 * k;
      if (s[at] === 0) {
        s[at + 2] = y;
        s[at + 3] = y;
        s[at + 1] = 0;
      } else {
        if (y < s[at + 2]) s[at + 2] = y;
        if (y > s[at + 3]) s[at + 3] = y;
      }
      if (x === x) {
        const d = Math.abs(y - x);
        if (d > s[at + 1]) s[at + 1] = d;
      }
      s[at]++;
    }
  }

  /** The statistics so far, packed (columns without a suppressed number left out of its JSON); undefined when none. */
  result(): PackedSuppressedStats | undefined {
    const s = this.stats;
    for (let at = 0; at < s.length; at += 4) if (s[at] !== 0) return new PackedSuppressedStats(this.columns, s.slice());
    return undefined;
  }

  /** Starts a new range. */
  reset(): void {
    const s = this.stats;
    for (let at = 0; at < s.length; at += 4) s[at] = 0;
  }
}

/**
 * Resolves a selector (a regular expression over names, or exact names) against the real columns,
 * once. A selector matching nothing is a regime error naming it: a rule that silently watches no
 * column would never fire.
 */
export function resolveColumns(selector: ColumnSelector, columns: readonly string[], label: string): string[] {
  if (Array.isArray(selector)) {
    const have = new Set(columns);
    const missing = selector.filter((c) => !have.has(c));
    if (missing.length > 0) throw new ScrapeError('REGIME_COLUMN', `${label}: no source column ${missing.map((m) => `'${m}'`).join(', ')}`);
    return [...selector];
  }
  let re: RegExp;
  try {
    re = new RegExp(selector);
  } catch (err) {
    throw new ScrapeError('REGIME_COLUMN', `${label}: bad column pattern '${selector}'`, { cause: err });
  }
  const out = columns.filter((c) => re.test(c));
  if (out.length === 0) throw new ScrapeError('REGIME_COLUMN', `${label}: column pattern '${selector}' matches no source column`);
  return out;
}

function isNull(v: unknown): boolean {
  return v === null || v === undefined;
}

/** A per-column change test; `threshold`/`equal` say which rule it is (the unrolled test inlines its common case). */
type Cell = ((a: unknown, b: unknown) => boolean) & { threshold?: number; equal?: boolean };

/** One column of a `threshold` rule: true when the values a → b are a change. */
function thresholdCell(threshold: number, nullIsChange: boolean): Cell {
  const cell: Cell = (a, b) => {
    if (isNull(a) || isNull(b)) return nullIsChange && isNull(a) !== isNull(b);
    const x = toNumber(a);
    const y = toNumber(b);
    if (x !== x || y !== y) return String(a) !== String(b); // non-numeric text: any difference is a change
    return Math.abs(y - x) > threshold;
  };
  cell.threshold = threshold;
  return cell;
}

/** One column of an `equal` rule: true when the values a → b differ. */
function equalCell(nullIsChange: boolean): Cell {
  const cell: Cell = (a, b) => {
    if (a === b) return false;
    if (isNull(a) || isNull(b)) return nullIsChange && isNull(a) !== isNull(b);
    const x = toNumber(a);
    const y = toNumber(b);
    if (x === x && y === y) return x !== y;
    return String(a) !== String(b);
  };
  cell.equal = true;
  return cell;
}

/** Rules over at least this many columns read them by name written into a generated function. */
const UNROLL_FROM = 16;

/**
 * A test that fires when `cell` fires on any of `cols`, in order. Wide rules (192 HV channels)
 * are unrolled into one function reading each column by a literal name: rows of a stream share
 * one shape, so each read is a direct field access instead of a lookup by a varying key (5×
 * faster). Column names go in as JSON string literals, never as code.
 */
function anyColumn(cols: string[], cell: Cell): ChangeTest {
  if (cols.length >= UNROLL_FROM) {
    // the common cases inline, deciding as `cell` does: two numbers whose difference is a number
    // (threshold; a NaN difference goes to `cell`), identical values (equal)
    const test =
      cell.threshold !== undefined ? 'typeof a === "number" && typeof b === "number" ? ((d = b - a) > T || d < -T || (d !== d && cell(a, b))) : cell(a, b)'
      : cell.equal ? 'a !== b && cell(a, b)'
      : 'cell(a, b)';
    const body = cols.map((c) => `a = f[${JSON.stringify(c)}]; b = l[${JSON.stringify(c)}]; if (${test}) return true;`).join('\n');
    return new Function('cell', 'T', `return function anyColumn(f, l) {\nlet a, b, d;\n${body}\nreturn false;\n};`)(cell, cell.threshold) as ChangeTest;
  }
  return (first, last) => {
    for (let i = 0; i < cols.length; i++) if (cell((first as any)[cols[i]], (last as any)[cols[i]])) return true;
    return false;
  };
}

/**
 * As `anyColumn`, over rows whose values sit in an array (`SourceReader.useArrayRows`): a plain
 * loop over the columns' indexes. Array rows of numbers hold unboxed doubles, so the loop is as
 * fast as unrolled code, and it compiles in milliseconds where 192 unrolled columns took the
 * optimizing compiler a quarter of a second (and again wherever it was inlined).
 */
function anyIndex(indexes: number[], cell: Cell): ChangeTest {
  const at = Int32Array.from(indexes);
  const n = at.length;
  const T = cell.threshold;
  if (T !== undefined) {
    return (first, last) => {
      const f = first as unknown as unknown[];
      const l = last as unknown as unknown[];
      for (let k = 0; k < n; k++) {
        const a = f[at[k]];
        const b = l[at[k]];
        if (typeof a === 'number' && typeof b === 'number') {
          const d = b - a;
          if (d > T || d < -T || (d !== d && cell(a, b))) return true;
        } else if (cell(a, b)) return true;
      }
      return false;
    };
  }
  const equal = cell.equal === true; // identical values are no change
  return (first, last) => {
    const f = first as unknown as unknown[];
    const l = last as unknown as unknown[];
    for (let k = 0; k < n; k++) {
      const a = f[at[k]];
      const b = l[at[k]];
      if ((!equal || a !== b) && cell(a, b)) return true;
    }
    return false;
  };
}

/** True when any of the tests fires, in order. */
function anyTest(sync: ChangeTest[]): ChangeTest {
  if (sync.length === 0) return () => false;
  if (sync.length === 1) return sync[0];
  return (first, last) => {
    for (let i = 0; i < sync.length; i++) if (sync[i](first, last)) return true;
    return false;
  };
}

/**
 * Compiles the regime's change rules against the actual source columns (docs/design.md §4.4):
 * `threshold` fires when any |last − first| > threshold (`defaultThreshold`, the regime's
 * `scraper.threshold`, when a rule gives none), `equal` when any value differs (numerically when both are numeric: `1.50` = 1.5), and
 * `when` when its JSONata predicate over `{first, last, ctx}` is `true`. NULL against a value is a
 * change only with `null_is_change`. Column rules are synchronous; `when` rules are returned
 * separately so a caller evaluates them only when no column rule fired.
 */
export function compileChangeRules(rules: readonly ChangeRuleDecl[], columns: readonly string[], defaultThreshold: number): CompiledChangeRules {
  const cells: { cols: string[]; cell: Cell; rule: number }[] = [];
  const watched: string[][] = [];
  const whens: { evaluate(input: Record<string, unknown>): Promise<unknown>; rule: number }[] = [];
  rules.forEach((rule, i) => {
    const label = `changes[${i}]`;
    const nullIsChange = rule.null_is_change === true;
    if (rule.when !== undefined) {
      const w = compileExpression(rule.when, `${label}.when`);
      whens.push({ evaluate: (input) => w.evaluate(input), rule: i });
      return;
    }
    if (rule.columns === undefined) throw new ScrapeError('REGIME_CHANGE', `${label}: a rule needs columns (with threshold or equal) or when`);
    const cols = resolveColumns(rule.columns, columns, `${label}.columns`);
    watched.push(cols);
    cells.push({ cols, cell: rule.equal ? equalCell(nullIsChange) : thresholdCell(rule.threshold ?? defaultThreshold, nullIsChange), rule: i });
  });
  const test = anyTest(cells.map(({ cols, cell }) => anyColumn(cols, cell)));
  const forArrays = (indexOf: (column: string) => number): ChangeTest =>
    anyTest(
      cells.map(({ cols, cell }) =>
        anyIndex(
          cols.map((c) => {
            const i = indexOf(c);
            if (!(Number.isInteger(i) && i >= 0)) throw new ScrapeError('REGIME_COLUMN', `change rule column '${c}' is not in the rows read`);
            return i;
          }),
          cell,
        ),
      ),
    );
  const explain = async (first: SourceRow, last: SourceRow, ctx: Record<string, unknown>) => {
    const fired: { rule: number; columns: string[] }[] = [];
    const f = first as unknown as Record<string, unknown>;
    const l = last as unknown as Record<string, unknown>;
    for (const { cols, cell, rule } of cells) {
      const columns = cols.filter((c) => cell(f[c], l[c]));
      if (columns.length > 0) fired.push({ rule, columns });
    }
    for (const w of whens) if ((await w.evaluate({ first, last, ctx })) === true) fired.push({ rule: w.rule, columns: [] });
    return fired.sort((a, b) => a.rule - b.rule);
  };
  const thresholdCols = [...new Set(cells.filter((c) => c.cell.threshold !== undefined).flatMap((c) => c.cols))];
  const suppression = (indexOf?: (column: string) => number) =>
    thresholdCols.length === 0 ? undefined : new SuppressionTracker(thresholdCols, indexOf ? thresholdCols.map(indexOf) : thresholdCols);
  const out: CompiledChangeRules = { test, watched, forArrays, explain, suppression };
  if (whens.length > 0) {
    out.asyncTest = async (first, last, ctx) => {
      const input = { first, last, ctx };
      for (const w of whens) if ((await w.evaluate(input)) === true) return true;
      return false;
    };
  }
  return out;
}
