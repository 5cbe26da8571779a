import * as fs from 'fs';
import * as path from 'path';
import { DIALECTS, createTestDatabase, expectRejection } from '../support/databases';
import { loadSpec, parseSpec } from '../../engine/spec/spec-table';
import { createTableStatements, vldTableName } from '../../engine/spec/ddl';
import { isScrapeError } from '../../engine/core/errors';
import { quoteIdentifier } from '../../engine/db/dialect';

const SPEC_DIR = path.resolve(__dirname, '..', '..', 'spec');
const SPEC_FILES = fs.readdirSync(SPEC_DIR).filter((f) => f.endsWith('.spec')).sort();

describe('spec folder', () => {
  it('holds the three shipped DBI specs', () => {
    expect(SPEC_FILES).toEqual(expect.arrayContaining(['GDcsAdLidSensor.spec', 'GDcsAdTemp.spec', 'GDcsPmtHv.spec']));
  });

  it.each(SPEC_FILES)('%s parses, and its class is its file name', (file) => {
    const spec = loadSpec(file.slice(0, -'.spec'.length), SPEC_DIR);
    expect(spec.className).toBe(file.slice(0, -'.spec'.length));
    expect(spec.table).toBe(spec.className.slice(1));
    expect(spec.columns.length).toBeGreaterThan(0);
  });

  it('GDcsAdLidSensor has avg/min/max/std of each of the 18 lid-sensor quantities and a count', () => {
    const quantities = [
      'Ultrasonic_GdLS', 'Ultrasonic_LS', 'Temp_GdLS', 'Temp_LS',
      'Tiltx_Sensor1', 'Tilty_Sensor1', 'Tiltx_Sensor2', 'Tilty_Sensor2', 'Tiltx_Sensor3', 'Tilty_Sensor3',
      'Capacitance_GdLS', 'Capacitance_Temp_GdLS', 'Capacitance_LS', 'Capacitance_Temp_LS',
      'Capacitance_MO', 'Capacitance_Temp_MO', 'PS_Output_V', 'PS_Output_I',
    ];
    const expected = [...quantities.flatMap((q) => ['avg', 'min', 'max', 'std'].map((f) => `${q}_${f}`)), 'count'];
    const spec = loadSpec('GDcsAdLidSensor', SPEC_DIR);
    expect(spec.table).toBe('DcsAdLidSensor');
    expect(spec.columns.map((c) => c.name)).toEqual(expected);
    expect(spec.columns.filter((c) => c.name !== 'count').every((c) => c.dbtype === 'float' && c.codetype === 'double')).toBe(true);
    expect(spec.columns.find((c) => c.name === 'count')).toMatchObject({ dbtype: 'int', codetype: 'int' });
  });
});

describe('quoteIdentifier', () => {
  it.each(['DcsAdTemp', 'count', 'Temp_PT1', '_x', 'DBNS_AD_HV.Slot0.I0', 'Column'])('quotes %s', (name) => {
    expect(quoteIdentifier(name, 'mysql')).toBe('`' + name + '`');
    expect(quoteIdentifier(name, 'sqlite')).toBe(`"${name}"`);
  });
  it.each(['a; DROP TABLE x', 'a`b', 'a"b', '1abc', '', 'x'.repeat(65), 'Temp PT1', 'a..b', '.a', 'a.', 'a.`b'])('refuses %j', (name) => {
    let error: unknown;
    try {
      quoteIdentifier(name, 'mysql');
    } catch (err) {
      error = err;
    }
    expect(isScrapeError(error, 'SQL_IDENTIFIER')).toBe(true);
  });
  it('refuses a spec whose table name makes index names too long', () => {
    const spec = parseSpec(`table | meta | legacy | CanL2Cache | class\n${'T'.repeat(60)} | 1 | x | kFALSE | GT\n;\nname | dbtype | codetype | description\na | int | int | a`);
    expect(() => createTableStatements(spec, 'sqlite')).toThrow(/identifier/);
  });
});

describe.each(DIALECTS)('DDL of every spec on %s', (dialect) => {
  it.each(SPEC_FILES)('creates the tables of %s (twice: idempotent) with the DBI columns', async (file) => {
    const spec = loadSpec(file.slice(0, -'.spec'.length), SPEC_DIR);
    const t = await createTestDatabase(dialect, `ddl_${spec.table}`);
    try {
      const sqlDialect = dialect === 'sqlite' ? 'sqlite' : 'mysql';
      for (let round = 0; round < 2; round++) for (const statement of createTableStatements(spec, sqlDialect)) await t.db.raw(statement);
      const payloadColumns = Object.keys(await t.db(spec.table).columnInfo());
      expect(payloadColumns).toEqual(['SEQNO', 'ROW_COUNTER', ...spec.columns.map((c) => c.name)]);
      const vldColumns = Object.keys(await t.db(vldTableName(spec)).columnInfo());
      expect(vldColumns).toEqual(['SEQNO', 'TIMESTART', 'TIMEEND', 'SITEMASK', 'SIMMASK', 'SUBSITE', 'TASK', 'AGGREGATENO', 'VERSIONDATE', 'INSERTDATE']);
      expect(await t.db('LOCALSEQNO').select('TABLENAME', 'LASTUSEDSEQNO')).toEqual([{ TABLENAME: '*', LASTUSEDSEQNO: 0 }]);

      // a full payload row and its Vld row go in and come back
      const row: Record<string, unknown> = { SEQNO: 1, ROW_COUNTER: 1 };
      // (a one-letter text for string attributes such as char(1): a number like 10 would not fit)
      spec.columns.forEach((c, i) => (row[c.name] = /char|text/i.test(c.dbtype) ? 'x' : i + 1));
      await t.db(spec.table).insert(row);
      await t.db(vldTableName(spec)).insert({
        SEQNO: 1, TIMESTART: '2011-02-01 00:00:00', TIMEEND: '2011-02-01 00:01:00', SITEMASK: 32, SIMMASK: 1, SUBSITE: 1,
        TASK: 0, AGGREGATENO: -1, VERSIONDATE: '2011-02-01 00:00:00', INSERTDATE: '2011-02-02 10:00:00',
      });
      const back = await t.db(vldTableName(spec)).first('TIMESTART', 'INSERTDATE');
      expect(back).toEqual({ TIMESTART: '2011-02-01 00:00:00', INSERTDATE: '2011-02-02 10:00:00' });
      // the primary key is (SEQNO, ROW_COUNTER)
      await expectRejection(t.db(spec.table).insert(row), /UNIQUE|Duplicate/i);
      await t.db(spec.table).insert({ ...row, ROW_COUNTER: 2 });
      // the Vld SEQNO is a primary key
      await expectRejection(
        t.db(vldTableName(spec)).insert({ SEQNO: 1, TIMESTART: '2011-02-01 00:00:00', TIMEEND: '2011-02-01 00:01:00', VERSIONDATE: '2011-02-01 00:00:00', INSERTDATE: '2011-02-01 00:00:00' }),
        /UNIQUE|Duplicate/i,
      );

      if (dialect === 'mariadb') {
        const tables = await t.db('information_schema.TABLES')
          .select('TABLE_NAME as name', 'ENGINE as engine', 'TABLE_COLLATION as collation')
          .whereRaw('TABLE_SCHEMA = DATABASE()')
          .orderBy('TABLE_NAME');
        expect(tables.map((r: { name: string }) => r.name)).toEqual(['LOCALSEQNO', spec.table, vldTableName(spec)].sort());
        for (const table of tables) {
          expect(table.engine).toBe('InnoDB');
          expect(table.collation).toMatch(/^utf8mb4_/);
        }
        const indexes = await t.db.raw(`SHOW INDEX FROM \`${vldTableName(spec)}\``);
        const ctx = indexes[0].filter((r: { Key_name: string }) => r.Key_name === `${vldTableName(spec)}_ctx_end`).map((r: { Column_name: string }) => r.Column_name);
        expect(ctx).toEqual(['SITEMASK', 'SIMMASK', 'SUBSITE', 'TASK', 'AGGREGATENO', 'TIMEEND']);
      } else {
        const types = await t.db.raw(`SELECT name, type FROM pragma_table_info('${vldTableName(spec)}')`);
        expect(types.find((r: { name: string }) => r.name === 'TIMESTART').type).toBe('TEXT');
        const indexes = await t.db.raw(`SELECT name FROM pragma_index_list('${vldTableName(spec)}') ORDER BY name`);
        expect(indexes.map((r: { name: string }) => r.name)).toEqual(expect.arrayContaining([`${vldTableName(spec)}_ctx_end`]));
      }
    } finally {
      await t.drop();
    }
  });
});
