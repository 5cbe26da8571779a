import { DateTime } from 'luxon';
import { ScrapeError } from './errors';

/**
 * Time in the engine. Source `date_time` values are naive local wall-clock text
 * `YYYY-MM-DD HH:MM:SS` ("DB time"); they order correctly as strings and all DB-time arithmetic
 * (tcursor, maxage, bins) is done on them as naive milliseconds. Only at a write does a local time
 * become real UTC, through the regime's time zone.
 */

const DURATION = /^(\d+)([smhd])$/;
const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `10s`, `1m`, `1h`, `1d` to milliseconds. */
export function parseDuration(text: string): number {
  const m = DURATION.exec(String(text).trim());
  if (!m) throw new ScrapeError('BAD_DURATION', `bad duration '${text}': use digits then s, m, h or d (10s, 1m, 1h, 1d)`);
  return Number(m[1]) * UNIT_MS[m[2]];
}

/** Milliseconds as the shortest exact duration text (`90000` → `90s`, `60000` → `1m`). */
export function formatDuration(ms: number): string {
  for (const unit of ['d', 'h', 'm'] as const) if (ms % UNIT_MS[unit] === 0 && ms >= UNIT_MS[unit]) return `${ms / UNIT_MS[unit]}${unit}`;
  return `${Math.round(ms / 1000)}s`;
}

const TEXT = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})/;

/** True for a usable DB time (not a zero date, not malformed). */
export function isValidTimeText(text: unknown): text is string {
  if (typeof text !== 'string') return false;
  const m = TEXT.exec(text);
  return m !== null && m[1] !== '0000' && m[2] !== '00' && m[3] !== '00';
}

/** The day part of the last text `naiveMs` read, and its milliseconds (rows of a day share it). */
let lastDayText = '';
let lastDayMs = NaN;

/** Two ASCII digits at `i` as a number, or -1. */
function two(text: string, i: number): number {
  const a = text.charCodeAt(i) - 48;
  const b = text.charCodeAt(i + 1) - 48;
  return a >= 0 && a <= 9 && b >= 0 && b <= 9 ? a * 10 + b : -1;
}

/**
 * Naive wall-clock text to naive milliseconds (the text read as if it were UTC). NaN when unusable.
 * Runs for every sampled source row: the day part is parsed once per day, the time of day by hand
 * (`Date.UTC(y, m, d, h, mi, s)` is exactly `Date.UTC(y, m, d) + h·3600000 + mi·60000 + s·1000`).
 */
export function naiveMs(text: string): number {
  if (typeof text === 'string' && text.length >= 19 && text.charCodeAt(13) === 58 && text.charCodeAt(16) === 58) {
    const sep = text.charCodeAt(10);
    const h = two(text, 11);
    const mi = two(text, 14);
    const sec = two(text, 17);
    if ((sep === 32 || sep === 84) && h >= 0 && mi >= 0 && sec >= 0) {
      let day: number;
      if (lastDayText.length === 10 && text.startsWith(lastDayText)) day = lastDayMs;
      else {
        const m = TEXT.exec(text);
        if (!m) return NaN;
        day = Date.UTC(+m[1], +m[2] - 1, +m[3]);
        lastDayText = text.slice(0, 10);
        lastDayMs = day;
      }
      return day + h * 3_600_000 + mi * 60_000 + sec * 1000;
    }
  }
  const m = TEXT.exec(text);
  if (!m) return NaN;
  return Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]);
}

function pad(n: number, width = 2): string {
  return String(n).padStart(width, '0');
}

/** Naive milliseconds back to `YYYY-MM-DD HH:MM:SS`. */
export function naiveText(ms: number): string {
  const d = new Date(ms);
  return `${pad(d.getUTCFullYear(), 4)}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
}

/** Adds milliseconds to a naive time text. */
export function addMs(text: string, ms: number): string {
  return naiveText(naiveMs(text) + ms);
}

/** Checks an IANA zone name; returns an error message or undefined. */
export function checkTimeZone(zone: string): string | undefined {
  const probe = DateTime.now().setZone(zone);
  return probe.isValid ? undefined : `unknown time zone '${zone}' (use an IANA name such as Asia/Shanghai or UTC)`;
}

/**
 * A local day's offsets: `before` until the UTC instant `transition` (ms), `after` from it on.
 * A day without a transition nearby has `before === after` (and `transition` NaN).
 */
interface DayOffsets {
  before: number;
  after: number;
  transition: number;
}

/** Per zone, per naive local day number: its offsets (see `dayOffsets`). */
const dayOffsetCache = new Map<string, Map<number, DayOffsets>>();

/** Hours either side of a local day that its instants can lie (offsets are within ±14 h). */
const ZONE_REACH = 15 * 3_600_000;

/** Offset in ms of `zone` at the UTC instant `utc` (ms). */
function offsetAtInstant(zone: string, utc: number): number {
  const dt = DateTime.fromMillis(utc, { zone });
  if (!dt.isValid) throw new ScrapeError('BAD_TIMEZONE', `unknown time zone '${zone}'`);
  return dt.offset * 60_000;
}

/**
 * The offsets around naive local day `day`, cached: a day whose instants (15 h either side of it)
 * all have one offset answers every local time of it with one subtraction; a day near a
 * transition (zones change at most once in such a window) finds the transition instant once,
 * by bisection to the millisecond, and answers from it. Conversions run per validity.
 */
function dayOffsets(zone: string, day: number): DayOffsets {
  let byDay = dayOffsetCache.get(zone);
  if (!byDay) dayOffsetCache.set(zone, (byDay = new Map()));
  let offsets = byDay.get(day);
  if (offsets === undefined) {
    let lo = day * 86_400_000 - ZONE_REACH;
    let hi = (day + 1) * 86_400_000 + ZONE_REACH;
    const before = offsetAtInstant(zone, lo);
    const after = offsetAtInstant(zone, hi);
    if (before === after) offsets = { before, after, transition: NaN };
    else {
      // invariant: offset(lo) = before, offset(hi) = after; ends at hi = lo + 1
      while (hi - lo > 1) {
        const mid = Math.floor((lo + hi) / 2);
        if (offsetAtInstant(zone, mid) === before) lo = mid;
        else hi = mid;
      }
      offsets = { before, after, transition: hi };
    }
    if (byDay.size > 100_000) byDay.clear();
    byDay.set(day, offsets);
  }
  return offsets;
}

/** A local time converted to UTC, and whether it fell in a gap (skipped when clocks went forward). */
export interface UtcConversion {
  /** UTC time text. */
  utc: string;
  /** True when the local time does not exist in the zone: `utc` is then the transition instant. */
  gap: boolean;
}

/** Naive local ms to UTC ms by the rules of `localToUtcDetail`; `gap` set when in a gap. */
function localMsToUtcMs(zone: string, naive: number): { utc: number; gap: boolean } {
  const { before, after, transition } = dayOffsets(zone, Math.floor(naive / 86_400_000));
  if (before === after) return { utc: naive - before, gap: false };
  const early = naive - before; // valid when before the transition
  const late = naive - after; // valid when at or after it
  const earlyValid = early < transition;
  const lateValid = late >= transition;
  if (earlyValid && lateValid) return { utc: Math.min(early, late), gap: false };
  if (earlyValid) return { utc: early, gap: false };
  if (lateValid) return { utc: late, gap: false };
  return { utc: transition, gap: true };
}

/**
 * Source-local time text in `zone` to UTC, telling whether it fell in a gap. The rules
 * (docs/design.md §4.9–4.10) keep conversion non-decreasing in local time, so validities
 * contiguous in local time stay contiguous and ordered in UTC whatever the zone: an ambiguous
 * local time (the hour repeated when clocks go back) is the *earlier* instant, whatever the sign
 * of the zone; a local time that does not exist (the hour skipped when clocks go forward) is the
 * transition instant itself, the first instant after the gap.
 */
export function localToUtcDetail(text: string, zone: string): UtcConversion {
  const { utc, gap } = localMsToUtcMs(zone, naiveMs(text));
  return { utc: naiveText(utc), gap };
}

/** Source-local time text in `zone` to UTC time text (rules: `localToUtcDetail`). */
export function localToUtc(text: string, zone: string): string {
  return naiveText(localMsToUtcMs(zone, naiveMs(text)).utc);
}

/**
 * Source-local time text in `zone` as a real instant, ms since the epoch (rules:
 * `localToUtcDetail`); NaN when the text is no usable time. Staleness: the wall clock minus this.
 */
export function localToEpochMs(text: string, zone: string): number {
  const naive = naiveMs(text);
  return Number.isNaN(naive) ? NaN : localMsToUtcMs(zone, naive).utc;
}

/**
 * True when `zone` changes its offset during the year of `nowMs` (observes daylight saving).
 * DCS clocks usually keep standard time all year: such a zone is most likely a mistake for a
 * fixed one (`Etc/GMT-1` for UTC+1; the sign of `Etc/` names is inverted).
 */
export function observesDaylightSaving(zone: string, nowMs: number = Date.now()): boolean {
  const year = new Date(nowMs).getUTCFullYear();
  const offsets = new Set<number>();
  for (let month = 0; month < 12; month++) offsets.add(offsetAtInstant(zone, Date.UTC(year, month, 1)));
  offsets.add(offsetAtInstant(zone, Date.UTC(year + 1, 0, 1)));
  return offsets.size > 1;
}

/**
 * The fixed `Etc/GMT±h` zone with the standard (smaller) offset of `zone` in the year of `nowMs`,
 * or undefined when that offset is not a whole number of hours (the sign of `Etc/` names is
 * inverted: UTC+1 is `Etc/GMT-1`).
 */
export function fixedZoneFor(zone: string, nowMs: number = Date.now()): string | undefined {
  const year = new Date(nowMs).getUTCFullYear();
  let standard = Infinity;
  for (let month = 0; month < 12; month++) standard = Math.min(standard, offsetAtInstant(zone, Date.UTC(year, month, 1)));
  const hours = standard / 3_600_000;
  if (!Number.isInteger(hours)) return undefined;
  return hours === 0 ? 'Etc/GMT' : `Etc/GMT${hours > 0 ? '-' : '+'}${Math.abs(hours)}`;
}

/** UTC time text to source-local time text in `zone`. */
export function utcToLocal(text: string, zone: string): string {
  const utc = naiveMs(text);
  const local = DateTime.fromMillis(utc, { zone: 'UTC' }).setZone(zone);
  return naiveText(utc + local.offset * 60_000);
}

/** Real UTC now as time text (INSERTDATE). */
export function utcNowText(nowMs: number): string {
  return naiveText(Math.floor(nowMs / 1000) * 1000);
}

/** Accepts `YYYY-MM-DD`, `YYYY-MM-DD HH:MM[:SS]` or ISO `T` forms and returns `YYYY-MM-DD HH:MM:SS`. */
export function normalizeTimeText(text: string): string {
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2})(?::(\d{2}))?)?$/.exec(text.trim());
  if (!m) throw new ScrapeError('BAD_TIME', `bad time '${text}': use YYYY-MM-DD HH:MM:SS`);
  const out = `${m[1]}-${m[2]}-${m[3]} ${m[4] ?? '00'}:${m[5] ?? '00'}:${m[6] ?? '00'}`;
  if (!isValidTimeText(out) || naiveText(naiveMs(out)) !== out) throw new ScrapeError('BAD_TIME', `bad time '${text}'`);
  return out;
}

/**
 * A UTC instant as `YYYY-MM-DD HH:MM:SS`, from what people paste: the forms `normalizeTimeText`
 * takes (read as UTC), or ISO 8601 with a zone designator, `Z` or an offset (`+08:00`, `+0800`,
 * `+08`, `-05:00`), converted to UTC (`2011-02-01T04:00:00+08:00` → `2011-01-31 20:00:00`).
 * A fraction of a second (`.000Z` from `toISOString`) is rounded `down` or `up` to a whole second:
 * DBI times are whole seconds, so "valid at T" needs T rounded down and "inserted before T" up.
 */
export function normalizeUtcTimeText(text: string, round: 'down' | 'up' = 'down'): string {
  const m = /^(\d{4}-\d{2}-\d{2}(?:[ T]\d{2}:\d{2}(?::\d{2})?)?)(?:[.,](\d+))?(Z|[+-]\d{2}(?::?\d{2})?)?$/i.exec(text.trim());
  const usage = `bad time '${text}': use YYYY-MM-DD HH:MM:SS (UTC), or ISO 8601 with Z or an offset (2011-01-31T20:00:00Z, 2011-02-01T04:00:00+08:00)`;
  if (!m || ((m[2] !== undefined || m[3] !== undefined) && !/[ T]\d{2}:\d{2}/.test(m[1])) || (m[2] !== undefined && !/:\d{2}:\d{2}$/.test(m[1]))) {
    throw new ScrapeError('BAD_TIME', usage);
  }
  const base = normalizeTimeText(m[1]);
  let ms = naiveMs(base);
  if (m[2] !== undefined && round === 'up' && /[1-9]/.test(m[2])) ms += 1000;
  const zone = m[3];
  if (zone && zone.toUpperCase() !== 'Z') {
    const z = /^([+-])(\d{2}):?(\d{2})?$/.exec(zone)!;
    const hours = Number(z[2]);
    const minutes = Number(z[3] ?? '0');
    if (hours > 23 || minutes > 59) throw new ScrapeError('BAD_TIME', `bad time '${text}': offset ${zone} is not ±HH:MM`);
    ms -= (z[1] === '-' ? -1 : 1) * (hours * 3_600_000 + minutes * 60_000);
  }
  return naiveText(ms);
}
