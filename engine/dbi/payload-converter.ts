import { ScrapeError } from '../core/errors';
import { columnValueKind, integerRange } from '../spec/ddl';
import type { SpecColumn } from '../spec/spec-table';
import { Propagation, ValueSite, sqlValue } from './propagation';

/**
 * The payload columns a converter fills: attribute names, or spec columns (name and dbtype), whose
 * integer types then bound their values (`integerRange`) so both dialects refuse an overflow alike,
 * and whose DECIMAL types take numeric text as written (exact digits; see `sqlValue`).
 */
export type PayloadColumns = readonly (string | Pick<SpecColumn, 'name' | 'dbtype'>)[];

/** What `sqlValue` checks of one column's values: integer bounds, DECIMAL text. */
type ColumnCheck = Pick<ValueSite, 'range' | 'decimal'>;

/** Column names and, per column, what is checked of its values (nothing for a bare name). */
function columnSites(columns: PayloadColumns): { names: string[]; checks: ColumnCheck[] } {
  return {
    names: columns.map((c) => (typeof c === 'string' ? c : c.name)),
    checks: columns.map((c) => (typeof c === 'string' ? {} : { range: integerRange(c.dbtype), decimal: columnValueKind(c.dbtype) === 'decimal' || undefined })),
  };
}

/** Payload rows as LOAD DATA text, and which fields (row × attribute) hold strings. */
export interface PayloadLines {
  chunks: Buffer[];
  rows: number;
  strings: Set<number>;
}

/** One propagation's attribute values, row-major, and its row count (for specs without attributes). */
export type PayloadValues = unknown[] & { rows?: number };

/** The payload of one write: LOAD DATA lines (MySQL; `byInsert` when they go in as INSERTs) or flat values per propagation. */
export interface Payload {
  lines?: PayloadLines;
  byInsert?: boolean;
  values?: PayloadValues[];
}

/** Payload rows in one propagation's values. */
export function rowsIn(values: PayloadValues, attrs: number): number {
  return values.rows ?? (attrs > 0 ? values.length / attrs : 0);
}

/**
 * Flat attribute values per propagation (row-major) for the INSERT paths, checked and converted
 * once, before the transaction: no reference to the rows is kept.
 */
export function payloadValues(props: Propagation[], columns: PayloadColumns, table?: string): PayloadValues[] {
  const { names, checks } = columnSites(columns);
  return props.map((p, i) => {
    const out: PayloadValues = new Array<unknown>(p.rows.length * names.length);
    out.rows = p.rows.length;
    const sites: ValueSite[] = checks.map((check) => ({ table, propagation: p, ...check }));
    let k = 0;
    for (let r = 0; r < p.rows.length; r++) {
      const row = p.rows[r];
      if (row === null || typeof row !== 'object') throw new ScrapeError('DBI_VALUE', `propagation ${i}: payload row ${r + 1} is not an object`);
      for (let c = 0; c < names.length; c++) out[k++] = sqlValue(row[names[c]], names[c], i, r, sites[c]);
    }
    return out;
  });
}

/** Bytes per LOAD DATA packet: well under the smallest `max_allowed_packet` (1 MiB). */
const LOAD_DATA_PIECE = 1 << 18;

/**
 * The payload as LOAD DATA text (tab-separated, `\N` for NULL, backslash escapes), checked as
 * `payloadValues` checks, in pieces of at most `LOAD_DATA_PIECE` bytes (one packet each); one
 * propagation at a time. Each line: the propagation's index in the batch, ROW_COUNTER, the
 * attributes.
 */
export class LinesBuilder {
  private readonly out = new PieceWriter();
  private readonly strings: number[] = [];
  private rows = 0;
  private readonly columns: string[];
  private readonly checks: ColumnCheck[];

  /** `table`: the spec table, named in value errors. */
  constructor(columns: PayloadColumns, private readonly table?: string) {
    ({ names: this.columns, checks: this.checks } = columnSites(columns));
  }

  /** Adds the rows of propagation `i` of the batch. */
  add(p: Propagation, i: number): void {
    const { columns, out } = this;
    const sites: ValueSite[] = this.checks.map((check) => ({ table: this.table, propagation: p, ...check }));
    for (let r = 0; r < p.rows.length; r++) {
      const row = p.rows[r];
      if (row === null || typeof row !== 'object') throw new ScrapeError('DBI_VALUE', `propagation ${i}: payload row ${r + 1} is not an object`);
      out.integer(i);
      out.byte(TAB);
      out.integer(r + 1);
      for (let c = 0; c < columns.length; c++) {
        const v = sqlValue(row[columns[c]], columns[c], i, r, sites[c]);
        out.byte(TAB);
        if (typeof v === 'number') out.number(v);
        else if (v === null) out.ascii('\\N');
        else {
          if (typeof v === 'string') this.strings.push(this.rows * columns.length + c);
          out.text(loadDataField(v));
        }
      }
      out.byte(NEWLINE);
      this.rows++;
    }
  }

  /** The lines written, and which fields hold strings. */
  finish(): PayloadLines {
    return { chunks: this.out.finish(), rows: this.rows, strings: new Set(this.strings) };
  }
}

const TAB = 9;
const NEWLINE = 10;

/**
 * LOAD DATA text written straight into pieces of at most `LOAD_DATA_PIECE` bytes (one packet
 * each; a line may continue in the next piece, the server reads one stream). Numbers are
 * written as JS prints them, integers digit by digit: no string per line or per field (building
 * lines by concatenation cost 150 MB of garbage for 400 k payload rows).
 */
class PieceWriter {
  private readonly pieces: Buffer[] = [];
  private buf = Buffer.allocUnsafe(LOAD_DATA_PIECE);
  private at = 0;

  /** Starts a new piece when fewer than `n` bytes are left in this one. */
  private room(n: number): void {
    if (this.at + n <= this.buf.length) return;
    this.pieces.push(this.buf.subarray(0, this.at));
    this.buf = Buffer.allocUnsafe(LOAD_DATA_PIECE);
    this.at = 0;
  }

  /** One byte (a tab, a newline). */
  byte(b: number): void {
    this.room(1);
    this.buf[this.at++] = b;
  }

  /** A short ASCII text (a number as JS prints it, `\N`). */
  ascii(s: string): void {
    this.room(s.length);
    this.at += this.buf.write(s, this.at, 'latin1');
  }

  /** A number as `String(n)` prints it. */
  number(n: number): void {
    if (Number.isSafeInteger(n)) this.integer(n);
    else this.ascii(String(n));
  }

  /** A safe integer, digit by digit (`-0` as `0`, as `String` prints it). */
  integer(n: number): void {
    this.room(17);
    const buf = this.buf;
    if (n < 0) {
      buf[this.at++] = 45;
      n = -n;
    }
    let digits = 1;
    for (let m = n; m >= 10; m = Math.floor(m / 10)) digits++;
    let k = (this.at += digits);
    do {
      buf[--k] = 48 + (n % 10);
      n = Math.floor(n / 10);
    } while (n > 0);
  }

  /** Any text, as UTF-8, across pieces when it does not fit. */
  text(s: string): void {
    const bytes = Buffer.from(s, 'utf8');
    for (let k = 0; k < bytes.length; ) {
      this.room(1);
      const n = Math.min(bytes.length - k, this.buf.length - this.at);
      bytes.copy(this.buf, this.at, k, k + n);
      this.at += n;
      k += n;
    }
  }

  /** The pieces written. */
  finish(): Buffer[] {
    // the pieces are held until written (a write behind waits for the one before it): a last
    // piece less than half full is copied out of its 256 KB buffer, so a live write of a few
    // hundred bytes holds that much (55 streams held 17 MB of mostly empty buffers)
    if (this.at > 0) this.pieces.push(this.at < this.buf.length / 2 ? Buffer.from(this.buf.subarray(0, this.at)) : this.buf.subarray(0, this.at));
    this.buf = Buffer.alloc(0);
    this.at = 0;
    return this.pieces;
  }
}

const LOAD_DATA_SPECIAL = /[\\\t\n\r\0]/;
const LOAD_DATA_ESCAPES: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r', '\0': '\\0' };

/** A value checked by `sqlValue` as a LOAD DATA field (default FIELDS/LINES settings). */
function loadDataField(v: unknown): string {
  if (typeof v === 'number') return String(v);
  if (v === null || v === undefined) return '\\N';
  if (typeof v === 'string') return LOAD_DATA_SPECIAL.test(v) ? v.replace(/[\\\t\n\r\0]/g, (ch) => LOAD_DATA_ESCAPES[ch]) : v;
  return String(v);
}
