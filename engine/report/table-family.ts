import { ContextValueDecl } from '../config/regime';
import { captureNames } from '../config/regime-formats';

/**
 * A family of DCS source tables: the tables that differ from one given table only in a site
 * prefix (`DBNS_`, `LANS_`, `FARS_`), a detector (`AD1`) or a number, found among the tables a
 * source holds. `scrape new` proposes one regime for the whole family: one table pattern whose
 * named captures give each member its DBI context.
 */

/** What a capture of a family pattern stands for. */
export type CaptureKind = 'site' | 'detector' | 'ad' | 'number' | 'other';

/** One named capture of a family pattern and the values its members show. */
export interface FamilyCapture {
  name: string;
  kind: CaptureKind;
  /** Distinct values over the members, sorted. */
  values: string[];
}

/** The family of a table: its pattern, its captures and the tables it matches. */
export interface TableFamily {
  /** The table inspected (the first member when a pattern was given). */
  table: string;
  /** Anchored regular expression with named captures, matching exactly `members`. */
  pattern: string;
  captures: FamilyCapture[];
  /** Matching tables, sorted. */
  members: string[];
  /** Captures of each member. */
  memberCaptures: Record<string, Record<string, string>>;
  /** True when the pattern was made here from a table name (false: the user's pattern). */
  generated: boolean;
}

/** DCS site prefixes and their SITEMASK bit. */
export const SITE_BITS: Readonly<Record<string, number>> = { DBNS: 1, LANS: 2, FARS: 4 };

/**
 * The halls of the global AD numbers (`ADn_LidSensor`, `ADn_ADCoverGas`): EH1 holds AD1, AD2;
 * EH2 AD3, AD8; EH3 AD4..AD7. Each maps to its site bit and its number within the hall.
 */
export const GLOBAL_AD_HALLS: Readonly<Record<string, { sitemask: number; subsite: number }>> = {
  '1': { sitemask: 1, subsite: 1 },
  '2': { sitemask: 1, subsite: 2 },
  '3': { sitemask: 2, subsite: 1 },
  '8': { sitemask: 2, subsite: 2 },
  '4': { sitemask: 4, subsite: 1 },
  '5': { sitemask: 4, subsite: 2 },
  '6': { sitemask: 4, subsite: 3 },
  '7': { sitemask: 4, subsite: 4 },
};

const escapeRegex = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** True when `text` is a plain table name rather than a pattern. */
export function isPlainTableName(text: string): boolean {
  return /^[A-Za-z0-9_$]+$/.test(text);
}

interface Piece {
  literal?: string;
  /** A `_` the family's names may leave out (`HVPw` beside `HV_Pw`): rendered `_?`. */
  optional?: boolean;
  capture?: { name: string; kind: CaptureKind; generic: string };
}

/** Detectors and electronics crates a table name can show after its site (`DBNS_AD1_VME`, `DBNS_IWS_VME`, `DBNS_RPC_VME`). */
const DETECTOR_TOKEN = /^(AD\d|IWS|OWS|RPC)$/;

/** SUBSITE (DetectorId) of each detector token: AD1..AD4 1..4, IWS 5, OWS 6, RPC 7. */
export const DETECTOR_IDS: Readonly<Record<string, number>> = { AD1: 1, AD2: 2, AD3: 3, AD4: 4, IWS: 5, OWS: 6, RPC: 7 };

/** A character class or alternation of `values` for a capture. */
function alternation(kind: CaptureKind, values: string[]): string {
  if (kind === 'number') return '\\d+';
  if (values.every((v) => /^\d$/.test(v))) {
    const digits = values.map(Number).sort((a, b) => a - b);
    const contiguous = digits[digits.length - 1] - digits[0] + 1 === digits.length;
    return contiguous && digits.length > 2 ? `[${digits[0]}-${digits[digits.length - 1]}]` : `[${digits.join('')}]`;
  }
  return values.map(escapeRegex).join('|');
}

/** Splits a table name into literal text and the parts a family may vary in (site, detector, numbers). */
function pieces(table: string): Piece[] {
  const parts = table.split('_');
  const hasSite = parts[0] in SITE_BITS;
  const used = new Set<string>();
  const unique = (base: string) => {
    let name = base;
    for (let i = 2; used.has(name); i++) name = `${base}${i}`;
    used.add(name);
    return name;
  };
  const out: Piece[] = [];
  parts.forEach((part, i) => {
    if (i > 0) out.push({ literal: '_' });
    if (i === 0 && hasSite) {
      out.push({ capture: { name: unique('site'), kind: 'site', generic: 'DBNS|LANS|FARS' } });
      return;
    }
    if (hasSite && DETECTOR_TOKEN.test(part)) {
      out.push({ capture: { name: unique('detector'), kind: 'detector', generic: 'AD\\d|IWS|OWS|RPC' } });
      return;
    }
    const ad = /^AD(\d)$/.exec(part);
    if (ad) {
      out.push({ literal: 'AD' }, { capture: { name: unique('ad'), kind: 'ad', generic: '\\d' } });
      return;
    }
    // other digit runs: a crate, a sensor number
    const runs = part.split(/(\d+)/);
    runs.forEach((run, k) => {
      if (run === '') return;
      if (k % 2 === 1) {
        const before = runs[k - 1].toLowerCase().replace(/[^a-z]/g, '');
        let base = before || 'n';
        if (['site', 'detector', 'ad', 'first', 'last', 'agg', 'ctx', 'table', 'column'].includes(base)) base = `${base}_n`;
        out.push({ capture: { name: unique(base), kind: 'number', generic: '\\d+' } });
      } else {
        out.push({ literal: run });
      }
    });
  });
  return out;
}

/**
 * The spellings a family's names may differ in besides their captures, one at a time: a `_` left
 * out (`HV_Pw` → `HV_?Pw`) or put in where a word starts inside a name part (`HVPw` → `HV_?Pw`).
 */
function looserSpellings(ps: Piece[]): Piece[][] {
  const out: Piece[][] = [];
  ps.forEach((p, i) => {
    if (p.literal === '_' && !p.optional && i > 0) out.push([...ps.slice(0, i), { literal: '_', optional: true }, ...ps.slice(i + 1)]);
    if (p.literal === undefined || p.literal === '_') return;
    const text = p.literal;
    for (let k = 1; k < text.length; k++) {
      // a capital after a small letter (WaterSystem), or the last capital of a run before a small letter (HVPw)
      const starts = /[A-Z]/.test(text[k]) && (/[a-z]/.test(text[k - 1]) || (/[A-Z]/.test(text[k - 1]) && /[a-z]/.test(text[k + 1] ?? '')));
      if (starts) out.push([...ps.slice(0, i), { literal: text.slice(0, k) }, { literal: '_', optional: true }, { literal: text.slice(k) }, ...ps.slice(i + 1)]);
    }
  });
  return out;
}

function render(ps: Piece[], values: Map<string, string[] | undefined>): string {
  return `^${ps
    .map((p) => {
      if (p.literal !== undefined) return p.optional ? `${escapeRegex(p.literal)}?` : escapeRegex(p.literal);
      const c = p.capture!;
      const vs = values.get(c.name);
      return `(?<${c.name}>${vs ? alternation(c.kind, vs) : c.generic})`;
    })
    .join('')}$`;
}

function membersOf(pattern: string, tables: readonly string[]): { members: string[]; captures: Record<string, Record<string, string>> } {
  const re = new RegExp(pattern);
  const members: string[] = [];
  const captures: Record<string, Record<string, string>> = {};
  for (const t of [...tables].sort()) {
    const m = re.exec(t);
    if (!m || m[0] !== t) continue;
    members.push(t);
    captures[t] = { ...(m.groups ?? {}) };
  }
  return { members, captures };
}

/** What a capture of a user's pattern stands for, from its name and values. */
function kindOf(name: string, values: string[]): CaptureKind {
  if (name === 'site' && values.every((v) => v in SITE_BITS)) return 'site';
  if (name === 'detector' && values.every((v) => DETECTOR_TOKEN.test(v))) return 'detector';
  if (name === 'ad' && values.every((v) => v in GLOBAL_AD_HALLS)) return 'ad';
  return values.every((v) => /^\d+$/.test(v)) ? 'number' : 'other';
}

/**
 * The family of `table` among `tables`: a pattern in which a site prefix is `(?<site>…)`, an AD
 * after a site `(?<detector>AD…)` (or a crate of one: `IWS`, `OWS`, `RPC`), a global AD number `AD(?<ad>…)` and any other number that
 * differs between sibling tables a capture named after the letters before it; each capture lists
 * exactly the values the members show (numbers match any digits). A number all members share
 * stays literal. A sibling spelled with or without one `_` more (`DBNS_AD1_HVPw` beside
 * `DBNS_AD2_HV_Pw`) joins the family through a `_?`. `table` may also be a regular expression with named captures: its members are
 * the tables it matches and the first is inspected. Undefined when nothing matches.
 */
export function tableFamily(table: string, tables: readonly string[]): TableFamily | undefined {
  if (!isPlainTableName(table)) {
    const anchored = `^(?:${table.replace(/^\^/, '').replace(/\$$/, '')})$`;
    const pattern = table.startsWith('^') && table.endsWith('$') ? table : anchored;
    const { members, captures } = membersOf(pattern, tables);
    if (members.length === 0) return undefined;
    const names = captureNames(pattern);
    return {
      table: members[0],
      pattern,
      members,
      memberCaptures: captures,
      generated: false,
      captures: names.map((name) => {
        const values = [...new Set(members.map((m) => captures[m][name]).filter((v) => v !== undefined))].sort();
        return { name, kind: kindOf(name, values), values };
      }),
    };
  }
  if (!tables.includes(table)) return undefined;
  let ps = pieces(table);
  const generic = render(ps, new Map());
  let found = membersOf(generic, tables);
  // a number every member shares is not something the family varies in
  const own = found.captures[table];
  // nor a crate word (IWS, OWS, RPC) every member shows: the name gives the subsite
  ps = ps.flatMap((p) => {
    if (!p.capture || !(p.capture.kind === 'number' || (p.capture.kind === 'detector' && !/^AD/.test(own[p.capture.name])))) return [p];
    const values = new Set(found.members.map((m) => found.captures[m][p.capture!.name]));
    return values.size > 1 ? [p] : [{ literal: own[p.capture.name] }];
  });
  found = membersOf(render(ps, new Map()), tables);
  // a sibling spelled with or without one `_` (DBNS_AD1_HVPw beside DBNS_AD2_HV_Pw) is a member too
  for (const looser of looserSpellings(ps)) {
    const more = membersOf(render(looser, new Map()), tables);
    if (more.members.length > found.members.length) {
      ps = looser;
      found = more;
      break;
    }
  }
  const valueMap = new Map<string, string[]>();
  const captures: FamilyCapture[] = [];
  for (const p of ps) {
    if (!p.capture) continue;
    const values = [...new Set(found.members.map((m) => found.captures[m][p.capture!.name]))].sort();
    valueMap.set(p.capture.name, values);
    captures.push({ name: p.capture.name, kind: p.capture.kind, values });
  }
  const pattern = render(ps, valueMap);
  const final = membersOf(pattern, tables);
  return { table, pattern, captures, members: final.members, memberCaptures: final.captures, generated: true };
}

/**
 * The family narrowed to the members `keep` (some siblings have other columns): each capture lists
 * only their values (numbers too); a detector capture left with one crate word (IWS, OWS, RPC) becomes
 * that word. Undefined when the pattern was the user's, or when no such
 * pattern leaves the others out (their values mix with the kept ones').
 */
export function narrowFamily(family: TableFamily, keep: readonly string[]): TableFamily | undefined {
  if (!family.generated || keep.length === 0) return undefined;
  let pattern = family.pattern;
  const captures: FamilyCapture[] = [];
  for (const c of family.captures) {
    const values = [...new Set(keep.map((m) => family.memberCaptures[m][c.name]))].sort();
    const at = new RegExp(`\\(\\?<${c.name}>[^()]*\\)`);
    // one crate word left (RPC of DBNS_RPC_HV_Vmon beside the ADs' tables): written as it is, the name gives the subsite
    if (c.kind === 'detector' && values.length === 1 && !/^AD/.test(values[0])) {
      pattern = pattern.replace(at, () => escapeRegex(values[0]));
      continue;
    }
    const alt = c.kind === 'number' ? values.map(escapeRegex).join('|') : alternation(c.kind, values);
    pattern = pattern.replace(at, () => `(?<${c.name}>${alt})`);
    captures.push({ ...c, values });
  }
  const found = membersOf(pattern, family.members);
  if (found.members.length !== keep.length || !keep.every((k) => found.members.includes(k))) return undefined;
  return { ...family, pattern, captures, members: found.members, memberCaptures: found.captures };
}

/** One context column of a proposal: its declaration, what it was derived from, and whether a person must decide. */
export interface ContextProposal {
  value: ContextValueDecl;
  note: string;
  todo: boolean;
}

/** Detector numbers (SUBSITE) a table name can show outside its captures. */
const SUBSITE_WORDS: ReadonlyArray<[RegExp, number, string]> = [
  [/(^|_)RPC(_|$)/, 7, 'RPC'],
  [/(^|_)IWS?(_|$)/, 5, 'inner water shield (IWS)'],
  [/(^|_)OWS?(_|$)/, 6, 'outer water shield (OWS)'],
];

/**
 * The DBI context of a family from its captures: SITEMASK 32 for a SAB table, else from the site
 * prefix (DBNS 1, LANS 2, FARS 4) or the hall of a global AD number; SUBSITE from the detector (AD1..AD4, IWS, OWS, RPC), the AD's number
 * in its hall, a word in the name (RPC 7, IWS 5, OWS 6) or a number capture read as an integer.
 * What it cannot recognise gets a valid default and `todo`.
 */
export function familyContext(family: TableFamily): { sitemask: ContextProposal; subsite: ContextProposal } {
  const cap = (kind: CaptureKind) => family.captures.find((c) => c.kind === kind);
  const site = cap('site');
  const detector = cap('detector');
  const ad = cap('ad');
  const numbers = family.captures.filter((c) => c.kind === 'number' || c.kind === 'other');
  let sitemask: ContextProposal;
  let subsite: ContextProposal;
  if (/(^|_)SAB(_|$)/.test(family.table)) {
    sitemask = { value: 32, note: 'SAB (surface assembly building) from the table name', todo: false };
  } else if (site) {
    sitemask = { value: { capture: site.name, map: { ...SITE_BITS } }, note: 'site prefix: DBNS DayaBay 1, LANS LingAo 2, FARS Far 4', todo: false };
  } else if (ad) {
    sitemask = {
      value: { capture: ad.name, map: Object.fromEntries(Object.entries(GLOBAL_AD_HALLS).map(([k, v]) => [k, v.sitemask])) },
      note: 'global AD number to its hall: EH1 AD1, AD2 -> DayaBay 1; EH2 AD3, AD8 -> LingAo 2; EH3 AD4..AD7 -> Far 4',
      todo: false,
    };
  } else {
    sitemask = { value: 1, note: 'no site in the table name: 1 DayaBay, 2 LingAo, 4 Far, 32 SAB', todo: true };
  }
  const word = SUBSITE_WORDS.find(([re]) => re.test(family.table));
  if (detector) {
    // the ADs alone read AD1..AD4; with a crate word beside them, every DetectorId
    const crates = detector.values.some((v) => !/^AD/.test(v));
    const map = Object.fromEntries(Object.entries(DETECTOR_IDS).filter(([k]) => crates || /^AD/.test(k)));
    subsite = { value: { capture: detector.name, map }, note: `detector in its hall: AD1..AD4 -> 1..4${crates ? ', IWS 5, OWS 6, RPC 7' : ''}`, todo: false };
  } else if (ad) {
    subsite = {
      value: { capture: ad.name, map: Object.fromEntries(Object.entries(GLOBAL_AD_HALLS).map(([k, v]) => [k, v.subsite])) },
      note: 'global AD number to the AD in its hall: AD1 1, AD2 2, AD3 1, AD8 2, AD4..AD7 1..4',
      todo: false,
    };
  } else if (word) {
    subsite = { value: word[1], note: `${word[2]} from the table name`, todo: false };
  } else if (numbers.length === 1 && numbers[0].kind === 'number') {
    subsite = { value: { capture: numbers[0].name }, note: `the number '${numbers[0].name}' of the table name, as it is; map it to a detector id (AD1..AD4 1..4, IWS 5, OWS 6, RPC 7)`, todo: true };
  } else {
    subsite = { value: 0, note: 'no detector in the table name: 0 unknown; AD1..AD4 1..4, IWS 5, OWS 6, RPC 7', todo: true };
  }
  return { sitemask, subsite };
}
