/**
 * The named string formats of the regime schema (`format: duration`, `local-time`, `identifier`, `column-name`,
 * `regime-name`, `spec-class`, `regex`, `jsonata`), registered on every ajv instance in one place.
 * Each says in words what it accepts, so diagnostics are keyed on the format's name, never on the
 * text of a pattern, and the schema names what a value is rather than how it is spelled.
 */
import type Ajv from 'ajv';
import jsonata from 'jsonata';

/** One named format: its test and how messages describe it. */
export interface RegimeFormat {
  /** True when the string has the format (the shape only; semantic checks add e.g. real dates). */
  test(text: string): boolean;
  /** What a value of the format is, for `must be <words>, found …`. */
  words: string;
}

const shaped = (re: RegExp, words: string): RegimeFormat => ({ test: (text) => re.test(text), words });

/** Every format the regime schema uses, by name. */
export const REGIME_FORMATS = {
  duration: shaped(/^\d+[smhd]$/, 'a duration (digits then s, m, h or d, e.g. 10s, 1m, 1h, 1d)'),
  'local-time': shaped(/^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}$/, 'a local time YYYY-MM-DD HH:MM:SS'),
  identifier: shaped(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an identifier (letters, digits and _, not starting with a digit)'),
  'column-name': shaped(/^[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)*$/, 'a column name (letters, digits and _, not starting with a digit; single dots inside, as in DBNS_AD_HV.Slot0.I0)'),
  'regime-name': shaped(/^[a-z][a-z0-9_]*$/, 'a regime name (lower case letters, digits and _, starting with a letter)'),
  'spec-class': shaped(/^G[A-Za-z0-9]+$/, 'a spec class name (G then letters and digits, e.g. GDcsAdTemp)'),
  regex: { test: (text: string) => regexError(text) === undefined, words: 'a regular expression as a string' },
  jsonata: { test: (text: string) => jsonataError(text) === undefined, words: 'a JSONata expression as a string' },
} satisfies Record<string, RegimeFormat>;

/** The name of a regime schema format. */
export type RegimeFormatName = keyof typeof REGIME_FORMATS;

/** The format of that name, or undefined when the schema uses no such format. */
export function regimeFormat(name: unknown): RegimeFormat | undefined {
  return typeof name === 'string' && Object.prototype.hasOwnProperty.call(REGIME_FORMATS, name) ? REGIME_FORMATS[name as RegimeFormatName] : undefined;
}

/** Registers the regime schema's formats on an ajv instance. */
export function addRegimeFormats(ajv: Ajv): void {
  for (const [name, format] of Object.entries(REGIME_FORMATS)) ajv.addFormat(name, { type: 'string', validate: (text: string) => format.test(text) });
}

/** The RegExp error message for a pattern (JavaScript syntax, named groups allowed), or undefined. */
export function regexError(source: string): string | undefined {
  try {
    new RegExp(source);
    return undefined;
  } catch (err) {
    const msg = (err as Error).message;
    // "Invalid regular expression: /(/: Unterminated group" -> "Unterminated group"
    const m = /^Invalid regular expression: \/.*\/[a-z]*: (.*)$/s.exec(msg);
    return m ? m[1] : msg;
  }
}

/** Named capture groups of a regular expression source (empty when it has none or does not compile). */
export function captureNames(source: string): string[] {
  try {
    const groups = new RegExp(`(?:${source})|`).exec('')?.groups;
    return groups ? Object.keys(groups) : [];
  } catch {
    return [];
  }
}

/** A JSONata compile error and where it starts. */
export interface JsonataProblem {
  message: string;
  /** 0-based index in the expression where the problem starts. */
  index: number;
}

/** The JSONata compile error of an expression, or undefined when it compiles. */
export function jsonataError(expr: string): JsonataProblem | undefined {
  try {
    jsonata(expr);
    return undefined;
  } catch (err) {
    const e = err as { code?: string; position?: number; token?: unknown; message?: string };
    const position = typeof e.position === 'number' ? e.position : 0;
    const token = e.token !== undefined && e.token !== null && e.token !== '(end)' ? String(e.token) : undefined;
    // jsonata's position is the (1-based) index of the last character read
    const index = token ? position - token.length : e.token === '(end)' ? expr.length : position - 1;
    return { message: `${e.code ? `${e.code} ` : ''}${e.message ?? String(err)}`, index: Math.max(0, Math.min(index, expr.length)) };
  }
}

/**
 * JSONata built-ins whose value depends on the clock or on chance, not on the input: a map or
 * change rule using one would make the target depend on when (or by luck) a row was scraped.
 */
export const NONDETERMINISTIC_FUNCTIONS = ['now', 'millis', 'random'] as const;

/** One use of a `NONDETERMINISTIC_FUNCTIONS` built-in in an expression. */
export interface NondeterministicUse {
  /** The function, with its `$`. */
  name: string;
  /** 0-based index of the `$` in the expression. */
  index: number;
}

/**
 * Where an expression refers to `$now`, `$millis` or `$random` (called or passed on, e.g.
 * `$map(xs, $random)`), unless the expression binds that name itself (`$now := …`, a lambda
 * parameter). Empty when the expression does not compile (`jsonataError` reports that).
 */
export function nondeterministicUses(expr: string): NondeterministicUse[] {
  let ast: unknown;
  try {
    ast = jsonata(expr).ast();
  } catch {
    return [];
  }
  const refs: Array<{ name: string; position: number }> = [];
  const bound = new Set<string>();
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(walk);
    if (node === null || typeof node !== 'object') return;
    const n = node as { type?: string; value?: unknown; position?: number; lhs?: { type?: string; value?: unknown }; arguments?: unknown[] };
    if (n.type === 'bind' && n.lhs?.type === 'variable' && typeof n.lhs.value === 'string') bound.add(n.lhs.value);
    if (n.type === 'lambda' && Array.isArray(n.arguments)) {
      for (const a of n.arguments as Array<{ type?: string; value?: unknown }>) if (a?.type === 'variable' && typeof a.value === 'string') bound.add(a.value);
    }
    if (n.type === 'variable' && typeof n.value === 'string' && typeof n.position === 'number') refs.push({ name: n.value, position: n.position });
    for (const value of Object.values(n)) if (value !== null && typeof value === 'object') walk(value);
  };
  walk(ast);
  const names: readonly string[] = NONDETERMINISTIC_FUNCTIONS;
  return refs
    .filter((r) => names.includes(r.name) && !bound.has(r.name))
    // jsonata's position is just past the variable's last character
    .map((r) => ({ name: `$${r.name}`, index: Math.max(0, r.position - r.name.length - 1) }))
    .sort((a, b) => a.index - b.index);
}
