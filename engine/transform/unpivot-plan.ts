import type { UnpivotDecl } from '../config/regime';
import { ScrapeError } from '../core/errors';

/** Binding names every mapping has; a cell field may not shadow them. */
export const RESERVED_BINDINGS: readonly string[] = ['first', 'last', 'agg', 'ctx'];

/** One target row of an unpivoted source row: its fixed fields and where its values come from. */
export interface UnpivotCell {
  /** The matched column name. */
  column: string;
  /** Fixed fields: the captures (all-digit ones as numbers) and `column`. */
  fields: Record<string, unknown>;
  /** Value fields: field name → source column read from sv[-1] (`voltage` → `L1C1R1`). */
  values: Record<string, string>;
}

/** The unpivot of one table schema, compiled once: a cell per matching column, in column order. */
export interface UnpivotPlan {
  cells: UnpivotCell[];
  /** Names of the fixed fields (captures and `column`). */
  fixedFields: string[];
  /** Names of the value fields. */
  valueFields: string[];
}

const PLACEHOLDER = /\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

/**
 * Compiles the regime's unpivot against the real (joined) columns of a stream: every column
 * matching `decl.pattern` becomes a cell whose named captures are fields (`ladder`, `col`, `ring`;
 * all-digit captures become numbers) and whose `values` templates (`{column}`, `{capture}`) name
 * the source columns to read. A template naming a missing column is a regime error listing it.
 * `decl` is as loaded: `values` always present (schema default `{value: '{column}'}`).
 */
export function compileUnpivotPlan(columns: readonly string[], decl: UnpivotDecl): UnpivotPlan {
  let re: RegExp;
  try {
    re = new RegExp(decl.pattern);
  } catch (err) {
    throw new ScrapeError('REGIME_UNPIVOT', `unpivot.pattern '${decl.pattern}' is not a valid regular expression`, { cause: err });
  }
  const templates = Object.entries(decl.values);
  const have = new Set(columns);
  const cells: UnpivotCell[] = [];
  const missing: string[] = [];
  const captureNames = new Set<string>();
  for (const column of columns) {
    const m = re.exec(column);
    if (!m) continue;
    const fields: Record<string, unknown> = {};
    const raw: Record<string, string> = { column };
    for (const [name, text] of Object.entries(m.groups ?? {})) {
      captureNames.add(name);
      fields[name] = text === undefined ? null : /^\d+$/.test(text) ? Number(text) : text;
      if (text !== undefined) raw[name] = text;
    }
    fields.column = column;
    const values: Record<string, string> = {};
    for (const [field, template] of templates) {
      const source = template.replace(PLACEHOLDER, (whole, name: string) => {
        if (!(name in raw)) throw new ScrapeError('REGIME_UNPIVOT', `unpivot.values.${field}: '{${name}}' is neither {column} nor a capture of '${decl.pattern}'`);
        return raw[name];
      });
      if (!have.has(source)) missing.push(source);
      values[field] = source;
    }
    cells.push({ column, fields, values });
  }
  if (cells.length === 0) throw new ScrapeError('REGIME_COLUMN', `unpivot.pattern '${decl.pattern}' matches no source column`);
  if (missing.length > 0) {
    const list = [...new Set(missing)];
    throw new ScrapeError('REGIME_COLUMN', `unpivot.values name missing source column${list.length > 1 ? 's' : ''}: ${list.slice(0, 10).join(', ')}${list.length > 10 ? ` … (${list.length} in all)` : ''}`);
  }
  const fixedFields = [...captureNames, 'column'];
  const valueFields = templates.map(([f]) => f);
  for (const f of [...fixedFields, ...valueFields]) {
    if (RESERVED_BINDINGS.includes(f)) throw new ScrapeError('REGIME_UNPIVOT', `unpivot field '${f}' would hide the mapping binding of the same name: rename it`);
  }
  const dup = valueFields.find((f) => fixedFields.includes(f));
  if (dup) throw new ScrapeError('REGIME_UNPIVOT', `unpivot.values.${dup} has the name of a capture: rename one of them`);
  return { cells, fixedFields, valueFields };
}
