import jsonata from 'jsonata';
import { ScrapeError } from '../core/errors';
import type { SourceRow } from '../source/source-row';
import { compileExpression, walkPath, type CompiledExpression } from './compile-expression';
import { RESERVED_BINDINGS, type UnpivotCell, type UnpivotPlan } from './unpivot-plan';

/** What a mapping sees at a propagation (docs/design.md §4.5). */
export interface MappingBindings {
  /** sv[0]. */
  first: SourceRow;
  /** sv[-1]. */
  last: SourceRow;
  /** Aggregates over the range, when the regime aggregates. */
  agg?: Record<string, number | null>;
  /** Name captures and context of the stream. */
  ctx: Record<string, unknown>;
}

/** What `Mapping.check` verifies references against. */
export interface MappingCheckInput {
  /** The stream's real (joined) source columns: `first.X` / `last.X` must be one of them. */
  columns: readonly string[];
  /** The unpivot plan, if any: bare names must be its fields. */
  plan?: UnpivotPlan;
  /** The aggregate keys, if the regime aggregates: `agg.Y` must be one of them. */
  aggKeys?: readonly string[];
  /** The context keys: `ctx.Z` must be one of them. */
  ctxKeys?: readonly string[];
}

/** A target's mapping compiled once: attribute → expression, evaluated only at propagation. */
export interface Mapping {
  /** The mapped attributes in spec order. */
  readonly attributes: readonly string[];
  /**
   * The payload rows of one propagation: one row without a plan, else one per unpivot cell (cell
   * fields bound at top level beside `first`, `last`, `agg`, `ctx`). Attributes in spec order;
   * an undefined result becomes null.
   */
  evaluate(bindings: MappingBindings, plan?: UnpivotPlan): Promise<Record<string, unknown>[]>;
  /** Every reference to a column, field or aggregate that does not exist, one problem each. */
  problems(input: MappingCheckInput): MappingProblem[];
  /** Throws `REGIME_COLUMN` listing every reference to a column, field or aggregate that does not exist. */
  check(input: MappingCheckInput): void;
}

/** One reference of a mapping to something the stream does not have. */
export interface MappingProblem {
  /** The mapped attribute whose expression holds the reference. */
  attribute: string;
  /** `first`, `last`, `agg`, `ctx`, or the bare name used. */
  root: string;
  /** The name after the root (`X` of `last.X`), when there is one. */
  name?: string;
  /** The whole message, starting with `<label>.<attribute>: `. */
  message: string;
}

type Accessor =
  | { kind: 'shared'; root: string; steps: readonly string[] }
  | { kind: 'fixed'; name: string; steps: readonly string[] }
  | { kind: 'value'; name: string; steps: readonly string[] }
  | { kind: 'missing' }
  | { kind: 'jsonata'; expr: CompiledExpression };

interface Compiled {
  attribute: string;
  expr: CompiledExpression;
}

function norm(v: unknown): unknown {
  return v === undefined ? null : v;
}

/** Collects `[root, name]` pairs of every path in a JSONata AST that starts with two plain names. */
function collectPaths(node: unknown, out: [string, string | undefined][]): void {
  if (node === null || typeof node !== 'object') return;
  if (Array.isArray(node)) {
    for (const n of node) collectPaths(n, out);
    return;
  }
  const n = node as { type?: string; steps?: { type?: string; value?: unknown }[] };
  if (n.type === 'path' && Array.isArray(n.steps) && n.steps[0]?.type === 'name') {
    const second = n.steps[1]?.type === 'name' ? String(n.steps[1].value) : undefined;
    out.push([String(n.steps[0].value), second]);
    for (const step of n.steps) {
      if (step?.type !== 'name') collectPaths(step, out);
      else for (const v of Object.values(step)) if (v !== null && typeof v === 'object') collectPaths(v, out);
    }
    for (const [k, v] of Object.entries(n)) if (k !== 'steps' && v !== null && typeof v === 'object') collectPaths(v, out);
    return;
  }
  if (n.type === 'name') {
    out.push([String((n as { value?: unknown }).value), undefined]);
    return;
  }
  for (const v of Object.values(n)) if (v !== null && typeof v === 'object') collectPaths(v, out);
}

/**
 * Compiles a target's `map` (attribute → JSONata) for the spec's `attributes` (their order is the
 * payload order). Every expression is compiled once; trivial paths (`last.X`, `agg.Y`, `voltage`)
 * become property access so an unpivoted propagation (192 cells × 5 attributes) makes no JSONata
 * call. A mapped attribute missing from the spec is a `REGIME_MAPPING` error.
 */
export function compileMapping(map: Record<string, string>, attributes: readonly string[], label = 'map'): Mapping {
  const known = new Set(attributes);
  const unknown = Object.keys(map).filter((a) => !known.has(a));
  if (unknown.length > 0) throw new ScrapeError('REGIME_MAPPING', `${label}: ${unknown.map((a) => `'${a}'`).join(', ')} not an attribute of the target spec (${attributes.join(', ')})`);
  const compiled: Compiled[] = attributes.filter((a) => Object.prototype.hasOwnProperty.call(map, a)).map((attribute) => ({ attribute, expr: compileExpression(String(map[attribute]), `${label}.${attribute}`) }));
  const names = compiled.map((c) => c.attribute);
  const plans = new WeakMap<UnpivotPlan, Accessor[]>();

  const accessorsFor = (plan: UnpivotPlan): Accessor[] => {
    let acc = plans.get(plan);
    if (acc) return acc;
    const fixed = new Set(plan.fixedFields);
    const values = new Set(plan.valueFields);
    acc = compiled.map(({ expr }): Accessor => {
      const path = expr.path;
      if (!path) return { kind: 'jsonata', expr };
      const root = path[0];
      if (RESERVED_BINDINGS.includes(root)) return { kind: 'shared', root, steps: path };
      if (fixed.has(root)) return { kind: 'fixed', name: root, steps: path };
      if (values.has(root)) return { kind: 'value', name: root, steps: path };
      return { kind: 'missing' };
    });
    plans.set(plan, acc);
    return acc;
  };

  const sharedInput = (b: MappingBindings): Record<string, unknown> => ({ first: b.first, last: b.last, agg: b.agg, ctx: b.ctx });

  const cellInput = (b: MappingBindings, cell: UnpivotCell): Record<string, unknown> => {
    const input: Record<string, unknown> = { ...cell.fields };
    for (const [field, column] of Object.entries(cell.values)) input[field] = b.last[column];
    input.first = b.first;
    input.last = b.last;
    input.agg = b.agg;
    input.ctx = b.ctx;
    return input;
  };

  return {
    attributes: names,

    async evaluate(b: MappingBindings, plan?: UnpivotPlan): Promise<Record<string, unknown>[]> {
      if (!plan) {
        const input = sharedInput(b);
        const row: Record<string, unknown> = {};
        for (const { attribute, expr } of compiled) row[attribute] = norm(expr.path ? walkPath(input, expr.path) : await expr.evaluate(input));
        return [row];
      }
      const accessors = accessorsFor(plan);
      const shared = accessors.map((a) => (a.kind === 'shared' ? norm(walkPath((b as unknown as Record<string, unknown>)[a.root], a.steps, 1)) : undefined));
      const rows: Record<string, unknown>[] = new Array(plan.cells.length);
      const last = b.last as Record<string, unknown>;
      for (let c = 0; c < plan.cells.length; c++) {
        const cell = plan.cells[c];
        const row: Record<string, unknown> = {};
        let input: Record<string, unknown> | undefined;
        for (let i = 0; i < accessors.length; i++) {
          const a = accessors[i];
          let v: unknown;
          switch (a.kind) {
            case 'shared':
              v = shared[i];
              break;
            case 'fixed':
              v = a.steps.length === 1 ? cell.fields[a.name] : walkPath(cell.fields[a.name], a.steps, 1);
              break;
            case 'value':
              v = a.steps.length === 1 ? last[cell.values[a.name]] : walkPath(last[cell.values[a.name]], a.steps, 1);
              break;
            case 'missing':
              v = undefined;
              break;
            case 'jsonata':
              v = await a.expr.evaluate((input ??= cellInput(b, cell)));
              break;
          }
          row[names[i]] = norm(v);
        }
        rows[c] = row;
      }
      return rows;
    },

    problems(input: MappingCheckInput): MappingProblem[] {
      const columns = new Set(input.columns);
      const fields = new Set(input.plan ? [...input.plan.fixedFields, ...input.plan.valueFields] : []);
      const aggKeys = input.aggKeys ? new Set(input.aggKeys) : undefined;
      const ctxKeys = input.ctxKeys ? new Set(input.ctxKeys) : undefined;
      const problems: MappingProblem[] = [];
      for (const { attribute, expr } of compiled) {
        const refs: [string, string | undefined][] = [];
        if (expr.path) refs.push([expr.path[0], expr.path[1]]);
        else collectPaths(jsonata(expr.text).ast(), refs);
        const where = `${label}.${attribute}`;
        const problem = (root: string, name: string | undefined, what: string) => problems.push({ attribute, root, name, message: `${where}: ${what}` });
        for (const [root, name] of refs) {
          if (root === 'first' || root === 'last') {
            if (name !== undefined && !columns.has(name)) problem(root, name, `no source column '${name}' (in ${root}.${name})`);
          } else if (root === 'agg') {
            if (name !== undefined && aggKeys && !aggKeys.has(name)) problem(root, name, aggKeys.size === 0 ? `'agg.${name}' but the regime does not aggregate` : `no aggregate '${name}' (in agg.${name})`);
          } else if (root === 'ctx') {
            if (name !== undefined && ctxKeys && !ctxKeys.has(name)) problem(root, name, `no context value '${name}' (in ctx.${name})`);
          } else if (expr.path && !fields.has(root)) {
            problem(root, undefined, input.plan ? `'${root}' is not an unpivot field (${[...fields].join(', ')})` : `'${root}' names nothing: use first.<column>, last.<column>, agg.<key> or ctx.<name>`);
          }
        }
      }
      return problems;
    },

    check(input: MappingCheckInput): void {
      const problems = this.problems(input);
      if (problems.length > 0) throw new ScrapeError('REGIME_COLUMN', problems.map((p) => p.message).join('; '));
    },
  };
}
