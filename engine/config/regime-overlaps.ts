import * as fs from 'fs';
import { LineCounter, parseDocument } from 'yaml';
import { Diagnostic, excerptAt } from './diagnostic';
import { ContextValueDecl, Regime } from './regime';
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
 * any number.
 */
export function possibleContexts(regime: Regime): ContextTuple[] {
  const c = regime.context;
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

/**
 * Regimes that would write the same target table and context (DESIGN §4.12): the target refuses
 * the second writer's stale appends, but two regimes taking turns on one context would each
 * resume from the other's writes, so such a pair is an error naming both, reported at each
 * one's target `spec`.
 */
export function regimeOverlaps(regimes: readonly CheckedRegime[]): Diagnostic[] {
  const out: Diagnostic[] = [];
  const tableOf = (r: CheckedRegime, i: number) => r.specs.get(r.regime.targets[i].spec)?.table ?? r.regime.targets[i].spec;
  for (let a = 0; a < regimes.length; a++) {
    for (let b = a + 1; b < regimes.length; b++) {
      const [ra, rb] = [regimes[a], regimes[b]];
      for (let ia = 0; ia < ra.regime.targets.length; ia++) {
        for (let ib = 0; ib < rb.regime.targets.length; ib++) {
          const table = tableOf(ra, ia);
          if (table !== tableOf(rb, ib)) continue;
          const shared = possibleContexts(ra.regime).find((x) => possibleContexts(rb.regime).some((y) => meet(x, y)));
          if (!shared) continue;
          out.push(overlap(ra, ia, rb, table, shared), overlap(rb, ib, ra, table, shared));
        }
      }
    }
  }
  return out;
}

function overlap(here: CheckedRegime, target: number, other: CheckedRegime, table: string, context: ContextTuple): Diagnostic {
  const text = fs.readFileSync(here.file, 'utf8');
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines });
  const segments = ['targets', target, 'spec'];
  const pos = positionOf(doc, lines, segments);
  return {
    file: here.file,
    line: pos.line,
    col: pos.col,
    severity: 'error',
    code: 'REGIME_OVERLAP',
    path: `targets[${target}].spec`,
    message: `regime ${here.regime.name} and regime ${other.regime.name} (${other.file}) would both write ${table} for context ${describe(context)}: give one of them other contexts (a different task, site or subsite map) or another target table`,
    excerpt: excerptAt(text, pos.line, pos.col),
  };
}
