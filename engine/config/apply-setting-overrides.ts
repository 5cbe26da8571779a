/**
 * `--set key=value` overrides of a loaded regime's settings (scraper, averager, faker sections),
 * typed and validated by the same schema as the file, so an override can never be what the file
 * could not hold.
 */
import { ScrapeError } from '../core/errors';
import { normalizeTimeText } from '../core/time';
import { didYouMean } from './diagnostic';
import { Regime } from './regime';
import { SchemaNode, derefSchema, regimeSchema } from './regime-schema';
import { errorIssue } from './schema-issues';

/** Parses a `--set` value by the type the schema gives the setting; throws a message when it does not fit. */
function parseSettingValue(schema: SchemaNode, raw: string): unknown {
  const types: string[] = Array.isArray(schema.type) ? schema.type : schema.type ? [schema.type] : [];
  if (types.includes('integer')) {
    if (!/^-?\d+$/.test(raw.trim())) throw new Error(`must be an integer, found "${raw}"`);
    return Number(raw);
  }
  if (types.includes('number')) {
    const n = Number(raw);
    if (raw.trim() === '' || !Number.isFinite(n)) throw new Error(`must be a number, found "${raw}"`);
    return n;
  }
  if (types.includes('boolean')) {
    const v = raw.trim().toLowerCase();
    if (['true', 'yes', 'on', '1'].includes(v)) return true;
    if (['false', 'no', 'off', '0'].includes(v)) return false;
    throw new Error(`must be true or false, found "${raw}"`);
  }
  if (schema.format === 'local-time') {
    try {
      return normalizeTimeText(raw);
    } catch {
      throw new Error(`must be a local time YYYY-MM-DD HH:MM:SS, found "${raw}"`);
    }
  }
  return raw;
}

/**
 * Applies `--set key=value` overrides (`key` in `section`, or `section.key`) to a copy of the
 * regime, each value typed by the schema (integer, number, boolean, duration, local time) and
 * validated; an unknown key is a ScrapeError naming the nearest known key.
 */
export function applySettingOverrides(regime: Regime, sets: string[], section: 'scraper' | 'averager' | 'faker' = 'scraper'): Regime {
  const ctx = regimeSchema();
  const out: Regime = JSON.parse(JSON.stringify(regime));
  for (const set of sets) {
    const eq = set.indexOf('=');
    if (eq <= 0) throw new ScrapeError('REGIME_SETTING', `--set ${set}: use key=value (e.g. --set maxage=1h)`);
    let key = set.slice(0, eq).trim();
    const raw = set.slice(eq + 1);
    let where: 'scraper' | 'averager' | 'faker' = section;
    const dot = /^(scraper|averager|faker)\.(.+)$/.exec(key);
    if (dot) {
      where = dot[1] as typeof where;
      key = dot[2];
    }
    const sectionSchema = derefSchema(ctx.root.definitions[where]);
    const properties: Record<string, Record<string, unknown>> = sectionSchema.properties ?? {};
    if (!(key in properties)) {
      const known = Object.keys(properties);
      throw new ScrapeError('REGIME_SETTING', `--set ${set}: unknown ${where} setting \`${key}\`${didYouMean(key, known)} (settings: ${known.join(', ')})`);
    }
    const propertySchema = derefSchema(properties[key]);
    let value: unknown;
    try {
      value = parseSettingValue(propertySchema, raw);
    } catch (err) {
      throw new ScrapeError('REGIME_SETTING', `--set ${set}: ${where}.${key} ${(err as Error).message}`);
    }
    const target = { ...((out as unknown as Record<string, Record<string, unknown>>)[where] ?? {}), [key]: value };
    const check = ctx.ajv.getSchema(`${ctx.root.$id}#/definitions/${where}`)!;
    if (!check(JSON.parse(JSON.stringify(target)))) {
      const problem = (check.errors ?? []).find((e) => e.instancePath === `/${key}`) ?? check.errors?.[0];
      const detail = problem ? errorIssue(problem, target)?.message ?? problem.message : 'invalid';
      throw new ScrapeError('REGIME_SETTING', `--set ${set}: ${where}.${key} ${detail}`);
    }
    (out as unknown as Record<string, Record<string, unknown>>)[where] = target;
  }
  return out;
}
