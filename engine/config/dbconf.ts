import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ScrapeError } from '../core/errors';
import { nearest } from './diagnostic';
import { OptionFile, OptionLine, groupOptions, hasGroup, readOptionFile, sameGroup } from './option-file';
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
  /** Where a relative `--dbconf` and relative `!include` paths start (default: the process's). */
  cwd?: string;
}

/** Database names that are production DBI targets: never seeded, never fall back to SQLite. */
const PRODUCTION_NAMES = new Set(['offline_db']);

export { projectRoot };

/** The dbconf files searched, in order: `--dbconf`, `$SCRAPE_DBCONF`, `~/.my.cnf`, shipped `dbconf.ini`. */
export function dbconfFiles(options: DbconfOptions = {}): string[] {
  const env = options.env ?? process.env;
  const home = options.home ?? os.homedir();
  const files: string[] = [];
  const cwd = options.cwd ?? process.cwd();
  if (options.dbconf) files.push(path.resolve(cwd, options.dbconf));
  if (env.SCRAPE_DBCONF) files.push(path.resolve(cwd, env.SCRAPE_DBCONF));
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
    const full = path.resolve(options.cwd ?? process.cwd(), file);
    let stat: fs.Stats;
    try {
      stat = fs.statSync(full);
    } catch {
      throw new ScrapeError('DBCONF_FILE', `${what} ${file}: no such file (${full})`, { hint: `give the path of an existing dbconf (my.cnf-style) file, or leave ${what} out` });
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
  const decode = (part: string): string => {
    try {
      return decodeURIComponent(part);
    } catch (cause) {
      throw new ScrapeError('DBCONF_URL', `not a database URL: ${url} (bad %-escape in '${part}')`, { cause });
    }
  };
  return classify(
    {
      name,
      dialect: 'mysql',
      host: parsed.hostname || '127.0.0.1',
      port: parsed.port ? Number(parsed.port) : 3306,
      user: decode(parsed.username) || undefined,
      password: parsed.password ? decode(parsed.password) : undefined,
      database: decode(parsed.pathname.replace(/^\//, '')) || undefined,
      socket: flags.socket,
      origin,
      warnings: [],
    },
    flags,
  );
}

/** A dbconf section as found: its options with `[client]`'s under them, and where they came from. */
export interface DbconfSection {
  /** The file holding the section (its includes read). */
  file: string;
  /** Options by normalized key (lower case, `-` as `_`): the line that gives each its value. */
  options: Map<string, OptionLine>;
  /** What the files read on the way said (world-writable files ignored, missing includes). */
  warnings: string[];
}

/** An option key as scrape looks it up: lower case, `-` and `_` alike (as mysql treats them). */
function normalKey(key: string): string {
  return key.toLowerCase().replace(/-/g, '_');
}

/**
 * The options of section `name` in `file`: `[client]`'s as defaults, the section's own on top
 * (within each group the last line of a key wins, as in mysql); undefined when the file has no
 * such section.
 */
function sectionIn(read: OptionFile, name: string): Map<string, OptionLine> | undefined {
  if (!hasGroup(read, name)) return undefined;
  const options = new Map<string, OptionLine>();
  const groups = sameGroup(name, 'client') ? ['client'] : ['client', name];
  for (const group of groups) for (const o of groupOptions(read, [group])) options.set(normalKey(o.key), o);
  return options;
}

/**
 * Finds dbconf section `name` in the files of `dbconfFiles`, each read as mysql reads an option
 * file (`readOptionFile`): the first file with the section wins, `[client]` of that file giving
 * defaults. A `--dbconf` or `$SCRAPE_DBCONF` file that does not exist is `DBCONF_FILE`; no
 * section anywhere is `DBCONF_SECTION` naming the files searched. Production names never come
 * from the shipped file.
 */
export function findDbconfSection(name: string, options: DbconfOptions = {}): DbconfSection {
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  const files = dbconfFiles(options);
  const named: Array<[string | undefined, string]> = [
    [options.dbconf, '--dbconf'],
    [env.SCRAPE_DBCONF, '$SCRAPE_DBCONF'],
  ];
  for (const [given, what] of named) {
    if (given && !fs.existsSync(path.resolve(cwd, given))) {
      throw new ScrapeError('DBCONF_FILE', `${what} ${given}: no such file (${path.resolve(cwd, given)})`);
    }
  }
  const shipped = files[files.length - 1];
  const warnings: string[] = [];
  const known = new Set<string>();
  for (const file of files) {
    if (!fs.existsSync(file)) continue;
    if (file === shipped && PRODUCTION_NAMES.has(name)) continue;
    const read = readOptionFile(file, cwd);
    warnings.push(...read.warnings);
    const section = sectionIn(read, name);
    if (section) return { file, options: section, warnings };
    for (const group of read.groups) if (!sameGroup(group, 'client')) known.add(group);
  }
  const guess = nearest(name, known);
  throw new ScrapeError(
    'DBCONF_SECTION',
    `no dbconf section [${name}]${guess ? ` (did you mean [${guess}]?)` : ''}; looked in ${files.join(', ')}` +
      (PRODUCTION_NAMES.has(name) ? ' (production sections never fall back to the shipped dbconf.ini)' : '') +
      (warnings.length ? ` (${warnings.join('; ')})` : ''),
    { hint: `add a [${name}] section (host, user, password, database, or url) to one of those files, or give a URL such as mysql://user@host/db` },
  );
}

/** Keys that name where and as whom to connect: a bare one (`password` alone, where mysql would prompt) gives nothing. */
const CONNECTION_KEYS = new Set(['url', 'host', 'port', 'user', 'password', 'database', 'db', 'socket']);

/**
 * Resolves a dbconf section name (or a URL) to a database location. Sections are looked up as
 * `findDbconfSection` says: the first file that has the section wins, with its `[client]` values
 * as defaults; production names never fall back to the shipped SQLite defaults.
 */
export function resolveDatabase(nameOrUrl: string, options: DbconfOptions = {}): DatabaseLocation {
  checkGivenDbconf(options);
  if (isDatabaseUrl(nameOrUrl)) return parseDatabaseUrl(nameOrUrl);
  const found = findDbconfSection(nameOrUrl, options);
  const { file, options: lines } = found;
  const shipped = file === dbconfFiles(options).slice(-1)[0];
  const origin = `${file} [${nameOrUrl}]`;
  const warnings = [...found.warnings];
  const section: Record<string, string> = {};
  for (const [key, line] of lines) {
    if (line.value !== undefined) section[key] = line.value;
    else if (CONNECTION_KEYS.has(key)) warnings.push(`${line.file}:${line.line}: '${line.key}' without a value ignored (mysql would prompt for it; scrape cannot)`);
    else section[key] = 'true';
  }
  const password = lines.get('password');
  // a url section connects with its URL's credentials, not a [client] password
  if (!shipped && password?.value && !section.url && process.platform !== 'win32') {
    const mode = fs.statSync(password.file).mode;
    if (mode & 0o044) {
      warnings.push(`${password.file} holds a password and is readable by others (mode ${(mode & 0o777).toString(8)}); chmod 600 it`);
    }
  }
  if (section.url) {
    // a relative sqlite: path starts at the file that says it
    const loc = parseDatabaseUrl(section.url, path.dirname(lines.get('url')!.file), nameOrUrl, origin);
    return classify({ ...loc, warnings }, section);
  }
  let port = 3306;
  if (section.port !== undefined) {
    const line = lines.get('port')!;
    if (!/^\d+$/.test(section.port)) throw new ScrapeError('DBCONF_FILE', `${line.file}:${line.line}: port must be a number, found '${section.port}'`);
    port = Number(section.port);
  }
  return classify(
    {
      name: nameOrUrl,
      dialect: 'mysql',
      host: section.host ?? '127.0.0.1',
      port,
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
