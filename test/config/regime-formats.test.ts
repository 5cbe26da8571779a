import { REGIME_FORMATS, RegimeFormatName } from '../../engine/config/regime-formats';
import { regimeSchema } from '../../engine/config/regime-schema';
import { applySettingOverrides, loadRegime } from '../../engine/config/load-regime';
import { projectRoot } from '../../engine/config/dbconf';

/** Every `format` keyword value in the regime schema. */
function formatsUsed(node: unknown, out = new Set<string>()): Set<string> {
  if (Array.isArray(node)) node.forEach((n) => formatsUsed(n, out));
  else if (node && typeof node === 'object') {
    for (const [k, v] of Object.entries(node)) {
      if (k === 'format' && typeof v === 'string') out.add(v);
      else formatsUsed(v, out);
    }
  }
  return out;
}

describe('regime formats', () => {
  it('the schema uses exactly the registered formats', () => {
    expect([...formatsUsed(regimeSchema().root)].sort()).toEqual(Object.keys(REGIME_FORMATS).sort());
  });

  it('the schema spells no format as a raw pattern any more', () => {
    const text = JSON.stringify(regimeSchema().root);
    expect(text).not.toContain('[smhd]');
    expect(text).not.toContain('\\\\d{4}-');
    expect(text).not.toContain('^[A-Za-z_][A-Za-z0-9_]*$');
  });

  const cases: Record<RegimeFormatName, [string[], string[]]> = {
    duration: [['10s', '1m', '24h', '1d'], ['10', '10 s', '1w', 's', '1.5h']],
    'local-time': [['2011-02-01 00:00:00', '2011-02-01T12:30:59'], ['2011-02-01', '2011-02-01 0:00:00', 'yesterday']],
    identifier: [['a', '_x', 'L1C1R1', 'date_time'], ['1a', 'L1C1R2 ', 'a-b', '']],
    'column-name': [['a', 'L1C1R1', 'DBNS_AD_HV.Slot0.I0', 'x.1'], ['1a', '.a', 'a.', 'a..b', 'a b', 'a-b', '']],
    'regime-name': [['adtemp', 'pmt_hv2'], ['Adtemp', '_x', '2x', 'a-b']],
    'spec-class': [['GDcsAdTemp', 'G1'], ['DcsAdTemp', 'G', 'G_x']],
    regex: [['^a$', '(?<site>DBNS)'], ['(', '[a']],
    jsonata: [['last.x + 1', '$sum(agg.a)'], ['$sum(', 'last.x ++ 2']],
  };

  it.each(Object.entries(cases))('%s accepts and rejects by hand-picked examples', (name, [good, bad]) => {
    const format = REGIME_FORMATS[name as RegimeFormatName];
    for (const g of good) expect([g, format.test(g)]).toEqual([g, true]);
    for (const b of bad) expect([b, format.test(b)]).toEqual([b, false]);
  });

  it('--set messages name the format, not its pattern', () => {
    const regime = loadRegime('adtemp', { cwd: projectRoot(), env: {} }).regime;
    expect(() => applySettingOverrides(regime, ['heartbeat=3 s'])).toThrow(`--set heartbeat=3 s: scraper.heartbeat must be ${REGIME_FORMATS.duration.words}, found string "3 s"`);
    expect(() => applySettingOverrides(regime, ['averager.chunk=1w'])).toThrow(/averager.chunk must be a duration/);
  });
});
