import { FakerColumnDecl, Regime } from '../../engine/config/regime';
import { withSchemaDefaults } from '../../engine/config/regime-defaults';

/** `faker.columns` rules as a loaded regime has them: each with its schema defaults filled in. */
export function fakerColumns(rules: Record<string, Partial<FakerColumnDecl>>): Record<string, FakerColumnDecl> {
  return Object.fromEntries(Object.entries(rules).map(([source, decl]) => [source, withSchemaDefaults<FakerColumnDecl>('/definitions/fakerColumn', decl)]));
}

/**
 * Regimes built in the tests (schema defaults written out), so faker tests do not depend on the
 * shipped YAML files changing.
 */
export function adtempLikeRegime(faker: Partial<Regime['faker']> = {}): Regime {
  return {
    name: 'fake_test_adtemp',
    source: 'fake_dcs',
    target: 'tmp_offline_db',
    timezone: 'Asia/Shanghai',
    tables: [{ pattern: '^DBNS_SAB_Temp$', columns: { 'DBNS_SAB_Temp_PT{1..5}': 'decimal(6,2)' } }],
    context: { sitemask: 32, subsite: 1, simmask: 1, task: 0, aggregateno: -1 },
    changes: [],
    scraper: {} as Regime['scraper'],
    averager: {} as Regime['averager'],
    faker: {
      interval: '10s',
      timestart: '2011-02-01 00:00:00',
      dropsrc: false,
      profile: 'modulo_ramp',
      tables: ['DBNS_SAB_Temp'],
      null_rate: 0,
      seed: 1,
      ...faker,
    },
    targets: [],
  };
}

/** A small pmthv-like regime: HV voltages (random walk) joined on id with HV power flags. */
export function hvLikeRegime(faker: Partial<Regime['faker']> = {}): Regime {
  return {
    ...adtempLikeRegime(),
    name: 'fake_test_hv',
    tables: [
      {
        pattern: '^(?<site>DBNS|LANS)_(?<detector>AD[1-4])_HV_Vmon$',
        columns: { 'L{1..2}C{1..2}R{1..2}': 'decimal(6,2)' },
        join: [{ table: '{site}_{detector}_HV_Pw', prefix: 'pw_', columns: { 'L{1..2}C{1..2}R{1..2}': 'tinyint' } }],
      },
    ],
    faker: {
      interval: '10s',
      timestart: '2011-02-01 00:00:00',
      dropsrc: false,
      profile: 'modulo_ramp',
      tables: ['DBNS_AD1_HV_Vmon', 'LANS_AD2_HV_Vmon'],
      columns: fakerColumns({
        '^L\\dC\\dR\\d$': { profile: 'random_walk', value: 1500, step: 0.4 },
        '^pw_': { profile: 'constant', value: 1 },
      }),
      null_rate: 0,
      seed: 7,
      ...faker,
    },
  };
}
