import { Clock } from '../core/clock';
import { parseDuration, utcNowText, utcToLocal } from '../core/time';
import { Regime } from '../config/regime';

/**
 * The latest source-local `date_time` a stream may read at wall-clock `nowMs`: now plus
 * `limitMs`, in `timezone`, whole seconds. A row dated after it was written by a clock that is
 * wrong (or by hand): read, it would be sampled, end a validity in the future and make every
 * later row look old, so it is quarantined until the wall clock comes within `limitMs` of it.
 */
export function futureHorizon(nowMs: number, limitMs: number, timezone: string): string {
  return utcToLocal(utcNowText(nowMs + limitMs), timezone);
}

/**
 * The horizon of a regime's stream as time goes on (`scraper.future_limit`, in the stream's zone:
 * `SourceStream.zone`, by default the regime's), for `SourceReaderOptions.horizon`.
 */
export function regimeHorizon(regime: Regime, clock: Clock, zone: string = regime.timezone): () => string {
  const limitMs = parseDuration(regime.scraper.future_limit);
  return () => futureHorizon(clock.now(), limitMs, zone);
}
