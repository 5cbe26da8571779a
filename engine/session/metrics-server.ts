import * as http from 'http';
import { AddressInfo } from 'net';
import { ScrapeError } from '../core/errors';
import { StreamObserver } from '../stream/stream-observer';
import { StepResult, StreamWorker } from '../stream/stream-worker';

/** A Prometheus label value, escaped. */
function label(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/**
 * Scraper counters for Prometheus (`--metrics-port`): lag per stream, rows read, propagations by
 * reason, write latency (sum/count), retries after transient errors, rows quarantined per stream
 * (dated past `future_limit`), late rows per stream. Fed as a StreamObserver.
 */
export class ScrapeMetrics implements StreamObserver {
  private readonly lag = new Map<string, number>();
  private readonly rows = new Map<string, number>();
  private readonly propagations = new Map<string, number>();
  private readonly quarantined = new Map<string, number>();
  private readonly lateRows = new Map<string, number>();
  private writeSum = 0;
  private writeCount = 0;
  private retries = 0;
  private decodersOff = 0;

  constructor(private readonly regime: string) {}

  step(worker: StreamWorker, step: StepResult, lagMs: number | undefined): void {
    const stream = worker.stream.table;
    this.rows.set(stream, (this.rows.get(stream) ?? 0) + step.rowsRead);
    if (lagMs !== undefined) this.lag.set(stream, lagMs / 1000);
  }

  quarantine(worker: StreamWorker, count: number): void {
    this.quarantined.set(worker.stream.table, count);
  }

  late(worker: StreamWorker, count: number): void {
    this.lateRows.set(worker.stream.table, count);
  }

  retry(): void {
    this.retries++;
  }

  decoderOff(): void {
    this.decodersOff++;
  }

  propagation(_worker: StreamWorker, reason: string): void {
    this.propagations.set(reason, (this.propagations.get(reason) ?? 0) + 1);
  }

  write(_worker: StreamWorker, seconds: number): void {
    this.writeSum += seconds;
    this.writeCount++;
  }

  /** The metrics in Prometheus text exposition format 0.0.4. */
  render(): string {
    const r = `regime="${label(this.regime)}"`;
    const out: string[] = [];
    out.push('# HELP scrape_lag_seconds Source time between the latest source entry and the last entry read.', '# TYPE scrape_lag_seconds gauge');
    for (const [s, v] of this.lag) out.push(`scrape_lag_seconds{${r},stream="${label(s)}"} ${v}`);
    out.push('# HELP scrape_rows_read_total Source rows read.', '# TYPE scrape_rows_read_total counter');
    for (const [s, v] of this.rows) out.push(`scrape_rows_read_total{${r},stream="${label(s)}"} ${v}`);
    out.push('# HELP scrape_propagations_total Validities propagated, by reason.', '# TYPE scrape_propagations_total counter');
    for (const [k, v] of this.propagations) out.push(`scrape_propagations_total{${r},reason="${label(k)}"} ${v}`);
    out.push('# HELP scrape_write_seconds Duration of target writes (one transaction each).', '# TYPE scrape_write_seconds summary');
    out.push(`scrape_write_seconds_sum{${r}} ${this.writeSum}`, `scrape_write_seconds_count{${r}} ${this.writeCount}`);
    out.push('# HELP scrape_retries_total Retries after transient errors (lost connections, timeouts, deadlocks).', '# TYPE scrape_retries_total counter');
    out.push(`scrape_retries_total{${r}} ${this.retries}`);
    out.push('# HELP scrape_row_decoder_disabled_total Streams whose packet row decoder differed from the driver and was turned off.', '# TYPE scrape_row_decoder_disabled_total counter');
    out.push(`scrape_row_decoder_disabled_total{${r}} ${this.decodersOff}`);
    out.push('# HELP scrape_quarantined_rows Source rows dated more than future_limit ahead of the wall clock, not read until it reaches them (at the last count).', '# TYPE scrape_quarantined_rows gauge');
    for (const [s, v] of this.quarantined) out.push(`scrape_quarantined_rows{${r},stream="${label(s)}"} ${v}`);
    out.push('# HELP scrape_late_rows Source rows that appeared after their stream had written past their date_time (not scraped; found since the run started).', '# TYPE scrape_late_rows gauge');
    for (const [s, v] of this.lateRows) out.push(`scrape_late_rows{${r},stream="${label(s)}"} ${v}`);
    return out.join('\n') + '\n';
  }
}

/**
 * Serves `metrics.render()` at `GET /metrics` on `port` (0 = any free port) with Node's own http
 * module; resolves once listening, with the port and a `close`. A port in use or not allowed is
 * `METRICS_PORT` (exit 1) with a hint.
 */
export async function startMetricsServer(metrics: ScrapeMetrics, port: number, host = '0.0.0.0'): Promise<{ port: number; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    if (req.method === 'GET' && (req.url ?? '').split('?')[0] === '/metrics') {
      res.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4; charset=utf-8' });
      res.end(metrics.render());
    } else {
      res.writeHead(404, { 'Content-Type': 'text/plain' });
      res.end('not found: try /metrics\n');
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => reject(listenError(err, port, host)));
    server.listen(port, host, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
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
