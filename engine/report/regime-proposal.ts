import { Knex } from 'knex';
import { ScrapeError } from '../core/errors';
import { didYouMean } from '../config/diagnostic';
import { dialectOf, quoteIdentifier, rawRows } from '../db/dialect';
import { listTables } from '../db/introspection';
import { SourceColumn, tableColumns } from '../source/source-stream';
import { ColumnSpread, RuleProposal, columnSpread, proposeRule, shortNumber } from './column-spread';
import { summarizeColumns } from './source-inspection';
import { ContextProposal, TableFamily, familyContext, narrowFamily, tableFamily } from './table-family';
import { UnpivotProposal, proposeUnpivot } from './unpivot-proposal';

/**
 * `scrape new`: a starting regime and `.spec` for a DCS table family, proposed from what the
 * source shows (table names, column names and types, recent rows), written with comments saying
 * how each value was found and `# TODO decide` where a person must choose. The proposal passes
 * `scrape validate` as written; `scrape fake` and `scrape run` work with it at once.
 */

/** What `proposeRegime` needs besides the source connection. */
export interface ProposalOptions {
  /** Regime name (`scrape run <name>`). */
  name: string;
  /** A source table, or a regular expression with named captures for a family. */
  from: string;
  /** What the regime's `source:` says (a dbconf section name). */
  source: string;
  /** A note when `source` is not what was read (a URL given on the command line). */
  sourceNote?: string;
  /** True when `source` is a fake database (the faker may write it). */
  sourceFake: boolean;
  /** Target class; default `GDcs` + the name in CamelCase. */
  specClass?: string;
  /** Recent rows read for the spreads (default 1000). */
  sampleRows?: number;
}

/** A proposed regime: the two files' texts and what they were made from. */
export interface RegimeProposal {
  name: string;
  specClass: string;
  /** Payload table of the spec. */
  specTable: string;
  family: TableFamily;
  /** Members whose columns differ from the inspected table's (left out of faker.tables). */
  leftOut: string[];
  yaml: string;
  spec: string;
  /** Number of `# TODO decide` comments in the YAML. */
  todos: number;
}

/** Default number of recent rows the spreads are measured on. */
export const DEFAULT_SAMPLE_ROWS = 1000;

/** Regime source types as a regime declares them (`int(11)` → `int`); undefined for a type regimes cannot declare. */
export function declaredType(type: string): { type?: string; note?: string } {
  const t = type.trim().toLowerCase().replace(/\s+/g, ' ').replace(/ zerofill\b/, '');
  const unsigned = / unsigned\b/.test(t) ? ' unsigned' : '';
  const base = t.replace(/ unsigned\b/, '');
  let m: RegExpExecArray | null;
  if ((m = /^(tinyint|smallint|int|integer|bigint)(\(\d+\))?$/.exec(base))) return { type: `${m[1] === 'integer' ? 'int' : m[1]}${unsigned}` };
  if (/^mediumint(\(\d+\))?$/.test(base)) return { type: `int${unsigned}`, note: `${type} declared as int` };
  if (/^(bit|bool|boolean)(\(\d+\))?$/.test(base)) return { type: 'tinyint', note: `${type} declared as tinyint` };
  if (/^(float)(\(\d+(,\d+)?\))?$/.test(base)) return { type: `float${unsigned}` };
  if (/^(double|real|double precision)(\(\d+(,\d+)?\))?$/.test(base)) return { type: `double${unsigned}` };
  if ((m = /^(?:decimal|numeric|dec|fixed)(?:\((\d+)(?:,(\d+))?\))?$/.exec(base))) return { type: `decimal(${m[1] ?? 10},${m[2] ?? 0})${unsigned}` };
  if ((m = /^varchar\((\d+)\)$/.exec(base))) return { type: `varchar(${m[1]})` };
  if ((m = /^char\((\d+)\)$/.exec(base))) return { type: `varchar(${m[1]})`, note: `${type} declared as varchar(${m[1]})` };
  return {};
}

/** The smallest step a declared type stores (decimal(8,2): 0.01; integers 1; floats 0). */
function resolution(type: string): number {
  const m = /^decimal\(\d+,(\d+)\)/.exec(type);
  if (m) return Number((10 ** -Number(m[1])).toPrecision(6));
  return /int/.test(type) ? 1 : 0;
}

/** A scalar as YAML: plain when safe, else single-quoted. */
export function yamlScalar(v: string | number | boolean): string {
  if (typeof v !== 'string') return String(v);
  if (/^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/.test(v) && !/^(true|false|null|yes|no|on|off|y|n|~)$/i.test(v)) return v;
  return `'${v.replace(/'/g, "''")}'`;
}

const escapeRegex = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** `last.X`, or ``last.`X.Y` `` for a name JSONata does not read bare. */
function lastPath(column: string): string {
  return IDENT.test(column) ? `last.${column}` : `last.\`${column}\``;
}

/** Spec dbtype and codetype of a declared source type: the source's own type, so nothing is rounded. */
function specTypes(type: string): { dbtype: string; codetype: string } {
  if (/^(tinyint|smallint|int|bigint)/.test(type)) return { dbtype: type, codetype: 'int' };
  if (/^varchar/.test(type)) return { dbtype: type, codetype: 'std::string' };
  return { dbtype: type.replace(/ unsigned$/, ''), codetype: 'double' };
}

/** `envpth2` → `GDcsEnvpth2`, `wp_pmt` → `GDcsWpPmt`. */
export function defaultSpecClass(name: string): string {
  return `GDcs${name.split('_').filter(Boolean).map((p) => p[0].toUpperCase() + p.slice(1)).join('')}`;
}

/** One column as the proposal sees it. */
interface Col extends SourceColumn {
  decl: string;
  note?: string;
  integer: boolean;
}

/** How a site token shows in a column name: as a whole `_`/`.`-separated part. */
function siteToken(site: string): RegExp {
  return new RegExp(`(^|[_.])${escapeRegex(site)}(?=[_.]|$)`);
}

/** Columns of a member named like the inspected table's, with its own site in place of the table's. */
function translated(names: string[], from: string, to: string): string[] {
  const re = new RegExp(siteToken(from).source, 'g');
  return names.map((n) => n.replace(re, `$1${to}`));
}

/** Reads the `n` most recent rows of a table, oldest first (every column, `SELECT *`: names are not quoted one by one). */
async function recentRows(db: Knex, table: string, n: number): Promise<Record<string, unknown>[]> {
  const q = (x: string) => quoteIdentifier(x, dialectOf(db));
  const rows = await rawRows(db, `SELECT * FROM ${q(table)} ORDER BY ${q('date_time')} DESC, ${q('id')} DESC LIMIT ${Math.max(1, Math.floor(n))}`);
  return rows.reverse();
}

function toNumber(v: unknown): number | null {
  if (v === null || v === undefined || v === '') return null;
  const n = typeof v === 'number' ? v : Number(v);
  return Number.isFinite(n) ? n : null;
}

function timeText(v: unknown): string | undefined {
  if (v instanceof Date) return v.toISOString().slice(0, 19).replace('T', ' ');
  return typeof v === 'string' ? v.slice(0, 19).replace('T', ' ') : undefined;
}

/** Seconds of a local time text read as if UTC (differences only). */
function seconds(t: string): number {
  return Date.parse(t.replace(' ', 'T') + 'Z') / 1000;
}

function localText(s: number): string {
  return new Date(s * 1000).toISOString().slice(0, 19).replace('T', ' ');
}

/** Declaration keys of columns: runs folded into `{a..b}` where they form a full product, else one key each. */
function declarationKeys(cols: Array<{ name: string; decl: string }>): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const g of summarizeColumns(cols.map((c) => ({ name: c.name, type: c.decl })))) {
    if (g.count > 1 && !g.text.includes(' … ')) out.push([g.text, g.type]);
    else for (const n of g.names) out.push([n, g.type]);
  }
  return out;
}

/**
 * Tables beside `table` a DCS expert would look at: its power flags (`…_HV_Pw`, `…_HVPw` beside
 * `…_HV_Vmon`), to join on id, an older name of it (`DBNS_AD1_HV` before `DBNS_AD1_HV_Vmon`) and a
 * later one (`DBNS_AD1_HV_Vmon` after `DBNS_AD1_HV`). Given `columns` (column names of the table
 * and of those candidates), an older or later name must have the table's columns
 * (`DBNS_AD1_HV_Pw` is not a later name of `DBNS_AD1_HV`); a later name is only proposed then.
 */
export function relatedTables(table: string, tables: readonly string[], columns?: Readonly<Record<string, readonly string[]>>): string[] {
  const out: string[] = [];
  const same = (other: string) => !columns || (!!columns[table] && !!columns[other] && columns[table].join('\u0000') === columns[other].join('\u0000'));
  if (/_Vmon$/.test(table)) {
    for (const pw of [table.replace(/_Vmon$/, '_Pw'), table.replace(/_HV_Vmon$/, '_HVPw')]) {
      if (pw !== table && tables.includes(pw)) out.push(`${pw} looks like the power flags of ${table}: join it on id (tables[].join, as regimes.d/pmthv.yaml does)`);
    }
  }
  const older = olderName(table);
  if (older && tables.includes(older) && same(older)) out.push(`${older} looks like an older name of ${table}: its rows are not read by this regime`);
  if (columns) {
    for (const later of laterNames(table, tables)) {
      if (same(later)) out.push(`${later} looks like a later name of ${table}: its rows are not read by this regime`);
    }
  }
  return out;
}

/** `DBNS_AD1_HV_Vmon` → `DBNS_AD1_HV`: the name without its last part, when a `_` is left. */
function olderName(table: string): string | undefined {
  const older = table.replace(/_[^_]+$/, '');
  return older !== table && older.includes('_') ? older : undefined;
}

/** Tables named `table` plus one more `_Word` (`DBNS_AD1_HV_Vmon` for `DBNS_AD1_HV`). */
function laterNames(table: string, tables: readonly string[]): string[] {
  return tables.filter((t) => t.startsWith(`${table}_`) && /^[A-Za-z]+$/.test(t.slice(table.length + 1)));
}

/**
 * Inspects `options.from` in the source (a table and its siblings, or a pattern) and proposes a
 * regime and spec for the family: pattern and context, declared columns with their real types,
 * an unpivot when the columns are channels, change rules from the spread of the most recent rows
 * (`sampleRows`), a faker profile that continues the table's clock, scraper settings from its row
 * spacing. Read-only. An unknown table is `NEW_TABLE_UNKNOWN` naming the nearest table.
 */
export async function proposeRegime(db: Knex, options: ProposalOptions): Promise<RegimeProposal> {
  const tables = await listTables(db);
  let family = tableFamily(options.from, tables);
  if (!family) {
    const plain = /^[A-Za-z0-9_$]+$/.test(options.from);
    throw new ScrapeError('NEW_TABLE_UNKNOWN', `${plain ? `no table ${options.from}` : `no table matches /${options.from}/`} in the source${plain ? didYouMean(options.from, tables) : ''}`, {
      hint: `give a table the source holds${tables.length ? ` (it holds ${tables.length} table${tables.length === 1 ? '' : 's'}; --from-table takes a name or a pattern with named captures)` : ' (the source holds no table: check --source)'}`,
    });
  }
  const table = family.table;
  const all = await tableColumns(db, table);
  for (const required of ['id', 'date_time']) {
    if (!all.some((c) => c.name === required)) {
      throw new ScrapeError('SOURCE_SCHEMA', `source table ${table} has no ${required} column: scrape reads DCS tables of id, date_time and readings`, { hint: 'choose a DCS readings table' });
    }
  }
  const cols: Col[] = [];
  const undeclared: string[] = [];
  for (const c of all) {
    if (c.name === 'id' || c.name === 'date_time') continue;
    const d = declaredType(c.type);
    if (!d.type) undeclared.push(`${c.name} (${c.type})`);
    else cols.push({ ...c, decl: d.type, note: d.note, integer: /int/.test(d.type) });
  }
  const sites = family.captures.find((c) => c.kind === 'site');
  const site0 = sites ? family.memberCaptures[table][sites.name] : undefined;

  // siblings: the same columns, or the same with their own site in the names
  const names = cols.map((c) => c.name);
  const leftOut: string[] = [];
  let templated = false;
  const kept: string[] = [];
  for (const m of family.members) {
    if (m === table) {
      kept.push(m);
      continue;
    }
    const theirs = (await tableColumns(db, m)).filter((c) => c.name !== 'id' && c.name !== 'date_time').map((c) => c.name);
    const same = (xs: string[]) => xs.length === theirs.length && xs.every((x) => theirs.includes(x));
    if (same(names)) kept.push(m);
    else if (site0 && sites && same(translated(names, site0, family.memberCaptures[m][sites.name]))) {
      templated = true;
      kept.push(m);
    } else leftOut.push(m);
  }
  // siblings with other columns: left out of the pattern when its captures can say so
  let leftOutOfPattern = false;
  if (leftOut.length) {
    const narrowed = narrowFamily(family, kept);
    if (narrowed) {
      family = narrowed;
      leftOutOfPattern = true;
    }
  }
  const fam = family;
  const siteValues = sites ? [...new Set(kept.map((m) => fam.memberCaptures[m][sites.name]))].sort() : [];
  const hasSite = (n: string) => !!site0 && siteToken(site0).test(n);
  /** A regex over a column's name that matches it in every member (its site part generic when templated). */
  const columnRegex = (n: string): string => {
    if (!templated || !hasSite(n)) return `^${escapeRegex(n)}$`;
    const m = siteToken(site0!).exec(n)!;
    const at = m.index + m[1].length;
    return `^${escapeRegex(n.slice(0, at))}(?:${siteValues.join('|')})${escapeRegex(n.slice(at + site0!.length))}$`;
  };

  // an older or later name of the table has its columns
  const nameColumns: Record<string, string[]> = { [table]: all.map((c) => c.name) };
  for (const t of [olderName(table), ...laterNames(table, tables)]) {
    if (t && tables.includes(t)) nameColumns[t] = (await tableColumns(db, t)).map((c) => c.name);
  }

  // recent rows
  const sampleRows = options.sampleRows ?? DEFAULT_SAMPLE_ROWS;
  const rows = await recentRows(db, table, sampleRows);
  const spacings: number[] = [];
  for (let i = 1; i < rows.length; i++) {
    const a = timeText(rows[i - 1].date_time);
    const b = timeText(rows[i].date_time);
    if (a && b && !a.startsWith('0000') && seconds(b) > seconds(a)) spacings.push(seconds(b) - seconds(a));
  }
  const spacing = spacings.length ? Math.max(1, Math.round([...spacings].sort((x, y) => x - y)[spacings.length >> 1])) : undefined;
  const series = (n: string) => rows.map((r) => toNumber(r[n]));

  // layout
  const unpivot: UnpivotProposal | undefined = proposeUnpivot(table, cols);
  const channelSet = new Set(unpivot?.columns ?? []);
  const others = cols.filter((c) => !channelSet.has(c.name));
  let unpivotPattern = unpivot?.pattern;
  if (unpivot && templated && site0) {
    const lit = escapeRegex(site0);
    unpivotPattern = unpivot.pattern.replace(new RegExp(`(^\\^|_|\\\\\\.)${escapeRegex(lit)}(?=_|\\\\\\.|\\$)`), `$1(?:${siteValues.join('|')})`);
  }

  // target attributes
  const attrs: Array<{ name: string; dbtype: string; codetype: string; description: string; expr: string }> = [];
  const taken = new Set<string>();
  const attrName = (raw: string): string => {
    let n = raw;
    if (site0) n = n.replace(new RegExp(`^${escapeRegex(site0)}[_.]`), '');
    n = n.replace(/[^A-Za-z0-9_]/g, '_');
    if (!/^[A-Za-z_]/.test(n)) n = `c_${n}`;
    if (['seqno', 'row_counter'].includes(n.toLowerCase())) n = `${n}_`;
    let name = n;
    for (let k = 2; taken.has(name.toLowerCase()); k++) name = `${n}_${k}`;
    taken.add(name.toLowerCase());
    return name;
  };
  if (unpivot) {
    for (const c of unpivot.captures) {
      const width = Math.max(...c.values.map((v) => v.length));
      const name = attrName(c.name);
      attrs.push(
        c.kind === 'number'
          ? { name, dbtype: 'int', codetype: 'int', description: `${c.name} from the channel column's name`, expr: c.name }
          : { name, dbtype: `varchar(${Math.max(width, 1)})`, codetype: 'std::string', description: `${c.name} from the channel column's name`, expr: c.name },
      );
    }
    const channelType = cols.find((c) => c.name === unpivot.columns[0])!.decl;
    attrs.push({ name: attrName(unpivot.valueField), ...specTypes(channelType), description: `${unpivot.valueField} of the channel (${channelType}), last value of the range`, expr: unpivot.valueField });
  }
  for (const c of others) {
    let expr = lastPath(c.name);
    if (templated && hasSite(c.name)) {
      const m = siteToken(site0!).exec(c.name)!;
      const at = m.index + m[1].length;
      const before = c.name.slice(0, at);
      const after = c.name.slice(at + site0!.length);
      expr = `$lookup(last, ${[before && JSON.stringify(before).replace(/"/g, "'"), 'ctx.site', after && JSON.stringify(after).replace(/"/g, "'")].filter(Boolean).join(' & ')})`;
    }
    attrs.push({ name: attrName(c.name), ...specTypes(c.decl), description: `${c.name}${templated && hasSite(c.name) ? ' (with the table\'s own site)' : ''} (${c.decl}), last value of the range`, expr });
  }
  if (attrs.length === 0) {
    throw new ScrapeError('NEW_TABLE_UNKNOWN', `table ${table} has no column a regime can read besides id and date_time${undeclared.length ? ` (${undeclared.join(', ')})` : ''}`, { hint: 'choose a DCS readings table' });
  }

  // change rules
  type Rule = { selector: string[] | string; proposal: RuleProposal; label: string; spread: ColumnSpread };
  const rules: Rule[] = [];
  if (unpivot) {
    const pooled: Array<number | null> = [];
    for (const ch of unpivot.columns) pooled.push(...series(ch), null);
    const first = cols.find((c) => c.name === unpivot.columns[0])!;
    const spread = columnSpread(pooled);
    const proposal = proposeRule(spread, { integer: first.integer, name: unpivot.valueField, resolution: resolution(first.decl) }, rows.length);
    rules.push({ selector: unpivotPattern!.replace(/\(\?<[A-Za-z_][A-Za-z0-9_]*>/g, '(?:'), proposal: { ...proposal, how: `${proposal.how}; over all ${unpivot.columns.length} channels together` }, label: `the ${unpivot.columns.length} channels`, spread });
  }
  const equalCols: string[] = [];
  let equalTodo = false;
  const equalHows: string[] = [];
  for (const c of others) {
    const spread = columnSpread(series(c.name));
    const proposal = proposeRule(spread, { integer: c.integer, name: c.name, resolution: resolution(c.decl) }, rows.length);
    if (proposal.kind === 'equal') {
      equalCols.push(c.name);
      equalTodo ||= proposal.todo;
      equalHows.push(`${c.name}: ${proposal.how}`);
      continue;
    }
    const selector = IDENT.test(c.name) && !(templated && hasSite(c.name)) ? [c.name] : columnRegex(c.name);
    rules.push({ selector, proposal, label: c.name, spread });
  }

  const context = familyContext(family);
  const specClass = options.specClass ?? defaultSpecClass(options.name);
  const specTable = specClass.replace(/^G/, '');
  let todos = 0;
  const todo = (text: string) => {
    todos++;
    return `# TODO decide: ${text}`;
  };

  // --- YAML
  const y: string[] = [];
  const q = yamlScalar;
  y.push(`# Proposed by \`scrape new ${options.name} --from-table ${options.from}\` from the source's schema and its`);
  y.push(`# ${rows.length ? `last ${rows.length} rows` : 'schema (it has no rows)'} of ${table}. Every value says how it was found; look at each`);
  y.push('# "TODO decide" line, then: scrape validate, scrape fake, scrape run --until-caught-up.');
  y.push(`name: ${q(options.name)}`);
  y.push('description: >');
  y.push(`  ${table}${family.members.length > 1 ? ` and its family (${kept.join(', ')})` : ''} into ${specTable}: a new validity when a reading`);
  y.push(`  moves by more than its threshold${equalCols.length ? ', a status changes' : ''}, or the last one is maxage old${unpivot ? `; one row per channel (${unpivot.columns.length} channels)` : ''}.`);
  y.push(`  Proposed by scrape new; describe what it scrapes here.`);
  if (options.sourceNote) y.push(todo(options.sourceNote));
  y.push(`source: ${q(options.source)}`);
  y.push('target: tmp_offline_db');
  y.push('timezone: Asia/Shanghai # the DCS clocks (local time of the halls)');
  y.push('');
  y.push('tables:');
  if (leftOut.length && leftOutOfPattern) y.push(`  # left out of the pattern (other columns than ${table}): ${leftOut.join(', ')}`);
  if (leftOut.length && !leftOutOfPattern) y.push(`  ${todo(`left out (other columns than ${table}): ${leftOut.join(', ')}; the pattern still matches them, narrow it or give them their own regime`)}`);
  for (const hint of relatedTables(table, tables, nameColumns)) y.push(`  ${todo(hint)}`);
  if (undeclared.length) y.push(`  # not declared (not a reading a regime can declare): ${undeclared.join(', ')}`);
  const entries = templated ? siteValues.map((s) => ({ site: s, pattern: family.pattern.replace(/\(\?<site>[^)]*\)/, `(?<site>${escapeRegex(s)})`) })) : [{ site: site0, pattern: family.pattern }];
  if (templated) y.push(`  # the column names carry each table's own site, so each site declares its columns (maps read them with ctx.site)`);
  for (const e of entries) {
    y.push(`  - pattern: ${q(e.pattern)}`);
    y.push('    columns:');
    const mine = cols.map((c) => ({ name: templated && e.site && site0 ? translated([c.name], site0, e.site)[0] : c.name, decl: c.decl, note: c.note }));
    for (const [key, type] of declarationKeys(mine)) {
      const note = mine.find((c) => c.name === key)?.note;
      y.push(`      ${q(key)}: ${/^[a-z]+(\(\d+(,\d+)?\))?( unsigned)?$/.test(type) ? type : q(type)}${note ? ` # ${note}` : ''}`);
    }
  }
  y.push('');
  const ctxLine = (key: string, p: ContextProposal) => {
    const comment = p.todo ? todo(p.note) : `# ${p.note}`;
    if (typeof p.value === 'number') return [`  ${key}: ${p.value} ${comment}`];
    const out = [`  ${key}: ${comment}`, `    capture: ${q(p.value.capture)}`];
    if (p.value.map) out.push(`    map: { ${Object.entries(p.value.map).map(([k, v]) => `${q(k)}: ${v}`).join(', ')} }`);
    return out;
  };
  // two tables of one context cannot both be scraped (each stream needs its own)
  const valueOf = (p: ContextProposal, member: string): string => {
    if (typeof p.value === 'number') return String(p.value);
    const raw = fam.memberCaptures[member]?.[p.value.capture];
    return p.value.map ? String(p.value.map[raw ?? ''] ?? `?${raw}`) : String(raw);
  };
  const byContext = new Map<string, string[]>();
  for (const m of kept) {
    const key = `${valueOf(context.sitemask, m)}/${valueOf(context.subsite, m)}`;
    byContext.set(key, [...(byContext.get(key) ?? []), m]);
  }
  const clashes = [...byContext.entries()].filter(([, ms]) => ms.length > 1);
  if (clashes.length) y.push(todo(`these tables get one context (sitemask/subsite): ${clashes.map(([k, ms]) => `${ms.join(', ')} -> ${k}`).join('; ')}; give each its own (a scrape run refuses two)`));
  y.push('context:');
  y.push(...ctxLine('sitemask', context.sitemask), ...ctxLine('subsite', context.subsite));
  y.push('');
  if (unpivot) {
    y.push(`# ${unpivot.how}: one payload row per channel`);
    if (unpivot.captures.some((c) => c.kind === 'text' || /^(n|x)/.test(c.name))) y.push(todo('name the captures after what they mean'));
    y.push('unpivot:');
    y.push(`  pattern: ${q(unpivotPattern!)}`);
    y.push(`  values: { ${unpivot.valueField}: '{column}' }`);
    y.push('');
  }
  y.push('changes:');
  for (const r of rules) {
    const p = r.proposal;
    y.push(`  # ${r.label}: ${p.how}`);
    if (p.todo) y.push(`  ${todo(p.kind === 'equal' ? 'is this a status?' : 'the threshold')}`);
    const sel = Array.isArray(r.selector) ? `[${r.selector.map(q).join(', ')}]` : q(r.selector);
    y.push(p.kind === 'equal' ? `  - { columns: ${sel}, equal: true }` : `  - { columns: ${sel}, threshold: ${shortNumber(p.threshold!)} }`);
  }
  if (equalCols.length) {
    for (const h of equalHows) y.push(`  # ${h}`);
    if (equalTodo) y.push(`  ${todo('are these statuses?')}`);
    const listable = equalCols.every((c) => IDENT.test(c) && !(templated && hasSite(c)));
    const sel = listable ? `[${equalCols.map(q).join(', ')}]` : q(equalCols.map((c) => columnRegex(c).slice(1, -1)).map((s) => `^(?:${s})$`).join('|'));
    y.push(`  - { columns: ${sel}, equal: true }`);
  }
  if (rules.length === 0 && equalCols.length === 0) y.push('  []');
  y.push('');
  const beat = spacing ?? 10;
  y.push('scraper:');
  y.push(`  interval: ${beat}s # ${spacing ? `median spacing of the last ${rows.length} rows` : 'no rows: the DCS default'}`);
  y.push('  sleep: 3s');
  y.push(`  heartbeat: ${beat}s`);
  y.push('  offset: 0');
  y.push('  maxage: 10m # a validity at least this often while nothing changes');
  y.push("  timefloor: '2010-01-01 00:00:00'");
  y.push('');
  // faker: continue the table's own clock
  const last = rows[rows.length - 1];
  const lastTime = last ? timeText(last.date_time) : undefined;
  const lastId = last ? toNumber(last.id) : null;
  const timestart = lastTime && !lastTime.startsWith('0000') && lastId !== null ? localText(seconds(lastTime) - lastId * beat) : '2011-02-01 00:00:00';
  y.push('faker:');
  if (!options.sourceFake) y.push(`  source: fake_dcs # the faker writes fake databases only; scrape run --source fake_dcs reads what it wrote`);
  y.push(`  interval: ${beat}s`);
  y.push(`  timestart: ${q(timestart)} # ${lastTime ? `so that fake row ids continue ${table}'s clock (its id ${lastId} at ${lastTime})` : 'reproducible times: timestart + id x interval'}`);
  y.push(`  tables: [${kept.map(q).join(', ')}]`);
  y.push('  seed: 1');
  const fakerLines: string[] = [];
  const fakerRule = (selector: string, spread: ColumnSpread, p: RuleProposal, integer: boolean) => {
    if (spread.values === 0) {
      // no rows to imitate: a status stays on; a reading drifts two thresholds wide around 0, so runs see changes and quiet spells
      if (p.kind === 'equal') fakerLines.push(`    ${q(selector)}: { profile: constant, value: 1 }`);
      else {
        const t = p.threshold ?? 1;
        fakerLines.push(`    ${q(selector)}: { profile: drift, value: 0, amplitude: ${shortNumber(2 * t)}, period: 360, step: ${shortNumber(integer ? Math.max(1, Math.round(t / 3)) : (t * Math.sqrt(3)) / 5)} }`);
      }
      return;
    }
    if (p.kind === 'equal' || integer && spread.distinct <= 4) {
      fakerLines.push(`    ${q(selector)}: { profile: constant, value: ${shortNumber(spread.mode ?? 0)} }`);
      return;
    }
    const step = Math.max(spread.noise * Math.sqrt(3), integer ? 1 : 0);
    fakerLines.push(`    ${q(selector)}: { profile: drift, value: ${shortNumber(spread.median ?? 0)}, amplitude: ${shortNumber(2 * (p.threshold ?? 1))}, period: 360, step: ${shortNumber(step)} }`);
  };
  if (unpivot) fakerRule(unpivotPattern!, rules[0].spread, rules[0].proposal, cols.find((c) => c.name === unpivot.columns[0])!.integer);
  for (const c of others) {
    const spread = columnSpread(series(c.name));
    const p = proposeRule(spread, { integer: c.integer, name: c.name, resolution: resolution(c.decl) }, rows.length);
    fakerRule(columnRegex(c.name), spread, p, c.integer);
  }
  if (fakerLines.length) {
    y.push(`  columns: # ${rows.length ? 'around the values of the rows read: their median, noise like theirs, steps of twice the threshold' : 'no rows read: statuses 1, readings around 0 (their level is not known), noise a third of the threshold, steps of twice it'}`);
    y.push(...fakerLines);
  }
  y.push('');
  y.push('targets:');
  y.push(`  - spec: ${specClass} # spec/${specClass}.spec`);
  y.push('    map:');
  for (const a of attrs) y.push(`      ${a.name}: ${q(a.expr)}`);
  const yaml = y.join('\n') + '\n';

  // --- spec
  const s: string[] = [];
  s.push('"""');
  s.push(`${specTable}: ${table}${kept.length > 1 ? ` and its family (${family.pattern})` : ''}, scraped by regime ${options.name}`);
  s.push(`(proposed by scrape new)${unpivot ? `: one row per channel, ${unpivot.columns.length} per validity` : ': last values at each validity'}.`);
  s.push('"""');
  s.push('table | meta | legacy | CanL2Cache | class');
  s.push(`${specTable} | 1 | ${specTable} | kFALSE | ${specClass}`);
  s.push(';');
  const siteName: Record<number, string> = { 1: 'kDayaBay', 2: 'kLingAo', 4: 'kFar', 32: 'kSAB' };
  const detName: Record<number, string> = { 0: 'kUnknown', 1: 'kAD1', 2: 'kAD2', 3: 'kAD3', 4: 'kAD4', 5: 'kIWS', 6: 'kOWS', 7: 'kRPC' };
  const ctxOf = (p: ContextProposal): number => {
    if (typeof p.value === 'number') return p.value;
    const raw = family.memberCaptures[table][p.value.capture];
    return p.value.map ? p.value.map[raw] : Number(raw) || 0;
  };
  const ctx = `Site.${siteName[ctxOf(context.sitemask)] ?? 'kDayaBay'}, DetectorId.${detName[ctxOf(context.subsite)] ?? 'kUnknown'}, SimFlag.kData`;
  s.push('meta | rctx | wctx');
  s.push(`1 | ${ctx} | ${ctx}`);
  s.push(';');
  s.push('name | dbtype | codetype | description');
  for (const a of attrs) s.push(`${a.name} | ${a.dbtype} | ${a.codetype} | ${a.description.replace(/\|/g, '/')}`);
  const spec = s.join('\n') + '\n';
  return { name: options.name, specClass, specTable, family, leftOut, yaml, spec, todos };
}
