import type * as R from '../../engine/config/regime';
import { SchemaNode, derefSchema, regimeSchema } from '../../engine/config/regime-schema';

/**
 * engine/config/regime.ts mirrors schemas/regime.schema.json by hand. This test holds the two
 * together: each object below is typed from the TypeScript type (`tsc` fails when a key is added,
 * removed or changes optionality there), and its content is compared with the keys the schema
 * declares (the test fails when the schema changes and the type does not follow).
 *
 * `always`: present in every loaded regime (required, or filled by a schema default);
 * `optional`: may be absent.
 */
type Presence<T> = { [K in keyof T]-?: {} extends Pick<T, K> ? 'optional' : 'always' }; // eslint-disable-line @typescript-eslint/ban-types

const regime: Presence<R.Regime> = {
  name: 'always', description: 'optional', source: 'always', target: 'always', timezone: 'always', tables: 'always', context: 'always',
  unpivot: 'optional', changes: 'always', aggregate: 'optional', scraper: 'always', averager: 'always', faker: 'always', targets: 'always',
};
const table: Presence<R.TableDecl> = { name: 'optional', pattern: 'optional', columns: 'optional', join: 'optional', succession: 'optional' };
const join: Presence<R.JoinDecl> = { table: 'always', prefix: 'always', columns: 'optional' };
const context: Presence<R.ContextDecl> = { sitemask: 'always', subsite: 'always', simmask: 'always', task: 'always', aggregateno: 'always' };
const contextCapture: Presence<Exclude<R.ContextValueDecl, number>> = { capture: 'always', map: 'optional' };
const unpivot: Presence<R.UnpivotDecl> = { pattern: 'always', values: 'always' };
const changeRule: Presence<R.ChangeRuleDecl> = { columns: 'optional', threshold: 'optional', equal: 'optional', when: 'optional', null_is_change: 'always' };
const filterCondition: Presence<R.FilterCondition> = { column: 'always', op: 'always', value: 'optional' };
const aggregate: Presence<R.AggregateDecl> = { functions: 'always', count: 'always', skips: 'always', filter: 'always', none: 'always' };
const scraper: Presence<R.ScraperSettings> = {
  interval: 'always', sleep: 'always', heartbeat: 'always', offset: 'always', maxage: 'always', threshold: 'always', maxiter: 'always', timefloor: 'always',
  seed_target_tables: 'always', seed_timestart: 'always', seed_timeend: 'always', tunesleepmod: 'always', page_size: 'always', join_wait: 'always',
  future_limit: 'always', task: 'optional',
};
const averager: Presence<R.AveragerSettings> = { bin: 'always', chunk: 'always', sleep: 'always', task: 'optional' };
const faker: Presence<R.FakerSettings> = {
  source: 'optional', interval: 'always', timestart: 'optional', dropsrc: 'always', dump: 'optional', tables: 'optional', profile: 'always',
  columns: 'optional', null_rate: 'always', quality: 'optional', seed: 'always',
};
const quality: Presence<NonNullable<R.FakerSettings['quality']>> = { column: 'always', good: 'always', bad: 'always', rate: 'always' };
const fakerColumn: Presence<R.FakerColumnDecl> = {
  profile: 'optional', expr: 'optional', value: 'always', amplitude: 'always', period: 'always', step: 'always', null_rate: 'optional',
};
const target: Presence<R.TargetDecl> = { spec: 'always', map: 'always' };

/** Each TypeScript shape beside the schema node (JSON pointer) it mirrors. */
const SECTIONS: Array<[string, string, Record<string, 'always' | 'optional'>]> = [
  ['Regime', '', regime],
  ['TableDecl', '/definitions/table', table],
  ['JoinDecl', '/definitions/table/properties/join/items', join],
  ['ContextDecl', '/properties/context', context],
  ['ContextValueDecl (capture)', '/definitions/contextValue/oneOf/1', contextCapture],
  ['UnpivotDecl', '/properties/unpivot', unpivot],
  ['ChangeRuleDecl', '/definitions/changeRule', changeRule],
  ['FilterCondition', '/definitions/filterCondition', filterCondition],
  ['AggregateDecl', '/definitions/aggregate', aggregate],
  ['ScraperSettings', '/definitions/scraper', scraper],
  ['AveragerSettings', '/definitions/averager', averager],
  ['FakerSettings', '/definitions/faker', faker],
  ['FakerSettings.quality', '/definitions/faker/properties/quality', quality],
  ['FakerColumnDecl', '/definitions/fakerColumn', fakerColumn],
  ['TargetDecl', '/definitions/target', target],
];

/**
 * Keys the schema fills in but the type leaves optional, on purpose and with the reason. Nothing
 * else may differ.
 */
const LOOSER_IN_TYPE: Record<string, string> = {};

function nodeAt(pointer: string): SchemaNode {
  const node = pointer.split('/').slice(1).reduce((o: SchemaNode, k: string) => o?.[k], regimeSchema().root);
  return derefSchema(node);
}

/** The keys the schema declares for a node, each `always` (required or defaulted) or `optional`. */
function schemaPresence(pointer: string): Record<string, 'always' | 'optional'> {
  const node = nodeAt(pointer);
  const required: string[] = node.required ?? [];
  const out: Record<string, 'always' | 'optional'> = {};
  for (const [key, property] of Object.entries<SchemaNode>(node.properties ?? {})) {
    out[key] = required.includes(key) || derefSchema(property).default !== undefined ? 'always' : 'optional';
  }
  return out;
}

describe('Regime type against the schema', () => {
  it.each(SECTIONS)('%s has the keys of %s, each as present', (name, pointer, typed) => {
    const fromSchema = schemaPresence(pointer);
    for (const key of Object.keys(LOOSER_IN_TYPE)) {
      const [section, k] = key.split('.');
      if (section === name && fromSchema[k] === 'always' && typed[k] === 'optional') fromSchema[k] = 'optional';
    }
    expect(typed).toEqual(fromSchema);
  });

  it('every object section of the schema is covered', () => {
    const covered = new Set(SECTIONS.map(([, p]) => p));
    const definitions = Object.entries<SchemaNode>(regimeSchema().root.definitions).filter(([, d]) => derefSchema(d).properties).map(([n]) => `/definitions/${n}`);
    const top = Object.entries<SchemaNode>(regimeSchema().root.properties).filter(([, p]) => p.properties).map(([n]) => `/properties/${n}`);
    expect([...definitions, ...top].filter((p) => !covered.has(p) && p !== '/definitions/averagerAggregate')).toEqual([]);
  });

  it('the known looser keys are still looser (remove them here once the type is tightened)', () => {
    for (const key of Object.keys(LOOSER_IN_TYPE)) {
      const [section, k] = key.split('.');
      const [, pointer, typed] = SECTIONS.find(([n]) => n === section)!;
      expect([key, schemaPresence(pointer)[k], typed[k]]).toEqual([key, 'always', 'optional']);
    }
  });

  const aggregateFunctions: Record<R.AggregateFunction, true> = {
    avg: true, min: true, max: true, std: true, stddev_samp: true, variance: true, var_samp: true, sum: true, count: true, first: true, last: true, twavg: true,
  };
  const filterOps: Record<R.FilterOp, true> = { '=': true, '!=': true, '<': true, '<=': true, '>': true, '>=': true, in: true, 'not in': true, 'is null': true, 'is not null': true };
  const profiles: Record<R.FakerProfile, true> = { modulo_ramp: true, constant: true, ramp: true, sine: true, random_walk: true, step: true, drift: true };

  it.each([
    ['AggregateFunction', '/definitions/aggregate/properties/functions/items', aggregateFunctions],
    ['FilterOp', '/definitions/filterCondition/properties/op', filterOps],
    ['FakerProfile', '/definitions/faker/properties/profile', profiles],
    ['FakerProfile (column)', '/definitions/fakerColumn/properties/profile', profiles],
  ])('%s lists the enum of %s', (_name, pointer, typed) => {
    expect(Object.keys(typed).sort()).toEqual([...(nodeAt(pointer).enum as string[])].sort());
  });
});
