import * as http from 'http';
import { ManualClock } from '../../engine/core/clock';
import { loadRegime } from '../../engine/config/load-regime';
import { silentLogger } from '../../engine/core/logger';
import { ScrapeMetrics, startMetricsServer } from '../../engine/session/metrics-server';
import { SessionHealth } from '../../engine/session/session-health';
import { runScraper } from '../../engine/scraper/scraper';
import { combineObservers } from '../../engine/stream/stream-observer';
import { DIALECTS, createTestDatabase, TestDatabase } from '../support/databases';
import { localPlus } from '../support/source-fixture';
import { ADTEMP_YAML, fillAdTempSource, ROOT, samples } from './ops-support';

function get(port: number, path: string): Promise<{ status: number; type: string; body: string }> {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type']), body }));
    }).on('error', reject);
  });
}

/** The one sample of `name` whose labels are exactly `labels` (in any order), or undefined. */
function sample(body: string, name: string, labels: Record<string, string>): number | undefined {
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`).sort().join(',');
  for (const [key, value] of samples(body, name)) {
    const have = key.replace(/^\{|\}$/g, '').split(',').filter(Boolean).sort().join(',');
    if (have === want) return value;
  }
  return undefined;
}

const STREAM = { regime: 'adtemp', stream: 'DBNS_SAB_Temp' };

describe.each(DIALECTS)('Prometheus metrics on %s', (dialect) => {
  const owned: TestDatabase[] = [];
  const fresh = async (label: string) => {
    const db = await createTestDatabase(dialect, label);
    owned.push(db);
    return db;
  };
  afterAll(async () => {
    for (const d of owned) await d.drop();
  });
  const loaded = loadRegime(ADTEMP_YAML, { cwd: ROOT, env: {} });
  const regime = { ...loaded.regime, scraper: { ...loaded.regime.scraper, page_size: 100 } };

  it('GET /metrics: rows read, propagations and latency histograms per stream, the newest source row in UTC and its staleness, last write, process metrics', async () => {
    const source = await fresh('fake_metrics_src');
    const target = await fresh('metrics_t');
    await fillAdTempSource(source.db, 3000, 9);
    // wall clock 2011-02-01 01:00:00 UTC
    const clock = new ManualClock(Date.UTC(2011, 1, 1, 1, 0, 0));
    const metrics = new ScrapeMetrics('adtemp', { clock });
    const server = await startMetricsServer(metrics, 0, '127.0.0.1');
    try {
      await runScraper({ regime, specs: loaded.specs, source: source.db, target: target.db, targetLocation: target.location, logger: silentLogger, clock, untilCaughtUp: true, allowCreate: true, seed: false, observer: metrics });
      const r = await get(server.port, '/metrics');
      expect(r.status).toBe(200);
      expect(r.type).toMatch(/^text\/plain; version=0\.0\.4/);
      expect(sample(r.body, 'scrape_rows_read_total', STREAM)).toBe(3000);
      expect(sample(r.body, 'scrape_lag_seconds', STREAM)).toBe(0);
      expect(samples(r.body, 'scrape_retries_total')).toEqual(new Map([['{regime="adtemp"}', 0]]));
      expect(samples(r.body, 'scrape_row_decoder_disabled_total')).toEqual(new Map([['{regime="adtemp"}', 0]]));
      // Every propagation is one validity in the target, counted by SQL; labelled by stream and reason.
      const vld = Number((await target.db('DcsAdTempVld').count({ n: '*' }))[0].n);
      const byReason = samples(r.body, 'scrape_propagations_total');
      expect([...byReason.values()].reduce((a, b) => a + b, 0)).toBe(vld);
      for (const key of byReason.keys()) expect(key).toMatch(/^\{regime="adtemp",stream="DBNS_SAB_Temp",reason="(changed|overage)"\}$/);
      // 30 pages of 100 rows (1000 s of source time each): maxage 10m makes each page propagate,
      // so each page is one write; 31 page reads: the 30 full ones and the empty one after them.
      expect(r.body).toContain('# TYPE scrape_write_seconds histogram');
      expect(r.body).toContain('# TYPE scrape_read_seconds histogram');
      expect(sample(r.body, 'scrape_write_seconds_count', STREAM)).toBe(30);
      expect(sample(r.body, 'scrape_write_seconds_bucket', { ...STREAM, le: '+Inf' })).toBe(30);
      expect(sample(r.body, 'scrape_read_seconds_count', STREAM)).toBe(31);
      expect(sample(r.body, 'scrape_read_seconds_bucket', { ...STREAM, le: '+Inf' })).toBe(31);
      // buckets are cumulative
      const buckets = [...samples(r.body, 'scrape_read_seconds_bucket').values()];
      for (let i = 1; i < buckets.length; i++) expect(buckets[i]).toBeGreaterThanOrEqual(buckets[i - 1]);
      // the newest source row: id 3000 at 2011-02-01 00:00:00 + 2999 × 10 s = 08:19:50 local,
      // Asia/Shanghai (UTC+8), so 00:19:50 UTC; 40 min 10 s before the wall clock
      expect(sample(r.body, 'scrape_source_latest_timestamp_seconds', STREAM)).toBe(Date.UTC(2011, 1, 1, 0, 19, 50) / 1000);
      expect(sample(r.body, 'scrape_source_staleness_seconds', STREAM)).toBe(40 * 60 + 10);
      // the injected clock never moved (no sleep until caught up): every write and read happened at it
      expect(sample(r.body, 'scrape_last_write_timestamp_seconds', STREAM)).toBe(Date.UTC(2011, 1, 1, 1, 0, 0) / 1000);
      expect(sample(r.body, 'scrape_last_read_timestamp_seconds', STREAM)).toBe(Date.UTC(2011, 1, 1, 1, 0, 0) / 1000);
      // the process and Node.js metrics, labelled with the regime
      const started = sample(r.body, 'process_start_time_seconds', { regime: 'adtemp' });
      expect(started).toBeGreaterThan(Date.UTC(2020, 0, 1) / 1000);
      expect(started).toBeLessThanOrEqual(Date.now() / 1000);
      expect(sample(r.body, 'nodejs_heap_size_used_bytes', { regime: 'adtemp' })).toBeGreaterThan(0);
      expect(r.body).toContain('# TYPE process_cpu_seconds_total counter');
      expect((await get(server.port, '/other')).status).toBe(404);
      expect((await get(server.port, '/healthz')).status).toBe(404); // no health given to this server
    } finally {
      await server.close();
    }
  });

  it('a source that stops writing: staleness grows with the wall clock while the lag stays 0; new rows bring it down', async () => {
    const source = await fresh('fake_metrics_stale_src');
    const target = await fresh('metrics_stale_t');
    // one hour of rows from 2011-02-01 00:00:00 local: the newest at 00:59:50 local = 2011-01-31 16:59:50 UTC
    await fillAdTempSource(source.db, 360, 4);
    const newest = Date.UTC(2011, 0, 31, 16, 59, 50);
    const clock = new ManualClock(newest + 10_000);
    const health = new SessionHealth(60_000, clock);
    const metrics = new ScrapeMetrics('adtemp', { clock, health, processMetrics: false });
    const server = await startMetricsServer(metrics, 0, '127.0.0.1', health);
    const run = (observer = combineObservers(metrics, health), signal?: AbortSignal, untilCaughtUp = true) =>
      runScraper({ regime, specs: loaded.specs, source: source.db, target: target.db, targetLocation: target.location, logger: silentLogger, clock, untilCaughtUp, signal, allowCreate: true, seed: false, observer });
    try {
      await run();
      let body = (await get(server.port, '/metrics')).body;
      expect(sample(body, 'scrape_rows_read_total', STREAM)).toBe(360);
      expect(sample(body, 'scrape_lag_seconds', STREAM)).toBe(0);
      expect(sample(body, 'scrape_source_staleness_seconds', STREAM)).toBe(10);
      expect(sample(body, 'scrape_healthy', { regime: 'adtemp' })).toBe(1);

      // live, no new row: the loop keeps turning (sleeping on the injected clock) for 10 minutes;
      // resuming, it reads again the rows from the last TIMEEND on (counted in SQL), then nothing
      const [{ end }] = await target.db('DcsAdTempVld').max({ end: 'TIMEEND' });
      const endLocal = localPlus(String(end).replace('T', ' ').slice(0, 19), 8 * 3600); // UTC + 8 h
      const [{ n: reread }] = await source.db('DBNS_SAB_Temp').where('date_time', '>=', endLocal).count({ n: '*' });
      expect(Number(reread)).toBeGreaterThan(0);
      const stopAt = clock.now() + 600_000;
      const stop = new AbortController();
      let steps = 0;
      await run(combineObservers(metrics, health, { step: () => (++steps, clock.now() >= stopAt && stop.abort()) }), stop.signal, false);
      expect(steps).toBeGreaterThan(10);
      const at = clock.now();
      expect(at).toBeGreaterThanOrEqual(stopAt);
      body = (await get(server.port, '/metrics')).body;
      expect(sample(body, 'scrape_rows_read_total', STREAM)).toBe(360 + Number(reread)); // nothing new was read
      expect(sample(body, 'scrape_lag_seconds', STREAM)).toBe(0); // caught up all along...
      expect(sample(body, 'scrape_source_staleness_seconds', STREAM)).toBe((at - newest) / 1000); // ...while the source went quiet
      expect(sample(body, 'scrape_source_staleness_seconds', STREAM)).toBeGreaterThanOrEqual(610);
      expect(sample(body, 'scrape_source_latest_timestamp_seconds', STREAM)).toBe(newest / 1000);
      expect(sample(body, 'scrape_last_read_timestamp_seconds', STREAM)).toBe(at / 1000); // the loop turned until the end
      expect(sample(body, 'scrape_healthy', { regime: 'adtemp' })).toBe(1); // the process is fine: it is the source that stopped
      // with no step the staleness still grows as the clock does (it is computed when scraped)
      clock.advance(5_000);
      expect(sample((await get(server.port, '/metrics')).body, 'scrape_source_staleness_seconds', STREAM)).toBe((at + 5_000 - newest) / 1000);

      // the DCS writes again: 30 rows from 01:00:00 local, the newest at 01:04:50 local = 17:04:50 UTC
      await fillAdTempSource(source.db, 30, 5, '2011-02-01 01:00:00', false, 361);
      await run();
      body = (await get(server.port, '/metrics')).body;
      // resumed from the same TIMEEND (nothing was written meanwhile): the same rows again, and the 30 new
      expect(sample(body, 'scrape_rows_read_total', STREAM)).toBe(360 + 2 * Number(reread) + 30);
      expect(sample(body, 'scrape_source_latest_timestamp_seconds', STREAM)).toBe(Date.UTC(2011, 0, 31, 17, 4, 50) / 1000);
      expect(sample(body, 'scrape_source_staleness_seconds', STREAM)).toBe((clock.now() - Date.UTC(2011, 0, 31, 17, 4, 50)) / 1000);
      // process metrics were turned off for this one
      expect(body).not.toContain('process_start_time_seconds');
    } finally {
      await server.close();
    }
  });
});
