import type { AggregateDecl, AggregateFunction } from '../../engine/config/regime';
import { naiveMs } from '../../engine/core/time';
import { Aggregator } from '../../engine/aggregate/aggregator';
import { compileChangeRules } from '../../engine/scraper/change-rules';
import { SourceVector, formatSvLine, type Sample, type SourceVectorSettings } from '../../engine/scraper/source-vector';
import type { SourceRow } from '../../engine/source/source-row';
import { prng, randomRows, regularRows } from './random-rows';
import { expectClose, referenceAggregates } from '../aggregate/reference-aggregates';

const never = () => false;

function run(rows: SourceRow[], settings: SourceVectorSettings, maxSamples = Infinity): Sample[] {
  const sv = new SourceVector(settings);
  const out: Sample[] = [];
  for (const r of rows) {
    const s = sv.push(r);
    if (s) out.push(s);
    if (sv.samples >= maxSamples) break;
  }
  return out;
}

const ids = (samples: Sample[]) => samples.map((s) => [s.first.id, s.last?.id ?? null, s.decision]);

describe('SourceVector: the manual\'s log', () => {
  // The manual's faker writes date_time = 2011-02-01 00:00:00 + id × 10 s (ids start at 1, so id 1
  // is at 00:00:10 and id 6 at 00:01:00): the first sample (6,) is at the range start 00:01:00 the
  // seed validity [00:00:00, 00:01:00) leaves, and (6, 13) spans 00:01:00 → 00:02:10 as printed.
  const MANUAL = `
SV 1   (6,)     2011-02-01 00:01:00 partial    notfull    (00:01:00 ++)  ==>
SV 2   (6, 7)   2011-02-01 00:01:00 full       unchanged  (00:01:00 00:01:10)  ==>
SV 3   (6, 8)   2011-02-01 00:01:00 full       unchanged  (00:01:00 00:01:20)  ==>
SV 4   (6, 9)   2011-02-01 00:01:00 full       unchanged  (00:01:00 00:01:30)  ==>
SV 5   (6, 10)  2011-02-01 00:01:00 full       unchanged  (00:01:00 00:01:40)  ==>
SV 6   (6, 11)  2011-02-01 00:01:00 full       unchanged  (00:01:00 00:01:50)  ==>
SV 7   (6, 12)  2011-02-01 00:01:00 full       unchanged  (00:01:00 00:02:00)  ==>
SV 8   (6, 13)  2011-02-01 00:01:00 full       overage    (00:01:00 00:02:10)  ==> PROCEED
SV 9   (13, 14) 2011-02-01 00:02:20 full       unchanged  (00:02:10 00:02:20)  ==>
SV 10  (13, 15) 2011-02-01 00:02:20 full       unchanged  (00:02:10 00:02:30)  ==>
SV 11  (13, 16) 2011-02-01 00:02:20 full       unchanged  (00:02:10 00:02:40)  ==>
SV 12  (13, 17) 2011-02-01 00:02:20 full       unchanged  (00:02:10 00:02:50)  ==>
SV 13  (13, 18) 2011-02-01 00:02:20 full       unchanged  (00:02:10 00:03:00)  ==>
SV 14  (13, 19) 2011-02-01 00:02:20 full       unchanged  (00:02:10 00:03:10)  ==>
SV 15  (13, 20) 2011-02-01 00:02:20 full       overage    (00:02:10 00:03:20)  ==> PROCEED
SV 16  (20, 21) 2011-02-01 00:03:30 full       unchanged  (00:03:20 00:03:30)  ==>
SV 17  (20, 22) 2011-02-01 00:03:30 full       unchanged  (00:03:20 00:03:40)  ==>
SV 18  (20, 23) 2011-02-01 00:03:30 full       unchanged  (00:03:20 00:03:50)  ==>
SV 19  (20, 24) 2011-02-01 00:03:30 full       unchanged  (00:03:20 00:04:00)  ==>
SV 20  (20, 25) 2011-02-01 00:03:30 full       unchanged  (00:03:20 00:04:10)  ==>
SV 21  (20, 26) 2011-02-01 00:03:30 full       unchanged  (00:03:20 00:04:20)  ==>
SV 22  (20, 27) 2011-02-01 00:03:30 full       overage    (00:03:20 00:04:30)  ==> PROCEED
SV 23  (27, 28) 2011-02-01 00:04:40 full       unchanged  (00:04:30 00:04:40)  ==>
SV 24  (27, 29) 2011-02-01 00:04:40 full       unchanged  (00:04:30 00:04:50)  ==>`
    .trim()
    .split('\n');

  it('prints the manual\'s lines, column for column', () => {
    const rows = regularRows(60, () => ({ DBNS_SAB_Temp_PT1: '12.50', DBNS_SAB_Temp_PT2: 7 }));
    const rules = compileChangeRules([{ columns: '^DBNS_SAB_Temp_PT\\d$', threshold: 1.0, null_is_change: false }], Object.keys(rows[0]), 1.0);
    const fed = rows.filter((r) => r.date_time >= '2011-02-01 00:01:00');
    expect(fed[0].id).toBe(6);
    const samples = run(fed, { intervalMs: 10_000, offset: 0, maxageMs: 60_000, changed: rules.test, logCursor: '2011-02-01 00:01:00' }, 24);
    expect(samples.map((s) => formatSvLine(s))).toEqual(MANUAL);
  });
});

describe('SourceVector sampling', () => {
  it('skips `offset` candidates after tcursor (worked by hand)', () => {
    // id n at n × 10 s; interval 30 s, offset 2, maxage 1 m.
    // sv0 id1 (00:00:10), tcursor 00:00:40 → candidates 4,5,6 → sample 6 (50 s: unchanged);
    // then 7,8 skipped → 9 (80 s > 60 s: overage). sv0 = 9 (00:01:30), tcursor 00:02:00 →
    // candidates 12,13,14 → 14 (50 s), then 17 (80 s: overage), ...
    const rows = regularRows(30, () => ({}));
    const samples = run(rows, { intervalMs: 30_000, offset: 2, maxageMs: 60_000, changed: never });
    expect(ids(samples).slice(0, 7)).toEqual([
      [1, null, 'notfull'],
      [1, 6, 'unchanged'],
      [1, 9, 'overage'],
      [9, 14, 'unchanged'],
      [9, 17, 'overage'],
      [17, 22, 'unchanged'],
      [17, 25, 'overage'],
    ]);
    expect(samples.map((s) => s.n).slice(0, 3)).toEqual([1, 2, 3]);
  });

  it('a change fires before maxage, and sv[0] becomes the first entry at sv[-1]\'s date_time', () => {
    const t = (s: number) => `2011-02-01 00:00:${String(s).padStart(2, '0')}`;
    // (date_time, id) order: id 3 precedes id 12 at 00:00:20.
    const rows: SourceRow[] = [
      { id: 10, date_time: t(0), a: 10 },
      { id: 11, date_time: t(10), a: 11 },
      { id: 3, date_time: t(20), a: 3 },
      { id: 12, date_time: t(20), a: 12 },
      { id: 7, date_time: t(30), a: 7 },
      { id: 8, date_time: t(40), a: 8 },
      { id: 9, date_time: t(50), a: 9 },
      { id: 1, date_time: t(59), a: 1 },
    ];
    const agg = new Aggregator(['a'], { functions: ['sum', 'first', 'last'], count: 'n', skips: [], filter: [], none: null });
    // offset 2: candidates 11, 3 skipped → 12 sampled; |12 − 10| > 1 → changed.
    const changed = compileChangeRules([{ columns: ['a'], threshold: 1, null_is_change: false }], ['a'], 1).test;
    const samples = run(rows, { intervalMs: 10_000, offset: 2, maxageMs: 3_600_000, changed, aggregator: agg });
    expect(ids(samples)).toEqual([
      [10, null, 'notfull'],
      [10, 12, 'changed'],
      [3, 9, 'changed'], // new sv0 = id 3 (first at 00:00:20); tcursor 00:00:30 → 7, 8 skipped → 9
    ]);
    // aggregates over [00:00:00, 00:00:20) = ids 10, 11 and [00:00:20, 00:00:50) = ids 3, 12, 7, 8
    expect(samples[1].agg).toEqual({ a_sum: 21, a_first: 10, a_last: 11, n: 2 });
    expect(samples[2].agg).toEqual({ a_sum: 30, a_first: 3, a_last: 8, n: 4 });
    // a restart from TIMEEND 00:00:20 (first entry: id 3) gives the same second propagation
    const again = run(rows.slice(2), { intervalMs: 10_000, offset: 2, maxageMs: 3_600_000, changed, aggregator: agg.spawn() });
    expect(ids(again)).toEqual([[3, null, 'notfull'], [3, 9, 'changed']]);
    expect(again[1].agg).toEqual(samples[2].agg);
  });

  it('maxage is strict: exactly maxage old is still unchanged', () => {
    const rows = regularRows(10, () => ({}));
    const samples = run(rows, { intervalMs: 10_000, offset: 0, maxageMs: 30_000, changed: never });
    expect(ids(samples).slice(0, 5)).toEqual([[1, null, 'notfull'], [1, 2, 'unchanged'], [1, 3, 'unchanged'], [1, 4, 'unchanged'], [1, 5, 'overage']]);
  });

  it('refuses rows out of (date_time, id) order and a zero interval', () => {
    const sv = new SourceVector({ intervalMs: 10_000, offset: 0, maxageMs: 60_000, changed: never });
    sv.push({ id: 5, date_time: '2011-02-01 00:00:10' });
    expect(() => sv.push({ id: 4, date_time: '2011-02-01 00:00:10' })).toThrow(expect.objectContaining({ code: 'SOURCE_ORDER' }));
    expect(() => sv.push({ id: 9, date_time: '2011-02-01 00:00:09' })).toThrow(expect.objectContaining({ code: 'SOURCE_ORDER' }));
    expect(() => new SourceVector({ intervalMs: 0, offset: 0, maxageMs: 0, changed: never })).toThrow(expect.objectContaining({ code: 'REGIME_SETTING' }));
  });

  it('consults asynchronous (JSONata when) rules through pushAsync', async () => {
    const rules = compileChangeRules([{ when: 'last.flag != first.flag and ctx.site = "DBNS"', null_is_change: false }], ['flag'], 1);
    expect(rules.asyncTest).toBeDefined();
    const sv = new SourceVector({ intervalMs: 10_000, offset: 0, maxageMs: 3_600_000, changed: rules.test, changedAsync: (f, l) => rules.asyncTest!(f, l, { site: 'DBNS' }) });
    expect(() => sv.push({ id: 1, date_time: '2011-02-01 00:00:10' })).toThrow(expect.objectContaining({ code: 'SOURCE_VECTOR_ASYNC' }));
    const rows = regularRows(5, (id) => ({ flag: id >= 4 ? 1 : 0 }));
    const out: Sample[] = [];
    for (const r of rows) {
      const s = await sv.pushAsync(r);
      if (s) out.push(s);
    }
    expect(ids(out)).toEqual([[1, null, 'notfull'], [1, 2, 'unchanged'], [1, 3, 'unchanged'], [1, 4, 'changed'], [4, 5, 'unchanged']]);
  });
});

describe('SourceVector: restarts give what a continuous run gives', () => {
  const FNS: AggregateFunction[] = ['avg', 'min', 'max', 'std', 'stddev_samp', 'variance', 'var_samp', 'sum', 'count', 'first', 'last', 'twavg'];
  const decl: AggregateDecl = { functions: FNS, count: 'count', skips: ['id', 'date_time'], filter: [{ column: 'q', op: '=', value: 1 }], none: null };
  const cases = [0, 1, 2, 3].flatMap((offset) => [101, 202].map((seed) => [offset, seed] as const));

  it.each(cases)('offset %i, seed %i', (offset, seed) => {
    const rows = randomRows(seed, 3000);
    const rules = compileChangeRules([{ columns: ['a'], threshold: 0.8, null_is_change: false }], ['a', 'b', 'q'], 1);
    const settings = (): SourceVectorSettings => ({ intervalMs: 10_000, offset, maxageMs: 60_000, changed: rules.test, aggregator: new Aggregator(['a', 'b'], decl) });
    const key = (s: Sample) => ({ first: s.first.id, last: s.last!.id, decision: s.decision, agg: s.agg });

    const continuous = run(rows, settings()).filter((s) => s.proceed).map(key);
    expect(continuous.length).toBeGreaterThan(50);
    expect(continuous.some((p) => p.decision === 'changed') && continuous.some((p) => p.decision === 'overage')).toBe(true);

    // restarts at every PROCEED boundary, and at random sample counts (like --maxiter)
    const rnd = prng(seed * 7 + offset);
    for (const mode of ['boundary', 'random'] as const) {
      const pieced: ReturnType<typeof key>[] = [];
      let start = rows[0].date_time; // the range start: the last TIMEEND
      let from = 0;
      for (let guard = 0; guard < 100_000; guard++) {
        while (from < rows.length && rows[from].date_time < start) from++;
        if (from >= rows.length) break;
        const sv = new SourceVector(settings());
        const limit = mode === 'random' ? 1 + Math.floor(rnd() * 40) : Infinity;
        let i = from;
        let stop = false;
        for (; i < rows.length && !stop; i++) {
          const s = sv.push(rows[i]);
          if (s?.proceed) {
            pieced.push(key(s));
            start = s.last!.date_time;
            if (mode === 'boundary') stop = true;
          }
          if (sv.samples >= limit) stop = true;
        }
        if (i >= rows.length && !stop) break; // ran off the end
      }
      expect(pieced).toEqual(continuous);
    }

    // aggregates equal an independent two-pass computation over sv0.t <= t < sv[-1].t
    const byId = new Map(rows.map((r) => [r.id, r]));
    for (const p of continuous.slice(0, 40)) {
      const t0 = byId.get(p.first)!.date_time;
      const t1 = byId.get(p.last)!.date_time;
      const inRange = rows.filter((r) => r.date_time >= t0 && r.date_time < t1 && r.q === 1);
      const expected = referenceAggregates(inRange, ['a', 'b'], FNS.filter((f) => f !== 'twavg'));
      for (const c of ['a', 'b']) expected[`${c}_twavg`] = twavgByHand(inRange, c, t1);
      expectClose(p.agg, expected, `range ${p.first}→${p.last}`);
    }
  });
});

/** Independent twavg: each non-NULL value held until the next non-NULL value, the last until `end`. */
function twavgByHand(rows: SourceRow[], column: string, end: string): number | null {
  const pts = rows.filter((r) => r[column] !== null).map((r) => ({ t: naiveMs(r.date_time), v: Number(r[column]) }));
  if (pts.length === 0) return rows.length === 0 ? null : null;
  let ws = 0;
  let w = 0;
  for (let i = 0; i < pts.length; i++) {
    const until = i + 1 < pts.length ? pts[i + 1].t : naiveMs(end);
    ws += pts[i].v * (until - pts[i].t);
    w += until - pts[i].t;
  }
  return w > 0 ? ws / w : pts.reduce((s, p) => s + p.v, 0) / pts.length;
}
