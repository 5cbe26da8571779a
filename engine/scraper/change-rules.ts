import type { ChangeRuleDecl, ColumnSelector } from '../config/regime';
import { ScrapeError } from '../config/errors';
import { compileExpression } from '../transform/compile-expression';
import { toNumber } from './aggregator';
import type { SourceRow } from '../source/source-row';

/** True when the vector sv[0] → sv[-1] has `changed` (DESIGN §4.4). Synchronous: the hot path. */
export type ChangeTest = (first: SourceRow, last: SourceRow) => boolean;

/** The asynchronous part of the change rules: the JSONata `when` predicates. */
export type AsyncChangeTest = (first: SourceRow, last: SourceRow, ctx: Record<string, unknown>) => Promise<boolean>;

/** Compiled change rules: `test` holds the column rules; `asyncTest` the `when` rules, if any. */
export interface CompiledChangeRules {
  test: ChangeTest;
  asyncTest?: AsyncChangeTest;
  /** The columns each column rule watches, resolved against the real columns (for `explain`/logs). */
  watched: string[][];
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

/** One column of a `threshold` rule: true when the values a → b are a change. */
function thresholdCell(threshold: number, nullIsChange: boolean): (a: unknown, b: unknown) => boolean {
  return (a, b) => {
    if (isNull(a) || isNull(b)) return nullIsChange && isNull(a) !== isNull(b);
    const x = toNumber(a);
    const y = toNumber(b);
    if (x !== x || y !== y) return String(a) !== String(b); // non-numeric text: any difference is a change
    return Math.abs(y - x) > threshold;
  };
}

/** One column of an `equal` rule: true when the values a → b differ. */
function equalCell(nullIsChange: boolean): (a: unknown, b: unknown) => boolean {
  return (a, b) => {
    if (a === b) return false;
    if (isNull(a) || isNull(b)) return nullIsChange && isNull(a) !== isNull(b);
    const x = toNumber(a);
    const y = toNumber(b);
    if (x === x && y === y) return x !== y;
    return String(a) !== String(b);
  };
}

/** Rules over at least this many columns read them by name written into a generated function. */
const UNROLL_FROM = 16;

/**
 * A test that fires when `cell` fires on any of `cols`, in order. Wide rules (192 HV channels)
 * are unrolled into one function reading each column by a literal name: rows of a stream share
 * one shape, so each read is a direct field access instead of a lookup by a varying key (5×
 * faster). Column names go in as JSON string literals, never as code.
 */
function anyColumn(cols: string[], cell: (a: unknown, b: unknown) => boolean): ChangeTest {
  if (cols.length >= UNROLL_FROM) {
    const body = cols.map((c) => `if (cell(f[${JSON.stringify(c)}], l[${JSON.stringify(c)}])) return true;`).join('\n');
    return new Function('cell', `return function anyColumn(f, l) {\n${body}\nreturn false;\n};`)(cell) as ChangeTest;
  }
  return (first, last) => {
    for (let i = 0; i < cols.length; i++) if (cell(first[cols[i]], last[cols[i]])) return true;
    return false;
  };
}

function thresholdRule(cols: string[], threshold: number, nullIsChange: boolean): ChangeTest {
  return anyColumn(cols, thresholdCell(threshold, nullIsChange));
}

function equalRule(cols: string[], nullIsChange: boolean): ChangeTest {
  return anyColumn(cols, equalCell(nullIsChange));
}

/**
 * Compiles the regime's change rules against the actual source columns (DESIGN §4.4):
 * `threshold` fires when any |last − first| > threshold (`defaultThreshold` when a rule gives
 * none), `equal` when any value differs (numerically when both are numeric: `1.50` = 1.5), and
 * `when` when its JSONata predicate over `{first, last, ctx}` is `true`. NULL against a value is a
 * change only with `null_is_change`. Column rules are synchronous; `when` rules are returned
 * separately so a caller evaluates them only when no column rule fired.
 */
export function compileChangeRules(rules: readonly ChangeRuleDecl[], columns: readonly string[], defaultThreshold: number): CompiledChangeRules {
  const sync: ChangeTest[] = [];
  const watched: string[][] = [];
  const whens: { evaluate(input: Record<string, unknown>): Promise<unknown> }[] = [];
  rules.forEach((rule, i) => {
    const label = `changes[${i}]`;
    const nullIsChange = rule.null_is_change === true;
    if (rule.when !== undefined) {
      whens.push(compileExpression(rule.when, `${label}.when`));
      return;
    }
    if (rule.columns === undefined) throw new ScrapeError('REGIME_CHANGE', `${label}: a rule needs columns (with threshold or equal) or when`);
    const cols = resolveColumns(rule.columns, columns, `${label}.columns`);
    watched.push(cols);
    if (rule.equal) sync.push(equalRule(cols, nullIsChange));
    else sync.push(thresholdRule(cols, rule.threshold ?? defaultThreshold, nullIsChange));
  });
  const test: ChangeTest =
    sync.length === 0 ? () => false
    : sync.length === 1 ? sync[0]
    : (first, last) => {
        for (let i = 0; i < sync.length; i++) if (sync[i](first, last)) return true;
        return false;
      };
  const out: CompiledChangeRules = { test, watched };
  if (whens.length > 0) {
    out.asyncTest = async (first, last, ctx) => {
      const input = { first, last, ctx };
      for (const w of whens) if ((await w.evaluate(input)) === true) return true;
      return false;
    };
  }
  return out;
}
