import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { projectRoot } from '../../engine/config/dbconf';
import { applySettingOverrides, checkRegimeFile, loadRegime } from '../../engine/config/load-regime';
import { Regime } from '../../engine/config/regime';
import { compileChangeRules } from '../../engine/scraper/change-rules';

/**
 * `scraper.threshold` is the threshold of every change rule that gives none (schema: a rule needs
 * `columns`, `threshold` is optional); the scraper compiles its rules with it, so the file and
 * `--set threshold=…` both move those rules, and only those.
 */
const adtemp = fs.readFileSync(path.join(projectRoot(), 'regimes.d', 'adtemp.yaml'), 'utf8');
const RULES = [
  'changes:',
  "  - columns: '^DBNS_SAB_Temp_PT[12]$'", // no threshold: scraper.threshold
  '  - columns: [DBNS_SAB_Temp_PT5]',
  '    threshold: 3',
].join('\n');

function regimeWith(scraperThreshold: string | undefined): Regime {
  let text = adtemp.replace("changes:\n  - columns: '^DBNS_SAB_Temp_PT\\d$'\n    threshold: 1.0", () => RULES);
  expect(text).toContain(RULES);
  if (scraperThreshold !== undefined) text = text.replace('scraper:\n', `scraper:\n  threshold: ${scraperThreshold}\n`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'scrape-threshold-'));
  fs.writeFileSync(path.join(dir, 'adtemp.yaml'), text);
  return loadRegime(path.join(dir, 'adtemp.yaml'), { cwd: dir }).regime;
}

const COLUMNS = ['id', 'date_time', 'DBNS_SAB_Temp_PT1', 'DBNS_SAB_Temp_PT2', 'DBNS_SAB_Temp_PT3', 'DBNS_SAB_Temp_PT4', 'DBNS_SAB_Temp_PT5'];
const first = { id: 1, date_time: '2011-02-01 00:00:00', DBNS_SAB_Temp_PT1: 20, DBNS_SAB_Temp_PT2: 20, DBNS_SAB_Temp_PT3: 20, DBNS_SAB_Temp_PT4: 20, DBNS_SAB_Temp_PT5: 20 };
const last = (changes: Record<string, number>) => ({ ...first, id: 2, date_time: '2011-02-01 00:00:10', ...changes });

/** The scraper's change test for a regime: its rules, compiled with its `scraper.threshold`. */
const changed = (regime: Regime, values: Record<string, number>) => compileChangeRules(regime.changes, COLUMNS, regime.scraper.threshold).test(first, last(values));

describe('scraper.threshold', () => {
  it('a rule with columns and no threshold is valid and keeps no threshold of its own', () => {
    const regime = regimeWith('0.5');
    expect(regime.changes[0].threshold).toBeUndefined();
    expect(regime.changes[1].threshold).toBe(3);
    expect(regime.scraper.threshold).toBe(0.5);
  });

  it('is the threshold of the rules that give none (0.5 from the file)', () => {
    const regime = regimeWith('0.5');
    expect(changed(regime, { DBNS_SAB_Temp_PT1: 20.4 })).toBe(false); // |0.4| <= 0.5
    expect(changed(regime, { DBNS_SAB_Temp_PT1: 20.6 })).toBe(true); // |0.6| > 0.5
    expect(changed(regime, { DBNS_SAB_Temp_PT2: 19.4 })).toBe(true); // |-0.6| > 0.5
    // PT3 is watched by no rule; PT5's rule has its own threshold 3
    expect(changed(regime, { DBNS_SAB_Temp_PT3: 30 })).toBe(false);
    expect(changed(regime, { DBNS_SAB_Temp_PT5: 22.9 })).toBe(false); // |2.9| <= 3 although > 0.5
    expect(changed(regime, { DBNS_SAB_Temp_PT5: 23.1 })).toBe(true);
  });

  it('--set threshold=2 moves the rules without a threshold, and only them', () => {
    const regime = applySettingOverrides(regimeWith('0.5'), ['threshold=2']);
    expect(changed(regime, { DBNS_SAB_Temp_PT1: 20.6 })).toBe(false); // 0.6 <= 2
    expect(changed(regime, { DBNS_SAB_Temp_PT1: 21.9 })).toBe(false); // 1.9 <= 2
    expect(changed(regime, { DBNS_SAB_Temp_PT1: 22.1 })).toBe(true); // 2.1 > 2
    expect(changed(regime, { DBNS_SAB_Temp_PT5: 22.9 })).toBe(false); // still 3
    expect(changed(regime, { DBNS_SAB_Temp_PT5: 23.1 })).toBe(true);
  });

  it('without scraper.threshold in the file, the schema default (1.0) applies', () => {
    const regime = regimeWith(undefined);
    expect(regime.scraper.threshold).toBe(1);
    expect(changed(regime, { DBNS_SAB_Temp_PT1: 20.9 })).toBe(false);
    expect(changed(regime, { DBNS_SAB_Temp_PT1: 21.1 })).toBe(true);
  });

  it('threshold and equal in one rule is an error naming both', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'scrape-threshold-'));
    const file = path.join(dir, 'r.yaml');
    fs.writeFileSync(file, adtemp.replace('    threshold: 1.0\n', '    threshold: 1.0\n    equal: true\n'));
    const r = checkRegimeFile(file, { cwd: dir });
    expect(r.diagnostics.map((d) => [d.code, d.path, d.message])).toEqual([['REGIME_SCHEMA', 'changes[0]', 'give only one of: `threshold`, `equal`']]);
  });
});
