import * as path from 'path';
import { createTestDatabase, MARIADB_URL, TestDatabase } from '../support/databases';
import { createSourceTable, insertRows, localPlus } from '../support/source-fixture';
import { runCli } from '../support/cli';
import { loadRegime } from '../../engine/config/load-regime';
import { prepareTargetTables } from '../../engine/dbi/target-tables';
import { openDatabase } from '../../engine/db/open-database';
import { parseDatabaseUrl } from '../../engine/config/dbconf';

const ADTEMP = path.join(__dirname, '..', '..', 'regimes.d', 'adtemp.yaml');
const USER = `scrape_priv_${process.pid}`;
const PASSWORD = 'priv-pass';
const SETTINGS = ['--set', 'maxage=1m', '--set', 'interval=10s', '--set', 'offset=0'];

/**
 * The README's privilege statement, on MariaDB (SQLite has no users): a target user holding
 * exactly SELECT and INSERT on the database and UPDATE on LOCALSEQNO scrapes into tables that
 * exist; one privilege less fails with the server's message naming what is missing, writing
 * nothing.
 */
describe('the target user needs SELECT, INSERT and UPDATE on LOCALSEQNO (MariaDB)', () => {
  let source: TestDatabase;
  let target: TestDatabase;
  let admin: ReturnType<typeof openDatabase>;
  let userUrl: string;
  let dbName: string;

  beforeAll(async () => {
    source = await createTestDatabase('mariadb', 'fake_priv_src');
    target = await createTestDatabase('mariadb', 'priv_tgt');
    // the manual's fixture (test/scraper/manual-log.test.ts): 30 rows every 10 s, values that never change
    const cols = Object.fromEntries([1, 2, 3, 4, 5].map((i) => [`DBNS_SAB_Temp_PT${i}`, 'decimal(6,2)']));
    await createSourceTable(source.db, 'DBNS_SAB_Temp', cols);
    const rows = [];
    for (let id = 1; id <= 30; id++) rows.push({ id, date_time: localPlus('2011-02-01 00:00:00', id * 10), ...Object.fromEntries(Object.keys(cols).map((c) => [c, '18.50'])) });
    await insertRows(source.db, 'DBNS_SAB_Temp', rows);
    // the tables exist already (made by the administrators: here by root)
    const { specs } = loadRegime(ADTEMP);
    await prepareTargetTables(target.db, [...specs.values()], { create: true, drop: false, location: target.location });
    dbName = target.location.database!;
    admin = openDatabase(parseDatabaseUrl(MARIADB_URL), { poolMax: 1 });
    await admin.raw(`DROP USER IF EXISTS '${USER}'@'%'`);
    await admin.raw(`CREATE USER '${USER}'@'%' IDENTIFIED BY '${PASSWORD}'`);
    await admin.raw(`GRANT SELECT, INSERT ON \`${dbName}\`.* TO '${USER}'@'%'`);
    await admin.raw(`GRANT UPDATE ON \`${dbName}\`.LOCALSEQNO TO '${USER}'@'%'`);
    userUrl = `mysql://${USER}:${PASSWORD}@127.0.0.1:3306/${dbName}`;
  });
  afterAll(async () => {
    await admin.raw(`DROP USER IF EXISTS '${USER}'@'%'`);
    await admin.destroy();
    await source.drop();
    await target.drop();
  });

  const vldCount = async () => Number((await target.db('DcsAdTempVld').count({ n: '*' }))[0].n);

  it('one privilege less (no UPDATE on LOCALSEQNO): exit 1, the server\'s message names UPDATE and LOCALSEQNO, nothing written', async () => {
    await admin.raw(`REVOKE UPDATE ON \`${dbName}\`.LOCALSEQNO FROM '${USER}'@'%'`);
    try {
      const r = await runCli(['run', ADTEMP, '--source', source.url, '--target', userUrl, '--until-caught-up', '--seed', ...SETTINGS]);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/UPDATE command denied to user '[^']*'@'[^']*' for table `[^`]*`\.`LOCALSEQNO`/);
      expect(await vldCount()).toBe(0);
      expect(Number((await target.db('DcsAdTemp').count({ n: '*' }))[0].n)).toBe(0);
    } finally {
      await admin.raw(`GRANT UPDATE ON \`${dbName}\`.LOCALSEQNO TO '${USER}'@'%'`);
    }
  });

  it('exactly those privileges: the scrape succeeds and writes the manual\'s validities (no table of its own made)', async () => {
    const r = await runCli(['run', ADTEMP, '--source', source.url, '--target', userUrl, '--until-caught-up', '--seed', ...SETTINGS]);
    expect({ code: r.code, stderr: r.code === 0 ? '' : r.stderr }).toEqual({ code: 0, stderr: '' });
    // the manual's validities (test/scraper/manual-log.test.ts), UTC = local - 8 h: the seed, then maxage splits
    const vld = await target.db('DcsAdTempVld').orderBy('SEQNO').select('TIMESTART', 'TIMEEND');
    expect(vld.slice(0, 4).map((v: Record<string, string>) => [v.TIMESTART, v.TIMEEND])).toEqual([
      ['2011-01-31 16:00:00', '2011-01-31 16:01:00'],
      ['2011-01-31 16:01:00', '2011-01-31 16:02:10'],
      ['2011-01-31 16:02:10', '2011-01-31 16:03:20'],
      ['2011-01-31 16:03:20', '2011-01-31 16:04:30'],
    ]);
    const [tables] = await target.db.raw('SELECT TABLE_NAME AS name FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() ORDER BY TABLE_NAME');
    // the writer lock could not make SCRAPE_LOCKS (no CREATE): best effort, the run went on
    // (SCRAPE_SOURCE_IDS, SCRAPE_PROVENANCE and SCRAPE_VLD_SPAN were made with the DBI tables, and SELECT, INSERT suffice to write the first two)
    expect(tables.map((t: { name: string }) => t.name)).toEqual(['DcsAdTemp', 'DcsAdTempVld', 'LOCALSEQNO', 'SCRAPE_PROVENANCE', 'SCRAPE_SOURCE_IDS', 'SCRAPE_VLD_SPAN']);
    // without UPDATE on SCRAPE_VLD_SPAN the writes went on without it: its row is as the tables were made
    expect(await target.db('SCRAPE_VLD_SPAN').select('TABLENAME', 'MAX_SPAN_SECONDS', 'SEQNO_COVERED')).toEqual([{ TABLENAME: 'DcsAdTemp', MAX_SPAN_SECONDS: 0, SEQNO_COVERED: 0 }]);
    // every validity, the seed too, with its provenance
    expect(Number((await target.db('SCRAPE_PROVENANCE').count({ n: '*' }))[0].n)).toBe(Number((await target.db('DcsAdTempVld').count({ n: '*' }))[0].n));
    expect(Number((await target.db('SCRAPE_SOURCE_IDS').count({ n: '*' }))[0].n)).toBe(Number((await target.db('DcsAdTempVld').count({ n: '*' }))[0].n) - 1); // all but the seed
  });
});
