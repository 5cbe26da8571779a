import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { projectRoot } from '../../engine/config/dbconf';
import { checkRegimeFile, loadRegime } from '../../engine/config/load-regime';
import { averagerAggregate, defaultFakerColumn, schemaDefault, settingDefaults } from '../../engine/config/regime-defaults';
import { SchemaNode, derefSchema, regimeSchema } from '../../engine/config/regime-schema';

const root = projectRoot();
const shipped = fs.readdirSync(path.join(root, 'regimes.d')).filter((f) => /\.ya?ml$/.test(f)).sort();

/**
 * Paths where the schema declares a default but `value` lacks the key, walking the schema beside
 * the value (properties, items, additionalProperties maps).
 */
function missingDefaults(node: SchemaNode, value: unknown, at: string): string[] {
  const s = derefSchema(node);
  if (Array.isArray(value)) return s.items ? value.flatMap((v, i) => missingDefaults(s.items, v, `${at}[${i}]`)) : [];
  if (!value || typeof value !== 'object') return [];
  const object = value as Record<string, unknown>;
  const out: string[] = [];
  const properties: Record<string, SchemaNode> = s.properties ?? {};
  for (const [key, property] of Object.entries(properties)) {
    if (key in object) out.push(...missingDefaults(property, object[key], `${at}.${key}`));
    else if (derefSchema(property).default !== undefined) out.push(`${at}.${key}`);
  }
  if (s.additionalProperties && typeof s.additionalProperties === 'object') {
    for (const [key, v] of Object.entries(object)) if (!(key in properties) && !key.startsWith('x-')) out.push(...missingDefaults(s.additionalProperties, v, `${at}.${key}`));
  }
  return out;
}

/** A regime touching every section that has nested defaults (faker columns and quality, rules, aggregate). */
const RICH = [
  'name: rich',
  'tables:',
  "  - pattern: '^(?<site>DBNS|LANS)_(?<detector>AD[12])_HV_Vmon$'",
  '    join: [{ table: "{site}_{detector}_HV_Pw", prefix: pw_ }]',
  'context:',
  '  sitemask: { capture: site, map: { DBNS: 1, LANS: 2 } }',
  '  subsite: { capture: detector, map: { AD1: 1, AD2: 2 } }',
  'unpivot:',
  "  pattern: '^L(?<ladder>\\d)C(?<col>\\d)R(?<ring>\\d)$'",
  'changes:',
  "  - columns: '^L\\dC\\dR\\d$'",
  "  - when: 'last.x != first.x'",
  'aggregate:',
  '  functions: [avg]',
  '  filter: [{ column: q, op: "=", value: 0 }]',
  'faker:',
  '  columns:',
  "    '^L': { profile: sine }",
  '    x: { expr: "$id" }',
  '  quality: { column: q }',
  'targets:',
  '  - spec: GDcsPmtHv',
  '    map: { ladder: ladder, col: col, ring: ring, voltage: value, pw: last.pw }',
  '',
].join('\n');

describe('schema defaults are filled in at load', () => {
  it.each(shipped)('regimes.d/%s carries every schema default', (file) => {
    const { regime } = loadRegime(file.replace(/\.ya?ml$/, ''), { cwd: root, env: {} });
    expect(missingDefaults(regimeSchema().root, regime, 'regime')).toEqual([]);
  });

  it('a regime using every nested section carries every schema default, hand-checked values included', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'scrape-defaults-'));
    fs.writeFileSync(path.join(dir, 'rich.yaml'), RICH);
    const r = checkRegimeFile(path.join(dir, 'rich.yaml'), { cwd: dir });
    expect(r.diagnostics).toEqual([]);
    const regime = r.regime!;
    expect(missingDefaults(regimeSchema().root, regime, 'regime')).toEqual([]);
    expect(regime.unpivot!.values).toEqual({ value: '{column}' });
    expect(regime.changes.map((c) => c.null_is_change)).toEqual([false, false]);
    expect(regime.aggregate).toEqual({ functions: ['avg'], count: 'count', skips: ['id', 'date_time'], filter: [{ column: 'q', op: '=', value: 0 }], none: null });
    expect(regime.faker.columns).toEqual({ '^L': { profile: 'sine', value: 0, amplitude: 1, period: 60, step: 1 }, x: { expr: '$id', value: 0, amplitude: 1, period: 60, step: 1 } });
    expect(regime.faker.quality).toEqual({ column: 'q', good: 0, bad: 1, rate: 0 });
    expect([regime.faker.profile, regime.faker.null_rate, regime.faker.seed, regime.faker.dropsrc, regime.faker.interval]).toEqual(['modulo_ramp', 0, 1, false, '10s']);
    expect(regime.averager).toEqual({ bin: '1h', chunk: '1d', sleep: '1m' });
    expect([regime.source, regime.target, regime.timezone]).toEqual(['fake_dcs', 'tmp_offline_db', 'Asia/Shanghai']);
  });

  it('the walk finds a default that is not filled in', () => {
    expect(missingDefaults(regimeSchema().root, { scraper: {} }, 'regime')).toContain('regime.scraper.maxage');
    expect(missingDefaults(regimeSchema().root, { faker: { columns: { a: {} } } }, 'regime')).toContain('regime.faker.columns.a.period');
  });
});

describe('defaults of what a regime does not hold', () => {
  it('the averager aggregates avg/min/max/std of every numeric column plus count when a regime declares no aggregate', () => {
    const { regime } = loadRegime('adtemp', { cwd: root, env: {} });
    const none = { ...regime, aggregate: undefined };
    expect(averagerAggregate(none)).toEqual({ functions: ['avg', 'min', 'max', 'std'], count: 'count', skips: ['id', 'date_time'], filter: [], none: null });
    // a fresh copy each time: a caller changing it changes nothing else
    averagerAggregate(none).functions.push('sum');
    expect(averagerAggregate(none).functions).toEqual(['avg', 'min', 'max', 'std']);
    // the regime's own aggregate wins
    expect(averagerAggregate(regime)).toBe(regime.aggregate);
  });

  it('a faker column no rule matches', () => {
    expect(defaultFakerColumn()).toEqual({ value: 0, amplitude: 1, period: 60, step: 1 });
  });

  it('settingDefaults lists every setting of a section with its schema default', () => {
    const scraper = settingDefaults('scraper');
    expect(Object.keys(scraper)).toEqual(Object.keys(regimeSchema().root.definitions.scraper.properties));
    expect([scraper.interval, scraper.maxage, scraper.threshold, scraper.page_size, scraper.timefloor]).toEqual(['10s', '10m', 1, 5000, '2010-01-01 00:00:00']);
    expect(settingDefaults('averager')).toEqual({ bin: '1h', chunk: '1d', sleep: '1m' });
    const faker = settingDefaults('faker');
    expect('timestart' in faker && faker.timestart === undefined).toBe(true);
    expect(faker.profile).toBe('modulo_ramp');
  });

  it('an unknown definition is an error', () => {
    expect(() => schemaDefault('nosuch')).toThrow(/no definition 'nosuch'/);
  });
});
