import { columnSpread, niceDown, niceUp } from '../../engine/report/column-spread';
import { relatedTables } from '../../engine/report/regime-proposal';
import { familyContext, narrowFamily, tableFamily } from '../../engine/report/table-family';
import { proposeUnpivot } from '../../engine/report/unpivot-proposal';

/** The pure parts of `scrape new`: families from table names, contexts, unpivots, spreads. Expectations by hand. */

describe('tableFamily', () => {
  const TABLES = ['DBNS_ENV_PTH', 'LANS_ENV_PTH', 'FARS_ENV_PTH', 'DBNS_ENV_PTH_old', 'DBNS_SAB_Temp', 'DBNS_Crate1_VME', 'DBNS_Crate2_VME', 'DBNS_Crate3_VME', 'LANS_Crate1_VME', 'DBNS_Solo7_X',
    ...[1, 2, 3, 4, 5, 6, 7, 8].map((n) => `AD${n}_LidSensor`), 'DBNS_AD1_HV_Vmon', 'DBNS_AD2_HV_Vmon', 'FARS_AD4_HV_Vmon'];

  it('a site prefix: the sites that have the table, anchored (the _old table is not one)', () => {
    const f = tableFamily('LANS_ENV_PTH', TABLES)!;
    expect(f.pattern).toBe('^(?<site>DBNS|FARS|LANS)_ENV_PTH$');
    expect(f.members).toEqual(['DBNS_ENV_PTH', 'FARS_ENV_PTH', 'LANS_ENV_PTH']);
    expect(f.table).toBe('LANS_ENV_PTH');
    expect(f.memberCaptures.FARS_ENV_PTH).toEqual({ site: 'FARS' });
  });

  it('a number siblings differ in becomes a capture named after the letters before it; one no sibling shares stays literal', () => {
    expect(tableFamily('DBNS_Crate2_VME', TABLES)!.pattern).toBe('^(?<site>DBNS|LANS)_Crate(?<crate>\\d+)_VME$');
    expect(tableFamily('DBNS_Solo7_X', TABLES)!.pattern).toBe('^(?<site>DBNS)_Solo7_X$');
  });

  it('global AD numbers and detectors after a site', () => {
    expect(tableFamily('AD3_LidSensor', TABLES)!.pattern).toBe('^AD(?<ad>[1-8])_LidSensor$');
    const hv = tableFamily('DBNS_AD1_HV_Vmon', TABLES)!;
    expect(hv.pattern).toBe('^(?<site>DBNS|FARS)_(?<detector>AD1|AD2|AD4)_HV_Vmon$');
    expect(hv.members).toEqual(['DBNS_AD1_HV_Vmon', 'DBNS_AD2_HV_Vmon', 'FARS_AD4_HV_Vmon']);
  });

  it('crates after a site (AD1..AD4, IWS, OWS, RPC) are one detector capture; a crate word every member shows stays literal', () => {
    const vme = ['DBNS_AD1_VME', 'DBNS_IWS_VME', 'DBNS_RPC_VME', 'LANS_OWS_VME', 'DBNS_RPC_HV_Vmon', 'DBNS_MUON_PMT_HV_Vmon'];
    const f = tableFamily('DBNS_IWS_VME', vme)!;
    expect(f.pattern).toBe('^(?<site>DBNS|LANS)_(?<detector>AD1|IWS|OWS|RPC)_VME$');
    expect(f.members).toEqual(['DBNS_AD1_VME', 'DBNS_IWS_VME', 'DBNS_RPC_VME', 'LANS_OWS_VME']);
    // the crate's DetectorId: AD1 1, IWS 5, OWS 6, RPC 7
    expect(familyContext(f).subsite.value).toEqual({ capture: 'detector', map: { AD1: 1, AD2: 2, AD3: 3, AD4: 4, IWS: 5, OWS: 6, RPC: 7 } });
    // the only RPC_HV_Vmon: RPC literal, subsite 7 from the word
    expect(tableFamily('DBNS_RPC_HV_Vmon', vme)!.pattern).toBe('^(?<site>DBNS)_RPC_HV_Vmon$');
    // beside the ADs' HV_Vmon (other columns), narrowed to it: RPC literal again
    const hv = tableFamily('DBNS_RPC_HV_Vmon', [...vme, 'DBNS_AD1_HV_Vmon', 'LANS_AD2_HV_Vmon'])!;
    expect(hv.members).toEqual(['DBNS_AD1_HV_Vmon', 'DBNS_RPC_HV_Vmon', 'LANS_AD2_HV_Vmon']);
    expect(narrowFamily(hv, ['DBNS_RPC_HV_Vmon'])!.pattern).toBe('^(?<site>DBNS)_RPC_HV_Vmon$');
  });

  it('a sibling spelled with one _ more or less joins through _? (DBNS_AD1_HVPw beside DBNS_AD2_HV_Pw), from either spelling', () => {
    const pw = ['DBNS_AD1_HVPw', 'DBNS_AD2_HV_Pw', 'LANS_AD1_HV_Pw', 'DBNS_AD1_HV_Vmon', 'DBNS_WaterSystem', 'LANS_WaterSystem'];
    for (const from of ['DBNS_AD1_HVPw', 'LANS_AD1_HV_Pw']) {
      const f = tableFamily(from, pw)!;
      expect(f.pattern).toBe('^(?<site>DBNS|LANS)_(?<detector>AD1|AD2)_HV_?Pw$');
      expect(f.members).toEqual(['DBNS_AD1_HVPw', 'DBNS_AD2_HV_Pw', 'LANS_AD1_HV_Pw']);
    }
    // no sibling spelled otherwise: no _? (WaterSystem stays one word)
    expect(tableFamily('DBNS_WaterSystem', pw)!.pattern).toBe('^(?<site>DBNS|LANS)_WaterSystem$');
  });

  it('a pattern given: its matches, the first inspected, capture kinds from names and values', () => {
    const f = tableFamily('(?<site>DBNS|LANS)_ENV_PTH', TABLES)!;
    expect(f.pattern).toBe('^(?:(?<site>DBNS|LANS)_ENV_PTH)$');
    expect(f.members).toEqual(['DBNS_ENV_PTH', 'LANS_ENV_PTH']);
    expect(f.table).toBe('DBNS_ENV_PTH');
    expect(f.captures).toEqual([{ name: 'site', kind: 'site', values: ['DBNS', 'LANS'] }]);
    expect(tableFamily('^Nothing_(?<n>\\d+)$', TABLES)).toBeUndefined();
    expect(tableFamily('DBNS_ENV_PHT', TABLES)).toBeUndefined();
  });

  it('narrowed to some members: each capture lists their values, or undefined when that cannot leave the others out', () => {
    const f = tableFamily('DBNS_Crate1_VME', TABLES)!;
    const n = narrowFamily(f, ['DBNS_Crate1_VME', 'DBNS_Crate2_VME', 'LANS_Crate1_VME'])!;
    expect(n.pattern).toBe('^(?<site>DBNS|LANS)_Crate(?<crate>1|2)_VME$');
    expect(n.members).toEqual(['DBNS_Crate1_VME', 'DBNS_Crate2_VME', 'LANS_Crate1_VME']);
    // DBNS_Crate1 and LANS_Crate2 kept but not LANS_Crate1 / DBNS_Crate2: no product of values says that
    const g = tableFamily('DBNS_Crate1_VME', [...TABLES, 'LANS_Crate2_VME'])!;
    expect(narrowFamily(g, ['DBNS_Crate1_VME', 'LANS_Crate2_VME'])).toBeUndefined();
  });
});

describe('familyContext', () => {
  const ctx = (table: string, tables: string[]) => familyContext(tableFamily(table, tables)!);

  it('site map; hall map of global ADs; detector map; SAB; RPC; a number to decide; nothing: defaults to decide', () => {
    expect(ctx('LANS_ENV_PTH', ['LANS_ENV_PTH']).sitemask).toMatchObject({ value: { capture: 'site', map: { DBNS: 1, LANS: 2, FARS: 4 } }, todo: false });
    const lid = ctx('AD8_LidSensor', ['AD8_LidSensor']);
    // EH1 AD1 AD2 -> 1; EH2 AD3 AD8 -> 2; EH3 AD4..7 -> 4; subsites the AD's place in its hall
    expect(lid.sitemask.value).toEqual({ capture: 'ad', map: { '1': 1, '2': 1, '3': 2, '8': 2, '4': 4, '5': 4, '6': 4, '7': 4 } });
    expect(lid.subsite.value).toEqual({ capture: 'ad', map: { '1': 1, '2': 2, '3': 1, '8': 2, '4': 1, '5': 2, '6': 3, '7': 4 } });
    expect(ctx('DBNS_AD2_HV_Vmon', ['DBNS_AD2_HV_Vmon']).subsite.value).toEqual({ capture: 'detector', map: { AD1: 1, AD2: 2, AD3: 3, AD4: 4 } });
    expect(ctx('DBNS_SAB_Temp', ['DBNS_SAB_Temp']).sitemask).toMatchObject({ value: 32, todo: false });
    expect(ctx('DBNS_RPC_HV_Vmon', ['DBNS_RPC_HV_Vmon']).subsite).toMatchObject({ value: 7, todo: false });
    expect(ctx('DBNS_Crate1_VME', ['DBNS_Crate1_VME', 'DBNS_Crate2_VME']).subsite).toMatchObject({ value: { capture: 'crate' }, todo: true });
    const none = ctx('Weather', ['Weather']);
    expect([none.sitemask.value, none.sitemask.todo, none.subsite.value, none.subsite.todo]).toEqual([1, true, 0, true]);
  });
});

describe('proposeUnpivot', () => {
  const numeric = (names: string[], type = 'decimal(6,2)') => names.map((name) => ({ name, type, numeric: true }));

  it('power flag channels (HV_Pw, HVPw) hold power', () => {
    const cells: string[] = [];
    for (let l = 1; l <= 8; l++) for (let c = 1; c <= 3; c++) for (let r = 1; r <= 8; r++) cells.push(`L${l}C${c}R${r}`);
    expect(proposeUnpivot('DBNS_AD2_HV_Pw', numeric(cells, 'tinyint'))!.valueField).toBe('power');
    expect(proposeUnpivot('DBNS_AD1_HVPw', numeric(cells, 'tinyint'))!.valueField).toBe('power');
  });

  it('L1C1R1..L8C3R8: ladder, col, ring', () => {
    const cells: string[] = [];
    for (let l = 1; l <= 8; l++) for (let c = 1; c <= 3; c++) for (let r = 1; r <= 8; r++) cells.push(`L${l}C${c}R${r}`);
    const u = proposeUnpivot('DBNS_AD1_HV_Vmon', numeric(cells))!;
    expect(u.pattern).toBe('^L(?<ladder>\\d+)C(?<col>\\d+)R(?<ring>\\d+)$');
    expect(u.valueField).toBe('voltage');
    expect(u.columns).toHaveLength(192);
  });

  it('dotted channel names: the separators kept literal', () => {
    const names: string[] = [];
    for (let s = 0; s < 2; s++) for (let i = 0; i < 12; i++) names.push(`DBNS_AD_HV.Slot${s}.I${i}`);
    const u = proposeUnpivot('DBNS_AD1_HV_Imon', [...numeric(names), { name: 'Status', type: 'int', numeric: true }])!;
    expect(u.pattern).toBe('^DBNS_AD_HV\\.Slot(?<slot>\\d+)\\.I(?<i>\\d+)$');
    expect(u.valueField).toBe('current');
    expect(u.columns).toEqual(names);
  });

  it('too few channels, or channels not most of the columns: none', () => {
    const vme = [...numeric(['Voltage_5V', 'Current_5V', 'FanTemperature', 'Fanspeed']), ...numeric(Array.from({ length: 8 }, (_, i) => `Temperature${i + 1}`))];
    expect(proposeUnpivot('DBNS_Crate1_VME', vme)).toBeUndefined();
    const few = numeric(Array.from({ length: 16 }, (_, i) => `T${i}`));
    const many = numeric(Array.from({ length: 9 }, (_, i) => `Other_${String.fromCharCode(65 + i)}`), 'float');
    // 16 channels of 25 numeric columns: less than two thirds
    expect(proposeUnpivot('X', [...few, ...many])).toBeUndefined();
  });

  it('coded names of no common shape: one channel capture, when a simple pattern tells them from the rest', () => {
    const codes = ['DCIU3G', 'DVOH42', 'DCOU1A', 'DVIH7', 'DCIU12B', 'DVOH5', 'DCID2C', 'DVID33', 'DCOD4D', 'DVOD8', 'DCIU9E', 'DVOH11', 'DCOU6F', 'DVIH21', 'DCID10G', 'DVID2'];
    const u = proposeUnpivot('DBNS_MUON_PMT_HV_Vmon', numeric(codes))!;
    expect(u.pattern).toBe('^(?<channel>[A-Z]+\\d+[A-Z]*)$');
    expect(u.captures[0].name).toBe('channel');
    expect(u.columns).toEqual(codes);
  });
});

describe('spreads and rounding', () => {
  it('niceUp and niceDown to 1, 2, 5 x 10^k', () => {
    expect([niceUp(0.1048), niceUp(0.2), niceUp(3), niceUp(0.03), niceUp(7)]).toEqual([0.2, 0.2, 5, 0.05, 10]);
    expect([niceDown(0.25), niceDown(0.07), niceDown(1), niceDown(0.011)]).toEqual([0.2, 0.05, 1, 0.01]);
  });

  it('columnSpread: noise from the median |difference| (NULL pairs skipped), steps, mode', () => {
    // differences: +2, -2, (null pair skipped), +2 -> median |d| 2 -> noise 1.4826 x 2 / sqrt 2
    const s = columnSpread([10, 12, 10, null, 10, 12]);
    expect(s.differences).toBe(3);
    expect(s.noise).toBeCloseTo((1.4826 * 2) / Math.SQRT2, 12);
    expect(s.mode).toBe(10);
    expect(s.distinct).toBe(2);
    // one step of 0.5 among zeros: no noise, smallest step 0.5
    const t = columnSpread([5, 5, 5, 5.5, 5.5]);
    expect([t.noise, t.smallestStep]).toEqual([0, 0.5]);
  });
});

describe('relatedTables', () => {
  it('power flags to join and an older name', () => {
    expect(relatedTables('DBNS_AD1_HV_Vmon', ['DBNS_AD1_HV_Vmon', 'DBNS_AD1_HV_Pw', 'DBNS_AD1_HV'])).toEqual([
      'DBNS_AD1_HV_Pw looks like the power flags of DBNS_AD1_HV_Vmon: join it on id (tables[].join, as regimes.d/pmthv.yaml does)',
      'DBNS_AD1_HV looks like an older name of DBNS_AD1_HV_Vmon: its rows are not read by this regime',
    ]);
    expect(relatedTables('DBNS_AD1_HV_Vmon', ['DBNS_AD1_HV_Vmon', 'DBNS_AD1_HVPw'])).toHaveLength(1);
    expect(relatedTables('DBNS_ENV_PTH', ['DBNS_ENV_PTH', 'DBNS_ENV'])).toHaveLength(1);
    expect(relatedTables('DBNS_ENV_PTH', ['DBNS_ENV_PTH'])).toEqual([]);
    // given the columns: a name of one more or one less part is another name only with the same columns
    const L = ['L1C1R1', 'L1C1R2'];
    const I = ['DBNS_AD_HV.Slot0.I0'];
    const tables = ['DBNS_AD1_HV', 'DBNS_AD1_HV_Vmon', 'DBNS_AD1_HV_Imon', 'DBNS_AD1_HV_Pw'];
    const columns = { DBNS_AD1_HV: L, DBNS_AD1_HV_Vmon: L, DBNS_AD1_HV_Imon: I, DBNS_AD1_HV_Pw: L.slice(1) };
    expect(relatedTables('DBNS_AD1_HV', tables, columns)).toEqual(['DBNS_AD1_HV_Vmon looks like a later name of DBNS_AD1_HV: its rows are not read by this regime']);
    expect(relatedTables('DBNS_AD1_HV_Imon', tables, columns)).toEqual([]);
  });
});
