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

/**
 * mysql2 versions the decoder was read against and tested with: its private row step
 * (`Query#row` in lib/commands/query.js, the state-machine contract `decodeNumericRows` replaces)
 * and its digit arithmetic (`Packet#parseFloat`, `#parseInt`, `#parseIntNoBigCheck` in
 * lib/packets/packet.js), which `numericRowDecoder` copies. With any other version installed the
 * decoder is not installed (`rowDecoderUnavailable`). Add a version only after reading the diff of
 * those two files and running test/source (row-decoder-packets and wide-rows) on it;
 * package.json pins the driver exactly so that an update is a deliberate change.
 */
export const TESTED_DRIVER_VERSIONS: readonly string[] = ['3.24.6'];

let installedVersion: string | undefined;

/** The installed mysql2's version, read once from its package.json ('' when it cannot be read). */
export function installedDriverVersion(): string {
  if (installedVersion === undefined) {
    try {
      const version = (require('mysql2/package.json') as { version?: unknown }).version;
      installedVersion = typeof version === 'string' ? version : '';
    } catch {
      installedVersion = '';
    }
  }
  return installedVersion;
}

/**
 * Why the decoder is not installed with driver `version` (the installed one by default), or
 * undefined when that version was tested (`TESTED_DRIVER_VERSIONS`). The library never prints
 * this: the caller logs it once (the same text for every reader of a process).
 */
export function rowDecoderUnavailable(version: string = installedDriverVersion()): string | undefined {
  if (TESTED_DRIVER_VERSIONS.includes(version)) return undefined;
  return `row decoder not installed: mysql2 ${version || '(version unreadable)'} is not among the versions it was tested with (${TESTED_DRIVER_VERSIONS.join(', ')}); the driver parses every row`;
}

/**
 * Decoded rows per reader also parsed by the driver and compared (`DecoderCheck`). A change of the
 * driver's arithmetic or of its row step shows in most values of a column type, and a wide row
 * holds hundreds of values (the HV tables: 386), so 64 rows compare some 25 000 values. The
 * comparison re-does the driver's parse the decoder saves: 1.1 ms for 64 rows of 386 columns
 * (measured on packets fed to mysql2 3.24.6's `Query`, median of 200 runs), once per reader. A
 * difference confined to rare digit patterns can slip past the first rows: the exact pin and
 * `TESTED_DRIVER_VERSIONS` are the guard for that.
 */
export const SELF_CHECK_ROWS = 64;

/**
 * One reader's self-check of the decoder, shared by all its queries: while `remaining` is above
 * zero each decoded row is also parsed by the driver's own row step and compared value by value
 * (Object.is); on the first difference `off` is set to why, the decoder stays off for every
 * later query of the reader, and rows come from the driver's parse from that row on.
 */
export interface DecoderCheck {
  /** Decoded rows still to compare with the driver's parse. */
  remaining: number;
  /** Why the decoder was turned off (a difference, or a row step that behaved unexpectedly); undefined while it is on. */
  off?: string;
}

/** Makes the decoder for a column set (`numericRowDecoder`; tests give a faulty one to see the self-check catch it). */
export type DecoderFactory = (fields: readonly DriverField[], config: DriverConfig) => RowDecoder | undefined;

/** How `decodeNumericRows` hooks a query. */
export interface DecodeOptions {
  /** The reader's self-check; without it rows are not compared. */
  check?: DecoderCheck;
  /** The driver version to judge (default: the installed one, `installedDriverVersion`). */
  driverVersion?: string;
  /** The decoder factory (default `numericRowDecoder`): a test seam. */
  decoder?: DecoderFactory;
}

/** The parts of a mysql2 text query the decoder hooks into. */
interface DriverQuery {
  row(packet: { buffer: Buffer; offset: number; isEOF(): boolean }, connection: unknown): unknown;
  on(event: 'fields', listener: (fields: DriverField[] | undefined) => void): unknown;
  emit(event: string | symbol, ...args: unknown[]): boolean;
  /** Set when the query was given a callback (rows collected, not emitted). */
  onResult?: unknown;
}

/** Declined rows (left to the driver) after which a query stops trying: more than this, and more than 8 per decoded row. */
const DECLINES_TO_GIVE_UP = 64;

/** A value for a message: strings quoted, -0 shown. */
function shown(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (Object.is(v, -0)) return '-0';
  return String(v);
}

/** Where a decoded row differs from the driver's parse of the same packet (rows as arrays), or undefined when every value is the same (Object.is). */
function difference(decoded: SourceRow, parsed: unknown, fields: readonly DriverField[] | undefined): string | undefined {
  const values = decoded as unknown as unknown[];
  if (!Array.isArray(parsed)) return `the driver gave ${parsed === null ? 'null' : typeof parsed}, not an array`;
  if (parsed.length !== values.length) return `the driver gave ${parsed.length} values, the decoder ${values.length}`;
  const name = (j: number): string => {
    const n = (fields?.[j] as { name?: unknown } | undefined)?.name;
    return typeof n === 'string' ? `${j + 1} (${n})` : `${j + 1}`;
  };
  if (!Object.is(decoded.id, parsed[0])) return `id: decoded ${shown(decoded.id)}, driver ${shown(parsed[0])}`;
  if (decoded.date_time !== parsed[1]) return `column ${name(1)}: decoded ${shown(decoded.date_time)}, driver ${shown(parsed[1])}`;
  for (let j = 0; j < parsed.length; j++) {
    if (j === 1) continue;
    if (!Object.is(values[j], parsed[j])) return `column ${name(j)}: decoded ${shown(values[j])}, driver ${shown(parsed[j])}`;
  }
  return undefined;
}

/**
 * Has a mysql2 text query hand its rows to `onRow`, decoded by `numericRowDecoder` when its
 * columns allow; other rows (and every row of other column sets) keep the driver's own parsing
 * and its 'result' event, in the same order. For a query made by `connection.query(...)` with
 * `rowsAsArray: true`, no callback and no `.stream()`, before its first packet arrives (decoded
 * rows are arrays, and they are not emitted as 'result' nor collected). It replaces the query's
 * row-reading step on that one query object: the step's contract (return the next step; the
 * driver's own step ends the result set) is what mysql2 3.x's `Query` state machine uses. A query
 * whose rows keep being declined (NULLs, long BIGINTs) stops trying.
 *
 * With `options.check`, decoded rows are compared with the driver's parse while
 * `check.remaining` lasts: the driver's row step runs on the same packet with the query's 'result'
 * event held back, the decoded row goes on when the two agree, the driver's row (as 'result')
 * when they differ, after which the decoder is off (`check.off`) for this query and the reader's
 * later ones. Rows stay in order, each delivered once.
 *
 * Returns false, changing nothing, when the query does not have that shape or the driver version
 * was not tested (`rowDecoderUnavailable`), or when `check.off` is already set.
 */
export function decodeNumericRows(query: unknown, config: DriverConfig, onRow: (row: SourceRow) => void, options: DecodeOptions = {}): boolean {
  const q = query as DriverQuery;
  if (typeof q.row !== 'function' || typeof q.on !== 'function' || typeof q.emit !== 'function' || q.onResult) return false;
  if (rowDecoderUnavailable(options.driverVersion ?? installedDriverVersion()) !== undefined) return false;
  const check = options.check;
  if (check?.off !== undefined) return false;
  const makeDecoder = options.decoder ?? numericRowDecoder;
  const driverRow = q.row;
  let decode: RowDecoder | undefined;
  let fields: DriverField[] | undefined;
  let decoded = 0;
  let declined = 0;
  q.on('fields', (f) => {
    fields = f;
    decode = Array.isArray(f) && check?.off === undefined ? makeDecoder(f, config) : undefined;
  });
  /** The driver's row step on `packet` with the query's events held back: its next step and what it would have emitted. */
  const driverStep = (self: DriverQuery, packet: Parameters<DriverQuery['row']>[0], connection: unknown): { next: unknown; events: unknown[][] } => {
    const events: unknown[][] = [];
    const own = Object.prototype.hasOwnProperty.call(self, 'emit');
    const emit = self.emit;
    self.emit = (...args: unknown[]) => {
      events.push(args);
      return true;
    };
    try {
      return { next: driverRow.call(self, packet, connection), events };
    } finally {
      if (own) self.emit = emit;
      else delete (self as Partial<DriverQuery>).emit;
    }
  };
  const turnOff = (reason: string): void => {
    decode = undefined;
    if (check !== undefined && check.off === undefined) {
      check.off = reason;
      check.remaining = 0;
    }
  };
  const step = function (this: DriverQuery, packet: Parameters<DriverQuery['row']>[0], connection: unknown): unknown {
    if (decode !== undefined && !packet.isEOF()) {
      const row = decode(packet.buffer, packet.offset);
      if (row !== undefined) {
        if (check !== undefined && check.remaining > 0) {
          check.remaining--;
          const { next, events } = driverStep(this, packet, connection);
          const normal = next === driverRow && events.length === 1 && events[0][0] === 'result';
          const diff = normal ? difference(row, events[0][1], fields) : 'the driver\'s row step did not give one row';
          if (diff !== undefined) {
            turnOff(`row decoder off: decoded row ${decoded + 1} of a query differs from the parse of mysql2 ${options.driverVersion ?? installedDriverVersion()}: ${diff}`);
            // the driver's row (or whatever its step did) goes on as if never held back
            for (const e of events) this.emit(e[0] as string, ...e.slice(1));
            return next === driverRow ? step : next;
          }
        }
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
