import { Knex } from 'knex';
import { ScrapeError } from '../core/errors';
import { fixedZoneFor, observesDaylightSaving } from '../core/time';
import { ContextDecl, ContextValueDecl, JoinDecl, Regime, TableDecl } from '../config/regime';
import { listColumns, listTables } from '../db/introspection';

/** A column of a source table as introspected from the live schema. */
export interface SourceColumn {
  name: string;
  /** Lower-case SQL type (`decimal(6,2)`, `int`, `float`, `datetime`, `varchar(16)`...). */
  type: string;
  /** Numeric columns are aggregated; others are not. */
  numeric: boolean;
  /**
   * A DECIMAL wider than a double holds exactly (`isWideDecimalType`): MySQL readers select it as
   * text so a mapping passing it through writes its exact digits. Decided once, at discovery;
   * undefined (columns made elsewhere) is decided from `type` by the reader.
   */
  wideDecimal?: boolean;
}

/** A table joined on `id` to the main table of a stream, with its column prefix. */
export interface JoinedTable {
  table: string;
  prefix: string;
  /** Joined columns as they appear in rows: prefixed, without `id`/`date_time`. */
  columns: SourceColumn[];
  /** Column names in the table itself (unprefixed), same order as `columns`. */
  tableColumns: string[];
}

/** The DBI context columns a stream writes. */
export interface StreamContext {
  sitemask: number;
  simmask: number;
  subsite: number;
  task: number;
  aggregateno: number;
}

/**
 * One source stream: a matched source table (plus joined tables), its name captures and the DBI
 * context derived from them. Each stream is scraped and resumed on its own.
 */
export interface SourceStream {
  /** Main table name. */
  table: string;
  /** Named captures of the table pattern (all-digit captures stay strings here). */
  captures: Record<string, string>;
  context: StreamContext;
  /** Columns of rows as the regime sees them: main columns then prefixed joined columns, without `id`/`date_time`. */
  columns: SourceColumn[];
  /** Main table columns (unprefixed names), without `id`/`date_time`. */
  mainColumns: SourceColumn[];
  joins: JoinedTable[];
  /** Index of the regime's `tables[]` entry the stream came from. */
  declIndex: number;
  /**
   * Older tables of a table succession (`tables[].succession`) that exist, oldest first, each with
   * the main columns it has: the stream reads them before `table`, each only before the first
   * `date_time` of the next table holding rows (see `streamTables`). Undefined for a single table.
   */
  succession?: SuccessionMember[];
  /** Declared type of the main table's `date_time` (lower case: `datetime`, `timestamp`, SQLite's `datetime`/`text`). */
  timeColumnType?: string;
  /**
   * Set when `date_time` is a MySQL TIMESTAMP: the regime's zone. A TIMESTAMP stores an instant
   * and arrives as UTC text in the engine's `+00:00` session; readers turn it into source-local
   * text in this zone (and keyset bounds back into UTC), so it gives the target a DATETIME
   * holding the same local times gives. Undefined for DATETIME (and on SQLite): text as stored.
   * In a zone with daylight saving it is the zone's standard time (a fixed offset, see `zone`).
   */
  timestampZone?: string;
  /**
   * The zone the stream's local times are in, for every conversion to and from UTC: the regime's
   * zone, except for a TIMESTAMP `date_time` in a zone with daylight saving, where it is the
   * zone's standard time (`Etc/GMT-1` for Europe/Zurich). Instants then stay in order as local
   * text (the repeated hour of autumn would otherwise run backwards) and convert back to
   * exactly the instants stored.
   */
  zone: string;
}

/** An older table of a stream's succession and the main columns it has (a column it lacks reads as NULL). */
export interface SuccessionMember {
  table: string;
  columns: Set<string>;
}

/** The tables a stream reads, oldest first: its succession's older tables, then `table`. */
export function streamTables(stream: Pick<SourceStream, 'table' | 'succession'>): string[] {
  return stream.succession ? [...stream.succession.map((m) => m.table), stream.table] : [stream.table];
}

/**
 * The text of each named group of a regular expression (`(?<site>DBNS|LANS)` → `site: 'DBNS|LANS'`),
 * so a succession template (`{site}_{detector}_HV`) can be matched against table names with the
 * same captures the pattern allows.
 */
export function namedGroupSources(pattern: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i < pattern.length; i++) {
    if (pattern[i] === '\\') {
      i++;
      continue;
    }
    const m = /^\(\?<([A-Za-z_$][\w$]*)>/.exec(pattern.slice(i));
    if (!m) continue;
    let depth = 0;
    let inClass = false;
    for (let j = i; j < pattern.length; j++) {
      const c = pattern[j];
      if (c === '\\') {
        j++;
        continue;
      }
      if (inClass) {
        if (c === ']') inClass = false;
        continue;
      }
      if (c === '[') inClass = true;
      else if (c === '(') depth++;
      else if (c === ')' && --depth === 0) {
        out[m[1]] = pattern.slice(i + m[0].length, j);
        break;
      }
    }
  }
  return out;
}

/**
 * A regular expression matching the names a succession template can give (`{site}_{detector}_HV`
 * with the pattern's own capture texts), with the same named captures.
 */
export function templateRegex(template: string, groups: Record<string, string>): RegExp {
  const used = new Set<string>();
  let source = '';
  let last = 0;
  for (const m of template.matchAll(/\{(\w+)\}/g)) {
    source += template.slice(last, m.index).replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    const key = m[1];
    if (used.has(key)) source += `\\k<${key}>`;
    else source += `(?<${key}>${groups[key] ?? '.+?'})`;
    used.add(key);
    last = m.index! + m[0].length;
  }
  source += template.slice(last).replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`^(?:${source})$`);
}

/**
 * The zone a TIMESTAMP stream's local times are kept in: `zone` itself, or its standard time as a
 * fixed offset when it observes daylight saving (see `SourceStream.zone`).
 */
export function timestampStreamZone(zone: string): string {
  return observesDaylightSaving(zone) ? (fixedZoneFor(zone) ?? zone) : zone;
}

/** True for a declared column type that is a TIMESTAMP (`timestamp`, `timestamp(3)`). */
export function isTimestampType(type: string): boolean {
  return /^timestamp\b/i.test(type);
}

/** Significant digits every DECIMAL value of which round-trips exactly through a double (`decimal(8,2)`, the DCS common case, does). */
export const DOUBLE_EXACT_DIGITS = 15;

const DECIMAL_TYPE = /^(?:decimal|numeric|dec|fixed)\s*\(\s*(\d+)/i;

/**
 * True for a declared DECIMAL type of more than `DOUBLE_EXACT_DIGITS` digits of precision
 * (`decimal(20,8)`): its values may not survive a double (123456789012.12345678 becomes
 * 123456789012.12346), so they are read as text. `decimal(p,s)` with p ≤ 15, bare `decimal`
 * (10,0) and every other type are not wide.
 */
export function isWideDecimalType(type: string): boolean {
  const m = DECIMAL_TYPE.exec(type.trim());
  return m !== null && Number(m[1]) > DOUBLE_EXACT_DIGITS;
}

const NUMERIC = /^(tinyint|smallint|mediumint|int|integer|bigint|float|double|real|decimal|numeric|dec)\b/i;

/** True for a SQL column type the aggregates take (integers, floats, decimals). */
export function isNumericType(type: string): boolean {
  return NUMERIC.test(type);
}

/** Lists the tables of the database (base tables only); asked of `db/introspection`. */
export { listTables };

/** Introspects a table's columns (name, type) from the live schema. */
export async function tableColumns(db: Knex, table: string): Promise<SourceColumn[]> {
  return (await listColumns(db, table)).map((c) => ({ name: c.name, type: c.type, numeric: isNumericType(c.type), wideDecimal: isWideDecimalType(c.type) }));
}

/** Matches a table name against a declaration; returns its captures or undefined. */
export function matchTable(decl: TableDecl, name: string): Record<string, string> | undefined {
  if (decl.name !== undefined) return decl.name === name ? {} : undefined;
  const m = new RegExp(decl.pattern!).exec(name);
  if (!m || m[0] !== name) return undefined;
  return { ...(m.groups ?? {}) };
}

/** Replaces `{capture}` in a name template. */
export function expandTemplate(template: string, captures: Record<string, string>): string {
  return template.replace(/\{(\w+)\}/g, (whole, key: string) => {
    if (!(key in captures)) throw new ScrapeError('REGIME_CAPTURE', `template '${template}' names {${key}}, which the table pattern does not capture`);
    return captures[key];
  });
}

function contextValue(decl: ContextValueDecl, captures: Record<string, string>, what: string, table: string): number {
  if (typeof decl === 'number') return decl;
  const raw = captures[decl.capture];
  if (raw === undefined) throw new ScrapeError('REGIME_CAPTURE', `context ${what}: table ${table} has no capture '${decl.capture}'`);
  if (decl.map) {
    if (!(raw in decl.map)) {
      throw new ScrapeError('REGIME_CONTEXT', `context ${what}: '${raw}' (capture ${decl.capture} of table ${table}) is not in the map (${Object.keys(decl.map).join(', ')})`);
    }
    return decl.map[raw];
  }
  const n = Number(raw);
  if (!Number.isInteger(n)) throw new ScrapeError('REGIME_CONTEXT', `context ${what}: capture ${decl.capture}='${raw}' of table ${table} is not an integer; give a map`);
  return n;
}

/** The DBI context of a table from its captures. */
export function resolveContext(decl: ContextDecl, captures: Record<string, string>, table: string): StreamContext {
  return {
    sitemask: contextValue(decl.sitemask, captures, 'sitemask', table),
    subsite: contextValue(decl.subsite, captures, 'subsite', table),
    simmask: decl.simmask ?? 1,
    task: decl.task ?? 0,
    aggregateno: decl.aggregateno ?? -1,
  };
}

/** The name templates of a join: one, or the candidate spellings of a list. */
export function joinTemplates(join: Pick<JoinDecl, 'table'>): string[] {
  return Array.isArray(join.table) ? join.table : [join.table];
}

/**
 * The joined table of a main table: its join template filled with the main table's captures, or,
 * for a list of candidate templates (a family spelling one table two ways, `DBNS_AD1_HVPw` beside
 * `DBNS_AD2_HV_Pw`), the one candidate that exists. None existing is `SOURCE_JOIN_MISSING` (as for
 * a single template); two existing is `SOURCE_JOIN_AMBIGUOUS`, naming both: which one holds the
 * rows is for a person to decide, not for the engine to guess.
 */
export function resolveJoinTable(join: Pick<JoinDecl, 'table'>, captures: Record<string, string>, existing: Set<string>, main: string): string {
  const names = [...new Set(joinTemplates(join).map((t) => expandTemplate(t, captures)))];
  const found = names.filter((n) => existing.has(n));
  if (found.length > 1) {
    throw new ScrapeError('SOURCE_JOIN_AMBIGUOUS', `table ${main}: joined tables ${found.join(' and ')} both exist; the join's candidate names must leave exactly one (drop or rename the other, or list only one)`);
  }
  if (found.length === 0) {
    const what = names.length === 1 ? `joined table ${names[0]}, which does not exist` : `one of the joined tables ${names.join(', ')}, none of which exists`;
    throw new ScrapeError('SOURCE_JOIN_MISSING', `table ${main} needs ${what} in the source`);
  }
  return found[0];
}

async function joinedTable(db: Knex, join: JoinDecl, captures: Record<string, string>, existing: Set<string>, main: string): Promise<JoinedTable> {
  const table = resolveJoinTable(join, captures, existing, main);
  const cols = (await tableColumns(db, table)).filter((c) => c.name !== 'id' && c.name !== 'date_time');
  if (!(await tableColumns(db, table)).some((c) => c.name === 'id')) throw new ScrapeError('SOURCE_SCHEMA', `joined table ${table} has no id column`);
  return {
    table,
    prefix: join.prefix,
    tableColumns: cols.map((c) => c.name),
    columns: cols.map((c) => ({ ...c, name: join.prefix + c.name })),
  };
}

/**
 * The streams one `tables[]` entry gives: each table matching it, with the older tables of its
 * succession that exist (oldest first); and, for a succession, the streams whose newest table does
 * not exist yet but whose older ones do (the history before the rename): such a stream is named
 * after its newest existing table, and reads the older ones before it.
 */
export function successionStreams(decl: TableDecl, names: readonly string[], existing: ReadonlySet<string>): { name: string; captures: Record<string, string>; older: string[] }[] {
  const out: { name: string; captures: Record<string, string>; older: string[] }[] = [];
  const templates = decl.succession ?? [];
  const key = (c: Record<string, string>) => JSON.stringify(Object.keys(c).sort().map((k) => [k, c[k]]));
  const seen = new Set<string>();
  for (const name of names) {
    const captures = matchTable(decl, name);
    if (!captures) continue;
    const older = [...new Set(templates.map((t) => expandTemplate(t, captures)))].filter((o) => o !== name && existing.has(o));
    out.push({ name, captures, older });
    seen.add(key(captures));
  }
  if (templates.length === 0) return out;
  // streams found from their older tables alone (the newest not there yet)
  const groups = decl.pattern !== undefined ? namedGroupSources(decl.pattern) : {};
  const found = new Map<string, { captures: Record<string, string>; older: Set<string> }>();
  for (const template of templates) {
    const re = templateRegex(template, groups);
    for (const name of names) {
      const m = re.exec(name);
      if (!m) continue;
      const captures = { ...(m.groups ?? {}) };
      const k = key(captures);
      if (seen.has(k)) continue;
      const entry = found.get(k) ?? { captures, older: new Set<string>() };
      entry.older.add(name);
      found.set(k, entry);
    }
  }
  for (const { captures } of found.values()) {
    const older = [...new Set(templates.map((t) => expandTemplate(t, captures)))].filter((o) => existing.has(o));
    out.push({ name: older[older.length - 1], captures, older: older.slice(0, -1) });
  }
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/**
 * Finds the regime's source streams in the live source schema: every table matching a `tables[]`
 * entry, its joined tables, its columns (introspected once) and its context. Streams are ordered
 * by table name. A regime matching nothing is an error naming what was looked for.
 */
export async function discoverStreams(db: Knex, regime: Regime, only?: string[]): Promise<SourceStream[]> {
  const names = await listTables(db);
  const existing = new Set(names);
  const streams: SourceStream[] = [];
  const joinedNames = new Set<string>();
  const olderNames = new Set<string>();
  for (const [declIndex, decl] of regime.tables.entries()) {
    for (const { name, captures, older } of successionStreams(decl, names, existing)) {
      if (only && only.length && !only.includes(name) && !older.some((o) => only.includes(o))) continue;
      for (const o of older) olderNames.add(o);
      const all = await tableColumns(db, name);
      for (const required of ['id', 'date_time']) {
        if (!all.some((c) => c.name === required)) throw new ScrapeError('SOURCE_SCHEMA', `source table ${name} has no ${required} column`);
      }
      const mainColumns = all.filter((c) => c.name !== 'id' && c.name !== 'date_time');
      const succession: SuccessionMember[] = [];
      for (const o of older) {
        const cols = await tableColumns(db, o);
        for (const required of ['id', 'date_time']) {
          if (!cols.some((c) => c.name === required)) throw new ScrapeError('SOURCE_SCHEMA', `source table ${o} (older name of ${name}) has no ${required} column`);
        }
        succession.push({ table: o, columns: new Set(cols.map((c) => c.name)) });
      }
      const joins: JoinedTable[] = [];
      for (const join of decl.join ?? []) {
        const j = await joinedTable(db, join, captures, existing, name);
        joinedNames.add(j.table);
        joins.push(j);
      }
      const columns = [...mainColumns, ...joins.flatMap((j) => j.columns)];
      const seen = new Set<string>();
      for (const c of columns) {
        if (seen.has(c.name)) throw new ScrapeError('SOURCE_SCHEMA', `table ${name}: column ${c.name} appears twice after joining; give the join another prefix`);
        seen.add(c.name);
      }
      const timeColumnType = all.find((c) => c.name === 'date_time')!.type;
      const timestampZone = isTimestampType(timeColumnType) ? timestampStreamZone(regime.timezone) : undefined;
      const zone = timestampZone ?? regime.timezone;
      const stream: SourceStream = { table: name, captures, context: resolveContext(regime.context, captures, name), columns, mainColumns, joins, declIndex, timeColumnType, timestampZone, zone };
      if (succession.length) stream.succession = succession;
      streams.push(stream);
    }
  }
  // an older table of a succession is read by its stream, never as a stream of its own
  const result = streams.filter((s) => (!joinedNames.has(s.table) || regime.tables.some((d) => d.name === s.table)) && !olderNames.has(s.table));
  if (result.length === 0) {
    const wanted = regime.tables.map((t) => t.name ?? `/${t.pattern}/`).join(', ');
    throw new ScrapeError('SOURCE_NO_TABLES', `regime ${regime.name}: no source table matches ${wanted}${only?.length ? ` among ${only.join(', ')}` : ''}`);
  }
  const keys = new Set<string>();
  for (const s of result) {
    const key = `${s.context.sitemask}/${s.context.subsite}/${s.context.simmask}/${s.context.task}`;
    if (keys.has(key)) throw new ScrapeError('REGIME_CONTEXT', `two source tables map to the same context (sitemask/subsite ${key}); each stream needs its own context`);
    keys.add(key);
  }
  return result;
}
