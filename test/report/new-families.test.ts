import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import YAML from 'yaml';
import { DIALECTS, TestDatabase, createTestDatabase } from '../support/databases';
import { runCli } from '../support/cli';
import { createSourceTable, localPlus } from '../support/source-fixture';

/**
 * `scrape new` on every DCS table family shape (small DDL fixtures with the real families' names
 * and column shapes): the proposal passes `scrape validate` as written, proposes the pattern,
 * context and unpivot a DCS expert would (written by hand below), and — where the engine reads the
 * family's column names — `scrape fake` and `scrape run` work with it at once, giving each member
 * table its own context in the target. The same over the shipped dump's own tables, family by
 * family, is test/report/new-dump.test.ts; these fixtures also pin the pattern and unpivot.
 */

const SITE_COLS = (site: string, names: string[]) => Object.fromEntries(names.map((n) => [`${site}_${n}`, 'decimal(8,2)']));
const range = (n: number, from = 1) => Array.from({ length: n }, (_, i) => i + from);
const HV_CELLS = range(8).flatMap((l) => range(3).flatMap((c) => range(8).map((r) => `L${l}C${c}R${r}`)));
const FO = range(24, 0).flatMap((i) => ['N', 'P'].map((p) => `DBNS_FO${String(i).padStart(2, '0')}${p}`));
/** Water-pool PMT channel codes: no common shape of letter and digit runs (the codes are not decoded). */
const MUON = ['DCIU3G', 'DVOH42', 'DCOU1A', 'DVIH7', 'DCIU12B', 'DVOH5', 'DCID2C', 'DVID33', 'DCOD4D', 'DVOD8', 'DCIU9E', 'DVOH11', 'DCOU6F', 'DVIH21', 'DCID10G', 'DVID2', 'DCOD7H', 'DVOD14'];
const VME_COLS = {
  Voltage_5V: 'decimal(8,2)', Current_5V: 'decimal(8,2)', Voltage_12V: 'decimal(8,2)', Current_12V: 'decimal(8,2)',
  ...Object.fromEntries(range(8).map((i) => [`Temperature${i}`, 'decimal(8,2)'])),
  FanTemperature: 'decimal(8,2)', Fanspeed: 'decimal(8,2)', PowerStatus: 'int',
};
const LID_COLS = { Ultrasonic_GdLS: 'int', Temp_GdLS: 'decimal(6,2)', Tiltx_Sensor1: 'decimal(6,2)', PS_Output_V: 'decimal(6,2)', SensorStatus: 'int' };
const GAS_COLS = { SupplyPressure: 'decimal(8,2)', Oxygen: 'decimal(8,2)', Humidity_Top: 'decimal(8,2)', Humidity_Bottom: 'decimal(8,2)' };
const WATER_COLS = Object.fromEntries(['PoolWaterResistivity', 'ProductResistivity', 'WaterLevel', 'IWaterOxygenContent', 'OWaterOxygenContent', 'HeaterTemperature', 'HeatExchangeTemperature'].map((n) => [n, 'decimal(8,2)']));

interface Family {
  /** Regime name given to scrape new. */
  name: string;
  /** The table given to --from-table. */
  from: string;
  /** The family's tables in the fake source (name → columns). */
  tables: Record<string, Record<string, string>>;
  /**
   * Expected table patterns (by hand: captures list the values the tables show); one per site
   * when the column names carry each table's own site.
   */
  patterns: string[];
  /** Expected unpivot pattern, if any. */
  unpivot?: string;
  /** Expected (sitemask, subsite) of each table, by hand from the DCS naming. */
  contexts: Record<string, [number, number]>;
  /** False where the engine cannot read the family yet: validate only (every family runs today). */
  runs: boolean;
}

const FAMILIES: Family[] = [
  {
    name: 'iowtemp_new',
    from: 'LANS_IOW_Temp',
    tables: Object.fromEntries(['DBNS', 'LANS', 'FARS'].map((s) => [`${s}_IOW_Temp`, SITE_COLS(s, [...range(4).map((i) => `IW_Temp_PT${i}`), ...range(4).map((i) => `OW_Temp_PT${i}`)])])),
    // DBNS_IW_Temp_PT1 in DBNS_IOW_Temp, LANS_IW_Temp_PT1 in LANS_IOW_Temp: each site declares its own
    patterns: ['^(?<site>DBNS)_IOW_Temp$', '^(?<site>FARS)_IOW_Temp$', '^(?<site>LANS)_IOW_Temp$'],
    // site prefix: DBNS 1, LANS 2, FARS 4; no detector in the name: subsite 0 (to decide)
    contexts: { DBNS_IOW_Temp: [1, 0], LANS_IOW_Temp: [2, 0], FARS_IOW_Temp: [4, 0] },
    runs: true,
  },
  {
    name: 'watersys_new',
    from: 'DBNS_WaterSystem',
    tables: { DBNS_WaterSystem: WATER_COLS, LANS_WaterSystem: WATER_COLS },
    patterns: ['^(?<site>DBNS|LANS)_WaterSystem$'],
    contexts: { DBNS_WaterSystem: [1, 0], LANS_WaterSystem: [2, 0] },
    runs: true,
  },
  {
    name: 'adgas_new',
    from: 'AD3_ADCoverGas',
    tables: Object.fromEntries([1, 2, 3, 4, 8].map((n) => [`AD${n}_ADCoverGas`, GAS_COLS])),
    patterns: ['^AD(?<ad>[12348])_ADCoverGas$'],
    // global AD numbers: EH1 AD1, AD2 -> site 1, subsites 1, 2; EH2 AD3, AD8 -> 2, 1, 2; EH3 AD4 -> 4, 1
    contexts: { AD1_ADCoverGas: [1, 1], AD2_ADCoverGas: [1, 2], AD3_ADCoverGas: [2, 1], AD8_ADCoverGas: [2, 2], AD4_ADCoverGas: [4, 1] },
    runs: true,
  },
  {
    name: 'vme_new',
    from: 'DBNS_Crate2_VME',
    tables: { DBNS_Crate1_VME: VME_COLS, DBNS_Crate2_VME: VME_COLS, LANS_Crate1_VME: VME_COLS },
    patterns: ['^(?<site>DBNS|LANS)_Crate(?<crate>\\d+)_VME$'],
    // the crate number read as the subsite (to decide)
    contexts: { DBNS_Crate1_VME: [1, 1], DBNS_Crate2_VME: [1, 2], LANS_Crate1_VME: [2, 1] },
    runs: true,
  },
  {
    name: 'wppmt_new',
    from: 'DBNS_MUON_PMT_HV_Vmon',
    tables: { DBNS_MUON_PMT_HV_Vmon: Object.fromEntries(MUON.map((c) => [c, 'decimal(8,2)'])) },
    patterns: ['^(?<site>DBNS)_MUON_PMT_HV_Vmon$'],
    unpivot: '^(?<channel>[A-Z]+\\d+[A-Z]*)$',
    contexts: { DBNS_MUON_PMT_HV_Vmon: [1, 0] },
    runs: true,
  },
  {
    name: 'rpchv_new',
    from: 'DBNS_RPC_HV_Vmon',
    tables: { DBNS_RPC_HV_Vmon: Object.fromEntries(FO.map((c) => [c, 'decimal(8,2)'])) },
    patterns: ['^(?<site>DBNS)_RPC_HV_Vmon$'],
    unpivot: '^DBNS_FO(?<fo>\\d+)(?<np>N|P)$',
    // RPC in the name: subsite 7
    contexts: { DBNS_RPC_HV_Vmon: [1, 7] },
    runs: true,
  },
  {
    name: 'adlid_new',
    from: 'AD5_LidSensor',
    tables: { AD1_LidSensor: LID_COLS, AD5_LidSensor: LID_COLS },
    patterns: ['^AD(?<ad>[15])_LidSensor$'],
    // AD1 in EH1 (1, 1); AD5 the second AD of EH3 (4, 2)
    contexts: { AD1_LidSensor: [1, 1], AD5_LidSensor: [4, 2] },
    runs: true,
  },
  {
    name: 'pmthv_new',
    from: 'DBNS_AD1_HV_Vmon',
    tables: Object.fromEntries(['DBNS_AD1', 'DBNS_AD2', 'LANS_AD1'].map((p) => [`${p}_HV_Vmon`, Object.fromEntries(HV_CELLS.map((c) => [c, 'decimal(6,2)']))])),
    patterns: ['^(?<site>DBNS|LANS)_(?<detector>AD1|AD2)_HV_Vmon$'],
    unpivot: '^L(?<ladder>\\d+)C(?<col>\\d+)R(?<ring>\\d+)$',
    contexts: { DBNS_AD1_HV_Vmon: [1, 1], DBNS_AD2_HV_Vmon: [1, 2], LANS_AD1_HV_Vmon: [2, 1] },
    runs: true,
  },
  {
    name: 'pmtimon_new',
    from: 'DBNS_AD2_HV_Imon',
    tables: Object.fromEntries(['DBNS_AD1', 'DBNS_AD2'].map((p) => [`${p}_HV_Imon`, Object.fromEntries(range(2, 0).flatMap((s) => range(12, 0).map((i) => [`DBNS_AD_HV.Slot${s}.I${i}`, 'decimal(8,2)'])))])),
    patterns: ['^(?<site>DBNS)_(?<detector>AD1|AD2)_HV_Imon$'],
    unpivot: '^DBNS_AD_HV\\.Slot(?<slot>\\d+)\\.I(?<i>\\d+)$',
    contexts: { DBNS_AD1_HV_Imon: [1, 1], DBNS_AD2_HV_Imon: [1, 2] },
    runs: true,
  },
];

/** Rows of a table: ids 1..n every 10 s from 2012-03-01 (local), readings around 100 with a small alternating noise, statuses 1. */
function rowsFor(columns: Record<string, string>, n: number): Record<string, unknown>[] {
  return range(n).map((id) => ({
    id,
    date_time: localPlus('2012-03-01 00:00:00', id * 10),
    ...Object.fromEntries(Object.entries(columns).map(([c, t]) => [c, /int/.test(t) ? 1 : 100 + (id % 2) * 0.04])),
  }));
}

/** Inserts rows by plain SQL with every name quoted whole (query builders split dotted names). */
async function insertRaw(t: TestDatabase, table: string, rows: Record<string, unknown>[]): Promise<void> {
  const q = (n: string) => (t.dialect === 'sqlite' ? `"${n}"` : `\`${n}\``);
  const cols = Object.keys(rows[0]);
  for (const row of rows) {
    await t.db.raw(`INSERT INTO ${q(table)} (${cols.map(q).join(', ')}) VALUES (${cols.map(() => '?').join(', ')})`, cols.map((c) => row[c]) as never);
  }
}

describe.each(DIALECTS)('scrape new on each DCS table family shape (%s)', (dialect) => {
  let source: TestDatabase;
  let tmp: string;
  const targets: TestDatabase[] = [];
  beforeAll(async () => {
    source = await createTestDatabase(dialect, 'fake_new_families');
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'scrape-new-'));
    for (const f of FAMILIES) {
      for (const [table, columns] of Object.entries(f.tables)) {
        await createSourceTable(source.db, table, columns);
        // the table given to --from-table has rows (spreads from data); its siblings none
        if (table === f.from) await insertRaw(source, table, rowsFor(columns, 20));
      }
    }
  }, 120_000);
  afterAll(async () => {
    for (const t of targets) await t.drop();
    await source?.drop();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it.each(FAMILIES.map((f) => [f.name, f] as const))('%s: validates as written, with the pattern, context and unpivot the names give', async (_name, f) => {
    const out = path.join(tmp, f.name);
    const made = await runCli(['new', f.name, '--from-table', f.from, '--source', source.url, '--out-dir', out]);
    expect(made.stderr).toBe('');
    expect(made.code).toBe(0);
    const yamlText = fs.readFileSync(path.join(out, 'regimes.d', `${f.name}.yaml`), 'utf8');
    const regime = YAML.parse(yamlText);
    expect(regime.tables.map((t: { pattern: string }) => t.pattern)).toEqual(f.patterns);
    expect(regime.unpivot?.pattern).toEqual(f.unpivot);
    expect(regime.faker.tables).toEqual(Object.keys(f.tables).sort());
    // the table named has rows: every rule is derived from them, none a placeholder
    expect(yamlText).not.toContain('no rows to derive');
    expect(yamlText).toContain('in the last 20 rows');
    const v = await runCli(['validate', '--regimes', path.join(out, 'regimes.d'), '--spec-dir', path.join(out, 'spec'), f.name]);
    expect(v.stdout).toBe(`1 regime valid (${f.name})\n`);
    expect(v.code).toBe(0);
    if (!f.runs) return;

    const target = await createTestDatabase(dialect, `new_${f.name}`);
    targets.push(target);
    const dirs = ['--regimes', path.join(out, 'regimes.d'), '--spec-dir', path.join(out, 'spec')];
    // a MariaDB test database is fake by its URL flag (its name starts with t_)
    const fakeUrl = dialect === 'mariadb' ? `${source.url}?fake=true` : source.url;
    const fake = await runCli(['fake', f.name, ...dirs, '--source', fakeUrl, '--count', '120']); // 20 minutes at 10 s: every stream passes maxage (10m) at least once
    expect(fake.stderr).not.toMatch(/error/);
    expect(fake.code).toBe(0);
    const run = await runCli(['run', f.name, ...dirs, '--source', source.url, '--target', target.url, '--allow-drop-create-table', '--until-caught-up']);
    expect(run.code).toBe(0);
    const vld = `${regime.targets[0].spec.replace(/^G/, '')}Vld`;
    const rows: Array<{ s: number; u: number; n: number }> = (await target.db.raw(`SELECT SITEMASK AS s, SUBSITE AS u, COUNT(*) AS n FROM ${vld} GROUP BY SITEMASK, SUBSITE ORDER BY SITEMASK, SUBSITE`)).valueOf();
    const got = (dialect === 'sqlite' ? rows : (rows as unknown as [Array<{ s: number; u: number; n: number }>])[0]).map((r) => [Number(r.s), Number(r.u)]);
    const expected = Object.values(f.contexts).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    expect(got).toEqual(expected);
  }, 120_000);
});
