import { Clock } from '../core/clock';
import { Logger } from '../core/logger';
import { naiveMs } from '../core/time';
import { StreamObserver } from '../stream/stream-observer';
import { StepResult, StreamWorker } from '../stream/stream-worker';

/** `1d 3h`, `2h 5m`, `2m10s`, `45s`: a span for people. */
export function humanSpan(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  if (d > 0) return `${d}d ${h}h`;
  if (h > 0) return `${h}h ${m}m`;
  if (m > 0) return `${m}m${String(sec).padStart(2, '0')}s`;
  return `${sec}s`;
}

/** Reasons of writes in the order progress lines give them (others after these, by name). */
const REASON_ORDER = ['changed', 'overage', 'seed', 'bin'];

/** `changed 7, overage 141`: write counts by reason, always in one order. */
export function reasonsText(reasons: ReadonlyMap<string, number>): string {
  const rank = (r: string) => (REASON_ORDER.includes(r) ? REASON_ORDER.indexOf(r) : REASON_ORDER.length);
  return [...reasons]
    .sort(([a], [b]) => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0))
    .map(([reason, n]) => `${reason} ${n}`)
    .join(', ');
}

/** What a stream did since its process started catching up. */
interface StreamProgress {
  worker: StreamWorker;
  /** Its last step read to the end of the source (or it is finished). */
  live: boolean;
  lagMs?: number;
  /** Where it stood (naive local ms) and when (wall ms), at its first step or the last line: its pace. */
  paceFrom?: { cursorMs: number; at: number };
}

/**
 * Catch-up feedback of one regime process, for its streams together. A stream is catching up
 * from its start until a step reads to the end of its source, and again whenever a step reads a
 * full page (or chunk) after that: its writes are then not logged one by one (its SV or chunk
 * lines go to debug). Meanwhile one info line every `everyMs` (wall time) says what the process
 * did since it started catching up: rows read, writes by reason (`changed`, `overage`, `seed`,
 * the averager's `bin`), rows/s over the last interval, and where the stream furthest behind
 * stands (source-local time and zone, lag, ETA from its pace over the last interval). One line
 * when every stream is caught up, with the totals. Once live, each write has its own info line
 * (the worker's), so no write goes unaccounted at info, and log volume stays bounded by time,
 * not by rows or writes.
 */
export class CatchUpProgress implements StreamObserver {
  private streams = new Map<StreamWorker, StreamProgress>();
  /** Some stream is catching up. */
  private busy = false;
  private since = 0;
  private lineAt = 0;
  private rows = 0;
  private lineRows = 0;
  private writes = 0;
  private reasons = new Map<string, number>();

  constructor(
    private readonly logger: Logger,
    private readonly clock: Clock,
    private readonly everyMs = 10_000,
  ) {}

  /** A run's streams: each catching up until its first step reads to the end of its source. */
  start(workers: readonly StreamWorker[]): void {
    this.streams = new Map(workers.map((worker) => [worker, { worker, live: false }]));
    this.begin();
  }

  /**
   * A stream joins the streams counted, without restarting the count of the others (several
   * regimes in one process build their streams at different times): catching up until its
   * first step reads to the end of its source.
   */
  join(worker: StreamWorker): void {
    this.streams.set(worker, { worker, live: false });
    if (!this.busy) this.begin();
  }

  /** A stream that stopped (failed) leaves: the others' catch-up ends without it. */
  leave(worker: StreamWorker): void {
    this.streams.delete(worker);
  }

  propagation(worker: StreamWorker, reason: string): void {
    const s = this.streams.get(worker);
    // a live stream's writes have their own lines
    if (!this.busy || (s && s.live)) return;
    this.writes++;
    this.reasons.set(reason, (this.reasons.get(reason) ?? 0) + 1);
  }

  step(worker: StreamWorker, step: StepResult, lagMs: number | undefined): void {
    let s = this.streams.get(worker);
    if (!s) {
      s = { worker, live: false };
      this.streams.set(worker, s);
    }
    const live = step.caughtUp || step.finished;
    if (!this.busy && !live) this.begin();
    s.live = live;
    s.lagMs = lagMs;
    if (!this.busy) return;
    this.rows += step.rowsRead;
    const now = this.clock.now();
    if (!s.paceFrom) s.paceFrom = paceFrom(worker, now);
    if ([...this.streams.values()].every((p) => p.live)) {
      this.caughtUp(now);
      return;
    }
    if (now - this.lineAt >= this.everyMs) this.progressLine(now);
  }

  /** Starts counting a catch-up. */
  private begin(): void {
    const now = this.clock.now();
    this.busy = true;
    this.since = this.lineAt = now;
    this.rows = this.lineRows = this.writes = 0;
    this.reasons = new Map();
    for (const s of this.streams.values()) s.paceFrom = undefined;
  }

  private writesText(): string {
    return `${this.writes} ${this.writes === 1 ? 'write' : 'writes'}${this.writes ? ` (${reasonsText(this.reasons)})` : ''}`;
  }

  private counts(): Record<string, unknown> {
    return { rows: this.rows, writes: this.writes, reasons: Object.fromEntries(this.reasons) };
  }

  private progressLine(now: number): void {
    const elapsed = now - this.lineAt;
    const rate = Math.round(((this.rows - this.lineRows) * 1000) / elapsed);
    const all = [...this.streams.values()];
    const behind = all.filter((s) => !s.live);
    // ETA per stream from its pace since its first step or the last line (source time covered
    // per wall ms); the process is done when its slowest stream is
    let etaMs: number | undefined = 0;
    for (const s of behind) {
      const at = cursorMs(s.worker);
      const from = s.paceFrom;
      if (s.lagMs === 0) continue;
      if (at === undefined || !from || at <= from.cursorMs || now <= from.at || s.lagMs === undefined) {
        etaMs = undefined;
        break;
      }
      etaMs = Math.max(etaMs, s.lagMs / ((at - from.cursorMs) / (now - from.at)));
    }
    const furthest = behind.reduce((a, b) => ((b.lagMs ?? 0) > (a.lagMs ?? 0) ? b : a), behind[0]);
    const w = furthest.worker;
    const where = `${w.stream.table} at ${w.cursor} ${w.timezone}, lag ${furthest.lagMs === undefined ? '?' : humanSpan(furthest.lagMs)}`;
    const streams = all.length > 1 ? `${behind.length} of ${all.length} streams behind, furthest ` : '';
    this.logger.log('info', `catch-up: ${this.rows} rows read, ${rate} rows/s, ${this.writesText()}; ${streams}${where}, ETA ${etaMs === undefined ? '?' : humanSpan(etaMs)}`, {
      event: 'catch-up',
      ...this.counts(),
      rows_per_s: rate,
      streams_behind: behind.length,
      streams: all.length,
      stream: w.stream.table,
      at: w.cursor,
      zone: w.timezone,
      lag_s: furthest.lagMs === undefined ? undefined : Math.round(furthest.lagMs / 1000),
      eta_s: etaMs === undefined ? undefined : Math.round(etaMs / 1000),
    });
    this.lineAt = now;
    this.lineRows = this.rows;
    for (const s of all) s.paceFrom = paceFrom(s.worker, now);
  }

  private caughtUp(now: number): void {
    const all = [...this.streams.values()];
    const only = all.length === 1 ? all[0].worker : undefined;
    const where = only ? `${only.stream.table} at ${only.cursor} ${only.timezone}` : `${all.length} streams`;
    this.logger.log('info', `caught up: ${this.rows} rows read, ${this.writesText()} in ${humanSpan(now - this.since)}; ${where}`, {
      event: 'caught-up',
      ...this.counts(),
      seconds: Math.round((now - this.since) / 1000),
      streams: all.length,
      stream: only?.stream.table,
      at: only?.cursor,
      zone: only?.timezone,
    });
    this.busy = false;
  }
}

/** Where a stream stands, in naive local ms (undefined before it has a position). */
function cursorMs(worker: StreamWorker): number | undefined {
  return worker.cursor ? naiveMs(worker.cursor) : undefined;
}

/** A stream's position now, as the start of its pace. */
function paceFrom(worker: StreamWorker, now: number): { cursorMs: number; at: number } | undefined {
  const at = cursorMs(worker);
  return at === undefined ? undefined : { cursorMs: at, at: now };
}
