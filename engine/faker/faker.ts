import * as fs from 'fs';
import * as path from 'path';
import { Knex } from 'knex';
import { Clock, systemClock } from '../core/clock';
import { DatabaseLocation } from '../config/dbconf';
import { ScrapeError } from '../core/errors';
import { Logger, silentLogger } from '../core/logger';
import { Regime } from '../config/regime';
import { isValidTimeText, naiveMs, naiveText, normalizeTimeText, parseDuration, utcNowText, utcToLocal } from '../core/time';
import { loadDump } from './dump-loader';
import { RowGenerator, compileColumnRules } from './row-generator';
import { FakeTable, createSourceTables, fakeTables, flattenTables, readTableColumns, useExistingCandidates } from './source-schema';
import { RawConnection, beginTransactionSql, dialectOf, quoteIdentifier, rawRows, withRawConnection } from '../db/dialect';
import { listTables, tableExists } from '../db/introspection';

/**
 * Refuses any database that is not a fake one (name starting with `fake`, or `fake = true` in
 * its dbconf section / `?fake=true` on its URL): the faker and the dump loader write and drop
 * tables, and must never do so in a real DCS database. A production database (`offline_db`,
 * `production = true`) is refused even when marked fake.
 */
export function assertFakeDatabase(location: DatabaseLocation, what = 'the faker'): void {
  if (location.production) {
    // a location built by hand (not by dbconf, which refuses the pair) may still say both
    throw new ScrapeError('FAKER_NOT_FAKE', `${what} never writes to ${location.name} (from ${location.origin}): it is a production database`, {
      hint: 'give --source a fake database (a name starting with fake, or fake = true in its dbconf section)',
    });
  }
  if (!location.fake) {
    const name = location.dialect === 'sqlite' ? location.filename : location.database;
    throw new ScrapeError(
      'FAKER_NOT_FAKE',
      `${what} only writes to fake databases, and ${location.name} (${name ?? '?'}, from ${location.origin}) is not one: ` +
        `its database name must start with 'fake', or its dbconf section must say 'fake = true' (?fake=true on a URL)`,
      { hint: 'give --source a fake database, or mark this one fake if it really is a scratch copy' },
    );
  }
}

/** What every faker run needs. */
export interface FakerOptions {
  db: Knex;
  /** Where `db` points: checked to be a fake database before anything is touched. */
  location: DatabaseLocation;
  regime: Regime;
  /** The regime's YAML file: `faker.dump` is relative to it. */
  regimeFile?: string;
  /** Only these of the faked tables (`--tables`). */
  tables?: string[];
  /** Drop and recreate the tables first (default `faker.dropsrc`). */
  dropsrc?: boolean;
  logger?: Logger;
  signal?: AbortSignal;
}

/** What a faker run wrote. */
export interface FakerResult {
  /** Rows written per table (main and joined). */
  rows: Record<string, number>;
  total: number;
  elapsedMs: number;
  /** Tables created (or recreated) before writing. */
  created: string[];
  /** Live mode: iterations done. */
  iterations: number;
}

/** One main table with its joined tables: they share ids and date_times. */
interface FakeStream {
  table: FakeTable;
  generators: RowGenerator[];
  /** Largest id over the stream's tables. */
  maxId: number;
  /** date_time of the main table's last row (undefined when empty). */
  lastDt?: string;
}

function dumpPath(regime: Regime, regimeFile?: string): string | undefined {
  const dump = regime.faker.dump;
  if (!dump) return undefined;
  return path.resolve(regimeFile ? path.dirname(regimeFile) : process.cwd(), dump);
}

/**
 * Checks the database is fake, then makes the fake tables exist: with `dropsrc` they are dropped
 * and recreated (from the regime's no-data mysqldump `faker.dump` when it names one, else from
 * the columns the regime declares); without, only missing tables are created.
 */
export async function prepareFakeSource(options: FakerOptions): Promise<{ tables: FakeTable[]; created: string[] }> {
  assertFakeDatabase(options.location);
  const { db, regime } = options;
  const logger = options.logger ?? silentLogger;
  const dialect = dialectOf(db);
  const declared = fakeTables(regime, options.tables);
  // a joined table declared by candidate spellings is the one that exists (see useExistingCandidates)
  let tables = useExistingCandidates(declared, new Set(await listTables(db)));
  let all = flattenTables(tables);
  const drop = options.dropsrc ?? regime.faker.dropsrc;
  const dump = dumpPath(regime, options.regimeFile);
  const created: string[] = [];
  if (dump) {
    if (!fs.existsSync(dump)) throw new ScrapeError('FAKER_DUMP', `faker.dump ${dump} does not exist`);
    const missing: string[] = [];
    for (const t of all) if (drop || !(await tableExists(db, t.name))) missing.push(...(t.candidates ?? [t.name]));
    if (drop || missing.length) {
      const result = await loadDump({ file: dump, db, dialect, tables: drop ? undefined : missing, keepExisting: !drop });
      logger.log('info', `faker: loaded ${path.basename(dump)} (${result.statements} statements)`, { dump: path.basename(dump), statements: result.statements });
      created.push(...result.created.filter((t) => all.some((x) => x.name === t)));
      if (dialect === 'mysql') for (const t of missing) if (await tableExists(db, t)) created.push(t);
      // the dump decides a candidate's spelling
      tables = useExistingCandidates(declared, new Set(await listTables(db)));
      all = flattenTables(tables);
    }
    const rest: FakeTable[] = [];
    for (const t of all) if (!(await tableExists(db, t.name))) rest.push({ ...t, joins: [] });
    created.push(...(await createSourceTables(db, dialect, rest)));
  } else {
    created.push(...(await createSourceTables(db, dialect, tables, { drop })));
  }
  const unique = [...new Set(created)];
  if (unique.length) logger.log('info', `faker: ${drop ? 'recreated' : 'created'} ${unique.join(', ')}`);
  return { tables, created: unique };
}

async function openStreams(db: Knex, regime: Regime, tables: FakeTable[]): Promise<FakeStream[]> {
  const dialect = dialectOf(db);
  const rules = compileColumnRules(regime);
  const streams: FakeStream[] = [];
  for (const table of tables) {
    const generators: RowGenerator[] = [];
    let maxId = 0;
    let lastDt: string | undefined;
    for (const t of [table, ...table.joins]) {
      const declared = new Map(t.columns.map((c) => [c.name, c.type]));
      const actual = await readTableColumns(db, t.name);
      const columns = actual.map((c) => ({ name: c.name, key: t.prefix + c.name, type: declared.get(c.name) ?? c.type }));
      generators.push(new RowGenerator(t.name, columns, regime, dialect, rules));
      const q = (n: string) => quoteIdentifier(n, dialect);
      const m = Number((await rawRows(db, `SELECT MAX(id) AS m FROM ${q(t.name)}`))[0]?.m ?? 0);
      if (m > maxId) maxId = m;
      if (t === table && m > 0) {
        const d = (await rawRows(db, `SELECT date_time AS d FROM ${q(t.name)} WHERE id = ${m}`))[0]?.d;
        if (isValidTimeText(d)) lastDt = d;
      }
    }
    streams.push({ table, generators, maxId, lastDt });
  }
  return streams;
}

async function resumeWalks(conn: RawConnection, streams: FakeStream[]): Promise<void> {
  for (const s of streams) for (const g of s.generators) if (g.needsResume()) await g.resume(conn, s.maxId);
}

/** Source-local now in the regime's time zone. */
function localNow(clock: Clock, zone: string): string {
  return utcToLocal(utcNowText(clock.now()), zone);
}

/** Progress of a batch run. */
export interface FakerProgress {
  /** Main table being written. */
  table: string;
  /** Rows written so far over all tables. */
  rows: number;
  /** Rows the run will write over all tables. */
  total: number;
}

/** Options of a batch run: `count` rows per table, or every interval of `[from, to)`. */
export interface BatchFakerOptions extends FakerOptions {
  count?: number;
  from?: string;
  to?: string;
  /** Real time, when neither `faker.timestart` nor `from` pins DB time. */
  clock?: Clock;
  onProgress?: (progress: FakerProgress) => void;
}

/** Rows per multi-row INSERT: ~1000, fewer for wide tables (statement size). */
function rowsPerStatement(columns: number): number {
  return Math.max(1, Math.min(1000, Math.floor(40_000 / (columns + 2))));
}

/** Rows of a stream between commits. */
const COMMIT_ROWS = 20_000;

/**
 * Writes a backlog fast: `count` rows per table (ids after the current max; date_time =
 * `faker.timestart + id × interval`, else following the last row, else ending now), or one row
 * per interval of `[from, to)`. Multi-row INSERTs inside transactions; joined tables get the same
 * ids and date_times as their main table. An abort stops after the current chunk, keeping what
 * was written.
 */
export async function runBatchFaker(options: BatchFakerOptions): Promise<FakerResult> {
  const started = Date.now();
  const { db, regime } = options;
  const dialect = dialectOf(db);
  const logger = options.logger ?? silentLogger;
  const interval = parseDuration(regime.faker.interval);
  const hasRange = options.from !== undefined || options.to !== undefined;
  if (hasRange && (options.from === undefined || options.to === undefined)) throw new ScrapeError('FAKER_RANGE', 'give both --from and --to');
  if (hasRange && options.count !== undefined) throw new ScrapeError('FAKER_RANGE', 'give --count or --from/--to, not both');
  if (!hasRange && (options.count === undefined || !Number.isInteger(options.count) || options.count < 0)) {
    throw new ScrapeError('FAKER_RANGE', 'a batch needs --count N (a whole number) or --from T --to T');
  }
  const fromMs = hasRange ? naiveMs(normalizeTimeText(options.from!)) : NaN;
  const toMs = hasRange ? naiveMs(normalizeTimeText(options.to!)) : NaN;
  if (hasRange && toMs < fromMs) throw new ScrapeError('FAKER_RANGE', `--to ${options.to} is before --from ${options.from}`);
  const timestart = regime.faker.timestart ? naiveMs(normalizeTimeText(regime.faker.timestart)) : undefined;

  const { tables, created } = await prepareFakeSource(options);
  const streams = await openStreams(db, regime, tables);
  const perStream = hasRange ? Math.ceil((toMs - fromMs) / interval) : options.count!;
  const total = perStream * streams.reduce((n, s) => n + s.generators.length, 0);
  const rows: Record<string, number> = {};
  let written = 0;
  const clock = options.clock ?? systemClock;

  await withRawConnection(db, async (conn) => {
    await resumeWalks(conn, streams);
    for (const stream of streams) {
      const firstId = stream.maxId + 1;
      let dtAt: (k: number) => string;
      if (hasRange) dtAt = (k) => naiveText(fromMs + k * interval);
      else if (timestart !== undefined) dtAt = (k) => naiveText(timestart + (firstId + k) * interval);
      else {
        const base = stream.lastDt ? naiveMs(stream.lastDt) + interval : naiveMs(localNow(clock, regime.timezone)) - (perStream - 1) * interval;
        dtAt = (k) => naiveText(base + k * interval);
      }
      const chunk = Math.min(...stream.generators.map((g) => rowsPerStatement(g.columnNames().length)));
      const heads = stream.generators.map((g) => g.insertHead());
      for (const g of stream.generators) rows[g.table] = rows[g.table] ?? 0;
      await conn.exec(beginTransactionSql(dialect));
      try {
        let sinceCommit = 0;
        for (let k = 0; k < perStream; k += chunk) {
          const n = Math.min(chunk, perStream - k);
          for (let j = 0; j < stream.generators.length; j++) {
            const g = stream.generators[j];
            const tuples = await g.tuples(firstId + k, n, (kk) => dtAt(k + kk));
            await conn.exec(heads[j] + tuples.join(','));
            rows[g.table] += n;
            written += n;
          }
          sinceCommit += n;
          stream.maxId = firstId + k + n - 1;
          if (sinceCommit >= COMMIT_ROWS) {
            await conn.exec('COMMIT');
            await conn.exec(beginTransactionSql(dialect));
            sinceCommit = 0;
          }
          options.onProgress?.({ table: stream.table.name, rows: written, total });
          if (options.signal?.aborted) break;
        }
        await conn.exec('COMMIT');
      } catch (err) {
        await conn.exec('ROLLBACK').catch(() => undefined);
        throw err;
      }
      logger.log('info', `faker: ${stream.table.name} ids ${firstId}..${stream.maxId}, ${stream.maxId - firstId + 1} rows`, { table: stream.table.name, first_id: firstId, last_id: stream.maxId, rows: stream.maxId - firstId + 1 });
      if (options.signal?.aborted) break;
    }
  });
  return { rows, total: written, elapsedMs: Date.now() - started, created, iterations: 0 };
}

/** Options of a live run. */
export interface LiveFakerOptions extends FakerOptions {
  clock: Clock;
  /** Iterations (one row per table each); 0 = until aborted. */
  maxiter: number;
  /** Called after each iteration with the date_time written. */
  onIteration?: (iteration: number, dateTime: string) => void;
}

/**
 * Writes one row per table per `faker.interval` of real time (`clock`), until `maxiter`
 * iterations or `signal` aborts. date_time is `faker.timestart + id × interval` when set
 * (reproducible), else the real local now in the regime's time zone.
 */
export async function runLiveFaker(options: LiveFakerOptions): Promise<FakerResult> {
  const started = options.clock.now();
  const { db, regime, clock } = options;
  const dialect = dialectOf(db);
  const logger = options.logger ?? silentLogger;
  const interval = parseDuration(regime.faker.interval);
  const timestart = regime.faker.timestart ? naiveMs(normalizeTimeText(regime.faker.timestart)) : undefined;
  const { tables, created } = await prepareFakeSource(options);
  const streams = await openStreams(db, regime, tables);
  await withRawConnection(db, (conn) => resumeWalks(conn, streams));
  const rows: Record<string, number> = {};
  for (const s of streams) for (const g of s.generators) rows[g.table] = 0;
  let total = 0;
  let iterations = 0;
  while (!options.signal?.aborted && (options.maxiter <= 0 || iterations < options.maxiter)) {
    const t0 = clock.now();
    const now = timestart === undefined ? localNow(clock, regime.timezone) : '';
    let lastDt = now;
    await withRawConnection(db, async (conn) => {
      await conn.exec(beginTransactionSql(dialect));
      try {
        for (const stream of streams) {
          const id = stream.maxId + 1;
          const dt = timestart !== undefined ? naiveText(timestart + id * interval) : now;
          lastDt = dt;
          for (const g of stream.generators) {
            const [tuple] = await g.tuples(id, 1, () => dt);
            await conn.exec(g.insertHead() + tuple);
            rows[g.table]++;
            total++;
          }
          stream.maxId = id;
        }
        await conn.exec('COMMIT');
      } catch (err) {
        await conn.exec('ROLLBACK').catch(() => undefined);
        throw err;
      }
    });
    iterations++;
    logger.log('info', `FAKE ${iterations} ${lastDt} ${regime.timezone}`, { iteration: iterations, time: lastDt, zone: regime.timezone, tables: Object.keys(rows).length, id: streams[0]?.maxId });
    options.onIteration?.(iterations, lastDt);
    if (options.maxiter > 0 && iterations >= options.maxiter) break;
    await clock.sleep(Math.max(0, interval - (clock.now() - t0)), options.signal);
  }
  return { rows, total, elapsedMs: clock.now() - started, created, iterations };
}
