import { ScrapeError } from '../core/errors';
import { naiveText } from '../core/time';

/** One day in milliseconds. */
export const DAY_MS = 86_400_000;

/**
 * A grid of DB-time bins over naive local milliseconds (source-local wall clock read as if UTC,
 * see `config/time.ts`). Bins up to a day long start at local midnight and repeat through the
 * day (a width that does not divide the day leaves a shorter last bin before midnight, so every
 * day has the same bins); wider bins are counted from the epoch's midnight. Bin membership
 * depends only on a row's `date_time`, which is what lets catch-up chunks and appended runs
 * meet without seams.
 */
export class TimeBins {
  constructor(readonly widthMs: number) {
    if (!Number.isFinite(widthMs) || widthMs <= 0) throw new ScrapeError('AVERAGER_BIN', `bin width must be positive, got ${widthMs} ms`);
  }

  /** Start of the bin holding naive time `t`. */
  start(t: number): number {
    if (this.widthMs >= DAY_MS) return Math.floor(t / this.widthMs) * this.widthMs;
    const day = Math.floor(t / DAY_MS) * DAY_MS;
    return day + Math.floor((t - day) / this.widthMs) * this.widthMs;
  }

  /** End (exclusive) of the bin that starts at `start`. */
  end(start: number): number {
    if (this.widthMs >= DAY_MS) return start + this.widthMs;
    const midnight = Math.floor(start / DAY_MS) * DAY_MS + DAY_MS;
    return Math.min(start + this.widthMs, midnight);
  }

  /** The first bin boundary at or after `t`. */
  ceil(t: number): number {
    const s = this.start(t);
    return s === t ? t : this.end(s);
  }
}

/**
 * A span in whole hours, minutes and seconds, largest first, zero parts left out: `24 h`,
 * `9 h`, `1 h 30 min`, `45 s`, `0 s`.
 */
export function spanText(ms: number): string {
  const total = Math.round(ms / 1000);
  const parts: string[] = [];
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  if (h) parts.push(`${h} h`);
  if (m) parts.push(`${m} min`);
  if (s || parts.length === 0) parts.push(`${s} s`);
  return parts.join(' ');
}

/**
 * The averager's line for one chunk it read:
 * `AD1_LidSensor chunk 0: 2012-02-01 00:00:00 .. 2012-02-02 00:00:00 Asia/Shanghai (24 h), 24 validities from 8640 rows`
 * (`start`, `end`: naive local ms; the range is source-local time in `zone`).
 */
export function chunkLine(table: string, index: number, start: number, end: number, zone: string, validities: number, rows: number): string {
  return `${table} chunk ${index}: ${naiveText(start)} .. ${naiveText(end)} ${zone} (${spanText(end - start)}), ${validities} ${validities === 1 ? 'validity' : 'validities'} from ${rows} ${rows === 1 ? 'row' : 'rows'}`;
}
