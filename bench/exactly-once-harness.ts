import { Knex } from 'knex';
import { applySettingOverrides, loadRegime } from '../engine/config/load-regime';
import { isScrapeError } from '../engine/core/errors';
import { MemoryLogger } from '../engine/core/logger';
import { openDatabase } from '../engine/db/open-database';
import { isTransientError } from '../engine/db/transient-error';
import { buildStreamRunners, runScraper, ScraperOptions } from '../engine/scraper/scraper';
import { StreamRunner } from '../engine/scraper/stream-runner';
import { scopeLockName } from '../engine/session/target-lock';
import { createTestDatabase, TestDatabase, TestDialect } from '../test/support/databases';
import { prng } from '../test/support/source-fixture';
import { ADTEMP_SCOPE, ADTEMP_YAML, fillAdTempSource, spawnScrape, targetContent } from '../test/ops/ops-support';
import { ensureDist } from '../test/support/dist';

export { ensureDist };

/**
 * The property "exactly once" (docs/design.md §4.12) tested by random trials: two writers on one
 * (table, context), interleaved and killed at random, then one clean `--until-caught-up` pass,
 * must leave the target equal to one uninterrupted run, with no validity twice and no gap.
 * Shared by the short form in `npm test` (test/ops/exactly-once.test.ts) and the long form
 * (`npm run property`, bench/exactly-once.ts). Every trial is reproducible from its seed (the
 * in-process ones exactly; the process ones up to the OS's scheduling).
 */

const loaded = loadRegime(ADTEMP_YAML);
const SPEC = loaded.specs.get('GDcsAdTemp')!;
const VLD = `${SPEC.table}Vld`;
const regimeWithPages = (pageSize: number) => applySettingOverrides(loaded.regime, [`page_size=${pageSize}`], 'scraper');

type Content = Awaited<ReturnType<typeof targetContent>>;

/** What one trial did and found. */
export interface TrialResult {
  kind: 'in-process' | 'processes';
  dialect: TestDialect;
  seed: number;
  /** What went wrong (empty: the property held). */
  problems: string[];
  /** Counters of what happened (steps, kills, refused writes…), to show the trial did something. */
  stats: Record<string, number>;
  ms: number;
}

/**
 * The property over a target's content: equal to the reference (SEQNOs, ranges, payload; not
 * INSERTDATE), and, checked by hand for a readable failure, per context the validities sorted by
 * TIMESTART have unique starts and each ends where the next starts (the adtemp stream's
 * ranges are contiguous by design).
 */
export function exactlyOnceProblems(content: Content, reference: Content): string[] {
  const problems: string[] = [];
  const byContext = new Map<string, Content['vld']>();
  for (const v of content.vld) {
    const key = `${v.SITEMASK}/${v.SUBSITE}/${v.SIMMASK}/${v.TASK}/${v.AGGREGATENO}`;
    byContext.set(key, [...(byContext.get(key) ?? []), v]);
  }
  for (const [key, list] of byContext) {
    const sorted = [...list].sort((a, b) => (a.TIMESTART < b.TIMESTART ? -1 : a.TIMESTART > b.TIMESTART ? 1 : a.SEQNO - b.SEQNO));
    for (let i = 1; i < sorted.length; i++) {
      const p = sorted[i - 1];
      const v = sorted[i];
      if (v.TIMESTART === p.TIMESTART) problems.push(`context ${key}: duplicate validity starting ${v.TIMESTART} (SEQNO ${p.SEQNO} and ${v.SEQNO})`);
      else if (v.TIMESTART < p.TIMEEND) problems.push(`context ${key}: SEQNO ${v.SEQNO} [${v.TIMESTART}, ${v.TIMEEND}) overlaps SEQNO ${p.SEQNO} [${p.TIMESTART}, ${p.TIMEEND})`);
      else if (v.TIMESTART > p.TIMEEND) problems.push(`context ${key}: gap between SEQNO ${p.SEQNO} ending ${p.TIMEEND} and SEQNO ${v.SEQNO} starting ${v.TIMESTART}`);
      if (problems.length > 10) break;
    }
  }
  const seqnos = content.vld.map((v) => v.SEQNO);
  if (new Set(seqnos).size !== seqnos.length) problems.push('a SEQNO appears twice');
  if (content.vld.length !== reference.vld.length) problems.push(`${content.vld.length} validities, one uninterrupted run wrote ${reference.vld.length}`);
  if (content.payload.length !== reference.payload.length) problems.push(`${content.payload.length} payload rows, one uninterrupted run wrote ${reference.payload.length}`);
  if (problems.length === 0 && JSON.stringify(content) !== JSON.stringify(reference)) {
    const i = content.vld.findIndex((v, k) => JSON.stringify(v) !== JSON.stringify(reference.vld[k]));
    problems.push(i >= 0 ? `validity ${i} differs from one uninterrupted run: ${JSON.stringify(content.vld[i])} vs ${JSON.stringify(reference.vld[i])}` : 'payload differs from one uninterrupted run');
  }
  return problems;
}

/**
 * Makes the two SQLite handles of one process take turns at the database file (one connection
 * in use at a time, a transaction holding it to its end), as SQLite's file lock makes two
 * processes do. Without it two better-sqlite3 connections in one thread meet SQLite's busy
 * handler, which sleeps synchronously: the holder cannot commit while the other waits, and every
 * meeting costs the whole busy_timeout (30 s) before the write is retried.
 */
function takeTurns(handles: Knex[]): void {
  let tail: Promise<void> = Promise.resolve();
  for (const h of handles) {
    const client = h.client as { acquireConnection(): Promise<unknown>; releaseConnection(c: unknown): Promise<unknown> };
    const acquire = client.acquireConnection.bind(client);
    const release = client.releaseConnection.bind(client);
    const held = new Map<unknown, () => void>();
    client.acquireConnection = async () => {
      let unlock!: () => void;
      const before = tail;
      tail = new Promise<void>((r) => (unlock = r));
      await before;
      try {
        const conn = await acquire();
        held.set(conn, unlock);
        return conn;
      } catch (err) {
        unlock();
        throw err;
      }
    };
    client.releaseConnection = async (conn: unknown) => {
      try {
        return await release(conn);
      } finally {
        const unlock = held.get(conn);
        held.delete(conn);
        unlock?.();
      }
    };
  }
}

/** A small adtemp source of `rows` rows and the content one uninterrupted run writes from it. */
async function sourceAndReference(dialect: TestDialect, rows: number, seed: number, databases: TestDatabase[], sourceHandle?: (s: TestDatabase) => Knex) {
  const source = await createTestDatabase(dialect, 'fake_eo_src');
  databases.push(source);
  await fillAdTempSource(source.db, rows, seed);
  const ref = await createTestDatabase(dialect, 'eo_ref');
  databases.push(ref);
  const reading = sourceHandle ? sourceHandle(source) : source.db;
  try {
    await runScraper({ regime: regimeWithPages(5000), specs: loaded.specs, source: reading, target: ref.db, targetLocation: ref.location, logger: new MemoryLogger(), untilCaughtUp: true, allowCreate: true });
  } finally {
    if (reading !== source.db) await reading.destroy();
  }
  return { source, reference: await targetContent(ref.db, SPEC) };
}

async function dropAll(databases: TestDatabase[]): Promise<void> {
  for (const d of databases.reverse()) await d.drop().catch(() => undefined);
}

/** Options of an in-process trial. */
export interface InProcessOptions {
  /** Source rows (default: 150..400 at random). */
  rows?: number;
  /** Ticks before the trial is declared stuck. */
  maxTicks?: number;
}

/**
 * One in-process trial: two StreamRunners (as two processes' streams) on one target through
 * separate knex handles, driven tick by tick by the seed's PRNG. At each tick: step one writer,
 * step both at once, or kill one (abandoned as it stands, its pending propagations lost; with
 * half a chance in the middle of a step, which then runs on unobserved as a writer that has not
 * noticed it lost its lock does) and start it again, resuming from the target. A step refused
 * with FENCE_MOVED (or failing transiently) resumes, as the stream loop does. Ends when both are
 * caught up; then one clean run, and the property is checked.
 */
export async function inProcessTrial(dialect: TestDialect, seed: number, options: InProcessOptions = {}): Promise<TrialResult> {
  const t0 = Date.now();
  const rnd = prng(seed);
  const pick = (lo: number, hi: number) => lo + Math.floor(rnd() * (hi - lo + 1));
  const stats: Record<string, number> = { steps: 0, concurrentSteps: 0, kills: 0, midStepKills: 0, fenced: 0, transient: 0, validities: 0 };
  const problems: string[] = [];
  const databases: TestDatabase[] = [];
  const handles: Knex[] = [];
  const zombies: Promise<unknown>[] = [];
  try {
    const { source, reference } = await sourceAndReference(dialect, options.rows ?? pick(150, 400), seed, databases);
    stats.validities = reference.vld.length;
    const target = await createTestDatabase(dialect, 'eo_tgt');
    databases.push(target);
    handles.push(openDatabase(target.location), openDatabase(target.location));
    if (dialect === 'sqlite') takeTurns(handles);
    const scraperOptions = (db: Knex): ScraperOptions => ({
      regime: regimeWithPages(pick(3, 60)),
      specs: loaded.specs,
      source: source.db,
      target: db,
      targetLocation: target.location,
      logger: new MemoryLogger(),
      untilCaughtUp: true,
      allowCreate: true,
      backoff: { initialMs: 5, maxMs: 20 },
    });
    interface Writer {
      runner: StreamRunner;
      caughtUp: boolean;
    }
    const start = async (i: number): Promise<Writer> => {
      const runners = await buildStreamRunners(scraperOptions(handles[i]));
      if (runners.length !== 1) throw new Error(`expected one adtemp stream, found ${runners.length}`);
      await runners[0].resume();
      return { runner: runners[0], caughtUp: false };
    };
    const writers: Writer[] = [];
    for (let i = 0; i < 2; i++) writers.push(await start(i));

    /** One step as the stream loop takes it: refused or transiently failed → resume from the target. */
    const step = async (w: Writer): Promise<void> => {
      stats.steps++;
      try {
        const r = await w.runner.step();
        w.caughtUp = r.caughtUp;
        if (r.caughtUp) await w.runner.flush();
      } catch (err) {
        if (isScrapeError(err, 'FENCE_MOVED')) stats.fenced++;
        else if (isTransientError(err)) stats.transient++;
        else throw err;
        w.caughtUp = false;
        await w.runner.resume();
      }
    };

    const maxTicks = options.maxTicks ?? 5000;
    let ticks = 0;
    while (!(writers[0].caughtUp && writers[1].caughtUp)) {
      if (++ticks > maxTicks) throw new Error(`not caught up after ${maxTicks} ticks`);
      const i = pick(0, 1);
      const action = rnd();
      if (action < 0.12) {
        stats.kills++;
        if (rnd() < 0.5) {
          // killed in the middle of a step: it runs on unobserved (and may still write, fenced)
          stats.midStepKills++;
          const old = writers[i].runner;
          zombies.push(old.step().then(() => old.flush()).catch(() => undefined));
        }
        writers[i] = await start(i);
      } else if (action < 0.3) {
        stats.concurrentSteps++;
        await Promise.all([step(writers[0]), step(writers[1])]);
      } else {
        await step(writers[i]);
      }
    }
    stats.ticks = ticks;
    await Promise.all(zombies);
    zombies.length = 0;

    // one clean pass, as `scrape run --until-caught-up` does
    await runScraper({ ...scraperOptions(handles[0]), logger: new MemoryLogger() });
    problems.push(...exactlyOnceProblems(await targetContent(target.db, SPEC), reference));
  } catch (err) {
    problems.push(`trial failed: ${(err as Error)?.stack ?? String(err)}`);
  } finally {
    await Promise.all(zombies);
    for (const h of handles) await h.destroy().catch(() => undefined);
    await dropAll(databases);
  }
  return { kind: 'in-process', dialect, seed, problems, stats, ms: Date.now() - t0 };
}


type Child = ReturnType<typeof spawnScrape>;

const running = (c: Child) => c.child.exitCode === null && c.child.signalCode === null;
/** Waiting for the writer lock (said so, and not taken it since). */
const standingBy = (c: Child) => running(c) && /standing by/.test(c.output()) && !/took the lock/.test(c.output());

/** Polls `check` every 25 ms until true; throws after `ms`. */
async function waitFor(what: string, check: () => boolean | Promise<boolean>, ms: number): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    if (await check()) return;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Options of a process trial. */
export interface ProcessOptions {
  /** Source rows (default: 1000..2000 at random). */
  rows?: number;
  /** Kills (and, on MariaDB, killed lock connections) before the processes are let finish (default 1..3 at random). */
  rounds?: number;
}

/**
 * One trial with real processes: two `scrape run --until-caught-up --standby` on one target
 * (lock checked only every 10 minutes, so a writer whose lock is taken away does not notice and
 * goes on writing). Each round waits until a random number of further validities appeared, then
 * SIGKILLs a running process and starts it again, or (MariaDB: the first round, later ones at
 * random) kills the lock holder's lock connection once the other process stands by, so the
 * standby takes over while the old holder still writes. Then both are let
 * finish, one clean pass follows (in this process: the same `runScraper` a third `scrape run`
 * would start, without its seconds of start-up), and the property is checked.
 */
export async function processTrial(dialect: TestDialect, seed: number, options: ProcessOptions = {}): Promise<TrialResult> {
  const t0 = Date.now();
  const rnd = prng(seed ^ 0x5bd1e995);
  const pick = (lo: number, hi: number) => lo + Math.floor(rnd() * (hi - lo + 1));
  const stats: Record<string, number> = { starts: 0, sigkills: 0, lockKills: 0, fenced: 0, validities: 0 };
  const problems: string[] = [];
  const databases: TestDatabase[] = [];
  const children: Child[] = [];
  try {
    const { source, reference } = await sourceAndReference(dialect, options.rows ?? pick(1000, 2000), seed, databases, (s) => openDatabase(s.location, { readOnly: true, decimalNumbers: true }));
    stats.validities = reference.vld.length;
    const target = await createTestDatabase(dialect, 'eo_proc_tgt');
    databases.push(target);
    const env = { SCRAPE_LOCK_CHECK_MS: '600000', SCRAPE_LOCK_POLL_MS: '50' };
    const args = (standby: boolean) => ['run', ADTEMP_YAML, '--source', source.url, '--target', target.url, '--allow-drop-create-table', '--set', `page_size=${pick(5, 40)}`, '--until-caught-up', ...(standby ? ['--standby'] : [])];
    const launch = (): Child => {
      stats.starts++;
      const c = spawnScrape(args(true), env);
      children.push(c);
      return c;
    };
    const count = async (): Promise<number> => {
      try {
        const [row] = await target.db(VLD).count({ n: '*' });
        return Number(row.n);
      } catch {
        return 0; // table not made yet
      }
    };
    const lockHolder = async (): Promise<number | null> => {
      const [[r]] = await target.db.raw('SELECT IS_USED_LOCK(?) AS id', [scopeLockName(target.location.database!, ADTEMP_SCOPE)]);
      return r.id === null ? null : Number(r.id);
    };
    const pair = [launch(), launch()];
    const rounds = options.rounds ?? pick(1, 3);
    for (let r = 0; r < rounds; r++) {
      const want = (await count()) + pick(1, Math.max(2, Math.floor(reference.vld.length / 6)));
      await waitFor(`${want} validities or both writers done`, async () => (await count()) >= want || !pair.some(running), 60_000);
      if (!pair.some(running)) break;
      // MariaDB: the first round always, later ones at random, takes the lock from its holder
      // while the other process stands by, so two writers write at once
      if (dialect === 'mariadb' && (r === 0 || rnd() < 0.5)) {
        await waitFor('a writer standing by', () => pair.some(standingBy) || !pair.some(running), 30_000);
        const holder = await lockHolder();
        if (holder !== null) {
          await target.db.raw(`KILL ${holder}`).catch(() => undefined); // gone meanwhile: nothing to kill
          stats.lockKills++;
          continue;
        }
      }
      const alive = pair.map((c, i) => [c, i] as const).filter(([c]) => running(c));
      if (alive.length === 0) break;
      const [victim, slot] = alive[pick(0, alive.length - 1)];
      victim.child.kill('SIGKILL');
      await victim.exited;
      stats.sigkills++;
      pair[slot] = launch();
    }
    for (const c of pair) {
      const end = await Promise.race([c.exited, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 120_000).unref())]);
      if (end === 'timeout') throw new Error(`a writer did not finish within 120 s:\n${c.output().slice(-2000)}`);
      if (end.code !== 0) problems.push(`a writer exited ${end.code ?? end.signal}:\n${c.output().slice(-2000)}`);
    }
    // one clean pass, in this process (a third process start would cost seconds; the run is the same)
    const reading = openDatabase(source.location, { readOnly: true, decimalNumbers: true });
    try {
      await runScraper({ regime: regimeWithPages(pick(5, 40)), specs: loaded.specs, source: reading, target: target.db, targetLocation: target.location, logger: new MemoryLogger(), untilCaughtUp: true, allowCreate: true });
    } finally {
      await reading.destroy();
    }
    stats.fenced = children.reduce((n, c) => n + (c.output().match(/another writer wrote this context; nothing written/g)?.length ?? 0), 0);
    problems.push(...exactlyOnceProblems(await targetContent(target.db, SPEC), reference));
  } catch (err) {
    problems.push(`trial failed: ${(err as Error)?.stack ?? String(err)}`);
  } finally {
    for (const c of children) if (running(c)) c.child.kill('SIGKILL');
    await Promise.all(children.map((c) => c.exited));
    await dropAll(databases);
  }
  return { kind: 'processes', dialect, seed, problems, stats, ms: Date.now() - t0 };
}

/** One line about a trial, for logs and failure messages. */
export function describeTrial(t: TrialResult): string {
  const stats = Object.entries(t.stats).map(([k, v]) => `${k} ${v}`).join(', ');
  const head = `${t.kind} ${t.dialect} seed ${t.seed} (${(t.ms / 1000).toFixed(1)} s; ${stats})`;
  return t.problems.length === 0 ? `${head}: ok` : `${head}: FAILED\n  ${t.problems.join('\n  ')}`;
}
