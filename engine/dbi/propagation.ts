import { ScrapeError } from '../core/errors';
import { normalizeTimeText } from '../core/time';

/** The DBI context of a validity: which detector and data kind it describes. */
export interface ValidityContext {
  sitemask: number;
  simmask: number;
  subsite: number;
  task: number;
  aggregateno: number;
}

/** One DBI write: a validity range `[timestart, timeend)` (UTC text), its context and payload rows. */
export interface Propagation {
  timestart: string;
  /** UTC text `YYYY-MM-DD HH:MM:SS`. */
  timeend: string;
  context: ValidityContext;
  /** Payload attribute values by spec attribute name; ROW_COUNTER is assigned 1..N in order. */
  rows: Record<string, unknown>[];
}

const TIME_TEXT = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/;

/**
 * Checks and normalises one propagation (times to `YYYY-MM-DD HH:MM:SS`, integer context) before
 * anything is written: bad input is a `DBI_VALUE`/`DBI_RANGE` error naming the propagation.
 */
export function checkPropagation(p: Propagation, index: number): Propagation {
  const time = (value: unknown, what: string): string => {
    if (typeof value === 'string' && TIME_TEXT.test(value)) return value;
    if (typeof value !== 'string') throw new ScrapeError('DBI_VALUE', `propagation ${index}: ${what} must be UTC time text, got ${String(value)}`);
    return normalizeTimeText(value);
  };
  const timestart = time(p.timestart, 'timestart');
  const timeend = time(p.timeend, 'timeend');
  if (timeend < timestart) throw new ScrapeError('DBI_RANGE', `propagation ${index}: timeend ${timeend} is before timestart ${timestart}`);
  const c = p.context ?? ({} as ValidityContext);
  for (const key of ['sitemask', 'simmask', 'subsite', 'task', 'aggregateno'] as const) {
    if (!Number.isInteger(c[key])) throw new ScrapeError('DBI_VALUE', `propagation ${index}: context.${key} must be an integer, got ${String(c[key])}`);
  }
  if (!Array.isArray(p.rows)) throw new ScrapeError('DBI_VALUE', `propagation ${index}: rows must be an array`);
  return { timestart, timeend, context: c, rows: p.rows };
}

/**
 * A payload value as the database takes it: numbers (non-finite → NULL), strings, NULL; booleans
 * as 1/0. Anything else is a `DBI_VALUE` error naming the propagation, row and column.
 */
export function sqlValue(value: unknown, column: string, prop: number, row: number): unknown {
  switch (typeof value) {
    case 'number':
      return Number.isFinite(value) ? value : null;
    case 'string':
      return value;
    case 'undefined':
      return null;
    case 'boolean':
      return value ? 1 : 0;
    case 'bigint':
      return value;
    default:
      if (value === null) return null;
      throw new ScrapeError('DBI_VALUE', `propagation ${prop}: payload row ${row + 1} column ${column}: cannot store ${Object.prototype.toString.call(value)}`);
  }
}
