import jsonata from 'jsonata';
import { ScrapeError } from '../core/errors';

/**
 * A regime expression compiled once. Trivial expressions (a bare name or a dotted path such as
 * `last.L1C1R1`, `agg.count`, `voltage`, `` last.`DBNS_AD_HV.Slot0.I0` ``) are resolved by plain property access, because mappings
 * run for every unpivoted cell of every propagation; anything else goes through JSONata.
 */
export interface CompiledExpression {
  /** The expression text. */
  readonly text: string;
  /** The path steps of a trivial expression (`['last', 'X']`), else undefined. */
  readonly path?: readonly string[];
  /** Evaluates against `input` (JSONata's context); JSONata 2.x evaluation is asynchronous. */
  evaluate(input: Record<string, unknown>): Promise<unknown>;
}

/** A path step: a plain name, or a backquoted one (`` `DBNS_AD_HV.Slot0.I0` ``, a DCS column with dots). */
const STEP = '(?:[A-Za-z_][A-Za-z0-9_]*|`[^`]+`)';
const TRIVIAL = new RegExp(`^${STEP}(?:\\.${STEP})*$`);
const STEPS = new RegExp(STEP, 'g');
/** Bare words JSONata reads as literals or operators, never as field names. */
const RESERVED = new Set(['true', 'false', 'null', 'and', 'or', 'in']);

/** The path steps when `text` is a trivial path, else undefined. */
export function trivialPath(text: string): string[] | undefined {
  const t = text.trim();
  if (!TRIVIAL.test(t)) return undefined;
  const raw = t.match(STEPS)!;
  if (raw.some((s) => RESERVED.has(s))) return undefined;
  return raw.map((s) => (s.startsWith('`') ? s.slice(1, -1) : s));
}

/** Walks `steps` from `root` with own-property access (undefined when a step is missing). */
export function walkPath(root: unknown, steps: readonly string[], from = 0): unknown {
  let v = root;
  for (let i = from; i < steps.length; i++) {
    if (v === null || typeof v !== 'object' || !Object.prototype.hasOwnProperty.call(v, steps[i])) return undefined;
    v = (v as Record<string, unknown>)[steps[i]];
  }
  return v;
}

/**
 * Compiles a regime expression; a JSONata syntax error becomes `ScrapeError('REGIME_JSONATA')`
 * naming `label` (e.g. `targets[0].map.voltage`).
 */
export function compileExpression(text: string, label: string): CompiledExpression {
  const path = trivialPath(text);
  if (path) {
    return {
      text,
      path,
      evaluate: (input) => Promise.resolve(walkPath(input, path)),
    };
  }
  let expr: jsonata.Expression;
  try {
    expr = jsonata(text);
  } catch (err) {
    const e = err as { message?: string; position?: number };
    throw new ScrapeError('REGIME_JSONATA', `${label}: bad JSONata '${text}': ${e.message ?? String(err)}${e.position !== undefined ? ` (at ${e.position})` : ''}`, { cause: err });
  }
  return {
    text,
    evaluate: async (input) => {
      try {
        return await expr.evaluate(input);
      } catch (err) {
        const e = err as { message?: string };
        throw new ScrapeError('MAPPING_EVALUATE', `${label}: evaluating '${text}' failed: ${e.message ?? String(err)}`, { cause: err });
      }
    },
  };
}
