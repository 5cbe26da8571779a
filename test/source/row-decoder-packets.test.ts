import * as fs from 'fs';
import * as path from 'path';
import {
  DecoderCheck,
  DecoderFactory,
  decodeNumericRows,
  installedDriverVersion,
  numericRowDecoder,
  rowDecoderUnavailable,
  SELF_CHECK_ROWS,
  TESTED_DRIVER_VERSIONS,
} from '../../engine/source/row-decoder';
import { prng } from '../support/source-fixture';

/*
 * The decoder against the driver's own classes, without a server: mysql2's `Query` (its state
 * machine, row parser and 'result' events) is fed column-definition and text-protocol row packets
 * written here byte by byte, as a server sends them. The connection object stands in for the
 * socket only (the query writes its command to it; nothing answers).
 */

// the driver's classes from its lib (not exported by the package: reached by path)
const LIB = path.join(path.dirname(require.resolve('mysql2')), 'lib');
const Query = require(path.join(LIB, 'commands', 'query.js'));
const Packet = require(path.join(LIB, 'packets', 'packet.js'));
const ConnectionConfig = require(path.join(LIB, 'connection_config.js'));

// MySQL column types and flags (protocol constants)
const T = { NEWDECIMAL: 246, TINY: 1, SHORT: 2, LONG: 3, FLOAT: 4, DOUBLE: 5, LONGLONG: 8, INT24: 9, DATETIME: 12, YEAR: 13, VARCHAR: 253 };
const UNSIGNED = 32;
const BINARY_CHARSET = 63;
const UTF8MB4_CHARSET = 45;

interface Column {
  name: string;
  type: number;
  flags?: number;
}

/** A length-encoded string (NULL as 0xfb). */
function lenenc(text: string | null): Buffer {
  if (text === null) return Buffer.from([0xfb]);
  const bytes = Buffer.from(text, 'latin1');
  if (bytes.length < 251) return Buffer.concat([Buffer.from([bytes.length]), bytes]);
  const n = Buffer.alloc(3);
  n[0] = 0xfc;
  n.writeUInt16LE(bytes.length, 1);
  return Buffer.concat([n, bytes]);
}

/** One protocol packet (3-byte length, sequence id, payload) as the driver's `Packet`. */
function packet(payload: Buffer, seq: number): unknown {
  const head = Buffer.alloc(4);
  head.writeUIntLE(payload.length, 0, 3);
  head[3] = seq & 0xff;
  const buf = Buffer.concat([head, payload]);
  return new Packet(seq, buf, 0, buf.length);
}

/** A protocol-41 column definition. */
function columnDefinition(c: Column): Buffer {
  const fixed = Buffer.alloc(13);
  fixed[0] = 0x0c;
  fixed.writeUInt16LE(c.type === T.VARCHAR ? UTF8MB4_CHARSET : BINARY_CHARSET, 1);
  fixed.writeUInt32LE(c.type === T.DATETIME ? 19 : 20, 3);
  fixed[7] = c.type;
  fixed.writeUInt16LE(c.flags ?? 0, 8);
  fixed[10] = 0; // decimals
  return Buffer.concat([lenenc('def'), lenenc('db'), lenenc('t'), lenenc('t'), lenenc(c.name), lenenc(c.name), fixed]);
}

/** An EOF packet's payload (no more results). */
const EOF = Buffer.from([0xfe, 0, 0, 0x02, 0]);

/** The connection settings `openDatabase` gives mysql2 for a source read by the scraper. */
const SETTINGS = { dateStrings: true, supportBigNumbers: true, decimalNumbers: true };

/** A stand-in for the socket: the query writes its command here; everything it reads is fed to it by `runQuery`. */
function connection(settings: Record<string, unknown> = SETTINGS) {
  return {
    config: new ConnectionConfig(settings),
    clientEncoding: 'utf8',
    serverEncoding: 'utf8',
    serverCapabilityFlags: 0,
    _handshakePacket: { capabilityFlags: 0 },
    writePacket: () => undefined,
    _resetSequenceId: () => undefined,
  };
}

/** A row as delivered: how, and its values as the driver's arrays hold them (decoded rows with their `date_time` slot filled from the property). */
interface Delivered {
  via: 'decoder' | 'driver';
  values: unknown[];
}

/**
 * Runs one text query through a real mysql2 `Query`: the result set header, `columns`, EOF,
 * `rows` (texts, null for NULL) and EOF, with `hook` given the query and its connection settings
 * first (as `streamMysqlRows` does). Returns the rows delivered in order, decoded ones through
 * the hook's `onRow` (from `deliver`) and the driver's through 'result'.
 */
function runQuery(columns: Column[], rows: (string | null)[][], hook?: (query: any, config: any, deliver: (row: any) => void) => void) {
  const conn = connection();
  const query = new Query({ sql: 'SELECT (rows written by hand)', rowsAsArray: true }, undefined);
  const delivered: Delivered[] = [];
  const errors: unknown[] = [];
  let ended = false;
  query.on('result', (r: unknown[]) => delivered.push({ via: 'driver', values: r }));
  query.on('error', (e: unknown) => errors.push(e));
  query.on('end', () => (ended = true));
  hook?.(query, conn.config, (row) => {
    const values = [...(row as unknown[])];
    values[1] = row.date_time;
    if (row.id !== values[0]) values[0] = `id property ${row.id} <> slot ${String(values[0])}`;
    delivered.push({ via: 'decoder', values });
  });
  let seq = 1;
  query.execute(null, conn); // sends the command
  query.execute(packet(Buffer.from([columns.length]), seq++), conn);
  for (const c of columns) query.execute(packet(columnDefinition(c), seq++), conn);
  query.execute(packet(EOF, seq++), conn);
  for (const r of rows) query.execute(packet(Buffer.concat(r.map(lenenc)), seq++), conn);
  query.execute(packet(EOF, seq++), conn);
  expect(errors).toEqual([]);
  expect(ended).toBe(true);
  return { delivered, query };
}

const COLUMNS: Column[] = [
  { name: 'id', type: T.LONG, flags: UNSIGNED },
  { name: 'date_time', type: T.DATETIME },
  { name: 'a', type: T.NEWDECIMAL },
  { name: 'd', type: T.DOUBLE },
  { name: 'f', type: T.FLOAT },
  { name: 'b', type: T.LONGLONG },
  { name: 't', type: T.TINY },
  { name: 's', type: T.SHORT },
  { name: 'm', type: T.INT24 },
  { name: 'y', type: T.YEAR },
];
const D = COLUMNS.findIndex((c) => c.name === 'd');

/**
 * Doubles as MariaDB writes them, with one where the driver's digit arithmetic and `parseFloat`
 * give different numbers (9.931727721848235: the driver makes it 9.931727721848237),
 * exponent forms (the driver calls parseFloat), negative zero, and more than 17 characters.
 */
const DOUBLE_TEXTS = ['0', '-0', '1', '-2.75', '0.30000000000000004', '3.141592653589793', '9.931727721848235', '-9.315739469083885', '1e22', '1.7976931348623157e308', '-1e-300', '123456.789', '0.1', '12345678901234567890.5'];

/** `n` rows of every column type: random values, with a NULL every 9th row and a BIGINT of 14+ digits every 5th (rows the decoder leaves to the driver). */
function rowsOf(n: number, seed = 5): (string | null)[][] {
  const rnd = prng(seed);
  const rows: (string | null)[][] = [];
  for (let id = 1; id <= n; id++) {
    const digits = 1 + Math.floor(rnd() * 17);
    const mantissa = Math.floor(rnd() * 10 ** digits);
    const random = String((mantissa / 10 ** Math.floor(rnd() * digits)) * (rnd() < 0.5 ? -1 : 1));
    rows.push([
      String(id),
      `2011-02-01 00:${String(Math.floor(id / 60) % 60).padStart(2, '0')}:${String(id % 60).padStart(2, '0')}`,
      ((Math.floor(rnd() * 2000000) - 1000000) / 100).toFixed(2),
      id % 2 === 0 ? DOUBLE_TEXTS[(id / 2) % DOUBLE_TEXTS.length] : random,
      String(Math.fround(rnd() * 1000)),
      id % 5 === 0 ? '-9223372036854775808' : String(Math.floor(rnd() * 1e13) - 5e12),
      String(Math.floor(rnd() * 256) - 128),
      String(Math.floor(rnd() * 65536) - 32768),
      id % 9 === 0 ? null : String(Math.floor(rnd() * 16777216) - 8388608),
      String(1901 + (id % 255)),
    ]);
  }
  return rows;
}

/** Each delivered row equals the driver's own parse of the same packet, value by value (Object.is). */
function expectDriversRows(delivered: Delivered[], driver: Delivered[]): void {
  expect(delivered).toHaveLength(driver.length);
  for (let i = 0; i < driver.length; i++) {
    const same = driver[i].values.length === delivered[i].values.length && driver[i].values.every((v, j) => Object.is(v, delivered[i].values[j]));
    expect({ row: i + 1, same: same ? true : { driver: driver[i].values, delivered: delivered[i].values } }).toEqual({ row: i + 1, same: true });
  }
}

/** The value texts of a text-protocol row at `offset` (every length below 251: the decoder's rows). */
function texts(buf: Buffer, offset: number, width: number): string[] {
  const out: string[] = [];
  let o = offset;
  for (let i = 0; i < width; i++) {
    const len = buf[o++];
    out.push(buf.toString('latin1', o, o + len));
    o += len;
  }
  return out;
}

/**
 * A decoder with faulty arithmetic: DOUBLE columns read with `Number.parseFloat` (the correctly
 * rounded number) instead of the driver's digit arithmetic. It agrees with the driver on most
 * values and differs on a few of 16-17 digits (9.931727721848235), the kind of slip a driver
 * update could bring.
 */
const parseFloatDecoder: DecoderFactory = (fields, config) => {
  const real = numericRowDecoder(fields, config);
  if (real === undefined) return undefined;
  const doubles = fields.map((f, i) => (f.columnType === T.DOUBLE ? i : -1)).filter((i) => i >= 0);
  return (buf, offset) => {
    const row = real(buf, offset);
    if (row === undefined) return undefined;
    const t = texts(buf, offset, fields.length);
    for (const j of doubles) (row as unknown as number[])[j] = Number.parseFloat(t[j]);
    return row;
  };
};

describe('the row decoder on packets fed to a real mysql2 Query (no server)', () => {
  const rows = rowsOf(400);
  const driver = runQuery(COLUMNS, rows).delivered;

  it('the fixture holds what it is meant to: values where the driver and parseFloat differ, and rows the decoder leaves to the driver', () => {
    expect(driver).toHaveLength(400);
    expect(driver.every((r) => r.via === 'driver')).toBe(true);
    const byId = new Map(driver.map((r) => [r.values[0], r.values]));
    // id 12: DOUBLE_TEXTS[6], where the driver's digit arithmetic is not parseFloat's
    expect(rows[11][D]).toBe('9.931727721848235');
    expect(byId.get(12)![D]).toBe(9.931727721848237);
    expect(byId.get(10)![5]).toBe('-9223372036854775808');
    expect(byId.get(9)![8]).toBeNull();
  });

  it('every decoded row is the driver parse of its packet, value by value, in order, with the self-check on and off', () => {
    for (const check of [undefined, { remaining: 1000 } as DecoderCheck]) {
      let hooked = false;
      const { delivered, query } = runQuery(COLUMNS, rows, (q, config, deliver) => {
        hooked = decodeNumericRows(q, config, deliver, { check });
      });
      expect(hooked).toBe(true);
      expect(query.row).not.toBe(Query.prototype.row);
      expectDriversRows(delivered, driver);
      // rows without a NULL (id % 9) or a long BIGINT (id % 5): 400 - 44 - 80 + 8, by hand
      expect(delivered.filter((r) => r.via === 'decoder')).toHaveLength(284);
      if (check !== undefined) {
        expect(check.off).toBeUndefined();
        expect(check.remaining).toBe(1000 - 284);
      }
    }
  });

  it('the self-check covers the first SELF_CHECK_ROWS decoded rows of a reader: a fault in row 64 is caught, one from row 65 on is not', () => {
    /** The real decoder, with column `a` off by 0.5 from the `k`th decoded row on. */
    const faultyFrom =
      (k: number): DecoderFactory =>
      (fields, config) => {
        const real = numericRowDecoder(fields, config);
        let n = 0;
        return (buf, offset) => {
          const row = real!(buf, offset);
          if (row !== undefined && ++n >= k) (row as unknown as number[])[2] += 0.5;
          return row;
        };
      };
    const caught: DecoderCheck = { remaining: SELF_CHECK_ROWS };
    const late: DecoderCheck = { remaining: SELF_CHECK_ROWS };
    const first = runQuery(COLUMNS, rows, (q, config, deliver) => decodeNumericRows(q, config, deliver, { check: caught, decoder: faultyFrom(SELF_CHECK_ROWS) }));
    const second = runQuery(COLUMNS, rows, (q, config, deliver) => decodeNumericRows(q, config, deliver, { check: late, decoder: faultyFrom(SELF_CHECK_ROWS + 1) }));
    expect(caught.off).toContain(`decoded row ${SELF_CHECK_ROWS} of a query`);
    expect(caught.off).toContain('column 3 (a)');
    expectDriversRows(first.delivered, driver);
    expect(first.delivered.filter((r) => r.via === 'decoder')).toHaveLength(SELF_CHECK_ROWS - 1);
    expect(late).toEqual({ remaining: 0 });
    expect(second.delivered.filter((r, i) => !Object.is(r.values[2], driver[i].values[2]))).toHaveLength(284 - SELF_CHECK_ROWS);
  });

  it('a decoder with faulty arithmetic is caught by the self-check and turned off; the rows are still the driver’s, in order, none lost or doubled', () => {
    const check: DecoderCheck = { remaining: SELF_CHECK_ROWS };
    const { delivered } = runQuery(COLUMNS, rows, (q, config, deliver) => decodeNumericRows(q, config, deliver, { check, decoder: parseFloatDecoder }));
    expectDriversRows(delivered, driver);
    // the first decoded row whose DOUBLE parseFloat reads differently from the driver
    const honest = runQuery(COLUMNS, rows, (q, config, deliver) => decodeNumericRows(q, config, deliver)).delivered;
    const firstDifferent = honest.findIndex((r, i) => r.via === 'decoder' && Number.parseFloat(rows[i][D]!) !== driver[i].values[D]);
    expect(firstDifferent).toBeGreaterThan(0);
    expect(firstDifferent).toBeLessThan(SELF_CHECK_ROWS);
    const id = firstDifferent + 1;
    expect(check.off).toContain(`column ${D + 1} (d)`);
    expect(check.off).toContain(`driver ${String(driver[firstDifferent].values[D])}`);
    expect(check.off).toContain(`mysql2 ${installedDriverVersion()}`);
    expect(check.remaining).toBe(0);
    // decoded up to the faulty row, the driver's rows from it on
    expect(delivered.findIndex((r) => r.via === 'driver' && r.values[0] === id)).toBe(firstDifferent);
    expect(delivered.slice(firstDifferent).every((r) => r.via === 'driver')).toBe(true);
    expect(delivered.slice(0, firstDifferent).some((r) => r.via === 'decoder')).toBe(true);
    // off for good: a later query of the same reader is not hooked
    let hooked = true;
    const later = runQuery(COLUMNS, rows, (q, config, deliver) => {
      hooked = decodeNumericRows(q, config, deliver, { check, decoder: parseFloatDecoder });
    });
    expect(hooked).toBe(false);
    expectDriversRows(later.delivered, driver);
    expect(later.delivered.every((r) => r.via === 'driver')).toBe(true);
  });

  it('without the self-check the same faulty decoder goes unnoticed (what the check is for)', () => {
    const { delivered } = runQuery(COLUMNS, rows, (q, config, deliver) => decodeNumericRows(q, config, deliver, { decoder: parseFloatDecoder }));
    const differing = delivered.filter((r, i) => !Object.is(r.values[D], driver[i].values[D]));
    expect(differing.length).toBeGreaterThan(0);
    expect(differing.every((r) => r.via === 'decoder')).toBe(true);
  });

  it('a driver version it was not tested with leaves the query as the driver made it', () => {
    let hooked = true;
    let decoded = 0;
    const { delivered, query } = runQuery(COLUMNS, rows, (q, config) => {
      hooked = decodeNumericRows(q, config, () => decoded++, { driverVersion: '3.24.7' });
    });
    expect(hooked).toBe(false);
    expect(decoded).toBe(0);
    expect(Object.prototype.hasOwnProperty.call(query, 'row')).toBe(false);
    expectDriversRows(delivered, driver);
    expect(rowDecoderUnavailable('3.24.7')).toContain('mysql2 3.24.7 is not among the versions it was tested with');
    expect(rowDecoderUnavailable('')).toContain('(version unreadable)');
  });

  it('the installed driver is a tested version, pinned exactly in package.json', () => {
    const installed = JSON.parse(fs.readFileSync(require.resolve('mysql2/package.json'), 'utf8')).version;
    expect(installedDriverVersion()).toBe(installed);
    expect(TESTED_DRIVER_VERSIONS).toContain(installed);
    expect(rowDecoderUnavailable()).toBeUndefined();
    const root = path.join(__dirname, '..', '..');
    const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
    const lock = JSON.parse(fs.readFileSync(path.join(root, 'package-lock.json'), 'utf8'));
    expect(pkg.dependencies.mysql2).toBe(installed);
    expect(lock.packages[''].dependencies.mysql2).toBe(installed);
    expect(lock.packages['node_modules/mysql2'].version).toBe(installed);
  });

  it('a query whose columns the decoder does not take is left to the driver, rows unchanged', () => {
    const columns: Column[] = [...COLUMNS.slice(0, 3), { name: 'txt', type: T.VARCHAR }];
    const textRows = rows.slice(0, 20).map((r) => [r[0], r[1], r[2], `text ${r[0]}`]);
    const plain = runQuery(columns, textRows).delivered;
    const check: DecoderCheck = { remaining: SELF_CHECK_ROWS };
    const { delivered } = runQuery(columns, textRows, (q, config, deliver) => decodeNumericRows(q, config, deliver, { check }));
    expectDriversRows(delivered, plain);
    expect(delivered.every((r) => r.via === 'driver')).toBe(true);
    expect(check).toEqual({ remaining: SELF_CHECK_ROWS });
  });
});
