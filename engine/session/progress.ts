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

/** `1.2M`, `85 000`, `512`: a count for people. */
export function humanCount(n: number): string {
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)}M`;
  return Math.round(n).toLocaleString('en-US').replace(/,/g, ' ');
}

interface StreamProgress {
  rows: number;
  lineAt: number;
  lineRows: number;
  lineCursorMs?: number;
  catchingUp: boolean;
  startedAt: number;
  startRows: number;
}

/**
 * Catch-up feedback (issue 5 item 7): while a stream is more than `behindHeartbeats` heartbeats
 * behind its source, an info line every `everyMs` (wall time) with rows read, rows/s, where the
 * stream is (source-local), its lag and an ETA from the pace of the last interval; one line when
 * it has caught up. Silent in steady state, so log volume stays bounded.
 */
export class CatchUpProgress implements StreamObserver {
  private readonly streams = new Map<StreamWorker, StreamProgress>();

  constructor(
    private readonly logger: Logger,
    private readonly clock: Clock,
    private readonly heartbeatMs: number,
    private readonly everyMs = 10_000,
    private readonly behindHeartbeats = 3,
  ) {}

  step(worker: StreamWorker, step: StepResult, lagMs: number | undefined): void {
    const now = this.clock.now();
    let p = this.streams.get(worker);
    if (!p) {
      p = { rows: 0, lineAt: now, lineRows: 0, catchingUp: false, startedAt: now, startRows: 0 };
      this.streams.set(worker, p);
    }
    p.rows += step.rowsRead;
    const table = worker.stream.table;
    const cursor = worker.cursor;
    const behind = lagMs !== undefined && lagMs > this.behindHeartbeats * this.heartbeatMs && !step.caughtUp;
    if (behind && !p.catchingUp) {
      p.catchingUp = true;
      p.startedAt = p.lineAt = now;
      p.startRows = p.rows - step.rowsRead;
      p.lineRows = p.rows;
      p.lineCursorMs = cursor ? naiveMs(cursor) : undefined;
    }
    if (!p.catchingUp) return;
    if (!behind) {
      p.catchingUp = false;
      this.logger.log('info', `caught up ${table}: ${humanCount(p.rows - p.startRows)} rows in ${humanSpan(now - p.startedAt)}, at ${cursor}`, { stream: table });
      return;
    }
    if (now - p.lineAt < this.everyMs) return;
    const elapsed = now - p.lineAt;
    const rate = ((p.rows - p.lineRows) * 1000) / elapsed;
    const cursorMs = cursor ? naiveMs(cursor) : undefined;
    let eta = '?';
    if (cursorMs !== undefined && p.lineCursorMs !== undefined && cursorMs > p.lineCursorMs) {
      // Source time covered per wall ms over the last interval.
      const pace = (cursorMs - p.lineCursorMs) / elapsed;
      eta = humanSpan(lagMs! / pace);
    }
    this.logger.log('info', `catch-up ${table}: ${humanCount(p.rows - p.startRows)} rows, ${humanCount(rate)} rows/s, at ${cursor}, lag ${humanSpan(lagMs!)}, ETA ${eta}`, { stream: table });
    p.lineAt = now;
    p.lineRows = p.rows;
    p.lineCursorMs = cursorMs;
  }
}
