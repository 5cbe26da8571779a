import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { DIALECTS, TestDatabase, createTestDatabase } from '../support/databases';
import { parseDatabaseUrl } from '../../engine/config/dbconf';
import { databaseFileMissing, listColumns, listTables, tableExists } from '../../engine/db/introspection';
import { rawRows } from '../../engine/db/dialect';

/** The same two tables (and a view) on both dialects, each in its own DDL. */
const DDL = {
  sqlite: [
    `CREATE TABLE "dcs_probe" ("id" INTEGER PRIMARY KEY, "date_time" TEXT NOT NULL, "Temp" REAL, "label" VARCHAR(16))`,
    `CREATE TABLE "Alpha" ("id" INTEGER PRIMARY KEY)`,
    `CREATE VIEW "probe_view" AS SELECT "id" FROM "dcs_probe"`,
  ],
  mariadb: [
    'CREATE TABLE `dcs_probe` (`id` int unsigned NOT NULL AUTO_INCREMENT PRIMARY KEY, `date_time` datetime NOT NULL, `Temp` DECIMAL(6,2), `label` varchar(16))',
    'CREATE TABLE `Alpha` (`id` int NOT NULL PRIMARY KEY)',
    'CREATE VIEW `probe_view` AS SELECT `id` FROM `dcs_probe`',
  ],
};

/** What each dialect reports for `dcs_probe`: names in table order, declared types in lower case. */
const PROBE_COLUMNS = {
  sqlite: [
    { name: 'id', type: 'integer' },
    { name: 'date_time', type: 'text' },
    { name: 'Temp', type: 'real' },
    { name: 'label', type: 'varchar(16)' },
  ],
  mariadb: [
    { name: 'id', type: 'int(10) unsigned' },
    { name: 'date_time', type: 'datetime' },
    { name: 'Temp', type: 'decimal(6,2)' },
    { name: 'label', type: 'varchar(16)' },
  ],
};

describe.each(DIALECTS)('db/introspection on %s', (dialect) => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await createTestDatabase(dialect, 'db_introspection');
    for (const sql of DDL[dialect]) await t.db.raw(sql);
    await t.db('dcs_probe').insert([{ id: 1, date_time: '2024-01-01 00:00:00', Temp: 1.5, label: 'a' }]);
  });
  afterAll(async () => {
    await t.drop();
  });

  it('lists the base tables by name, without views', async () => {
    const tables = await listTables(t.db);
    expect(tables).toEqual(['Alpha', 'dcs_probe']);
  });

  it('says whether a table exists', async () => {
    expect(await tableExists(t.db, 'dcs_probe')).toBe(true);
    expect(await tableExists(t.db, 'no_such_table')).toBe(false);
  });

  it('lists columns in table order with their declared types, lower case', async () => {
    expect(await listColumns(t.db, 'dcs_probe')).toEqual(PROBE_COLUMNS[dialect]);
    expect(await listColumns(t.db, 'Alpha')).toEqual([{ name: 'id', type: dialect === 'sqlite' ? 'integer' : 'int(11)' }]);
    expect(await listColumns(t.db, 'no_such_table')).toEqual([]);
  });

  it('answers a raw query with its rows whatever the driver', async () => {
    expect((await rawRows(t.db, 'SELECT COUNT(*) AS n FROM dcs_probe WHERE id >= ?', [1])).map((r) => Number(r.n))).toEqual([1]);
  });

  it('reports an embedded database file that does not exist, never a server or an existing file', () => {
    expect(databaseFileMissing(t.location)).toBe(false);
    if (dialect === 'sqlite') {
      const gone = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'scrape-missing-')), 'nothing-here.sqlite');
      expect(databaseFileMissing(parseDatabaseUrl(`sqlite:${gone}`))).toBe(true);
      expect(fs.existsSync(gone)).toBe(false);
      expect(databaseFileMissing(parseDatabaseUrl('sqlite::memory:'))).toBe(false);
    }
  });
});
