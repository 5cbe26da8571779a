import * as http from 'http';
import { ManualClock } from '../../engine/core/clock';
import { loadRegime } from '../../engine/config/load-regime';
import { silentLogger } from '../../engine/core/logger';
import { ScrapeMetrics, startMetricsServer } from '../../engine/session/metrics-server';
import { runScraper } from '../../engine/scraper/scraper';
import { DIALECTS, createTestDatabase, TestDatabase } from '../support/databases';
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


describe.each(DIALECTS)('Prometheus metrics on %s', (dialect) => {
  let source: TestDatabase;
  let target: TestDatabase;
  beforeAll(async () => {
    source = await createTestDatabase(dialect, 'fake_metrics_src');
    target = await createTestDatabase(dialect, 'metrics_t');
    await fillAdTempSource(source.db, 3000, 9);
  });
  afterAll(async () => {
    await source?.drop();
    await target?.drop();
  });

  it('GET /metrics reports rows read, propagations, writes, lag and retries of a run', async () => {
    const loaded = loadRegime(ADTEMP_YAML, { cwd: ROOT, env: {} });
    const regime = { ...loaded.regime, scraper: { ...loaded.regime.scraper, page_size: 100 } };
    const metrics = new ScrapeMetrics('adtemp');
    const server = await startMetricsServer(metrics, 0, '127.0.0.1');
    try {
      await runScraper({ regime, specs: loaded.specs, source: source.db, target: target.db, targetLocation: target.location, logger: silentLogger, clock: new ManualClock(), untilCaughtUp: true, allowCreate: true, seed: false, observer: metrics });
      const r = await get(server.port, '/metrics');
      expect(r.status).toBe(200);
      expect(r.type).toMatch(/^text\/plain; version=0\.0\.4/);
      const stream = '{regime="adtemp",stream="DBNS_SAB_Temp"}';
      expect(samples(r.body, 'scrape_rows_read_total')).toEqual(new Map([[stream, 3000]]));
      expect(samples(r.body, 'scrape_lag_seconds')).toEqual(new Map([[stream, 0]]));
      expect(samples(r.body, 'scrape_retries_total')).toEqual(new Map([['{regime="adtemp"}', 0]]));
      // Every propagation is one validity in the target, counted by SQL.
      const vld = Number((await target.db('DcsAdTempVld').count({ n: '*' }))[0].n);
      const byReason = samples(r.body, 'scrape_propagations_total');
      expect([...byReason.values()].reduce((a, b) => a + b, 0)).toBe(vld);
      for (const key of byReason.keys()) expect(key).toMatch(/^\{regime="adtemp",reason="(changed|overage)"\}$/);
      // 30 pages of 100 rows (1000 s of source time each): maxage 10m makes each page propagate,
      // so each page is one write.
      expect(samples(r.body, 'scrape_write_seconds_count')).toEqual(new Map([['{regime="adtemp"}', 30]]));
      expect(r.body).toContain('# TYPE scrape_write_seconds summary');
      expect((await get(server.port, '/other')).status).toBe(404);
    } finally {
      await server.close();
    }
  });
});
