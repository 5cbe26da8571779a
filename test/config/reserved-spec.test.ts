import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { checkRegimeFile } from '../../engine/config/load-regime';
import { nondeterministicUses } from '../../engine/config/regime-formats';

/** A spec whose table is `table`, with one attribute `a`. */
function specText(table: string): string {
  return ['table | meta | legacy | CanL2Cache | class', `${table} | 1 | ${table} | kFALSE | G${table}`, ';', 'name | dbtype | codetype | description', 'a | int | int | an int'].join('\n');
}

/** Checks a regime targeting `classes` against a spec folder holding `specs` (class → table). */
function check(specs: Record<string, string>, classes: string[]) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'scrape-reserved-'));
  fs.mkdirSync(path.join(dir, 'spec'));
  for (const [cls, table] of Object.entries(specs)) fs.writeFileSync(path.join(dir, 'spec', `${cls}.spec`), specText(table));
  const lines = ['name: reserved', 'tables:', '  - name: DBNS_SAB_Temp', 'context: { sitemask: 32, subsite: 1 }', 'targets:'];
  for (const c of classes) lines.push(`  - spec: ${c}`, '    map: { a: last.a }');
  const file = path.join(dir, 'r.yaml');
  fs.writeFileSync(file, lines.join('\n') + '\n');
  const result = checkRegimeFile(file, { cwd: dir, specDir: 'spec' });
  fs.rmSync(dir, { recursive: true, force: true });
  return result.diagnostics.map((d) => [d.code, d.line, d.path, d.message]);
}

describe('validate refuses spec tables that are bookkeeping tables', () => {
  it('LOCALSEQNO (any case) and SCRAPE_* on the target spec line', () => {
    expect(check({ GSeq: 'LOCALSEQNO', GLocks: 'SCRAPE_LOCKS', GLower: 'localseqno', GFine: 'DcsFine' }, ['GSeq', 'GLocks', 'GLower', 'GFine'])).toEqual([
      ['SPEC_TABLE_RESERVED', 6, 'targets[0].spec', 'spec GSeq: table name LOCALSEQNO is the shared LOCALSEQNO table of every DBI table; name its table otherwise'],
      ['SPEC_TABLE_RESERVED', 8, 'targets[1].spec', "spec GLocks: table name SCRAPE_LOCKS starts with SCRAPE_, reserved for the engine's bookkeeping tables; name its table otherwise"],
      ['SPEC_TABLE_RESERVED', 10, 'targets[2].spec', 'spec GLower: table name localseqno is the shared LOCALSEQNO table of every DBI table; name its table otherwise'],
    ]);
  });

  it("another target's Vld table", () => {
    expect(check({ GFoo: 'DcsFoo', GFooVld: 'DcsFooVld' }, ['GFoo', 'GFooVld'])).toEqual([
      ['SPEC_TABLE_RESERVED', 8, 'targets[1].spec', 'spec GFooVld: table DcsFooVld is the validity table of GFoo'],
    ]);
    // alone, such a name is no clash
    expect(check({ GFooVld: 'DcsFooVld' }, ['GFooVld'])).toEqual([]);
  });
});

describe('nondeterministicUses', () => {
  it('finds $now, $millis, $random called or passed on, with the index of the $', () => {
    expect(nondeterministicUses('a + $random() + ($f := $now; $f())')).toEqual([{ name: '$random', index: 4 }, { name: '$now', index: 23 }]);
    expect(nondeterministicUses('$map([1, 2], $millis)')).toEqual([{ name: '$millis', index: 13 }]);
  });

  it('leaves expressions that bind the name themselves, deterministic ones and ones that do not compile', () => {
    expect(nondeterministicUses('($now := 5; $now + 1)')).toEqual([]);
    expect(nondeterministicUses('$map([1], function($random) { $random * 2 })')).toEqual([]);
    expect(nondeterministicUses('$toMillis(last.date_time) - $toMillis(prior.date_time) > 60000')).toEqual([]);
    expect(nondeterministicUses('$sum(')).toEqual([]);
  });
});
