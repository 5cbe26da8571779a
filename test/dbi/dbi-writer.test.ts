import type { ErrorCode } from '../../engine/core/error-codes';
import { DIALECTS, createTestDatabase, TestDatabase } from '../support/databases';
import { prepareTargetTables } from '../../engine/dbi/target-tables';
import { DbiWriter, Propagation, ValidityContext } from '../../engine/dbi/dbi-writer';
import { dumpTarget } from '../../engine/dbi/dbi-reader';
import { ManualClock } from '../../engine/core/clock';
import { isScrapeError } from '../../engine/core/errors';
import { parseSpec } from '../../engine/spec/spec-table';
import { testSpec } from './dbi-support';

const typesSpec = parseSpec(
  [
    'table | meta | legacy | CanL2Cache | class',
    'DcsTypes | 1 | DcsTypes | kFALSE | GDcsTypes',
    ';',
    'name | dbtype | codetype | description',
    'n | int | int | an int',
    'f | float | double | a single-precision float',
    'd | double | double | a double',
    'dec | decimal(10,3) | double | a decimal',
    's | varchar(16) | string | a string',
    't | datetime | TimeStamp | a time',
    'u | tinyint unsigned | int | a small unsigned',
  ].join('\n'),
  'DcsTypes.spec',
);

const SAB_AD1: ValidityContext = { sitemask: 32, simmask: 1, subsite: 1, task: 0, aggregateno: -1 };

async function rowCount(t: TestDatabase, table: string): Promise<number> {
  const [{ n }] = await t.db(table).count({ n: '*' });
  return Number(n);
}

describe.each(DIALECTS)('DbiWriter on %s', (dialect) => {
  let t: TestDatabase;
  beforeEach(async () => {
    t = await createTestDatabase(dialect, 'dbi_writer');
    await prepareTargetTables(t.db, [typesSpec, testSpec()], { create: true, drop: false, location: t.location });
  });
  afterEach(async () => {
    await t.drop();
  });

  it('a repair overlay (overlayWhole) beats every validity it overlaps, not only the one covering its TIMESTART', async () => {
    const writer = new DbiWriter(t.db, typesSpec);
    const row = { n: 1, f: null, d: null, dec: 1, s: 'a', t: null, u: 0 };
    // two stored validities: [00:00, 00:10) VERSIONDATE 00:00 and [00:10, 00:20) VERSIONDATE 00:10
    await writer.write([
      { timestart: '2011-02-01 00:00:00', timeend: '2011-02-01 00:10:00', context: SAB_AD1, rows: [row] },
      { timestart: '2011-02-01 00:10:00', timeend: '2011-02-01 00:20:00', context: SAB_AD1, rows: [row] },
    ]);
    // one validity over both: the newest overlapped VERSIONDATE (00:10) + 60 s = 00:11:00, by hand;
    // the TIMESTART rule alone would give 00:01:00, which the second validity (00:10) beats from 00:10 on
    await writer.write([{ timestart: '2011-02-01 00:00:00', timeend: '2011-02-01 00:20:00', context: SAB_AD1, rows: [{ ...row, n: 2 }], overlayWhole: true }]);
    // the same without overlayWhole, in another subsite over the same two stored shapes
    const other = { ...SAB_AD1, subsite: 2 };
    await writer.write([
      { timestart: '2011-02-01 00:00:00', timeend: '2011-02-01 00:10:00', context: other, rows: [row] },
      { timestart: '2011-02-01 00:10:00', timeend: '2011-02-01 00:20:00', context: other, rows: [row] },
    ]);
    await writer.write([{ timestart: '2011-02-01 00:00:00', timeend: '2011-02-01 00:20:00', context: other, rows: [row] }]);
    const versions = (await t.db('DcsTypesVld').select('SEQNO', 'VERSIONDATE').orderBy('SEQNO')).map((r: Record<string, unknown>) => [Number(r.SEQNO), String(r.VERSIONDATE).slice(0, 19)]);
    expect(versions).toEqual([
      [1, '2011-02-01 00:00:00'],
      [2, '2011-02-01 00:10:00'],
      [3, '2011-02-01 00:11:00'],
      [4, '2011-02-01 00:00:00'],
      [5, '2011-02-01 00:10:00'],
      [6, '2011-02-01 00:01:00'],
    ]);
  });

  it('writes Vld and payload rows with SEQNO, ROW_COUNTER, context, VERSIONDATE and INSERTDATE; values normalised per dbtype', async () => {
    const clock = new ManualClock(Date.UTC(2011, 2, 1, 12, 0, 0) + 999);
    const writer = new DbiWriter(t.db, typesSpec, { clock });
    const seqnos = await writer.write([
      {
        timestart: '2011-02-01 00:00:00',
        timeend: '2011-02-01 00:01:00',
        context: SAB_AD1,
        rows: [
          { n: 7, f: 23.456789, d: 23.456789, dec: 1.5, s: 'abc', t: '2011-02-01 00:00:05', u: 200 },
          // NULL from null/undefined only: NaN/±Infinity are refused (DBI_NOT_FINITE, test/dbi/value-guards.test.ts)
          { n: undefined, f: null, d: null, dec: -3.25, s: '', t: null, u: 0 },
        ],
      },
      { timestart: '2011-02-01 00:01:00', timeend: '2011-02-01 00:02:00', context: { ...SAB_AD1, subsite: 2 }, rows: [{ n: -1, f: 0.1, d: 1e300, dec: 2, s: 'x', t: '2011-02-01 00:01:05', u: 1 }] },
    ]);
    expect(seqnos).toEqual([1, 2]);
    const dump = await dumpTarget(t.db, typesSpec);
    expect(dump.vld).toEqual([
      { SEQNO: 1, TIMESTART: '2011-02-01 00:00:00', TIMEEND: '2011-02-01 00:01:00', SITEMASK: 32, SIMMASK: 1, SUBSITE: 1, TASK: 0, AGGREGATENO: -1, VERSIONDATE: '2011-02-01 00:00:00', INSERTDATE: '2011-03-01 12:00:00' },
      { SEQNO: 2, TIMESTART: '2011-02-01 00:01:00', TIMEEND: '2011-02-01 00:02:00', SITEMASK: 32, SIMMASK: 1, SUBSITE: 2, TASK: 0, AGGREGATENO: -1, VERSIONDATE: '2011-02-01 00:01:00', INSERTDATE: '2011-03-01 12:00:00' },
    ]);
    // FLOAT as MySQL shows it: 6 significant digits of the single-precision value
    expect(dump.payload).toEqual([
      { SEQNO: 1, ROW_COUNTER: 1, n: 7, f: 23.4568, d: 23.456789, dec: 1.5, s: 'abc', t: '2011-02-01 00:00:05', u: 200 },
      { SEQNO: 1, ROW_COUNTER: 2, n: null, f: null, d: null, dec: -3.25, s: '', t: null, u: 0 },
      { SEQNO: 2, ROW_COUNTER: 1, n: -1, f: 0.1, d: 1e300, dec: 2, s: 'x', t: '2011-02-01 00:01:05', u: 1 },
    ]);
    expect(await t.db('LOCALSEQNO').where('TABLENAME', 'DcsTypes').first('LASTUSEDSEQNO')).toEqual({ LASTUSEDSEQNO: 2 });
    // the '*' row is untouched
    expect(await t.db('LOCALSEQNO').where('TABLENAME', '*').first('LASTUSEDSEQNO')).toEqual({ LASTUSEDSEQNO: 0 });
  });

  it('continues SEQNOs across writers and tables independently, and from the Vld table when LOCALSEQNO lacks its row', async () => {
    const probe = testSpec();
    const one = (i: number): Propagation => ({ timestart: `2011-02-01 0${i}:00:00`, timeend: `2011-02-01 0${i}:30:00`, context: SAB_AD1, rows: [{ value: i }] });
    expect(await new DbiWriter(t.db, probe).write([one(0), one(1)])).toEqual([1, 2]);
    expect(await new DbiWriter(t.db, probe).write([one(2)])).toEqual([3]);
    expect(await new DbiWriter(t.db, typesSpec).write([{ ...one(0), rows: [] }])).toEqual([1]);
    // a Vld written by someone else up to SEQNO 41, and no LOCALSEQNO row for the table
    await t.db('DcsProbeVld').insert({ SEQNO: 41, TIMESTART: '2011-01-01 00:00:00', TIMEEND: '2011-01-01 00:01:00', SITEMASK: 1, SIMMASK: 1, SUBSITE: 1, TASK: 0, AGGREGATENO: -1, VERSIONDATE: '2011-01-01 00:00:00', INSERTDATE: '2011-01-01 00:00:00' });
    await t.db('LOCALSEQNO').where('TABLENAME', 'DcsProbe').delete();
    expect(await new DbiWriter(t.db, probe).write([one(3), one(4)])).toEqual([42, 43]);
    expect(await rowCount(t, 'DcsTypes')).toBe(0);
    expect(await rowCount(t, 'DcsTypesVld')).toBe(1);
  });

  it('writes big batches in chunks: every row, ROW_COUNTER 1..N in order', async () => {
    const probe = testSpec();
    const writer = new DbiWriter(t.db, probe);
    // 3 validities of 1234 rows, then 1501 validities of one row
    const big: Propagation[] = [0, 1, 2].map((i) => ({
      timestart: `2011-02-01 0${i}:00:00`,
      timeend: `2011-02-01 0${i + 1}:00:00`,
      context: SAB_AD1,
      rows: Array.from({ length: 1234 }, (_, r) => ({ value: r + 1, label: `v${i}` })),
    }));
    expect(await writer.write(big)).toEqual([1, 2, 3]);
    const many: Propagation[] = Array.from({ length: 1501 }, (_, i) => ({
      timestart: new Date(Date.UTC(2011, 2, 1) + i * 1000).toISOString().slice(0, 19).replace('T', ' '),
      timeend: new Date(Date.UTC(2011, 2, 1) + (i + 1) * 1000).toISOString().slice(0, 19).replace('T', ' '),
      context: SAB_AD1,
      rows: [{ value: i }],
    }));
    const seqnos = await writer.write(many);
    expect(seqnos).toEqual(Array.from({ length: 1501 }, (_, i) => i + 4));
    expect(await rowCount(t, 'DcsProbeVld')).toBe(1504);
    expect(await rowCount(t, 'DcsProbe')).toBe(3 * 1234 + 1501);
    // within each big SEQNO, ROW_COUNTER = value = 1..1234 (sum by hand: 1234*1235/2 = 761995)
    const sums: Record<string, unknown>[] = await t.db('DcsProbe').where('SEQNO', '<=', 3).groupBy('SEQNO').orderBy('SEQNO')
      .select('SEQNO').sum({ rc: 'ROW_COUNTER' }).count({ n: '*' }).min({ lo: 'ROW_COUNTER' }).max({ hi: 'ROW_COUNTER' });
    expect(sums.map((r) => [Number(r.SEQNO), Number(r.rc), Number(r.n), Number(r.lo), Number(r.hi)])).toEqual([1, 2, 3].map((s) => [s, 761995, 1234, 1, 1234]));
    const mismatched = await t.db('DcsProbe').where('SEQNO', '<=', 3).whereRaw('?? <> ??', ['ROW_COUNTER', 'value']).count({ n: '*' });
    expect(Number(mismatched[0].n)).toBe(0);
    // the single-row validities: SEQNO s holds value s - 4
    const off = await t.db('DcsProbe').where('SEQNO', '>', 3).whereRaw('?? - 4 <> ??', ['SEQNO', 'value']).count({ n: '*' });
    expect(Number(off[0].n)).toBe(0);
  });

  // MySQL: payload by LOAD DATA LOCAL (the default) and by multi-row INSERT
  it.each(dialect === 'mariadb' ? [true, false] : [true])('statements split by rows and by size keep every value as written: quotes, backslashes, newlines, NUL, wide characters, extreme numbers (LOAD DATA: %s)', async (loadData) => {
    const probe = testSpec();
    const writer = new DbiWriter(t.db, probe, { loadData });
    // labels of at most 16 characters that SQL escaping must carry through untouched
    const labels = ["it's", 'a\\b', 'x"y', 'l1\nl2\r', 'nul\0end', 'tab\there', 'ctrl-z\x1a', "'); DROP --", '温度计', '🌡️ 22.5', '?', '%s %d', ''];
    const values = [0, -1.5, 1e21, 1e-7, 3.4e38, -3.4e38, 123456.789, 2 ** 31, -42, -0, 2 ** 53 + 2, 9007199254740991];
    // 9001 rows: over the 4000-row statement limit twice, and (16-character labels) past the size cap
    const rows = Array.from({ length: 9001 }, (_, r) => ({ value: values[r % values.length], label: r % 7 === 0 ? 'W'.repeat(16) : labels[r % labels.length] }));
    expect(await writer.write([{ timestart: '2011-02-01 00:00:00', timeend: '2011-02-01 01:00:00', context: SAB_AD1, rows }])).toEqual([1]);
    // value * 1.0e0: the stored float as a double (MariaDB prints a FLOAT with 6 digits)
    const back: Record<string, unknown>[] = await t.db('DcsProbe').where('SEQNO', 1).orderBy('ROW_COUNTER').select('ROW_COUNTER', t.db.raw('?? * 1.0e0 AS ??', ['value', 'value']), 'label');
    expect(back).toHaveLength(9001);
    expect(back.map((r) => Number(r.ROW_COUNTER))).toEqual(rows.map((_, r) => r + 1));
    expect(back.map((r) => r.label)).toEqual(rows.map((r) => r.label));
    // float column: what comes back is the value rounded to single precision (SQLite keeps the double)
    const f32 = (x: number) => Math.fround(x);
    for (const [r, row] of back.entries()) {
      const want = rows[r].value;
      const got = Number(row.value);
      expect({ r, want, ok: f32(got) === f32(want) ? true : got }).toEqual({ r, want, ok: true });
    }
  });

  // MySQL: LOAD DATA lines written byte by byte across several 256 KiB pieces, and multi-row INSERT
  it.each(dialect === 'mariadb' ? [true, false] : [true])('numbers and texts come back exactly from a batch of several LOAD DATA pieces (LOAD DATA: %s)', async (loadData) => {
    const writer = new DbiWriter(t.db, typesSpec, { loadData });
    const ints = [0, -0, 1, -1, 9, 10, -10, 99, 100, 2147483647, -2147483648, 123456789, -987654321, 1000000000];
    // doubles of at most 15 significant digits or in exponent form: read back exactly by either driver
    const doubles = [0, 1.5, -2.25, 1e21, -1e-7, 3.14159265358979, 123456789012345, -0.000123456789, 6.02214076e23, 2 ** 53 + 2, 1e300, 5e-300];
    const texts = ['plain', '温度计', '🌡️ 22.5', 'tab\there', 'back\\slash', '', 'Ünïcödé ✓'];
    const rows = Array.from({ length: 12000 }, (_, r) => ({
      n: ints[r % ints.length],
      d: doubles[r % doubles.length] * (r % 2 === 0 ? 1 : -1),
      dec: ((r * 7919) % 2000000 - 1000000) / 8,
      s: texts[r % texts.length],
      u: r % 256,
    }));
    expect(await writer.write([{ timestart: '2011-02-01 00:00:00', timeend: '2011-02-01 01:00:00', context: SAB_AD1, rows }])).toEqual([1]);
    const back = (await dumpTarget(t.db, typesSpec)).payload;
    expect(back).toHaveLength(12000);
    // -0 goes in as 0 (an integer column), every other value as written
    const want = rows.map((row, r) => ({ SEQNO: 1, ROW_COUNTER: r + 1, n: row.n === 0 ? 0 : row.n, f: null, d: row.d === 0 ? 0 : row.d, dec: row.dec, s: row.s, t: null, u: row.u }));
    for (let r = 0; r < 12000; r += 1000) expect(back.slice(r, r + 1000)).toEqual(want.slice(r, r + 1000));
  });

  it('a value the column cannot hold fails the write and leaves nothing (MySQL strict mode; LOAD DATA LOCAL would only warn; SQLite CHECKs)', async () => {
    const writer = new DbiWriter(t.db, typesSpec);
    const prop = (row: Record<string, unknown>): Propagation => ({ timestart: '2011-02-01 00:00:00', timeend: '2011-02-01 00:01:00', context: SAB_AD1, rows: [{ n: 1, u: 1 }, row] });
    if (dialect === 'sqlite') {
      // integers out of the spec type's range are refused before the database (DBI_VALUE); the
      // CHECKs of the created columns refuse too long strings and text in an integer column
      for (const [bad, code] of [[{ u: 300 }, 'DBI_VALUE'], [{ u: -1 }, 'DBI_VALUE'], [{ s: 'x'.repeat(17) }, 'DBI_WRITE'], [{ n: 'twelve' }, 'DBI_WRITE']] as const) {
        let error: unknown;
        try {
          await writer.write([prop(bad)]);
        } catch (err) {
          error = err;
        }
        expect({ bad, code: isScrapeError(error, code) }).toEqual({ bad, code: true });
      }
      expect(await rowCount(t, 'DcsTypesVld')).toBe(0);
      expect(await rowCount(t, 'DcsTypes')).toBe(0);
      // what SQLite has no type for it keeps as given: a time that is no time
      expect(await writer.write([prop({ u: 255, s: 'x'.repeat(16), t: 'not a time' })])).toEqual([1]);
      expect((await dumpTarget(t.db, typesSpec)).payload[1]).toMatchObject({ u: 255, s: 'x'.repeat(16), t: 'not a time' });
      return;
    }
    // integers out of range: refused before the server (DBI_VALUE); the rest by strict mode
    for (const [bad, code] of [[{ u: 300 }, 'DBI_VALUE'], [{ u: -1 }, 'DBI_VALUE'], [{ s: 'x'.repeat(17) }, 'DBI_WRITE'], [{ n: 'twelve' }, 'DBI_WRITE'], [{ t: 'not a time' }, 'DBI_WRITE']] as const) {
      let error: unknown;
      try {
        await writer.write([prop(bad)]);
      } catch (err) {
        error = err;
      }
      expect({ bad, code: isScrapeError(error, code) }).toEqual({ bad, code: true });
    }
    expect(await rowCount(t, 'DcsTypesVld')).toBe(0);
    expect(await rowCount(t, 'DcsTypes')).toBe(0);
    // the writer goes on: good rows after bad ones
    expect(await writer.write([prop({ u: 255, s: 'x'.repeat(16) })])).toEqual([1]);
    expect((await dumpTarget(t.db, typesSpec)).payload.map((r) => [r.u, r.s])).toEqual([[1, null], [255, 'x'.repeat(16)]]);
    // a value the server rounds with a note (INSERT takes it too): stored as INSERT stores it,
    // with the strings and NULLs of the same write intact
    const awkward = ["t\tab\\N", 'l1\nl2\r', "q'\\0", '\\N'];
    expect(await writer.write([{ ...prop({ dec: 1.23456, s: awkward[0], n: null }), rows: awkward.map((s, i) => ({ dec: 1.23456 + i, s, n: i })) }])).toEqual([2]);
    const stored = (await dumpTarget(t.db, typesSpec)).payload.filter((r) => r.SEQNO === 2);
    expect(stored.map((r) => [r.dec, r.s, r.n])).toEqual([[1.235, awkward[0], 0], [2.235, awkward[1], 1], [3.235, awkward[2], 2], [4.235, awkward[3], 3]]);
  });

  if (dialect === 'mariadb') {
    it('a server with local_infile off gets the payload by INSERT, in the same transaction', async () => {
      const [[{ was }]] = await t.db.raw('SELECT @@GLOBAL.local_infile AS was');
      await t.db.raw('SET GLOBAL local_infile = 0');
      try {
        const writer = new DbiWriter(t.db, testSpec());
        const batch = (from: number): Propagation[] => [0, 1].map((i) => ({ timestart: `2011-02-01 0${from + i}:00:00`, timeend: `2011-02-01 0${from + i + 1}:00:00`, context: SAB_AD1, rows: [{ value: from + i, label: `a\tb${i}` }, { value: null, label: null }] }));
        expect(await writer.write(batch(0))).toEqual([1, 2]);
        expect(await writer.write(batch(2))).toEqual([3, 4]);
      } finally {
        await t.db.raw('SET GLOBAL local_infile = ?', [Number(was)]);
      }
      const payload = (await dumpTarget(t.db, testSpec())).payload.map((r) => [r.SEQNO, r.ROW_COUNTER, r.value, r.label]);
      expect(payload).toEqual([1, 2, 3, 4].flatMap((s) => [[s, 1, s - 1, `a\tb${(s - 1) % 2}`], [s, 2, null, null]]));
    });
  }

  it('is all or nothing: a failure inside the transaction leaves no rows and the counter as it was', async () => {
    const probe = testSpec();
    const ok = new DbiWriter(t.db, probe);
    await ok.write([{ timestart: '2011-02-01 00:00:00', timeend: '2011-02-01 00:01:00', context: SAB_AD1, rows: [{ value: 1 }] }]);
    const failing = new DbiWriter(t.db, probe, {
      probe: (stage) => {
        if (stage === 'inserted') throw new Error('disk on fire');
      },
    });
    const batch: Propagation[] = [1, 2, 3].map((i) => ({ timestart: `2011-02-01 00:0${i}:00`, timeend: `2011-02-01 00:0${i + 1}:00`, context: SAB_AD1, rows: [{ value: i }, { value: -i }] }));
    await expect(failing.write(batch)).rejects.toThrow(/disk on fire/);
    expect(await rowCount(t, 'DcsProbeVld')).toBe(1);
    expect(await rowCount(t, 'DcsProbe')).toBe(1);
    expect(await t.db('LOCALSEQNO').where('TABLENAME', 'DcsProbe').first('LASTUSEDSEQNO')).toEqual({ LASTUSEDSEQNO: 1 });
    expect(await ok.write(batch)).toEqual([2, 3, 4]);
  });

  it('refuses bad input before touching the database', async () => {
    const writer = new DbiWriter(t.db, testSpec());
    const base: Propagation = { timestart: '2011-02-01 00:00:00', timeend: '2011-02-01 00:01:00', context: SAB_AD1, rows: [{ value: 1 }] };
    const cases: [Propagation, ErrorCode][] = [
      [{ ...base, rows: [{ value: { x: 1 } }] }, 'DBI_VALUE'],
      [{ ...base, timestart: 'yesterday' }, 'BAD_TIME'],
      [{ ...base, timeend: '2011-01-31 00:00:00' }, 'DBI_RANGE'],
      [{ ...base, context: { ...SAB_AD1, subsite: 1.5 } }, 'DBI_VALUE'],
    ];
    for (const [prop, code] of cases) {
      let error: unknown;
      try {
        await writer.write([base, prop]);
      } catch (err) {
        error = err;
      }
      expect(isScrapeError(error, code)).toBe(true);
    }
    expect(await rowCount(t, 'DcsProbeVld')).toBe(0);
    // ISO 'T' times are accepted and stored as DBI text
    expect(await writer.write([{ ...base, timestart: '2011-02-01T00:00:00', timeend: '2011-02-01T00:01' }])).toEqual([1]);
    expect((await dumpTarget(t.db, testSpec())).vld[0]).toMatchObject({ TIMESTART: '2011-02-01 00:00:00', TIMEEND: '2011-02-01 00:01:00' });
  });
});
