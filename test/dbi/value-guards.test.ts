import { DIALECTS, createTestDatabase, TestDatabase } from '../support/databases';
import { prepareTargetTables } from '../../engine/dbi/target-tables';
import { DbiWriter, Propagation, ValidityContext } from '../../engine/dbi/dbi-writer';
import { payloadValues, LinesBuilder } from '../../engine/dbi/payload-converter';
import { isScrapeError } from '../../engine/core/errors';
import { parseSpec } from '../../engine/spec/spec-table';
import { integerRange } from '../../engine/spec/ddl';
import { SESSION_SQL_MODE } from '../../engine/db/open-database';

const spec = parseSpec(
  [
    'table | meta | legacy | CanL2Cache | class',
    'DcsGuard | 1 | DcsGuard | kFALSE | GDcsGuard',
    ';',
    'name | dbtype | codetype | description',
    'ladder | tinyint | int | a small signed',
    'pw | tinyint unsigned | int | a small unsigned',
    'v | double | double | a reading',
  ].join('\n'),
  'DcsGuard.spec',
);
const CTX: ValidityContext = { sitemask: 32, simmask: 1, subsite: 1, task: 0, aggregateno: -1 };
const prop = (row: Record<string, unknown>): Propagation => ({ timestart: '2011-02-01 00:00:00', timeend: '2011-02-01 00:01:00', context: CTX, rows: [{ ladder: 1, pw: 1, v: 1.5 }, row] });

async function failure(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

describe('integer ranges of spec dbtypes (by hand, from the MySQL manual)', () => {
  it('gives the MySQL bounds, none for bigint and non-integers', () => {
    expect(integerRange('tinyint')).toEqual([-128, 127]);
    expect(integerRange('tinyint unsigned')).toEqual([0, 255]);
    expect(integerRange('smallint')).toEqual([-32768, 32767]);
    expect(integerRange('INT')).toEqual([-2147483648, 2147483647]);
    expect(integerRange('int unsigned')).toEqual([0, 4294967295]);
    expect(integerRange('bigint')).toBeUndefined();
    expect(integerRange('float')).toBeUndefined();
    expect(integerRange('varchar(8)')).toBeUndefined();
  });

  it('the converter given spec columns refuses out-of-range integers on both paths, naming table, attribute, range and value', () => {
    const ok = payloadValues([prop({ ladder: -128, pw: 255, v: 0 })], spec.columns, 'DcsGuard');
    expect(Array.from(ok[0])).toEqual([1, 1, 1.5, -128, 255, 0]);
    for (const [row, shown] of [[{ ladder: 128 }, /DcsGuard\.ladder: propagation 0 \[2011-02-01 00:00:00, 2011-02-01 00:01:00\) payload row 2: 128 is out of the column's range \[-128, 127\]/], [{ pw: -1 }, /DcsGuard\.pw.*-1 is out of the column's range \[0, 255\]/]] as const) {
      let error: unknown;
      try {
        payloadValues([prop(row)], spec.columns, 'DcsGuard');
      } catch (err) {
        error = err;
      }
      expect(isScrapeError(error, 'DBI_VALUE')).toBe(true);
      expect((error as Error).message).toMatch(shown);
      expect(() => new LinesBuilder(spec.columns, 'DcsGuard').add(prop(row), 0)).toThrow(shown);
    }
    // given names only (as before), no range is known here: the database decides
    expect(Array.from(payloadValues([prop({ ladder: 128 })], ['ladder'])[0])).toEqual([1, 128]);
  });
});

describe('LOAD DATA lines', () => {
  it('a short batch holds the bytes of its lines, not a whole piece buffer', () => {
    const lines = new LinesBuilder(spec.columns, 'DcsGuard');
    lines.add(prop({ ladder: -2, pw: 200, v: 0.25 }), 0);
    const { chunks, rows } = lines.finish();
    // by hand: propagation index, ROW_COUNTER, then ladder, pw, v
    const text = '0\t1\t1\t1\t1.5\n0\t2\t-2\t200\t0.25\n';
    expect(rows).toBe(2);
    expect(Buffer.concat(chunks).toString('latin1')).toBe(text);
    // what stays referenced while the write waits: a few bytes (or a slice of Node's shared 8 KB pool), not 256 KB
    expect(chunks.reduce((n, c) => n + c.buffer.byteLength, 0)).toBeLessThanOrEqual(8192);
  });
});

describe.each(DIALECTS)('value guards on %s', (dialect) => {
  let t: TestDatabase;
  beforeEach(async () => {
    t = await createTestDatabase(dialect, 'value_guards');
    await prepareTargetTables(t.db, [spec], { create: true, drop: false, location: t.location });
  });
  afterEach(async () => {
    await t.drop();
  });

  async function nothingWritten(): Promise<void> {
    expect(Number((await t.db('DcsGuardVld').count({ n: '*' }))[0].n)).toBe(0);
    expect(Number((await t.db('DcsGuard').count({ n: '*' }))[0].n)).toBe(0);
    const counter = await t.db('LOCALSEQNO').where('TABLENAME', 'DcsGuard').first('LASTUSEDSEQNO');
    expect(counter === undefined || Number(counter.LASTUSEDSEQNO) === 0).toBe(true);
  }

  if (dialect === 'mariadb') {
    it('every session is strict (STRICT_ALL_TABLES) with backslash escapes on, whatever the server default', async () => {
      await t.db.transaction(async (trx) => {
        // a session that lost it is not what the pool gives: a fresh connection of the pool
        const [[{ mode }]] = await trx.raw('SELECT @@SESSION.sql_mode AS mode');
        expect(String(mode).split(',')).toContain('STRICT_ALL_TABLES');
        expect(String(mode).split(',')).not.toContain('NO_BACKSLASH_ESCAPES');
      });
    });

    it('the session statement makes a lax session (a server defaulting to sql_mode \'\') strict: an overflow is an error, not 127', async () => {
      // on one connection of its own, never SET GLOBAL: other tests share the server
      await t.db.transaction(async (trx) => {
        await trx.raw("SET SESSION sql_mode = 'NO_BACKSLASH_ESCAPES'");
        await trx.raw('CREATE TEMPORARY TABLE lax (x tinyint)');
        await trx.raw('INSERT INTO lax VALUES (300)');
        const [[{ x }]] = await trx.raw('SELECT x FROM lax');
        expect(x).toBe(127);
        await trx.raw(SESSION_SQL_MODE);
        const [[{ mode }]] = await trx.raw('SELECT @@SESSION.sql_mode AS mode');
        expect(String(mode).split(',')).toEqual(['STRICT_ALL_TABLES']);
        await expect(trx.raw('INSERT INTO lax VALUES (300)')).rejects.toThrow(/Out of range/);
      });
    });
  }

  for (const loadData of dialect === 'mariadb' ? [true, false] : [false]) {
    it(`an overflowing tinyint fails the write through DbiWriter and leaves nothing${dialect === 'mariadb' ? ` (loadData ${loadData})` : ''}`, async () => {
      const writer = new DbiWriter(t.db, spec, { loadData });
      for (const bad of [{ ladder: 128 }, { ladder: -129 }, { pw: 256 }, { pw: -1 }]) {
        const error = await failure(writer.write([prop(bad)]));
        expect({ bad, refused: isScrapeError(error, 'DBI_WRITE') || isScrapeError(error, 'DBI_VALUE') }).toEqual({ bad, refused: true });
      }
      await nothingWritten();
      // the edges themselves go in
      expect(await writer.write([prop({ ladder: 127, pw: 255, v: 2 }), prop({ ladder: -128, pw: 0, v: 3 })])).toEqual([1, 2]);
      const stored = await t.db('DcsGuard').where('ROW_COUNTER', 2).orderBy('SEQNO').select('ladder', 'pw');
      expect(stored.map((r: Record<string, unknown>) => [Number(r.ladder), Number(r.pw)])).toEqual([[127, 255], [-128, 0]]);
    });
  }

  it('NaN and ±Infinity are refused (DBI_NOT_FINITE) naming attribute, validity range and value; null stays NULL', async () => {
    const writer = new DbiWriter(t.db, spec);
    for (const [value, shown] of [[NaN, 'NaN'], [Infinity, 'Infinity'], [-Infinity, '-Infinity']] as const) {
      const error = await failure(writer.write([prop({ ladder: 2, pw: 0, v: value })]));
      expect(isScrapeError(error, 'DBI_NOT_FINITE')).toBe(true);
      expect((error as Error).message).toContain(`DcsGuard.v: propagation 0 [2011-02-01 00:00:00, 2011-02-01 00:01:00) payload row 2: ${shown} is not a finite number`);
    }
    // in an integer column too
    expect(isScrapeError(await failure(writer.write([prop({ ladder: NaN })])), 'DBI_NOT_FINITE')).toBe(true);
    await nothingWritten();
    expect(await writer.write([prop({ ladder: null, pw: undefined, v: null })])).toEqual([1]);
    const [row] = await t.db('DcsGuard').where('ROW_COUNTER', 2).select('ladder', 'pw', 'v');
    expect(row).toEqual({ ladder: null, pw: null, v: null });
  });
});
