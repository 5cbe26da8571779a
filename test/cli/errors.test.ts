import * as crypto from 'crypto';
import * as fs from 'fs';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import { openDatabase } from '../../engine/db/open-database';
import { parseDatabaseUrl } from '../../engine/config/dbconf';
import { CliResult, ROOT, runCli } from '../support/cli';
import { DIALECTS, MARIADB_URL, TestDatabase, createTestDatabase } from '../support/databases';
import { ensureDist } from '../support/dist';
import { fillAdTempSource, spawnScrape } from '../ops/ops-support';

/**
 * Failures a person can fix, driven through the command line: each exits 1 with its code, a
 * `hint:` line and no stack; no password given on the command line appears in anything printed.
 */

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'scrape-errors-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** A MariaDB user with a password made for these tests (dropped at the end). */
const user = `scrape_err_${process.pid}`;
const password = `pw-${crypto.randomBytes(9).toString('hex')}`;
beforeAll(async () => {
  const admin = openDatabase(parseDatabaseUrl(MARIADB_URL), { poolMax: 1 });
  try {
    await admin.raw(`DROP USER IF EXISTS '${user}'@'%'`);
    await admin.raw(`CREATE USER '${user}'@'%' IDENTIFIED BY '${password}'`);
    await admin.raw(`GRANT ALL PRIVILEGES ON *.* TO '${user}'@'%'`);
  } finally {
    await admin.destroy();
  }
});
afterAll(async () => {
  const admin = openDatabase(parseDatabaseUrl(MARIADB_URL), { poolMax: 1 });
  try {
    await admin.raw(`DROP USER IF EXISTS '${user}'@'%'`);
  } finally {
    await admin.destroy();
  }
});

/** A closed local port: nothing listens on 1 (privileged, unused). */
const CLOSED = '127.0.0.1:1';
const QUERY_AT = ['--at', '2011-02-01 00:00:00', '--site', '32', '--subsite', '1'];

/** Exit 1, `error CODE:` (stderr, or stdout for `status`), a hint, no stack, none of `secrets`. */
function expectFixable(r: CliResult, code: string, secrets: string[] = []): void {
  const out = r.stdout + r.stderr;
  expect({ exit: r.code, out }).toMatchObject({ exit: 1 });
  expect(out).toMatch(new RegExp(`error ${code}: `));
  expect(out).toMatch(/hint: \S/);
  expect(out).not.toMatch(/internal error|\n\s+at /);
  for (const secret of secrets) expect(out).not.toContain(secret);
}

/** `mysql://user:password@host:port/db` on the test server. */
function serverUrl(user: string, password: string, db = ''): string {
  const u = new URL(MARIADB_URL.replace(/^mariadb:/, 'mysql:'));
  u.username = encodeURIComponent(user);
  u.password = encodeURIComponent(password);
  u.pathname = `/${db}`;
  return u.toString();
}

describe('flags and files', () => {
  it('--maxiter abc names --maxiter (not the --set it becomes)', async () => {
    for (const command of ['run', 'fake']) {
      const r = await runCli([command, 'adtemp', '--maxiter', 'abc']);
      expectFixable(r, 'BAD_OPTION');
      expect(r.stderr).toMatch(/^error BAD_OPTION: --maxiter abc: /m);
      expect(r.stderr).not.toMatch(/--set|maxiter=/);
    }
  });

  it('--dbconf naming a folder or nothing is DBCONF_FILE on every command that reads it', async () => {
    const dump = path.join(tmp, 'empty.sql');
    fs.writeFileSync(dump, '');
    const commands = [
      ['run', 'adtemp', '--until-caught-up'],
      ['average', 'adtemp', '--until-caught-up'],
      ['status', 'adtemp'],
      ['inspect', 'adtemp'],
      ['query', 'DcsAdTemp', ...QUERY_AT],
      ['fake', 'adtemp', '--count', '1'],
      ['load', dump, '--source', 'fake_dcs'],
      ['supervisor', 'adtemp', '--out', path.join(tmp, 'conf.d')],
    ];
    for (const [bad, said] of [[tmp, /is a folder/], [path.join(tmp, 'absent.ini'), /no such file/]] as const) {
      for (const args of commands) {
        const r = await runCli([...args, '--dbconf', bad]);
        expectFixable(r, 'DBCONF_FILE');
        expect([args[0], r.stdout + r.stderr]).toEqual([args[0], expect.stringMatching(said)]);
      }
    }
    expect(fs.existsSync(path.join(tmp, 'conf.d'))).toBe(false);
  });

  it('a --metrics-port in use is METRICS_PORT, said before any database is opened', async () => {
    const busy = net.createServer();
    await new Promise<void>((resolve) => busy.listen(0, '0.0.0.0', resolve));
    const port = (busy.address() as net.AddressInfo).port;
    try {
      for (const command of ['run', 'average']) {
        // the databases do not exist: the port is the first thing checked
        const r = await runCli([command, 'adtemp', '--source', `sqlite:${tmp}/none.sqlite`, '--target', `mysql://u:s3cret@${CLOSED}/x`, '--metrics-port', String(port), '--until-caught-up']);
        expectFixable(r, 'METRICS_PORT', ['s3cret']);
        expect(r.stderr).toContain(`port ${port}`);
      }
    } finally {
      await new Promise((resolve) => busy.close(resolve));
    }
  });

  it('a SQLite file in a folder that does not exist is DATABASE_FOLDER; no folder is created', async () => {
    const missing = path.join(tmp, 'no', 'such', 'dir');
    const file = `sqlite:${missing}/x.sqlite`;
    const fakeFile = `sqlite:${missing}/fake_x.sqlite`;
    const empty = path.join(tmp, 'empty.sqlite');
    fs.writeFileSync(empty, ''); // an empty file is an empty SQLite database
    const source = `sqlite:${empty}`;
    for (const args of [
      ['run', 'adtemp', '--source', source, '--target', file, '--until-caught-up'],
      ['average', 'adtemp', '--source', source, '--target', file, '--until-caught-up'],
      ['status', 'adtemp', '--source', source, '--target', file],
      ['inspect', 'adtemp', '--source', file],
      ['fake', 'adtemp', '--count', '1', '--source', fakeFile],
    ]) {
      const r = await runCli(args);
      expectFixable(r, 'DATABASE_FOLDER');
      expect(r.stdout + r.stderr).toContain(`mkdir -p ${missing}`);
    }
    expect(fs.existsSync(path.join(tmp, 'no'))).toBe(false);
  });
});

describe('a database that does not answer (closed port)', () => {
  const url = `mysql://scrape:hunter2pw@${CLOSED}/x`;
  const fakeUrl = `mysql://scrape:hunter2pw@${CLOSED}/fake_x`;

  it('status, inspect, query, fake and load give DB_UNREACHABLE after --connect-timeout', async () => {
    const dump = path.join(tmp, 'one.sql');
    fs.writeFileSync(dump, 'CREATE TABLE t (id int);\n');
    const commands = [
      ['status', 'adtemp', '--source', url],
      ['inspect', 'adtemp', '--source', url],
      ['query', 'DcsAdTemp', ...QUERY_AT, '--target', url],
      ['fake', 'adtemp', '--count', '1', '--source', fakeUrl],
      ['load', dump, '--source', fakeUrl],
    ];
    // side by side: each waits its 2 s
    const results = await Promise.all(commands.map((args) => runCli([...args, '--connect-timeout', '2s'])));
    for (const r of results) {
      expectFixable(r, 'DB_UNREACHABLE', ['hunter2pw']);
      expect(r.stdout + r.stderr).toContain(`scrape:***@${CLOSED}`);
      expect(r.stdout + r.stderr).toMatch(/still failing after 2 s/);
    }
  }, 60_000);

  it('a bad --connect-timeout is BAD_DURATION naming the flag', async () => {
    const r = await runCli(['status', 'adtemp', '--connect-timeout', 'soon']);
    expect(r.code).toBe(1);
    expect(r.stdout + r.stderr).toMatch(/error BAD_DURATION: --connect-timeout soon/);
  });

  beforeAll(() => ensureDist(), 120_000);

  it('long-running (no --until-caught-up) keeps waiting for it, then stops on SIGTERM with exit 0', async () => {
    const run = spawnScrape(['run', 'adtemp', '--source', url, '--target', `sqlite:${tmp}/long_running.sqlite`, '--connect-timeout', '1s']);
    const deadline = Date.now() + 15_000;
    while (!/database connection lost: .*ECONNREFUSED.*retrying/.test(run.output()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    // well past --connect-timeout: still waiting
    await new Promise((r) => setTimeout(r, 2500));
    expect(run.child.exitCode).toBeNull();
    run.child.kill('SIGTERM');
    const end = await run.exited;
    expect(end.code).toBe(0);
    expect(run.output()).toMatch(/database connection lost: mysql:\/\/scrape:\*\*\*@127\.0\.0\.1:1\/x: connect ECONNREFUSED/);
    expect(run.output()).not.toContain('hunter2pw');
  }, 30_000);
});

describe.each(DIALECTS)('on %s', (dialect) => {
  let source: TestDatabase;
  let target: TestDatabase;
  beforeAll(async () => {
    source = await createTestDatabase(dialect, 'fake_errors_src');
    target = await createTestDatabase(dialect, 'errors_tgt');
    await fillAdTempSource(source.db, 30, 1);
  }, 60_000);
  afterAll(async () => {
    await source.drop();
    await target.drop();
  });

  it('a database that does not exist is DATABASE_MISSING on every command, and is not created', async () => {
    const absentFile = path.join(tmp, `absent_${dialect}.sqlite`);
    const absent = dialect === 'sqlite' ? `sqlite:${absentFile}` : `${MARIADB_URL.replace(/\/+$/, '')}/no_such_db_${process.pid}`;
    for (const args of [
      ['run', 'adtemp', '--source', absent, '--target', target.url, '--until-caught-up'],
      ['average', 'adtemp', '--source', absent, '--target', target.url, '--until-caught-up'],
      ['status', 'adtemp', '--source', absent, '--target', target.url],
      ['inspect', 'adtemp', '--source', absent],
      ['query', 'DcsAdTemp', ...QUERY_AT, '--target', absent],
    ]) {
      const r = await runCli(args);
      expectFixable(r, args[0] === 'query' && dialect === 'sqlite' ? 'TARGET_MISSING' : 'DATABASE_MISSING');
    }
    if (dialect === 'mariadb') {
      const fake = `${MARIADB_URL.replace(/\/+$/, '')}/fake_no_such_db_${process.pid}`;
      expectFixable(await runCli(['fake', 'adtemp', '--count', '1', '--source', fake]), 'DATABASE_MISSING');
      const dump = path.join(tmp, 'load.sql');
      fs.writeFileSync(dump, 'CREATE TABLE t (id int);\n');
      expectFixable(await runCli(['load', dump, '--source', fake]), 'DATABASE_MISSING');
    }
    expect(fs.existsSync(absentFile)).toBe(false);
  }, 60_000);

  it('run and average with --until-caught-up: an unreachable target is DB_UNREACHABLE after --connect-timeout', async () => {
    const runs = await Promise.all(['run', 'average'].map((command) =>
      runCli([command, 'adtemp', '--source', source.url, '--target', `mysql://scrape:hunter2pw@${CLOSED}/x`, '--until-caught-up', '--connect-timeout', '2s'])));
    for (const r of runs) {
      expectFixable(r, 'DB_UNREACHABLE', ['hunter2pw']);
      expect(r.stderr).toMatch(/database connection lost: mysql:\/\/scrape:\*\*\*@127\.0\.0\.1:1\/x: connect ECONNREFUSED/);
    }
  }, 30_000);

  it('refusals name the target without its password: TARGET_PRODUCTION, SEED_PRODUCTION, FAKER_NOT_FAKE', async () => {
    const url = dialect === 'mariadb' ? serverUrl(user, password, target.location.database!) : target.url;
    const production = `${url}?production=true`;
    const run = ['run', 'adtemp', '--source', source.url, '--until-caught-up'];
    const created = await runCli([...run, '--target', production, '--allow-drop-create-table']);
    expectFixable(created, 'TARGET_PRODUCTION', [password]);
    const seeded = await runCli([...run, '--target', production, '--seed']);
    expectFixable(seeded, 'SEED_PRODUCTION', [password]);
    const faked = await runCli(['fake', 'adtemp', '--count', '1', '--source', url]);
    expectFixable(faked, 'FAKER_NOT_FAKE', [password]);
    if (dialect === 'mariadb') {
      for (const r of [created, seeded, faked]) expect(r.stderr).toContain(`${user}:***@`);
      // a target without tables, creation not allowed
      const missing = await runCli([...run, '--target', url]);
      expectFixable(missing, 'TARGET_TABLE_MISSING', [password]);
      expect(missing.stderr).toMatch(new RegExp(`regime adtemp: \\S+ -> mysql://${user}:\\*\\*\\*@`));
    }
    // nothing was written into the target
    expect(await target.db.schema.hasTable('DcsAdTempVld')).toBe(false);
  }, 60_000);

  it('a spec type the databases refuse: scrape validate reports it; scrape run refuses the regime, creating nothing', async () => {
    const specDir = path.join(tmp, `spec_${dialect}`);
    fs.mkdirSync(specDir);
    const text = fs.readFileSync(path.join(ROOT, 'spec', 'GDcsAdTemp.spec'), 'utf8');
    fs.writeFileSync(path.join(specDir, 'GDcsAdTemp.spec'), text.replace('Temp_PT1 | float', 'Temp_PT1 | decimal(99,2)').replace('Temp_PT2 | float', 'Temp_PT2 | varchar(99999)'));
    const validate = await runCli(['validate', 'adtemp', '--spec-dir', specDir]);
    expect(validate.code).toBe(1);
    expect(validate.stdout).toMatch(/error SPEC_TYPE targets\[0\]\.spec: spec GDcsAdTemp \(.*GDcsAdTemp\.spec:12\): column Temp_PT1 decimal\(99,2\): a precision of 99 digits/);
    expect(validate.stdout).toMatch(/error SPEC_TYPE targets\[0\]\.spec: spec GDcsAdTemp \(.*GDcsAdTemp\.spec:13\): column Temp_PT2 varchar\(99999\): more than the 16383 characters/);
    const run = await runCli(['run', 'adtemp', '--spec-dir', specDir, '--source', source.url, '--target', target.url, '--until-caught-up', '--allow-drop-create-table']);
    expectFixable(run, 'REGIME_INVALID');
    expect(run.stderr).toMatch(/SPEC_TYPE/);
    expect(await target.db.schema.hasTable('DcsAdTemp')).toBe(false);
  });

  if (dialect === 'mariadb') {
    it('a wrong password is DB_ACCESS_DENIED on every command, printing neither password', async () => {
      const db = target.location.database!;
      const wrong = serverUrl(user, `wrong-${password}`, db);
      const fakeWrong = `${serverUrl(user, `wrong-${password}`, source.location.database!)}?fake=true`;
      const dump = path.join(tmp, 'pw.sql');
      fs.writeFileSync(dump, 'CREATE TABLE t (id int);\n');
      for (const args of [
        ['run', 'adtemp', '--source', source.url, '--target', wrong, '--until-caught-up'],
        ['average', 'adtemp', '--source', wrong, '--target', target.url, '--until-caught-up'],
        ['status', 'adtemp', '--source', source.url, '--target', wrong],
        ['inspect', 'adtemp', '--source', wrong],
        ['query', 'DcsAdTemp', ...QUERY_AT, '--target', wrong],
        ['fake', 'adtemp', '--count', '1', '--source', fakeWrong],
        ['load', dump, '--source', fakeWrong],
      ]) {
        const r = await runCli(args);
        expectFixable(r, 'DB_ACCESS_DENIED', [password]);
        expect(r.stdout + r.stderr).toContain(`${user}:***@`);
        expect(r.stdout + r.stderr).toMatch(/Access denied for user/);
      }
    }, 60_000);

    it('the right password works and is masked in every log line', async () => {
      const url = serverUrl(user, password, target.location.database!);
      const r = await runCli(['run', 'adtemp', '--source', source.url, '--target', url, '--until-caught-up', '--allow-drop-create-table', '--log-format', 'json']);
      expect({ code: r.code, err: r.stderr }).toMatchObject({ code: 0 });
      expect(r.stderr).toContain(`${user}:***@`);
      expect(r.stderr).not.toContain(password);
      await target.db.raw('DROP TABLE IF EXISTS DcsAdTemp, DcsAdTempVld, LOCALSEQNO, SCRAPE_SOURCE_IDS, SCRAPE_LOCKS');
    }, 60_000);
  }
});
