import { compileMapping } from '../../engine/transform/mapping';
import { compileUnpivotPlan } from '../../engine/transform/unpivot-plan';
import type { SourceRow } from '../../engine/source/source-row';
import { pmtColumns } from './pmt-columns';

const PMTHV = { pattern: '^L(?<ladder>\\d)C(?<col>\\d)R(?<ring>\\d)$', values: { voltage: '{column}', pw: 'pw_{column}' } };

function pmtRow(id: number, volt: (i: number) => unknown): SourceRow {
  const row: SourceRow = { id, date_time: '2011-02-01 00:01:00' };
  pmtColumns().slice(2, 194).forEach((c, i) => {
    row[c] = volt(i);
    row[`pw_${c}`] = i % 2;
  });
  return row;
}

describe('compileMapping', () => {
  it('one row in spec order from first/last/agg/ctx, trivial paths and JSONata alike', async () => {
    const m = compileMapping(
      { Temp_PT1_avg: 'agg.T1_avg', Temp_PT1: 'last.T1', delta: 'last.T1 - first.T1', site: 'ctx.site', missing: 'last.nope', count: 'agg.count' },
      ['Temp_PT1', 'Temp_PT1_avg', 'delta', 'count', 'site', 'missing', 'unmapped'],
    );
    expect(m.attributes).toEqual(['Temp_PT1', 'Temp_PT1_avg', 'delta', 'count', 'site', 'missing']);
    const rows = await m.evaluate({ first: { id: 1, date_time: 'x', T1: 20 }, last: { id: 2, date_time: 'y', T1: 21.5 }, agg: { T1_avg: 20.7, count: 5 }, ctx: { site: 'DBNS' } });
    expect(rows).toEqual([{ Temp_PT1: 21.5, Temp_PT1_avg: 20.7, delta: 1.5, count: 5, site: 'DBNS', missing: null }]);
    expect(Object.keys(rows[0])).toEqual(m.attributes);
  });

  it('trivial paths never reach inherited properties', async () => {
    const m = compileMapping({ a: 'last.constructor', b: 'last.toString' }, ['a', 'b']);
    expect(await m.evaluate({ first: { id: 1, date_time: 'x' }, last: { id: 1, date_time: 'x' }, ctx: {} })).toEqual([{ a: null, b: null }]);
  });

  it('one row per unpivot cell with the cell fields bound at top level', async () => {
    const cols = pmtColumns();
    const plan = compileUnpivotPlan(cols, PMTHV);
    const m = compileMapping({ ladder: 'ladder', col: 'col', ring: 'ring', voltage: 'voltage', pw: 'pw' }, ['ladder', 'col', 'ring', 'voltage', 'pw']);
    const last = pmtRow(13, (i) => (1500 + i / 10).toFixed(2));
    const rows = await m.evaluate({ first: pmtRow(6, () => '0.00'), last, ctx: {} }, plan);
    expect(rows).toHaveLength(192);
    expect(rows[0]).toEqual({ ladder: 1, col: 1, ring: 1, voltage: '1500.00', pw: 0 });
    expect(rows[191]).toEqual({ ladder: 8, col: 3, ring: 8, voltage: '1519.10', pw: 1 });
    // the same through JSONata (non-trivial expressions) gives the same rows
    const viaJsonata = compileMapping({ ladder: '$number(ladder)', col: 'col + 0', ring: '(ring)', voltage: '$string(voltage)', pw: '$lookup(last, "pw_" & column)' }, ['ladder', 'col', 'ring', 'voltage', 'pw']);
    expect(await viaJsonata.evaluate({ first: last, last, ctx: {} }, plan)).toEqual(rows);
  });

  it('check() names every missing column, field or aggregate', () => {
    const plan = compileUnpivotPlan(pmtColumns(), PMTHV);
    const ok = compileMapping({ voltage: 'voltage', ladder: 'ladder', d: 'last.L1C1R1 - first.L1C1R1' }, ['voltage', 'ladder', 'd']);
    expect(() => ok.check({ columns: pmtColumns(), plan })).not.toThrow();
    const bad = compileMapping({ v: 'volts', x: 'last.L9C9R9', y: '$round(first.HV_1, 1)', z: 'agg.foo_avg' }, ['v', 'x', 'y', 'z']);
    let message = '';
    try {
      bad.check({ columns: pmtColumns(), plan, aggKeys: ['count'] });
    } catch (e) {
      expect((e as { code: string }).code).toBe('REGIME_COLUMN');
      message = (e as Error).message;
    }
    for (const name of ['volts', 'L9C9R9', 'HV_1', 'foo_avg']) expect(message).toContain(name);
  });

  it('rejects attributes not in the spec and bad JSONata', () => {
    expect(() => compileMapping({ Temp_PT9: 'last.x' }, ['Temp_PT1'])).toThrow(expect.objectContaining({ code: 'REGIME_MAPPING' }));
    expect(() => compileMapping({ a: 'last.(' }, ['a'])).toThrow(expect.objectContaining({ code: 'REGIME_JSONATA', message: expect.stringContaining('map.a') }));
  });

  it('is fast for trivial unpivoted mappings (192 cells × 5 attributes): no JSONata per cell', async () => {
    const plan = compileUnpivotPlan(pmtColumns(), PMTHV);
    const attributes = ['ladder', 'col', 'ring', 'voltage', 'pw'];
    const m = compileMapping(Object.fromEntries(attributes.map((a) => [a, a])), attributes);
    // The reference on this machine: the same values through JSONata (parentheses make the
    // expressions non-trivial), i.e. what every cell would cost without the property-access path.
    const viaJsonata = compileMapping(Object.fromEntries(attributes.map((a) => [a, `(${a})`])), attributes);
    const last = pmtRow(13, (i) => 1500 + i);
    const b = { first: last, last, ctx: {} };
    expect(await m.evaluate(b, plan)).toEqual(await viaJsonata.evaluate(b, plan));
    const perPropagation = async (mapping: typeof m, n: number) => {
      for (let i = 0; i < Math.min(n, 20); i++) await mapping.evaluate(b, plan); // warm-up
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < n; i++) await mapping.evaluate(b, plan);
      return Number(process.hrtime.bigint() - t0) / 1000 / n;
    };
    const usPer = await perPropagation(m, 500);
    const referenceUs = await perPropagation(viaJsonata, 20);
    // eslint-disable-next-line no-console
    console.log(`mapping 192 cells × 5 attributes: ${usPer.toFixed(1)} µs per propagation (${referenceUs.toFixed(0)} µs through JSONata)`);
    expect(usPer).toBeLessThan(referenceUs / 10);
  });
});
