import * as fs from 'fs';
import * as path from 'path';
import Ajv, { ErrorObject, ValidateFunction } from 'ajv';
import jsonata from 'jsonata';
import { Document, LineCounter, Node, Scalar, isScalar, parseDocument } from 'yaml';
import { ScrapeError } from '../core/errors';
import { projectRoot } from './dbconf';
import { Regime } from './regime';
import { checkTimeZone, naiveMs, normalizeTimeText } from '../core/time';
import { SpecTable, defaultSpecDir, parseSpec } from '../spec/spec-table';
import { Diagnostic, didYouMean, excerptAt, formatPath, renderDiagnostics as renderDiagnosticList } from './diagnostic';
import { Position, allKeys, nodeAt, pointerSegments, positionOf, scalarCharOffset } from './yaml-positions';

export type { Diagnostic } from './diagnostic';

/** A regime read from its file, validated, with schema defaults applied, and its target specs. */
export interface LoadedRegime {
  /** Absolute path of the YAML file. */
  file: string;
  /** The validated regime, schema defaults applied. */
  regime: Regime;
  /** Target specs by class name, one per target. */
  specs: Map<string, SpecTable>;
}

/** Where regimes and specs are looked up; each field defaults to the environment, cwd, then the project. */
export interface RegimeLookup {
  regimesDir?: string;
  specDir?: string;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
}

/** Keys that hold credentials; they belong in dbconf files, never in a regime. */
const CREDENTIAL_KEY = /^(password|passwd|pwd)$/i;

// ---------------------------------------------------------------------------------------------
// finding regimes

/**
 * Candidate regime folders in lookup order: `regimesDir`, `$SCRAPE_REGIMES`, `./regimes.d`, the
 * project's `regimes.d` (duplicates removed).
 */
export function regimeDirs(lookup: RegimeLookup = {}): string[] {
  const cwd = lookup.cwd ?? process.cwd();
  const env = lookup.env ?? process.env;
  const dirs = [lookup.regimesDir, env.SCRAPE_REGIMES, path.join(cwd, 'regimes.d'), path.join(projectRoot(), 'regimes.d')]
    .filter((d): d is string => !!d)
    .map((d) => path.resolve(cwd, d));
  return [...new Set(dirs)];
}

/**
 * The regime files of the regimes folder (the first of `regimeDirs` that exists; an explicit
 * `regimesDir` is used even when it does not exist, so a typo is an error, not the project's set).
 */
export function listRegimeFiles(lookup: RegimeLookup = {}): { dir: string; files: string[] } {
  const dirs = regimeDirs(lookup);
  const dir = lookup.regimesDir ? dirs[0] : (dirs.find((d) => fs.existsSync(d)) ?? dirs[0]);
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) {
    throw new ScrapeError('REGIME_NOT_FOUND', `regimes folder ${dir} does not exist`);
  }
  const files = fs
    .readdirSync(dir)
    .filter((f) => /\.ya?ml$/i.test(f))
    .sort()
    .map((f) => path.join(dir, f));
  return { dir, files };
}

/** Finds a regime by name (regimes dir: option, $SCRAPE_REGIMES, ./regimes.d, then the project's regimes.d) or by path to a YAML file. */
export function findRegimeFile(nameOrPath: string, lookup: RegimeLookup = {}): string {
  const cwd = lookup.cwd ?? process.cwd();
  if (/[\\/]/.test(nameOrPath) || /\.ya?ml$/i.test(nameOrPath)) {
    const file = path.resolve(cwd, nameOrPath);
    if (!fs.existsSync(file)) throw new ScrapeError('REGIME_NOT_FOUND', `no regime file ${file}`);
    return file;
  }
  const dirs = regimeDirs(lookup);
  const known = new Set<string>();
  for (const dir of dirs) {
    for (const ext of ['.yaml', '.yml']) {
      const file = path.join(dir, nameOrPath + ext);
      if (fs.existsSync(file)) return file;
    }
    if (fs.existsSync(dir)) for (const f of fs.readdirSync(dir)) if (/\.ya?ml$/i.test(f)) known.add(f.replace(/\.ya?ml$/i, ''));
  }
  throw new ScrapeError(
    'REGIME_NOT_FOUND',
    `no regime '${nameOrPath}' in ${dirs.join(', ')}${didYouMean(nameOrPath, known)}${known.size ? ` (known: ${[...known].sort().join(', ')})` : ''}`,
  );
}

/** The folder of `.spec` files: `specDir` (relative to cwd), else the project's `spec/`. */
export function specDirOf(lookup: RegimeLookup = {}): string {
  return lookup.specDir ? path.resolve(lookup.cwd ?? process.cwd(), lookup.specDir) : defaultSpecDir();
}

// ---------------------------------------------------------------------------------------------
// the schema

interface SchemaContext {
  ajv: Ajv;
  /** Same schema without strict mode, to check one oneOf branch alone (`{required: [...]}` has no type). */
  branchAjv: Ajv;
  root: Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  validate: ValidateFunction;
  /** oneOf/anyOf arrays of the schema (by identity) to their JSON pointer, to re-check one branch. */
  alternatives: Map<unknown, string>;
}

let schemaContextCache: SchemaContext | undefined;

/** Path of the regime JSON Schema shipped with the project. */
export function regimeSchemaFile(): string {
  return path.join(projectRoot(), 'schemas', 'regime.schema.json');
}

/** The compiled regime schema (ajv strict, allErrors, useDefaults, formats `regex` and `jsonata`). */
function schemaContext(): SchemaContext {
  if (schemaContextCache) return schemaContextCache;
  const root = JSON.parse(fs.readFileSync(regimeSchemaFile(), 'utf8'));
  const make = (strict: boolean) => {
    const ajv = new Ajv({
      allErrors: true,
      useDefaults: true,
      verbose: true,
      strict,
      // `oneOf: [{required: [name]}, {required: [pattern]}]` names properties declared beside it
      strictRequired: false,
      allowUnionTypes: true,
    });
    ajv.addFormat('regex', { type: 'string', validate: (s: string) => regexError(s) === undefined });
    ajv.addFormat('jsonata', { type: 'string', validate: (s: string) => jsonataError(s) === undefined });
    ajv.addSchema(root);
    return ajv;
  };
  const ajv = make(true);
  const branchAjv = make(false);
  const validate = ajv.getSchema(root.$id)!;
  const alternatives = new Map<unknown, string>();
  const walk = (node: unknown, pointer: string): void => {
    if (Array.isArray(node)) node.forEach((n, i) => walk(n, `${pointer}/${i}`));
    else if (node && typeof node === 'object') {
      for (const [k, v] of Object.entries(node)) {
        const p = `${pointer}/${k.replace(/~/g, '~0').replace(/\//g, '~1')}`;
        if ((k === 'oneOf' || k === 'anyOf') && Array.isArray(v)) alternatives.set(v, p);
        walk(v, p);
      }
    }
  };
  walk(root, '');
  schemaContextCache = { ajv, branchAjv, root, validate, alternatives };
  return schemaContextCache;
}

/** The RegExp error message for a pattern (JavaScript syntax, named groups allowed), or undefined. */
export function regexError(source: string): string | undefined {
  try {
    new RegExp(source);
    return undefined;
  } catch (err) {
    const msg = (err as Error).message;
    // "Invalid regular expression: /(/: Unterminated group" -> "Unterminated group"
    const m = /^Invalid regular expression: \/.*\/[a-z]*: (.*)$/s.exec(msg);
    return m ? m[1] : msg;
  }
}

/** Named capture groups of a regular expression source (empty when it has none or does not compile). */
export function captureNames(source: string): string[] {
  try {
    const groups = new RegExp(`(?:${source})|`).exec('')?.groups;
    return groups ? Object.keys(groups) : [];
  } catch {
    return [];
  }
}

interface JsonataProblem {
  message: string;
  /** 0-based index in the expression where the problem starts. */
  index: number;
}

/** The JSONata compile error of an expression, or undefined when it compiles. */
export function jsonataError(expr: string): JsonataProblem | undefined {
  try {
    jsonata(expr);
    return undefined;
  } catch (err) {
    const e = err as { code?: string; position?: number; token?: unknown; message?: string };
    const position = typeof e.position === 'number' ? e.position : 0;
    const token = e.token !== undefined && e.token !== null && e.token !== '(end)' ? String(e.token) : undefined;
    // jsonata's position is the (1-based) index of the last character read
    const index = token ? position - token.length : e.token === '(end)' ? expr.length : position - 1;
    return { message: `${e.code ? `${e.code} ` : ''}${e.message ?? String(err)}`, index: Math.max(0, Math.min(index, expr.length)) };
  }
}

// ---------------------------------------------------------------------------------------------
// diagnostics from schema errors

/** A problem before positioning: where (path segments) and what. */
interface Issue {
  segments: Array<string | number>;
  code: string;
  message: string;
  severity?: 'error' | 'warning';
  /** Point at the key of the last segment rather than its value. */
  useKey?: boolean;
  /** Exact position when known (JSONata errors inside a string). */
  pos?: Position;
  /** Ajv's error for this issue, for key-based deduplication. */
  keyword?: string;
}

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

const DURATION_PATTERN = '^\\d+[smhd]$';

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
function schemaIssues(errors: ErrorObject[], data: unknown, source: string, doc: Document): Issue[] {
  const ctx = schemaContext();
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
      issues.push(...schemaIssues(best.errors, data, source, doc));
    }
  }
  for (const e of errors) {
    if (e.keyword === 'oneOf' || e.keyword === 'anyOf' || e.keyword === 'propertyNames' || consumed.has(errorKey(e))) continue;
    consumed.add(errorKey(e));
    const issue = errorIssue(e, data, source, doc);
    if (issue) issues.push(issue);
  }
  return issues;
}

/** One ajv error (not oneOf/anyOf) as an issue with a readable message. */
function errorIssue(e: ErrorObject, data: unknown, source: string, doc: Document): Issue | undefined {
  let segments = typedSegments(data, e.instancePath);
  const params = e.params as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  let useKey = false;
  if (e.propertyName !== undefined) {
    segments = [...segments, e.propertyName];
    useKey = true;
  }
  const value = e.propertyName !== undefined ? e.propertyName : e.data;
  const base = { segments, code: 'REGIME_SCHEMA', useKey, keyword: e.keyword };
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
    case 'type':
      if ((e.parentSchema as { pattern?: string })?.pattern === DURATION_PATTERN) {
        return { ...base, message: `must be a duration (digits then s, m, h or d, e.g. 10s, 1m, 1h, 1d), found ${describe(value)}` };
      }
      return { ...base, message: `must be ${typeWords(params.type)}, found ${describe(value)}` };
    case 'uniqueItems': {
      const [first, again] = [Number(params.j), Number(params.i)].sort((a, b) => a - b);
      const item = Array.isArray(value) ? value[again] : undefined;
      return { ...base, segments: [...segments, again], message: `duplicate item ${JSON.stringify(item)} (same as item ${first})` };
    }
    case 'minItems':
      return { ...base, message: Number(params.limit) === 1 ? 'must not be empty' : `must have at least ${params.limit} items` };
    case 'pattern': {
      const pattern = String(params.pattern);
      const what =
        pattern === DURATION_PATTERN
          ? ' (a duration: digits then s, m, h or d, e.g. 10s, 1m, 1h, 1d)'
          : pattern.startsWith('^\\d{4}-')
            ? ' (a local time YYYY-MM-DD HH:MM:SS)'
            : pattern === '^[A-Za-z_][A-Za-z0-9_]*$'
              ? ' (an identifier: letters, digits and _)'
              : '';
      const subject = e.propertyName !== undefined ? `key \`${e.propertyName}\` ` : '';
      return { ...base, message: `${subject}must match "${pattern}"${what}, found ${describe(value)}` };
    }
    case 'enum': {
      const allowed = (params.allowedValues as unknown[]).map(String);
      return { ...base, message: `must be one of: ${allowed.join(', ')}; found ${describe(value)}${typeof value === 'string' ? didYouMean(value, allowed) : ''}` };
    }
    case 'const':
      return { ...base, message: `must be ${JSON.stringify(params.allowedValue)}, found ${describe(value)}` };
    case 'format': {
      if (params.format === 'regex') {
        return { ...base, code: 'REGIME_REGEX', message: `bad regular expression: ${regexError(String(value))}` };
      }
      if (params.format === 'jsonata') {
        const problem = jsonataError(String(value));
        if (!problem) return undefined;
        const pos = positionInString(doc, source, segments, problem.index);
        return { ...base, code: 'REGIME_JSONATA', message: `bad JSONata: ${problem.message}`, pos };
      }
      return { ...base, message: e.message ?? 'invalid' };
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

const lineCounters = new WeakMap<Document, LineCounter>();
function lineCounterOf(doc: Document): LineCounter {
  return lineCounters.get(doc)!;
}

// ---------------------------------------------------------------------------------------------
// checks the schema cannot express

function asObject(v: unknown): Record<string, unknown> | undefined {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}

/** Position of character `index` inside the string at `segments` (when the source maps one-to-one). */
function positionInString(doc: Document, source: string, segments: Array<string | number>, index: number): Position | undefined {
  const at = nodeAt(doc, segments);
  if (at.depth !== segments.length || !isScalar(at.value)) return undefined;
  const offset = scalarCharOffset(at.value as Scalar, source, index);
  return offset === undefined ? undefined : lineCounterOf(doc).linePos(offset);
}

function semanticIssues(data: Record<string, unknown>, doc: Document, source: string, lookup: RegimeLookup, specs: Map<string, SpecTable>): Issue[] {
  const issues: Issue[] = [];
  const cwd = lookup.cwd ?? process.cwd();

  // credentials anywhere
  for (const k of allKeys(doc)) {
    if (CREDENTIAL_KEY.test(k.text)) {
      issues.push({ segments: k.path, code: 'REGIME_CREDENTIALS', useKey: true, message: `credentials belong in dbconf (~/.my.cnf, $SCRAPE_DBCONF or --dbconf), never in a regime` });
    }
  }
  for (const key of ['source', 'target']) {
    const v = data[key];
    if (typeof v === 'string' && /^[a-z][a-z0-9+.-]*:\/\/[^/@]*:[^/@]*@/i.test(v)) {
      issues.push({ segments: [key], code: 'REGIME_CREDENTIALS', message: 'URL carries a password: credentials belong in dbconf (~/.my.cnf, $SCRAPE_DBCONF or --dbconf), never in a regime' });
    }
  }

  // time zone
  if (typeof data.timezone === 'string') {
    const problem = checkTimeZone(data.timezone);
    if (problem) {
      let zones: string[] = [];
      try {
        zones = (Intl as unknown as { supportedValuesOf(k: string): string[] }).supportedValuesOf('timeZone');
      } catch {
        /* older runtimes: no suggestion */
      }
      const hint = didYouMean(data.timezone, zones);
      issues.push({ segments: ['timezone'], code: 'REGIME_TIMEZONE', message: hint ? `unknown time zone '${data.timezone}'${hint}` : problem });
    }
  }

  // local times that match the pattern but are no real time; seed range order
  const times: Array<[string, string]> = [['scraper', 'timefloor'], ['scraper', 'seed_timestart'], ['scraper', 'seed_timeend'], ['faker', 'timestart']];
  const good = new Map<string, string>();
  for (const [section, key] of times) {
    const v = asObject(data[section])?.[key];
    if (typeof v !== 'string' || !/^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}$/.test(v)) continue;
    try {
      good.set(`${section}.${key}`, normalizeTimeText(v));
    } catch {
      issues.push({ segments: [section, key], code: 'REGIME_SCHEMA', message: `not a real date and time: "${v}"` });
    }
  }
  const start = good.get('scraper.seed_timestart');
  const end = good.get('scraper.seed_timeend');
  if (start && end && naiveMs(start) >= naiveMs(end)) {
    const inFile = nodeAt(doc, ['scraper', 'seed_timeend']).depth === 2 ? 'seed_timeend' : 'seed_timestart';
    issues.push({ segments: ['scraper', inFile], code: 'REGIME_SCHEMA', message: `seed_timestart (${start}) must be before seed_timeend (${end})` });
  }

  // captures: context and join templates need captures of every table pattern
  const tables = Array.isArray(data.tables) ? data.tables.map(asObject) : [];
  const tableCaptures = tables.map((t) => (t && typeof t.pattern === 'string' && !regexError(t.pattern) ? captureNames(t.pattern) : t && typeof t.pattern === 'string' ? undefined : []));
  const missingCapture = (name: string): string | undefined => {
    for (let i = 0; i < tables.length; i++) {
      const caps = tableCaptures[i];
      if (caps === undefined || caps.includes(name)) continue;
      const where = typeof tables[i]?.pattern === 'string' ? `tables[${i}].pattern` : `tables[${i}] (a plain name)`;
      return `\`${name}\` is not a named capture of ${where}${didYouMean(name, caps)}${caps.length ? ` (captures: ${caps.join(', ')})` : ' (it has none)'}`;
    }
    return undefined;
  };
  const context = asObject(data.context);
  for (const which of ['sitemask', 'subsite']) {
    const cv = asObject(context?.[which]);
    if (cv && typeof cv.capture === 'string') {
      const problem = missingCapture(cv.capture);
      if (problem) issues.push({ segments: ['context', which, 'capture'], code: 'REGIME_CAPTURE', message: problem });
    }
  }
  tables.forEach((t, i) => {
    const joins = Array.isArray(t?.join) ? t!.join : [];
    joins.forEach((j, k) => {
      const tmpl = asObject(j)?.table;
      if (typeof tmpl !== 'string' || tableCaptures[i] === undefined) return;
      for (const m of tmpl.matchAll(/\{([^{}]*)\}/g)) {
        if (!tableCaptures[i]!.includes(m[1])) {
          issues.push({
            segments: ['tables', i, 'join', k, 'table'],
            pos: positionInString(doc, source, ['tables', i, 'join', k, 'table'], m.index!),
            code: 'REGIME_CAPTURE',
            message: `\`{${m[1]}}\` is not a named capture of tables[${i}].pattern${didYouMean(m[1], tableCaptures[i]!)} (captures: ${tableCaptures[i]!.join(', ') || 'none'})`,
          });
        }
      }
    });
  });
  const unpivot = asObject(data.unpivot);
  if (unpivot && typeof unpivot.pattern === 'string' && !regexError(unpivot.pattern)) {
    const common = tableCaptures.every((c) => c !== undefined) && tableCaptures.length
      ? tableCaptures.reduce((a, b) => a!.filter((x) => b!.includes(x)))!
      : [];
    const allowed = ['column', ...captureNames(unpivot.pattern), ...common];
    for (const [field, tmpl] of Object.entries(asObject(unpivot.values) ?? {})) {
      if (typeof tmpl !== 'string') continue;
      for (const m of tmpl.matchAll(/\{([^{}]*)\}/g)) {
        if (!allowed.includes(m[1])) {
          issues.push({
            segments: ['unpivot', 'values', field],
            pos: positionInString(doc, source, ['unpivot', 'values', field], m.index!),
            code: 'REGIME_CAPTURE',
            message: `\`{${m[1]}}\` is neither \`{column}\` nor a named capture of unpivot.pattern or the table pattern${didYouMean(m[1], allowed)} (captures: ${allowed.slice(1).join(', ') || 'none'})`,
          });
        }
      }
    }
  }

  // faker columns are keyed by regular expressions
  const fakerColumns = asObject(asObject(data.faker)?.columns);
  for (const key of Object.keys(fakerColumns ?? {})) {
    const problem = regexError(key);
    if (problem) issues.push({ segments: ['faker', 'columns', key], code: 'REGIME_REGEX', useKey: true, message: `bad regular expression: ${problem}` });
  }

  // targets: spec exists, map keys are its attributes, every attribute is mapped
  const specDir = specDirOf(lookup);
  const known = fs.existsSync(specDir) ? fs.readdirSync(specDir).filter((f) => f.endsWith('.spec')).map((f) => f.slice(0, -5)) : [];
  const targets = Array.isArray(data.targets) ? data.targets : [];
  const seen = new Map<string, number>();
  targets.forEach((t, i) => {
    const target = asObject(t);
    if (!target || typeof target.spec !== 'string' || !/^G[A-Za-z0-9]+$/.test(target.spec)) return;
    const className = target.spec;
    if (seen.has(className)) {
      issues.push({ segments: ['targets', i, 'spec'], code: 'REGIME_SPEC', message: `${className} is already the target of targets[${seen.get(className)}]` });
      return;
    }
    seen.set(className, i);
    const file = path.join(specDir, `${className}.spec`);
    const shown = path.relative(cwd, file).startsWith('..') ? file : path.relative(cwd, file);
    if (!fs.existsSync(file)) {
      issues.push({ segments: ['targets', i, 'spec'], code: 'REGIME_SPEC', message: `unknown spec \`${className}\`: ${shown} does not exist${didYouMean(className, known)}` });
      return;
    }
    let spec: SpecTable;
    try {
      spec = parseSpec(fs.readFileSync(file, 'utf8'), file);
    } catch (err) {
      issues.push({ segments: ['targets', i, 'spec'], code: 'REGIME_SPEC', message: `spec ${className} does not parse: ${(err as Error).message}` });
      return;
    }
    specs.set(className, spec);
    const map = asObject(target.map);
    if (!map) return;
    const attributes = spec.columns.map((c) => c.name);
    for (const key of Object.keys(map)) {
      if (!attributes.includes(key)) {
        issues.push({ segments: ['targets', i, 'map', key], code: 'REGIME_MAPPING', useKey: true, message: `\`${key}\` is not an attribute of ${className}${didYouMean(key, attributes)}` });
      }
    }
    const unmapped = attributes.filter((a) => !(a in map));
    if (unmapped.length) {
      issues.push({ segments: ['targets', i, 'map'], code: 'REGIME_MAPPING', useKey: true, message: `attribute${unmapped.length > 1 ? 's' : ''} of ${className} not mapped: ${unmapped.join(', ')}` });
    }
  });
  return issues;
}

// ---------------------------------------------------------------------------------------------
// checking a file

/** Offset of the first byte that makes `buf` binary (NUL, or not UTF-8), else undefined. */
function firstNonTextByte(buf: Buffer): number | undefined {
  const nul = buf.indexOf(0);
  let invalid: number | undefined;
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(buf);
  } catch {
    invalid = 0;
    for (let i = 0; i < buf.length; ) {
      const b = buf[i];
      const n = b < 0x80 ? 0 : b >= 0xc2 && b <= 0xdf ? 1 : b >= 0xe0 && b <= 0xef ? 2 : b >= 0xf0 && b <= 0xf4 ? 3 : -1;
      let ok = n >= 0 && i + n < buf.length;
      for (let k = 1; ok && k <= n; k++) ok = (buf[i + k] & 0xc0) === 0x80;
      if (!ok) {
        invalid = i;
        break;
      }
      i += n + 1;
    }
  }
  const found = [nul >= 0 ? nul : undefined, invalid].filter((x): x is number => x !== undefined);
  return found.length ? Math.min(...found) : undefined;
}

/**
 * All diagnostics of one file (never throws for bad content), sorted by position. Codes:
 * REGIME_READ, REGIME_BINARY, REGIME_EMPTY, REGIME_YAML, REGIME_DUPLICATE_KEY (file level);
 * REGIME_SCHEMA, REGIME_UNKNOWN_KEY, REGIME_REGEX, REGIME_JSONATA (schema); REGIME_TIMEZONE,
 * REGIME_CREDENTIALS, REGIME_CAPTURE, REGIME_SPEC, REGIME_MAPPING (checks beyond the schema).
 * `regime` is set (defaults applied) only when there is no error.
 */
export function checkRegimeFile(file: string, lookup: RegimeLookup = {}): { regime?: Regime; specs: Map<string, SpecTable>; diagnostics: Diagnostic[] } {
  const abs = path.resolve(lookup.cwd ?? process.cwd(), file);
  const specs = new Map<string, SpecTable>();
  const diagnostics: Diagnostic[] = [];
  const at = (line: number, col: number, code: string, message: string, extra: Partial<Diagnostic> = {}): void => {
    diagnostics.push({ file: abs, line, col, severity: 'error', code, path: '', message, ...extra });
  };
  let buf: Buffer;
  try {
    buf = fs.readFileSync(abs);
  } catch (err) {
    at(1, 1, 'REGIME_READ', `cannot read the file: ${(err as Error).message}`);
    return { specs, diagnostics };
  }
  const bad = firstNonTextByte(buf);
  if (bad !== undefined) {
    const before = buf.subarray(0, bad);
    const line = before.filter((b) => b === 0x0a).length + 1;
    const col = bad - (before.lastIndexOf(0x0a) + 1) + 1;
    at(line, col, 'REGIME_BINARY', `not a UTF-8 text file (byte 0x${buf[bad].toString(16).padStart(2, '0')} at offset ${bad}); a regime is YAML text`);
    return { specs, diagnostics };
  }
  let text = buf.toString('utf8');
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);

  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, keepSourceTokens: true, uniqueKeys: true, prettyErrors: false, merge: true });
  lineCounters.set(doc, lines);
  const excerpt = (line: number, col: number) => excerptAt(text, line, col) || undefined;
  const finish = () => {
    diagnostics.sort((a, b) => a.line - b.line || a.col - b.col || a.code.localeCompare(b.code) || a.message.localeCompare(b.message));
    const unique = diagnostics.filter((d, i) => {
      const p = diagnostics[i - 1];
      return !p || p.line !== d.line || p.col !== d.col || p.code !== d.code || p.message !== d.message || p.path !== d.path;
    });
    return unique;
  };

  const keys = allKeys(doc);
  for (const e of [...doc.errors, ...doc.warnings]) {
    const pos = lines.linePos(e.pos[0]);
    const severity = doc.errors.includes(e as never) ? 'error' : 'warning';
    if (e.code === 'DUPLICATE_KEY') {
      const dup = keys.find((k) => k.key.range && k.key.range[0] === e.pos[0]);
      const first = dup && keys.find((k) => k !== dup && k.text === dup.text && JSON.stringify(k.path) === JSON.stringify(dup.path));
      const firstLine = first?.key.range ? lines.linePos(first.key.range[0]).line : undefined;
      at(pos.line, pos.col, 'REGIME_DUPLICATE_KEY', dup ? `duplicate key \`${dup.text}\`${firstLine ? ` (first at line ${firstLine})` : ''}` : e.message, {
        path: dup ? formatPath(dup.path) : '',
        excerpt: excerpt(pos.line, pos.col),
      });
    } else {
      at(pos.line, pos.col, 'REGIME_YAML', `YAML: ${e.message.replace(/ at line \d+, column \d+:?[\s\S]*$/, '')}`, { severity, excerpt: excerpt(pos.line, pos.col) });
    }
  }
  if (doc.errors.some((e) => e.code !== 'DUPLICATE_KEY')) return { specs, diagnostics: finish() };
  if (doc.contents === null || (isScalar(doc.contents) && doc.contents.value === null)) {
    at(1, 1, 'REGIME_EMPTY', 'the file is empty: a regime needs at least name, tables, context and targets');
    return { specs, diagnostics: finish() };
  }

  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 1000 });
  } catch (err) {
    at(1, 1, 'REGIME_YAML', `YAML: ${(err as Error).message}`);
    return { specs, diagnostics: finish() };
  }
  const ctx = schemaContext();
  const issues: Issue[] = [];
  if (!ctx.validate(data)) issues.push(...schemaIssues(ctx.validate.errors ?? [], data, text, doc));
  const object = asObject(data);
  if (object) issues.push(...semanticIssues(object, doc, text, lookup, specs));
  for (const issue of issues) {
    const pos = issue.pos ?? positionOf(doc, lines, issue.segments, issue.useKey);
    diagnostics.push({
      file: abs,
      line: pos.line,
      col: pos.col,
      severity: issue.severity ?? 'error',
      code: issue.code,
      path: formatPath(issue.segments),
      message: issue.message,
      excerpt: excerpt(pos.line, pos.col),
    });
  }
  const result = finish();
  const failed = result.some((d) => d.severity === 'error');
  return { regime: failed ? undefined : (data as Regime), specs, diagnostics: result };
}

/** Loads and validates; throws ScrapeError('REGIME_INVALID', rendered diagnostics) when any error. */
export function loadRegime(nameOrPath: string, lookup: RegimeLookup = {}): LoadedRegime {
  const file = findRegimeFile(nameOrPath, lookup);
  const { regime, specs, diagnostics } = checkRegimeFile(file, lookup);
  if (!regime || diagnostics.some((d) => d.severity === 'error')) {
    throw new ScrapeError('REGIME_INVALID', `regime ${nameOrPath} is invalid:\n${renderDiagnostics(diagnostics, lookup.cwd)}`);
  }
  return { file, regime, specs };
}

/** Compiler-style rendering: `regimes.d/adtemp.yaml:14:7 error REGIME_SCHEMA scraper.maxage: must match "^\d+[smhd]$"` + excerpt lines. File shown relative to cwd. */
export function renderDiagnostics(diags: Diagnostic[], cwd?: string): string {
  return renderDiagnosticList(diags, cwd);
}

// ---------------------------------------------------------------------------------------------
// --set overrides

/** Follows a local `$ref` of the regime schema. */
function deref(schema: Record<string, any>): Record<string, any> { // eslint-disable-line @typescript-eslint/no-explicit-any
  const root = schemaContext().root;
  let s = schema;
  while (s && typeof s.$ref === 'string' && s.$ref.startsWith('#/')) {
    const { $ref, ...rest } = s;
    const target = $ref.slice(2).split('/').reduce((o: any, k: string) => o?.[k], root); // eslint-disable-line @typescript-eslint/no-explicit-any
    s = { ...target, ...rest };
  }
  return s;
}

/** Parses a `--set` value by the type the schema gives the setting; throws a message when it does not fit. */
function parseSettingValue(schema: Record<string, any>, raw: string): unknown { // eslint-disable-line @typescript-eslint/no-explicit-any
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
  if (typeof schema.pattern === 'string' && schema.pattern.startsWith('^\\d{4}-')) {
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
  const ctx = schemaContext();
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
    const sectionSchema = deref(ctx.root.definitions[where]);
    const properties: Record<string, Record<string, unknown>> = sectionSchema.properties ?? {};
    if (!(key in properties)) {
      const known = Object.keys(properties);
      throw new ScrapeError('REGIME_SETTING', `--set ${set}: unknown ${where} setting \`${key}\`${didYouMean(key, known)} (settings: ${known.join(', ')})`);
    }
    const propertySchema = deref(properties[key]);
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
      const detail = problem ? errorIssue(problem, target, '', new Document())?.message ?? problem.message : 'invalid';
      throw new ScrapeError('REGIME_SETTING', `--set ${set}: ${where}.${key} ${detail}`);
    }
    (out as unknown as Record<string, Record<string, unknown>>)[where] = target;
  }
  return out;
}
