/**
 * The string formats of the regime schema (`format: regex`, `format: jsonata`), registered on
 * every ajv instance in one place, with the checks behind them so diagnostics can say what is
 * wrong (the RegExp or JSONata compile error) and where.
 */
import type Ajv from 'ajv';
import jsonata from 'jsonata';

/** Registers the regime schema's formats on an ajv instance. */
export function addRegimeFormats(ajv: Ajv): void {
  ajv.addFormat('regex', { type: 'string', validate: (s: string) => regexError(s) === undefined });
  ajv.addFormat('jsonata', { type: 'string', validate: (s: string) => jsonataError(s) === undefined });
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
