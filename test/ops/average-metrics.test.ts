import * as http from 'http';
import * as path from 'path';
import { Knex } from 'knex';
import { DIALECTS, createTestDatabase, TestDatabase } from '../support/databases';
import { createLidTable, insertLidRows, lidRows } from '../averager/lid-fixture';
import { ADTEMP_YAML, fillAdTempSource, freePort, ROOT, spawnScrape, samples } from './ops-support';

const ADLID_YAML = path.join(ROOT, 'regimes.d', 'adlid.yaml');

/** The scrape_* metric families `scrape run --metrics-port` serves (test/ops/metrics.test.ts), besides the process and Node.js ones. */
const FAMILIES = [
  'scrape_lag_seconds',
  'scrape_source_latest_timestamp_seconds',
  'scrape_source_staleness_seconds',
  'scrape_rows_read_total',
  'scrape_propagations_total',
  'scrape_write_seconds',
  'scrape_read_seconds',
  'scrape_last_write_timestamp_seconds',
  'scrape_last_read_timestamp_seconds',
  'scrape_retries_total',
  'scrape_row_decoder_disabled_total',
  'scrape_quarantined_rows',
  'scrape_late_rows',
  'scrape_healthy',
];

function get(port: number, urlPath: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: urlPath }, (res) => {
        let body = '';
        res.on('data', (c) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      })
      .on('error', reject);
  });
}

/** `name type` of every `# TYPE` line, sorted. */
function families(body: string): string[] {
  return body
    .split('\n')
    .map((l) => /^# TYPE (\S+) (\S+)$/.exec(l))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => `${m[1]} ${m[2]}`)
    .sort();
}

/**
 * Runs the compiled `scrape <args> --metrics-port <free port>` live (no --until-caught-up), polls
 * GET /metrics until `done(body)` holds or `ms` pass (then returns the last body: the caller's
 * assertions show what differs), stops it with SIGTERM and returns the last body and exit code.
 */
async function scrapeMetricsOfLiveRun(args: string[], done: (body: string) => boolean | Promise<boolean>, ms = 60_000): Promise<{ body: string; code: number | null; output: string }> {
  const port = await freePort();
  const run = spawnScrape([...args, '--metrics-port', String(port)]);
  let exited: { code: number | null } | undefined;
  void run.exited.then((r) => (exited = r));
  let body = '';
  const end = Date.now() + ms;
  try {
    while (Date.now() < end) {
      if (exited) throw new Error(`scrape ${args[0]} exited (${exited.code}) before its metrics were complete:\n${run.output()}`);
      const r = await get(port, '/metrics').catch(() => undefined); // not listening yet
      if (r?.status === 200) {
        body = r.body;
        if (await done(body)) break;
      }
      await new Promise((res) => setTimeout(res, 100));
    }
  } finally {
    if (!exited) run.child.kill('SIGTERM');
  }
  const { code } = await run.exited;
  if (!body) throw new Error(`scrape ${args[0]} never served /metrics on port ${port}:\n${run.output()}`);
  return { body, code, output: run.output() };
}

/** Per source table, computed in SQL: rows the averager reads and validities it writes (complete hours with a good entry). */
async function expectedAverages(db: Knex, dialect: string, table: string): Promise<{ rows: number; validities: number }> {
  const sqlite = dialect === 'sqlite';
  const q = (n: string) => (sqlite ? `"${n}"` : `\`${n}\``);
  const rowsOf = (raw: unknown) => (sqlite ? raw : (raw as unknown[])[0]) as Record<string, unknown>[];
  const [latest] = rowsOf(await db.raw(`SELECT MAX(${q('date_time')}) AS t FROM ${q(table)}`));
  // the hour of the latest entry is incomplete; every entry from timefloor up to it is read
  const territoryEnd = `${String(latest.t).slice(0, 13)}:00:00`;
  const hour = sqlite ? `substr(${q('date_time')}, 1, 13)` : `DATE_FORMAT(${q('date_time')}, '%Y-%m-%d %H')`;
  const inRange = `${q('date_time')} >= '2010-01-01 00:00:00' AND ${q('date_time')} < '${territoryEnd}'`;
  const [counted] = rowsOf(await db.raw(`SELECT COUNT(*) AS n FROM ${q(table)} WHERE ${inRange}`));
  const [hours] = rowsOf(await db.raw(`SELECT COUNT(DISTINCT ${hour}) AS n FROM ${q(table)} WHERE ${inRange} AND ${q('SensorStatus')} = 0`));
  return { rows: Number(counted.n), validities: Number(hours.n) };
}

/**
 * `scrape average --metrics-port N` serves the same Prometheus metric families as `scrape run
 * --metrics-port N`, counting what the averager did: rows read per stream and validities written
 * (propagations), both computed independently in SQL. Compiled CLI (dist/), run live and stopped
 * with SIGTERM, as an operator runs it.
 */
describe.each(DIALECTS)('scrape average --metrics-port on %s', (dialect) => {
  const owned: TestDatabase[] = [];
  const fresh = async (label: string) => {
    const db = await createTestDatabase(dialect, label);
    owned.push(db);
    return db;
  };
  afterAll(async () => {
    for (const d of owned) await d.drop();
  });

  it('serves the scraper\'s metric families, with rows read and propagations equal to what it did', async () => {
    // The scraper's families, from a live `scrape run adtemp`.
    const tempSource = await fresh('fake_avgmet_temp_src');
    const tempTarget = await fresh('avgmet_temp_t');
    await fillAdTempSource(tempSource.db, 500, 3);
    const scraper = await scrapeMetricsOfLiveRun(
      ['run', ADTEMP_YAML, '--source', tempSource.url, '--target', tempTarget.url, '--allow-drop-create-table'],
      (body) => samples(body, 'scrape_rows_read_total').get('{regime="adtemp",stream="DBNS_SAB_Temp"}') === 500,
    );
    expect(scraper.code).toBe(0);
    const scraperFamilies = families(scraper.body);
    expect(scraperFamilies.map((f) => f.split(' ')[0]).filter((f) => f.startsWith('scrape_'))).toEqual([...FAMILIES].sort());
    expect(scraperFamilies).toContain('process_start_time_seconds gauge');
    expect(scraperFamilies).toContain('nodejs_heap_size_used_bytes gauge');

    // The averager over two lid sensor tables.
    const source = await fresh('fake_avgmet_lid_src');
    const target = await fresh('avgmet_lid_t');
    await createLidTable(source.db, 'AD1_LidSensor');
    await createLidTable(source.db, 'AD5_LidSensor');
    await insertLidRows(source.db, 'AD1_LidSensor', lidRows('2012-02-01 00:00:03', 6 * 3600 + 600, 21));
    await insertLidRows(source.db, 'AD5_LidSensor', lidRows('2012-02-01 00:20:07', 3 * 3600 + 300, 22));
    const expected = {
      AD1_LidSensor: await expectedAverages(source.db, dialect, 'AD1_LidSensor'),
      AD5_LidSensor: await expectedAverages(source.db, dialect, 'AD5_LidSensor'),
    };
    // by hand: 00..05 complete for AD1 (6 hours), 00..02 for AD5 (3 hours, the first from 00:20)
    expect([expected.AD1_LidSensor.validities, expected.AD5_LidSensor.validities]).toEqual([6, 3]);
    const validities = expected.AD1_LidSensor.validities + expected.AD5_LidSensor.validities;
    const rowsRead = (body: string) => samples(body, 'scrape_rows_read_total');
    const propagated = (body: string) => [...samples(body, 'scrape_propagations_total').values()].reduce((a, b) => a + b, 0);
    const averager = await scrapeMetricsOfLiveRun(
      ['average', ADLID_YAML, '--source', source.url, '--target', target.url, '--allow-drop-create-table'],
      (body) =>
        rowsRead(body).get('{regime="adlid",stream="AD1_LidSensor"}') === expected.AD1_LidSensor.rows &&
        rowsRead(body).get('{regime="adlid",stream="AD5_LidSensor"}') === expected.AD5_LidSensor.rows &&
        propagated(body) === validities,
    );
    expect({ code: averager.code, output: averager.code === 0 ? '' : averager.output }).toEqual({ code: 0, output: '' });
    const body = averager.body;

    // The same families, with the same types.
    expect(families(body)).toEqual(scraperFamilies);
    // Rows read per stream: every source row from timefloor to the start of the incomplete hour (SQL).
    expect(rowsRead(body)).toEqual(
      new Map([
        ['{regime="adlid",stream="AD1_LidSensor"}', expected.AD1_LidSensor.rows],
        ['{regime="adlid",stream="AD5_LidSensor"}', expected.AD5_LidSensor.rows],
      ]),
    );
    // Propagations: one per validity, as counted in SQL, and as the target holds.
    expect(propagated(body)).toBe(validities);
    for (const key of samples(body, 'scrape_propagations_total').keys()) expect(key).toMatch(/^\{regime="adlid",stream="AD[15]_LidSensor",reason="[a-z_]+"\}$/);
    const vld = Number((await target.db('DcsAdLidSensorVld').count({ n: '*' }))[0].n);
    expect(vld).toBe(validities);
    // Writes and reads timed (at least one per stream), no retries, a lag for each stream.
    for (const name of ['scrape_write_seconds_count', 'scrape_read_seconds_count']) {
      const counts = samples(body, name);
      expect([...counts.keys()].sort()).toEqual(['{regime="adlid",stream="AD1_LidSensor"}', '{regime="adlid",stream="AD5_LidSensor"}']);
      for (const v of counts.values()) expect(v).toBeGreaterThanOrEqual(1);
    }
    expect(samples(body, 'scrape_retries_total')).toEqual(new Map([['{regime="adlid"}', 0]]));
    const lag = samples(body, 'scrape_lag_seconds');
    expect([...lag.keys()].sort()).toEqual(['{regime="adlid",stream="AD1_LidSensor"}', '{regime="adlid",stream="AD5_LidSensor"}']);
    for (const v of lag.values()) expect(v).toBeGreaterThanOrEqual(0);
  }, 150_000);
});
