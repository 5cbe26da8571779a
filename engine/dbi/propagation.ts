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
  /** Which source rows the stream had read when it decided this validity; kept in `SCRAPE_SOURCE_IDS` when the target has it. */
  source?: SourceIds;
  /** Why it was written; kept in `SCRAPE_PROVENANCE` when the target has it. */
  why?: ProvenanceToWrite;
  /** A repair's overlay: VERSIONDATE beats every validity it overlaps (not only those covering TIMESTART), so readers see it over its whole range. */
  overlayWhole?: boolean;
  /** Why the stream decided it (`changed`, `overage`, `bin`…): never written, kept by a `CollectingWriter` for a dry run. */
  reason?: string;
}

/**
 * Why a validity was written (provenance), kept beside it in the same transaction. Fields a
 * reason has no use for are absent (written NULL): a seed has no source rows.
 */
export interface Provenance {
  /** `changed`, `overage`, `seed`, `bin` or `repair`. */
  reason: string;
  /** For `repair`: the SEQNOs of the validities it overlays (kept in FIRED as `{"overlays": [...]}`). */
  overlays?: number[];
  /** For `changed`: the change rules that fired (index in the regime's `changes`) and on which columns. */
  fired?: { rule: number; columns: string[] }[];
  /** Source table of the stream. */
  sourceTable?: string;
  /** Ids and source-local times of the entries at TIMESTART and TIMEEND. */
  firstId?: number;
  lastId?: number;
  firstTime?: string;
  lastTime?: string;
  /** Samples decided in the range (the proceeding one included). */
  samples?: number;
  /** Entries read with `firstTime <= date_time < lastTime`. */
  rows?: number;
  /** Per threshold-rule column, what the deadband suppressed: samples decided `unchanged`, their largest |value − sv[0]|, min and max. */
  suppressed?: Record<string, SuppressedStats>;
  /** sha256 (hex) of the regime's canonical JSON. */
  regimeHash: string;
  /** The engine's version (package.json). */
  engineVersion: string;
}

/** What the deadband suppressed in one column over a range. */
export interface SuppressedStats {
  /** Samples decided `unchanged` with a numeric value in this column. */
  n: number;
  /** Largest |value − sv[0] value| among them. */
  maxdev: number;
  min: number;
  max: number;
}

/**
 * Provenance as a writer takes it: as read back (`Provenance`), or as the scraper makes it, with
 * what the deadband suppressed packed (`PackedSuppressedStats`). Written the same either way.
 */
export type ProvenanceToWrite = Omit<Provenance, 'suppressed'> & { suppressed?: Provenance['suppressed'] | PackedSuppressedStats };

/**
 * What the deadband suppressed over a range, packed: `(n, maxdev, min, max)` of each column in one
 * Float64Array, over a column list shared by every range of the stream. A range of a 192-channel
 * stream is then 6 KB instead of a record of 192 objects (26 KB), and a catch-up holds thousands
 * of them (each PROCEED sample carries one until it is written). Its JSON (`toJSON`) is the
 * stored form of `SUPPRESSED`: parallel arrays over the columns with `n` > 0, in column order,
 * `{"columns": [...], "n": [...], "maxdev": [...], "min": [...], "max": [...]}`, `maxdev` to 12
 * significant digits (`roundTo12Digits`): half the text of an object per column (13 KB per
 * validity of a 192-channel table, more than its payload rows) and a third of its client time.
 */
export class PackedSuppressedStats {
  constructor(
    readonly columns: readonly string[],
    /** `4 × columns.length` values: n, maxdev, min, max of column k at 4k..4k+3. */
    readonly values: Float64Array,
  ) {}

  /** From stats by column (as `Provenance.suppressed` has them). */
  static of(byColumn: Record<string, SuppressedStats>): PackedSuppressedStats {
    const columns = Object.keys(byColumn);
    const values = new Float64Array(4 * columns.length);
    columns.forEach((c, k) => values.set([byColumn[c].n, byColumn[c].maxdev, byColumn[c].min, byColumn[c].max], 4 * k));
    return new PackedSuppressedStats(columns, values);
  }

  /** The stored JSON's object (what `JSON.stringify` writes). */
  toJSON(): { columns: string[]; n: number[]; maxdev: number[]; min: number[]; max: number[] } {
    const v = this.values;
    const out = { columns: [] as string[], n: [] as number[], maxdev: [] as number[], min: [] as number[], max: [] as number[] };
    for (let k = 0; k < this.columns.length; k++) {
      if (v[4 * k] === 0) continue;
      out.columns.push(this.columns[k]);
      out.n.push(v[4 * k]);
      out.maxdev.push(roundTo12Digits(v[4 * k + 1]));
      out.min.push(v[4 * k + 2]);
      out.max.push(v[4 * k + 3]);
    }
    return out;
  }
}

/**
 * `x` to 12 significant digits: |a − b| of two decimals leaves binary noise (1499.85 − 1499.5 is
 * 0.34999999999990905), which made the stored text long. Rounding is monotonic, so a deviation
 * within a threshold of 12 digits or fewer stays within it. Cheaper than `toPrecision`.
 */
export function roundTo12Digits(x: number): number {
  if (x === 0 || !Number.isFinite(x)) return x;
  const e = Math.floor(Math.log10(Math.abs(x)));
  if (e < -280 || e > 280) return x;
  const f = 10 ** (11 - e);
  return Math.round(x * f) / f;
}

/** `SUPPRESSED` text of a provenance's suppressed statistics (see `PackedSuppressedStats`; NaN and ±Infinity as null). */
export function suppressedJson(suppressed: Record<string, SuppressedStats> | PackedSuppressedStats): string {
  return JSON.stringify(suppressed instanceof PackedSuppressedStats ? suppressed : PackedSuppressedStats.of(suppressed));
}

/**
 * `SUPPRESSED` text back by column: the stored arrays (`PackedSuppressedStats`), or the object
 * per column that versions before wrote, as it is.
 */
export function parseSuppressed(text: string): Record<string, SuppressedStats> {
  const parsed = JSON.parse(text);
  if (!Array.isArray(parsed?.columns)) return parsed as Record<string, SuppressedStats>;
  const at = (values: unknown, k: number): number => (Array.isArray(values) && values[k] !== null && values[k] !== undefined ? Number(values[k]) : NaN);
  const out: Record<string, SuppressedStats> = {};
  parsed.columns.forEach((column: unknown, k: number) => {
    out[String(column)] = { n: at(parsed.n, k), maxdev: at(parsed.maxdev, k), min: at(parsed.min, k), max: at(parsed.max, k) };
  });
  return out;
}

/**
 * The source side of a validity, written beside it in the same transaction: late rows are found
 * against `maxId` (a row dated before `lastTime` with a larger id was not read when it was
 * written), the rest is provenance.
 */
export interface SourceIds {
  /** Source table of the stream. */
  table: string;
  /** Highest source `id` the stream had read when it decided the validity. */
  maxId: number;
  /** Ids and source-local `date_time`s of the entries that are TIMESTART and TIMEEND. */
  firstId: number;
  lastId: number;
  firstTime: string;
  lastTime: string;
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
  const out: Propagation = { timestart, timeend, context: c, rows: p.rows };
  if (p.source) out.source = p.source;
  if (p.why) out.why = p.why;
  if (p.overlayWhole) out.overlayWhole = true;
  return out;
}

/** Where a payload value goes, for the messages of `sqlValue`: the spec table and the propagation. */
export interface ValueSite {
  /** The spec (payload) table, when the caller knows it. */
  table?: string;
  /** The propagation the row belongs to (its validity range is named). */
  propagation?: Pick<Propagation, 'timestart' | 'timeend'>;
  /** Inclusive bounds of an integer column (from its dbtype), checked when given. */
  range?: readonly [number, number];
  /** A DECIMAL column: a string value must be a plain decimal literal (`DECIMAL_LITERAL`), written as it is. */
  decimal?: boolean;
}

/**
 * A plain decimal literal (`-123456789012.12345678`, `0.5`, `7`): what MySQL gives for a DECIMAL
 * read as text. Such a string goes into a DECIMAL column as written, every digit kept (MySQL;
 * SQLite stores it as a REAL, the nearest double, as it does a number).
 */
export const DECIMAL_LITERAL = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)$/;

/**
 * A payload value as the database takes it: finite numbers, strings, NULL (null/undefined);
 * booleans as 1/0. A non-finite number (NaN, ±Infinity, what a mapping makes of a division by
 * zero or a missing value) is a `DBI_NOT_FINITE` error: storing it as NULL would hide a bad
 * mapping behind a plausible gap. A number outside `site.range` is a `DBI_VALUE` error, as a
 * strict MySQL session refuses it, on both dialects. A string goes in as written (a mapping passing
 * a wide DECIMAL through hands over its exact text): into a DECIMAL column (`site.decimal`) it
 * must be a plain decimal literal (`DECIMAL_LITERAL`; strict MySQL refuses other text, SQLite
 * would keep it as text), and a decimal literal for an integer column must, rounded as MySQL
 * rounds it, be in `site.range`, compared exactly (other text is left to the database, whose
 * strict mode or CHECK refuses it). Anything else is a `DBI_VALUE` error. Every
 * error names the table (when known), the attribute, the propagation's validity range, the row
 * and the value.
 */
export function sqlValue(value: unknown, column: string, prop: number, row: number, site?: ValueSite): unknown {
  switch (typeof value) {
    case 'number':
      if (!Number.isFinite(value)) throw new ScrapeError('DBI_NOT_FINITE', `${valueWhere(column, prop, row, site)}: ${String(value)} is not a finite number (NULL is written only for null)`);
      if (site?.range && (value < site.range[0] || value > site.range[1])) {
        throw new ScrapeError('DBI_VALUE', `${valueWhere(column, prop, row, site)}: ${String(value)} is out of the column's range [${site.range[0]}, ${site.range[1]}]`);
      }
      return value;
    case 'string':
      if (site?.decimal && !DECIMAL_LITERAL.test(value)) {
        throw new ScrapeError('DBI_VALUE', `${valueWhere(column, prop, row, site)}: '${value.length > 40 ? value.slice(0, 40) + '…' : value}' is not a decimal number`);
      }
      if (site?.range && DECIMAL_LITERAL.test(value) && !inRange(value, site.range)) {
        throw new ScrapeError('DBI_VALUE', `${valueWhere(column, prop, row, site)}: ${value} is out of the column's range [${site.range[0]}, ${site.range[1]}]`);
      }
      return value;
    case 'undefined':
      return null;
    case 'boolean':
      return value ? 1 : 0;
    case 'bigint':
      if (site?.range && (value < BigInt(site.range[0]) || value > BigInt(site.range[1]))) {
        throw new ScrapeError('DBI_VALUE', `${valueWhere(column, prop, row, site)}: ${String(value)} is out of the column's range [${site.range[0]}, ${site.range[1]}]`);
      }
      return value;
    default:
      if (value === null) return null;
      throw new ScrapeError('DBI_VALUE', `${valueWhere(column, prop, row, site)}: cannot store ${Object.prototype.toString.call(value)}`);
  }
}

/** True when decimal literal `text`, rounded half away from zero (as MySQL stores it in an integer column), is within `range`; exact at any size. */
function inRange(text: string, range: readonly [number, number]): boolean {
  const negative = text[0] === '-';
  const unsigned = text[0] === '-' || text[0] === '+' ? text.slice(1) : text;
  const dot = unsigned.indexOf('.');
  const whole = dot < 0 ? unsigned : unsigned.slice(0, dot);
  let n = BigInt(whole === '' ? '0' : whole);
  if (dot >= 0 && unsigned.charCodeAt(dot + 1) >= 53 /* '5' */) n += 1n;
  if (negative) n = -n;
  return n >= BigInt(range[0]) && n <= BigInt(range[1]);
}

/** `DcsAdTemp.temp, propagation 0 [start, end) payload row 2`, as far as known. */
function valueWhere(column: string, prop: number, row: number, site: ValueSite | undefined): string {
  const attr = site?.table ? `${site.table}.${column}` : `column ${column}`;
  const range = site?.propagation ? ` [${site.propagation.timestart}, ${site.propagation.timeend})` : '';
  return `${attr}: propagation ${prop}${range} payload row ${row + 1}`;
}
