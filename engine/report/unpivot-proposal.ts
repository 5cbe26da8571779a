/**
 * Channel columns of a wide DCS table (`L1C1R1 … L8C3R8`, `DBNS_FO00N … DBNS_FO23P`,
 * `DBNS_AD_HV.Slot0.I0 …`) recognised from their names, for `scrape new` to propose an unpivot:
 * one payload row per channel, the parts of the name that vary as named captures.
 */

/** A named capture of a proposed unpivot pattern. */
export interface UnpivotCapture {
  name: string;
  /** `number`: digits (the cell field is a number); `text`: letters. */
  kind: 'number' | 'text';
  /** Distinct values over the channels, in first-seen order. */
  values: string[];
}

/** A proposed unpivot: its pattern, captures and the channel columns it matches. */
export interface UnpivotProposal {
  pattern: string;
  captures: UnpivotCapture[];
  /** The channel columns, in table order. */
  columns: string[];
  /** Name of the value field (`voltage`, `current`, `temperature`, `value`). */
  valueField: string;
  /** How the pattern was found, for the comment beside it. */
  how: string;
}

/** Fewest channel columns an unpivot is proposed for. */
export const MIN_CHANNELS = 16;

const escapeRegex = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Cell field names that would hide mapping bindings or the matched column. */
const RESERVED = new Set(['first', 'last', 'agg', 'ctx', 'column', 'table']);

/** Names of the letters before a number in DCS channel names (`L1C2R3`: ladder, column, ring of an AD PMT). */
const LETTER_NAMES: Readonly<Record<string, string>> = { l: 'ladder', c: 'col', r: 'ring' };

function tokens(name: string): string[] {
  return name.match(/[A-Za-z]+|\d+|[^A-Za-z\d]/g) ?? [];
}

function kindOf(token: string): string {
  return /^\d/.test(token) ? '9' : /^[A-Za-z]/.test(token) ? 'A' : token;
}

/** The value field of a table's channels, from what its name says they hold. */
export function valueFieldName(table: string): string {
  if (/(^|_)HV_?Pw$|(^|_)Pw$/i.test(table)) return 'power';
  if (/(^|_)Vmon$|volt/i.test(table)) return 'voltage';
  if (/(^|_)Imon$|current/i.test(table)) return 'current';
  if (/temp/i.test(table)) return 'temperature';
  return 'value';
}

/**
 * The unpivot of a table's columns, when most of its numeric columns are channels: columns of one
 * type whose names have the same shape (runs of letters and digits, the same separators) and
 * differ only in some runs; each varying run becomes a capture (digits `\d+`, letters the values
 * seen), named after the letters before it (`Slot0` → `slot`; a single `L`, `C`, `R` → ladder,
 * col, ring). At least `MIN_CHANNELS` channels making up two thirds of the numeric columns;
 * channel names of no common shape (coded names) get one `channel` capture when a simple pattern
 * tells them from the other columns. Undefined when the table is not wide in that way.
 */
export function proposeUnpivot(table: string, columns: ReadonlyArray<{ name: string; type: string; numeric: boolean }>): UnpivotProposal | undefined {
  const numeric = columns.filter((c) => c.numeric);
  const groups = new Map<string, { names: string[]; toks: string[][] }>();
  for (const c of numeric) {
    const t = tokens(c.name);
    const key = `${c.type}\u0000${t.map(kindOf).join('\u0001')}`;
    const g = groups.get(key) ?? { names: [], toks: [] };
    g.names.push(c.name);
    g.toks.push(t);
    groups.set(key, g);
  }
  const best = [...groups.values()].sort((a, b) => b.names.length - a.names.length)[0];
  const valueField = valueFieldName(table);
  const enough = (n: number) => n >= MIN_CHANNELS && n * 3 >= numeric.length * 2;
  if (best && enough(best.names.length)) {
    const width = best.toks[0].length;
    const used = new Set<string>([valueField]);
    const captures: UnpivotCapture[] = [];
    let pattern = '^';
    for (let i = 0; i < width; i++) {
      const seen = [...new Set(best.toks.map((t) => t[i]))];
      if (seen.length === 1) {
        pattern += escapeRegex(seen[0]);
        continue;
      }
      const digits = /^\d/.test(seen[0]);
      const prev = i > 0 && /^[A-Za-z]/.test(best.toks[0][i - 1]) && new Set(best.toks.map((t) => t[i - 1])).size === 1 ? best.toks[0][i - 1].toLowerCase() : '';
      let base = digits ? LETTER_NAMES[prev] ?? (prev || 'n') : seen.join('').toLowerCase().slice(0, 12);
      if (!/^[a-z_]/.test(base)) base = `x${base}`;
      if (RESERVED.has(base)) base = `${base}_`;
      let name = base;
      for (let k = 2; used.has(name); k++) name = `${base}${k}`;
      used.add(name);
      captures.push({ name, kind: digits ? 'number' : 'text', values: seen });
      pattern += `(?<${name}>${digits ? '\\d+' : seen.length <= 6 ? seen.map(escapeRegex).join('|') : '[A-Za-z]+'})`;
    }
    pattern += '$';
    // the pattern must pick out exactly these columns
    const re = new RegExp(pattern);
    const matched = columns.filter((c) => re.test(c.name)).map((c) => c.name);
    if (matched.length === best.names.length) {
      return { pattern, captures, columns: matched, valueField, how: `${matched.length} columns of one type named alike, the parts that vary as captures` };
    }
  }
  // coded channel names: one type, no common shape
  const byType = new Map<string, string[]>();
  for (const c of numeric) byType.set(c.type, [...(byType.get(c.type) ?? []), c.name]);
  const [type, names] = [...byType.entries()].sort((a, b) => b[1].length - a[1].length)[0] ?? [];
  if (!type || !names || !enough(names.length)) return undefined;
  for (const pattern of ['^(?<channel>[A-Z]+\\d+[A-Z]*)$', '^(?<channel>[A-Za-z0-9]+)$']) {
    const re = new RegExp(pattern);
    const matched = columns.filter((c) => re.test(c.name)).map((c) => c.name);
    if (matched.length === names.length && matched.every((n) => names.includes(n))) {
      return {
        pattern,
        captures: [{ name: 'channel', kind: 'text', values: matched }],
        columns: matched,
        valueField,
        how: `${matched.length} columns of one type with coded names: the code is kept whole as 'channel' (what its letters mean is not decoded)`,
      };
    }
  }
  return undefined;
}
