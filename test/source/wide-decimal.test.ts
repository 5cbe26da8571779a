import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Knex } from 'knex';
import { MemoryLogger } from '../../engine/core/logger';
import { ManualClock } from '../../engine/core/clock';
import { loadRegime } from '../../engine/config/load-regime';
import { runScraper } from '../../engine/scraper/scraper';
import { openDatabase } from '../../engine/db/open-database';
import { SourceReader, SourceRow } from '../../engine/source/source-reader';
import { discoverStreams, isWideDecimalType } from '../../engine/source/source-stream';
import { sqlValue } from '../../engine/dbi/propagation';
import { LinesBuilder, payloadValues } from '../../engine/dbi/payload-converter';
import { DbiWriter } from '../../engine/dbi/dbi-writer';
import { parseSpec } from '../../engine/spec/spec-table';
import { createTableStatements } from '../../engine/spec/ddl';
import { DIALECTS, createTestDatabase, TestDatabase } from '../support/databases';
import { createSourceTable, insertRows, localPlus } from '../support/source-fixture';

const START = '2011-02-01 00:00:00';
const BIG = '123456789012.12345678';
const TINY = '-0.00000001';

/**
 * Source rows every 10 s (id: big, small). Threshold 1.0 on `big`, sample every row:
 * row 2 moves 0.5 from row 1 (no change); row 3 moves 1.50000001 from row 1 (changed: [1, 3));
 * row 4 drops to -0.00000001 (changed: [3, 4)); rows 5 and 6 do not move; nothing more is written.
 */
const ROWS: [number, string, string][] = [
  [1, BIG, '1.25'],
  [2, '123456789012.62345678', '1.50'],
  [3, '123456789013.62345679', '1.75'],
  [4, TINY, '2.00'],
  [5, TINY, '2.25'],
  [6, TINY, '2.50'],
];

const SPEC = `"""
Wide DECIMAL pass-through test table.
"""
table | meta | legacy | CanL2Cache | class
WideMeter | 1 | WideMeter | kFALSE | GWideMeter
;
meta | rctx | wctx
1 | Site.kSAB, DetectorId.kUnknown, SimFlag.kData | Site.kSAB, DetectorId.kUnknown, SimFlag.kData
;
name | dbtype | codetype | description
big | decimal(20,8) | double | last value, passed through
first_big | decimal(20,8) | double | first value, passed through
small | decimal(8,2) | double | last narrow value, passed through
big_kind | varchar(16) | string | JSONata type of last.big as the mapping sees it
small_kind | varchar(16) | string | JSONata type of last.small as the mapping sees it
big_avg | double | double | average of big over the validity range
big_count | int | int | entries aggregated
`;

const REGIME = `name: widedec
description: a decimal(20,8) column passed through unchanged
source: fake_dcs
target: tmp_offline_db
timezone: UTC
tables:
  - pattern: '^WideMeter$'
context:
  sitemask: 32
  subsite: 1
changes:
  - columns: ['big']
    threshold: 1.0
aggregate:
  functions: [avg]
  count: count
  skips: [id, date_time]
scraper:
  interval: 10s
  sleep: 3s
  heartbeat: 3s
  offset: 0
  maxage: 10m
  timefloor: '2010-01-01 00:00:00'
targets:
  - spec: GWideMeter
    map:
      big: last.big
      first_big: first.big
      small: last.small
      big_kind: $type(last.big)
      small_kind: $type(last.small)
      big_avg: agg.big_avg
      big_count: agg.count
`;

describe('isWideDecimalType', () => {
  it('is true for DECIMALs of more than 15 digits only', () => {
    expect(isWideDecimalType('decimal(20,8)')).toBe(true);
    expect(isWideDecimalType('decimal(16,0) unsigned')).toBe(true);
    expect(isWideDecimalType('numeric(30, 10)')).toBe(true);
    expect(isWideDecimalType('decimal(15,2)')).toBe(false);
    expect(isWideDecimalType('decimal(8,2)')).toBe(false);
    expect(isWideDecimalType('decimal')).toBe(false);
    expect(isWideDecimalType('double')).toBe(false);
    expect(isWideDecimalType('bigint(20)')).toBe(false);
  });
});

describe('sqlValue and the payload converter with decimal text', () => {
  const cols = [{ name: 'd', dbtype: 'decimal(20,8)' }, { name: 'i', dbtype: 'tinyint' }, { name: 'f', dbtype: 'float' }];
  const prop = (rows: Record<string, unknown>[]) => ({ timestart: '2011-02-01 00:00:00', timeend: '2011-02-01 00:00:10', context: { sitemask: 1, simmask: 1, subsite: 1, task: 0, aggregateno: -1 }, rows });

  it('keeps a decimal literal as written, in values and in LOAD DATA lines', () => {
    expect([...payloadValues([prop([{ d: BIG, i: 1, f: 1.5 }])], cols)[0]]).toEqual([BIG, 1, 1.5]);
    const lines = new LinesBuilder(cols);
    lines.add(prop([{ d: BIG, i: '127', f: '1.5' }, { d: TINY, i: -128, f: null }]), 0);
    expect(Buffer.concat(lines.finish().chunks).toString()).toBe(`0\t1\t${BIG}\t127\t1.5\n0\t2\t${TINY}\t-128\t\\N\n`);
  });

  it('refuses text that is no number for a DECIMAL column, and integer text out of range', () => {
    expect(() => payloadValues([prop([{ d: '1e5', i: 1, f: 1 }])], cols)).toThrow(expect.objectContaining({ code: 'DBI_VALUE', message: expect.stringContaining("'1e5' is not a decimal number") }));
    expect(() => payloadValues([prop([{ d: 'abc', i: 1, f: 1 }])], cols)).toThrow(expect.objectContaining({ code: 'DBI_VALUE' }));
    // tinyint [-128, 127]; MySQL rounds half away from zero: 127.5 → 128, -128.5 → -129
    expect(() => payloadValues([prop([{ d: '1', i: '128', f: 1 }])], cols)).toThrow(expect.objectContaining({ code: 'DBI_VALUE', message: expect.stringContaining('out of the column') }));
    expect(() => payloadValues([prop([{ d: '1', i: '127.5', f: 1 }])], cols)).toThrow(expect.objectContaining({ code: 'DBI_VALUE' }));
    expect(() => payloadValues([prop([{ d: '1', i: '-128.5', f: 1 }])], cols)).toThrow(expect.objectContaining({ code: 'DBI_VALUE' }));
    expect([...payloadValues([prop([{ d: '1', i: '127.4', f: 1 }])], cols)[0]]).toEqual(['1', '127.4', 1]);
    expect([...payloadValues([prop([{ d: '1', i: '-128.4', f: 1 }])], cols)[0]]).toEqual(['1', '-128.4', 1]);
    // text is compared exactly with the bounds, which are doubles: a bigint's upper bound is 2^63
    expect(sqlValue('9223372036854775807', 'b', 0, 0, { range: [-9223372036854775808, 9223372036854775807] })).toBe('9223372036854775807');
    expect(() => sqlValue('9223372036854775809', 'b', 0, 0, { range: [-9223372036854775808, 9223372036854775807] })).toThrow(expect.objectContaining({ code: 'DBI_VALUE' }));
    // a float column takes text as before
    expect(sqlValue('x', 'f', 0, 0, {})).toBe('x');
  });
});

describe.each(DIALECTS)('a decimal(20,8) column passed through on %s', (dialect) => {
  let source: TestDatabase;
  let target: TestDatabase;
  let reading: Knex;
  let dir: string;

  beforeAll(async () => {
    source = await createTestDatabase(dialect, 'fake_widedec_src');
    target = await createTestDatabase(dialect, 'widedec_tgt');
    await createSourceTable(source.db, 'WideMeter', { big: 'decimal(20,8)', small: 'decimal(8,2)' });
    await insertRows(source.db, 'WideMeter', ROWS.map(([id, big, small]) => ({ id, date_time: localPlus(START, id * 10), big, small })));
    // as the CLI session opens its source
    reading = openDatabase(source.location, { readOnly: true, decimalNumbers: true });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'widedec-'));
    fs.mkdirSync(path.join(dir, 'spec'));
    fs.writeFileSync(path.join(dir, 'spec', 'GWideMeter.spec'), SPEC);
    fs.writeFileSync(path.join(dir, 'widedec.yaml'), REGIME);
  });
  afterAll(async () => {
    await reading.destroy();
    await source.drop();
    await target.drop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('the reader gives the wide column as exact text on MySQL, the narrow one as a number', async () => {
    const loaded = loadRegime(path.join(dir, 'widedec.yaml'), { specDir: path.join(dir, 'spec') });
    const [stream] = await discoverStreams(reading, loaded.regime);
    expect(stream.mainColumns.map((c) => [c.name, c.wideDecimal])).toEqual([['big', true], ['small', false]]);
    const reader = new SourceReader(reading, stream, 100);
    const page = await reader.readPage('2010-01-01 00:00:00');
    const values = page.rows.map((r) => [r.big, r.small]);
    if (dialect === 'mariadb') {
      expect(reader.exactDecimals).toEqual(['big']);
      expect(values).toEqual(ROWS.map(([, big, small]) => [big, Number(small)]));
    } else {
      // SQLite: NUMERIC affinity stored the text as a REAL, the nearest double; read as stored
      expect(reader.exactDecimals).toEqual([]);
      expect(values).toEqual(ROWS.map(([, big, small]) => [Number(big), Number(small)]));
    }
  });

  it('writes the exact digits where the database keeps them, fires the change rule, averages as SQL does', async () => {
    const loaded = loadRegime(path.join(dir, 'widedec.yaml'), { specDir: path.join(dir, 'spec') });
    await runScraper({
      regime: loaded.regime,
      specs: loaded.specs,
      source: reading,
      target: target.db,
      targetLocation: target.location,
      logger: new MemoryLogger(),
      clock: new ManualClock(Date.UTC(2026, 0, 1)),
      untilCaughtUp: true,
      allowCreate: true,
    });
    const mysql = dialect === 'mariadb';
    const raw = async (sql: string): Promise<Record<string, unknown>[]> => (mysql ? (await target.db.raw(sql))[0] : await target.db.raw(sql));
    const q = (n: string) => (mysql ? `\`${n}\`` : `"${n}"`);
    // exact text of what is stored: MySQL's DECIMAL text; SQLite's value and storage class
    const rows = await raw(
      `SELECT v.${q('TIMESTART')} AS ts, v.${q('TIMEEND')} AS te, ${mysql ? 'CAST(p.big AS CHAR)' : 'p.big'} AS big, ${mysql ? 'CAST(p.first_big AS CHAR)' : 'p.first_big'} AS first_big, ` +
        `${mysql ? "'real'" : 'typeof(p.big)'} AS big_class, p.small AS small, p.big_kind AS big_kind, p.small_kind AS small_kind, p.big_avg AS big_avg, p.big_count AS big_count ` +
        `FROM ${q('WideMeter')} p JOIN ${q('WideMeterVld')} v ON v.${q('SEQNO')} = p.${q('SEQNO')} ORDER BY v.${q('TIMESTART')}`,
    );
    // by hand: validities [1, 3) (Δ 1.50000001 > 1) and [3, 4) (Δ ≈ -1.2e11), each carrying sv[-1]
    // as last and sv[0] as first; rows in UTC (timezone UTC)
    const at = (id: number) => localPlus(START, id * 10);
    expect(rows.map((r) => [r.ts, r.te])).toEqual([[at(1), at(3)], [at(3), at(4)]]);
    if (mysql) {
      expect(rows.map((r) => [r.big, r.first_big])).toEqual([['123456789013.62345679', BIG], [TINY, '123456789013.62345679']]);
      expect(rows.map((r) => [r.big_kind, r.small_kind])).toEqual([['string', 'number'], ['string', 'number']]);
    } else {
      // SQLite keeps the nearest double, 17 significant digits at most: 123456789012.12346
      expect(rows.map((r) => [r.big, r.first_big, r.big_class])).toEqual([[123456789013.62346, 123456789012.12346, 'real'], [-1e-8, 123456789013.62346, 'real']]);
      expect(rows[0].first_big).toBe(Number(BIG));
      expect(rows.map((r) => [r.big_kind, r.small_kind])).toEqual([['number', 'number'], ['number', 'number']]);
    }
    expect(rows.map((r) => Number(r.small))).toEqual([1.75, 2]);
    // the aggregate over each validity range equals SQL's AVG over the same entries (doubles)
    for (const r of rows) {
      const ids = ROWS.filter(([id]) => at(id) >= (r.ts as string) && at(id) < (r.te as string)).map(([id]) => id);
      expect(Number(r.big_count)).toBe(ids.length);
      const src = source.dialect === 'mariadb' ? (await source.db.raw(`SELECT AVG(big) AS a FROM WideMeter WHERE id IN (${ids.join(',')})`))[0] : await source.db.raw(`SELECT AVG(big) AS a FROM WideMeter WHERE id IN (${ids.join(',')})`);
      const sqlAvg = Number(src[0].a);
      expect(Math.abs(Number(r.big_avg) - sqlAvg)).toBeLessThanOrEqual(Math.abs(sqlAvg) * 2 ** -52 * 4);
    }
    // [1, 3): rows 1 and 2, average 123456789012.37345678 by hand
    expect(Number(rows[0].big_avg)).toBeCloseTo(123456789012.37345678, 4);
  });
});

describe.each(DIALECTS)('the DBI writer and decimal text on %s', (dialect) => {
  let target: TestDatabase;
  const spec = parseSpec(SPEC);
  beforeAll(async () => {
    target = await createTestDatabase(dialect, 'widedec_writer');
    for (const sql of createTableStatements(spec, dialect === 'sqlite' ? 'sqlite' : 'mysql')) await target.db.raw(sql);
  });
  afterAll(async () => {
    await target.drop();
  });

  // MySQL both paths (LOAD DATA, multi-row INSERT); SQLite its INSERTs
  const paths = dialect === 'mariadb' ? [true, false] : [false];
  it.each(paths)('keeps the digits of a decimal literal (LOAD DATA: %s)', async (loadData) => {
    const writer = new DbiWriter(target.db, spec, { loadData });
    const at = loadData ? '2011-02-01 00:00:00' : '2011-02-02 00:00:00';
    const row = (big: string) => ({ big, first_big: big, small: '1.25', big_kind: 'string', small_kind: 'number', big_avg: 1.5, big_count: '2' });
    const [seqno] = await writer.write([{ timestart: at, timeend: localPlus(at, 10), context: { sitemask: 32, simmask: 1, subsite: 1, task: 0, aggregateno: -1 }, rows: [row(BIG), row(TINY)] }]);
    const mysql = dialect === 'mariadb';
    const sql = `SELECT ${mysql ? 'CAST(big AS CHAR)' : 'big'} AS big, small, big_count FROM ${mysql ? '`WideMeter`' : '"WideMeter"'} WHERE SEQNO = ${seqno} ORDER BY ROW_COUNTER`;
    const rows: Record<string, unknown>[] = mysql ? (await target.db.raw(sql))[0] : await target.db.raw(sql);
    if (mysql) expect(rows.map((r) => [r.big, r.small, r.big_count])).toEqual([[BIG, '1.25', 2], [TINY, '1.25', 2]]);
    else expect(rows.map((r) => [r.big, r.small, r.big_count])).toEqual([[123456789012.12346, 1.25, 2], [-1e-8, 1.25, 2]]);
    await expect(writer.write([{ timestart: localPlus(at, 10), timeend: localPlus(at, 20), context: { sitemask: 32, simmask: 1, subsite: 1, task: 0, aggregateno: -1 }, rows: [{ ...row(BIG), big_count: '2147483648' }] }])).rejects.toMatchObject({ code: 'DBI_VALUE' });
  });
});

describe('wide rows (the packet decoder) with and without a wide DECIMAL on mariadb', () => {
  let source: TestDatabase;
  let reading: Knex;
  const channels = Array.from({ length: 110 }, (_, i) => `c${i}`);
  beforeAll(async () => {
    source = await createTestDatabase('mariadb', 'widedec_rows');
    for (const [table, extra] of [['Narrow', {}], ['Exact', { big: 'decimal(20,8)' }]] as const) {
      await createSourceTable(source.db, table, { ...Object.fromEntries(channels.map((c) => [c, 'decimal(8,2)'])), ...extra });
      await insertRows(source.db, table, [1, 2, 3].map((id) => ({ id, date_time: localPlus(START, id * 10), ...Object.fromEntries(channels.map((c, i) => [c, (1000 + i + id / 4).toFixed(2)])), ...('big' in extra ? { big: id === 2 ? TINY : BIG } : {}) })));
    }
    reading = openDatabase(source.location, { readOnly: true, decimalNumbers: true });
  });
  afterAll(async () => {
    await reading.destroy();
    await source.drop();
  });

  const streamOf = async (table: string) => {
    const regime = loadRegime(path.join(__dirname, '..', '..', 'regimes.d', 'adtemp.yaml')).regime;
    return (await discoverStreams(reading, { ...regime, tables: [{ name: table }] } as typeof regime))[0];
  };
  const readRows = async (reader: SourceReader) => {
    const rows: SourceRow[] = [];
    await reader.streamPage(START, undefined, (row) => {
      rows.push(row);
      return true;
    });
    return rows;
  };

  it('decimal(8,2) rows are still decoded from their packets, as numbers', async () => {
    const reader = new SourceReader(reading, await streamOf('Narrow'), 100);
    expect(reader.useArrayRows()).toBe(true);
    expect(reader.rowDecoderOff).toBeUndefined();
    const rows = await readRows(reader);
    // decoded rows hold NaN in their date_time slot (the driver's arrays hold the text)
    expect(rows.map((r) => Number.isNaN((r as unknown as unknown[])[1]))).toEqual([true, true, true]);
    expect(rows.map((r) => reader.materialize(r).c109)).toEqual([1109.25, 1109.5, 1109.75]);
  });

  it('rows holding a wide DECIMAL are left to the driver: exact text there, numbers elsewhere', async () => {
    const reader = new SourceReader(reading, await streamOf('Exact'), 100);
    expect(reader.useArrayRows()).toBe(true);
    expect(reader.rowDecoderOff).toMatch(/wide DECIMAL column big read as exact text/);
    const rows = (await readRows(reader)).map((r) => reader.materialize(r));
    expect(rows.map((r) => [r.big, r.c0, r.c109])).toEqual([[BIG, 1000.25, 1109.25], [TINY, 1000.5, 1109.5], [BIG, 1000.75, 1109.75]]);
    expect(reader.decoderDisabledCount).toBe(0);
  });
});
