/**
 * Finding regime files: the lookup order of regime folders (option, `$SCRAPE_REGIMES`,
 * `./regimes.d`, the project's) and of spec folders, so every command finds the same regime the
 * same way.
 */
import * as fs from 'fs';
import * as path from 'path';
import { ScrapeError } from '../core/errors';
import { defaultSpecDir } from '../spec/spec-table';
import { projectRoot } from './dbconf';
import { didYouMean } from './diagnostic';

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
