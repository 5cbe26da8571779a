import { Clock } from '../core/clock';
import { Logger } from '../core/logger';
import { SourceKey, SourceReader } from '../source/source-reader';

/** Wall-clock time between two counts of a running stream's quarantined rows (a count is two indexed queries). */
export const QUARANTINE_CHECK_MS = 5 * 60_000;

/**
 * Keeps count of a stream's rows dated past its reader's horizon (`scraper.future_limit` ahead of
 * the wall clock): rows the stream does not read until the clock reaches them (one bad clock
 * must not end a validity in 2100 nor make every later row look old). Counted at resume and,
 * while the stream runs, at most once per `everyMs` of wall clock (never per page). A warning
 * names the count and the first row whenever they change (so a row stuck in 2100 is told once,
 * not once per check); an info line when none is left. `onCount` hears every count (a gauge).
 */
export class FutureQuarantine {
  /** Rows past the horizon at the last count. */
  count = 0;
  /** The first of them by `(date_time, id)` at the last count. */
  first?: SourceKey;
  /** Hears each count (metrics). */
  onCount?: (count: number) => void;
  /** What the log lines call the zone of the source-local times (the stream builder sets the regime's `timezone`). */
  zone = 'local';
  private checkedAt = -Infinity;

  constructor(
    private readonly reader: SourceReader,
    private readonly table: string,
    private readonly logger: Logger,
    private readonly clock: Clock,
    /** `future_limit` as the regime says it, for the warning. */
    private readonly limit: string,
    private readonly everyMs = QUARANTINE_CHECK_MS,
  ) {}

  /** Counts the rows past the horizon when a count is due, or now with `force` (at resume). */
  async check(force = false): Promise<void> {
    const now = this.clock.now();
    if (!force && now - this.checkedAt < this.everyMs) return;
    const found = await this.reader.beyondHorizon();
    this.checkedAt = now;
    if (!found) return;
    const before = this.count;
    const changed = found.count !== before || found.first?.id !== this.first?.id || found.first?.date_time !== this.first?.date_time;
    this.count = found.count;
    this.first = found.first;
    if (changed && found.count > 0) {
      const first = found.first ? `; first id ${found.first.id} at ${found.first.date_time}` : '';
      this.logger.log(
        'warn',
        `${this.table}: ${found.count} ${found.count === 1 ? 'entry' : 'entries'} dated more than future_limit ${this.limit} ahead of the wall clock (after ${found.horizon} ${this.zone}) quarantined: not read until the clock reaches them${first}`,
        { stream: this.table, quarantined: found.count, horizon: found.horizon, first_id: found.first?.id, first_time: found.first?.date_time, zone: this.zone },
      );
    } else if (changed && before > 0) {
      this.logger.log('info', `${this.table}: no entry dated after ${found.horizon} ${this.zone} any more: quarantined entries released`, { stream: this.table, quarantined: 0, horizon: found.horizon, zone: this.zone });
    }
    this.onCount?.(found.count);
  }
}
