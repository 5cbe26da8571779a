import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ScrapeError } from '../core/errors';
import { maskPasswords } from '../core/mask-passwords';
import { projectRoot } from '../core/project-root';
import type { DatabaseLocation } from '../db/database-location';

export type { DatabaseLocation } from '../db/database-location';

/** Where to look for dbconf sections. */
export interface DbconfOptions {
  /** `--dbconf FILE`: looked in first. */
  dbconf?: string;
  env?: NodeJS.ProcessEnv;
  home?: string;
  /** Folder holding the project's shipped `dbconf.ini` (embedded SQLite defaults). */
  projectRoot?: string;
}

/** Database names that are production DBI targets: never seeded, never fall back to SQLite. */
const PRODUCTION_NAMES = new Set(['offline_db']);

export { projectRoot };

/** Parses a my.cnf-style file into sections of key/value pairs (`#`/`;` comments, quoted values). */
export function parseIni(text: string): Map<string, Record<string, string>> {
  const sections = new Map<string, Record<string, string>>();
  let current: Record<string, string> | undefined;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line || line.startsWith('#') || line.startsWith(';') || line.startsWith('!')) continue;
    const header = /^\[([^\]]+)\]$/.exec(line);
    if (header) {
      current = sections.get(header[1].trim()) ?? {};
      sections.set(header[1].trim(), current);
      continue;
    }
    if (!current) continue;
    const eq = line.indexOf('=');
    const key = (eq < 0 ? line : line.slice(0, eq)).trim().replace(/-/g, '_').toLowerCase();
    let value = eq < 0 ? 'true' : line.slice(eq + 1).trim();
    if (/^(['"]).*\1$/.test(value) && value.length >= 2) value = value.slice(1, -1);
    current[key] = value;
  }
  return sections;
}

/** The dbconf files searched, in order: `--dbconf`, `$SCRAPE_DBCONF`, `~/.my.cnf`, shipped `dbconf.ini`. */
export function dbconfFiles(options: DbconfOptions = {}): string[] {
  const env = options.env ?? process.env;
  const home = options.home ?? os.homedir();
  const files: string[] = [];
  if (options.dbconf) files.push(path.resolve(options.dbconf));
  if (env.SCRAPE_DBCONF) files.push(path.resolve(env.SCRAPE_DBCONF));
  files.push(path.join(home, '.my.cnf'));
  files.push(path.join(options.projectRoot ?? projectRoot(), 'dbconf.ini'));
  return files;
}

function truthy(value: string | undefined): boolean {
  return value !== undefined && /^(1|true|yes|on)$/i.test(value);
}

/**
 * The location with its `fake` and `production` flags; a location that is both is a
 * `DBCONF_PRODUCTION_FAKE` error (the faker must never be able to write to production).
 */
function classify(loc: Omit<DatabaseLocation, 'fake' | 'production'>, flags: Record<string, string> = {}): DatabaseLocation {
  const dbName = loc.dialect === 'sqlite' ? path.basename(loc.filename ?? '', path.extname(loc.filename ?? '')) : loc.database ?? '';
  const fake = truthy(flags.fake) || /^fake/i.test(dbName) || (loc.dialect === 'sqlite' && /^fake/i.test(loc.name));
  const production = truthy(flags.production) || PRODUCTION_NAMES.has(dbName) || PRODUCTION_NAMES.has(loc.name);
  if (fake && production) {
    throw new ScrapeError(
      'DBCONF_PRODUCTION_FAKE',
      `${loc.name} (from ${loc.origin}) is a production database (${truthy(flags.production) ? 'production = true' : 'named offline_db'}) and cannot also be fake ` +
        `(${truthy(flags.fake) ? 'fake = true' : "a database name starting with 'fake'"}): the faker would write there; remove one of the two`,
    );
  }
  return { ...loc, fake, production };
}

/**
 * A dbconf file the user named (`--dbconf`, `$SCRAPE_DBCONF`) must be a readable file: one that
 * is missing or a folder is a `DBCONF_FILE` error, never silently skipped (the next file might
 * hold a section of the same name that points elsewhere).
 */
export function checkGivenDbconf(options: DbconfOptions = {}): void {
  const env = options.env ?? process.env;
  const given: Array<[string, string]> = [];
  if (options.dbconf) given.push(['--dbconf', options.dbconf]);
  if (env.SCRAPE_DBCONF) given.push(['$SCRAPE_DBCONF', env.SCRAPE_DBCONF]);
  for (const [what, file] of given) {
    const full = path.resolve(file);
    let stat: fs.Stats;
    try {
      stat = fs.statSync(full);
    } catch {
      throw new ScrapeError('DBCONF_FILE', `${what} ${full} does not exist`, { hint: `give the path of an existing dbconf (my.cnf-style) file, or leave ${what} out` });
    }
    if (!stat.isFile()) {
      throw new ScrapeError('DBCONF_FILE', `${what} ${full} is ${stat.isDirectory() ? 'a folder' : 'not a regular file'}, not a dbconf file`, {
        hint: `give the path of the dbconf file itself (e.g. ${path.join(full, 'dbconf.ini')})`,
      });
    }
    readDbconf(full);
  }
}

/** The text of a dbconf file; one that cannot be read is a `DBCONF_FILE` error. */
function readDbconf(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ScrapeError('DBCONF_FILE', `cannot read dbconf file ${file}: ${code === 'EACCES' ? 'permission denied' : (err as Error).message}`, {
      hint: code === 'EACCES' ? `make it readable by this user (chmod 600 ${file}, owned by the user running scrape)` : 'give the path of a readable dbconf file',
    });
  }
}

/** True when `text` is a database URL rather than a dbconf section name. */
export function isDatabaseUrl(text: string): boolean {
  return /^(mysql|mariadb):\/\//i.test(text) || /^sqlite:/i.test(text);
}

/**
 * Parses `mysql://user:pass@host:port/db?socket=...&fake=true` or `sqlite:path` (relative to
 * `base`). The location's `name` (shown in messages) is the URL with its password masked.
 */
export function parseDatabaseUrl(url: string, base = process.cwd(), name = maskPasswords(url), origin = 'url'): DatabaseLocation {
  if (/^sqlite:/i.test(url)) {
    const rest = url.replace(/^sqlite:(\/\/)?/i, '');
    const [file, query] = rest.split('?');
    const flags = Object.fromEntries(new URLSearchParams(query ?? ''));
    const filename = file === ':memory:' ? file : path.resolve(base, file);
    return classify({ name, dialect: 'sqlite', filename, origin, warnings: [] }, flags);
  }
  let parsed: URL;
  try {
    parsed = new URL(url.replace(/^mariadb:/i, 'mysql:'));
  } catch {
    throw new ScrapeError('DBCONF_URL', `not a database URL: ${maskPasswords(url)}`, {
      hint: 'write mysql://user:password@host:port/database or sqlite:path/to/file.sqlite',
    });
  }
  const flags = Object.fromEntries(parsed.searchParams);
  return classify(
    {
      name,
      dialect: 'mysql',
      host: parsed.hostname || '127.0.0.1',
      port: parsed.port ? Number(parsed.port) : 3306,
      user: decodeURIComponent(parsed.username) || undefined,
      password: parsed.password ? decodeURIComponent(parsed.password) : undefined,
      database: decodeURIComponent(parsed.pathname.replace(/^\//, '')) || undefined,
      socket: flags.socket,
      origin,
      warnings: [],
    },
    flags,
  );
}

/**
 * Resolves a dbconf section name (or a URL) to a database location. Sections are looked up in
 * the files of `dbconfFiles`, the first file that has the section wins; production names never
 * fall back to the shipped SQLite defaults.
 */
export function resolveDatabase(nameOrUrl: string, options: DbconfOptions = {}): DatabaseLocation {
  checkGivenDbconf(options);
  if (isDatabaseUrl(nameOrUrl)) return parseDatabaseUrl(nameOrUrl);
  const files = dbconfFiles(options);
  const shipped = files[files.length - 1];
  for (const file of files) {
    if (!fs.existsSync(file)) continue;
    if (file === shipped && PRODUCTION_NAMES.has(nameOrUrl)) continue;
    const sections = parseIni(readDbconf(file));
    const section = sections.get(nameOrUrl);
    if (!section) continue;
    const origin = `${file} [${nameOrUrl}]`;
    const warnings: string[] = [];
    if (file !== shipped && process.platform !== 'win32') {
      const mode = fs.statSync(file).mode;
      if (mode & 0o044 && section.password) {
        warnings.push(`${file} holds a password and is readable by others (mode ${(mode & 0o777).toString(8)}); chmod 600 it`);
      }
    }
    const base = path.dirname(file);
    if (section.url) {
      const loc = parseDatabaseUrl(section.url, base, nameOrUrl, origin);
      return classify({ ...loc, warnings }, section);
    }
    return classify(
      {
        name: nameOrUrl,
        dialect: 'mysql',
        host: section.host ?? '127.0.0.1',
        port: section.port ? Number(section.port) : 3306,
        user: section.user,
        password: section.password,
        database: section.database ?? section.db,
        socket: section.socket,
        origin,
        warnings,
      },
      section,
    );
  }
  throw new ScrapeError(
    'DBCONF_SECTION',
    `no dbconf section [${nameOrUrl}]; looked in ${files.join(', ')}` +
      (PRODUCTION_NAMES.has(nameOrUrl) ? ' (production sections never fall back to the shipped dbconf.ini)' : ''),
    { hint: `add a [${nameOrUrl}] section (host, user, password, database, or url) to one of those files, or give a URL such as mysql://user@host/db` },
  );
}
