import { renderTable } from '../../engine/cli/query';

describe('scrape query tables', () => {
  it('a narrow payload prints as an aligned table', () => {
    const out = renderTable([{ ROW_COUNTER: 1, Temp_PT1: 18.5 }, { ROW_COUNTER: 2, Temp_PT1: null }], ['ROW_COUNTER', 'Temp_PT1']);
    expect(out).toBe('ROW_COUNTER  Temp_PT1\n1            18.5\n2            NULL\n');
  });

  it("a payload wider than 240 characters prints a column per line, as mysql \\G does", () => {
    // 30 columns of 9-character names: 30 × 9 + 29 × 2 = 328 characters across (more than 240)
    const columns = Array.from({ length: 30 }, (_, i) => `Column_${String(i).padStart(2, '0')}`);
    const row = Object.fromEntries(columns.map((c, i) => [c, i]));
    const out = renderTable([row, { ...row, Column_00: null }], columns);
    const lines = out.trimEnd().split('\n');
    expect(lines).toHaveLength(2 * 31);
    expect(lines[0]).toBe('*** row 1 ***');
    expect(lines[1]).toBe('Column_00: 0');
    expect(lines[30]).toBe('Column_29: 29');
    expect(lines[31]).toBe('*** row 2 ***');
    expect(lines[32]).toBe('Column_00: NULL');
  });
});
