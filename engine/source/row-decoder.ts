import type { SourceRow } from './source-row';

/** What the decoder needs of a column definition (mysql2's `ColumnDefinition`). */
export interface DriverField {
  columnType: number;
  extendedFormat?: string;
}

/** What the decoder needs of a connection's settings (mysql2's `ConnectionConfig`). */
export interface DriverConfig {
  decimalNumbers?: boolean;
  supportBigNumbers?: boolean;
  bigNumberStrings?: boolean;
  dateStrings?: unknown;
  typeCast?: unknown;
}

/** A text-protocol row read from its packet; undefined when the row needs the driver's parser. */
export type RowDecoder = (buffer: Buffer, offset: number) => SourceRow | undefined;

// MySQL column types (protocol constants)
const DECIMAL = 0;
const TINY = 1;
const SHORT = 2;
const LONG = 3;
const FLOAT = 4;
const DOUBLE = 5;
const TIMESTAMP = 7;
const LONGLONG = 8;
const INT24 = 9;
const DATE = 10;
const DATETIME = 12;
const YEAR = 13;
const NEWDECIMAL = 246;

const INT = 0;
const BIG = 1;
const REAL = 2;

/** mysql2 `Packet#parseFloat`, step for step, on the value's text `buf[from, end)`. */
function driverFloat(buf: Buffer, from: number, end: number): number {
  if (end - from > 17) return Number.parseFloat(buf.toString('utf8', from, end));
  let o = from;
  let result = 0;
  let factor = 1;
  let pastDot = false;
  if (buf[o] === 45) {
    o++;
    factor = -1;
  }
  if (buf[o] === 43) o++;
  while (o < end) {
    const c = buf[o++];
    if (c === 46) pastDot = true;
    else if (c === 101 || c === 69) return Number.parseFloat(buf.toString('utf8', from, end)); // exponent: the driver bails out too
    else {
      result *= 10;
      result += c - 48;
      if (pastDot) factor = factor * 10;
    }
  }
  return result / factor;
}

/**
 * A decoder for rows of `id`, `date_time` and numeric columns only (a wide HV table joined with
 * its power table), or undefined when the columns or settings need anything else. It reads each
 * value straight from the packet into one array of doubles per row, with `id` and `date_time`
 * set as properties: the numbers stay unboxed, which saves the driver's per-value heap numbers (most
 * of the garbage of a wide read) and makes the change rules' comparisons plain double
 * arithmetic. Each value is computed with the driver's own digit arithmetic (mysql2
 * `parseIntNoBigCheck`, `parseInt`, `parseFloat`), so it is the very number the driver would
 * give; a row holding a NULL or a BIGINT of 14 digits or more is left to the driver.
 */
export function numericRowDecoder(fields: readonly DriverField[], config: DriverConfig): RowDecoder | undefined {
  if (config.typeCast !== undefined && config.typeCast !== true) return undefined;
  if (fields.length < 3 || config.dateStrings !== true) return undefined;
  const time = fields[1].columnType;
  if (time !== DATETIME && time !== TIMESTAMP && time !== DATE) return undefined;
  const width = fields.length;
  const kinds = new Uint8Array(width);
  for (let i = 0; i < width; i++) {
    if (i === 1) continue;
    const f = fields[i];
    if (f.extendedFormat !== undefined && f.extendedFormat !== '') return undefined;
    switch (f.columnType) {
      case TINY:
      case SHORT:
      case LONG:
      case INT24:
      case YEAR:
        kinds[i] = INT;
        break;
      case LONGLONG:
        if (config.supportBigNumbers && config.bigNumberStrings) return undefined; // the driver gives strings
        kinds[i] = BIG;
        break;
      case FLOAT:
      case DOUBLE:
        kinds[i] = REAL;
        break;
      case DECIMAL:
      case NEWDECIMAL:
        if (!config.decimalNumbers) return undefined; // the driver gives strings
        kinds[i] = REAL;
        break;
      default:
        return undefined;
    }
  }
  // rows are copies of an array of doubles: V8 keeps its elements unboxed, the copy is one
  // allocation in the young generation (a typed array per row costs an off-heap buffer each)
  const template: number[] = [];
  for (let i = 0; i < width; i++) template.push(i === 1 ? NaN : 0.5); // [1]: date_time, a property
  return (buf, start) => {
    const out = template.slice();
    let o = start;
    let text = '';
    for (let i = 0; i < width; i++) {
      const len = buf[o++];
      if (len >= 251) return undefined; // NULL, or a value too long to be a number of ours
      const end = o + len;
      if (i === 1) {
        text = buf.toString('latin1', o, end);
        o = end;
        continue;
      }
      if (len === 0) {
        out[i] = 0;
        continue;
      }
      const kind = kinds[i];
      if (kind === REAL) {
        if (len <= 15) {
          // [-]digits[.digits], the common text of a DECIMAL or DOUBLE: the driver's arithmetic,
          // exact here (at most 15 digits: every step an integer below 2^53)
          let p = o;
          let factor = 1;
          if (buf[p] === 45) {
            factor = -1;
            p++;
          }
          let result = 0;
          for (; p < end; p++) {
            const d = buf[p] - 48;
            if (d < 0 || d > 9) break;
            result = result * 10 + d;
          }
          if (p < end && buf[p] === 46) {
            for (p++; p < end; p++) {
              const d = buf[p] - 48;
              if (d < 0 || d > 9) break;
              result = result * 10 + d;
              factor *= 10;
            }
          }
          if (p === end) {
            out[i] = result / factor;
            o = end;
            continue;
          }
        }
        out[i] = driverFloat(buf, o, end);
        o = end;
        continue;
      }
      // mysql2 Packet#parseIntNoBigCheck (and #parseInt for BIGINTs short enough to be exact)
      let sign = 1;
      if (buf[o] === 45) {
        o++;
        sign = -1;
      }
      if (kind === BIG && end - o >= 14) return undefined;
      if (buf[o] === 43) o++;
      let result = 0;
      while (o < end) {
        result *= 10;
        result += buf[o++] - 48;
      }
      out[i] = result * sign;
    }
    const row = out as unknown as SourceRow;
    row.id = out[0];
    row.date_time = text;
    return row;
  };
}

/** The parts of a mysql2 text query the decoder hooks into. */
interface DriverQuery {
  row(packet: { buffer: Buffer; offset: number; isEOF(): boolean }, connection: unknown): unknown;
  on(event: 'fields', listener: (fields: DriverField[] | undefined) => void): unknown;
  /** Set when the query was given a callback (rows collected, not emitted). */
  onResult?: unknown;
}

/** Declined rows (left to the driver) after which a query stops trying: more than this, and more than 8 per decoded row. */
const DECLINES_TO_GIVE_UP = 64;

/**
 * Has a mysql2 text query hand its rows to `onRow`, decoded by `numericRowDecoder` when its
 * columns allow; other rows (and every row of other column sets) keep the driver's own parsing
 * and its 'result' event, in the same order. For a query made by `connection.query(...)` with
 * `rowsAsArray: true`, no callback and no `.stream()`, before its first packet arrives (decoded
 * rows are arrays, and they are not emitted as 'result' nor collected). It replaces the query's
 * row-reading step on that one query object: the step's contract (return the next step; the
 * driver's own step ends the result set) is what mysql2 3.x's `Query` state machine uses. A query
 * whose rows keep being declined (NULLs, long BIGINTs) stops trying. Returns false, changing
 * nothing, when the query does not have that shape.
 */
export function decodeNumericRows(query: unknown, config: DriverConfig, onRow: (row: SourceRow) => void): boolean {
  const q = query as DriverQuery;
  if (typeof q.row !== 'function' || typeof q.on !== 'function' || q.onResult) return false;
  const driverRow = q.row;
  let decode: RowDecoder | undefined;
  let decoded = 0;
  let declined = 0;
  q.on('fields', (fields) => {
    decode = Array.isArray(fields) ? numericRowDecoder(fields, config) : undefined;
  });
  const step = function (this: DriverQuery, packet: Parameters<DriverQuery['row']>[0], connection: unknown): unknown {
    if (decode !== undefined && !packet.isEOF()) {
      const row = decode(packet.buffer, packet.offset);
      if (row !== undefined) {
        decoded++;
        onRow(row);
        return step;
      }
      if (++declined > DECLINES_TO_GIVE_UP && declined > 8 * decoded) decode = undefined;
    }
    const next = driverRow.call(this, packet, connection);
    return next === driverRow ? step : next;
  };
  q.row = step;
  return true;
}
