import { Knex } from 'knex';
import { SourceReader, SourceRow } from '../../engine/source/source-reader';
import { SourceStream, tableColumns } from '../../engine/source/source-stream';
import { DecoderFactory, decodeNumericRows, numericRowDecoder } from '../../engine/source/row-decoder';
import { openDatabase } from '../../engine/db/open-database';
import { DIALECTS, createTestDatabase, TestDatabase } from '../support/databases';
import { createSourceTable, insertRows, localPlus, prng } from '../support/source-fixture';

const START = '2011-02-01 00:00:00';
const VOLTS = Array.from({ length: 60 }, (_, i) => `v${String(i + 1).padStart(2, '0')}`);
const FLAGS = Array.from({ length: 50 }, (_, i) => `p${String(i + 1).padStart(2, '0')}`);
/** The other main columns: one of each numeric type. */
const OTHERS: Record<string, string> = { d1: 'double', d2: 'double', f1: 'float', s1: 'smallint', i1: 'int', u1: 'int unsigned', b1: 'bigint', t1: 'tinyint', big: 'decimal(15,10)' }; // 15 digits: read as a number (wider DECIMALs come as exact text, test/source/wide-decimal)

/** Doubles whose text MariaDB and SQLite give back exactly (at most 15 significant digits, or exponent form). */
const DOUBLES = [0, 1, -1, 0.5, -2.75, 1e-7, -3.5e-12, 1.5e300, 2.5e-300, 123456.789, -98765.4321, 1e21, 299792458, 6.02214076e23];

interface Fixture {
  main: Record<string, unknown>[];
  pw: Record<string, unknown>[];
  /** Each row as the scraper must see it: every value a number (or null), by name. */
  expected: Record<string, unknown>[];
}

/**
 * `rows` rows of a wide HV-like table (60 decimal(6,2) voltages, one column of each other
 * numeric type) joined with 50 tinyint flags; every 7th row holds NULLs. Expected values are the
 * numbers written: decimals as `Number` of their text, the rest as given.
 */
function fixture(rows: number): Fixture {
  const rnd = prng(20111128);
  const main: Record<string, unknown>[] = [];
  const pw: Record<string, unknown>[] = [];
  const expected: Record<string, unknown>[] = [];
  for (let id = 1; id <= rows; id++) {
    const date_time = localPlus(START, 10 * id);
    const m: Record<string, unknown> = { id, date_time };
    const e: Record<string, unknown> = { id, date_time };
    for (const v of VOLTS) {
      // -9999.99 .. 9999.99, with short forms (1500.5 → "1500.50", 0 → "0.00") among them
      const cents = Math.round((rnd() * 2 - 1) * 999999) * (rnd() < 0.1 ? 0 : 1);
      const text = (cents / 100).toFixed(2);
      m[v] = text;
      e[v] = Number(text);
    }
    const others: Record<string, unknown> = {
      d1: DOUBLES[id % DOUBLES.length],
      d2: Math.round(rnd() * 1e9) / 1e4,
      f1: [0.5, -1.25, 1024, 3.75, -0.125][id % 5],
      s1: [-32768, 32767, 0, -1, 12345][id % 5],
      i1: [-2147483648, 2147483647, 7, -42, 0][id % 5],
      u1: [4294967295, 0, 1, 123456789][id % 4],
      b1: [9007199254740991, -9007199254740991, 12345678901234, -1234567890123, 0, 99999999999999][id % 6],
      t1: [-128, 127, 0, -1, 5][id % 5],
      big: ['12345.5', '-0.0009765625', '0', '42.5'][id % 4], // '12345.5000000000': 16 characters, the long-text path
    };
    for (const [k, v] of Object.entries(others)) {
      m[k] = v;
      e[k] = typeof v === 'string' ? Number(v) : v;
    }
    const p: Record<string, unknown> = { id, date_time };
    for (const f of FLAGS) {
      p[f] = Math.floor(rnd() * 3) - 1;
      e[`pw_${f}`] = p[f];
    }
    if (id % 7 === 0) {
      m.v13 = null;
      e.v13 = null;
      p.p07 = null;
      e.pw_p07 = null;
    }
    main.push(m);
    pw.push(p);
    expected.push(e);
  }
  return { main, pw, expected };
}

/** Creates `<base>_Vmon` and `<base>_Pw` holding the fixture. */
async function createFixture(db: Knex, f: Fixture, base = 'HV'): Promise<void> {
  await createSourceTable(db, `${base}_Vmon`, { ...Object.fromEntries(VOLTS.map((v) => [v, 'decimal(6,2)'])), ...OTHERS });
  await createSourceTable(db, `${base}_Pw`, Object.fromEntries(FLAGS.map((p) => [p, 'tinyint'])));
  await insertRows(db, `${base}_Vmon`, f.main);
  await insertRows(db, `${base}_Pw`, f.pw);
}

async function hvStream(db: Knex, base = 'HV'): Promise<SourceStream> {
  const main = (await tableColumns(db, `${base}_Vmon`)).filter((c) => c.name !== 'id' && c.name !== 'date_time');
  const joined = (await tableColumns(db, `${base}_Pw`)).filter((c) => c.name !== 'id' && c.name !== 'date_time');
  const prefixed = joined.map((c) => ({ ...c, name: `pw_${c.name}` }));
  return {
    table: `${base}_Vmon`,
    captures: {},
    context: { sitemask: 1, simmask: 1, subsite: 1, task: 0, aggregateno: -1 },
    columns: [...main, ...prefixed],
    mainColumns: main,
    joins: [{ table: `${base}_Pw`, prefix: 'pw_', columns: prefixed, tableColumns: joined.map((c) => c.name) }],
    declIndex: 0,
    zone: 'Asia/Shanghai',
  };
}

/** A row decoded from its packet by numericRowDecoder (its date_time slot is NaN; the driver's arrays hold the text there). */
const isDecoded = (row: SourceRow): boolean => Array.isArray(row) && Number.isNaN((row as unknown as unknown[])[1]);

/**
 * Every row from START as the scraper reads them (streamed on MySQL, by pages on SQLite, and by
 * pages after a missing joined row), as named objects; how many came decoded, and which were
 * skipped for a joined row that will never come.
 */
async function readAll(reader: SourceReader): Promise<{ rows: SourceRow[]; decoded: number; skipped: number[] }> {
  const rows: SourceRow[] = [];
  const skipped: number[] = [];
  let decoded = 0;
  let after: { date_time: string; id: number } | undefined;
  let byPages = !reader.canStream();
  for (;;) {
    const page: SourceRow[] = [];
    if (!byPages) {
      const streamed = await reader.streamPage(START, after, (row) => {
        page.push(row);
        return true;
      });
      if (streamed.joinMissing) byPages = true;
      else if (page.length === 0) return { rows, decoded, skipped };
      if (page.length > 0) after = { date_time: page[page.length - 1].date_time, id: page[page.length - 1].id };
    } else {
      const read = await reader.readPage(START, after);
      if (read.lastKey === undefined) return { rows, decoded, skipped };
      page.push(...read.rows);
      skipped.push(...read.skipped.map((r) => r.id));
      after = read.lastKey;
    }
    for (const row of page) {
      if (isDecoded(row)) decoded++;
      rows.push(reader.materialize(row));
    }
  }
}

/** `rows` hold exactly the expected columns of `expected` (by name). */
function expectValues(rows: SourceRow[], expected: Record<string, unknown>[]): void {
  expect(rows).toHaveLength(expected.length);
  for (const [i, row] of rows.entries()) {
    const want = expected[i];
    const got: Record<string, unknown> = {};
    for (const k of Object.keys(want)) got[k] = row[k];
    expect(got).toEqual(want);
  }
}

/** The source as `scrape run` opens it (DECIMAL as numbers). */
const asScraperReads = (src: TestDatabase): Knex => openDatabase(src.location, { readOnly: true, decimalNumbers: true });

describe.each(DIALECTS)('wide numeric rows on %s', (dialect) => {
  let src: TestDatabase;
  let db: Knex;
  const f = fixture(90);
  beforeAll(async () => {
    src = await createTestDatabase(dialect, 'wide_rows');
    await createFixture(src.db, f);
    db = asScraperReads(src);
  });
  afterAll(async () => {
    await db.destroy();
    await src.drop();
  });

  it.each([true, false])('the scraper reads the numbers stored, NULLs as NULL, in (date_time, id) order (rows as arrays: %s)', async (asArrays) => {
    const reader = new SourceReader(db, await hvStream(db), 25);
    // only wide MySQL rows can be read as arrays; streamed arrays of numbers are decoded from their packets
    const arrays = asArrays && reader.useArrayRows();
    expect(arrays).toBe(asArrays && dialect === 'mariadb');
    const { rows, decoded, skipped } = await readAll(reader);
    expect(skipped).toEqual([]);
    // decoded: rows without a NULL (every 7th) whose BIGINT has fewer than 14 digits (ids ≡ 3, 4 mod 6): 26 of 90, by hand
    expect(decoded).toBe(arrays ? 26 : 0);
    expectValues(rows, f.expected);
  });

  it('a row whose joined row is missing is never handed on: decoded rows before it, skipped once its joined table is past it, rows after it', async () => {
    const g = fixture(30);
    await createFixture(src.db, g, 'HV2');
    await src.db('HV2_Pw').where('id', 12).delete();
    const reader = new SourceReader(db, await hvStream(db, 'HV2'), 25);
    const arrays = reader.useArrayRows();
    const { rows, decoded, skipped } = await readAll(reader);
    expect(skipped).toEqual([12]);
    expectValues(rows, g.expected.filter((e) => e.id !== 12));
    // streamed rows 1-11 (ids 3, 4, 9, 10 decodable by hand), then pages from row 12 on
    expect(decoded).toBe(arrays ? 4 : 0);
  });

  it.each([
    ['rowDecoder: false', { rowDecoder: false }, /rowDecoder: false/],
    ['SCRAPE_ROW_DECODER=off', { env: { SCRAPE_ROW_DECODER: 'off' } }, /SCRAPE_ROW_DECODER=off/],
    ['SCRAPE_ROW_DECODER=OFF over rowDecoder: true', { rowDecoder: true, env: { SCRAPE_ROW_DECODER: 'OFF' } }, /SCRAPE_ROW_DECODER=OFF/],
    ['an untested mysql2', { driverVersion: '3.25.0' }, /mysql2 3\.25\.0 is not among the versions/],
  ] as const)('with the decoder off (%s) the same rows come, none decoded', async (_, options, why) => {
    const reader = new SourceReader(db, await hvStream(db), 25, options);
    expect(reader.rowDecoderOff).toMatch(why);
    const arrays = reader.useArrayRows();
    const { rows, decoded } = await readAll(reader);
    expect(decoded).toBe(0);
    expectValues(rows, f.expected);
    expect(arrays).toBe(dialect === 'mariadb');
  });

  it('SCRAPE_ROW_DECODER is read from the environment when the reader is made; unset, the decoder is on', async () => {
    const before = process.env.SCRAPE_ROW_DECODER;
    try {
      process.env.SCRAPE_ROW_DECODER = 'off';
      const off = new SourceReader(db, await hvStream(db), 25);
      delete process.env.SCRAPE_ROW_DECODER;
      const on = new SourceReader(db, await hvStream(db), 25);
      expect(off.rowDecoderOff).toMatch(/SCRAPE_ROW_DECODER=off/);
      expect(on.rowDecoderOff).toBeUndefined();
      off.useArrayRows();
      expect((await readAll(off)).decoded).toBe(0);
    } finally {
      if (before === undefined) delete process.env.SCRAPE_ROW_DECODER;
      else process.env.SCRAPE_ROW_DECODER = before;
    }
  });

  it('a faulty decoder is caught by the reader’s self-check: off for good, reported once, counted, and the rows are the numbers stored', async () => {
    // the real decoder, with d2 off by a millionth from its 3rd decoded row on (id 9: decoded are ids 3, 4, 9, 10, ...)
    const faulty: DecoderFactory = (fields, config) => {
      const real = numericRowDecoder(fields, config);
      const d2 = fields.findIndex((c) => (c as { name?: string }).name === 'd2');
      let n = 0;
      return real && ((buf, offset) => {
        const row = real(buf, offset);
        if (row !== undefined && ++n >= 3) (row as unknown as number[])[d2] += 1e-6;
        return row;
      });
    };
    const reasons: string[] = [];
    const reader = new SourceReader(db, await hvStream(db), 25, { decoder: faulty, onDecoderDisabled: (r) => reasons.push(r) });
    const arrays = reader.useArrayRows();
    const { rows, decoded } = await readAll(reader);
    expectValues(rows, f.expected);
    if (arrays) {
      expect(reasons).toHaveLength(1);
      expect(reasons[0]).toMatch(/^row decoder off: decoded row 3 of a query differs from the parse of mysql2 [\d.]+: column \d+ \(d2\): decoded [\d.]+, driver [\d.]+$/);
      expect(reader.rowDecoderOff).toBe(reasons[0]);
      expect(reader.decoderDisabledCount).toBe(1);
      // ids 3 and 4 decoded; the driver's rows from id 9 on, over all four pages
      expect(decoded).toBe(2);
    } else {
      expect(reasons).toEqual([]);
      expect(reader.decoderDisabledCount).toBe(0);
      expect(decoded).toBe(0);
    }
    // off for good: a second pass of the same reader decodes nothing and reports nothing more
    if (arrays) {
      expect((await readAll(reader)).decoded).toBe(0);
      expect(reasons).toHaveLength(1);
    }
  });
});

describe('text-protocol rows decoded from their packets on mariadb', () => {
  let src: TestDatabase;
  let db: Knex;
  beforeAll(async () => {
    src = await createTestDatabase('mariadb', 'row_decoder');
    db = asScraperReads(src);
  });
  afterAll(async () => {
    await db.destroy();
    await src.drop();
  });

  /** The rows of `sql`, once with decodeNumericRows and once as the driver parses them; and how many were decoded. */
  async function bothWays(sql: string): Promise<{ decoded: unknown[][]; driver: unknown[][]; count: number }> {
    const client = db.client as { acquireConnection(): Promise<any>; releaseConnection(c: unknown): Promise<unknown> };
    const conn = await client.acquireConnection();
    try {
      const run = (hook: boolean) =>
        new Promise<{ rows: unknown[][]; count: number }>((resolve, reject) => {
          const rows: unknown[][] = [];
          let count = 0;
          const query = conn.query({ sql, rowsAsArray: true });
          // (no expect in here: a throw inside the driver's packet handler would not fail the test cleanly)
          const hooked = hook && decodeNumericRows(query, conn.config, (row) => {
            count++;
            const values = [...(row as unknown as unknown[])];
            values[1] = row.date_time;
            if (row.id !== values[0]) values[0] = `id property ${row.id} <> slot ${String(values[0])}`;
            rows.push(values);
          });
          if (hook && !hooked) reject(new Error('decodeNumericRows refused the query'));
          query.on('result', (r: unknown[]) => rows.push(r)).on('error', reject).on('end', () => resolve({ rows, count }));
        });
      const decoded = await run(true);
      const driver = await run(false);
      return { decoded: decoded.rows, driver: driver.rows, count: decoded.count };
    } finally {
      await client.releaseConnection(conn);
    }
  }

  it('every value is the number the driver gives (Object.is), over random decimals and doubles of up to 17 digits', async () => {
    const rnd = prng(77);
    await createSourceTable(src.db, 'R', { a: 'decimal(6,2)', b: 'decimal(30,12)', c: 'double', d: 'double', e: 'float', g: 'bigint', h: 'tinyint unsigned', k: 'mediumint', y: 'year' });
    const rows: Record<string, unknown>[] = [];
    for (let id = 1; id <= 600; id++) {
      const digits = 1 + Math.floor(rnd() * 17);
      const mantissa = Math.floor(rnd() * 10 ** digits);
      rows.push({
        id,
        date_time: localPlus(START, id),
        a: ((Math.floor(rnd() * 2000000) - 1000000) / 100).toFixed(2),
        b: `${rnd() < 0.5 ? '-' : ''}${Math.floor(rnd() * 1e12)}.${String(Math.floor(rnd() * 1e12)).padStart(12, '0')}`,
        c: mantissa / 10 ** Math.floor(rnd() * digits) * (rnd() < 0.5 ? -1 : 1),
        // 9.931727721848235: 16 digits past 2^53, where the driver's digit arithmetic rounds
        // differently from parseFloat (the decoder must give the driver's number, not a better one)
        d: [0, -0, Number.MAX_VALUE, -1e-300, 0.1 + 0.2, Math.PI, -Math.E, 9.931727721848235, -9.315739469083885, 1e22][id % 10],
        e: rnd() * 1000,
        g: ['9007199254740992', '-9007199254740992', '9223372036854775807', 1234567890123, -12, 99999999999999][id % 6],
        h: Math.floor(rnd() * 256),
        k: Math.floor(rnd() * 16777216) - 8388608,
        y: 1901 + (id % 255),
      });
    }
    // BIGINTs past 2^53 go in as text (a JS number cannot hold them)
    rows[0].g = '9007199254740993';
    rows[1].g = '-9223372036854775808';
    await insertRows(src.db, 'R', rows);
    const { decoded, driver, count } = await bothWays('SELECT id, date_time, a, b, c, d, e, g, h, k, y FROM R ORDER BY date_time, id');
    expect(driver).toHaveLength(600);
    expect(decoded).toHaveLength(600);
    // BIGINTs of 14 digits or more are left to the driver (it may give text): 2 in 6 rows here are decoded
    expect(count).toBe(200);
    for (let i = 0; i < driver.length; i++) {
      const same = driver[i].every((v, j) => Object.is(v, decoded[i][j]));
      expect({ row: i + 1, same: same ? true : { driver: driver[i], decoded: decoded[i] } }).toEqual({ row: i + 1, same: true });
    }
    // some of what the driver gave, by hand
    const byId = new Map(driver.map((r) => [r[0], r]));
    expect(byId.get(1)![7]).toBe('9007199254740993');
    expect(byId.get(2)![7]).toBe('-9223372036854775808');
    expect(byId.get(3)![7]).toBe(1234567890123);
    expect(byId.get(4)![7]).toBe(-12);
    expect(byId.get(4)![2]).toBe(Number(rows[3].a));
  });

  it('leaves alone a query with a callback, and a statement without rows ends as it would', async () => {
    const client = db.client as { acquireConnection(): Promise<any>; releaseConnection(c: unknown): Promise<unknown> };
    const conn = await client.acquireConnection();
    try {
      let called = 0;
      const rows = await new Promise<unknown[]>((resolve, reject) => {
        const query = conn.query({ sql: 'SELECT 1 AS id, NOW() AS date_time, 2.5 AS x', rowsAsArray: true }, (err: Error | null, r: unknown[]) => (err ? reject(err) : resolve(r)));
        expect(decodeNumericRows(query, conn.config, () => called++)).toBe(false);
      });
      expect(called).toBe(0);
      expect(rows).toHaveLength(1);
      // no result set: no fields to decode, the statement's own end
      const ended = await new Promise<string>((resolve, reject) => {
        const query = conn.query({ sql: 'DO 1', rowsAsArray: true });
        decodeNumericRows(query, conn.config, () => called++);
        query.on('error', reject).on('end', () => resolve('end'));
      });
      expect(ended).toBe('end');
      expect(called).toBe(0);
    } finally {
      await client.releaseConnection(conn);
    }
  });

  it('declines what it cannot hold as a number: text columns, DECIMAL as strings, a typeCast, times other than in column 2', () => {
    const num = (columnType: number) => ({ columnType });
    const [LONG, DATETIME, NEWDECIMAL, VARCHAR] = [3, 12, 246, 253];
    const settings = { decimalNumbers: true, supportBigNumbers: true, dateStrings: true };
    expect(numericRowDecoder([num(LONG), num(DATETIME), num(NEWDECIMAL)], settings)).toBeInstanceOf(Function);
    expect(numericRowDecoder([num(LONG), num(DATETIME), num(VARCHAR)], settings)).toBeUndefined();
    expect(numericRowDecoder([num(LONG), num(DATETIME), num(NEWDECIMAL)], { ...settings, decimalNumbers: false })).toBeUndefined();
    expect(numericRowDecoder([num(LONG), num(DATETIME), num(NEWDECIMAL)], { ...settings, dateStrings: false })).toBeUndefined();
    expect(numericRowDecoder([num(LONG), num(DATETIME), num(NEWDECIMAL)], { ...settings, typeCast: () => null })).toBeUndefined();
    expect(numericRowDecoder([num(LONG), num(LONG), num(DATETIME)], settings)).toBeUndefined();
  });
});
