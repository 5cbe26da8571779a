import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { checkRegimeFile } from '../../engine/config/load-regime';

/** The diagnostics of a regime text checked against the project's specs. */
function check(text: string): Array<[string, number | undefined, string | undefined, string]> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'scrape-quirk-validate-'));
  const file = path.join(dir, 'q.yaml');
  fs.writeFileSync(file, text);
  try {
    return checkRegimeFile(file, { cwd: dir }).diagnostics.map((d) => [d.code, d.line, d.path, d.message]);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const regime = (table: string) => `name: q
tables:
${table}
context:
  sitemask: { capture: site, map: { DBNS: 1 } }
  subsite: { capture: detector, map: { AD1: 1 } }
targets:
  - spec: GDcsPmtImon
    map: { slot: '1', channel: '1', current: last.x }
`;

describe('validate checks the naming-quirk declarations', () => {
  it('a clean succession and candidate join list validate', () => {
    expect(check(regime(`  - pattern: '^(?<site>DBNS)_(?<detector>AD1)_HV_Vmon$'
    succession: ['{site}_{detector}_HV']
    join:
      - table: ['{site}_{detector}_HV_Pw', '{site}_{detector}_HVPw']
        prefix: pw_`))).toEqual([]);
  });

  it('a capture the pattern lacks, in a succession name or a join candidate, is REGIME_CAPTURE where it is written', () => {
    expect(check(regime(`  - pattern: '^(?<site>DBNS)_(?<detector>AD1)_HV_Vmon$'
    succession: ['{site}_{detektor}_HV']
    join:
      - table: ['{site}_{detector}_HV_Pw', '{sight}_{detector}_HVPw']
        prefix: pw_`))).toEqual([
      ['REGIME_CAPTURE', 4, 'tables[0].succession[0]', '`{detektor}` is not a named capture of tables[0].pattern (did you mean `detector`?) (captures: site, detector)'],
      ['REGIME_CAPTURE', 6, 'tables[0].join[0].table[1]', '`{sight}` is not a named capture of tables[0].pattern (captures: site, detector)'],
    ]);
  });

  it('a column name with a dot is a column name; one with a space is not', () => {
    const out = check(regime(`  - pattern: '^(?<site>DBNS)_(?<detector>AD1)_HV_Imon$'`).replace('targets:', "changes:\n  - columns: ['DBNS_AD_HV.Slot0.I0', 'DBNS AD']\ntargets:"));
    expect(out.map((d) => [d[0], d[2]])).toEqual([['REGIME_SCHEMA', 'changes[0].columns[1]']]);
  });
});

describe('DBI names stay plain identifiers', () => {
  it('a spec table or column with a dot is a SPEC_PARSE error (only source columns may hold dots)', async () => {
    const { parseSpec } = await import('../../engine/spec/spec-table');
    const spec = (table: string, column: string) => `table | meta | legacy | CanL2Cache | class\n${table} | 1 | x | kFALSE | GX\n;\nname | dbtype | codetype | description\n${column} | int | int | a`;
    expect(parseSpec(spec('DcsFoo', 'a')).table).toBe('DcsFoo');
    expect(() => parseSpec(spec('Dcs.Foo', 'a'))).toThrow(expect.objectContaining({ code: 'SPEC_PARSE', message: expect.stringMatching(/bad table name 'Dcs\.Foo'/) }));
    expect(() => parseSpec(spec('DcsFoo', 'a.b'))).toThrow(expect.objectContaining({ code: 'SPEC_PARSE', message: expect.stringMatching(/bad column name 'a\.b'/) }));
  });
});
