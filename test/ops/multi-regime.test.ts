import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ManualClock } from '../../engine/core/clock';
import { MemoryLogger } from '../../engine/core/logger';
import { LoadedRegime } from '../../engine/config/load-regime';
import { declaresAverager } from '../../engine/config/declares-averager';
import { dialectOf, quoteIdentifier, rawRows } from '../../engine/db/dialect';
import { runMultiSession } from '../../engine/session/multi-session';
import { renderStatusPage } from '../../engine/report/status-page';
import { TargetLock } from '../../engine/session/target-lock';
import { runCli } from '../support/cli';
import { DIALECTS, TestDatabase, createTestDatabase } from '../support/databases';
import { REGIMES, shippedRegime } from '../regimes/regime-run';

/** The three regimes these tests run: one stream (adtemp), three sites each (envpth, iowtemp). */
const NAMES = ['adtemp', 'envpth', 'iowtemp'];

/**
 * Every validity of a spec's tables with its payload, as SQL returns it, without what depends on
 * when or in which order it was written (SEQNO, INSERTDATE): the rows a reader sees.
 */
async function targetRows(target: TestDatabase, loaded: LoadedRegime): Promise<unknown[]> {
  const spec = [...loaded.specs.values()][0];
  const q = (n: string) => quoteIdentifier(n, dialectOf(target.db));
  const payloadColumns = spec.columns.map((c) => `p.${q(c.name)}`).join(', ');
  const sql = `SELECT v.SITEMASK, v.SUBSITE, v.SIMMASK, v.TASK, v.AGGREGATENO, v.TIMESTART, v.TIMEEND, v.VERSIONDATE, p.ROW_COUNTER, ${payloadColumns}
    FROM ${q(`${spec.table}Vld`)} v JOIN ${q(spec.table)} p ON p.SEQNO = v.SEQNO
    ORDER BY v.SITEMASK, v.SUBSITE, v.TASK, v.TIMESTART, p.ROW_COUNTER`;
  return (await rawRows(target.db, sql)).map((r) => JSON.parse(JSON.stringify(r)));
}

/** Validities per context (sitemask/subsite) and the latest TIMESTART of each. */
async function latestPerContext(target: TestDatabase, table: string): Promise<Map<string, string>> {
  const q = (n: string) => quoteIdentifier(n, dialectOf(target.db));
  const rows = await rawRows(target.db, `SELECT SITEMASK, SUBSITE, MAX(TIMESTART) AS latest FROM ${q(`${table}Vld`)} GROUP BY SITEMASK, SUBSITE`).catch(() => []);
  return new Map(rows.map((r: { SITEMASK: number; SUBSITE: number; latest: string }) => [`${r.SITEMASK}/${r.SUBSITE}`, String(r.latest)]));
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Simulated time for a live run: a sleep moves it at once, then yields one real macrotask, so the
 * test's own polling runs between the loop's turns (a SQLite query never leaves the microtask
 * queue, and a ManualClock's sleep neither).
 */
class YieldingClock extends ManualClock {
  async sleep(ms: number): Promise<void> {
    await super.sleep(ms);
    await sleep(1);
  }
}

/** Polls `check` (real time, generous bound: never a speed assertion) until it is true. */
async function until(check: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 1200; i++) {
    if (await check()) return;
    await sleep(100);
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe.each(DIALECTS)('several regimes in one process on %s', (dialect) => {
  let src: TestDatabase;
  const loaded = Object.fromEntries(NAMES.map((n) => [n, shippedRegime(n)]));
  const specTable = (n: string) => [...loaded[n].specs.values()][0].table;
  let regimesDir: string;

  beforeAll(async () => {
    src = await createTestDatabase(dialect, 'fake_multi_src');
    // a folder holding only these three regimes: ALL there means exactly them
    regimesDir = fs.mkdtempSync(path.join(os.tmpdir(), 'scrape-multi-regimes-'));
    for (const n of NAMES) fs.copyFileSync(path.join(REGIMES, `${n}.yaml`), path.join(regimesDir, `${n}.yaml`));
    for (const n of NAMES) {
      const r = await runCli(['fake', n, '--source', `${src.url}?fake=true`, '--count', '300']);
      expect(r.stderr).not.toMatch(/error/);
      expect(r.code).toBe(0);
    }
  });
  afterAll(async () => {
    await src.drop();
    fs.rmSync(regimesDir, { recursive: true, force: true });
  });

  it('two regimes, and ALL, in one process write exactly what each regime writes alone', async () => {
    const alone = await createTestDatabase(dialect, 'multi_alone_tgt');
    const two = await createTestDatabase(dialect, 'multi_two_tgt');
    const all = await createTestDatabase(dialect, 'multi_all_tgt');
    try {
      for (const n of NAMES) {
        const r = await runCli(['run', n, '--source', src.url, '--target', alone.url, '--until-caught-up', '--allow-drop-create-table']);
        expect(r.code).toBe(0);
      }
      const both = await runCli(['run', 'adtemp', 'envpth', '--source', src.url, '--target', two.url, '--until-caught-up', '--allow-drop-create-table']);
      expect(both.stderr).toContain('done adtemp/DBNS_SAB_Temp');
      expect(both.stderr).toContain('done envpth/FARS_ENV_PTH');
      expect(both.code).toBe(0);
      const every = await runCli(['run', 'ALL', '--regimes', regimesDir, '--source', src.url, '--target', all.url, '--until-caught-up', '--allow-drop-create-table']);
      expect(every.code).toBe(0);
      for (const n of NAMES) {
        const expected = await targetRows(alone, loaded[n]);
        // something to compare: 300 rows of each table give several validities (overage at least)
        expect(expected.length).toBeGreaterThan(3);
        expect(await targetRows(all, loaded[n])).toEqual(expected);
        if (n !== 'iowtemp') expect(await targetRows(two, loaded[n])).toEqual(expected);
      }
      // iowtemp was not named: the two-regime run made none of its tables
      expect(await latestPerContext(two, specTable('iowtemp'))).toEqual(new Map());
    } finally {
      await alone.drop();
      await two.drop();
      await all.drop();
    }
  });

  it("a regime whose source table is gone stops alone: the other's streams are written, exit 1 names it", async () => {
    const tgt = await createTestDatabase(dialect, 'multi_gone_tgt');
    const ref = await createTestDatabase(dialect, 'multi_gone_ref');
    const q = (n: string) => quoteIdentifier(n, dialectOf(src.db));
    try {
      await src.db.raw(`ALTER TABLE ${q('DBNS_SAB_Temp')} RENAME TO ${q('DBNS_SAB_Temp_old')}`);
      const r = await runCli(['run', 'adtemp', 'envpth', '--source', src.url, '--target', tgt.url, '--until-caught-up', '--allow-drop-create-table']);
      expect(r.stderr).toMatch(/error STREAMS_FAILED: .*adtemp\/\* \(SOURCE_NO_TABLES\)/);
      expect(r.code).toBe(1);
      const alone = await runCli(['run', 'envpth', '--source', src.url, '--target', ref.url, '--until-caught-up', '--allow-drop-create-table']);
      expect(alone.code).toBe(0);
      expect(await targetRows(tgt, loaded.envpth)).toEqual(await targetRows(ref, loaded.envpth));
    } finally {
      await src.db.raw(`ALTER TABLE ${q('DBNS_SAB_Temp_old')} RENAME TO ${q('DBNS_SAB_Temp')}`);
      await tgt.drop();
      await ref.drop();
    }
  });

  it('a source table dropped mid-run stops only its stream; the other streams keep writing; the report names it', async () => {
    const own = await createTestDatabase(dialect, 'fake_multi_drop_src');
    const tgt = await createTestDatabase(dialect, 'multi_drop_tgt');
    const logger = new MemoryLogger();
    const stop = new AbortController();
    try {
      for (const n of ['adtemp', 'envpth']) expect((await runCli(['fake', n, '--source', `${own.url}?fake=true`, '--count', '120'])).code).toBe(0);
      const session = runMultiSession({
        mode: 'scrape',
        label: 'adtemp+envpth',
        regimes: ['adtemp', 'envpth'].map((n) => ({ loaded: loaded[n], source: own.location, target: tgt.location, reload: () => loaded[n] })),
        logger,
        clock: new YieldingClock(Date.UTC(2026, 0, 1)),
        allowCreate: true,
        backoff: { initialMs: 10, maxMs: 50 },
        signal: stop.signal,
        metrics: { port: 0, statusPage: renderStatusPage },
      });
      // live: every stream has written (adtemp one context, envpth three)
      await until(async () => (await latestPerContext(tgt, specTable('adtemp'))).size === 1 && (await latestPerContext(tgt, specTable('envpth'))).size === 3, 'first validities');
      // one metrics endpoint: each stream's series carry its own regime
      const url = logger.lines.map((l) => /metrics at (http:\S+\/metrics)/.exec(l.message)?.[1]).find(Boolean)!;
      const text = await (await fetch(url)).text();
      expect(text).toMatch(/scrape_rows_read_total\{regime="adtemp",stream="DBNS_SAB_Temp"\} [1-9]/);
      expect(text).toMatch(/scrape_rows_read_total\{regime="envpth",stream="LANS_ENV_PTH"\} [1-9]/);
      // one status page, a regime at a time, linking the others
      const page = await (await fetch(url.replace(/metrics$/, '?regime=envpth'))).text();
      expect(page).toContain('LANS_ENV_PTH');
      expect(page).toContain('href="?regime=adtemp"');
      // SIGHUP re-reads every regime and restarts its streams
      process.emit('SIGHUP');
      await until(async () => ['adtemp', 'envpth'].every((n) => logger.lines.some((l) => l.message.startsWith(`reloaded regime ${n}`))), 'both regimes reloaded');
      const before = await latestPerContext(tgt, specTable('envpth'));
      await own.db.raw(`DROP TABLE ${quoteIdentifier('DBNS_SAB_Temp', dialectOf(own.db))}`);
      // two more hours of the envpth tables (maxage 1h): each context must get later validities
      expect((await runCli(['fake', 'envpth', '--source', `${own.url}?fake=true`, '--count', '120'])).code).toBe(0);
      await until(async () => {
        const now = await latestPerContext(tgt, specTable('envpth'));
        return [...before].every(([context, latest]) => (now.get(context) ?? '') > latest);
      }, 'later envpth validities after the drop');
      await until(async () => logger.lines.some((l) => l.level === 'error' && l.message.includes('stream DBNS_SAB_Temp of regime adtemp stopped')), 'the failure line');
      stop.abort();
      const report = await session;
      expect(report.failed.map((f) => `${f.regime}/${f.stream}`)).toEqual(['adtemp/DBNS_SAB_Temp']);
      expect(report.streams).toBe(4);
    } finally {
      await own.drop();
      await tgt.drop();
    }
  });

  it("a (table, context) another process holds refuses the whole start with LOCK_HELD, writing nothing", async () => {
    const tgt = await createTestDatabase(dialect, 'multi_lock_tgt');
    // envpth's LANS context: SITEMASK 2, SUBSITE 0 (design §7: hall-wide tables), data, task 0, aggregate -1
    const held = TargetLock.for(tgt.location, [{ table: specTable('envpth'), context: { sitemask: 2, subsite: 0, simmask: 1, task: 0, aggregateno: -1 } }]);
    try {
      await held.acquire('a test holding envpth LANS');
      const r = await runCli(['run', 'adtemp', 'envpth', '--source', src.url, '--target', tgt.url, '--until-caught-up', '--allow-drop-create-table']);
      expect(r.stderr).toMatch(/error LOCK_HELD: /);
      expect(r.code).toBe(1);
      expect(await latestPerContext(tgt, specTable('adtemp'))).toEqual(new Map());
      expect(await latestPerContext(tgt, specTable('envpth'))).toEqual(new Map());
    } finally {
      await held.release();
      await tgt.drop();
    }
  });

  it('refuses what is ambiguous over several regimes', async () => {
    const drop = await runCli(['run', 'adtemp', 'envpth', '--allow-drop-create-table', '--drop-target-tables']);
    expect(drop.stderr).toMatch(/error USAGE: --drop-target-tables with several regimes/);
    expect(drop.code).toBe(1);
    const all = await runCli(['run', 'ALL', 'adtemp']);
    expect(all.stderr).toMatch(/error USAGE: ALL stands alone/);
    expect(all.code).toBe(1);
    // none of adtemp, envpth, iowtemp declares an averager (adlid does): average ALL has nothing to run
    const average = await runCli(['average', 'ALL', '--regimes', regimesDir, '--source', src.url, '--target', src.url, '--until-caught-up']);
    expect(average.stderr).toMatch(/error REGIME_NOT_FOUND: no regime declaring an averager/);
    expect(average.code).toBe(1);
    expect(declaresAverager(path.join(REGIMES, 'adlid.yaml'))).toBe(true);
    expect(declaresAverager(path.join(REGIMES, 'adtemp.yaml'))).toBe(false);
    const tables = await runCli(['run', 'adtemp', 'envpth', '--source', src.url, '--target', src.url, '--tables', 'DBNS_SAB_Temp,NO_SUCH_TABLE', '--until-caught-up']);
    expect(tables.stderr).toMatch(/error USAGE: --tables NO_SUCH_TABLE: no source table/);
    expect(tables.code).toBe(1);
  });
});
