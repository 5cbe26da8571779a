import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import YAML from 'yaml';
import { DIALECTS, TestDatabase, createTestDatabase } from '../support/databases';
import { ROOT, runCli } from '../support/cli';
import { localPlus } from '../support/source-fixture';

/**
 * `scrape new` over every table family of the shipped DCS dump (schemas/dcs-schema.sql), loaded
 * into a fake source as a user would (`scrape load`). The families are derived here from the dump
 * itself, so a family added to the dump is covered (and fails until its contexts are written
 * below); the context each table must get is written by hand from the DCS naming.
 */

const DUMP = path.join(ROOT, 'schemas', 'dcs-schema.sql');

/** Tables of the dump and their measurement columns (after id, date_time), read from its text. */
function dumpTables(): Map<string, string[]> {
  const text = fs.readFileSync(DUMP, 'utf8');
  const out = new Map<string, string[]>();
  for (const m of text.matchAll(/CREATE TABLE `([^`]+)` \(([\s\S]*?)\n\)/g)) {
    const cols = [...m[2].matchAll(/^\s+`([^`]+)`/gm)].map((c) => c[1]).filter((c) => c !== 'id' && c !== 'date_time');
    out.set(m[1], cols);
  }
  return out;
}

const SITE = /^(DBNS|LANS|FARS)_/;

/**
 * The dump's tables grouped into families, as a DCS expert reads the names: the same name once
 * the site prefix, the detector or crate (AD1..AD8, IWS, OWS, RPC) and underscores are set aside
 * (so `DBNS_AD1_HVPw` is of `<site>_<AD>_HV_Pw`), and the same columns once each table's own site
 * prefix is set aside (so `DBNS_RPC_HV_Vmon`, FO channels, is not of the ADs' `HV_Vmon`). Members sorted.
 */
function dumpFamilies(): string[][] {
  const groups = new Map<string, string[]>();
  for (const [table, cols] of dumpTables()) {
    const name = table.replace(SITE, '').replace(/(^|_)(AD\d|IWS|OWS|RPC)(?=_)/g, '$1#').replace(/_/g, '');
    const columns = cols.map((c) => c.replace(SITE, '')).sort().join(',');
    const key = `${name}\u0000${columns}`;
    groups.set(key, [...(groups.get(key) ?? []), table]);
  }
  return [...groups.values()].map((g) => g.sort()).sort((a, b) => (a[0] < b[0] ? -1 : 1));
}

/**
 * The context (SITEMASK, SUBSITE) of every table of the dump, by hand. SITEMASK: DBNS Daya Bay 1,
 * LANS Ling Ao 2, FARS Far 4, the SAB building 32; a global AD number by its hall (EH1 AD1, AD2;
 * EH2 AD3, AD8; EH3 AD4..AD7). SUBSITE: AD1..AD4 (the AD within its hall) 1..4, IWS 5, OWS 6,
 * RPC 7; hall-wide tables 0.
 */
const CONTEXTS: Record<string, [number, number]> = {
  DBNS_SAB_Temp: [32, 0],
  DBNS_IOW_Temp: [1, 0], LANS_IOW_Temp: [2, 0], FARS_IOW_Temp: [4, 0],
  DBNS_ENV_PTH: [1, 0], LANS_ENV_PTH: [2, 0], FARS_ENV_PTH: [4, 0],
  DBNS_WaterSystem: [1, 0], LANS_WaterSystem: [2, 0], FARS_WaterSystem: [4, 0],
  AD1_ADCoverGas: [1, 1], AD2_ADCoverGas: [1, 2], AD3_ADCoverGas: [2, 1], AD8_ADCoverGas: [2, 2],
  AD4_ADCoverGas: [4, 1], AD5_ADCoverGas: [4, 2], AD6_ADCoverGas: [4, 3], AD7_ADCoverGas: [4, 4],
  AD1_LidSensor: [1, 1], AD2_LidSensor: [1, 2], AD3_LidSensor: [2, 1], AD8_LidSensor: [2, 2],
  AD4_LidSensor: [4, 1], AD5_LidSensor: [4, 2], AD6_LidSensor: [4, 3], AD7_LidSensor: [4, 4],
  DBNS_AD1_HV: [1, 1],
  DBNS_AD1_HV_Vmon: [1, 1], DBNS_AD2_HV_Vmon: [1, 2], LANS_AD1_HV_Vmon: [2, 1], LANS_AD2_HV_Vmon: [2, 2],
  FARS_AD1_HV_Vmon: [4, 1], FARS_AD2_HV_Vmon: [4, 2], FARS_AD3_HV_Vmon: [4, 3], FARS_AD4_HV_Vmon: [4, 4],
  DBNS_AD1_HVPw: [1, 1], DBNS_AD2_HV_Pw: [1, 2], LANS_AD1_HV_Pw: [2, 1], LANS_AD2_HV_Pw: [2, 2],
  FARS_AD1_HV_Pw: [4, 1], FARS_AD2_HV_Pw: [4, 2], FARS_AD3_HV_Pw: [4, 3], FARS_AD4_HV_Pw: [4, 4],
  DBNS_AD1_HV_Imon: [1, 1], DBNS_AD2_HV_Imon: [1, 2],
  DBNS_AD1_VME: [1, 1], DBNS_AD2_VME: [1, 2], DBNS_IWS_VME: [1, 5], DBNS_OWS_VME: [1, 6], DBNS_RPC_VME: [1, 7],
  LANS_AD1_VME: [2, 1], LANS_AD2_VME: [2, 2], LANS_IWS_VME: [2, 5], LANS_OWS_VME: [2, 6], LANS_RPC_VME: [2, 7],
  FARS_AD1_VME: [4, 1], FARS_AD2_VME: [4, 2], FARS_AD3_VME: [4, 3], FARS_AD4_VME: [4, 4],
  FARS_IWS_VME: [4, 5], FARS_OWS_VME: [4, 6], FARS_RPC_VME: [4, 7],
  DBNS_MUON_PMT_HV_Vmon: [1, 0],
  DBNS_RPC_HV_Vmon: [1, 7],
};

/**
 * The tables a proposal must name beside its own (by hand): the HV voltages' older name and their
 * power flags; no other table of the dump is another name of one (DBNS_AD1_HV_Imon and _Pw have
 * other columns than DBNS_AD1_HV).
 */
const HINTS: Record<string, string[]> = {
  DBNS_AD1_HV: ['DBNS_AD1_HV_Vmon looks like a later name of DBNS_AD1_HV'],
  DBNS_AD1_HV_Vmon: ['DBNS_AD1_HVPw looks like the power flags of DBNS_AD1_HV_Vmon', 'DBNS_AD1_HV looks like an older name of DBNS_AD1_HV_Vmon'],
};

/** Families that validate but are not run on this branch, and why. */
const VALIDATE_ONLY: Record<string, string> = {};

/** Rows of a query on either dialect (knex raw gives [rows, fields] on MySQL). */
async function query(t: TestDatabase, sql: string): Promise<Array<Record<string, unknown>>> {
  const r = await t.db.raw(sql);
  return t.dialect === 'sqlite' ? r : r[0];
}

/** A DATETIME as `YYYY-MM-DD HH:MM:SS` whatever the driver returns. */
function timeText(v: unknown): string {
  return v instanceof Date ? v.toISOString().slice(0, 19).replace('T', ' ') : String(v).slice(0, 19);
}

const FAMILIES = dumpFamilies();

describe('the families of the DCS dump', () => {
  it('are the thirteen a DCS expert names, and every table has its context written above', () => {
    // SAB temperatures, IOW temperatures, ENV_PTH, WaterSystem, cover gas, lid sensors, the HV
    // table before its rename, HV_Vmon, HV power flags (HVPw with HV_Pw), HV currents, VME crates,
    // water-pool PMT HV, RPC HV
    expect(FAMILIES.length).toBe(13);
    const tables = FAMILIES.flat().sort();
    expect(tables.filter((t) => !(t in CONTEXTS))).toEqual([]);
    expect(Object.keys(CONTEXTS).sort()).toEqual(tables);
    expect(FAMILIES.find((f) => f.includes('DBNS_AD1_HVPw'))).toHaveLength(8);
    expect(FAMILIES.find((f) => f.includes('DBNS_IWS_VME'))).toHaveLength(17);
  });
});

describe.each(DIALECTS)('scrape new on every family of the DCS dump (%s)', (dialect) => {
  let source: TestDatabase;
  let target: TestDatabase;
  let tmp: string;
  let fakeUrl: string;
  beforeAll(async () => {
    source = await createTestDatabase(dialect, 'fake_new_dump');
    target = await createTestDatabase(dialect, 'new_dump_target');
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'scrape-new-dump-'));
    // a MariaDB test database is fake by its URL flag (its name starts with t_)
    fakeUrl = dialect === 'mariadb' ? `${source.url}?fake=true` : source.url;
    const load = await runCli(['load', DUMP, '--source', fakeUrl]);
    expect(load.stderr).not.toMatch(/error/i);
    expect(load.code).toBe(0);
  }, 120_000);
  afterAll(async () => {
    await target?.drop();
    await source?.drop();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it.each(FAMILIES.map((f) => [f[0], f] as const))('family of %s: new on the empty table validates, covers exactly the family, and fake -> run gives each member its context', async (from, members) => {
    const name = `new_${from.toLowerCase()}`;
    const out = path.join(tmp, name);
    const made = await runCli(['new', name, '--from-table', from, '--source', source.url, '--out-dir', out]);
    expect(made.stderr).toBe('');
    expect(made.code).toBe(0);
    const dirs = ['--regimes', path.join(out, 'regimes.d'), '--spec-dir', path.join(out, 'spec')];
    const v = await runCli(['validate', ...dirs, name]);
    expect(v.stdout).toBe(`1 regime valid (${name})\n`);
    expect(v.code).toBe(0);

    // the proposal's patterns match exactly the family's tables among all the dump's
    const yamlText = fs.readFileSync(path.join(out, 'regimes.d', `${name}.yaml`), 'utf8');
    const regime = YAML.parse(yamlText);
    const hints = [...yamlText.matchAll(/# TODO decide: (\S+ looks like [^:]+):/g)].map((m) => m[1]);
    expect(hints).toEqual(HINTS[from] ?? []);
    const patterns = regime.tables.map((t: { pattern: string }) => new RegExp(t.pattern));
    expect([...dumpTables().keys()].filter((t) => patterns.some((p: RegExp) => p.test(t))).sort()).toEqual(members);
    expect([...regime.faker.tables].sort()).toEqual(members);
    if (from in VALIDATE_ONLY) return;

    // 15 minutes at 10 s: past maxage (10m) in every member even after the deletion below
    const fake = await runCli(['fake', name, ...dirs, '--source', fakeUrl, '--count', '90']);
    expect(fake.stderr).not.toMatch(/error/);
    expect(fake.code).toBe(0);
    // member k loses its first k rows, so each member's first row (and first validity) has its own time
    for (const [k, m] of members.entries()) await source.db(m).where('id', '<=', k).delete();
    const run = await runCli(['run', name, ...dirs, '--source', source.url, '--target', target.url, '--allow-drop-create-table', '--until-caught-up']);
    expect(run.stderr).not.toMatch(/error/);
    expect(run.code).toBe(0);

    // each context's first validity starts at its member's first row (UTC = local - 8 h), by SQL on both sides
    const expected: string[] = [];
    for (const m of members) {
      const [{ t }] = await query(source, `SELECT MIN(date_time) AS t FROM ${m}`);
      expected.push(`${CONTEXTS[m].join('/')} ${localPlus(timeText(t), -8 * 3600)}`);
    }
    const vld = `${regime.targets[0].spec.replace(/^G/, '')}Vld`;
    const got = await query(target, `SELECT SITEMASK AS s, SUBSITE AS u, MIN(TIMESTART) AS t FROM ${vld} GROUP BY SITEMASK, SUBSITE`);
    expect(got.map((r) => `${Number(r.s)}/${Number(r.u)} ${timeText(r.t)}`).sort()).toEqual(expected.sort());
  }, 180_000);
});

/** Seconds of a `YYYY-MM-DD HH:MM:SS` text (read as UTC: differences only). */
const secondsOf = (t: string) => Date.parse(t.replace(' ', 'T') + 'Z') / 1000;

/**
 * End to end on a family `scrape new` has no special case for (`<site>_WaterSystem`: no site in
 * its column names, no channels, no AD): a day's start of readings faked by the shipped watersys
 * regime's faker, then new -> validate -> fake (the proposal's own faker continues the tables)
 * -> run. Every validity is checked against the source rows by SQL and the proposal's own rules
 * (design §4: a new validity at the first row moving more than a threshold from the validity's
 * first row, or more than maxage after it; its payload the row at TIMEEND).
 */
describe.each(DIALECTS)('scrape new end to end on <site>_WaterSystem (%s)', (dialect) => {
  let source: TestDatabase;
  let target: TestDatabase;
  let tmp: string;
  afterAll(async () => {
    await target?.drop();
    await source?.drop();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('new -> validate -> fake -> run: each site its context, every validity where the rules say, with the source row at its end', async () => {
    source = await createTestDatabase(dialect, 'fake_new_untuned');
    target = await createTestDatabase(dialect, 'new_untuned_target');
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'scrape-new-untuned-'));
    const fakeUrl = dialect === 'mariadb' ? `${source.url}?fake=true` : source.url;
    expect((await runCli(['load', DUMP, '--source', fakeUrl])).code).toBe(0);
    // two hours of readings a minute apart in each site's table (the shipped regime's profiles)
    expect((await runCli(['fake', 'watersys', '--source', fakeUrl, '--count', '120'])).code).toBe(0);

    const out = path.join(tmp, 'water');
    const made = await runCli(['new', 'water', '--from-table', 'LANS_WaterSystem', '--source', source.url, '--out-dir', out]);
    expect(made.code).toBe(0);
    expect(made.stdout).toContain('3 source tables (DBNS_WaterSystem, FARS_WaterSystem, LANS_WaterSystem) matching ^(?<site>DBNS|FARS|LANS)_WaterSystem$');
    const dirs = ['--regimes', path.join(out, 'regimes.d'), '--spec-dir', path.join(out, 'spec')];
    expect((await runCli(['validate', ...dirs, 'water'])).stdout).toBe('1 regime valid (water)\n');
    const fake = await runCli(['fake', 'water', ...dirs, '--source', fakeUrl, '--count', '60']);
    expect(fake.code).toBe(0);
    const run = await runCli(['run', 'water', ...dirs, '--source', source.url, '--target', target.url, '--allow-drop-create-table', '--until-caught-up']);
    expect(run.code).toBe(0);

    const regime = YAML.parse(fs.readFileSync(path.join(out, 'regimes.d', 'water.yaml'), 'utf8'));
    const COLUMNS = ['PoolWaterResistivity', 'ProductResistivity', 'WaterLevel', 'IWaterOxygenContent', 'OWaterOxygenContent', 'HeaterTemperature', 'HeatExchangeTemperature'];
    // one threshold rule per column, all of them (no status among the water readings)
    const threshold: Record<string, number> = {};
    for (const c of regime.changes as Array<{ columns: string[]; threshold: number }>) threshold[c.columns[0]] = c.threshold;
    expect(Object.keys(threshold).sort()).toEqual([...COLUMNS].sort());
    expect(regime.scraper.maxage).toBe('10m');
    const maxage = 600;

    const sites: Array<[string, number]> = [['DBNS', 1], ['LANS', 2], ['FARS', 4]];
    for (const [site, sitemask] of sites) {
      const rows = await query(source, `SELECT date_time AS t, ${COLUMNS.join(', ')} FROM ${site}_WaterSystem ORDER BY date_time, id`);
      // the faked rows: 120 of the shipped faker, 60 more of the proposal's continuing them a minute apart
      expect(rows).toHaveLength(180);
      const times = rows.map((r) => timeText(r.t));
      expect(times.every((t, i) => i === 0 || secondsOf(t) - secondsOf(times[i - 1]) === 60)).toBe(true);
      const value = (i: number, c: string) => (rows[i][c] === null ? null : Number(rows[i][c]));
      // by the rules: from sv0 = row a, the first row b where a column moved more than its threshold, or more than maxage later
      const expected: Array<[string, string]> = [];
      let a = 0;
      for (let b = 1; b < rows.length; b++) {
        const moved = COLUMNS.some((c) => {
          const x = value(a, c);
          const y = value(b, c);
          return x !== null && y !== null && Math.abs(y - x) > threshold[c] + 1e-9;
        });
        if (moved || secondsOf(times[b]) - secondsOf(times[a]) > maxage) {
          expected.push([times[a], times[b]]);
          a = b;
        }
      }
      const vld = await query(target, `SELECT SEQNO AS q, TIMESTART AS s, TIMEEND AS e, SUBSITE AS u FROM DcsWaterVld WHERE SITEMASK = ${sitemask} ORDER BY TIMESTART`);
      expect(vld.length).toBeGreaterThan(5);
      expect(vld.every((v) => Number(v.u) === 0)).toBe(true);
      // the target is in UTC, the source in the halls' local time (UTC + 8 h)
      expect(vld.map((v) => [localPlus(timeText(v.s), 8 * 3600), localPlus(timeText(v.e), 8 * 3600)])).toEqual(expected);
      // each payload is the source row at TIMEEND, every column
      for (const v of vld) {
        const [p] = await query(target, `SELECT ${COLUMNS.join(', ')} FROM DcsWater WHERE SEQNO = ${Number(v.q)}`);
        const end = times.indexOf(localPlus(timeText(v.e), 8 * 3600));
        expect(COLUMNS.map((c) => Number(p[c]))).toEqual(COLUMNS.map((c) => value(end, c)));
      }
    }
  }, 180_000);
});
