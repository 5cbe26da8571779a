import * as fs from 'fs';
import { LineCounter, parseDocument } from 'yaml';
import { Diagnostic, excerptAt } from './diagnostic';
import { ContextValueDecl, Regime, WriterRole } from './regime';
import { regimeForRole } from './regime-defaults';
import { SpecTable } from '../spec/spec-table';
import { positionOf } from './yaml-positions';

/** A valid regime as `scrape validate` checked it: its file, the regime and its target specs. */
export interface CheckedRegime {
  file: string;
  regime: Regime;
  specs: Map<string, SpecTable>;
}

/** A DBI context a regime can write, each field a number or `*` (any: a capture without a map). */
type ContextTuple = [sitemask: number | '*', subsite: number | '*', simmask: number, task: number, aggregateno: number];

/**
 * The contexts a regime can write, worked out from its declaration alone: a number is itself, a
 * capture with a map gives one context per map key (fields reading the same capture take their
 * values together, so AD1 → (1, 1) and AD2 → (1, 2) stay pairs), a capture without a map can be
 * any number. `role` picks the task: the scraper's or the averager's own `task` when given.
 */
export function possibleContexts(regime: Regime, role: WriterRole = 'scrape'): ContextTuple[] {
  const c = regimeForRole(regime, role).context;
  const fields: ContextValueDecl[] = [c.sitemask, c.subsite];
  const captures = [...new Set(fields.flatMap((f) => (typeof f === 'object' && f.map ? [f.capture] : [])))];
  const keysOf = (capture: string) => [...new Set(fields.flatMap((f) => (typeof f === 'object' && f.capture === capture && f.map ? Object.keys(f.map) : [])))];
  let combos: Record<string, string>[] = [{}];
  for (const capture of captures) combos = combos.flatMap((combo) => keysOf(capture).map((key) => ({ ...combo, [capture]: key })));
  const value = (f: ContextValueDecl, combo: Record<string, string>): number | '*' | undefined => {
    if (typeof f === 'number') return f;
    if (!f.map) return '*';
    return f.map[combo[f.capture]];
  };
  const out: ContextTuple[] = [];
  for (const combo of combos) {
    const sitemask = value(c.sitemask, combo);
    const subsite = value(c.subsite, combo);
    if (sitemask === undefined || subsite === undefined) continue; // a table of that name would not resolve
    out.push([sitemask, subsite, c.simmask, c.task, c.aggregateno]);
  }
  return out;
}

function meet(a: ContextTuple, b: ContextTuple): boolean {
  return a.every((v, i) => v === '*' || b[i] === '*' || v === b[i]);
}

function describe(t: ContextTuple): string {
  return `{sitemask: ${t[0]}, subsite: ${t[1]}, simmask: ${t[2]}, task: ${t[3]}, aggregateno: ${t[4]}}`;
}

/** One writer of a checked regime: its scraper, or its averager when the file declares one. */
interface Writer {
  at: CheckedRegime;
  role: WriterRole;
  contexts: ContextTuple[];
  tables: string[];
}

function parsed(file: string): { text: string; doc: ReturnType<typeof parseDocument>; lines: LineCounter } {
  const text = fs.readFileSync(file, 'utf8');
  const lines = new LineCounter();
  return { text, doc: parseDocument(text, { lineCounter: lines }), lines };
}

function writersOf(r: CheckedRegime): Writer[] {
  const tables = r.regime.targets.map((t) => r.specs.get(t.spec)?.table ?? t.spec);
  const roles: WriterRole[] = parsed(r.file).doc.hasIn(['averager']) ? ['scrape', 'average'] : ['scrape'];
  return roles.map((role) => ({ at: r, role, contexts: possibleContexts(r.regime, role), tables }));
}

function firstShared(a: Writer, b: Writer): { table: string; context: ContextTuple } | undefined {
  const table = a.tables.find((x) => b.tables.includes(x));
  if (table === undefined) return undefined;
  const context = a.contexts.find((x) => b.contexts.some((y) => meet(x, y)));
  return context && { table, context };
}

/**
 * Writers that would append to the same target table and context (docs/design.md §4.12): two
 * regimes, or the scraper and the averager of one regime that declares an `averager` section. The
 * target refuses a second writer's stale appends and the writer lock keeps them from running side
 * by side, but two writers taking turns on one context each resume from the other's writes and
 * silently lose their own: such a pair is an error naming both, reported at each one's target
 * `spec` (or, within one regime, at its `averager` section).
 */
export function regimeOverlaps(regimes: readonly CheckedRegime[]): Diagnostic[] {
  const out: Diagnostic[] = [];
  const writers = regimes.map(writersOf);
  for (const [a, own] of writers.entries()) {
    if (own.length === 2) {
      const shared = firstShared(own[0], own[1]);
      if (shared) out.push(withinRegime(own[0].at, shared.table, shared.context));
    }
    for (let b = a + 1; b < writers.length; b++) {
      for (const wa of own) {
        for (const wb of writers[b]) {
          const shared = firstShared(wa, wb);
          if (!shared) continue;
          out.push(overlap(wa, wb, shared.table, shared.context), overlap(wb, wa, shared.table, shared.context));
        }
      }
    }
  }
  return out;
}

const ROLE_NAME: Record<WriterRole, string> = { scrape: 'scraper', average: 'averager' };

function diagnostic(file: string, segments: Array<string | number>, message: string): Diagnostic {
  const { text, doc, lines } = parsed(file);
  const pos = positionOf(doc, lines, segments);
  return {
    file,
    line: pos.line,
    col: pos.col,
    severity: 'error',
    code: 'REGIME_OVERLAP',
    path: segments.map((s, i) => (typeof s === 'number' ? `[${s}]` : i ? `.${s}` : s)).join(''),
    message,
    excerpt: excerptAt(text, pos.line, pos.col),
  };
}

function withinRegime(here: CheckedRegime, table: string, context: ContextTuple): Diagnostic {
  const name = here.regime.name;
  const segments = here.regime.averager.task !== undefined ? ['averager', 'task'] : ['averager'];
  return diagnostic(
    here.file,
    segments,
    `the scraper and the averager of regime ${name} would both write ${table} for context ${describe(context)}: give the averager its own task (averager.task) or drop the averager section`,
  );
}

function overlap(here: Writer, other: Writer, table: string, context: ContextTuple): Diagnostic {
  const target = here.at.regime.targets.findIndex((t) => (here.at.specs.get(t.spec)?.table ?? t.spec) === table);
  const who = (w: Writer) => (w.role === 'scrape' ? `regime ${w.at.regime.name}` : `the averager of regime ${w.at.regime.name}`);
  return diagnostic(
    here.at.file,
    ['targets', target, 'spec'],
    `${who(here)} and ${who(other)} (${other.at.file}) would both write ${table} for context ${describe(context)}: give one of them other contexts (a different task, site or subsite map) or another target table`,
  );
}
