/**
 * MySQL option files (`~/.my.cnf`, dbconf files) read the way the MySQL/MariaDB client library
 * reads them, so a file gives scrape exactly what it gives `mysql` and `my_print_defaults`:
 * `[group]` headers (names compared case-insensitively, trailing blanks dropped), `key = value`
 * with blanks around both trimmed, a `#` outside quotes ending the line, one pair of matching
 * quotes around a value removed, the escapes `\n \t \r \b \s \" \' \\` (any other `\x` kept as
 * is), `!include FILE` and `!includedir DIR` (the `*.cnf` files of DIR in name order; relative
 * paths from the current directory; a missing FILE skipped, at most 10 levels deep), and a
 * world-writable file ignored. What makes the client abort (an option before any group, a
 * header without `]`, a directive without argument, a DIR that cannot be read) is a
 * `DBCONF_FILE` error naming the file and line.
 */
import * as fs from 'fs';
import * as path from 'path';
import { ScrapeError } from '../core/errors';

/** One option as the client library reads it, in reading order. */
export interface OptionLine {
  /** The group it is under, as written (`client`, `dcs`). */
  group: string;
  /** The option name as written (`user`, `default-character-set`). */
  key: string;
  /** The value after unquoting and escapes; undefined for a bare option (`skip-ssl`). */
  value?: string;
  /** The file and 1-based line it came from. */
  file: string;
  line: number;
}

/** An option file with everything it includes. */
export interface OptionFile {
  file: string;
  /** Every option of every group, in the order the client reads them. */
  options: OptionLine[];
  /** Every `[group]` header met, as written (a group may have no option of its own). */
  groups: string[];
  /** What the client skips, said so here: world-writable files, missing `!include` files, directives past the depth limit. */
  warnings: string[];
}

/** How deep `!include` may nest, as in the client library. */
const MAX_INCLUDE_DEPTH = 10;

/** Blank as the client library sees it (latin1 `isspace`). */
const isBlank = (c: string | undefined): boolean => c === ' ' || c === '\t' || c === '\n' || c === '\r' || c === '\v' || c === '\f';

function trimEnd(s: string): string {
  let end = s.length;
  while (end > 0 && isBlank(s[end - 1])) end--;
  return s.slice(0, end);
}

function trimStart(s: string): string {
  let start = 0;
  while (start < s.length && isBlank(s[start])) start++;
  return s.slice(start);
}

/** The line up to its first `#` outside single or double quotes (a `\` escapes a quote inside quotes only). */
function withoutComment(line: string): string {
  let quote = '';
  let escaped = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if ((c === "'" || c === '"') && !escaped) {
      if (!quote) quote = c;
      else if (quote === c) quote = '';
    }
    if (!quote && c === '#') return line.slice(0, i);
    escaped = quote !== '' && c === '\\' && !escaped;
  }
  return line;
}

const ESCAPES: Record<string, string> = { n: '\n', t: '\t', r: '\r', b: '\b', s: ' ', '"': '"', "'": "'", '\\': '\\' };

/** A raw value (after `=`, comment removed) as the client gives it: trimmed, one pair of matching quotes removed, escapes applied. */
function optionValue(raw: string): string {
  let value = trimEnd(trimStart(raw));
  if (value.length > 1 && (value[0] === '"' || value[0] === "'") && value[value.length - 1] === value[0]) value = value.slice(1, -1);
  let out = '';
  for (let i = 0; i < value.length; i++) {
    if (value[i] === '\\' && i < value.length - 1) {
      const next = value[++i];
      out += ESCAPES[next] ?? `\\${next}`;
    } else {
      out += value[i];
    }
  }
  return out;
}

function isWorldWritableFile(stat: fs.Stats): boolean {
  return process.platform !== 'win32' && stat.isFile() && (stat.mode & 0o002) !== 0;
}

/**
 * Reads `file` and what it includes as the client library does. `cwd` is where relative
 * `!include`/`!includedir` paths start (the client uses the process's current directory).
 * A file that does not exist gives no options (the caller decides whether that is an error).
 */
export function readOptionFile(file: string, cwd: string = process.cwd()): OptionFile {
  const result: OptionFile = { file, options: [], groups: [], warnings: [] };
  readInto(result, path.resolve(cwd, file), cwd, 0);
  return result;
}

function readInto(result: OptionFile, file: string, cwd: string, depth: number): void {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(file);
  } catch {
    if (depth > 0) result.warnings.push(`${file} (included) does not exist: skipped, as mysql does`);
    return;
  }
  if (isWorldWritableFile(stat)) {
    result.warnings.push(`${file} is world-writable: ignored, as mysql does (chmod o-w it)`);
    return;
  }
  if (stat.isDirectory()) return; // the client opens it and reads no line
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if (depth === 0) throw new ScrapeError('DBCONF_FILE', `cannot read dbconf file ${file}: ${(err as Error).message}`, { cause: err });
    result.warnings.push(`${file} (included) cannot be read: skipped, as mysql does`);
    return;
  }
  const fail = (line: number, what: string): never => {
    throw new ScrapeError('DBCONF_FILE', `${file}:${line}: ${what} (mysql refuses this file too)`);
  };
  let group: string | undefined;
  const lines = text.split('\n');
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  lines.forEach((raw, index) => {
    const lineNo = index + 1;
    const line = trimStart(raw);
    if (line === '' || line[0] === '#' || line[0] === ';') return;
    if (line[0] === '!') {
      if (depth >= MAX_INCLUDE_DEPTH) {
        result.warnings.push(`${file}:${lineNo}: '${trimEnd(line)}' skipped: includes nest more than ${MAX_INCLUDE_DEPTH} deep`);
        return;
      }
      const directive = trimStart(line.slice(1));
      const m = /^(includedir|include)(?=[ \t\n\r\v\f]|$)/.exec(directive); // the line ends in a newline for the client
      if (!m) return; // the client ignores other directives
      const argument = trimEnd(trimStart(directive.slice(m[1].length)));
      if (argument === '') fail(lineNo, `'!${m[1]}' without a file or folder`);
      const target = path.resolve(cwd, argument);
      if (m[1] === 'include') {
        readIncluded(result, target, cwd, depth + 1);
        return;
      }
      let names: string[];
      try {
        names = fs.readdirSync(target);
      } catch (err) {
        fail(lineNo, `'!includedir ${argument}' cannot be read: ${(err as Error).message}`);
      }
      for (const name of names!.filter((n) => path.extname(n) === '.cnf').sort()) readIncluded(result, path.join(target, name), cwd, depth + 1);
      return;
    }
    if (line[0] === '[') {
      const close = line.indexOf(']');
      if (close < 0) fail(lineNo, 'a [group] header without its closing ]');
      group = trimEnd(line.slice(1, close));
      result.groups.push(group);
      return;
    }
    if (group === undefined) fail(lineNo, 'an option before any [group] header');
    const content = withoutComment(line);
    const eq = content.indexOf('=');
    const key = trimEnd(eq < 0 ? content : content.slice(0, eq));
    if (key === '') return; // `= value`: no option the client could use
    result.options.push({ group: group!, key, value: eq < 0 ? undefined : optionValue(content.slice(eq + 1)), file, line: lineNo });
  });
}

/**
 * An included file: an error that makes the client refuse a file ends the included file only
 * (what it gave until then stays, as in the client), said as a warning.
 */
function readIncluded(result: OptionFile, file: string, cwd: string, depth: number): void {
  try {
    readInto(result, file, cwd, depth);
  } catch (err) {
    if (!(err instanceof ScrapeError)) throw err;
    result.warnings.push(`${err.message.replace(/ \(mysql refuses this file too\)$/, '')}: the rest of that included file skipped, as mysql does`);
  }
}

/** True when two group names are the same group (the client compares them case-insensitively). */
export function sameGroup(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}

/** The options of `groups`, in reading order: what `my_print_defaults --defaults-file=F groups…` prints. */
export function groupOptions(file: OptionFile, groups: string[]): OptionLine[] {
  return file.options.filter((o) => groups.some((g) => sameGroup(o.group, g)));
}

/** True when the file (or a file it includes) has a `[group]` header of that name. */
export function hasGroup(file: OptionFile, group: string): boolean {
  return file.groups.some((g) => sameGroup(g, group));
}
