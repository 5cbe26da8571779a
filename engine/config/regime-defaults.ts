/**
 * Defaults read from the regime schema, the one place they are declared. A loaded regime already
 * has every default filled in (ajv `useDefaults`); these are for what a regime does not hold: the
 * averager's aggregation when the regime declares none, a faker column no `faker.columns` rule
 * matches, and the defaults shown beside effective settings in `--help`.
 */
import { AggregateDecl, FakerColumnDecl, Regime, WriterRole } from './regime';
import { derefSchema, regimeSchema } from './regime-schema';

const filled = new Map<string, unknown>();

/**
 * `value` with the schema defaults of the node at `pointer` (a JSON pointer into the schema,
 * `/properties/unpivot`, `/definitions/aggregate`) filled in, as a regime's part is at load. For
 * code and tests that build a part of a regime without a file. Throws when `value` is invalid.
 */
export function withSchemaDefaults<T>(pointer: string, value: unknown): T {
  const schema = regimeSchema();
  const validate = schema.ajv.getSchema(`${schema.root.$id}#${pointer}`);
  if (!validate) throw new Error(`regime schema has no node '${pointer}'`);
  const copy = JSON.parse(JSON.stringify(value));
  if (!validate(copy)) throw new Error(`regime schema: invalid value for '${pointer}': ${schema.ajv.errorsText(validate.errors)}`);
  return copy as T;
}

/**
 * The default of schema definition `name` with the defaults of its own keys filled in, as a fresh
 * copy (`fakerColumn` → `{value: 0, amplitude: 1, period: 60, step: 1}`). A definition without a
 * `default` starts from `{}`. Throws when the schema's default does not satisfy the schema.
 */
export function schemaDefault(name: string): unknown {
  if (!filled.has(name)) {
    const definition = regimeSchema().root.definitions?.[name];
    if (!definition) throw new Error(`regime schema has no definition '${name}'`);
    const pointer = typeof definition.$ref === 'string' ? definition.$ref.slice(1) : `/definitions/${name}`;
    filled.set(name, withSchemaDefaults(pointer, definition.default ?? {}));
  }
  return JSON.parse(JSON.stringify(filled.get(name)));
}

/**
 * The aggregation the averager runs over each bin: the regime's `aggregate`, else the schema's
 * `averagerAggregate` (avg/min/max/std of every numeric column plus `count`). The scraper has no
 * such fallback: without `aggregate` it aggregates nothing.
 */
export function averagerAggregate(regime: Regime): AggregateDecl {
  return regime.aggregate ?? (schemaDefault('averagerAggregate') as AggregateDecl);
}

/** The settings of a faker column that no `faker.columns` rule matches (the fakerColumn defaults). */
export function defaultFakerColumn(): FakerColumnDecl {
  return schemaDefault('fakerColumn') as FakerColumnDecl;
}

/** Each setting of a section (`scraper`, `averager`, `faker`) with its schema default (undefined when it has none), in schema order. */
export function settingDefaults(section: 'scraper' | 'averager' | 'faker'): Record<string, unknown> {
  const properties: Record<string, Record<string, unknown>> = derefSchema(regimeSchema().root.definitions[section]).properties ?? {};
  const out: Record<string, unknown> = {};
  for (const [key, property] of Object.entries(properties)) out[key] = derefSchema(property).default;
  return out;
}

/**
 * The regime as its scraper (`scrape`) or averager (`average`) writes it: `context.task` replaced
 * by the role's own `task` when the regime gives one, so a regime both scraped and averaged into
 * one target keeps one writer per (table, context). The same regime object when nothing changes.
 */
export function regimeForRole(regime: Regime, role: WriterRole): Regime {
  const task = role === 'scrape' ? regime.scraper.task : regime.averager.task;
  if (task === undefined || task === regime.context.task) return regime;
  return { ...regime, context: { ...regime.context, task } };
}
