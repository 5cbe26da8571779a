import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Knex } from 'knex';
import { openDatabase } from '../engine/db/open-database';
import { DatabaseLocation, parseDatabaseUrl } from '../engine/config/dbconf';
import { loadRegime } from '../engine/config/load-regime';
import { FakerColumnDecl, Regime } from '../engine/config/regime';
import { withSchemaDefaults } from '../engine/config/regime-defaults';
import { SpecTable } from '../engine/spec/spec-table';
import { runBatchFaker } from '../engine/faker/faker';

/** MariaDB server the bench uses (`$SCRAPE_TEST_MYSQL`, else root on loopback). */
export const SERVER_URL = (process.env.SCRAPE_TEST_MYSQL ?? 'mysql://root@127.0.0.1:3306').replace(/\/+$/, '');

/**
 * Every database the bench creates starts with this (and is dropped at the end):
 * `$SCRAPE_BENCH_PREFIX` (lower-case letters, digits and underscores, ending in `_`), else
 * `bench_`. Two benches sharing a server need different prefixes: each drops its own at the end.
 */
export const DB_PREFIX = benchPrefix(process.env.SCRAPE_BENCH_PREFIX);

function benchPrefix(value: string | undefined): string {
  if (value === undefined || value === '') return 'bench_';
  if (!/^[a-z][a-z0-9_]*_$/.test(value)) throw new Error(`SCRAPE_BENCH_PREFIX must be lower-case letters, digits and underscores ending in _, got ${value}`);
  return value;
}

/** The bench's workloads: which shipped regime, which tables, how the fake data moves. */
export type Workload = 'adtemp' | 'pmthv' | 'adlid';

/** Location of a bench database; source databases are marked fake so the faker may write them. */
export function benchLocation(name: string, fake = false): DatabaseLocation {
  return parseDatabaseUrl(`${SERVER_URL}/${name}${fake ? '?fake=true' : ''}`);
}

/** Drops and creates an empty bench database. */
export async function recreateDatabase(name: string): Promise<void> {
  if (!name.startsWith(DB_PREFIX) || !/^[a-z0-9_]+$/.test(name)) throw new Error(`not a bench database name: ${name}`);
  const admin = openDatabase(parseDatabaseUrl(SERVER_URL), { poolMax: 1 });
  try {
    await admin.raw(`DROP DATABASE IF EXISTS \`${name}\``);
    await admin.raw(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4`);
  } finally {
    await admin.destroy();
  }
}

/** Drops every database of the bench's prefix (`bench_*`; end of run). */
export async function dropBenchDatabases(): Promise<string[]> {
  const admin = openDatabase(parseDatabaseUrl(SERVER_URL), { poolMax: 1 });
  try {
    const [rows] = await admin.raw(`SELECT SCHEMA_NAME AS n FROM information_schema.SCHEMATA WHERE SCHEMA_NAME LIKE ?`, [`${DB_PREFIX.replace(/_/g, '\\_')}%`]);
    const names = (rows as { n: string }[]).map((r) => r.n).filter((n) => n.startsWith(DB_PREFIX) && /^[a-z0-9_]+$/.test(n));
    for (const n of names) await admin.raw(`DROP DATABASE IF EXISTS \`${n}\``);
    return names;
  } finally {
    await admin.destroy();
  }
}

/**
 * The regime of a workload: the shipped one (`regimes.d/<name>.yaml`) with the bench's fake data
 * and, where needed, only one table:
 * - adtemp: PT100 temperatures as a random walk (±0.1 °C per row): validities come from both the
 *   1 °C threshold and the 10 min maxage, as with real slowly drifting sensors (the shipped
 *   `drift` profile steps beyond the threshold only every few hours: almost every write would
 *   be an overage).
 * - pmthv: one Vmon table joined with its power table; voltages walk ±`pmthvStep` V per row over
 *   192 channels, so a change somewhere above 1 V happens every few tens of rows.
 * - adlid: one lid-sensor table (AD1) with the shipped profiles (1 % bad readouts).
 */
export function benchRegime(workload: Workload, options: { pmthvStep?: number } = {}): { regime: Regime; specs: Map<string, SpecTable>; file: string; table: string } {
  const loaded = loadRegime(workload);
  const regime: Regime = JSON.parse(JSON.stringify(loaded.regime));
  let table: string;
  if (workload === 'adtemp') {
    table = 'DBNS_SAB_Temp';
    regime.faker = { ...regime.faker!, tables: [table], columns: fakerColumns({ '^DBNS_SAB_Temp_PT\\d$': { profile: 'random_walk', value: 22, step: 0.1 } }) };
  } else if (workload === 'pmthv') {
    table = 'DBNS_AD1_HV_Vmon';
    const step = options.pmthvStep ?? 0.05;
    regime.faker = { ...regime.faker!, tables: [table], columns: fakerColumns({ '^L\\dC\\dR\\d$': { profile: 'random_walk', value: 1500, step }, '^pw_': { profile: 'constant', value: 1 } }) };
    // the row measures reading 192 joined channels into one target, as before pmthv gained its
    // second target (GDcsAdPmtHv, the same rows again): that one would double the writes
    regime.targets = regime.targets.filter((t) => t.spec === 'GDcsPmtHv');
  } else {
    table = 'AD1_LidSensor';
    regime.faker = { ...regime.faker!, tables: [table] };
  }
  regime.faker!.dropsrc = true;
  return { regime, specs: loaded.specs, file: loaded.file, table };
}

/** `faker.columns` rules with their schema defaults filled in, as a loaded regime has them. */
function fakerColumns(rules: Record<string, Partial<FakerColumnDecl>>): Record<string, FakerColumnDecl> {
  return withSchemaDefaults('/definitions/faker/properties/columns', rules);
}

/** What a batch-faker setup wrote and how fast. */
export interface FakerFigures {
  workload: Workload;
  database: string;
  rowsPerTable: number;
  /** Rows over all tables (main + joined). */
  rows: number;
  /** Values written (rows × columns), for comparing tables of different widths. */
  values: number;
  seconds: number;
  /** Faked into a SQLite file (else MariaDB). */
  sqlite?: boolean;
}

/** Where the SQLite rows keep their files (`<tmp>/scrape-bench`, removed at the end unless `--keep`). */
export const SQLITE_DIR = path.join(os.tmpdir(), 'scrape-bench');

/** Location of a bench SQLite file in `SQLITE_DIR` (sources marked fake, as for MariaDB). */
export function benchSqliteLocation(file: string, fake = false): DatabaseLocation {
  if (!/^[a-z0-9_]+\.sqlite$/.test(file)) throw new Error(`not a bench SQLite file name: ${file}`);
  // the engine never makes a SQLite file's folder (DATABASE_FOLDER): the bench makes its own
  fs.mkdirSync(SQLITE_DIR, { recursive: true });
  return parseDatabaseUrl(`sqlite:${path.join(SQLITE_DIR, file)}${fake ? '?fake=true' : ''}`);
}

/** Removes a bench SQLite file with its WAL, shared-memory and lock files. */
export function removeSqliteFile(file: string): void {
  const base = benchSqliteLocation(file).filename!;
  for (const f of [base, `${base}-wal`, `${base}-shm`, `${base}-journal`]) fs.rmSync(f, { force: true });
  fs.rmSync(`${base}.locks`, { recursive: true, force: true });
}

/** Creates `database` and fills the workload's table(s) with `rows` fake rows each (batch faker). */
export async function fakeSource(workload: Workload, database: string, rows: number, options: { pmthvStep?: number; sqlite?: boolean } = {}): Promise<FakerFigures> {
  let location: DatabaseLocation;
  if (options.sqlite) {
    removeSqliteFile(database);
    location = benchSqliteLocation(database, true);
  } else {
    await recreateDatabase(database);
    location = benchLocation(database, true);
  }
  const db: Knex = openDatabase(location, { poolMax: options.sqlite ? 1 : 2 });
  const { regime, file } = benchRegime(workload, options);
  try {
    const t0 = process.hrtime.bigint();
    const result = await runBatchFaker({ db, location, regime, regimeFile: file, count: rows, dropsrc: true });
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    let values = 0;
    for (const t of Object.keys(result.rows)) {
      const width = options.sqlite
        ? (await db.raw(`SELECT COUNT(*) AS n FROM pragma_table_info(?)`, [t]))[0].n
        : (await db.raw(`SELECT COUNT(*) AS n FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?`, [t]))[0][0].n;
      values += result.rows[t] * Number(width);
    }
    return { workload, database, rowsPerTable: rows, rows: result.total, values, seconds, sqlite: options.sqlite };
  } finally {
    await db.destroy();
  }
}
