import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { projectRoot } from '../../engine/config/dbconf';
import { isScrapeError } from '../../engine/core/errors';
import {
  applySettingOverrides,
  captureNames,
  checkRegimeFile,
  findRegimeFile,
  loadRegime,
  renderDiagnostics,
} from '../../engine/config/load-regime';
import { editDistance, nearest } from '../../engine/config/diagnostic';
import { Regime } from '../../engine/config/regime';

const root = projectRoot();
const regimesDir = path.join(root, 'regimes.d');
const brokenDir = path.join(__dirname, 'broken');
const shipped = fs.readdirSync(regimesDir).filter((f) => /\.ya?ml$/.test(f)).sort();
const broken = fs.readdirSync(brokenDir).filter((f) => /\.ya?ml$/.test(f)).sort();

function tmpDir(label: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `scrape-${label}-`));
}

/** Writes a regime text into a fresh folder and checks it. */
function check(text: string | Buffer, name = 'r.yaml') {
  const dir = tmpDir('regime');
  const file = path.join(dir, name);
  fs.writeFileSync(file, text);
  return { file, ...checkRegimeFile(file, { cwd: dir }) };
}

/** A small valid regime (GDcsPmtHv has exactly the five attributes mapped here). */
const MINIMAL = [
  'name: minimal', // 1
  'tables:', // 2
  "  - pattern: '^(?<site>DBNS|LANS)_(?<detector>AD[12])_HV_Vmon$'", // 3
  'context:', // 4
  '  sitemask: { capture: site, map: { DBNS: 1, LANS: 2 } }', // 5
  '  subsite: { capture: detector, map: { AD1: 1, AD2: 2 } }', // 6
  'unpivot:', // 7
  "  pattern: '^L(?<ladder>\\d)C(?<col>\\d)R(?<ring>\\d)$'", // 8
  'scraper:', // 9
  '  maxage: 10m', // 10
  'targets:', // 11
  '  - spec: GDcsPmtHv', // 12
  '    map:', // 13
  '      ladder: ladder', // 14
  '      col: col', // 15
  '      ring: ring', // 16
  '      voltage: value', // 17
  '      pw: last.pw', // 18
  '',
].join('\n');

describe('shipped regimes', () => {
  it('regimes.d holds at least one regime', () => {
    expect(shipped.length).toBeGreaterThan(0);
  });

  it.each(shipped)('regimes.d/%s validates clean', (file) => {
    const result = checkRegimeFile(path.join(regimesDir, file), { cwd: root });
    expect(renderDiagnostics(result.diagnostics, root)).toBe('');
    expect(result.regime).toBeDefined();
    for (const t of result.regime!.targets) expect(result.specs.get(t.spec)?.className).toBe(t.spec);
  });

  it('loadRegime finds adtemp by name and applies the schema defaults', () => {
    const loaded = loadRegime('adtemp', { cwd: root, env: {} });
    expect(loaded.file).toBe(path.join(regimesDir, 'adtemp.yaml'));
    // given in the file
    expect(loaded.regime.scraper.maxage).toBe('10m');
    // not in the file: defaults declared in schemas/regime.schema.json
    expect(loaded.regime.scraper.join_wait).toBe('1m');
    expect(loaded.regime.scraper.page_size).toBe(5000);
    expect(loaded.regime.averager).toEqual({ bin: '1h', chunk: '1d', sleep: '1m' });
    expect(loaded.regime.context.simmask).toBe(1);
    expect(loaded.regime.context.aggregateno).toBe(-1);
    expect(loaded.regime.changes[0].null_is_change).toBe(false);
    expect(loaded.regime.aggregate!.filter).toEqual([]);
    expect(loaded.regime.faker.dropsrc).toBe(false);
    expect([...loaded.specs.keys()]).toEqual(['GDcsAdTemp']);
  });
});

describe('broken regimes: golden output', () => {
  it('the corpus holds at least 15 broken regimes, each with a golden file', () => {
    expect(broken.length).toBeGreaterThanOrEqual(15);
    for (const f of broken) expect(fs.existsSync(path.join(brokenDir, f.replace(/\.ya?ml$/, '.out')))).toBe(true);
  });

  it.each(broken)('%s', (f) => {
    const file = path.join(brokenDir, f);
    const result = checkRegimeFile(file, { cwd: root });
    expect(result.regime).toBeUndefined();
    expect(result.diagnostics.some((d) => d.severity === 'error')).toBe(true);
    const rendered = renderDiagnostics(result.diagnostics, root) + '\n';
    const golden = path.join(brokenDir, f.replace(/\.ya?ml$/, '.out'));
    if (process.env.UPDATE_GOLDEN === '1') fs.writeFileSync(golden, rendered);
    expect(rendered).toBe(fs.readFileSync(golden, 'utf8'));
    // independent of the golden: key diagnostics point at the key's own text
    const lines = fs.readFileSync(file, 'latin1').split('\n');
    for (const d of result.diagnostics) {
      if (['REGIME_UNKNOWN_KEY', 'REGIME_DUPLICATE_KEY', 'REGIME_CREDENTIALS'].includes(d.code) && !d.message.startsWith('URL')) {
        const key = /(\w+)$/.exec(d.path)![1];
        expect(lines[d.line - 1].slice(d.col - 1)).toMatch(new RegExp(`^['"]?${key}['"]?:`));
      }
    }
  });

  it('a generated binary file is REGIME_BINARY at the first bad byte', () => {
    const bytes = Buffer.from([0x6e, 0x61, 0x6d, 0x65, 0x3a, 0x20, 0x78, 0x0a, 0x1f, 0x8b, 0x08, 0x00, 0x00]);
    const r = check(bytes);
    expect(r.diagnostics.map((d) => [d.code, d.line, d.col])).toEqual([['REGIME_BINARY', 2, 2]]); // 0x8b: line 2, 2nd byte
  });
});

describe('positions', () => {
  it('a clean minimal regime has no diagnostics', () => {
    expect(check(MINIMAL).diagnostics).toEqual([]);
  });

  it('reports every problem at once, each at its own node', () => {
    const text = MINIMAL.replace('  maxage: 10m', '  maxage: 10 minutes\n  offsett: 2').replace('      col: col', '      colour: col');
    const r = check(text);
    const lines = text.split('\n');
    const find = (needle: string) => {
      const line = lines.findIndex((l) => l.includes(needle));
      return [line + 1, lines[line].indexOf(needle) + 1];
    };
    expect(r.diagnostics.map((d) => [d.code, d.path, d.line, d.col])).toEqual([
      ['REGIME_SCHEMA', 'scraper.maxage', ...find('10 minutes')],
      ['REGIME_UNKNOWN_KEY', 'scraper.offsett', ...find('offsett')],
      ['REGIME_MAPPING', 'targets[0].map', ...find('    map:').map((n, i) => n + (i === 1 ? 4 : 0))],
      ['REGIME_MAPPING', 'targets[0].map.colour', ...find('colour')],
    ]);
    expect(r.diagnostics[1].message).toContain('did you mean `offset`?');
    expect(r.diagnostics[2].message).toBe('attribute of GDcsPmtHv not mapped: col');
  });

  it('a JSONata error points inside the string at the offending token', () => {
    const r = check(MINIMAL.replace('      pw: last.pw', "      pw: 'last.pw ++ 2'"));
    expect(r.diagnostics).toHaveLength(1);
    const d = r.diagnostics[0];
    expect(d.code).toBe('REGIME_JSONATA');
    // `      pw: '` is 11 characters: the string starts at column 12; the second `+` is its 10th character
    expect([d.line, d.col]).toEqual([18, 12 + 9]);
    expect(d.message).toBe('bad JSONata: S0211 The symbol "+" cannot be used as a unary operator');
  });

  it('renders compiler style with a caret under the column, path relative to cwd', () => {
    const r = check(MINIMAL.replace('  maxage: 10m', '  maxage: 5'));
    const text = renderDiagnostics(r.diagnostics, path.dirname(r.file));
    expect(text).toBe(
      [
        'r.yaml:10:11 error REGIME_SCHEMA scraper.maxage: must be a duration (digits then s, m, h or d, e.g. 10s, 1m, 1h, 1d), found integer 5',
        ' 9 | scraper:',
        '10 |   maxage: 5',
        '   |           ^',
      ].join('\n'),
    );
    expect(renderDiagnostics(r.diagnostics, '/').startsWith(r.file.slice(1) + ':10:11 ')).toBe(true);
  });

  it('a password key nested anywhere is REGIME_CREDENTIALS, not merely an unknown key', () => {
    const r = check(MINIMAL.replace('scraper:\n', 'scraper:\n  pwd: x\n'));
    expect(r.diagnostics.map((d) => [d.code, d.path, d.line, d.col])).toEqual([['REGIME_CREDENTIALS', 'scraper.pwd', 10, 3]]);
    expect(r.diagnostics[0].message).toContain('dbconf');
  });

  it('a context capture that the table pattern lacks is REGIME_CAPTURE', () => {
    const r = check(MINIMAL.replace('capture: detector', 'capture: detectr'));
    expect(r.diagnostics.map((d) => [d.code, d.line, d.col])).toEqual([['REGIME_CAPTURE', 6, 23]]);
    expect(r.diagnostics[0].message).toContain('did you mean `detector`?');
  });

  it('seed_timestart after seed_timeend is an error', () => {
    const r = check(MINIMAL.replace('  maxage: 10m', "  seed_timestart: '2011-02-02 00:00:00'\n  seed_timeend: '2011-02-01 00:00:00'"));
    expect(r.diagnostics.map((d) => [d.code, d.path, d.line])).toEqual([['REGIME_SCHEMA', 'scraper.seed_timeend', 11]]);
  });

  it('--spec-dir decides where target specs come from', () => {
    const specDir = tmpDir('spec');
    fs.writeFileSync(
      path.join(specDir, 'GDcsPmtHv.spec'),
      'table | meta | legacy | CanL2Cache | class\nDcsPmtHv | 1 | DcsPmtHv | kFALSE | GDcsPmtHv\n;\nname | dbtype | codetype | description\nladder | int | int | l\n',
    );
    const dir = tmpDir('regime');
    fs.writeFileSync(path.join(dir, 'r.yaml'), MINIMAL);
    const r = checkRegimeFile(path.join(dir, 'r.yaml'), { specDir });
    // that spec has only `ladder`: the four other map keys are not attributes
    expect(r.diagnostics.map((d) => d.path)).toEqual(['targets[0].map.col', 'targets[0].map.ring', 'targets[0].map.voltage', 'targets[0].map.pw']);
  });
});

describe('finding and loading', () => {
  it('finds by name in --regimes, $SCRAPE_REGIMES, ./regimes.d, then the project', () => {
    const a = tmpDir('a');
    const b = tmpDir('b');
    fs.writeFileSync(path.join(a, 'x.yaml'), MINIMAL);
    fs.writeFileSync(path.join(b, 'x.yml'), MINIMAL);
    fs.mkdirSync(path.join(b, 'regimes.d'));
    fs.writeFileSync(path.join(b, 'regimes.d', 'y.yaml'), MINIMAL);
    expect(findRegimeFile('x', { regimesDir: a, env: { SCRAPE_REGIMES: b } })).toBe(path.join(a, 'x.yaml'));
    expect(findRegimeFile('x', { env: { SCRAPE_REGIMES: b } })).toBe(path.join(b, 'x.yml'));
    expect(findRegimeFile('y', { cwd: b, env: {} })).toBe(path.join(b, 'regimes.d', 'y.yaml'));
    expect(findRegimeFile('pmthv', { cwd: b, env: {} })).toBe(path.join(regimesDir, 'pmthv.yaml'));
    expect(findRegimeFile('x.yml', { cwd: b })).toBe(path.join(b, 'x.yml'));
  });

  it('an unknown name is REGIME_NOT_FOUND with the nearest name', () => {
    expect(() => findRegimeFile('adtmp', { cwd: root, env: {} })).toThrow(/no regime 'adtmp'.*did you mean `adtemp`\?/);
  });

  it('loadRegime throws REGIME_INVALID carrying the rendered diagnostics', () => {
    const r = check(MINIMAL.replace('  maxage: 10m', '  maxage: soon'));
    let err: unknown;
    try {
      loadRegime(r.file, { cwd: path.dirname(r.file) });
    } catch (e) {
      err = e;
    }
    expect(isScrapeError(err, 'REGIME_INVALID')).toBe(true);
    expect((err as Error).message).toContain('r.yaml:10:11 error REGIME_SCHEMA scraper.maxage: must be a duration (digits then s, m, h or d, e.g. 10s, 1m, 1h, 1d), found string "soon"');
  });
});

describe('applySettingOverrides', () => {
  const regime = (): Regime => loadRegime('adtemp', { cwd: root, env: {} }).regime;

  it('types values by the schema and leaves the input untouched', () => {
    const r = regime();
    const out = applySettingOverrides(r, ['maxage=1h', 'offset=10', 'threshold=0.25', 'seed_target_tables=true', 'timefloor=2011-02-01', 'averager.bin=30m']);
    expect(out.scraper.maxage).toBe('1h');
    expect(out.scraper.offset).toBe(10);
    expect(out.scraper.threshold).toBe(0.25);
    expect(out.scraper.seed_target_tables).toBe(true);
    expect(out.scraper.timefloor).toBe('2011-02-01 00:00:00');
    expect(out.averager.bin).toBe('30m');
    expect(r.scraper.maxage).toBe('10m');
    expect(r.scraper.offset).toBe(0);
    expect(applySettingOverrides(r, ['bin=2h'], 'averager').averager.bin).toBe('2h');
    expect(applySettingOverrides(r, ['dropsrc=no'], 'faker').faker.dropsrc).toBe(false);
  });

  it.each([
    ['maxag=1h', /unknown scraper setting `maxag` \(did you mean `maxage`\?\)/],
    ['maxage=1 hour', /scraper.maxage must be a duration \(digits then s, m, h or d.*found string "1 hour"/],
    ['offset=2.5', /scraper.offset must be an integer/],
    ['offset=-1', /scraper.offset must be >= 0/],
    ['threshold=abc', /scraper.threshold must be a number/],
    ['seed_target_tables=maybe', /must be true or false/],
    ['timefloor=yesterday', /must be a local time/],
    ['maxage', /use key=value/],
  ])('rejects %s', (set, message) => {
    let err: unknown;
    try {
      applySettingOverrides(regime(), [set]);
    } catch (e) {
      err = e;
    }
    expect(isScrapeError(err, 'REGIME_SETTING')).toBe(true);
    expect((err as Error).message).toMatch(message);
  });
});

describe('helpers', () => {
  it('edit distance counts a swap of neighbours as one edit', () => {
    expect(editDistance('kitten', 'sitting')).toBe(3);
    expect(editDistance('tsak', 'task')).toBe(1);
    expect(editDistance('', 'abc')).toBe(3);
  });

  it('nearest suggests plausible typos only', () => {
    expect(nearest('maxag', ['maxage', 'maxiter'])).toBe('maxage');
    expect(nearest('modulo', ['modulo_ramp', 'constant'])).toBe('modulo_ramp');
    expect(nearest('banana', ['maxage', 'offset'])).toBeUndefined();
  });

  it('captureNames lists named groups', () => {
    expect(captureNames('^(?<site>DBNS|LANS)_(?<detector>AD\\d)(?:_x)?$')).toEqual(['site', 'detector']);
    expect(captureNames('^plain$')).toEqual([]);
    expect(captureNames('(')).toEqual([]);
  });
});

describe('odd input never throws', () => {
  it.each([
    ['an unclosed flow sequence', '['],
    ['two documents', 'name: a\n---\nname: b\n'],
    ['a bare scalar', 'just text\n'],
    ['a tab-indented mapping', 'name: a\ncontext:\n\tsitemask: 1\n'],
    ['an alias bomb', 'a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n'],
    ['an unknown tag', 'name: !!binary aGVsbG8=\n'],
    ['a non-scalar key', '? [a, b]\n: 1\n'],
    ['only a BOM', '\ufeff'],
  ])('%s', (_label, text) => {
    const r = check(text);
    expect(r.regime).toBeUndefined();
    expect(r.diagnostics.length).toBeGreaterThan(0);
    for (const d of r.diagnostics) {
      expect(d.line).toBeGreaterThanOrEqual(1);
      expect(d.col).toBeGreaterThanOrEqual(1);
    }
  });

  it('YAML merge keys share settings between maps', () => {
    const text = MINIMAL.replace('scraper:\n  maxage: 10m', 'x-common: &common\n  maxage: 20m\nscraper:\n  <<: *common\n  offset: 1');
    const r = check(text);
    // `x-` keys are free (schema patternProperties); the merged scraper is valid
    expect(r.diagnostics).toEqual([]);
    expect(r.regime!.scraper.maxage).toBe('20m');
    expect(r.regime!.scraper.offset).toBe(1);
    // anything else unknown still is an error
    expect(check(text.replace('x-common', 'common')).diagnostics.map((d) => [d.code, d.path])).toEqual([['REGIME_UNKNOWN_KEY', 'common']]);
  });
});
