import { compileChangeRules } from '../../engine/scraper/change-rules';
import type { SourceRow } from '../../engine/source/source-row';

const cols = ['id', 'date_time', 'L1C1R1', 'L1C1R2', 'pw_L1C1R1', 'pw_L1C1R2', 'state'];
const row = (v: Record<string, unknown>): SourceRow => ({ id: 1, date_time: '2011-02-01 00:00:00', L1C1R1: 1500, L1C1R2: '1500.00', pw_L1C1R1: 1, pw_L1C1R2: 1, state: 'on', ...v });

describe('compileChangeRules', () => {
  const rules = compileChangeRules(
    [
      { columns: '^L\\dC\\dR\\d$', threshold: 1.0, null_is_change: false },
      { columns: '^pw_L\\dC\\dR\\d$', equal: true, null_is_change: false },
    ],
    cols,
    1.0,
  );

  it('threshold: |Δ| strictly above the threshold, DECIMAL text converted', () => {
    expect(rules.test(row({}), row({ L1C1R2: '1501.00' }))).toBe(false); // exactly 1.0
    expect(rules.test(row({}), row({ L1C1R2: '1501.01' }))).toBe(true);
    expect(rules.test(row({}), row({ L1C1R1: 1498.9 }))).toBe(true);
    expect(rules.watched).toEqual([['L1C1R1', 'L1C1R2'], ['pw_L1C1R1', 'pw_L1C1R2']]);
  });

  it('equal: any difference, numerically when both numeric', () => {
    expect(rules.test(row({}), row({ pw_L1C1R2: '1' }))).toBe(false);
    expect(rules.test(row({}), row({ pw_L1C1R2: 0 }))).toBe(true);
  });

  it('NULL against a value is no change unless null_is_change', () => {
    expect(rules.test(row({}), row({ L1C1R1: null, pw_L1C1R1: null }))).toBe(false);
    expect(rules.test(row({ L1C1R1: null }), row({}))).toBe(false);
    const strict = compileChangeRules([{ columns: ['L1C1R1'], threshold: 5, null_is_change: true }], cols, 1);
    expect(strict.test(row({}), row({ L1C1R1: null }))).toBe(true);
    expect(strict.test(row({ L1C1R1: null }), row({ L1C1R1: null }))).toBe(false);
    const eq = compileChangeRules([{ columns: ['state'], equal: true, null_is_change: true }], cols, 1);
    expect(eq.test(row({}), row({ state: 'off' }))).toBe(true);
    expect(eq.test(row({}), row({ state: null }))).toBe(true);
  });

  it('uses the default threshold when a rule gives none', () => {
    const r = compileChangeRules([{ columns: ['L1C1R1'], null_is_change: false }], cols, 10);
    expect(r.test(row({}), row({ L1C1R1: 1509 }))).toBe(false);
    expect(r.test(row({}), row({ L1C1R1: 1511 }))).toBe(true);
  });

  it('a selector matching no column is a REGIME_COLUMN error naming it', () => {
    expect(() => compileChangeRules([{ columns: '^HV_\\d+$', threshold: 1, null_is_change: false }], cols, 1)).toThrow(expect.objectContaining({ code: 'REGIME_COLUMN', message: expect.stringContaining('^HV_\\d+$') }));
    expect(() => compileChangeRules([{ columns: ['L1C1R1', 'L9C9R9'], threshold: 1, null_is_change: false }], cols, 1)).toThrow(expect.objectContaining({ code: 'REGIME_COLUMN', message: expect.stringContaining("'L9C9R9'") }));
  });

  it('when: a JSONata predicate over first, last and ctx, kept off the synchronous path', async () => {
    const r = compileChangeRules([{ when: 'last.state != first.state or ctx.force = true', null_is_change: false }], cols, 1);
    expect(r.test(row({}), row({ state: 'off' }))).toBe(false);
    expect(await r.asyncTest!(row({}), row({ state: 'off' }), {})).toBe(true);
    expect(await r.asyncTest!(row({}), row({}), {})).toBe(false);
    expect(await r.asyncTest!(row({}), row({}), { force: true })).toBe(true);
    expect(() => compileChangeRules([{ when: 'last.(', null_is_change: false }], cols, 1)).toThrow(expect.objectContaining({ code: 'REGIME_JSONATA' }));
  });

  it('no rules: never changed (only maxage propagates)', () => {
    const r = compileChangeRules([], cols, 1);
    expect(r.test(row({}), row({ L1C1R1: 0 }))).toBe(false);
    expect(r.asyncTest).toBeUndefined();
  });

  it('wide rules (unrolled, by name and over arrays) decide every awkward pair as the rule says', () => {
    const wideCols = ['id', 'date_time', ...Array.from({ length: 20 }, (_, i) => `c${i}`)];
    const wide = compileChangeRules([{ columns: '^c\\d+$', threshold: 1.0, null_is_change: false }], wideCols, 1.0);
    const byIndex = wide.forArrays((c) => wideCols.indexOf(c));
    // [sv[0] value, sv[-1] value, changed?] by hand, threshold 1.0, NULL no change
    const pairs: [unknown, unknown, boolean][] = [
      [1500, 1501, false], [1500, 1501.01, true], [1500, 1498.9, true], [-2, -1, false], [-2, -3.5, true],
      [NaN, NaN, false], [NaN, 5, true], [5, NaN, true],
      [Infinity, Infinity, false], [Infinity, 5, true], [-Infinity, Infinity, true],
      [null, 5, false], [5, undefined, false], [null, null, false],
      ['1500.00', 1500.5, false], ['1500.00', 1502, true], ['abc', 'abc', false], ['abc', 'abd', true],
    ];
    for (const [a, b, changed] of pairs) {
      const values = (v: unknown) => wideCols.map((c) => (c === 'c17' ? v : c === 'date_time' ? '2011-02-01 00:00:00' : 0));
      const obj = (v: unknown) => Object.fromEntries(wideCols.map((c, i) => [c, values(v)[i]])) as SourceRow;
      const arr = (v: unknown) => values(v) as unknown as SourceRow;
      expect({ a, b, byName: wide.test(obj(a), obj(b)), byIndex: byIndex(arr(a), arr(b)) }).toEqual({ a, b, byName: changed, byIndex: changed });
    }
  });

  it('suppression: per threshold column, what the deadband suppressed in a range, packed and written as parallel arrays', () => {
    // threshold columns L1C1R1, L1C1R2 (the `equal` rule's pw_ columns are not counted)
    const tracker = rules.suppression()!;
    expect(tracker.result()).toBeUndefined();
    const sv0 = row({ L1C1R1: 1500, L1C1R2: '1500.00' });
    tracker.add(sv0, row({ L1C1R1: 1500.5, L1C1R2: null }));
    tracker.add(sv0, row({ L1C1R1: 1499.25, L1C1R2: null }));
    tracker.add(sv0, row({ L1C1R1: 1500.75, L1C1R2: null }));
    const packed = tracker.result()!;
    // by hand: L1C1R1 saw 1500.5, 1499.25, 1500.75 against 1500 (largest |Δ| 0.75); L1C1R2 only NULLs: left out
    expect(JSON.parse(JSON.stringify(packed))).toEqual({ columns: ['L1C1R1'], n: [3], maxdev: [0.75], min: [1499.25], max: [1500.75] });
    expect(packed.values).toHaveLength(8); // (n, maxdev, min, max) × 2 columns, one array
    // a new range starts from nothing; the result taken before is not changed by it
    tracker.reset();
    expect(tracker.result()).toBeUndefined();
    tracker.add(sv0, row({ L1C1R1: 1500.25, L1C1R2: '1500.5' }));
    expect(JSON.parse(JSON.stringify(tracker.result()))).toEqual({ columns: ['L1C1R1', 'L1C1R2'], n: [1, 1], maxdev: [0.25, 0.5], min: [1500.25, 1500.5], max: [1500.25, 1500.5] });
    expect(JSON.parse(JSON.stringify(packed))).toEqual({ columns: ['L1C1R1'], n: [3], maxdev: [0.75], min: [1499.25], max: [1500.75] });
    // over arrays, by index: the same figures
    const byIndex = rules.suppression((c) => cols.indexOf(c))!;
    const arr = (r: SourceRow) => cols.map((c) => (r as unknown as Record<string, unknown>)[c]) as unknown as SourceRow;
    byIndex.add(arr(sv0), arr(row({ L1C1R1: 1500.5, L1C1R2: null })));
    byIndex.add(arr(sv0), arr(row({ L1C1R1: 1499.25, L1C1R2: null })));
    byIndex.add(arr(sv0), arr(row({ L1C1R1: 1500.75, L1C1R2: null })));
    expect(JSON.stringify(byIndex.result())).toBe(JSON.stringify(packed));
  });
});
