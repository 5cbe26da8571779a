import { TimeBins, chunkLine, ctimeText, timedeltaText } from '../../engine/averager/time-bins';

const ms = (text: string) => Date.parse(text.replace(' ', 'T') + 'Z');
const text = (t: number) => new Date(t).toISOString().slice(0, 19).replace('T', ' ');

describe('TimeBins', () => {
  it('hourly bins start on the local hour', () => {
    const bins = new TimeBins(3_600_000);
    expect(text(bins.start(ms('2012-02-29 15:59:59')))).toBe('2012-02-29 15:00:00');
    expect(text(bins.start(ms('2012-02-29 16:00:00')))).toBe('2012-02-29 16:00:00');
    expect(text(bins.end(ms('2012-02-29 23:00:00')))).toBe('2012-03-01 00:00:00');
    expect(text(bins.ceil(ms('2012-02-29 15:00:01')))).toBe('2012-02-29 16:00:00');
    expect(text(bins.ceil(ms('2012-02-29 15:00:00')))).toBe('2012-02-29 15:00:00');
  });

  it('bins that do not divide the day restart at midnight, the last one shorter', () => {
    const bins = new TimeBins(7 * 3_600_000);
    expect(text(bins.start(ms('2012-03-01 06:59:59')))).toBe('2012-03-01 00:00:00');
    expect(text(bins.start(ms('2012-03-01 22:00:00')))).toBe('2012-03-01 21:00:00');
    expect(text(bins.end(ms('2012-03-01 21:00:00')))).toBe('2012-03-02 00:00:00');
    expect(text(bins.start(ms('2012-03-02 00:30:00')))).toBe('2012-03-02 00:00:00');
  });

  it('bins of a day or more are counted from the epoch midnight', () => {
    const day = new TimeBins(86_400_000);
    expect(text(day.start(ms('2012-03-01 13:00:00')))).toBe('2012-03-01 00:00:00');
    const twoDays = new TimeBins(2 * 86_400_000);
    // 1970-01-01 + 2 d × k: 2012-03-01 is day 15400 (even), so 2012-03-02 belongs to its bin.
    expect(text(twoDays.start(ms('2012-03-02 13:00:00')))).toBe('2012-03-01 00:00:00');
    expect(text(twoDays.end(ms('2012-03-01 00:00:00')))).toBe('2012-03-03 00:00:00');
  });

  it('refuses a width that is not positive', () => {
    expect(() => new TimeBins(0)).toThrow(/positive/);
  });
});

describe('manual log format', () => {
  it('prints times like Python ctime and spans like timedelta', () => {
    expect(ctimeText(ms('2012-02-29 15:00:00'))).toBe('Wed Feb 29 15:00:00 2012');
    expect(ctimeText(ms('2012-03-01 00:00:00'))).toBe('Thu Mar  1 00:00:00 2012');
    expect(timedeltaText(9 * 3_600_000)).toBe('9:00:00');
    expect(timedeltaText(86_400_000)).toBe('1 day, 0:00:00');
    expect(timedeltaText(2 * 86_400_000 + 61_000)).toBe('2 days, 0:01:01');
  });

  it('reproduces the manual catch-up lines', () => {
    expect(chunkLine(0, ms('2012-02-29 15:00:00'), ms('2012-03-01 00:00:00'))).toBe("[0  ] ['Wed Feb 29 15:00:00 2012', 'Thu Mar  1 00:00:00 2012'] 9:00:00");
    expect(chunkLine(1, ms('2012-03-01 00:00:00'), ms('2012-03-01 11:00:00'))).toBe("[1  ] ['Thu Mar  1 00:00:00 2012', 'Thu Mar  1 11:00:00 2012'] 11:00:00");
  });
});
