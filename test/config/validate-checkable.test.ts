import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { runCli, ROOT } from '../support/cli';
import { DIALECTS, createTestDatabase } from '../support/databases';
import { createSourceTable, insertRows, localPlus } from '../support/source-fixture';

/**
 * `scrape validate` refuses what `scrape run` would refuse and can be known without a database:
 * databases named in the regime that no dbconf file has, and mappings or change rules naming
 * columns the regime's own declared columns do not have.
 */

const shipped = (name: string) => fs.readFileSync(path.join(ROOT, 'regimes.d', `${name}.yaml`), 'utf8');

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'scrape-validate-checkable-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Writes `text` as `<name>.yaml` in the test folder; returns its path. */
function regime(name: string, text: string): string {
  const file = path.join(dir, `${name}.yaml`);
  fs.writeFileSync(file, text);
  return file;
}

/** 1-based line and column of the first `needle` in `text`, plus `shift` columns. */
function at(text: string, needle: string, shift = 0): string {
  const i = text.indexOf(needle);
  if (i < 0) throw new Error(`${needle} not in the text`);
  const before = text.slice(0, i);
  const line = before.split('\n').length;
  return `${line}:${i - before.lastIndexOf('\n') + shift}`;
}

/** The diagnostic head lines of validate's output. */
const heads = (stdout: string) => stdout.split('\n').filter((l) => /^\S+:\d+:\d+ (error|warning) /.test(l));

describe('scrape validate: the databases a regime names', () => {
  it('a source section found in no dbconf file is an error at the key, naming it, the files searched and the nearest section', async () => {
    const text = shipped('adtemp').replace('source: fake_dcs', 'source: fake_dsc');
    const file = regime('typo', text);
    const dbconf = path.join(dir, 'site.cnf');
    fs.writeFileSync(dbconf, '[client]\nuser = alice\n[dcs]\nhost = db.example.org\n', { mode: 0o600 });
    const r = await runCli(['validate', file, '--dbconf', dbconf], { cwd: dir });
    expect(r.code).toBe(1);
    expect(heads(r.stdout)).toEqual([
      `typo.yaml:${at(text, 'fake_dsc')} error DBCONF_SECTION source: 'fake_dsc': no dbconf section [fake_dsc] (did you mean [fake_dcs]?); ` +
        `looked in ${dbconf}, ${path.join(os.homedir(), '.my.cnf')}, ${path.join(ROOT, 'dbconf.ini')}`,
    ]);
    expect(r.stdout.endsWith('1 error in 1 of 1 regime\n')).toBe(true);
  });

  it('a section only --dbconf or $SCRAPE_DBCONF has is found there; faker.source and target are checked too', async () => {
    const text = shipped('adtemp').replace('source: fake_dcs', 'source: dcs_copy').replace('target: tmp_offline_db', 'target: dbi_test').replace('faker:\n', 'faker:\n  source: dcs_fake\n');
    const file = regime('sites', text);
    const r = await runCli(['validate', file], { cwd: dir });
    expect(r.code).toBe(1);
    expect(heads(r.stdout).map((l) => l.replace(/; looked in.*/, ''))).toEqual([
      `sites.yaml:${at(text, 'dcs_copy')} error DBCONF_SECTION source: 'dcs_copy': no dbconf section [dcs_copy]`,
      `sites.yaml:${at(text, 'dbi_test')} error DBCONF_SECTION target: 'dbi_test': no dbconf section [dbi_test]`,
      `sites.yaml:${at(text, 'dcs_fake')} error DBCONF_SECTION faker.source: 'dcs_fake': no dbconf section [dcs_fake]`,
    ]);
    const conf = path.join(dir, 'dbconf.cnf');
    fs.writeFileSync(conf, '[dcs_copy]\nurl = sqlite:src.sqlite\n[dbi_test]\nurl = sqlite:dbi.sqlite\n[dcs_fake]\nurl = sqlite:src.sqlite\nfake = true\n', { mode: 0o600 });
    expect(await runCli(['validate', file, '--dbconf', 'dbconf.cnf'], { cwd: dir })).toEqual({ code: 0, stdout: '1 regime valid (adtemp)\n', stderr: '' });
    expect(await runCli(['validate', file], { cwd: dir, env: { SCRAPE_DBCONF: conf } })).toEqual({ code: 0, stdout: '1 regime valid (adtemp)\n', stderr: '' });
  });

  it('a --dbconf file that does not exist is an error (DBCONF_FILE); a URL needs no dbconf but must parse', async () => {
    const missing = await runCli(['validate', 'adtemp', '--dbconf', 'nope.cnf'], { cwd: dir });
    expect(missing.code).toBe(1);
    expect(heads(missing.stdout)[0]).toMatch(/error DBCONF_FILE source: 'fake_dcs': --dbconf nope\.cnf: no such file/);
    const text = shipped('adtemp').replace('source: fake_dcs', 'source: sqlite:fake_src.sqlite').replace('target: tmp_offline_db', "target: 'mysql://%zz@h/db'");
    const r = await runCli(['validate', regime('urls', text)], { cwd: dir });
    expect(r.code).toBe(1);
    expect(heads(r.stdout)).toEqual([`urls.yaml:${at(text, "'mysql://")} error DBCONF_URL target: 'mysql://%zz@h/db': not a database URL: mysql://%zz@h/db (bad %-escape in '%zz')`]);
  });
});

describe('scrape validate: mappings and change rules against the declared columns', () => {
  it('a map to a column the regime does not declare ({1..5} ranges expanded) is an error at the name, with the nearest declared one', async () => {
    const text = shipped('adtemp').replace('Temp_PT5: last.DBNS_SAB_Temp_PT5', 'Temp_PT5: last.DBNS_SAB_Temp_PT6').replace('agg.DBNS_SAB_Temp_PT2_avg', 'agg.DBNS_SAB_Temp_PT2_mean');
    const r = await runCli(['validate', regime('pt6', text)], { cwd: dir });
    expect(r.code).toBe(1);
    const declared = 'DBNS_SAB_Temp_PT1, DBNS_SAB_Temp_PT2, DBNS_SAB_Temp_PT3, DBNS_SAB_Temp_PT4, DBNS_SAB_Temp_PT5';
    const lines = heads(r.stdout);
    expect(lines).toHaveLength(2);
    // every declared name is one edit away from PT6: any of them is the nearest
    expect(lines[0]).toMatch(
      new RegExp(`^pt6\\.yaml:${at(text, 'DBNS_SAB_Temp_PT6')} error REGIME_COLUMN targets\\[0\\]\\.map\\.Temp_PT5: last\\.DBNS_SAB_Temp_PT6: no column 'DBNS_SAB_Temp_PT6' among the columns tables\\[0\\] declares: ${declared} \\(did you mean 'DBNS_SAB_Temp_PT[1-5]'\\?\\)$`),
    );
    // mean → min is 2 edits, → max 3, → avg and std 4
    expect(lines[1]).toBe(
      `pt6.yaml:${at(text, 'DBNS_SAB_Temp_PT2_mean')} error REGIME_COLUMN targets[0].map.Temp_PT2_avg: agg.DBNS_SAB_Temp_PT2_mean: no aggregate 'DBNS_SAB_Temp_PT2_mean' ` +
        `(<column>_<avg|min|max|std> of the numeric columns not skipped, and 'count') (did you mean 'DBNS_SAB_Temp_PT2_min'?)`,
    );
  });

  it('a change rule naming an undeclared column and an unknown ctx value are errors; agg.* without an aggregate section a warning (run writes null)', async () => {
    const text = shipped('adlid')
      .replace(/\naggregate:\n(?: .*\n)+/, '\n')
      .replace(/\naverager:\n(?: .*\n)+/, '\n')
      .replace('columns: [Temp_GdLS, Temp_LS]', 'columns: [Temp_GdLS, Temp_LSS]')
      .replace('count: agg.count', "count: 'ctx.ad ? 1 : ctx.adn'");
    expect(text).not.toMatch(/^(aggregate|averager):/m);
    const r = await runCli(['validate', regime('noagg', text)], { cwd: dir });
    expect(r.code).toBe(1);
    const lines = heads(r.stdout);
    expect(lines[0]).toBe(`noagg.yaml:${at(text, 'Temp_LSS')} error REGIME_COLUMN changes[1].columns[1]: no column 'Temp_LSS' among the columns tables[0] declares: Ultrasonic_GdLS, Ultrasonic_LS, Temp_GdLS … SensorStatus (19 in all) (did you mean 'Temp_LS'?)`);
    expect(lines[1]).toBe(`noagg.yaml:${at(text, 'agg.Ultrasonic_GdLS_avg', 4)} warning REGIME_COLUMN targets[0].map.Ultrasonic_GdLS_avg: agg.Ultrasonic_GdLS_avg: scrape run computes no aggregates (the regime declares no \`aggregate\`): null in every row it writes`);
    // 72 maps to aggregates (18 quantities × 4), then the count's ctx.adn (ctx.ad is the pattern's capture)
    expect(lines.filter((l) => / warning REGIME_COLUMN /.test(l))).toHaveLength(72);
    expect(lines).toHaveLength(1 + 72 + 1);
    expect(lines[73]).toBe(`noagg.yaml:${at(text, 'ctx.adn', 4)} error REGIME_COLUMN targets[0].map.count: ctx.adn: no context value 'adn' (ad, sitemask, subsite, simmask, task, aggregateno, table) (did you mean 'ad'?)`);
    expect(r.stdout.endsWith('2 errors, 72 warnings in 1 of 1 regime\n')).toBe(true);
  });

  it('an unpivot whose value columns the joins do not declare, and a bare name that is no unpivot field', async () => {
    const text = shipped('pmthv').replace('prefix: pw_', 'prefix: pwr_').replace('voltage: voltage', 'voltage: volts');
    const r = await runCli(['validate', regime('hv', text)], { cwd: dir });
    expect(r.code).toBe(1);
    const lines = heads(r.stdout);
    expect(lines).toEqual([
      `hv.yaml:${at(text, "'pw_{column}'")} error REGIME_COLUMN unpivot.values.pw: 'pw_{column}' names no declared column: pw_L1C1R1, pw_L1C1R2, pw_L1C1R3 … pw_L8C3R8 (192 in all) (did you mean 'pwr_L1C1R1'?), among the columns tables[0] declares (with its joins): L1C1R1, L1C1R2, L1C1R3 … pwr_L8C3R8 (384 in all)`,
      `hv.yaml:${at(text, "'^pw_L")} error REGIME_COLUMN changes[1].columns: column pattern '^pw_L\\dC\\dR\\d$' matches none of the columns tables[0] declares (with its joins): L1C1R1, L1C1R2, L1C1R3 … pwr_L8C3R8 (384 in all)`,
    ]);
    const bare = shipped('pmthv').replace('voltage: voltage', 'voltage: volts');
    const b = await runCli(['validate', regime('bare', bare)], { cwd: dir });
    expect(heads(b.stdout)).toEqual([`bare.yaml:${at(bare, 'volts')} error REGIME_COLUMN targets[0].map.voltage: 'volts' is not an unpivot field (ladder, col, ring, column, voltage, pw)`]);
  });

  it('a regime that declares no columns is not checked against any: its tables are seen when it runs', async () => {
    const text = shipped('adtemp').replace(/    columns:\n      'DBNS_SAB_Temp_PT\{1\.\.5\}': decimal\(6,2\)\n/, '').replace('Temp_PT5: last.DBNS_SAB_Temp_PT5', 'Temp_PT5: last.DBNS_SAB_Temp_PT6');
    expect(text).not.toContain('decimal(6,2)');
    expect(await runCli(['validate', regime('undeclared', text)], { cwd: dir })).toEqual({ code: 0, stdout: '1 regime valid (adtemp)\n', stderr: '' });
  });
});

describe.each(DIALECTS)('what validate refuses, scrape run refuses on %s', (dialect) => {
  it('a map to last.DBNS_SAB_Temp_PT6: run exits 1 with REGIME_COLUMN and writes nothing', async () => {
    const source = await createTestDatabase(dialect, 'fake_validate_src');
    const target = await createTestDatabase(dialect, 'validate_tgt');
    try {
      const PT = [1, 2, 3, 4, 5].map((i) => `DBNS_SAB_Temp_PT${i}`);
      await createSourceTable(source.db, 'DBNS_SAB_Temp', Object.fromEntries(PT.map((c) => [c, 'decimal(6,2)'])));
      await insertRows(source.db, 'DBNS_SAB_Temp', [1, 2, 3].map((id) => ({ id, date_time: localPlus('2011-02-01 00:00:00', id * 10), ...Object.fromEntries(PT.map((c) => [c, '18.50'])) })));
      const file = regime('pt6', shipped('adtemp').replace('Temp_PT5: last.DBNS_SAB_Temp_PT5', 'Temp_PT5: last.DBNS_SAB_Temp_PT6'));
      const validate = await runCli(['validate', file], { cwd: dir });
      expect(validate.code).toBe(1);
      const run = await runCli(['run', file, '--source', source.url, '--target', target.url, '--until-caught-up', '--allow-drop-create-table'], { cwd: dir });
      expect(run.code).toBe(1);
      expect(run.stderr).toMatch(/error REGIME_COLUMN: .*targets\[0\]\.map\.Temp_PT5: no source column 'DBNS_SAB_Temp_PT6'/);
      expect(await target.db.schema.hasTable('DcsAdTempVld')).toBe(false);
    } finally {
      await source.drop();
      await target.drop();
    }
  });
});
