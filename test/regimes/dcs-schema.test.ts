import * as path from 'path';
import { dialectOf, rawRows } from '../../engine/db/dialect';
import { listColumns, listTables } from '../../engine/db/introspection';
import { runCli } from '../support/cli';
import { DIALECTS, TestDatabase, createTestDatabase } from '../support/databases';
import { shippedRegime, validities } from './regime-run';

/** The shipped no-data dump of the DCS source tables (README, "Regimes"). */
export const DCS_SCHEMA = path.join(__dirname, '..', '..', 'schemas', 'dcs-schema.sql');

const D = 'decimal(8,2)';
const SITES = ['DBNS', 'LANS', 'FARS'];

/**
 * What the dump must hold, written out from the list of table families (not read from the
 * file): table name → measurement columns (after `id`, `date_time`) with their MySQL types.
 */
function expectedTables(): Map<string, [string, string][]> {
  const t = new Map<string, [string, string][]>();
  t.set('DBNS_SAB_Temp', [1, 2, 3, 4, 5].map((i) => [`DBNS_SAB_Temp_PT${i}`, 'decimal(6,2)']));
  for (const s of SITES) {
    t.set(`${s}_IOW_Temp`, ['IW', 'OW'].flatMap((p) => [1, 2, 3, 4].map((i): [string, string] => [`${s}_${p}_Temp_PT${i}`, D])));
    t.set(`${s}_ENV_PTH`, ['P1', 'T1', 'H1', 'P2', 'T2', 'H2'].map((c) => [`${s}_PTH_${c}`, D]));
    t.set(`${s}_WaterSystem`, ['PoolWaterResistivity', 'ProductResistivity', 'WaterLevel', 'IWaterOxygenContent', 'OWaterOxygenContent', 'HeaterTemperature', 'HeatExchangeTemperature'].map((c) => [c, D]));
  }
  const d62 = 'decimal(6,2)';
  const lid: [string, string][] = [
    ['Ultrasonic_GdLS', 'int(11)'], ['Ultrasonic_LS', 'int(11)'], ['Temp_GdLS', d62], ['Temp_LS', d62],
    ['Tiltx_Sensor1', d62], ['Tilty_Sensor1', d62], ['Tiltx_Sensor2', d62], ['Tilty_Sensor2', d62], ['Tiltx_Sensor3', d62], ['Tilty_Sensor3', d62],
    ['Capacitance_GdLS', 'int(11)'], ['Capacitance_Temp_GdLS', d62], ['Capacitance_LS', 'int(11)'], ['Capacitance_Temp_LS', d62],
    ['Capacitance_MO', 'int(11)'], ['Capacitance_Temp_MO', d62], ['PS_Output_V', d62], ['PS_Output_I', d62], ['SensorStatus', 'int(11)'],
  ];
  for (let n = 1; n <= 8; n++) {
    t.set(`AD${n}_ADCoverGas`, ['SupplyPressure', 'Oxygen', 'Humidity_GdLS', 'Humidity_LS'].map((c) => [c, D]));
    t.set(`AD${n}_LidSensor`, lid);
  }
  const pmt: string[] = [];
  for (let l = 1; l <= 8; l++) for (let c = 1; c <= 3; c++) for (let r = 1; r <= 8; r++) pmt.push(`L${l}C${c}R${r}`);
  const imon: string[] = [];
  for (let slot = 0; slot < 8; slot++) for (let ch = 0; ch < 24; ch++) imon.push(`DBNS_AD_HV.Slot${slot}.I${ch}`);
  const ads: Record<string, number[]> = { DBNS: [1, 2], LANS: [1, 2], FARS: [1, 2, 3, 4] };
  for (const s of SITES) {
    for (const a of ads[s]) {
      t.set(`${s}_AD${a}_HV_Vmon`, pmt.map((c) => [c, d62]));
      // the quirk: Daya Bay's AD1 power table is spelled HVPw, every other one HV_Pw
      t.set(s === 'DBNS' && a === 1 ? 'DBNS_AD1_HVPw' : `${s}_AD${a}_HV_Pw`, pmt.map((c) => [c, 'tinyint(4)']));
    }
  }
  t.set('DBNS_AD1_HV', pmt.map((c) => [c, d62])); // the voltage table before its 2011 rename to _HV_Vmon
  t.set('DBNS_AD1_HV_Imon', imon.map((c) => [c, D]));
  t.set('DBNS_AD2_HV_Imon', imon.map((c) => [c, D]));
  const vme: [string, string][] = [
    ...['Voltage_5V', 'Current_5V', 'Voltage_12V', 'Current_12V', 'Voltage_N12V', 'Current_N12V'].map((c): [string, string] => [c, D]),
    ...[1, 2, 3, 4, 5, 6, 7, 8].map((i): [string, string] => [`Temperature${i}`, D]),
    ['FanTemperature', D], ['Fanspeed', D], ['PowerStatus', 'int(11)'],
  ];
  const crates: Record<string, string[]> = { DBNS: ['AD1', 'AD2', 'IWS', 'OWS', 'RPC'], LANS: ['AD1', 'AD2', 'IWS', 'OWS', 'RPC'], FARS: ['AD1', 'AD2', 'AD3', 'AD4', 'IWS', 'OWS', 'RPC'] };
  for (const s of SITES) for (const c of crates[s]) t.set(`${s}_${c}_VME`, vme);
  const wp: [string, string][] = [];
  for (const pool of 'IO') for (const a of 'CV') for (const b of 'UH') for (const n of '1234') for (const e of 'G2') wp.push([`D${a}${pool}${b}${n}${e}`, D]);
  t.set('DBNS_MUON_PMT_HV_Vmon', wp);
  const rpc: [string, string][] = [];
  for (let m = 0; m < 24; m++) for (const pol of 'NP') rpc.push([`DBNS_FO${String(m).padStart(2, '0')}${pol}`, D]);
  t.set('DBNS_RPC_HV_Vmon', rpc);
  return t;
}

describe.each(DIALECTS)('the DCS no-data dump on %s', (dialect) => {
  let src: TestDatabase;
  beforeAll(async () => {
    src = await createTestDatabase(dialect, 'fake_dcs_schema');
  });
  afterAll(async () => {
    await src.drop();
  });

  it('loads with scrape load: every table of every family, with its declared columns in order, and no data', async () => {
    const r = await runCli(['load', DCS_SCHEMA, '--source', `${src.url}?fake=true`]);
    expect(r.stderr).not.toMatch(/error/i);
    expect(r.code).toBe(0);
    const expected = expectedTables();
    // 1 SAB + 3×3 per-site families + 8 cover gas + 8 lid + 8 HV_Vmon + 8 HV_Pw + old DBNS_AD1_HV
    // + 2 Imon + 17 VME crates (5 + 5 + 7) + 1 water-pool PMT + 1 RPC = 64
    expect(expected.size).toBe(64);
    expect((await listTables(src.db)).sort()).toEqual([...expected.keys()].sort());
    for (const [table, columns] of expected) {
      const got = await listColumns(src.db, table);
      expect([table, got.map((c) => c.name)]).toEqual([table, ['id', 'date_time', ...columns.map(([c]) => c)]]);
      expect([table, got.slice(2).map((c) => c.type)]).toEqual([table, columns.map(([, type]) => type)]);
      expect(Number((await src.db(table).count({ n: '*' }))[0].n)).toBe(0);
    }
    // the dotted column names are real columns: a row can be written and read back through them
    // (quoted by hand: knex would split a dotted name into table.column)
    const q = (n: string) => (dialectOf(src.db) === 'mysql' ? `\`${n}\`` : `"${n}"`);
    const dotted = 'DBNS_AD_HV.Slot3.I17';
    await src.db.raw(`INSERT INTO ${q('DBNS_AD2_HV_Imon')} (${q('date_time')}, ${q(dotted)}) VALUES ('2012-01-01 00:00:00', 12.5)`);
    const rows = await rawRows(src.db, `SELECT ${q('id')} AS id, ${q(dotted)} AS v FROM ${q('DBNS_AD2_HV_Imon')}`);
    expect(rows.map((r) => [Number(r.id), Number(r.v)])).toEqual([[1, 12.5]]);
  });
});

/**
 * Every new regime, faked (its tables created from the dump, its `faker.dump`) and run: the tables it fakes, the payload rows
 * each validity must have (its unpivot: one row per matching column of the dump's table, or one
 * row for a regime without unpivot), and whether it is averaged as well.
 */
const SMOKE: { regime: string; spec: string; tables: string[]; rowsPerValidity: number; average?: boolean }[] = [
  // 4 IW + 4 OW PT100 columns
  { regime: 'iowtemp', spec: 'GDcsIowTemp', tables: ['DBNS_IOW_Temp', 'LANS_IOW_Temp', 'FARS_IOW_Temp'], rowsPerValidity: 8 },
  // one row per PTH sensor (P1, P2)
  { regime: 'envpth', spec: 'GDcsEnvPth', tables: ['DBNS_ENV_PTH', 'LANS_ENV_PTH', 'FARS_ENV_PTH'], rowsPerValidity: 2 },
  // no unpivot: one row
  { regime: 'watersys', spec: 'GDcsWaterSystem', tables: ['DBNS_WaterSystem', 'LANS_WaterSystem', 'FARS_WaterSystem'], rowsPerValidity: 1 },
  // 17 crates (5 + 5 + 7), no unpivot
  {
    regime: 'vme', spec: 'GDcsVme', rowsPerValidity: 1,
    tables: ['DBNS', 'LANS', 'FARS'].flatMap((s) => (s === 'FARS' ? ['AD1', 'AD2', 'AD3', 'AD4'] : ['AD1', 'AD2']).concat(['IWS', 'OWS', 'RPC']).map((c) => `${s}_${c}_VME`)),
  },
  // 24 channels × N, P
  { regime: 'rpchv', spec: 'GDcsRpcHv', tables: ['DBNS_RPC_HV_Vmon'], rowsPerValidity: 48 },
  // 64 coded channels in the dump's table
  { regime: 'wppmt', spec: 'GDcsWpPmtHv', tables: ['DBNS_MUON_PMT_HV_Vmon'], rowsPerValidity: 64 },
  // scraped (TASK 0) and averaged (TASK 1): two contexts per table, one aggregate row each
  { regime: 'adgas', spec: 'GDcsAdCoverGas', tables: [1, 2, 3, 4, 5, 6, 7, 8].map((n) => `AD${n}_ADCoverGas`), rowsPerValidity: 1, average: true },
];

describe.each(DIALECTS)('every new regime fakes and runs on the dump schema, on %s', (dialect) => {
  it.each(SMOKE.map((s) => [s.regime, s] as const))('%s', async (_name, smoke) => {
    const src = await createTestDatabase(dialect, `fake_smoke_${smoke.regime}`);
    const tgt = await createTestDatabase(dialect, `smoke_${smoke.regime}`);
    try {
      // an empty fake database: the regime's faker.dump (the DCS schema dump) creates the tables
      const fake = `${src.url}?fake=true`;
      const faked = await runCli(['fake', smoke.regime, '--source', fake, '--count', '300']);
      expect(faked.stderr).not.toMatch(/ERROR|WARN/);
      expect(faked.code).toBe(0);
      const expected = expectedTables();
      expect((await listTables(src.db)).sort()).toEqual([...smoke.tables].sort());
      for (const table of smoke.tables) {
        expect([table, (await listColumns(src.db, table)).map((c) => c.name)]).toEqual([table, ['id', 'date_time', ...expected.get(table)!.map(([c]) => c)]]);
        expect([table, Number((await src.db(table).count({ n: '*' }))[0].n)]).toEqual([table, 300]);
      }
      const ran = await runCli(['run', smoke.regime, '--source', src.url, '--target', tgt.url, '--until-caught-up', '--allow-drop-create-table']);
      expect(ran.code).toBe(0);
      if (smoke.average) expect((await runCli(['average', smoke.regime, '--source', src.url, '--target', tgt.url, '--until-caught-up', '--allow-drop-create-table'])).code).toBe(0);
      const loaded = shippedRegime(smoke.regime);
      const got = await validities(loaded, tgt, smoke.spec);
      // every faked table wrote validities (one context per table), each with the unpivot's rows
      const contexts = new Set(got.map((v) => `${v.sitemask}/${v.subsite}/${v.task}`));
      expect(contexts.size).toBe(smoke.tables.length * (smoke.average ? 2 : 1));
      for (const v of got) expect(v.rows.length).toBe(smoke.rowsPerValidity);
    } finally {
      await src.drop();
      await tgt.drop();
    }
  });
});
