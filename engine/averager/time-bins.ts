import { ScrapeError } from '../core/errors';

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

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

function two(n: number): string {
  return String(n).padStart(2, '0');
}

/** Naive time as Python's `ctime()` shows it (`Thu Mar  1 00:00:00 2012`), as the old averager logged. */
export function ctimeText(t: number): string {
  const d = new Date(t);
  const hms = `${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())}`;
  return `${DAYS[d.getUTCDay()]} ${MONTHS[d.getUTCMonth()]} ${String(d.getUTCDate()).padStart(2, ' ')} ${hms} ${d.getUTCFullYear()}`;
}

/** A span as Python's `str(timedelta)` shows it: `9:00:00`, `1 day, 0:00:00`, `2 days, 3:00:00`. */
export function timedeltaText(ms: number): string {
  const total = Math.round(ms / 1000);
  const days = Math.floor(total / 86_400);
  const rest = total - days * 86_400;
  const hms = `${Math.floor(rest / 3600)}:${two(Math.floor((rest % 3600) / 60))}:${two(rest % 60)}`;
  return days ? `${days} day${days === 1 ? '' : 's'}, ${hms}` : hms;
}

/** The manual's per-chunk line: `[0  ] ['Wed Feb 29 15:00:00 2012', 'Thu Mar  1 00:00:00 2012'] 9:00:00`. */
export function chunkLine(index: number, start: number, end: number): string {
  return `[${String(index).padEnd(3)}] ['${ctimeText(start)}', '${ctimeText(end)}'] ${timedeltaText(end - start)}`;
}
