import Database from 'better-sqlite3';
import type { AggregateDecl, AggregateFunction } from '../../engine/config/regime';
import { Aggregator, aggregateColumns } from '../../engine/aggregate/aggregator';
import { compileFilter } from '../../engine/aggregate/row-filter';
import type { SourceRow } from '../../engine/source/source-row';
import { randomRows } from '../scraper/random-rows';
import { expectClose, referenceAggregates } from './reference-aggregates';

const ALL: AggregateFunction[] = ['avg', 'min', 'max', 'std', 'stddev_samp', 'variance', 'var_samp', 'sum', 'count', 'first', 'last'];

function decl(over: Partial<AggregateDecl> = {}): AggregateDecl {
  return { functions: ALL, count: 'count', skips: ['id', 'date_time'], filter: [], none: null, ...over };
}

describe('Aggregator', () => {
  it('matches SQL (SQLite) for sum, avg, min, max and count, with NULLs and DECIMAL text', () => {
    const rows = randomRows(7, 2000);
    const sqlite = new Database(':memory:');
    try {
      sqlite.exec('CREATE TABLE t (id INTEGER, date_time TEXT, a REAL, b REAL, q INTEGER)');
      const ins = sqlite.prepare('INSERT INTO t VALUES (?, ?, ?, ?, ?)');
      for (const r of rows) ins.run(r.id, r.date_time, r.a === null ? null : Number(r.a), r.b as number | null, r.q as number);
      const sql = sqlite
        .prepare('SELECT COUNT(*) AS count, SUM(a) AS a_sum, AVG(a) AS a_avg, MIN(a) AS a_min, MAX(a) AS a_max, COUNT(a) AS a_count, SUM(b) AS b_sum, AVG(b) AS b_avg, MIN(b) AS b_min, MAX(b) AS b_max, COUNT(b) AS b_count FROM t WHERE q = 1')
        .get() as Record<string, number>;
      const agg = new Aggregator(['a', 'b'], decl({ functions: ['sum', 'avg', 'min', 'max', 'count'], filter: [{ column: 'q', op: '=', value: 1 }] }));
      for (const r of rows) agg.add(r);
      expectClose(agg.result(), sql, 'sqlite');
      expect(sql.count).toBeGreaterThan(1000);
    } finally {
      sqlite.close();
    }
  });

  it('matches a two-pass computation for every function, including population and sample deviations', () => {
    const rows = randomRows(11, 1500);
    const agg = new Aggregator(['a', 'b', 'q'], decl());
    for (const r of rows) agg.add(r);
    expectClose(agg.result(), referenceAggregates(rows, ['a', 'b', 'q'], ALL), 'two-pass');
  });

  it('is stable for large values with a tiny spread (Welford, not sum of squares)', () => {
    const rows: SourceRow[] = [1e9 + 4, 1e9 + 7, 1e9 + 13, 1e9 + 16].map((a, i) => ({ id: i + 1, date_time: `2011-02-01 00:00:0${i}`, a }));
    const agg = new Aggregator(['a'], decl({ functions: ['variance', 'var_samp'] }));
    for (const r of rows) agg.add(r);
    // by hand: mean 1e9+10, deviations -6,-3,3,6 → squares 36+9+9+36 = 90
    expect(agg.result()).toEqual({ a_variance: 22.5, a_var_samp: 30, count: 4 });
  });

  it('merging equals adding the same rows in order', () => {
    const rows = randomRows(3, 400);
    const whole = new Aggregator(['a', 'b'], decl({ functions: [...ALL, 'twavg'] }));
    for (const r of rows) whole.add(r);
    const left = whole.spawn();
    const right = whole.spawn();
    rows.slice(0, 150).forEach((r) => left.add(r));
    rows.slice(150).forEach((r) => right.add(r));
    left.merge(right);
    const end = rows[rows.length - 1].date_time;
    expectClose(left.result(end), whole.result(end), 'merge');
    const copy = whole.spawn();
    copy.merge(right);
    const direct = whole.spawn();
    rows.slice(150).forEach((r) => direct.add(r));
    expect(copy.result(end)).toEqual(direct.result(end)); // into an empty one: an exact copy
  });

  it('zero rows gives `none` for every aggregate and count 0; all-NULL columns give SQL NULLs', () => {
    const empty = new Aggregator(['a'], decl({ functions: ['avg', 'count', 'twavg'], none: -1 }));
    expect(empty.result('2011-02-01 00:00:00')).toEqual({ a_avg: -1, a_count: -1, a_twavg: -1, count: 0 });
    const filtered = new Aggregator(['a'], decl({ functions: ['avg'], filter: [{ column: 'q', op: '=', value: 1 }] }));
    filtered.add({ id: 1, date_time: '2011-02-01 00:00:00', a: 5, q: 0 });
    expect(filtered.result()).toEqual({ a_avg: null, count: 0 });
    const nulls = new Aggregator(['a'], decl({ functions: ['avg', 'count', 'std', 'stddev_samp', 'first'], none: -1 }));
    nulls.add({ id: 1, date_time: '2011-02-01 00:00:00', a: null });
    nulls.add({ id: 2, date_time: '2011-02-01 00:00:01', a: null });
    expect(nulls.result()).toEqual({ a_avg: null, a_count: 0, a_std: null, a_stddev_samp: null, a_first: null, count: 2 });
    const one = new Aggregator(['a'], decl({ functions: ['std', 'variance', 'stddev_samp', 'var_samp'] }));
    one.add({ id: 1, date_time: '2011-02-01 00:00:00', a: '2.50' });
    expect(one.result()).toEqual({ a_std: 0, a_variance: 0, a_stddev_samp: null, a_var_samp: null, count: 1 });
  });

  it('twavg holds each value until the next non-NULL one and the last until the end time', () => {
    const agg = new Aggregator(['a'], decl({ functions: ['twavg', 'avg'] }));
    agg.add({ id: 1, date_time: '2011-02-01 00:00:00', a: 1 });
    agg.add({ id: 2, date_time: '2011-02-01 00:00:10', a: 3 });
    agg.add({ id: 3, date_time: '2011-02-01 00:00:40', a: null });
    agg.add({ id: 4, date_time: '2011-02-01 00:00:50', a: 2 });
    // by hand: 1×10 s + 3×40 s + 2×10 s = 150 over 60 s
    expect(agg.result('2011-02-01 00:01:00').a_twavg).toBeCloseTo(2.5, 12);
    // no end time: the last value has no weight: (10 + 120) / 50
    expect(agg.result().a_twavg).toBeCloseTo(2.6, 12);
    const single = new Aggregator(['a'], decl({ functions: ['twavg'] }));
    single.add({ id: 1, date_time: '2011-02-01 00:00:00', a: 4 });
    single.add({ id: 2, date_time: '2011-02-01 00:00:00', a: 6 });
    expect(single.result('2011-02-01 00:00:00').a_twavg).toBe(5); // zero weight → plain avg
  });

  it('filters like SQL: NULL fails comparisons, passes only `is null`', () => {
    const rows: SourceRow[] = [
      { id: 1, date_time: 'x', q: 1 },
      { id: 2, date_time: 'x', q: 0 },
      { id: 3, date_time: 'x', q: null },
      { id: 4, date_time: 'x', q: '2.0' },
    ];
    const pass = (f: Parameters<typeof compileFilter>[0]) => rows.filter(compileFilter(f)).map((r) => r.id);
    expect(pass([{ column: 'q', op: '=', value: 1 }])).toEqual([1]);
    expect(pass([{ column: 'q', op: '!=', value: 1 }])).toEqual([2, 4]);
    expect(pass([{ column: 'q', op: '>=', value: 1 }])).toEqual([1, 4]);
    expect(pass([{ column: 'q', op: '<', value: 1 }])).toEqual([2]);
    expect(pass([{ column: 'q', op: 'in', value: [0, 2] }])).toEqual([2, 4]);
    expect(pass([{ column: 'q', op: 'not in', value: [0, 2] }])).toEqual([1]);
    expect(pass([{ column: 'q', op: 'is null' }])).toEqual([3]);
    expect(pass([{ column: 'q', op: 'is not null' }, { column: 'q', op: '<=', value: 1 }])).toEqual([1, 2]);
    expect(pass([{ column: 'q', op: '=', value: true }])).toEqual([1]);
  });

  it('aggregates every numeric column not skipped', () => {
    const cols = aggregateColumns(['id', 'date_time', 'a', 'label', 'b'], { id: 1, date_time: 'x', a: '1.5', label: 'on', b: null }, { skips: ['id', 'date_time'] });
    expect(cols).toEqual(['a', 'b']);
  });
});
