/**
 * How much a source column moves from one reading to the next, measured on recent rows, and the
 * change rule `scrape new` proposes from it: a threshold above the reading noise, or `equal: true`
 * for a status-like integer.
 */

/** What recent rows show of one numeric column. */
export interface ColumnSpread {
  /** Non-NULL values read. */
  values: number;
  /** Successive differences (pairs of consecutive rows both non-NULL). */
  differences: number;
  distinct: number;
  /** Most common value (the first of equals), undefined without values. */
  mode?: number;
  median?: number;
  /** Robust noise of one reading: 1.4826 × the median |successive difference| / √2 (the differences of a steady reading centre on 0). */
  noise: number;
  /** Smallest non-zero |difference| (0 when none). */
  smallestStep: number;
  /** Standard deviation of the successive differences. */
  differenceStd: number;
}

/** A proposed change rule for a column, with the words saying how it was derived. */
export interface RuleProposal {
  kind: 'threshold' | 'equal';
  threshold?: number;
  /** How the proposal was derived, for the comment beside it. */
  how: string;
  /** True when a person must decide (no data, a constant column). */
  todo: boolean;
}

/** Median of a non-empty list. */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** The spread of one column over rows in time order (NULL as null). */
export function columnSpread(series: ReadonlyArray<number | null>): ColumnSpread {
  const values = series.filter((v): v is number => v !== null && Number.isFinite(v));
  const diffs: number[] = [];
  for (let i = 1; i < series.length; i++) {
    const a = series[i - 1];
    const b = series[i];
    if (a !== null && b !== null && Number.isFinite(a) && Number.isFinite(b)) diffs.push(b - a);
  }
  const counts = new Map<number, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  let mode: number | undefined;
  for (const [v, n] of counts) if (mode === undefined || n > counts.get(mode)!) mode = v;
  let noise = 0;
  let differenceStd = 0;
  let smallestStep = 0;
  if (diffs.length) {
    noise = (1.4826 * median(diffs.map(Math.abs))) / Math.SQRT2;
    const mean = diffs.reduce((s, d) => s + d, 0) / diffs.length;
    differenceStd = Math.sqrt(diffs.reduce((s, d) => s + (d - mean) ** 2, 0) / diffs.length);
    const steps = diffs.map(Math.abs).filter((d) => d > 1e-12);
    smallestStep = steps.length ? Math.min(...steps) : 0;
  }
  return { values: values.length, differences: diffs.length, distinct: counts.size, mode, median: values.length ? median(values) : undefined, noise, smallestStep, differenceStd };
}

/** The smallest of 1, 2, 5 × 10^k at or above `x` (> 0). */
export function niceUp(x: number): number {
  const k = Math.floor(Math.log10(x));
  for (const m of [1, 2, 5, 10]) {
    const v = Number((m * 10 ** k).toPrecision(12));
    if (v >= x * (1 - 1e-9)) return v;
  }
  return Number((10 ** (k + 1)).toPrecision(12));
}

/** The largest of 1, 2, 5 × 10^k at or below `x` (> 0). */
export function niceDown(x: number): number {
  const k = Math.floor(Math.log10(x));
  for (const m of [5, 2, 1]) {
    const v = Number((m * 10 ** k).toPrecision(12));
    if (v <= x * (1 + 1e-9)) return v;
  }
  return Number((10 ** (k - 1) * 5).toPrecision(12));
}

/** A number as the YAML and comments show it (no float noise). */
export function shortNumber(x: number): string {
  return String(Number(x.toPrecision(4)));
}

/** How many of the noise the threshold is: a reading must move by more than this to count. */
export const NOISE_FACTOR = 5;
/** Integer columns with at most this many distinct values over the rows read are status-like. */
export const STATUS_DISTINCT = 4;

/**
 * The change rule proposed for a column from its spread. Status-like integers (an integer type
 * and at most `STATUS_DISTINCT` distinct values, or a name saying status/power/flag with no rows)
 * get `equal: true`. Other columns get `NOISE_FACTOR` × the robust noise of one reading, rounded
 * up to 1, 2 or 5 × 10^k and never below `resolution` (the smallest step the type stores); a
 * column that only ever steps (noise 0) gets half its smallest step rounded down, so every step
 * propagates; a constant column or one without rows gets a placeholder a person must decide.
 */
export function proposeRule(spread: ColumnSpread, column: { integer: boolean; name: string; resolution: number }, rows: number): RuleProposal {
  const statusName = /status|state|flag|mode|(^|_)pw(_|$)|power(?!supply)|onoff|enable/i.test(column.name) && !/temperature|voltage|current/i.test(column.name);
  if (column.integer && spread.values > 0 && spread.distinct <= STATUS_DISTINCT) {
    return { kind: 'equal', how: `integer with ${spread.distinct} distinct value${spread.distinct === 1 ? '' : 's'} in the last ${rows} rows: a status, any change counts`, todo: false };
  }
  if (column.integer && spread.values === 0 && statusName) {
    return { kind: 'equal', how: 'integer named like a status (no rows to look at): any change counts', todo: true };
  }
  if (spread.values === 0) {
    const placeholder = column.integer ? 1 : niceUp(Math.max(column.resolution * 10, 1e-6));
    return { kind: 'threshold', threshold: placeholder, how: 'no rows to derive a threshold from: a placeholder', todo: true };
  }
  if (spread.noise > 0) {
    const t = Math.max(niceUp(NOISE_FACTOR * spread.noise), column.resolution);
    return {
      kind: 'threshold',
      threshold: t,
      how: `${NOISE_FACTOR} x reading noise ${shortNumber(spread.noise)} (1.4826 x median |difference| / sqrt 2 over ${spread.differences} successive differences in the last ${rows} rows), rounded up`,
      todo: false,
    };
  }
  if (spread.smallestStep > 0) {
    const t = niceDown(spread.smallestStep / 2);
    return { kind: 'threshold', threshold: t, how: `no noise, steps only (smallest ${shortNumber(spread.smallestStep)} in the last ${rows} rows): half of it, so every step counts`, todo: false };
  }
  const level = Math.abs(spread.mode ?? 0);
  const t = niceUp(Math.max(level * 0.01, column.resolution, 1e-6));
  return { kind: 'threshold', threshold: t, how: `constant (${shortNumber(spread.mode ?? 0)}) over the last ${rows} rows: a placeholder, 1 % of its value`, todo: true };
}
