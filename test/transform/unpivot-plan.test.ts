import type { UnpivotDecl } from '../../engine/config/regime';
import { withSchemaDefaults } from '../../engine/config/regime-defaults';
import { compileUnpivotPlan } from '../../engine/transform/unpivot-plan';
import { pmtColumns } from './pmt-columns';

const PMTHV = { pattern: '^L(?<ladder>\\d)C(?<col>\\d)R(?<ring>\\d)$', values: { voltage: '{column}', pw: 'pw_{column}' } };

describe('compileUnpivotPlan', () => {
  it('makes one cell per matching column, in column order, with numeric captures and value sources', () => {
    const plan = compileUnpivotPlan(pmtColumns(), PMTHV);
    expect(plan.cells).toHaveLength(192);
    expect(plan.cells[0]).toEqual({ column: 'L1C1R1', fields: { ladder: 1, col: 1, ring: 1, column: 'L1C1R1' }, values: { voltage: 'L1C1R1', pw: 'pw_L1C1R1' } });
    expect(plan.cells[191].fields).toEqual({ ladder: 8, col: 3, ring: 8, column: 'L8C3R8' });
    expect(plan.cells[9].column).toBe('L1C2R2'); // 8 rings per column: index 9 = C2 R2
    expect(plan.fixedFields).toEqual(['ladder', 'col', 'ring', 'column']);
    expect(plan.valueFields).toEqual(['voltage', 'pw']);
  });

  it('keeps non-digit captures as text and uses {capture} in templates', () => {
    const plan = compileUnpivotPlan(['id', 'T_PT1', 'T_PT2', 'Q_PT1', 'Q_PT2'], { pattern: '^T_(?<sensor>PT\\d)$', values: { temp: '{column}', quality: 'Q_{sensor}' } });
    expect(plan.cells.map((c) => [c.fields.sensor, c.values.quality])).toEqual([['PT1', 'Q_PT1'], ['PT2', 'Q_PT2']]);
  });

  it('without values, as loaded (schema default), one value field: value = {column}', () => {
    const decl = withSchemaDefaults<UnpivotDecl>('/properties/unpivot', { pattern: '^a(?<n>\\d)$' });
    expect(decl.values).toEqual({ value: '{column}' });
    const plan = compileUnpivotPlan(['a1', 'a2'], decl);
    expect(plan.cells.map((c) => c.values)).toEqual([{ value: 'a1' }, { value: 'a2' }]);
  });

  it('a template naming a missing column is a REGIME_COLUMN error listing it', () => {
    const cols = pmtColumns().filter((c) => c !== 'pw_L3C2R5');
    expect(() => compileUnpivotPlan(cols, PMTHV)).toThrow(expect.objectContaining({ code: 'REGIME_COLUMN', message: expect.stringContaining('pw_L3C2R5') }));
    expect(() => compileUnpivotPlan(['id', 'x'], PMTHV)).toThrow(expect.objectContaining({ code: 'REGIME_COLUMN' }));
    expect(() => compileUnpivotPlan(pmtColumns(), { pattern: PMTHV.pattern, values: { v: '{nope}' } })).toThrow(expect.objectContaining({ code: 'REGIME_UNPIVOT' }));
    expect(() => compileUnpivotPlan(pmtColumns(), { pattern: PMTHV.pattern, values: { last: '{column}' } })).toThrow(expect.objectContaining({ code: 'REGIME_UNPIVOT' }));
  });
});
