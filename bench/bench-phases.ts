import { Knex } from 'knex';
import { runAverager } from '../engine/averager/averager';
import { openDatabase } from '../engine/db/open-database';
import { silentLogger } from '../engine/core/logger';
import { naiveMs, naiveText, parseDuration } from '../engine/core/time';
import { runScraper } from '../engine/scraper/scraper';
import { ManyRegimes, manyCatchupPhase, manyLivePhase } from './bench-many';
import { appendPhase, BenchRef, fillPhase, queriesPhase, TimedQuery } from './bench-flat';
import { TargetShape } from './bench-target';
import { benchLocation, benchRegime, benchSqliteLocation, recreateDatabase, removeSqliteFile, Workload } from './bench-data';

/** What a measured phase reports (times in seconds, measured inside the phase's own process). */
export interface PhaseResult {
  seconds: number;
  /** Source rows the phase went through. */
  rows: number;
  /** Extra counters (propagations, payload rows, samples, groups...). */
  counts: Record<string, number>;
  /** Timed queries and their plans (`target-queries`). */
  queries?: TimedQuery[];
}

/** A phase to run in a child process. */
export type PhaseSpec =
  | { kind: 'scraper'; workload: Workload; source: string; target: string }
  | { kind: 'scraper-sqlite'; source: string; target: string }
  | { kind: 'averager'; source: string; target: string }
  | { kind: 'baseline'; source: string; samples: number }
  | { kind: 'bare-read'; workload: Workload; source: string }
  | { kind: 'group-by'; source: string }
  | { kind: 'many-live'; which: ManyRegimes; source: string; target: string; minutes: number }
  | { kind: 'many-catchup'; which: ManyRegimes; source: string; target: string; alone: boolean }
  | { kind: 'fill-target'; shape: TargetShape; target: BenchRef; validities: number }
  | { kind: 'append'; shape: TargetShape; target: BenchRef; count: number; batch: number; fresh: boolean }
  | { kind: 'target-queries'; shape: TargetShape; target: BenchRef; source: BenchRef };

function seconds(t0: bigint): number {
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

/** CPU seconds (user + system) of this process since `start` (`process.cpuUsage()`). */
function cpuSince(start: NodeJS.CpuUsage): number {
  const cpu = process.cpuUsage(start);
  return (cpu.user + cpu.system) / 1e6;
}

/** A read-only source connection (`decimalNumbers` as `scrape run` and `scrape average` open theirs). */
function openSource(name: string, decimalNumbers = false): Knex {
  return openDatabase(benchLocation(name), { readOnly: true, decimalNumbers });
}

async function count(db: Knex, sql: string): Promise<number> {
  const [rows] = await db.raw(sql);
  return Number(rows[0].n);
}

/** Runs one phase and returns its figures. */
export async function runPhase(spec: PhaseSpec): Promise<PhaseResult> {
  switch (spec.kind) {
    case 'scraper':
      return scraperPhase(spec.workload, spec.source, spec.target);
    case 'scraper-sqlite':
      return sqliteScraperPhase(spec.source, spec.target);
    case 'averager':
      return averagerPhase(spec.source, spec.target);
    case 'baseline':
      return baselinePhase(spec.source, spec.samples);
    case 'bare-read':
      return bareReadPhase(spec.workload, spec.source);
    case 'group-by':
      return groupByPhase(spec.source);
    case 'many-live':
      return manyLivePhase(spec.which, spec.source, spec.target, spec.minutes);
    case 'many-catchup':
      return manyCatchupPhase(spec.which, spec.source, spec.target, spec.alone);
    case 'fill-target':
      return fillPhase(spec.shape, spec.target, spec.validities);
    case 'append':
      return appendPhase(spec.shape, spec.target, spec.count, spec.batch, spec.fresh);
    case 'target-queries':
      return queriesPhase(spec.shape, spec.target, spec.source);
  }
}

/** `scrape run <regime> --until-caught-up` into a fresh target: reading, deciding, aggregating, writing. */
async function scraperPhase(workload: Workload, sourceName: string, targetName: string): Promise<PhaseResult> {
  await recreateDatabase(targetName);
  const { regime, specs } = benchRegime(workload);
  const targetLocation = benchLocation(targetName);
  // as `scrape run` opens it
  const source = openSource(sourceName, true);
  const target = openDatabase(targetLocation);
  try {
    const cpu0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    const report = await runScraper({ regime, specs, source, target, targetLocation, logger: silentLogger, untilCaughtUp: true, seed: false, allowCreate: true });
    const s = seconds(t0);
    const cpuSeconds = cpuSince(cpu0);
    const spec = specs.get(regime.targets[0].spec)!;
    const payload = await count(target, `SELECT COUNT(*) AS n FROM \`${spec.table}\``);
    const validities = await count(target, `SELECT COUNT(*) AS n FROM \`${spec.table}Vld\``);
    const rows = report.streams.reduce((n, r) => n + r.rowsRead, 0);
    const samples = report.streams.reduce((n, r) => n + r.samples, 0);
    return { seconds: s, rows, counts: { samples, validities, payload, cpuSeconds } };
  } finally {
    await source.destroy();
    await target.destroy();
  }
}

/** Share of the rows over which the rate at the start and at the end of a catch-up is taken. */
export const EDGE_SHARE = 0.1;

/**
 * `scrape run adtemp --until-caught-up` on the embedded SQLite default: a SQLite source file into
 * a fresh SQLite target file, both opened as `scrape run` opens them, with an observer as the
 * CLI's progress lines have (so a lag query per step, as there). Besides the whole run, the rate
 * over the first and the last `EDGE_SHARE` of the rows (step boundaries; the last segment ends
 * with the run): a run that slows down as its target grows shows it there. Also the process's
 * CPU time over the run (user + system): on a shared machine the clock measures the others too.
 */
async function sqliteScraperPhase(sourceFile: string, targetFile: string): Promise<PhaseResult> {
  removeSqliteFile(targetFile);
  const { regime, specs } = benchRegime('adtemp');
  const targetLocation = benchSqliteLocation(targetFile);
  const source = openDatabase(benchSqliteLocation(sourceFile), { readOnly: true });
  const target = openDatabase(targetLocation);
  const marks: [bigint, number][] = [];
  let read = 0;
  try {
    const cpu0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    marks.push([t0, 0]);
    const observer = {
      step: (_worker: unknown, step: { rowsRead: number }) => {
        read += step.rowsRead;
        marks.push([process.hrtime.bigint(), read]);
      },
    };
    const report = await runScraper({ regime, specs, source, target, targetLocation, logger: silentLogger, untilCaughtUp: true, seed: false, allowCreate: true, observer });
    const t1 = process.hrtime.bigint();
    const s = seconds(t0);
    const cpu = process.cpuUsage(cpu0);
    const rows = report.streams.reduce((n, r) => n + r.rowsRead, 0);
    marks.push([t1, rows]);
    const rate = (a: [bigint, number], b: [bigint, number]) => (b[1] - a[1]) / (Number(b[0] - a[0]) / 1e9);
    const edge = rows * EDGE_SHARE;
    const startEnd = marks.find((m) => m[1] >= edge) ?? marks[marks.length - 1];
    const endStart = [...marks].reverse().find((m) => m[1] <= rows - edge) ?? marks[0];
    const spec = specs.get(regime.targets[0].spec)!;
    const validities = Number((await target.raw(`SELECT COUNT(*) AS n FROM "${spec.table}Vld"`))[0].n);
    return { seconds: s, rows, counts: { validities, startRate: rate(marks[0], startEnd), endRate: rate(endStart, marks[marks.length - 1]), cpuSeconds: (cpu.user + cpu.system) / 1e6 } };
  } finally {
    await source.destroy();
    await target.destroy();
    removeSqliteFile(targetFile);
  }
}

/** `scrape average adlid --until-caught-up` into a fresh target. */
async function averagerPhase(sourceName: string, targetName: string): Promise<PhaseResult> {
  await recreateDatabase(targetName);
  const { regime, specs } = benchRegime('adlid');
  const targetLocation = benchLocation(targetName);
  // as `scrape average` opens it: the rows only feed accumulators
  const source = openSource(sourceName, true);
  const target = openDatabase(targetLocation);
  try {
    const cpu0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    const report = await runAverager({ regime, specs, source, target, targetLocation, logger: silentLogger, untilCaughtUp: true, allowCreate: true });
    const s = seconds(t0);
    const cpuSeconds = cpuSince(cpu0);
    const spec = specs.get(regime.targets[0].spec)!;
    const validities = await count(target, `SELECT COUNT(*) AS n FROM \`${spec.table}Vld\``);
    return { seconds: s, rows: report.streams.reduce((n, r) => n + r.rowsRead, 0), counts: { validities, cpuSeconds } };
  } finally {
    await source.destroy();
    await target.destroy();
  }
}

/**
 * The original scraper's access pattern, literally: per sample one
 * `SELECT … WHERE date_time >= ? ORDER BY date_time LIMIT 1 OFFSET ?` and one aggregate
 * `SELECT avg(),min(),max(),std() … WHERE date_time >= ? AND date_time < ?` over the open range,
 * with the same decision (1 °C threshold, 10 min maxage). It writes nothing (so it is, if
 * anything, faster than the original was). Rows covered = ids between the first and last sample.
 */
async function baselinePhase(sourceName: string, samples: number): Promise<PhaseResult> {
  const { regime } = benchRegime('adtemp');
  const table = 'DBNS_SAB_Temp';
  const cols = [1, 2, 3, 4, 5].map((i) => `DBNS_SAB_Temp_PT${i}`);
  const interval = parseDuration(regime.scraper.interval);
  const maxage = parseDuration(regime.scraper.maxage);
  const threshold = regime.changes[0].threshold ?? 1;
  const offset = regime.scraper.offset;
  const source = openSource(sourceName);
  const sampleSql = `SELECT * FROM \`${table}\` WHERE date_time >= ? ORDER BY date_time LIMIT 1 OFFSET ?`;
  const aggSql = `SELECT COUNT(*) AS count, ${cols.map((c) => `AVG(${c}) AS ${c}_avg, MIN(${c}) AS ${c}_min, MAX(${c}) AS ${c}_max, STD(${c}) AS ${c}_std`).join(', ')} FROM \`${table}\` WHERE date_time >= ? AND date_time < ?`;
  try {
    const t0 = process.hrtime.bigint();
    let [rows] = await source.raw(sampleSql, [regime.scraper.timefloor.replace('T', ' '), 0]);
    let sv0 = rows[0];
    const firstId = Number(sv0.id);
    let lastId = firstId;
    let tcursor = naiveText(naiveMs(sv0.date_time) + interval);
    let proceeds = 0;
    for (let n = 0; n < samples; n++) {
      [rows] = await source.raw(sampleSql, [tcursor, offset]);
      const row = rows[0];
      if (!row) break;
      lastId = Number(row.id);
      await source.raw(aggSql, [sv0.date_time, row.date_time]);
      const changed = cols.some((c) => Math.abs(Number(row[c]) - Number(sv0[c])) > threshold);
      const overage = naiveMs(row.date_time) - naiveMs(sv0.date_time) > maxage;
      if (changed || overage) {
        proceeds++;
        sv0 = row;
        tcursor = naiveText(naiveMs(sv0.date_time) + interval);
      } else {
        tcursor = naiveText(naiveMs(row.date_time) + interval);
      }
    }
    return { seconds: seconds(t0), rows: lastId - firstId + 1, counts: { samples, validities: proceeds } };
  } finally {
    await source.destroy();
  }
}

/**
 * The read limit: the stream's joined rows streamed out of MariaDB in `(date_time, id)` order with
 * the same driver and connection settings, doing nothing with them. Read twice, as row objects
 * and as row arrays (mysql2 `rowsAsArray`), and the faster counts: the scraper is compared with
 * the best a bare reader does.
 */
async function bareReadPhase(workload: Workload, sourceName: string): Promise<PhaseResult> {
  const { table } = benchRegime(workload);
  const source = openSource(sourceName, true);
  try {
    const [joined] = await source.raw(`SELECT TABLE_NAME AS t FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME <> ?`, [table]);
    const joins = (joined as { t: string }[]).map((r) => r.t);
    const sql =
      `SELECT m.*${joins.map((_, i) => `, j${i}.*`).join('')} FROM \`${table}\` m ` +
      joins.map((t, i) => `JOIN \`${t}\` j${i} ON j${i}.id = m.id `).join('') +
      `ORDER BY m.date_time, m.id`;
    const client = source.client as { acquireConnection(): Promise<any>; releaseConnection(c: unknown): Promise<unknown> };
    const conn = await client.acquireConnection();
    const times: Record<string, number> = {};
    const cpus: Record<string, number> = {};
    let rows = 0;
    try {
      for (const rowsAsArray of [false, true]) {
        const cpu0 = process.cpuUsage();
        const t0 = process.hrtime.bigint();
        rows = 0;
        await new Promise<void>((resolve, reject) => {
          conn.query({ sql, rowsAsArray }).on('result', () => rows++).on('error', reject).on('end', resolve);
        });
        times[rowsAsArray ? 'arrays' : 'objects'] = seconds(t0);
        cpus[rowsAsArray ? 'arrays' : 'objects'] = cpuSince(cpu0);
      }
    } finally {
      await client.releaseConnection(conn);
    }
    const best = times.objects <= times.arrays ? 'objects' : 'arrays';
    return { seconds: times[best], rows, counts: { objectsMs: Math.round(times.objects * 1000), arraysMs: Math.round(times.arrays * 1000), cpuSeconds: cpus[best] } };
  } finally {
    await source.destroy();
  }
}

/**
 * MariaDB alone: one hand-written `GROUP BY` hour over the lid-sensor table with the regime's
 * filter (`SensorStatus = 0`), avg/min/max/std of the 18 quantities (72 aggregates) + count and
 * the hour's first/last entry, every group fetched; nothing written.
 */
async function groupByPhase(sourceName: string): Promise<PhaseResult> {
  const { regime, table } = benchRegime('adlid');
  const source = openSource(sourceName);
  try {
    const skips = new Set(regime.aggregate!.skips);
    const [colRows] = await source.raw(`SELECT COLUMN_NAME AS c FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION`, [table]);
    const cols = (colRows as { c: string }[]).map((r) => r.c).filter((c) => !skips.has(c));
    const aggs = cols.flatMap((c) => [`AVG(\`${c}\`)`, `MIN(\`${c}\`)`, `MAX(\`${c}\`)`, `STD(\`${c}\`)`]);
    const sql =
      `SELECT DATE_FORMAT(date_time, '%Y-%m-%d %H') AS h, MIN(date_time) AS t0, MAX(date_time) AS t1, COUNT(*) AS n, ${aggs.join(', ')} ` +
      `FROM \`${table}\` WHERE SensorStatus = 0 GROUP BY h ORDER BY h`;
    const t0 = process.hrtime.bigint();
    const [groups] = await source.raw(sql);
    const s = seconds(t0);
    const rows = (groups as { n: number }[]).reduce((n, g) => n + Number(g.n), 0);
    return { seconds: s, rows, counts: { groups: groups.length, aggregates: aggs.length } };
  } finally {
    await source.destroy();
  }
}
