/** Inputs of the sleep tuning; all durations in milliseconds. */
export interface SleepTuneInput {
  /** Latest source `date_time` minus the stream's tcursor (the largest over all streams); NaN when unknown. */
  lagMs: number;
  /** Approximate updating period of the raw source tables (`heartbeat`). */
  heartbeatMs: number;
  /** The sampling `offset`: one sample takes `offset + 1` new entries. */
  offset: number;
  /** The sleep in force now (kept, clamped, when the lag is unknown). */
  currentMs: number;
}

/** Lag, in effective heartbeats, from which the scraper no longer sleeps at all. */
export const FAR_BEHIND_BEATS = 10;

/**
 * The sleep between scraper loops, tuned from the lag (docs/design.md §4.8, the manual's "Catchup
 * and Sleep Auto-Tuning"). The lag is counted in effective heartbeats `beats = lag /
 * (heartbeat × (offset + 1))`, the DB time one sample needs:
 * - `beats <= 1` (caught up: at most one sample's worth of new rows) → `heartbeat`;
 * - `beats >= FAR_BEHIND_BEATS` (10; far behind, catching up) → 0;
 * - in between → `heartbeat × (FAR − beats) / (FAR − 1)`, falling linearly from `heartbeat` to 0,
 *   so a scraper a few beats behind naps briefly instead of a full heartbeat;
 * - unknown lag (NaN) → the current sleep, clamped to `[0, heartbeat]`.
 * The result is a whole number of milliseconds (rounded down) in `[0, heartbeat]`. Sleeping changes only when
 * rows are written, never which.
 */
export function tuneSleep(input: SleepTuneInput): number {
  const heartbeat = Math.max(0, input.heartbeatMs);
  if (!(input.lagMs === input.lagMs)) return Math.round(Math.min(heartbeat, Math.max(0, input.currentMs)));
  const effective = heartbeat * (Math.max(0, input.offset) + 1);
  if (effective === 0) return 0;
  const beats = input.lagMs / effective;
  if (beats <= 1) return heartbeat;
  if (beats >= FAR_BEHIND_BEATS) return 0;
  return Math.floor((heartbeat * (FAR_BEHIND_BEATS - beats)) / (FAR_BEHIND_BEATS - 1));
}
