import { ErrorCode } from '../core/error-codes';
/**
 * Readable diagnostics from ajv's schema errors: each error becomes an issue at the node it is
 * about, worded for an operator (`must be a duration …, found string "10 min"`), and oneOf/anyOf
 * failures are reduced to the one branch that explains them.
 */
import { ErrorObject } from 'ajv';
import { didYouMean } from './diagnostic';
import { CREDENTIAL_KEY, Issue, RegimeText, positionInString } from './regime-issue';
import { jsonataError, regexError, regimeFormat } from './regime-formats';
import { regimeSchema } from './regime-schema';
import { pointerSegments } from './yaml-positions';

const TYPE_WORDS: Record<string, string> = {
  object: 'a mapping',
  array: 'a list',
  string: 'a string',
  integer: 'an integer',
  number: 'a number',
  boolean: 'true or false',
  null: 'null',
};

function typeWords(types: unknown): string {
  const names = [...new Set(Array.isArray(types) ? types.map(String) : String(types).split(','))];
  if (names.length === 1) return TYPE_WORDS[names[0]] ?? names[0];
  const list = names.map((t) => (t === 'boolean' ? 'a boolean' : (TYPE_WORDS[t] ?? t)));
  return `${list.slice(0, -1).join(', ')} or ${list[list.length - 1]}`;
}

/** A short description of a YAML value for messages (`string "10 min"`, `a mapping`). */
function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'an empty value';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return `string "${value.length > 40 ? value.slice(0, 37) + '...' : value}"`;
  if (typeof value === 'number') return Number.isInteger(value) ? `integer ${value}` : `number ${value}`;
  return `${typeof value} ${String(value)}`;
}

function errorKey(e: ErrorObject): string {
  return `${e.instancePath}|${e.keyword}|${JSON.stringify(e.params)}|${e.message}`;
}

function valueAt(data: unknown, segments: ReadonlyArray<string | number>): unknown {
  let v: unknown = data;
  for (const s of segments) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string, unknown>)[String(s)];
  }
  return v;
}

/** Pointer segments with array indexes as numbers (so paths render as `targets[0]`). */
function typedSegments(data: unknown, pointer: string): Array<string | number> {
  const out: Array<string | number> = [];
  let v: unknown = data;
  for (const s of pointerSegments(pointer)) {
    out.push(Array.isArray(v) && /^\d+$/.test(s) ? Number(s) : s);
    v = v !== null && typeof v === 'object' ? (v as Record<string, unknown>)[s] : undefined;
  }
  return out;
}

function isRequiredOnly(schema: unknown): schema is { required: string[] } {
  return !!schema && typeof schema === 'object' && Object.keys(schema).length === 1 && Array.isArray((schema as { required?: unknown }).required);
}

/**
 * Turns ajv errors into issues. oneOf/anyOf failures are reduced to the most relevant branch:
 * branches whose type does not even match are dropped, required-only alternatives become one
 * "needs one of" message, and of the rest the branch with the fewest errors is reported.
 */
export function schemaIssues(errors: ErrorObject[], data: unknown, src?: RegimeText): Issue[] {
  const ctx = regimeSchema();
  const issues: Issue[] = [];
  const consumed = new Set<string>();
  const alternatives = errors
    .filter((e) => e.keyword === 'oneOf' || e.keyword === 'anyOf')
    .sort((a, b) => a.instancePath.length - b.instancePath.length);
  for (const alt of alternatives) {
    const key = errorKey(alt);
    if (consumed.has(key)) continue;
    consumed.add(key);
    const segments = typedSegments(data, alt.instancePath);
    const pointer = ctx.alternatives.get(alt.schema);
    const branchSchemas = alt.schema as unknown[];
    if (!pointer || !Array.isArray(branchSchemas)) {
      issues.push({ segments, code: 'REGIME_SCHEMA', message: alt.message ?? 'invalid' });
      continue;
    }
    const value = valueAt(data, segments);
    const branches = branchSchemas.map((schema, i) => {
      const check = ctx.branchAjv.getSchema(`${ctx.root.$id}#${pointer}/${i}`)!;
      const ok = check(value === undefined ? undefined : JSON.parse(JSON.stringify(value)));
      const errs = ok ? [] : (check.errors ?? []).map((e) => ({ ...e, instancePath: alt.instancePath + e.instancePath }));
      for (const e of errs) consumed.add(errorKey(e));
      return { schema, errors: errs };
    });
    // a type error on the node itself (outside the alternatives) says it all
    const typeElsewhere = errors.some((e) => e.instancePath === alt.instancePath && e.keyword === 'type' && !consumed.has(errorKey(e)));
    if (typeElsewhere) continue;
    const passing = (alt.params as { passingSchemas?: number[] | null }).passingSchemas;
    const alternativesText = (indexes: number[]) =>
      indexes.map((i) => (branchSchemas[i] as { required: string[] }).required.map((r) => `\`${r}\``).join(' + ')).join(', ');
    if (Array.isArray(passing) && passing.length > 1) {
      const message = passing.every((i) => isRequiredOnly(branchSchemas[i]))
        ? `give only one of: ${alternativesText(passing)}`
        : `matches more than one alternative (${passing.join(', ')}); make it unambiguous`;
      issues.push({ segments, code: 'REGIME_SCHEMA', message, useKey: true });
      continue;
    }
    const typeMatches = branches.filter((b) => !b.errors.some((e) => e.instancePath === alt.instancePath && e.keyword === 'type'));
    if (typeMatches.length === 0) {
      const types = branches.flatMap((b) => b.errors.filter((e) => e.keyword === 'type' && e.instancePath === alt.instancePath).flatMap((e) => (e.params as { type: string | string[] }).type));
      issues.push({ segments, code: 'REGIME_SCHEMA', message: `must be ${typeWords(types)}, found ${describe(value)}` });
    } else if (branchSchemas.every(isRequiredOnly)) {
      issues.push({ segments, code: 'REGIME_SCHEMA', message: `needs one of: ${alternativesText(branchSchemas.map((_, i) => i))}`, useKey: true });
    } else {
      const best = typeMatches.reduce((a, b) => (b.errors.length < a.errors.length ? b : a));
      issues.push(...schemaIssues(best.errors, data, src));
    }
  }
  for (const e of errors) {
    if (e.keyword === 'oneOf' || e.keyword === 'anyOf' || e.keyword === 'propertyNames' || consumed.has(errorKey(e))) continue;
    consumed.add(errorKey(e));
    const issue = errorIssue(e, data, src);
    if (issue) issues.push(issue);
  }
  return issues;
}

/**
 * One ajv error (not oneOf/anyOf) as an issue with a readable message; `src` (the file) lets a
 * JSONata error point inside its string.
 */
export function errorIssue(e: ErrorObject, data: unknown, src?: RegimeText): Issue | undefined {
  let segments = typedSegments(data, e.instancePath);
  const params = e.params as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  let useKey = false;
  if (e.propertyName !== undefined) {
    segments = [...segments, e.propertyName];
    useKey = true;
  }
  const value = e.propertyName !== undefined ? e.propertyName : e.data;
  const base = { segments, code: 'REGIME_SCHEMA' as ErrorCode, useKey, keyword: e.keyword };
  switch (e.keyword) {
    case 'additionalProperties': {
      const key = String(params.additionalProperty);
      if (CREDENTIAL_KEY.test(key)) return undefined; // reported as REGIME_CREDENTIALS
      const allowed = Object.keys((e.parentSchema as { properties?: object })?.properties ?? {});
      const hint = didYouMean(key, allowed) || (allowed.length ? ` (allowed: ${allowed.join(', ')})` : '');
      return { ...base, segments: [...segments, key], code: 'REGIME_UNKNOWN_KEY', useKey: true, message: `unknown key \`${key}\`${hint}` };
    }
    case 'required':
      return { ...base, segments: [...segments, String(params.missingProperty)], message: 'required key missing', pos: undefined, useKey: false, keyword: 'required' };
    case 'type': {
      // a named format says more than its type: `must be a duration …, found integer 10`
      const format = regimeFormat((e.parentSchema as { format?: string })?.format);
      return { ...base, message: `must be ${format ? format.words : typeWords(params.type)}, found ${describe(value)}` };
    }
    case 'uniqueItems': {
      const [first, again] = [Number(params.j), Number(params.i)].sort((a, b) => a - b);
      const item = Array.isArray(value) ? value[again] : undefined;
      return { ...base, segments: [...segments, again], message: `duplicate item ${JSON.stringify(item)} (same as item ${first})` };
    }
    case 'minItems':
      return { ...base, message: Number(params.limit) === 1 ? 'must not be empty' : `must have at least ${params.limit} items` };
    case 'pattern': {
      const subject = e.propertyName !== undefined ? `key \`${e.propertyName}\` ` : '';
      return { ...base, message: `${subject}must match "${params.pattern}", found ${describe(value)}` };
    }
    case 'enum': {
      const allowed = (params.allowedValues as unknown[]).map(String);
      return { ...base, message: `must be one of: ${allowed.join(', ')}; found ${describe(value)}${typeof value === 'string' ? didYouMean(value, allowed) : ''}` };
    }
    case 'not':
      // `not: {required: [a, b]}`: keys that exclude each other
      if (isRequiredOnly(e.schema)) return { ...base, useKey: true, message: `give only one of: ${e.schema.required.map((r) => `\`${r}\``).join(', ')}` };
      return { ...base, message: e.message ?? 'invalid' };
    case 'const':
      return { ...base, message: `must be ${JSON.stringify(params.allowedValue)}, found ${describe(value)}` };
    case 'format': {
      if (params.format === 'regex') {
        return { ...base, code: 'REGIME_REGEX', message: `bad regular expression: ${regexError(String(value))}` };
      }
      if (params.format === 'jsonata') {
        const problem = jsonataError(String(value));
        if (!problem) return undefined;
        const pos = positionInString(src, segments, problem.index);
        return { ...base, code: 'REGIME_JSONATA', message: `bad JSONata: ${problem.message}`, pos };
      }
      const format = regimeFormat(params.format);
      return { ...base, message: format ? `must be ${format.words}, found ${describe(value)}` : (e.message ?? 'invalid') };
    }
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
    case 'exclusiveMaximum':
      return { ...base, message: `${e.message}, found ${describe(value)}` };
    default:
      return { ...base, message: e.message ?? 'invalid' };
  }
}
