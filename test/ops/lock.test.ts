import { ChildProcess, spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { PassThrough } from 'stream';
import { Knex } from 'knex';
import { main } from '../../engine/cli/main';
import { projectRoot } from '../../engine/config/dbconf';
import { isScrapeError } from '../../engine/core/errors';
import { loadRegime } from '../../engine/config/load-regime';
import { dumpTarget } from '../../engine/dbi/dbi-reader';
import { LockScope, TargetLock, lockStatus, scopeLockName, sqliteLockFile } from '../../engine/session/target-lock';
import { DIALECTS, createTestDatabase, TestDatabase } from '../support/databases';
import { createSourceTable, insertRows, localPlus, prng } from '../support/source-fixture';
import { ensureDist } from '../support/dist';
import { ADTEMP_SCOPE } from './ops-support';
import { createLidTable, insertLidRows, lidRows } from '../averager/lid-fixture';

const ROOT = projectRoot();
const PT = [1, 2, 3, 4, 5].map((i) => `DBNS_SAB_Temp_PT${i}`);
const SPEC = loadRegime(path.join(ROOT, 'regimes.d', 'adtemp.yaml')).specs.get('GDcsAdTemp')!;


interface Child {
  child: ChildProcess;
  output(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const children: Child[] = [];

/** `node bin/scrape <args>` from the project root. */
function spawnScrape(args: string[], env: Record<string, string> = {}): Child {
  const child = spawn(process.execPath, [path.join(ROOT, 'bin', 'scrape'), ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', SCRAPE_LOCK_CHECK_MS: '500', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const chunks: string[] = [];
  child.stdout!.on('data', (c) => chunks.push(String(c)));
  child.stderr!.on('data', (c) => chunks.push(String(c)));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  const c = { child, output: () => chunks.join(''), exited };
  children.push(c);
  return c;
}

/** Polls `check` every 100 ms until true; fails after `ms`. */
async function waitFor(what: string, check: () => boolean | Promise<boolean>, ms: number): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    if (await check()) return;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Resolves with the exit, or rejects after `ms`. */
function exitWithin(c: Child, ms: number) {
  return Promise.race([
    c.exited,
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`child did not exit within ${ms} ms:\n${c.output()}`)), ms).unref()),
  ]);
}

async function validities(db: Knex) {
  if (!(await db.schema.hasTable('DcsAdTempVld'))) return [];
  return (await dumpTarget(db, SPEC)).vld;
}

afterAll(() => {
  for (const c of children) if (c.child.exitCode === null && c.child.signalCode === null) c.child.kill('SIGKILL');
});

const SAB = ADTEMP_SCOPE;
const SAB_TASK1: LockScope = { table: 'DcsAdTemp', context: { ...SAB.context, task: 1 } };
const LID_AD1: LockScope = { table: 'DcsAdLidSensor', context: { sitemask: 1, subsite: 1, simmask: 1, task: 0, aggregateno: -1 } };

describe('lock names', () => {
  it('target database, table and context (not role or regime); hashed beyond 64 characters', () => {
    expect(scopeLockName('tmp_offline_db', SAB)).toBe('scrape:tmp_offline_db:DcsAdTemp:32:1:1:0:-1');
    const long = scopeLockName('x'.repeat(80), SAB);
    expect(long.length).toBeLessThanOrEqual(64);
    expect(long).not.toBe(scopeLockName('x'.repeat(81), SAB));
    expect(long.startsWith('scrape:xxx')).toBe(true);
    expect(sqliteLockFile('/d/t.sqlite', SAB)).toBe('/d/t.sqlite.locks/DcsAdTemp_32_1_1_0_-1.lock');
  });
});

describe.each(DIALECTS)('TargetLock on %s', (dialect) => {
  let target: TestDatabase;
  beforeAll(async () => {
    target = await createTestDatabase(dialect, 'lock_unit_tgt');
  });
  afterAll(async () => {
    await target.drop();
  });

  it('one holder per (table, context) at a time; the other is told who holds it and what; released locks can be taken', async () => {
    const a = TargetLock.for(target.location, [SAB]);
    const b = TargetLock.for(target.location, [SAB]);
    const otherTask = TargetLock.for(target.location, [SAB_TASK1]);
    try {
      expect(await lockStatus(target.db, SAB)).toEqual({ held: false });
      expect(await a.tryAcquire()).toBe(true);
      expect(await a.stillHeld()).toBe(true);
      expect(await b.tryAcquire()).toBe(false);
      // Another context of the same table is another lock.
      expect(await otherTask.tryAcquire()).toBe(true);
      const err = await b.acquire('scraper of regime adtemp on T').catch((e: Error) => e);
      expect(isScrapeError(err, 'LOCK_HELD')).toBe(true);
      expect((err as Error).message).toMatch(new RegExp(`^scraper of regime adtemp on T is locked by .* pid ${process.pid}\\b.*, which writes DcsAdTemp \\{sitemask: 32, subsite: 1, simmask: 1, task: 0, aggregateno: -1\\}$`));
      const st = await lockStatus(target.db, SAB);
      expect(st.held).toBe(true);
      expect(st.holder).toContain(`pid ${process.pid}`);

      // Standby: waits while held, takes over once released.
      const b2 = TargetLock.for(target.location, [SAB]);
      let announced = '';
      let settled = false;
      const waiting = b2.acquire('x', { standby: true, pollMs: 50, onStandby: (h: string) => (announced = h) }).finally(() => (settled = true));
      // Announced once it has seen the lock held (how long that takes depends on the machine);
      // then still waiting after several polls while `a` holds the lock.
      await waitFor('the standby announcement', () => announced !== '', 10_000);
      expect(announced).toContain(`pid ${process.pid}`);
      await new Promise((r) => setTimeout(r, 300));
      expect(settled).toBe(false);
      await a.release();
      await waiting;
      expect(await b2.stillHeld()).toBe(true);
      expect(await a.tryAcquire()).toBe(false);
      await b2.release();
      expect(await lockStatus(target.db, SAB)).toEqual({ held: false });
    } finally {
      await a.release();
      await b.release();
      await otherTask.release();
    }
  });

  it('a set of scopes is taken whole or not at all: one contested scope leaves the others free', async () => {
    const one = TargetLock.for(target.location, [SAB_TASK1]);
    const set = TargetLock.for(target.location, [LID_AD1, SAB, SAB_TASK1]);
    try {
      expect(await one.tryAcquire()).toBe(true);
      expect(await set.tryAcquire()).toBe(false);
      // nothing of the set is held: both free scopes can be taken by a third writer
      expect(await lockStatus(target.db, LID_AD1)).toEqual({ held: false });
      expect(await lockStatus(target.db, SAB)).toEqual({ held: false });
      const err = await set.acquire('the set').catch((e: Error) => e);
      expect((err as Error).message).toMatch(/which writes DcsAdTemp \{sitemask: 32, subsite: 1, simmask: 1, task: 1, aggregateno: -1\}$/);
      await one.release();
      expect(await set.tryAcquire()).toBe(true);
      expect(await set.stillHeld()).toBe(true);
      for (const s of [LID_AD1, SAB, SAB_TASK1]) expect((await lockStatus(target.db, s)).held).toBe(true);
      await set.release();
      for (const s of [LID_AD1, SAB, SAB_TASK1]) expect(await lockStatus(target.db, s)).toEqual({ held: false });
    } finally {
      await one.release();
      await set.release();
    }
  });
});

describe.each(DIALECTS)('two scrape run processes on %s', (dialect) => {
  let source: TestDatabase;
  let target: TestDatabase;
  let feeder: NodeJS.Timeout | undefined;
  let nextId = 1;
  const rnd = prng(7);
  const values = PT.map((_, i) => 20 + i);

  /** Appends `n` rows, 10 s apart in DB time, values random-walking so changes propagate. */
  async function feed(n: number): Promise<void> {
    const rows: Record<string, unknown>[] = [];
    for (let k = 0; k < n; k++, nextId++) {
      const row: Record<string, unknown> = { id: nextId, date_time: localPlus('2011-02-01 00:00:00', 10 * nextId) };
      PT.forEach((c, i) => {
        values[i] = Math.round((values[i] + (rnd() - 0.5) * 1.5) * 100) / 100;
        row[c] = values[i];
      });
      rows.push(row);
    }
    await insertRows(source.db, 'DBNS_SAB_Temp', rows);
  }

  beforeAll(async () => {
    ensureDist();
    source = await createTestDatabase(dialect, 'fake_lock_src');
    target = await createTestDatabase(dialect, 'lock_tgt');
    await createSourceTable(source.db, 'DBNS_SAB_Temp', Object.fromEntries(PT.map((c) => [c, 'decimal(6,2)'])));
    await feed(100);
  }, 120_000);
  afterAll(async () => {
    if (feeder) clearInterval(feeder);
    for (const c of children) if (c.child.exitCode === null && c.child.signalCode === null) c.child.kill('SIGKILL');
    await Promise.all(children.map((c) => exitWithin(c, 5000).catch(() => undefined)));
    await source.drop();
    await target.drop();
  });

  const args = () => ['run', 'adtemp', '--source', source.url, '--target', target.url, '--allow-drop-create-table', '--set', 'maxage=1m', '--set', 'sleep=1s', '--set', 'heartbeat=1s'];

  it('exactly one writes; the other exits 1 naming the holder; a standby takes over within 10 s; nothing is written twice', async () => {
    // Live source: a few rows every 200 ms.
    feeder = setInterval(() => void feed(3).catch(() => undefined), 200);

    // Started together: one wins, the other exits 1 with LOCK_HELD naming the winner.
    const x = spawnScrape(args());
    const y = spawnScrape(args());
    const first = await Promise.race([x.exited.then(() => x), y.exited.then(() => y), new Promise<never>((_, r) => setTimeout(() => r(new Error(`neither exited:\n${x.output()}\n${y.output()}`)), 30_000).unref())]);
    const loser = first;
    const winner = first === x ? y : x;
    expect(loser.child.exitCode).toBe(1);
    expect(loser.output()).toMatch(new RegExp(`^error LOCK_HELD: scraper of regime adtemp on \\S+ is locked by \\S+ pid ${winner.child.pid}\\b.*, which writes DcsAdTemp \\{`, 'm'));
    // The winner writes.
    await waitFor('the winner to write validities', async () => (await validities(target.db)).length >= 3, 30_000);
    expect(winner.child.exitCode).toBeNull();

    // A standby waits while the winner runs.
    const standby = spawnScrape([...args(), '--standby']);
    await waitFor('the standby to announce itself', () => /standing by: .*pid \d+/.test(standby.output()), 20_000);
    expect(standby.output()).toContain(`pid ${winner.child.pid}`);
    await new Promise((r) => setTimeout(r, 1500));
    expect(standby.child.exitCode).toBeNull();
    expect(standby.output()).not.toMatch(/took the lock/);

    // SIGKILL the holder: the standby takes over within 10 s and writes continue.
    const killedAt = Date.now();
    winner.child.kill('SIGKILL');
    await winner.exited;
    const before = (await validities(target.db)).length;
    await waitFor('the standby to take over', () => /took the lock/.test(standby.output()), 10_000);
    const takeoverMs = Date.now() - killedAt;
    expect(takeoverMs).toBeLessThan(10_000);
    process.stdout.write(`${dialect}: standby took over ${takeoverMs} ms after SIGKILL\n`);
    await waitFor('writes after the takeover', async () => (await validities(target.db)).length >= before + 3, 30_000);
    clearInterval(feeder);
    feeder = undefined;
    // `scrape status` reads who holds the lock from the target.
    const held = await lockStatus(target.db, SAB);
    expect(held.held).toBe(true);
    expect(held.holder).toMatch(new RegExp(`pid ${standby.child.pid}\\b`));

    standby.child.kill('SIGTERM');
    const end = await exitWithin(standby, 10_000);
    expect(end.code).toBe(0);
    expect(standby.output()).not.toMatch(/ERROR|internal error/);

    // Nothing written twice: unique SEQNO, unique TIMESTART per context, contiguous ranges.
    const vld = await validities(target.db);
    const seqnos = vld.map((v) => v.SEQNO);
    expect(new Set(seqnos).size).toBe(seqnos.length);
    expect([...seqnos].sort((p, q) => p - q)).toEqual(seqnos);
    const byContext = new Map<string, typeof vld>();
    for (const v of vld) {
      const key = `${v.SITEMASK}/${v.SUBSITE}/${v.SIMMASK}/${v.TASK}`;
      byContext.set(key, [...(byContext.get(key) ?? []), v]);
    }
    for (const list of byContext.values()) {
      const starts = list.map((v) => v.TIMESTART);
      expect(new Set(starts).size).toBe(starts.length);
      for (let i = 1; i < list.length; i++) expect(list[i].TIMESTART).toBe(list[i - 1].TIMEEND);
    }
  }, 180_000);
});

describe.each(DIALECTS)('SIGHUP to scrape run on %s', (dialect) => {
  let source: TestDatabase;
  let target: TestDatabase;
  let dir: string;
  const ADTEMP = fs.readFileSync(path.join(ROOT, 'regimes.d', 'adtemp.yaml'), 'utf8');

  /** Rows `from..to`, 10 s apart, constant readings: only maxage propagates. */
  async function rows(from: number, to: number): Promise<void> {
    const list = [];
    for (let id = from; id <= to; id++) list.push({ id, date_time: localPlus('2011-02-01 00:00:00', id * 10), ...Object.fromEntries(PT.map((c) => [c, 18.5])) });
    await insertRows(source.db, 'DBNS_SAB_Temp', list);
  }

  beforeAll(async () => {
    ensureDist();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'scrape-hup-'));
    source = await createTestDatabase(dialect, 'fake_hup_src');
    target = await createTestDatabase(dialect, 'hup_tgt');
    await createSourceTable(source.db, 'DBNS_SAB_Temp', Object.fromEntries(PT.map((c) => [c, 'decimal(6,2)'])));
    await rows(1, 100);
  }, 120_000);
  afterAll(async () => {
    for (const c of children) if (c.child.exitCode === null && c.child.signalCode === null) c.child.kill('SIGKILL');
    await source.drop();
    await target.drop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('an invalid edit is logged and ignored; a valid one is applied, resuming from the target', async () => {
    const file = path.join(dir, 'adtemp.yaml');
    const withMaxage = (m: string) => ADTEMP.replace('  maxage: 10m', () => `  maxage: ${m}`).replace('  sleep: 3s', () => '  sleep: 1s').replace('  heartbeat: 3s', () => '  heartbeat: 1s');
    fs.writeFileSync(file, withMaxage('1m'));
    const run = spawnScrape(['run', file, '--source', source.url, '--target', target.url, '--allow-drop-create-table']);
    // Rows 1..100 every 10 s, maxage 1m (propagate once more than 60 s apart): [1,8), [8,15) ... [92,99): 14.
    await waitFor('14 validities', async () => (await validities(target.db)).length === 14, 30_000);

    fs.writeFileSync(file, withMaxage('soon'));
    run.child.kill('SIGHUP');
    await waitFor('the invalid edit to be reported', () => /WARN .*SIGHUP: regime file .* is invalid/.test(run.output()), 10_000);
    expect(run.output()).toMatch(/maxage/);
    expect(run.child.exitCode).toBeNull();
    expect(run.output()).not.toMatch(/reloaded regime/);

    fs.writeFileSync(file, withMaxage('2m'));
    run.child.kill('SIGHUP');
    await waitFor('the reload', () => /INFO  reloaded regime adtemp/.test(run.output()), 10_000);
    await rows(101, 200);
    // Resumed at row 99 with maxage 2m (more than 120 s apart): [99,112), [112,125) ... [177,190): 7 more.
    await waitFor('21 validities', async () => (await validities(target.db)).length === 21, 30_000);
    run.child.kill('SIGTERM');
    expect((await exitWithin(run, 10_000)).code).toBe(0);
    const vld = await validities(target.db);
    expect(vld).toHaveLength(21);
    const seconds = vld.map((v) => (Date.parse(v.TIMEEND.replace(' ', 'T') + 'Z') - Date.parse(v.TIMESTART.replace(' ', 'T') + 'Z')) / 1000);
    expect(seconds).toEqual([...Array(14).fill(70), ...Array(7).fill(130)]);
    for (let i = 1; i < vld.length; i++) expect(vld[i].TIMESTART).toBe(vld[i - 1].TIMEEND);
  }, 120_000);
});

describe.each(DIALECTS)('one writer per (table, context) on %s', (dialect) => {
  let source: TestDatabase;
  let target: TestDatabase;
  let dir: string;
  beforeAll(async () => {
    source = await createTestDatabase(dialect, 'fake_scope_src');
    target = await createTestDatabase(dialect, 'scope_tgt');
    await createSourceTable(source.db, 'DBNS_SAB_Temp', Object.fromEntries(PT.map((c) => [c, 'decimal(6,2)'])));
    await insertRows(source.db, 'DBNS_SAB_Temp', Array.from({ length: 40 }, (_, i) => ({ id: i + 1, date_time: localPlus('2011-02-01 00:00:00', i * 10), ...Object.fromEntries(PT.map((c) => [c, 18.5 + (i % 4)])) })));
    await createLidTable(source.db, 'AD1_LidSensor');
    await insertLidRows(source.db, 'AD1_LidSensor', lidRows('2012-02-01 00:00:00', 3 * 3600 + 60, 5));
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'scrape-scope-'));
    fs.writeFileSync(path.join(dir, 'adtemp2.yaml'), fs.readFileSync(path.join(ROOT, 'regimes.d', 'adtemp.yaml'), 'utf8').replace(/^name: adtemp$/m, 'name: adtemp2'));
  });
  afterAll(async () => {
    fs.rmSync(dir, { recursive: true, force: true });
    await source.drop();
    await target.drop();
  });
  const cli = async (...args: string[]) => {
    const out: string[] = [];
    const stderr = new PassThrough();
    stderr.on('data', (c) => out.push(String(c)));
    const code = await main(['node', 'scrape', ...args, '--source', source.url, '--target', target.url, '--until-caught-up', '--allow-drop-create-table'], { stdout: new PassThrough(), stderr, env: {}, cwd: ROOT });
    return { code, err: out.join('') };
  };

  it("while a writer holds adtemp's (table, context), its averager and a renamed copy are refused: exit 1 LOCK_HELD naming both, nothing written", async () => {
    // the holder stands in for `scrape run adtemp`: a lock of the one (table, context) adtemp writes
    const holder = TargetLock.for(target.location, [SAB]);
    expect(await holder.tryAcquire()).toBe(true);
    try {
      const context = 'DcsAdTemp \\{sitemask: 32, subsite: 1, simmask: 1, task: 0, aggregateno: -1\\}';
      const average = await cli('average', 'adtemp');
      expect(average.code).toBe(1);
      expect(average.err).toMatch(new RegExp(`^error LOCK_HELD: averager of regime adtemp on \\S+ is locked by .*pid ${process.pid}\\b.*, which writes ${context}$`, 'm'));
      const copy = await cli('run', path.join(dir, 'adtemp2.yaml'));
      expect(copy.code).toBe(1);
      expect(copy.err).toMatch(new RegExp(`^error LOCK_HELD: scraper of regime adtemp2 on \\S+ is locked by .*pid ${process.pid}\\b.*, which writes ${context}$`, 'm'));
      expect(await target.db.schema.hasTable('DcsAdTempVld')).toBe(false);
    } finally {
      await holder.release();
    }
  });

  it("adlid's averager writes its own task (1): it runs while the scraper's (table, context) is held, and the scraper's is left alone", async () => {
    // adlid AD1 -> EH1 (sitemask 1) subsite 1; the scraper writes task 0 (context.task)
    const holder = TargetLock.for(target.location, [LID_AD1]);
    expect(await holder.tryAcquire()).toBe(true);
    try {
      const average = await cli('average', 'adlid');
      expect(average.err).not.toMatch(/error/);
      expect(average.code).toBe(0);
      const rows = await target.db('DcsAdLidSensorVld').select('SITEMASK', 'SUBSITE', 'TASK').orderBy('SEQNO');
      // three complete hours (the fourth has no entry at or after its end)
      expect(rows).toEqual(Array(3).fill({ SITEMASK: 1, SUBSITE: 1, TASK: 1 }));
      const scraper = await cli('run', 'adlid');
      expect(scraper.code).toBe(1);
      expect(scraper.err).toMatch(/^error LOCK_HELD: scraper of regime adlid .*, which writes DcsAdLidSensor \{sitemask: 1, subsite: 1, simmask: 1, task: 0, aggregateno: -1\}$/m);
    } finally {
      await holder.release();
    }
    // averager first, then the scraper: each writes exactly what it writes alone (the manual's
    // silent loss was the scraper resuming from the averager's last validity)
    const averaged = await target.db('DcsAdLidSensorVld').where({ TASK: 1 }).orderBy('SEQNO').select('TIMESTART', 'TIMEEND');
    expect((await cli('run', 'adlid')).code).toBe(0);
    const alone = await createTestDatabase(dialect, 'scope_alone');
    try {
      const out: string[] = [];
      const code = await main(['node', 'scrape', 'run', 'adlid', '--source', source.url, '--target', alone.url, '--until-caught-up', '--allow-drop-create-table'], { stdout: new PassThrough(), stderr: new PassThrough(), env: {}, cwd: ROOT });
      expect({ code, out }).toEqual({ code: 0, out: [] });
      const scraped = (db: Knex) => db('DcsAdLidSensorVld').where({ TASK: 0 }).orderBy('TIMESTART').select('TIMESTART', 'TIMEEND', 'SITEMASK', 'SUBSITE', 'VERSIONDATE');
      const want = await scraped(alone.db);
      // 3 h of 10 s rows and a 1 h maxage: a validity at least every hour
      expect(want.length).toBeGreaterThanOrEqual(3);
      expect(await scraped(target.db)).toEqual(want);
      expect(await target.db('DcsAdLidSensorVld').where({ TASK: 1 }).orderBy('SEQNO').select('TIMESTART', 'TIMEEND')).toEqual(averaged);
    } finally {
      await alone.drop();
    }
  });
});

// MariaDB only: a SQLite lock is a file lock of this very process, which no server can take away.
describe('losing the lock on mariadb', () => {
  let source: TestDatabase;
  const targets: TestDatabase[] = [];
  const row = (id: number) => ({ id, date_time: localPlus('2011-02-01 00:00:00', id * 10), ...Object.fromEntries(PT.map((c, i) => [c, 18.5 + ((id * (i + 1)) % 7) / 2])) });
  const addRows = async (from: number, to: number) => {
    const list = [];
    for (let id = from; id <= to; id++) list.push(row(id));
    await insertRows(source.db, 'DBNS_SAB_Temp', list);
  };
  const args = (target: TestDatabase, ...more: string[]) => ['run', 'adtemp', '--source', source.url, '--target', target.url, '--allow-drop-create-table', '--set', 'maxage=1m', '--set', 'sleep=1s', '--set', 'heartbeat=1s', ...more];
  const lockHolder = async (target: TestDatabase): Promise<number | null> => {
    const [[r]] = await target.db.raw('SELECT IS_USED_LOCK(?) AS id', [scopeLockName(target.location.database!, SAB)]);
    return r.id === null ? null : Number(r.id);
  };
  /** The validities one uninterrupted run writes over the source as it is now (DBI content, no INSERTDATE). */
  const reference = async (): Promise<unknown[]> => {
    const ref = await createTestDatabase('mariadb', 'lost_ref');
    targets.push(ref);
    const once = spawnScrape([...args(ref), '--until-caught-up']);
    expect((await exitWithin(once, 30_000)).code).toBe(0);
    return (await validities(ref.db)).map(({ INSERTDATE: _i, SEQNO: _s, ...rest }) => rest);
  };
  const content = async (target: TestDatabase) => (await validities(target.db)).map(({ INSERTDATE: _i, SEQNO: _s, ...rest }) => rest);

  beforeAll(async () => {
    ensureDist();
    source = await createTestDatabase('mariadb', 'fake_lost_src');
    await createSourceTable(source.db, 'DBNS_SAB_Temp', Object.fromEntries(PT.map((c) => [c, 'decimal(6,2)'])));
    await addRows(1, 50);
  }, 120_000);
  afterAll(async () => {
    for (const c of children) if (c.child.exitCode === null && c.child.signalCode === null) c.child.kill('SIGKILL');
    await source.drop();
    for (const t of targets) await t.drop();
  });

  it('the lock connection killed by the server: the scraper takes the lock again and keeps writing, nothing doubled', async () => {
    const target = await createTestDatabase('mariadb', 'lost_tgt');
    targets.push(target);
    const run = spawnScrape(args(target));
    await waitFor('validities', async () => (await validities(target.db)).length >= 3, 30_000);
    const first = await lockHolder(target);
    expect(first).not.toBeNull();
    await target.db.raw(`KILL ${first}`);
    await waitFor('the lock taken again', async () => /lost the writer lock/.test(run.output()) && ((await lockHolder(target)) ?? first) !== first, 15_000);
    expect(run.child.exitCode).toBeNull();
    await addRows(51, 120);
    const expected = await reference();
    await waitFor('the new rows scraped', async () => JSON.stringify(await content(target)) === JSON.stringify(expected), 30_000);
    expect(run.child.exitCode).toBeNull();
    run.child.kill('SIGTERM');
    expect((await exitWithin(run, 10_000)).code).toBe(0);
    await source.db('DBNS_SAB_Temp').where('id', '>', 50).delete();
  }, 120_000);

  it("writer A's lock connection killed with B standing by: both write while A has not noticed, the target still equals one uninterrupted run", async () => {
    const target = await createTestDatabase('mariadb', 'lost_standby_tgt');
    targets.push(target);
    // A checks its lock only every 10 minutes: after the kill it goes on writing beside B, as a
    // writer whose lock check has not come yet does; only the target's fencing keeps them apart
    const a = spawnScrape(args(target), { SCRAPE_LOCK_CHECK_MS: '600000' });
    await waitFor('A writing', async () => (await validities(target.db)).length >= 3, 30_000);
    const b = spawnScrape(args(target, '--standby'), { SCRAPE_LOCK_POLL_MS: '100' });
    await waitFor('B standing by', () => /standing by/.test(b.output()), 15_000);
    const held = await lockHolder(target);
    await target.db.raw(`KILL ${held}`);
    await waitFor('B taking over', () => /took the lock/.test(b.output()), 15_000);
    await addRows(51, 120);
    const expected = await reference();
    await waitFor('the new rows scraped', async () => JSON.stringify(await content(target)) === JSON.stringify(expected), 30_000);
    const starts = (await validities(target.db)).map((v) => String(v.TIMESTART));
    expect(new Set(starts).size).toBe(starts.length);
    // both kept running; at least one of A's writes met B's and was refused
    expect(a.child.exitCode).toBeNull();
    expect(b.child.exitCode).toBeNull();
    await waitFor('a refused write', () => /another writer wrote this context; nothing written/.test(a.output() + b.output()), 15_000);
    expect(JSON.stringify(await content(target))).toBe(JSON.stringify(expected));
    a.child.kill('SIGTERM');
    b.child.kill('SIGTERM');
    expect((await exitWithin(a, 10_000)).code).toBe(0);
    expect((await exitWithin(b, 10_000)).code).toBe(0);
    await source.db('DBNS_SAB_Temp').where('id', '>', 50).delete();
  }, 120_000);
});
