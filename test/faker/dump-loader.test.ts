import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Knex } from 'knex';
import { loadDump } from '../../engine/faker/dump-loader';
import { DumpStatementSplitter } from '../../engine/faker/dump-statement-splitter';
import { parseInsertStatement } from '../../engine/faker/mysql-to-sqlite';
import { DIALECTS, TestDatabase, createTestDatabase } from '../support/databases';

const FULL = path.join(__dirname, 'fixtures', 'AD1_LidSensor_10.sql');
const APPEND = path.join(__dirname, 'fixtures', 'AD1_LidSensor_append.sql');

const REMARK_20 = 'it\'s a "test"; with -- dashes and /* not a comment */ inside';
const REMARK_1420760 = "back\\slash, new\nline, nul \0 end, ctrl-Z \x1a, doubled '' and '''' quotes; # not a comment either";
const REMARK_1420780 = "tab\there, O'Neil, unicode °C";

function split(text: string, chunk: number): string[] {
  const s = new DumpStatementSplitter();
  const out: string[] = [];
  for (let i = 0; i < text.length; i += chunk) out.push(...s.push(text.slice(i, i + chunk)));
  out.push(...s.end());
  return out;
}

describe('dump statement splitting', () => {
  const text = fs.readFileSync(FULL, 'utf8');

  it('cuts the dump at the statement-ending semicolons only', () => {
    const statements = split(text, 1 << 20);
    // 10 header SETs, DROP, 2 SETs, CREATE, SET, LOCK, ALTER, 2 INSERTs, ALTER, UNLOCK, 8 trailing SETs
    expect(statements).toHaveLength(10 + 1 + 2 + 1 + 1 + 1 + 1 + 2 + 1 + 1 + 8);
    expect(statements.filter((s) => s.startsWith('INSERT INTO'))).toHaveLength(2);
    expect(statements.some((s) => s.includes('Dump completed'))).toBe(false);
    expect(statements[0]).toBe('/*!40101 SET @OLD_CHARACTER_SET_CLIENT=@@CHARACTER_SET_CLIENT */');
  });

  it('gives the same statements whatever the chunk size', () => {
    const whole = split(text, 1 << 20);
    for (const chunk of [1, 2, 3, 5, 7, 64, 1000]) expect(split(text, chunk)).toEqual(whole);
  });

  it('drops -- # and /* */ comments, keeps executable comments, honours DELIMITER', () => {
    const sql = "SELECT 1; -- gone\n# gone too\nSELECT /* gone */ 2;\n/*!50003 SET x=1 */;\nDELIMITER ;;\nCREATE TRIGGER t BEGIN SET a=1; SET b=2; END;;\nDELIMITER ;\nSELECT '--not;gone'";
    expect(split(sql, 3).map((s) => s.replace(/\s+/g, ' '))).toEqual([
      'SELECT 1',
      'SELECT 2',
      '/*!50003 SET x=1 */',
      'CREATE TRIGGER t BEGIN SET a=1; SET b=2; END',
      "SELECT '--not;gone'",
    ]);
  });

  it('decodes MySQL escapes in extended INSERT values', () => {
    const ins = parseInsertStatement("INSERT INTO `t` VALUES (1,'a\\'b\\\\c\\nd\\0e\\Zf''g',NULL,'18.70',-3,1.5e3,0x4142),(2,'',NULL,'0.00',0,0,0x)");
    expect(ins.table).toBe('t');
    expect(ins.columns).toBeUndefined();
    expect(ins.rows).toEqual([
      [1, "a'b\\c\nd\0e\x1af'g", null, '18.70', -3, '1.5e3', Buffer.from('AB')],
      [2, '', null, '0.00', 0, 0, Buffer.alloc(0)],
    ]);
  });
});

/** All rows, numbers as numbers (MySQL gives decimals as text, SQLite as numbers). */
async function lidRows(db: Knex): Promise<Record<string, unknown>[]> {
  const rows = await db('AD1_LidSensor').select('*').orderBy('id');
  return rows.map((r: Record<string, unknown>) =>
    Object.fromEntries(Object.entries(r).map(([k, v]) => [k, k === 'date_time' || k === 'Remark' || v === null ? v : Number(v)])),
  );
}

describe.each(DIALECTS)('dump loader on %s', (dialect) => {
  let t: TestDatabase;
  beforeEach(async () => {
    t = await createTestDatabase(dialect, 'fake_dump');
  });
  afterEach(async () => {
    await t.drop();
  });

  it('loads a full dump (DDL, zero dates, quoted decimals, escapes, NULL) then an append dump', async () => {
    const progress: number[] = [];
    const first = await loadDump({ file: FULL, db: t.db, onProgress: (p) => progress.push(p.bytes) });
    expect(first.rows).toEqual({ AD1_LidSensor: 5 });
    expect(first.created).toEqual(['AD1_LidSensor']);
    expect(progress[progress.length - 1]).toBe(fs.statSync(FULL).size);

    let rows = await lidRows(t.db);
    expect(rows.map((r) => r.id)).toEqual([10, 20, 1420760, 1420770, 1420780]);
    expect(rows[0]).toEqual({
      id: 10, date_time: '0000-00-00 00:00:00', Ultrasonic_GdLS: 237, Ultrasonic_LS: 301, Temp_GdLS: 18.77, Temp_LS: 18.95,
      Tilt_X_Sensor1: -0.77, Tilt_Y_Sensor1: 0.24, Tilt_X_Sensor2: 0.01, Tilt_Y_Sensor2: -0.44, Tilt_X_Sensor3: -0.57, Tilt_Y_Sensor3: 1.12,
      Capacitance_GdLS: 5, Capacitance_Temp_GdLS: 19, Capacitance_LS: 10, Capacitance_Temp_LS: 19, Capacitance_MO: 0, Capacitance_Temp_MO: 19.38,
      Temp_PT100: 18, Temp_Drift: 0.82, SensorStatus: null, Remark: null,
    });
    expect(rows[1]).toMatchObject({ date_time: '0000-00-00 00:00:00', Temp_LS: 18.9, Remark: REMARK_20 });
    expect(rows[2]).toMatchObject({ date_time: '2011-02-19 10:19:10', SensorStatus: 0, Remark: REMARK_1420760 });
    expect(rows[3]).toMatchObject({ SensorStatus: 1, Remark: 'semicolon at the end;' });
    expect(rows[4]).toMatchObject({ Temp_GdLS: 22.11, Remark: REMARK_1420780 });

    const append = await loadDump({ file: APPEND, db: t.db });
    expect(append.rows).toEqual({ AD1_LidSensor: 3 });
    expect(append.created).toEqual([]);
    rows = await lidRows(t.db);
    expect(rows).toHaveLength(8);
    expect(rows[7]).toMatchObject({ id: 13558340, date_time: '2012-02-29 16:54:43', Temp_GdLS: 22.31, Temp_Drift: 0.01, Remark: 'appended' });
    // 18.77+18.77+22.10+22.10+22.11+22.30+22.30+22.31 by hand
    const sum = await t.db('AD1_LidSensor').sum({ s: 'Temp_GdLS' }).first();
    expect(Number(sum!.s)).toBeCloseTo(170.76, 6);
    const zero = await t.db('AD1_LidSensor').where('date_time', '0000-00-00 00:00:00').count({ n: '*' }).first();
    expect(Number(zero!.n)).toBe(2);

    // the key on (date_time, id) came along
    if (dialect === 'sqlite') {
      const info = await t.db.raw(`PRAGMA table_info("AD1_LidSensor")`);
      const types = Object.fromEntries(info.map((c: { name: string; type: string; pk: number }) => [c.name, `${c.type}${c.pk ? ' pk' : ''}`]));
      expect(types).toMatchObject({ id: 'INTEGER pk', date_time: 'TEXT', Ultrasonic_GdLS: 'int(11)', Temp_GdLS: 'decimal(6,2)', SensorStatus: 'tinyint(4)', Remark: 'TEXT' });
      const idx = await t.db.raw(`SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'AD1_LidSensor' ORDER BY name`);
      expect(idx.map((r: { name: string }) => r.name)).toEqual(['AD1_LidSensor_date_time', 'AD1_LidSensor_dt_id']);
    } else {
      const [idx] = await t.db.raw(`SHOW INDEX FROM AD1_LidSensor WHERE Key_name = 'dt_id'`);
      expect(idx.map((r: { Column_name: string }) => r.Column_name)).toEqual(['date_time', 'id']);
    }
    // loading the full dump again replaces the table (DROP TABLE IF EXISTS)
    await loadDump({ file: FULL, db: t.db });
    expect(await lidRows(t.db)).toHaveLength(5);
  });

  it('streams a dump larger than one read chunk, with statements spanning chunks', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'scrape-dump-'));
    const file = path.join(dir, 'big.sql');
    try {
      const head = fs.readFileSync(FULL, 'utf8').split('LOCK TABLES')[0];
      const out = fs.createWriteStream(file);
      out.write(head);
      let id = 0;
      for (let s = 0; s < 25; s++) {
        const tuples: string[] = [];
        for (let k = 0; k < 800; k++) {
          id++;
          tuples.push(`(${id},'2011-02-01 00:00:00',1,2,'${(id % 100) / 10}','0.00','0.00','0.00','0.00','0.00','0.00','0.00',1,'1.00',1,'1.00',1,'1.00','1.00','1.00',0,'row ${id}; it\\'s \\\\ fine ${'x'.repeat(60)}')`);
        }
        out.write(`INSERT INTO \`AD1_LidSensor\` VALUES ${tuples.join(',')};\n`);
      }
      await new Promise((resolve) => out.end(resolve));
      expect(fs.statSync(file).size).toBeGreaterThan(2 * 1048576);
      const result = await loadDump({ file, db: t.db });
      expect(result.rows).toEqual({ AD1_LidSensor: 20000 });
      const stats = await t.db('AD1_LidSensor').count({ n: '*' }).max({ m: 'id' }).first();
      expect([Number(stats!.n), Number(stats!.m)]).toEqual([20000, 20000]);
      const row = await t.db('AD1_LidSensor').where('id', 12345).first();
      expect(row.Remark).toBe(`row 12345; it's \\ fine ${'x'.repeat(60)}`);
      expect(Number(row.Temp_GdLS)).toBe(4.5);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('keeps zero dates from a dump that sets no sql_mode of its own', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'scrape-dump-'));
    const file = path.join(dir, 'bare.sql');
    try {
      fs.writeFileSync(
        file,
        "CREATE TABLE `AD2_LidSensor` (`id` int(10) unsigned NOT NULL AUTO_INCREMENT, `date_time` datetime NOT NULL, `Temp_LS` decimal(6,2) DEFAULT NULL, PRIMARY KEY (`id`)) ENGINE=InnoDB;\n" +
          "INSERT INTO `AD2_LidSensor` VALUES (1,'0000-00-00 00:00:00','1.50'),(2,'2011-01-10 10:34:28',NULL);\n",
      );
      const result = await loadDump({ file, db: t.db });
      expect(result.rows).toEqual({ AD2_LidSensor: 2 });
      const rows = await t.db('AD2_LidSensor').select('id', 'date_time').orderBy('id');
      expect(rows).toEqual([
        { id: 1, date_time: '0000-00-00 00:00:00' },
        { id: 2, date_time: '2011-01-10 10:34:28' },
      ]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
