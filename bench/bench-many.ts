import { Knex } from 'knex';
import { Clock } from '../engine/core/clock';
import { silentLogger } from '../engine/core/logger';
import { naiveMs, naiveText, parseDuration, utcToLocal } from '../engine/core/time';
import { loadRegime, listRegimeFiles, LoadedRegime } from '../engine/config/load-regime';
import { DatabaseLocation } from '../engine/config/dbconf';
import { Regime } from '../engine/config/regime';
import { regimeForRole } from '../engine/config/regime-defaults';
import { openDatabase } from '../engine/db/open-database';
import { runBatchFaker } from '../engine/faker/faker';
import { discoverStreams } from '../engine/source/source-stream';
import { runScraper } from '../engine/scraper/scraper';
import { runMultiSession } from '../engine/session/multi-session';
import { StreamWorker } from '../engine/stream/stream-worker';
import { benchLocation, recreateDatabase } from './bench-data';

/** Rows every source table gets in the many-stream rows: one per 10 s. */
export const MANY_ROW_MS = 10_000;
/** Simulated start of the live rows (UTC). */
const T0 = Date.UTC(2026, 0, 1);

/** Which regimes a many-stream row runs: every shipped one (all sites), or `n` generated adtemp copies of 10 tables each. */
export type ManyRegimes = 'shipped' | number;

/**
 * The regimes of a many-stream row, each faking one row per 10 s. `shipped`: every regime of
 * regimes.d (each fakes all its sites' tables, from the DCS dump). A number: that many copies of
 * adtemp, each matching ten tables `M<k>_<n>_SAB_Temp` (its own TASK, SUBSITE from `n`), so the
 * copies write distinct contexts of one target table.
 */
export function manyRegimes(which: ManyRegimes): LoadedRegime[] {
  if (which === 'shipped') {
    return listRegimeFiles({}).files.map((f) => loadRegime(f));
  }
  const adtemp = loadRegime('adtemp');
  const out: LoadedRegime[] = [];
  for (let k = 0; k < which; k++) {
    const regime: Regime = JSON.parse(JSON.stringify(adtemp.regime));
    regime.name = `many${k}`;
    regime.tables[0].pattern = `^M${k}_(?<n>\\d)_SAB_Temp$`;
    regime.context = { ...regime.context, subsite: { capture: 'n', map: Object.fromEntries([...Array(10).keys()].map((n) => [String(n), n + 1])) } as never, task: k + 10 };
    regime.faker = { ...regime.faker!, tables: [...Array(10).keys()].map((n) => `M${k}_${n}_SAB_Temp`), timestart: undefined as never, dropsrc: false };
    out.push({ ...adtemp, regime, file: adtemp.file });
  }
  return out;
}

/** Fakes `[fromMs, toMs)` (UTC) of every regime's tables, one row per 10 s: source-local dates. */
async function fakeRange(db: Knex, location: DatabaseLocation, regimes: LoadedRegime[], fromMs: number, toMs: number): Promise<number> {
  let rows = 0;
  for (const { regime, file } of regimes) {
    const zone = regime.timezone;
    const r = await runBatchFaker({
      db,
      location,
      regime: { ...regime, faker: { ...regime.faker!, interval: `${MANY_ROW_MS / 1000}s`, timestart: undefined as never } },
      regimeFile: file,
      from: utcToLocal(naiveText(fromMs), zone),
      to: utcToLocal(naiveText(toMs), zone),
      dropsrc: false,
    });
    rows += r.total;
  }
  return rows;
}

/** Creates the source `name` of a many-stream row and fakes `historyMs` before T0 into every table. */
export async function prepareManySource(which: ManyRegimes, name: string, historyMs: number): Promise<string> {
  const regimes = manyRegimes(which);
  await recreateDatabase(name);
  const location = benchLocation(name, true);
  const db = openDatabase(location, { poolMax: 2 });
  try {
    await fakeRange(db, location, regimes, T0 - historyMs, T0);
  } finally {
    await db.destroy();
  }
  return name;
}

/** A clock of simulated time that a driver moves once every loop sleeps on it. */
class SimClock implements Clock {
  private sleepers: { at: number; resolve: () => void }[] = [];
  private waiting?: { count: number; resolve: () => void };
  constructor(private current: number) {}
  now(): number {
    return this.current;
  }
  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      if (signal?.aborted) return resolve();
      const s = { at: this.current + Math.max(0, ms), resolve };
      this.sleepers.push(s);
      signal?.addEventListener('abort', () => {
        this.sleepers = this.sleepers.filter((x) => x !== s);
        resolve();
      }, { once: true });
      this.check();
    });
  }
  /** Resolves once `count` loops are asleep. */
  parked(count: number): Promise<void> {
    return new Promise((resolve) => {
      this.waiting = { count, resolve };
      this.check();
    });
  }
  nextWake(): number {
    return Math.min(...this.sleepers.map((s) => s.at));
  }
  /** Moves to `ms` and wakes every sleeper due. */
  advance(ms: number): void {
    this.current = ms;
    const due = this.sleepers.filter((s) => s.at <= ms);
    this.sleepers = this.sleepers.filter((s) => s.at > ms);
    for (const s of due) s.resolve();
  }
  private check(): void {
    if (this.waiting && this.sleepers.length >= this.waiting.count) {
      const w = this.waiting;
      this.waiting = undefined;
      w.resolve();
    }
  }
}

/**
 * Every stream of the regimes live in one process for `minutes` of simulated time: the source
 * gets one row per table per 10 s as simulated time passes, the streams sleep on the simulated
 * clock, and time moves on only when every stream sleeps. CPU is the process's own (user +
 * system) while live, less the faker's inserts (made while every stream sleeps, so theirs alone),
 * over the simulated span; lag of each stream, at every moment all sleep, is the newest row of
 * its table minus the last row it consumed, in 10 s intervals. RSS is sampled at those moments
 * too, with what it was made of at its peak (V8 heap used and reserved, external memory).
 */
export async function manyLivePhase(which: ManyRegimes, sourceDb: string, targetDb: string, minutes: number): Promise<{ seconds: number; rows: number; counts: Record<string, number> }> {
  const regimes = manyRegimes(which);
  await recreateDatabase(targetDb);
  const sourceLocation = benchLocation(sourceDb, true);
  const targetLocation = benchLocation(targetDb);
  const faker = openDatabase(sourceLocation, { poolMax: 2 });
  let streams = 0;
  // each stream's lag is counted in its own sampling interval (scraper.interval, at least the row spacing)
  const intervalOf = new Map<string, number>();
  for (const r of regimes) {
    const found = await discoverStreams(faker, regimeForRole(r.regime, 'scrape')).catch(() => []);
    streams += found.length;
    for (const s of found) intervalOf.set(`${r.regime.name}\n${s.table}`, Math.max(MANY_ROW_MS, parseDuration(r.regime.scraper.interval)));
  }
  const clock = new SimClock(T0);
  const stop = new AbortController();
  const workers = new Set<StreamWorker>();
  const rssBefore = process.memoryUsage().rss;
  const session = runMultiSession({
    mode: 'scrape',
    label: 'bench',
    regimes: regimes.map((r) => ({ loaded: r, source: sourceLocation, target: targetLocation })),
    logger: silentLogger,
    clock,
    allowCreate: true,
    signal: stop.signal,
    env: { SCRAPE_LOCK_CHECK_MS: '60000' },
    observer: { step: (w) => workers.add(w) },
  });
  let failed: unknown;
  session.catch((err) => (failed = err));
  await clock.parked(streams);
  if (failed) throw failed;
  const cpu0 = process.cpuUsage();
  const wall0 = process.hrtime.bigint();
  let fakerCpuUs = 0;
  let fakedRows = 0;
  let maxLag = 0;
  let worst = '';
  let lagSum = 0;
  let lagCount = 0;
  let rssMax = 0;
  /** What the process's memory was made of at `rssMax`. */
  let atMax = process.memoryUsage();
  const end = T0 + minutes * 60_000;
  let nextTick = T0;
  const lagNow = (newestLocalMs: number): void => {
    for (const w of workers) {
      const interval = [...intervalOf].find(([key]) => key.endsWith(`\n${w.stream.table}`))?.[1] ?? MANY_ROW_MS;
      const lag = w.cursor ? (newestLocalMs - naiveMs(w.cursor)) / interval : 0;
      if (lag > maxLag) worst = w.stream.table;
      maxLag = Math.max(maxLag, lag);
      lagSum += lag;
      lagCount++;
    }
  };
  const offsetMs = naiveMs(utcToLocal(naiveText(T0), regimes[0].regime.timezone)) - T0;
  while (clock.now() < end) {
    const next = Math.min(nextTick, clock.nextWake());
    if (next === nextTick) {
      clock.advance(Math.max(clock.now(), next));
      const c = process.cpuUsage();
      fakedRows += await fakeRange(faker, sourceLocation, regimes, nextTick, nextTick + MANY_ROW_MS);
      const d = process.cpuUsage(c);
      fakerCpuUs += d.user + d.system;
      nextTick += MANY_ROW_MS;
    } else {
      clock.advance(next);
    }
    await clock.parked(streams);
    if (failed) throw failed;
    const memory = process.memoryUsage();
    if (memory.rss > rssMax) {
      rssMax = memory.rss;
      atMax = memory;
    }
    lagNow(nextTick - MANY_ROW_MS + offsetMs);
  }
  const cpu = process.cpuUsage(cpu0);
  const wall = Number(process.hrtime.bigint() - wall0) / 1e9;
  stop.abort();
  const report = await session;
  await faker.destroy();
  const scrapeCpu = (cpu.user + cpu.system - fakerCpuUs) / 1e6;
  return {
    seconds: wall,
    rows: fakedRows,
    counts: {
      streams,
      workers: workers.size,
      failed: report.failed.length,
      cpuSeconds: scrapeCpu,
      fakerCpuSeconds: fakerCpuUs / 1e6,
      cpuPercent: (100 * scrapeCpu) / (minutes * 60),
      maxLagIntervals: maxLag,
      worstStream: worst as never,
      meanLagIntervals: lagCount ? lagSum / lagCount : 0,
      rssMb: rssMax / 2 ** 20,
      heapUsedMb: atMax.heapUsed / 2 ** 20,
      heapTotalMb: atMax.heapTotal / 2 ** 20,
      externalMb: atMax.external / 2 ** 20,
      arrayBuffersMb: atMax.arrayBuffers / 2 ** 20,
      rssBeforeMb: rssBefore / 2 ** 20,
    },
  };
}

/**
 * Catch-up of every stream at once (one process, `--until-caught-up`) over the source as faked,
 * or (`alone`) each stream by itself, one after the other, into fresh targets: rows, seconds,
 * CPU seconds of the process (user + system) and, alone, the sum of the single-stream rates.
 */
export async function manyCatchupPhase(which: ManyRegimes, sourceDb: string, targetDb: string, alone: boolean): Promise<{ seconds: number; rows: number; counts: Record<string, number> }> {
  const regimes = manyRegimes(which);
  const sourceLocation = benchLocation(sourceDb, true);
  const targetLocation = benchLocation(targetDb);
  await recreateDatabase(targetDb);
  const cpu0 = process.cpuUsage();
  const cpuSeconds = (): number => {
    const c = process.cpuUsage(cpu0);
    return (c.user + c.system) / 1e6;
  };
  if (!alone) {
    let rows = 0;
    const t0 = process.hrtime.bigint();
    const report = await runMultiSession({
      mode: 'scrape',
      label: 'bench',
      regimes: regimes.map((r) => ({ loaded: r, source: sourceLocation, target: targetLocation })),
      logger: silentLogger,
      untilCaughtUp: true,
      allowCreate: true,
      observer: { step: (_w, step) => (rows += step.rowsRead) },
    });
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    return { seconds, rows, counts: { streams: report.streams, failed: report.failed.length, cpuSeconds: cpuSeconds() } };
  }
  const source = openDatabase(sourceLocation, { readOnly: true, decimalNumbers: true });
  const target = openDatabase(targetLocation);
  let rows = 0;
  let seconds = 0;
  let rateSum = 0;
  let streams = 0;
  try {
    for (const r of regimes) {
      const tables = (await discoverStreams(source, regimeForRole(r.regime, 'scrape')).catch(() => [])).map((s) => s.table);
      for (const table of tables) {
        const t0 = process.hrtime.bigint();
        const report = await runScraper({ regime: r.regime, specs: r.specs, source, target, targetLocation, logger: silentLogger, untilCaughtUp: true, allowCreate: true, tables: [table] });
        const s = Number(process.hrtime.bigint() - t0) / 1e9;
        const n = report.streams.reduce((a, x) => a + x.rowsRead, 0);
        rows += n;
        seconds += s;
        rateSum += n / s;
        streams++;
      }
    }
  } finally {
    await source.destroy();
    await target.destroy();
  }
  return { seconds, rows, counts: { streams, rateSum, cpuSeconds: cpuSeconds() } };
}

