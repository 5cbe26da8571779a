import { TimeBins, chunkLine, spanText } from '../../engine/averager/time-bins';

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

describe('averager log lines', () => {
  it('prints spans in whole hours, minutes and seconds', () => {
    expect(spanText(86_400_000)).toBe('24 h');
    expect(spanText(9 * 3_600_000)).toBe('9 h');
    expect(spanText(2 * 86_400_000 + 61_000)).toBe('48 h 1 min 1 s');
    expect(spanText(90 * 60_000)).toBe('1 h 30 min');
    expect(spanText(45_000)).toBe('45 s');
    expect(spanText(0)).toBe('0 s');
  });

  it('prints a chunk as plain local times with their zone, its span and counts', () => {
    expect(chunkLine('AD1_LidSensor', 0, ms('2012-02-29 15:00:00'), ms('2012-03-01 00:00:00'), 'Asia/Shanghai', 9, 3240)).toBe(
      'AD1_LidSensor chunk 0: 2012-02-29 15:00:00 .. 2012-03-01 00:00:00 Asia/Shanghai (9 h), 9 validities from 3240 rows',
    );
    expect(chunkLine('AD1_LidSensor', 1, ms('2012-02-01 00:00:00'), ms('2012-02-02 00:00:00'), 'Etc/GMT-8', 1, 1)).toBe(
      'AD1_LidSensor chunk 1: 2012-02-01 00:00:00 .. 2012-02-02 00:00:00 Etc/GMT-8 (24 h), 1 validity from 1 row',
    );
  });
});
