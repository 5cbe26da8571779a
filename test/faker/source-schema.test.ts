import * as path from 'path';
import { loadRegime } from '../../engine/config/load-regime';
import { expandColumnNames, fakeTables } from '../../engine/faker/source-schema';
import { isScrapeError } from '../../engine/core/errors';
import { adtempLikeRegime } from './fake-regime';

const REGIMES = path.join(__dirname, '..', '..', 'regimes.d');

describe('column-name ranges', () => {
  it('expands L{1..8}C{1..3}R{1..8} into the 192 PMT names, leftmost range slowest', () => {
    const names = expandColumnNames('L{1..8}C{1..3}R{1..8}');
    expect(names).toHaveLength(8 * 3 * 8);
    expect(names.slice(0, 10)).toEqual(['L1C1R1', 'L1C1R2', 'L1C1R3', 'L1C1R4', 'L1C1R5', 'L1C1R6', 'L1C1R7', 'L1C1R8', 'L1C2R1', 'L1C2R2']);
    expect(names[names.length - 1]).toBe('L8C3R8');
    expect(new Set(names).size).toBe(192);
  });

  it('expands a single range and leaves plain names alone', () => {
    expect(expandColumnNames('DBNS_SAB_Temp_PT{1..5}')).toEqual(['DBNS_SAB_Temp_PT1', 'DBNS_SAB_Temp_PT2', 'DBNS_SAB_Temp_PT3', 'DBNS_SAB_Temp_PT4', 'DBNS_SAB_Temp_PT5']);
    expect(expandColumnNames('Temp_LS')).toEqual(['Temp_LS']);
  });
});

describe('fakeTables', () => {
  it('derives the joined power tables of the shipped pmthv regime from the pattern captures', () => {
    const { regime } = loadRegime('pmthv', { regimesDir: REGIMES });
    const tables = fakeTables(regime);
    expect(tables.map((t) => t.name)).toEqual(regime.faker.tables);
    const lans = tables.find((t) => t.name === 'LANS_AD2_HV_Vmon')!;
    expect(lans.captures).toEqual({ site: 'LANS', detector: 'AD2' });
    expect(lans.columns).toHaveLength(192);
    expect(lans.joins.map((j) => j.name)).toEqual(['LANS_AD2_HV_Pw']);
    expect(lans.joins[0].columns[0]).toEqual({ name: 'L1C1R1', type: 'tinyint', key: 'pw_L1C1R1' });
  });

  it('refuses a faker table that matches none of the regime tables', () => {
    const regime = adtempLikeRegime({ tables: ['DBNS_SAB_Temp', 'LANS_SAB_Temp'] });
    try {
      fakeTables(regime);
      throw new Error('expected a refusal');
    } catch (err) {
      expect(isScrapeError(err, 'FAKER_TABLES')).toBe(true);
    }
  });

  it('narrows to --tables', () => {
    const { regime } = loadRegime('pmthv', { regimesDir: REGIMES });
    expect(fakeTables(regime, ['FARS_AD3_HV_Vmon']).map((t) => [t.name, t.joins[0].name])).toEqual([['FARS_AD3_HV_Vmon', 'FARS_AD3_HV_Pw']]);
  });
});
