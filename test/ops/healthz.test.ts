import * as fs from 'fs';
import * as http from 'http';
import * as net from 'net';
import * as path from 'path';
import { parse } from 'yaml';
import { ManualClock } from '../../engine/core/clock';
import { ScrapeMetrics, startMetricsServer } from '../../engine/session/metrics-server';
import { SessionHealth } from '../../engine/session/session-health';
import { DIALECTS, createTestDatabase, TestDatabase } from '../support/databases';
import { ensureDist } from '../support/dist';
import { runCli } from '../support/cli';
import { Forwarder, ROOT, fillAdTempSource, freePort, samples, spawnScrape, throughForwarder, waitFor } from './ops-support';

/** GET `http://host:port/path`; the error (ECONNREFUSED…) when nothing answers. */
function get(port: number, urlPath: string, host = '127.0.0.1'): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host, port, path: urlPath }, (res) => {
        let body = '';
        res.on('data', (c) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      })
      .on('error', reject);
  });
}

/** `/healthz` as status code and parsed body; undefined while nothing listens. */
async function healthz(port: number, host = '127.0.0.1'): Promise<{ status: number; json: Record<string, unknown> } | undefined> {
  const r = await get(port, '/healthz', host).catch(() => undefined);
  return r && { status: r.status, json: JSON.parse(r.body) };
}

/** The error code of connecting to `host:port` (undefined when something answers). */
async function refusal(port: number, host: string): Promise<string | undefined> {
  return get(port, '/healthz', host).then(
    () => undefined,
    (err: NodeJS.ErrnoException) => err.code,
  );
}

function exitWithin(c: ReturnType<typeof spawnScrape>, ms: number) {
  return Promise.race([c.exited, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`no exit within ${ms} ms:\n${c.output()}`)), ms).unref())]);
}

const PROMQL_WORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'and', 'or', 'unless', 'bool', 'offset']);

/**
 * The metric names a PromQL expression selects: identifiers outside strings, label matchers,
 * range selectors and grouping clauses that are neither functions (followed by `(`) nor keywords.
 */
function metricNames(expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  const names: string[] = [];
  for (const m of bare.matchAll(/(?<![\w.])[A-Za-z_:][A-Za-z0-9_:]*/g)) {
    if (PROMQL_WORDS.has(m[0]) || /^\s*\(/.test(bare.slice(m.index! + m[0].length))) continue;
    names.push(m[0]);
  }
  return names;
}

describe('metricNames (the alerts check below)', () => {
  it('finds the selected metrics and nothing else', () => {
    expect(metricNames('histogram_quantile(0.99, sum by (instance, le) (rate(scrape_write_seconds_bucket[15m]))) > 10')).toEqual(['scrape_write_seconds_bucket']);
    expect(metricNames('(time() - a_b) > 7200 and on (instance, stream) c_d{x="y z"} < 1800')).toEqual(['a_b', 'c_d']);
    expect(metricNames('changes(process_start_time_seconds{regime!=""}[1h]) > 2')).toEqual(['process_start_time_seconds']);
  });
});

describe('SessionHealth', () => {
  const T = 30_000;
  it('starting, ok, stuck, retrying, down and back, standing by, as the clock moves', () => {
    const clock = new ManualClock();
    const h = new SessionHealth(T, clock);
    expect(h.report()).toMatchObject({ healthy: true, status: 'starting', timeoutSeconds: 30 });
    clock.advance(T + 1000);
    expect(h.report()).toEqual({ healthy: false, status: 'down', reason: 'no step of the loop yet after 31 s', lastSuccessAgeSeconds: 31, timeoutSeconds: 30 });
    h.step();
    expect(h.report()).toEqual({ healthy: true, status: 'ok', lastSuccessAgeSeconds: 0, timeoutSeconds: 30 });
    clock.advance(T); // exactly the timeout: still healthy
    expect(h.report().healthy).toBe(true);
    clock.advance(1000);
    expect(h.report()).toMatchObject({ healthy: false, status: 'down', reason: 'no step of the loop finished for 31 s: stuck' });
    h.step();
    // a failure being retried: healthy (with the error) until the timeout since the last success
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:3306'), { code: 'ECONNREFUSED' });
    clock.advance(5000);
    h.retry(refused);
    clock.advance(10_000);
    h.failed(new Error('a later error is not the reason'));
    expect(h.report()).toMatchObject({ healthy: true, status: 'ok', reason: 'connect ECONNREFUSED 127.0.0.1:3306' });
    clock.advance(T - 15_000 + 1000);
    expect(h.report()).toMatchObject({ healthy: false, status: 'down', reason: 'connect ECONNREFUSED 127.0.0.1:3306 (retrying; nothing succeeded for 31 s)' });
    h.ok(); // the writer lock taken again
    expect(h.report()).toEqual({ healthy: true, status: 'ok', lastSuccessAgeSeconds: 0, timeoutSeconds: 30 });
    // standing by is healthy however long it lasts, until a failure outlasts the timeout
    h.standby('host-b pid 7');
    clock.advance(3_600_000);
    expect(h.report()).toMatchObject({ healthy: true, status: 'standby', holder: 'host-b pid 7', lastSuccessAgeSeconds: 0 });
    h.failed(refused);
    clock.advance(T);
    expect(h.report()).toMatchObject({ healthy: true, status: 'standby' });
    clock.advance(1000);
    expect(h.report()).toMatchObject({ healthy: false, status: 'down' });
    h.standby('host-b pid 7'); // the target answered again: still held by it
    expect(h.report()).toMatchObject({ healthy: true, status: 'standby' });
    h.standby(undefined); // the lock taken
    h.ok();
    expect(h.report()).toMatchObject({ healthy: true, status: 'ok' });
  });

  it('GET /healthz answers 200 or 503 with the report as JSON, and scrape_healthy follows it', async () => {
    const clock = new ManualClock();
    const health = new SessionHealth(T, clock);
    const metrics = new ScrapeMetrics('adtemp', { clock, health, processMetrics: false });
    const server = await startMetricsServer(metrics, 0, '127.0.0.1', health);
    try {
      health.step();
      expect(await healthz(server.port)).toEqual({ status: 200, json: { healthy: true, status: 'ok', lastSuccessAgeSeconds: 0, timeoutSeconds: 30 } });
      expect(samples((await get(server.port, '/metrics')).body, 'scrape_healthy')).toEqual(new Map([['{regime="adtemp"}', 1]]));
      clock.advance(T + 5000);
      expect(await healthz(server.port)).toEqual({ status: 503, json: { healthy: false, status: 'down', reason: 'no step of the loop finished for 35 s: stuck', lastSuccessAgeSeconds: 35, timeoutSeconds: 30 } });
      expect(samples((await get(server.port, '/metrics')).body, 'scrape_healthy')).toEqual(new Map([['{regime="adtemp"}', 0]]));
    } finally {
      await server.close();
    }
  });
});

describe.each(DIALECTS)('scrape run --metrics-port: /healthz, --metrics-host, alerts on %s', (dialect) => {
  const owned: TestDatabase[] = [];
  const fresh = async (label: string) => {
    const db = await createTestDatabase(dialect, label);
    owned.push(db);
    return db;
  };
  beforeAll(() => ensureDist());
  afterAll(async () => {
    for (const d of owned) await d.drop();
  });

  it('200 while the loop turns, on 127.0.0.1 only by default; a standby on --metrics-host answers 200 standby, then ok once it takes over; docs/alerts.yml names only metrics served', async () => {
    const source = await fresh('fake_healthz_src');
    const target = await fresh('healthz_t');
    await fillAdTempSource(source.db, 300, 31);
    const common = ['run', 'adtemp', '--source', source.url, '--target', target.url, '--allow-drop-create-table', '--set', 'sleep=1s', '--set', 'heartbeat=1s'];
    const env = { SCRAPE_LOCK_POLL_MS: '100' };
    const portA = await freePort();
    const a = spawnScrape([...common, '--metrics-port', String(portA)], env);
    let b: ReturnType<typeof spawnScrape> | undefined;
    try {
      await waitFor('the first process healthy', async () => (await healthz(portA))?.json.status === 'ok', 30_000);
      expect(await healthz(portA)).toMatchObject({ status: 200, json: { healthy: true, status: 'ok', timeoutSeconds: 30 } }); // 3 × 1 s is below the 30 s floor
      expect(a.output()).toContain(`metrics at http://127.0.0.1:${portA}/metrics`);
      // bound to 127.0.0.1: another loopback address of this machine is refused
      expect(await refusal(portA, '127.0.0.2')).toBe('ECONNREFUSED');

      // every metric docs/alerts.yml names is one this server serves (`up` is Prometheus' own)
      await waitFor('a write', async () => samples((await get(portA, '/metrics')).body, 'scrape_last_write_timestamp_seconds').size > 0, 30_000);
      const served = new Set((await get(portA, '/metrics')).body.split('\n').filter((l) => l && !l.startsWith('#')).map((l) => /^[A-Za-z_:][A-Za-z0-9_:]*/.exec(l)![0]));
      const rules = (parse(fs.readFileSync(path.join(ROOT, 'docs', 'alerts.yml'), 'utf8')) as { groups: Array<{ name: string; rules: Array<Record<string, any>> }> }).groups.flatMap((g) => g.rules);
      expect(rules.map((r) => r.alert)).toEqual(expect.arrayContaining(['ScrapeDown', 'ScrapeUnhealthy', 'ScrapeSourceStale', 'ScrapeLagging', 'ScrapeNoWrites', 'ScrapeRestarting']));
      for (const rule of rules) {
        expect({ alert: rule.alert, keys: Object.keys(rule).filter((k) => !['alert', 'expr', 'for', 'labels', 'annotations'].includes(k)) }).toEqual({ alert: rule.alert, keys: [] });
        expect(typeof rule.expr).toBe('string');
        if (rule.for !== undefined) expect(rule.for).toMatch(/^\d+[smhd]$/);
        expect(['critical', 'warning', 'info']).toContain(rule.labels?.severity);
        expect(typeof rule.annotations?.summary).toBe('string');
        const names = metricNames(rule.expr);
        expect(names.length).toBeGreaterThan(0);
        expect({ alert: rule.alert, missing: names.filter((n) => n !== 'up' && !served.has(n)) }).toEqual({ alert: rule.alert, missing: [] });
      }

      // a second process of the regime stands by, its server on 127.0.0.2 only
      const portB = await freePort();
      b = spawnScrape([...common, '--standby', '--metrics-port', String(portB), '--metrics-host', '127.0.0.2'], env);
      await waitFor('the standby answering', async () => (await healthz(portB, '127.0.0.2'))?.json.status === 'standby', 30_000);
      const standby = await healthz(portB, '127.0.0.2');
      expect(standby).toMatchObject({ status: 200, json: { healthy: true, status: 'standby' } });
      expect(String(standby!.json.holder)).toMatch(/pid \d+/);
      expect(await refusal(portB, '127.0.0.1')).toBe('ECONNREFUSED');
      // the holder stops: the standby takes over and is ok
      a.child.kill('SIGTERM');
      expect((await exitWithin(a, 15_000)).code).toBe(0);
      await waitFor('the standby taking over', async () => (await healthz(portB, '127.0.0.2'))?.json.status === 'ok', 30_000);
      b.child.kill('SIGTERM');
      expect((await exitWithin(b, 15_000)).code).toBe(0);
    } finally {
      for (const c of [a, b]) if (c && c.child.exitCode === null) c.child.kill('SIGKILL');
    }
  }, 90_000);

  it('a metrics port in use: exit 1 METRICS_PORT before anything is written', async () => {
    const source = await fresh('fake_healthz_busy_src');
    const target = await fresh('healthz_busy_t');
    await fillAdTempSource(source.db, 50, 33);
    const busy = net.createServer();
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    try {
      const port = (busy.address() as net.AddressInfo).port;
      const r = await runCli(['run', 'adtemp', '--source', source.url, '--target', target.url, '--allow-drop-create-table', '--until-caught-up', '--metrics-port', String(port)]);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(new RegExp(`^error METRICS_PORT: --metrics-port ${port}: port ${port} on 127\\.0\\.0\\.1 is already in use`, 'm'));
      expect(await target.db.schema.hasTable('DcsAdTempVld')).toBe(false);
    } finally {
      await new Promise<void>((resolve) => busy.close(() => resolve()));
    }
  });

  if (dialect === 'mariadb') {
    it('the target cut: /healthz turns 503 with the connection error once the health timeout passes, and 200 again when it is back', async () => {
      const source = await fresh('fake_healthz_cut_src');
      const target = await fresh('healthz_cut_t');
      await fillAdTempSource(source.db, 300, 32);
      const forwarder = new Forwarder(await freePort(), { host: source.location.host ?? '127.0.0.1', port: source.location.port ?? 3306 });
      await forwarder.start();
      const port = await freePort();
      const run = spawnScrape(
        ['run', 'adtemp', '--source', source.url, '--target', throughForwarder(target, forwarder.port), '--allow-drop-create-table', '--set', 'sleep=1s', '--set', 'heartbeat=1s', '--metrics-port', String(port), '--health-timeout', '2s'],
        { SCRAPE_LOCK_CHECK_MS: '200' },
      );
      try {
        await waitFor('healthy', async () => (await healthz(port))?.json.status === 'ok', 30_000);
        expect((await healthz(port))!.json.timeoutSeconds).toBe(2);
        await forwarder.stop(); // every target connection reset, new ones refused
        await waitFor('503', async () => (await healthz(port))?.status === 503, 20_000);
        const down = await healthz(port);
        expect(down!.json).toMatchObject({ healthy: false, status: 'down' });
        expect(String(down!.json.reason)).toMatch(new RegExp(`ECONNREFUSED 127\\.0\\.0\\.1:${forwarder.port}.*\\(retrying; nothing succeeded for \\d+ s\\)$`));
        const metrics = (await get(port, '/metrics')).body;
        expect(samples(metrics, 'scrape_healthy')).toEqual(new Map([['{regime="adtemp"}', 0]]));
        expect(run.child.exitCode).toBeNull();
        await forwarder.start();
        await waitFor('healthy again', async () => (await healthz(port))?.json.status === 'ok', 30_000);
        expect(await healthz(port)).toMatchObject({ status: 200, json: { healthy: true, status: 'ok' } });
        run.child.kill('SIGTERM');
        expect((await exitWithin(run, 15_000)).code).toBe(0);
      } finally {
        if (run.child.exitCode === null) run.child.kill('SIGKILL');
        await forwarder.stop();
      }
    }, 90_000);
  }
});
