import { averagerAggregateKeys } from '../averager/averager';
import { RegimeCheck } from '../config/check-regime-file';
import { formatPath, nearest } from '../config/diagnostic';
import { Regime, UnpivotDecl } from '../config/regime';
import { averagerAggregate } from '../config/regime-defaults';
import { captureNames } from '../config/regime-formats';
import { Issue, RegimeText, positionInString } from '../config/regime-issue';
import { SpecTable } from '../spec/spec-table';
import { nodeAt } from '../config/yaml-positions';
import { isScrapeError } from '../core/errors';
import { expandColumnNames } from '../faker/source-schema';
import { resolveColumns } from '../scraper/change-rules';
import { scraperAggregateKeys } from '../scraper/scraper';
import { isNumericType } from '../source/source-stream';
import { CONTEXT_KEYS } from '../stream/stream-builder';
import { MappingProblem, compileMapping } from '../transform/mapping';
import { UnpivotPlan, compileUnpivotPlan } from '../transform/unpivot-plan';

/** `a, b, c` for a few names, `a, b, c … z (n in all)` for many. */
export function someNames(names: readonly string[]): string {
  return names.length <= 6 ? names.join(', ') : `${names.slice(0, 3).join(', ')} … ${names[names.length - 1]} (${names.length} in all)`;
}

/** ` (did you mean 'x'?)` or nothing. */
function suggestion(word: string, candidates: readonly string[]): string {
  const n = nearest(word, candidates);
  return n === undefined ? '' : ` (did you mean '${n}'?)`;
}

/**
 * A regime check (for `checkRegimeFile`, run by `scrape validate`) of what a valid regime names
 * against the source columns it declares (`tables[].columns` with `{a..b}` ranges, joined tables'
 * columns under their prefix): each table declaration that declares its columns (and its joins')
 * is a stream as `scrape run` would see it, and the same checks run on it as on a real stream
 * before anything is read: the unpivot (its pattern and value columns), every mapping reference
 * (`first.X`, `last.X`, `agg.X_fn` for the scraper and, when the regime has an `averager`
 * section, the averager; `ctx.Y`; unpivot fields) and the change rules' columns. Each problem is
 * a `REGIME_COLUMN` error at the map line (at the name itself when it can be placed), naming the
 * column and the nearest declared name. A regime that declares no columns is not checked here:
 * its tables are seen only when it runs.
 */
export const declaredColumnIssues: RegimeCheck = (data, { src, specs, valid }) => {
  if (!valid) return [];
  const regime = data as unknown as Regime;
  const issues: Issue[] = [];
  const seen = new Set<string>();
  const push = (issue: Issue): void => {
    const key = JSON.stringify([issue.segments, issue.message]);
    if (seen.has(key)) return;
    seen.add(key);
    issues.push(issue);
  };
  regime.tables.forEach((decl, i) => {
    const joins = decl.join ?? [];
    if (!decl.columns || joins.some((j) => !j.columns)) return;
    const columns: Array<{ name: string; numeric: boolean }> = [];
    const owner = new Map<string, string>();
    const add = (types: Record<string, string>, prefix: string, where: Array<string | number>): boolean => {
      for (const [template, type] of Object.entries(types)) {
        let names: string[];
        try {
          names = expandColumnNames(template);
        } catch (err) {
          if (!isScrapeError(err)) throw err;
          push({ segments: [...where, 'columns', template], useKey: true, code: err.code, message: err.message });
          return false;
        }
        for (const name of names.map((n) => prefix + n)) {
          const other = owner.get(name);
          if (other !== undefined) {
            push({ segments: [...where, 'columns', template], useKey: true, code: 'REGIME_COLUMN', message: `column '${name}' is declared already (${other}): after joining, each column needs its own name (give the join another prefix)` });
            return false;
          }
          owner.set(name, `${formatPath(where)}.columns['${template}']`);
          columns.push({ name, numeric: isNumericType(String(type)) });
        }
      }
      return true;
    };
    if (!add(decl.columns, '', ['tables', i])) return;
    for (let k = 0; k < joins.length; k++) if (!add(joins[k].columns!, joins[k].prefix, ['tables', i, 'join', k])) return;
    const names = columns.map((c) => c.name);
    const declared = `the columns tables[${i}] declares${joins.length ? ' (with its joins)' : ''}: ${someNames(names)}`;

    columnIssues(regime, specs, src, { declIndex: i, columns }, declared).forEach(push);
  });
  return issues;
};



/**
 * The problems of one stream's columns (`stream.columns`, main then joined, as rows show them),
 * as `scrape run` checks them before reading: change rules' columns, the unpivot, every mapping
 * reference (the scraper's aggregates and, when the regime has an `averager` section, the
 * averager's). `declared` says whose columns they are, for the messages (`the columns tables[0]
 * declares: …`).
 */
export function columnIssues(regime: Regime, specs: Map<string, SpecTable>, src: RegimeText, stream: { declIndex: number; columns: Array<{ name: string; numeric: boolean }> }, declared: string): Issue[] {
  const issues: Issue[] = [];
  const { columns } = stream;
  const names = columns.map((c) => c.name);
  const averaged = nodeAt(src.doc, ['averager']).depth === 1;
  regime.changes.forEach((rule, r) => {
    if (rule.columns === undefined) return;
    if (Array.isArray(rule.columns)) {
      rule.columns.forEach((name, c) => {
        if (!names.includes(name)) issues.push({ segments: ['changes', r, 'columns', c], code: 'REGIME_COLUMN', message: `no column '${name}' among ${declared}${suggestion(name, names)}` });
      });
      return;
    }
    try {
      resolveColumns(rule.columns, names, `changes[${r}].columns`);
    } catch (err) {
      if (!isScrapeError(err)) throw err;
      issues.push({ segments: ['changes', r, 'columns'], code: 'REGIME_COLUMN', message: `column pattern '${rule.columns}' matches none of ${declared}` });
    }
  });

  let plan: UnpivotPlan | undefined;
  if (regime.unpivot) {
    const problems = unpivotProblems(names, regime.unpivot, declared);
    if (problems.length) {
      issues.push(...problems);
      return issues; // the mappings' unpivot fields cannot be known
    }
    plan = compileUnpivotPlan(names, regime.unpivot);
  }

  const decl = regime.tables[stream.declIndex];
  const ctxKeys = [...(decl.pattern ? captureNames(decl.pattern) : []), ...CONTEXT_KEYS];
  const roles: Array<[string, string[] | undefined]> = [['scrape run', scraperAggregateKeys(regime, columns)]];
  if (averaged) roles.push(['scrape average', averagerAggregateKeys(regime, columns)]);
  regime.targets.forEach((target, t) => {
    const spec = specs.get(target.spec);
    if (!spec) return;
    let mapping;
    try {
      mapping = compileMapping(target.map, spec.columns.map((c) => c.name), `targets[${t}].map`);
    } catch {
      return; // an unknown attribute or bad JSONata is reported by the checks before this one
    }
    /** Where a problem's name is written in its expression, when it can be placed. */
    const placed = (p: MappingProblem) => {
      const text = String(target.map[p.attribute]);
      const index = text.indexOf(p.name === undefined ? p.root : `${p.root}.${p.name}`);
      return index < 0 ? undefined : positionInString(src, ['targets', t, 'map', p.attribute], index + (p.name === undefined ? 0 : p.root.length + 1));
    };
    for (const [role, aggKeys] of roles) {
      // without aggregates the scraper binds no `agg`: a reference to it gives null (run accepts
      // that, so a warning); `[]` makes the mapping name each such reference
      for (const p of mapping.problems({ columns: names, plan, aggKeys: aggKeys ?? [], ctxKeys })) {
        const segments = ['targets', t, 'map', p.attribute];
        const ref = p.name === undefined ? p.root : `${p.root}.${p.name}`;
        let message: string;
        if (p.root === 'first' || p.root === 'last') {
          message = `${ref}: no column '${p.name}' among ${declared}${suggestion(p.name!, names)}`;
        } else if (p.root === 'agg' && !aggKeys?.length) {
          issues.push({ segments, pos: placed(p), code: 'REGIME_COLUMN', severity: 'warning', message: `${ref}: ${role} computes no aggregates (the regime declares no \`aggregate\`): null in every row it writes` });
          continue;
        } else if (p.root === 'agg' && aggKeys) {
          // with an `aggregate` both roles have the same aggregates: one message for both
          const decl = role === 'scrape run' ? regime.aggregate! : averagerAggregate(regime);
          message =
            `${ref}: no aggregate '${p.name}' (${regime.aggregate ? '' : `${role} has `}<column>_<${decl.functions.join('|')}> ` +
            `of the numeric columns not skipped, and '${decl.count}')${suggestion(p.name!, aggKeys)}`;
        } else if (p.root === 'ctx') {
          message = `${ref}: no context value '${p.name}' (${ctxKeys.join(', ')})${suggestion(p.name!, ctxKeys)}`;
        } else {
          message = p.message.replace(/^[^:]*: /, '');
        }
        issues.push({ segments, pos: placed(p), code: 'REGIME_COLUMN', message });
      }
    }
  });

  return issues;
}

/**
 * What keeps the unpivot from compiling over the declared columns, each where it is written: a
 * pattern matching none of them, or a `values` template naming columns they do not have.
 */
function unpivotProblems(names: string[], decl: UnpivotDecl, declared: string): Issue[] {
  let cells: UnpivotPlan['cells'];
  try {
    cells = compileUnpivotPlan(names, { pattern: decl.pattern, values: {} }).cells;
  } catch (err) {
    if (!isScrapeError(err)) throw err;
    return [{ segments: ['unpivot', 'pattern'], code: 'REGIME_COLUMN', message: `unpivot pattern '${decl.pattern}' matches none of ${declared}` }];
  }
  const have = new Set(names);
  const issues: Issue[] = [];
  const re = new RegExp(decl.pattern);
  // the captures as written in the column name (a cell's fields hold all-digit ones as numbers)
  const raw = cells.map((cell) => ({ column: cell.column, ...(re.exec(cell.column)?.groups ?? {}) }) as Record<string, string | undefined>);
  for (const [field, template] of Object.entries(decl.values)) {
    const missing = raw
      .map((captures) => template.replace(/\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (whole, name: string) => captures[name] ?? whole))
      .filter((column) => !have.has(column));
    if (missing.length === 0) continue;
    issues.push({
      segments: ['unpivot', 'values', field],
      code: 'REGIME_COLUMN',
      message: `'${template}' names ${missing.length === cells.length ? 'no declared column' : `no declared column for ${missing.length} of the ${cells.length} cells`}: ${someNames(missing)}${suggestion(missing[0], names)}, among ${declared}`,
    });
  }
  return issues;
}
