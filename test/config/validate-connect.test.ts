import * as fs from 'fs';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import { loadRegime } from '../../engine/config/load-regime';
import { prepareTargetTables } from '../../engine/dbi/target-tables';
import { runCli, ROOT } from '../support/cli';
import { DIALECTS, MARIADB_URL, TestDatabase, createTestDatabase } from '../support/databases';
import { createSourceTable } from '../support/source-fixture';

/**
 * `scrape validate --connect`: what only the databases can tell, read without writing, as
 * diagnostics at the regime's keys, on both databases.
 */

const ADTEMP = fs.readFileSync(path.join(ROOT, 'regimes.d', 'adtemp.yaml'), 'utf8').replace('source: fake_dcs', 'source: src').replace('target: tmp_offline_db', 'target: tgt');
const PT = (n: number) => Array.from({ length: n }, (_, i) => `DBNS_SAB_Temp_PT${i + 1}`);

/** 1-based `line:col` of the first `needle` in `text`, plus `shift` columns. */
function at(text: string, needle: string, shift = 0): string {
  const i = text.indexOf(needle);
  if (i < 0) throw new Error(`${needle} not in the text`);
  const before = text.slice(0, i);
  return `${before.split('\n').length}:${i - before.lastIndexOf('\n') + shift}`;
}

const heads = (stdout: string) => stdout.split('\n').filter((l) => /^\S+:\d+:\d+ (error|warning) /.test(l));

describe.each(DIALECTS)('scrape validate --connect on %s', (dialect) => {
  let dir: string;
  let source: TestDatabase;
  let target: TestDatabase;
  beforeAll(async () => {
    source = await createTestDatabase(dialect, 'fake_vconnect_src');
    target = await createTestDatabase(dialect, 'vconnect_tgt');
    await createSourceTable(source.db, 'DBNS_SAB_Temp', Object.fromEntries(PT(5).map((c) => [c, 'decimal(6,2)'])));
  });
  afterAll(async () => {
    await source.drop();
    await target.drop();
  });
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'scrape-vconnect-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  /** Validates `text` (as a.yaml) with --connect against a dbconf of `sections`. */
  const validate = async (text: string, sections: string, ...extra: string[]) => {
    fs.writeFileSync(path.join(dir, 'a.yaml'), text);
    fs.writeFileSync(path.join(dir, 'db.cnf'), sections, { mode: 0o600 });
    return runCli(['validate', 'a.yaml', '--dbconf', 'db.cnf', '--connect', ...extra], { cwd: dir });
  };
  const urls = () => `[src]\nurl = ${source.url}\n[tgt]\nurl = ${target.url}\n`;

  it('a source and target that hold what the regime needs: valid (a SQLite target may be made by run; MariaDB tables made by the administrators)', async () => {
    if (dialect === 'mariadb') {
      const missing = await validate(ADTEMP, urls());
      expect(missing.code).toBe(0);
      // LOCALSEQNO at `target`, the payload and Vld tables at the spec
      expect(heads(missing.stdout).map((l) => l.replace(/ target tgt \(.*\) has/, ' target has'))).toEqual([
        `a.yaml:${at(ADTEMP, 'tgt')} warning TARGET_TABLE_MISSING target: target has no table LOCALSEQNO: scrape run makes it only with --allow-drop-create-table (the user then needs CREATE)`,
        `a.yaml:${at(ADTEMP, 'GDcsAdTemp')} warning TARGET_TABLE_MISSING targets[0].spec: target has no table DcsAdTemp: scrape run makes it only with --allow-drop-create-table (the user then needs CREATE)`,
        `a.yaml:${at(ADTEMP, 'GDcsAdTemp')} warning TARGET_TABLE_MISSING targets[0].spec: target has no table DcsAdTempVld: scrape run makes it only with --allow-drop-create-table (the user then needs CREATE)`,
      ]);
      const production = await validate(ADTEMP, `${urls()}production = true\n`);
      expect(production.code).toBe(1);
      expect(heads(production.stdout).every((l) => / error TARGET_TABLE_MISSING .*production tables are never created by scrape$/.test(l))).toBe(true);
      await prepareTargetTables(target.db, [...loadRegime(path.join(ROOT, 'regimes.d', 'adtemp.yaml')).specs.values()], { create: true, drop: false, location: target.location });
    }
    expect(await validate(ADTEMP, urls())).toEqual({ code: 0, stdout: '1 regime valid (adtemp)\n', stderr: '' });
  });

  it('a declared column the source table lacks, and (columns undeclared) a map to a column it lacks: errors at the key and at the name', async () => {
    const six = ADTEMP.replace("'DBNS_SAB_Temp_PT{1..5}'", "'DBNS_SAB_Temp_PT{1..6}'");
    const r = await validate(six, urls());
    expect(r.code).toBe(1);
    expect(heads(r.stdout)).toEqual([`a.yaml:${at(six, "'DBNS_SAB_Temp_PT{1..6}'")} error SOURCE_SCHEMA tables[0].columns['DBNS_SAB_Temp_PT{1..6}']: source table DBNS_SAB_Temp has no column DBNS_SAB_Temp_PT6`]);

    const undeclared = ADTEMP.replace(/    columns:\n      'DBNS_SAB_Temp_PT\{1\.\.5\}': decimal\(6,2\)\n/, '').replace('Temp_PT5: last.DBNS_SAB_Temp_PT5', 'Temp_PT5: last.DBNS_SAB_Temp_PT6');
    const u = await validate(undeclared, urls());
    expect(u.code).toBe(1);
    expect(heads(u.stdout)).toEqual([
      `a.yaml:${at(undeclared, 'DBNS_SAB_Temp_PT6')} error REGIME_COLUMN targets[0].map.Temp_PT5: last.DBNS_SAB_Temp_PT6: no column 'DBNS_SAB_Temp_PT6' among the columns of source table DBNS_SAB_Temp: ${PT(5).join(', ')} (did you mean 'DBNS_SAB_Temp_PT1'?)`,
    ]);

    const none = ADTEMP.replace("'^DBNS_SAB_Temp$'", () => "'^LANS_SAB_Temp$'");
    const n = await validate(none, urls());
    expect(n.code).toBe(1);
    expect(heads(n.stdout)[0]).toMatch(new RegExp(`^a\\.yaml:${at(none, "- pattern: '^LANS")} error SOURCE_NO_TABLES tables: source src \\(.*\\): regime adtemp: no source table matches /\\^LANS_SAB_Temp\\$/$`));
  });

  it('a database that cannot be used is DATABASE_MISSING or DATABASE_CONNECT at its key', async () => {
    if (dialect === 'sqlite') {
      const r = await validate(ADTEMP, `[src]\nurl = sqlite:${path.join(dir, 'nothing.sqlite')}\n[tgt]\nurl = ${target.url}\n`);
      expect(r.code).toBe(1);
      expect(heads(r.stdout)).toEqual([`a.yaml:${at(ADTEMP, 'src')} error DATABASE_MISSING source: source src (sqlite:${path.join(dir, 'nothing.sqlite')}) does not exist`]);
      expect(fs.existsSync(path.join(dir, 'nothing.sqlite'))).toBe(false);
      return;
    }
    const refused = await validate(ADTEMP, `[src]\nurl = ${source.url}\n[tgt]\nurl = mysql://root@127.0.0.1:1/x\n`);
    expect(refused.code).toBe(1);
    expect(heads(refused.stdout)).toEqual([`a.yaml:${at(ADTEMP, 'tgt')} error DATABASE_CONNECT target: cannot use target tgt (mysql://root@127.0.0.1:1/x): connect ECONNREFUSED 127.0.0.1:1`]);
    // a server that accepts the connection and never says a word: the wait is bounded
    const silent = net.createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as net.AddressInfo).port;
    try {
      const r = await validate(ADTEMP, `[src]\nurl = ${source.url}\n[tgt]\nurl = mysql://root@127.0.0.1:${port}/x\n`, '--connect-timeout', '1');
      expect(r.code).toBe(1);
      expect(heads(r.stdout)).toHaveLength(1);
      expect(heads(r.stdout)[0]).toMatch(/ error DATABASE_CONNECT target: cannot use target tgt \(mysql:\/\/root@127\.0\.0\.1:\d+\/x\): (no answer within 1 s|connect ETIMEDOUT)$/);
    } finally {
      silent.close();
    }
  });
});

describe('scrape validate --connect: the target user\'s privileges (MariaDB: SQLite has no users)', () => {
  let dir: string;
  let source: TestDatabase;
  let target: TestDatabase;
  beforeAll(async () => {
    source = await createTestDatabase('mariadb', 'fake_vpriv_src');
    target = await createTestDatabase('mariadb', 'vpriv_tgt');
    await createSourceTable(source.db, 'DBNS_SAB_Temp', Object.fromEntries(PT(5).map((c) => [c, 'decimal(6,2)'])));
    // the tables exist, made by the administrators (here root)
    await prepareTargetTables(target.db, [...loadRegime(path.join(ROOT, 'regimes.d', 'adtemp.yaml')).specs.values()], { create: true, drop: false, location: target.location });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'scrape-vpriv-'));
  });
  afterAll(async () => {
    await source.drop();
    await target.drop();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const validate = async (text: string, sections: string) => {
    fs.writeFileSync(path.join(dir, 'a.yaml'), text);
    fs.writeFileSync(path.join(dir, 'db.cnf'), sections, { mode: 0o600 });
    return runCli(['validate', 'a.yaml', '--dbconf', 'db.cnf', '--connect'], { cwd: dir });
  };

  it('the target user may SELECT but not INSERT or UPDATE: each refused table named, the server\'s words; with the grants the README lists, valid', async () => {
    const user = `scrape_vc_${process.pid}`;
    const db = target.location.database!;
    await target.db.raw(`DROP USER IF EXISTS '${user}'@'%'`);
    await target.db.raw(`CREATE USER '${user}'@'%' IDENTIFIED BY 'pw#1'`);
    try {
      await target.db.raw(`GRANT SELECT ON \`${db}\`.* TO '${user}'@'%'`);
      const server = new URL(MARIADB_URL);
      // the target's credentials from [client], as in a ~/.my.cnf
      const sections = `[client]\nuser = ${user}\npassword = "pw#1"   # quoted\n[src]\nurl = ${source.url}\n[tgt]\nhost = ${server.hostname}\nport = ${server.port || 3306}\ndatabase = ${db}\n`;
      const r = await validate(ADTEMP, sections);
      expect(r.code).toBe(1);
      const denied = (what: string, table: string) => `${what} command denied to user '${user}'@'${server.hostname === 'localhost' ? 'localhost' : '127.0.0.1'}' for table \`${db}\`.\`${table}\``;
      // the password masked, as in every message
      const where = `target tgt (mysql://${user}:***@${server.hostname}:${server.port || 3306}/${db})`;
      expect(heads(r.stdout).map((l) => l.replace(/PREPARE .* - /, ''))).toEqual([
        `a.yaml:${at(ADTEMP, 'tgt')} error DATABASE_PRIVILEGE target: ${where}: cannot INSERT into LOCALSEQNO: ${denied('INSERT', 'LOCALSEQNO')}`,
        `a.yaml:${at(ADTEMP, 'tgt')} error DATABASE_PRIVILEGE target: ${where}: cannot UPDATE LOCALSEQNO: ${denied('UPDATE', 'LOCALSEQNO')}`,
        `a.yaml:${at(ADTEMP, 'tgt')} error DATABASE_PRIVILEGE target: ${where}: cannot INSERT into SCRAPE_SOURCE_IDS: ${denied('INSERT', 'SCRAPE_SOURCE_IDS')}`,
        `a.yaml:${at(ADTEMP, 'tgt')} error DATABASE_PRIVILEGE target: ${where}: cannot INSERT into SCRAPE_PROVENANCE: ${denied('INSERT', 'SCRAPE_PROVENANCE')}`,
        `a.yaml:${at(ADTEMP, 'GDcsAdTemp')} error DATABASE_PRIVILEGE targets[0].spec: ${where}: cannot INSERT into DcsAdTemp: ${denied('INSERT', 'DcsAdTemp')}`,
        `a.yaml:${at(ADTEMP, 'GDcsAdTemp')} error DATABASE_PRIVILEGE targets[0].spec: ${where}: cannot INSERT into DcsAdTempVld: ${denied('INSERT', 'DcsAdTempVld')}`,
      ]);
      await target.db.raw(`GRANT INSERT ON \`${db}\`.* TO '${user}'@'%'`);
      await target.db.raw(`GRANT UPDATE ON \`${db}\`.LOCALSEQNO TO '${user}'@'%'`);
      expect(await validate(ADTEMP, sections)).toEqual({ code: 0, stdout: '1 regime valid (adtemp)\n', stderr: '' });
      // nothing was written by checking
      expect(await target.db('DcsAdTempVld').count({ n: '*' })).toEqual([{ n: 0 }]);
    } finally {
      await target.db.raw(`DROP USER IF EXISTS '${user}'@'%'`);
    }
  });
});
