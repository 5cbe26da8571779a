import * as path from 'path';
import { projectRoot } from '../../engine/config/dbconf';
import { loadRegime } from '../../engine/config/load-regime';
import { dumpTarget } from '../../engine/dbi/dbi-reader';
import { DIALECTS, createTestDatabase, TestDatabase } from '../support/databases';
import { createSourceTable, insertRows, localPlus } from '../support/source-fixture';
import { runCli } from '../support/cli';

const ROOT = projectRoot();
const PT = [1, 2, 3, 4, 5].map((i) => `DBNS_SAB_Temp_PT${i}`);

const scrape = (args: string[]) => runCli(args);

/** A row of the effective settings table: [effective, default, marked as differing]. */
function settingRow(text: string, key: string): [string, string, boolean] | undefined {
  const value = '("[^"]*"|\\S+)';
  const m = new RegExp(`^\\s+${key}\\s+${value}\\s+${value}(\\s+\\*)?\\s*$`, 'm').exec(text);
  return m ? [m[1], m[2], !!m[3]] : undefined;
}

describe('scrape run without a database', () => {
  it('--help with a regime prints the effective settings with their defaults', async () => {
    const r = await scrape(['run', 'adtemp', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Usage: scrape run');
    expect(r.stdout).toContain('Effective scraper settings of regime adtemp');
    expect(settingRow(r.stdout, 'maxage')).toEqual(['"10m"', '"10m"', false]);
    expect(settingRow(r.stdout, 'page_size')).toEqual(['5000', '5000', false]);
    // adtemp sets its own seed range; the shipped value equals the schema's default.
    expect(settingRow(r.stdout, 'seed_timeend')).toEqual(['"2011-02-01 00:01:00"', '"2011-02-01 00:01:00"', false]);

    const changed = await scrape(['run', 'adtemp', '--set', 'maxage=1m', '--set', 'offset=3', '--maxiter', '7', '--help']);
    expect(changed.code).toBe(0);
    expect(settingRow(changed.stdout, 'maxage')).toEqual(['"1m"', '"10m"', true]);
    expect(settingRow(changed.stdout, 'offset')).toEqual(['3', '0', true]);
    expect(settingRow(changed.stdout, 'interval')).toEqual(['"10s"', '"10s"', false]);
    expect(settingRow(changed.stdout, 'maxiter')).toEqual(['7', '0', true]);
  });

  it('--set of an unknown setting: exit 1 with a suggestion', async () => {
    const r = await scrape(['run', 'adtemp', '--set', 'nosuch=1', '--until-caught-up']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error REGIME_SETTING: --set nosuch=1: unknown scraper setting `nosuch`.*\(settings: interval, .*maxage.*\)/m);
    const typo = await scrape(['run', 'adtemp', '--set', 'maxag=1m', '--until-caught-up']);
    expect(typo.code).toBe(1);
    expect(typo.stderr).toContain('did you mean `maxage`');
    const badValue = await scrape(['run', 'adtemp', '--set', 'maxage=soon', '--until-caught-up']);
    expect(badValue.code).toBe(1);
    expect(badValue.stderr).toMatch(/error REGIME_SETTING: --set maxage=soon/);
  });

  it('an unknown regime: exit 1 naming it', async () => {
    const r = await scrape(['run', 'nosuchregime', '--until-caught-up']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error \w+: .*nosuchregime/m);
    expect(r.stderr).not.toContain('internal error');
  });
});

describe.each(DIALECTS)('scrape run on %s', (dialect) => {
  let source: TestDatabase;
  const targets: TestDatabase[] = [];
  const ROWS = 30;

  beforeAll(async () => {
    source = await createTestDatabase(dialect, 'fake_cli_run_src');
    await createSourceTable(source.db, 'DBNS_SAB_Temp', Object.fromEntries(PT.map((c) => [c, 'decimal(6,2)'])));
    const rows = [];
    for (let id = 1; id <= ROWS; id++) {
      rows.push({ id, date_time: localPlus('2011-02-01 00:00:00', id * 10), ...Object.fromEntries(PT.map((c) => [c, '18.50'])) });
    }
    await insertRows(source.db, 'DBNS_SAB_Temp', rows);
  });
  afterAll(async () => {
    for (const t of targets) await t.drop();
    await source.drop();
  });

  async function target(label: string): Promise<TestDatabase> {
    const t = await createTestDatabase(dialect, label);
    targets.push(t);
    return t;
  }

  it('--until-caught-up: exit 0, a done line with the rows read, validities written', async () => {
    const t = await target('cli_run_tgt');
    const r = await scrape(['run', 'adtemp', '--source', source.url, '--target', t.url, '--until-caught-up', '--allow-drop-create-table', '--set', 'maxage=1m']);
    expect(r.stderr).not.toMatch(/ERROR|internal error/);
    expect(r.code).toBe(0);
    // No seed: the range starts at timefloor, so every row is read.
    expect(r.stderr).toMatch(new RegExp(`INFO  done DBNS_SAB_Temp: ${ROWS} rows read, ${ROWS} samples, 4 propagations`));
    const { vld } = await dumpTarget(t.db, loadRegime(path.join(ROOT, 'regimes.d', 'adtemp.yaml')).specs.get('GDcsAdTemp')!);
    // Rows every 10 s from id 1 (00:00:10 local), overage after 1 minute: [1,8), [8,15), [15,22), [22,29).
    expect(vld.map((v) => [v.TIMESTART, v.TIMEEND])).toEqual(
      [[1, 8], [8, 15], [15, 22], [22, 29]].map(([a, b]) => [localPlus('2011-02-01 00:00:00', a * 10 - 8 * 3600), localPlus('2011-02-01 00:00:00', b * 10 - 8 * 3600)]),
    );

    // Run again: nothing new, nothing duplicated.
    const again = await scrape(['run', 'adtemp', '--source', source.url, '--target', t.url, '--until-caught-up', '--set', 'maxage=1m']);
    expect(again.code).toBe(0);
    expect(again.stderr).toMatch(/done DBNS_SAB_Temp: \d+ rows read, \d+ samples, 0 propagations/);
    expect((await dumpTarget(t.db, loadRegime(path.join(ROOT, 'regimes.d', 'adtemp.yaml')).specs.get('GDcsAdTemp')!)).vld).toEqual(vld);
  });

  it('--maxiter 5 stops after 5 samples', async () => {
    const t = await target('cli_maxiter_tgt');
    const r = await scrape(['run', 'adtemp', '--source', source.url, '--target', t.url, '--maxiter', '5', '--allow-drop-create-table', '--log-level', 'debug']);
    expect(r.code).toBe(0);
    const sv = r.stderr.split('\n').filter((l) => / SV \d/.test(l));
    expect(sv).toHaveLength(5);
    expect(sv.map((l) => /SV (\d+)\s+\((\d+),\s*(\d*)\)/.exec(l)!.slice(1).join(' '))).toEqual(['1 1 ', '2 1 2', '3 1 3', '4 1 4', '5 1 5']);
    expect(r.stderr).toMatch(/done DBNS_SAB_Temp: 5 rows read, 5 samples, 0 propagations/);
  });
});
