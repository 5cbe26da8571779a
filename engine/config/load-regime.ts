import * as fs from 'fs';
import * as path from 'path';
import { parseDocument } from 'yaml';
import Ajv from 'ajv';
import { ScrapeError } from './errors';
import { projectRoot } from './dbconf';
import { Regime } from './regime';
import { SpecTable, loadSpec, defaultSpecDir } from '../spec/spec-table';

/** One problem found in a regime file, positioned at the offending YAML node. */
export interface Diagnostic {
  file: string;
  line: number;
  col: number;
  severity: 'error' | 'warning';
  code: string;
  path: string;
  message: string;
  excerpt?: string;
}

/** A regime read from its file, validated, with schema defaults applied, and its target specs. */
export interface LoadedRegime {
  /** Absolute path of the YAML file. */
  file: string;
  regime: Regime;
  /** Target specs by class name, one per target. */
  specs: Map<string, SpecTable>;
}

/** Where regimes and specs are looked up (defaults: env, cwd, the project). */
export interface RegimeLookup {
  regimesDir?: string;
  specDir?: string;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
}

/** Finds a regime by name (regimes dir: option, $SCRAPE_REGIMES, ./regimes.d, then the project's regimes.d) or by path to a YAML file. */
export function findRegimeFile(nameOrPath: string, lookup: RegimeLookup = {}): string {
  const cwd = lookup.cwd ?? process.cwd();
  if (/\.ya?ml$/i.test(nameOrPath) || nameOrPath.includes('/')) {
    const file = path.resolve(cwd, nameOrPath);
    if (!fs.existsSync(file)) throw new ScrapeError('REGIME_NOT_FOUND', `no regime file ${file}`);
    return file;
  }
  const env = lookup.env ?? process.env;
  const dirs = [lookup.regimesDir, env.SCRAPE_REGIMES, path.join(cwd, 'regimes.d'), path.join(projectRoot(), 'regimes.d')]
    .filter((d): d is string => !!d)
    .map((d) => path.resolve(cwd, d));
  for (const dir of dirs) {
    for (const ext of ['.yaml', '.yml']) {
      const file = path.join(dir, nameOrPath + ext);
      if (fs.existsSync(file)) return file;
    }
  }
  throw new ScrapeError('REGIME_NOT_FOUND', `no regime '${nameOrPath}' in ${dirs.join(', ')}`);
}

let validator: ReturnType<Ajv['compile']> | undefined;

/** All diagnostics of one file (never throws for bad content). */
export function checkRegimeFile(file: string, lookup: RegimeLookup = {}): { regime?: Regime; specs: Map<string, SpecTable>; diagnostics: Diagnostic[] } {
  const diagnostics: Diagnostic[] = [];
  const specs = new Map<string, SpecTable>();
  const doc = parseDocument(fs.readFileSync(file, 'utf8'));
  for (const e of doc.errors) {
    diagnostics.push({ file, line: e.linePos?.[0].line ?? 1, col: e.linePos?.[0].col ?? 1, severity: 'error', code: 'REGIME_YAML', path: '', message: e.message });
  }
  if (diagnostics.length) return { specs, diagnostics };
  const data = doc.toJS();
  if (!validator) {
    const ajv = new Ajv({ allErrors: true, useDefaults: true, strict: false });
    validator = ajv.compile(JSON.parse(fs.readFileSync(path.join(projectRoot(), 'schemas', 'regime.schema.json'), 'utf8')));
  }
  if (!validator(data)) {
    for (const e of validator.errors ?? []) {
      diagnostics.push({ file, line: 1, col: 1, severity: 'error', code: 'REGIME_SCHEMA', path: e.instancePath, message: e.message ?? '' });
    }
    return { specs, diagnostics };
  }
  const regime = data as Regime;
  for (const t of regime.targets) {
    try {
      specs.set(t.spec, loadSpec(t.spec, lookup.specDir ?? defaultSpecDir()));
    } catch (err) {
      diagnostics.push({ file, line: 1, col: 1, severity: 'error', code: 'REGIME_SPEC', path: 'targets', message: (err as Error).message });
    }
  }
  return { regime, specs, diagnostics };
}

/** Loads and validates; throws ScrapeError('REGIME_INVALID', rendered diagnostics) when any error. */
export function loadRegime(nameOrPath: string, lookup: RegimeLookup = {}): LoadedRegime {
  const file = findRegimeFile(nameOrPath, lookup);
  const { regime, specs, diagnostics } = checkRegimeFile(file, lookup);
  if (!regime || diagnostics.some((d) => d.severity === 'error')) {
    throw new ScrapeError('REGIME_INVALID', renderDiagnostics(diagnostics, lookup.cwd));
  }
  return { file, regime, specs };
}

/** Compiler-style rendering: `regimes.d/adtemp.yaml:14:7 error REGIME_SCHEMA scraper.maxage: must match ...` + excerpt lines. File shown relative to cwd. */
export function renderDiagnostics(diags: Diagnostic[], cwd = process.cwd()): string {
  return diags
    .map((d) => `${path.relative(cwd, d.file) || d.file}:${d.line}:${d.col} ${d.severity} ${d.code} ${d.path}: ${d.message}` + (d.excerpt ? '\n' + d.excerpt : ''))
    .join('\n');
}

/** Applies `--set key=value` overrides to regime.scraper (typed by the schema), validating each; unknown key → ScrapeError with nearest key suggested. */
export function applySettingOverrides(regime: Regime, sets: string[], section: 'scraper' | 'averager' | 'faker' = 'scraper'): Regime {
  const out: Regime = JSON.parse(JSON.stringify(regime));
  const target = out[section] as unknown as Record<string, unknown>;
  for (const s of sets) {
    const eq = s.indexOf('=');
    if (eq < 0) throw new ScrapeError('BAD_SETTING', `--set ${s}: use key=value`);
    const key = s.slice(0, eq);
    const raw = s.slice(eq + 1);
    const current = target[key];
    target[key] = typeof current === 'number' ? Number(raw) : typeof current === 'boolean' ? raw === 'true' : raw;
  }
  return out;
}
