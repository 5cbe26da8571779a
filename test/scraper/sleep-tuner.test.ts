import { tuneSleep } from '../../engine/scraper/sleep-tuner';

describe('tuneSleep', () => {
  const base = { heartbeatMs: 3000, offset: 0, currentMs: 3000 };

  it('caught up (at most one effective heartbeat behind) sleeps a heartbeat', () => {
    expect(tuneSleep({ ...base, lagMs: 0 })).toBe(3000);
    expect(tuneSleep({ ...base, lagMs: -5000 })).toBe(3000);
    expect(tuneSleep({ ...base, lagMs: 3000 })).toBe(3000);
  });

  it('far behind (10 effective heartbeats or more) does not sleep', () => {
    expect(tuneSleep({ ...base, lagMs: 30_000 })).toBe(0);
    expect(tuneSleep({ ...base, lagMs: 9 * 60_000 })).toBe(0); // the manual's "9 minutes behind"
  });

  it('a few heartbeats behind sleeps less than a heartbeat, falling linearly', () => {
    // 4 beats behind: 3000 × (10 − 4) / 9 = 2000
    expect(tuneSleep({ ...base, lagMs: 12_000 })).toBe(2000);
    // 7 beats: 3000 × 3 / 9 = 1000
    expect(tuneSleep({ ...base, lagMs: 21_000 })).toBe(1000);
    const sleeps = [3001, 6000, 15_000, 24_000, 29_999].map((lagMs) => tuneSleep({ ...base, lagMs }));
    for (let i = 1; i < sleeps.length; i++) expect(sleeps[i]).toBeLessThan(sleeps[i - 1]);
    for (const s of sleeps) expect(s >= 0 && s < 3000).toBe(true);
  });

  it('counts the lag in effective heartbeats heartbeat × (offset + 1)', () => {
    // offset 3: an effective beat is 12 s, so 12 s behind is caught up and 48 s is 4 beats
    expect(tuneSleep({ ...base, offset: 3, lagMs: 12_000 })).toBe(3000);
    expect(tuneSleep({ ...base, offset: 3, lagMs: 48_000 })).toBe(2000);
    expect(tuneSleep({ ...base, offset: 3, lagMs: 120_000 })).toBe(0);
  });

  it('an unknown lag keeps the current sleep within [0, heartbeat]', () => {
    expect(tuneSleep({ ...base, lagMs: NaN, currentMs: 1200 })).toBe(1200);
    expect(tuneSleep({ ...base, lagMs: NaN, currentMs: 99_000 })).toBe(3000);
    expect(tuneSleep({ ...base, lagMs: NaN, currentMs: -4 })).toBe(0);
  });
});
