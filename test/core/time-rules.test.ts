import { localToUtc, localToUtcDetail, naiveMs, naiveText, observesDaylightSaving, utcToLocal } from '../../engine/core/time';

/**
 * The time rules (docs/design.md §4.9–4.10), expectations derived by hand from the zones' rules:
 * Europe/Zurich is UTC+1 (CET) / UTC+2 (CEST), switching at 01:00 UTC (2011-03-27 02:00 local
 * skips to 03:00; 2011-10-30 03:00 local goes back to 02:00); America/New_York is UTC−5 (EST) /
 * UTC−4 (EDT), switching at 02:00 local (2011-03-13 02:00 skips to 03:00, i.e. 07:00 UTC;
 * 2011-11-06 02:00 EDT goes back to 01:00 EST, i.e. 06:00 UTC).
 */
describe('localToUtc: ambiguous and nonexistent local times', () => {
  const cases: [string, string, string, boolean][] = [
    // zone, local, UTC, gap
    ['Europe/Zurich', '2011-10-30 01:59:59', '2011-10-29 23:59:59', false],
    // repeated hour: first occurrence (CEST, +2) is the earlier instant
    ['Europe/Zurich', '2011-10-30 02:00:00', '2011-10-30 00:00:00', false],
    ['Europe/Zurich', '2011-10-30 02:30:00', '2011-10-30 00:30:00', false],
    ['Europe/Zurich', '2011-10-30 02:59:59', '2011-10-30 00:59:59', false],
    ['Europe/Zurich', '2011-10-30 03:00:00', '2011-10-30 02:00:00', false],
    ['Europe/Zurich', '2011-03-27 01:59:59', '2011-03-27 00:59:59', false],
    // skipped hour: the transition instant, 01:00 UTC
    ['Europe/Zurich', '2011-03-27 02:00:00', '2011-03-27 01:00:00', true],
    ['Europe/Zurich', '2011-03-27 02:30:00', '2011-03-27 01:00:00', true],
    ['Europe/Zurich', '2011-03-27 02:59:59', '2011-03-27 01:00:00', true],
    ['Europe/Zurich', '2011-03-27 03:00:00', '2011-03-27 01:00:00', false],
    ['Europe/Zurich', '2011-03-27 03:00:01', '2011-03-27 01:00:01', false],
    ['America/New_York', '2011-11-06 00:59:59', '2011-11-06 04:59:59', false],
    // repeated hour: first occurrence (EDT, −4) is the earlier instant
    ['America/New_York', '2011-11-06 01:00:00', '2011-11-06 05:00:00', false],
    ['America/New_York', '2011-11-06 01:30:00', '2011-11-06 05:30:00', false],
    ['America/New_York', '2011-11-06 01:59:59', '2011-11-06 05:59:59', false],
    ['America/New_York', '2011-11-06 02:00:00', '2011-11-06 07:00:00', false],
    ['America/New_York', '2011-03-13 01:59:59', '2011-03-13 06:59:59', false],
    ['America/New_York', '2011-03-13 02:00:00', '2011-03-13 07:00:00', true],
    ['America/New_York', '2011-03-13 02:30:00', '2011-03-13 07:00:00', true],
    ['America/New_York', '2011-03-13 03:00:00', '2011-03-13 07:00:00', false],
    ['Asia/Shanghai', '2011-10-30 02:30:00', '2011-10-29 18:30:00', false],
    ['Etc/GMT-8', '2011-03-13 02:30:00', '2011-03-12 18:30:00', false],
  ];
  test.each(cases)('%s %s is %s UTC (gap %s)', (zone, local, utc, gap) => {
    expect(localToUtcDetail(local, zone)).toEqual({ utc, gap });
    expect(localToUtc(local, zone)).toBe(utc);
  });

  const days: [string, string][] = [
    ['Europe/Zurich', '2011-10-30'],
    ['Europe/Zurich', '2011-03-27'],
    ['America/New_York', '2011-11-06'],
    ['America/New_York', '2011-03-13'],
  ];
  test.each(days)('%s %s: non-decreasing minute by minute, gaps only in the skipped hour, other times round-trip', (zone, day) => {
    const start = naiveMs(`${day} 00:00:00`) - 3_600_000;
    let previous = -Infinity;
    let gaps = 0;
    for (let t = start; t <= start + 26 * 3_600_000; t += 60_000) {
      const local = naiveText(t);
      const { utc, gap } = localToUtcDetail(local, zone);
      const ms = naiveMs(utc);
      expect(ms).toBeGreaterThanOrEqual(previous);
      previous = ms;
      if (gap) gaps++;
      else expect(utcToLocal(utc, zone)).toBe(local);
    }
    // a skipped hour on the spring days, none in the fall
    expect(gaps).toBe(day.endsWith('-03-27') || day.endsWith('-03-13') ? 60 : 0);
  });
});

describe('observesDaylightSaving', () => {
  const july2024 = Date.UTC(2024, 6, 1);
  test.each([
    ['Europe/Zurich', true],
    ['America/New_York', true],
    ['Asia/Shanghai', false],
    ['Etc/GMT-8', false],
    ['UTC', false],
  ])('%s: %s', (zone, expected) => {
    expect(observesDaylightSaving(zone as string, july2024)).toBe(expected);
  });
});
