import * as http from 'http';
import { AddressInfo } from 'net';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { Clock, systemClock } from '../core/clock';
import { ScrapeError } from '../core/errors';
import { StreamObserver } from '../stream/stream-observer';
import { StepResult, StreamWorker } from '../stream/stream-worker';
import { SessionHealth } from './session-health';

/** Buckets (s) of the read and write latency histograms: 5 ms to a minute. */
export const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/** Options of `ScrapeMetrics`. */
export interface ScrapeMetricsOptions {
  /** Wall clock of staleness and of the last-write/last-read timestamps (injected by tests). */
  clock?: Clock;
  /** Also export the process and Node.js metrics (`process_*`, `nodejs_*`); default true. */
  processMetrics?: boolean;
  /** Exported as `scrape_healthy` (1 when `/healthz` answers 200). */
  health?: SessionHealth;
  /**
   * The regime a stream belongs to, when one process runs several (`scrape run A B`, `ALL`): its
   * series carry that `regime` label, so streams of two regimes with one table name stay apart.
   * Absent: every series carries the regime given to the constructor.
   */
  regimeOf?: (worker: StreamWorker) => string;
}

/**
 * Prometheus metrics of a scraper or averager (`--metrics-port`), through prom-client, every
 * series labelled `regime`, per-stream series also `stream` (the source table): lag (source
 * time), the newest source row as a UTC instant and its staleness (wall clock minus it: grows
 * when the DCS stops writing, while the lag stays 0), rows read, propagations by reason, read
 * and write latency histograms, last successful read and write (wall clock), retries after
 * transient errors, decoders turned off, quarantined and late rows, `scrape_healthy`; and the
 * process and Node.js metrics. Fed as a StreamObserver.
 */
export class ScrapeMetrics implements StreamObserver {
  /** Every metric of this process (a registry of its own, so several can live in one process). */
  readonly registry = new Registry();
  private readonly clock: Clock;
  /** Per stream: the newest source row at the last step, ms since the epoch. */
  private readonly sourceLatest = new Map<string, { regime: string; stream: string; ms: number }>();
  private readonly lag: Gauge<'regime' | 'stream'>;
  private readonly latestTimestamp: Gauge<'regime' | 'stream'>;
  private readonly rows: Counter<'regime' | 'stream'>;
  private readonly propagations: Counter<'regime' | 'stream' | 'reason'>;
  private readonly writeSeconds: Histogram<'regime' | 'stream'>;
  private readonly readSeconds: Histogram<'regime' | 'stream'>;
  private readonly lastWrite: Gauge<'regime' | 'stream'>;
  private readonly lastRead: Gauge<'regime' | 'stream'>;
  private readonly retries: Counter<'regime'>;
  private readonly decodersOff: Counter<'regime'>;
  private readonly quarantined: Gauge<'regime' | 'stream'>;
  private readonly lateRows: Gauge<'regime' | 'stream'>;

  private readonly regimeOf?: (worker: StreamWorker) => string;

  constructor(private readonly regime: string, options: ScrapeMetricsOptions = {}) {
    this.clock = options.clock ?? systemClock;
    this.regimeOf = options.regimeOf;
    const registers = [this.registry];
    const perStream = ['regime', 'stream'] as const;
    const metrics = this;
    this.lag = new Gauge({ name: 'scrape_lag_seconds', help: 'Source time between the latest source entry and the last entry read (0 when caught up, even if the source stopped writing: see scrape_source_staleness_seconds).', labelNames: perStream, registers });
    this.latestTimestamp = new Gauge({ name: 'scrape_source_latest_timestamp_seconds', help: "The newest source row's date_time as a UTC instant (through the regime's time zone), at the stream's last step.", labelNames: perStream, registers });
    new Gauge({
      name: 'scrape_source_staleness_seconds',
      help: 'Wall clock minus the newest source row (UTC), at scrape time: how long the source has not written.',
      labelNames: perStream,
      registers,
      collect() {
        this.reset();
        const now = metrics.clock.now();
        for (const { regime, stream, ms } of metrics.sourceLatest.values()) this.set({ regime, stream }, (now - ms) / 1000);
      },
    });
    this.rows = new Counter({ name: 'scrape_rows_read_total', help: 'Source rows read.', labelNames: perStream, registers });
    this.propagations = new Counter({ name: 'scrape_propagations_total', help: 'Validities propagated (written), by stream and reason.', labelNames: [...perStream, 'reason'], registers });
    this.writeSeconds = new Histogram({ name: 'scrape_write_seconds', help: 'Duration of target writes (one transaction each).', labelNames: perStream, buckets: LATENCY_BUCKETS, registers });
    this.readSeconds = new Histogram({ name: 'scrape_read_seconds', help: 'Duration of source reads (one keyset page, or one averager range), from the query to its last row.', labelNames: perStream, buckets: LATENCY_BUCKETS, registers });
    this.lastWrite = new Gauge({ name: 'scrape_last_write_timestamp_seconds', help: 'Wall clock (UTC) of the last successful target write.', labelNames: perStream, registers });
    this.lastRead = new Gauge({ name: 'scrape_last_read_timestamp_seconds', help: 'Wall clock (UTC) of the last step that read the source successfully (rows or none).', labelNames: perStream, registers });
    this.retries = new Counter({ name: 'scrape_retries_total', help: 'Retries after transient errors (lost connections, timeouts, deadlocks).', labelNames: ['regime'], registers });
    this.decodersOff = new Counter({ name: 'scrape_row_decoder_disabled_total', help: 'Streams whose packet row decoder differed from the driver and was turned off.', labelNames: ['regime'], registers });
    this.quarantined = new Gauge({ name: 'scrape_quarantined_rows', help: 'Source rows dated more than future_limit ahead of the wall clock, not read until it reaches them (at the last count).', labelNames: perStream, registers });
    this.lateRows = new Gauge({ name: 'scrape_late_rows', help: 'Source rows that appeared after their stream had written past their date_time (not scraped; found since the run started).', labelNames: perStream, registers });
    this.retries.inc({ regime }, 0);
    this.decodersOff.inc({ regime }, 0);
    const health = options.health;
    if (health) {
      new Gauge({
        name: 'scrape_healthy',
        help: '1 while GET /healthz answers 200 (the loop turns and something succeeded within the health timeout), else 0.',
        labelNames: ['regime'],
        registers,
        collect() {
          this.set({ regime: metrics.regime }, health.report().healthy ? 1 : 0);
        },
      });
    }
    if (options.processMetrics ?? true) collectDefaultMetrics({ register: this.registry, labels: { regime } });
  }

  private labels(worker: StreamWorker): { regime: string; stream: string } {
    return { regime: this.regimeOf?.(worker) ?? this.regime, stream: worker.stream.table };
  }

  step(worker: StreamWorker, step: StepResult, lagMs: number | undefined): void {
    const labels = this.labels(worker);
    this.rows.inc(labels, step.rowsRead);
    if (lagMs !== undefined) this.lag.set(labels, lagMs / 1000);
    this.lastRead.set(labels, this.clock.now() / 1000);
    const latest = worker.sourceLatestMs;
    if (latest !== undefined) {
      this.sourceLatest.set(`${labels.regime}\n${labels.stream}`, { ...labels, ms: latest });
      this.latestTimestamp.set(labels, latest / 1000);
    }
  }

  quarantine(worker: StreamWorker, count: number): void {
    this.quarantined.set(this.labels(worker), count);
  }

  late(worker: StreamWorker, count: number): void {
    this.lateRows.set(this.labels(worker), count);
  }

  retry(): void {
    this.retries.inc({ regime: this.regime });
  }

  decoderOff(): void {
    this.decodersOff.inc({ regime: this.regime });
  }

  propagation(worker: StreamWorker, reason: string): void {
    this.propagations.inc({ ...this.labels(worker), reason });
  }

  write(worker: StreamWorker, seconds: number): void {
    const labels = this.labels(worker);
    this.writeSeconds.observe(labels, seconds);
    this.lastWrite.set(labels, this.clock.now() / 1000);
  }

  read(worker: StreamWorker, seconds: number): void {
    this.readSeconds.observe(this.labels(worker), seconds);
  }

  /** The metrics in Prometheus text exposition format 0.0.4. */
  render(): Promise<string> {
    return this.registry.metrics();
  }

  /** The content type of `render()`. */
  get contentType(): string {
    return this.registry.contentType;
  }
}

/**
 * Serves `GET /metrics` (`metrics.render()`), with `health` `GET /healthz` (200 or 503 with
 * a short JSON body: `SessionHealth.report`) and with `page` `GET /` (its HTML, given the query;
 * one rendering at a time per query, shared by the requests that wait for it) on `host:port`
 * (port 0 = any free port) with Node's own http module; resolves once listening, with the port
 * and a `close`. A port in use or not allowed is `METRICS_PORT` (exit 1) with a hint.
 */
export async function startMetricsServer(
  metrics: ScrapeMetrics,
  port: number,
  host = '127.0.0.1',
  health?: SessionHealth,
  page?: (query: URLSearchParams) => Promise<string>,
): Promise<{ port: number; close(): Promise<void> }> {
  const rendering = new Map<string, Promise<string>>();
  const server = http.createServer((req, res) => {
    const [url, search] = (req.url ?? '').split('?');
    if (req.method === 'GET' && url === '/' && page) {
      const key = search ?? '';
      let html = rendering.get(key);
      if (!html) {
        html = page(new URLSearchParams(key)).finally(() => rendering.delete(key));
        rendering.set(key, html);
      }
      html.then(
        (body) => {
          res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' });
          res.end(body);
        },
        (err) => {
          res.writeHead(500, { 'Content-Type': 'text/plain; charset=utf-8' });
          res.end(`status page failed: ${(err as Error).message}\n`);
        },
      );
    } else if (req.method === 'GET' && url === '/metrics') {
      metrics.render().then(
        (body) => {
          res.writeHead(200, { 'Content-Type': metrics.contentType });
          res.end(body);
        },
        (err) => {
          res.writeHead(500, { 'Content-Type': 'text/plain' });
          res.end(`metrics failed: ${(err as Error).message}\n`);
        },
      );
    } else if (req.method === 'GET' && url === '/healthz' && health) {
      const report = health.report();
      res.writeHead(report.healthy ? 200 : 503, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(report) + '\n');
    } else {
      res.writeHead(404, { 'Content-Type': 'text/plain' });
      res.end(`not found: try /metrics${health ? ' or /healthz' : ''}${page ? ' or /' : ''}\n`);
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => reject(listenError(err, port, host)));
    server.listen(port, host, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** What a failed `listen` means to the operator. */
function listenError(err: NodeJS.ErrnoException, port: number, host: string): Error {
  if (err.code === 'EADDRINUSE') {
    return new ScrapeError('METRICS_PORT', `--metrics-port ${port}: port ${port} on ${host} is already in use by another process`, {
      hint: `choose another port, or find the process using it (ss -ltnp 'sport = :${port}')`,
    });
  }
  if (err.code === 'EACCES' || err.code === 'EPERM') {
    return new ScrapeError('METRICS_PORT', `--metrics-port ${port}: not allowed to listen on port ${port} (${err.code})`, {
      hint: 'ports below 1024 need privileges: choose a port from 1024 up',
    });
  }
  if (err.code === 'EADDRNOTAVAIL') {
    return new ScrapeError('METRICS_PORT', `--metrics-port ${port}: address ${host} is not available on this machine`, { hint: 'listen on an address of this machine' });
  }
  return err;
}
