/**
 * The checks of a regime's `targets` against the `.spec` files: the spec exists and parses, its
 * table is no bookkeeping table (`LOCALSEQNO`, `SCRAPE_*`) nor another target's Vld table, its
 * column types are ones MySQL and MariaDB accept (decimal precision and scale, string lengths,
 * row size, column count: `specTypeProblems`), each class is targeted once, every map key is an
 * attribute and every attribute is mapped. The parsed specs are kept, so a valid regime comes
 * with its target specs.
 */
import * as fs from 'fs';
import * as path from 'path';
import { reservedTableProblem, vldTableName } from '../spec/ddl';
import { SpecTable, parseSpec } from '../spec/spec-table';
import { specTypeProblems } from '../spec/spec-type-problems';
import { didYouMean } from './diagnostic';
import { RegimeLookup, specDirOf } from './find-regime-file';
import { REGIME_FORMATS } from './regime-formats';
import { Issue, asObject } from './regime-issue';

/** The issues of `data.targets`; each spec that parses is put in `specs` by class name. */
export function targetSpecIssues(data: Record<string, unknown>, lookup: RegimeLookup, specs: Map<string, SpecTable>): Issue[] {
  const issues: Issue[] = [];
  const cwd = lookup.cwd ?? process.cwd();
  const specDir = specDirOf(lookup);
  const known = fs.existsSync(specDir) ? fs.readdirSync(specDir).filter((f) => f.endsWith('.spec')).map((f) => f.slice(0, -5)) : [];
  const targets = Array.isArray(data.targets) ? data.targets : [];
  const seen = new Map<string, number>();
  targets.forEach((t, i) => {
    const target = asObject(t);
    if (!target || typeof target.spec !== 'string' || !REGIME_FORMATS['spec-class'].test(target.spec)) return;
    const className = target.spec;
    if (seen.has(className)) {
      issues.push({ segments: ['targets', i, 'spec'], code: 'REGIME_SPEC', message: `${className} is already the target of targets[${seen.get(className)}]` });
      return;
    }
    seen.set(className, i);
    const file = path.join(specDir, `${className}.spec`);
    const shown = path.relative(cwd, file).startsWith('..') ? file : path.relative(cwd, file);
    if (!fs.existsSync(file)) {
      issues.push({ segments: ['targets', i, 'spec'], code: 'REGIME_SPEC', message: `unknown spec \`${className}\`: ${shown} does not exist${didYouMean(className, known)}` });
      return;
    }
    let spec: SpecTable;
    try {
      spec = parseSpec(fs.readFileSync(file, 'utf8'), file);
    } catch (err) {
      issues.push({ segments: ['targets', i, 'spec'], code: 'REGIME_SPEC', message: `spec ${className} does not parse: ${(err as Error).message}` });
      return;
    }
    specs.set(className, spec);
    const reserved = reservedTableProblem(spec.table);
    if (reserved) issues.push({ segments: ['targets', i, 'spec'], code: 'SPEC_TABLE_RESERVED', message: `spec ${className}: ${reserved}; name its table otherwise` });
    for (const problem of specTypeProblems(spec)) {
      const where = problem.column ? `${shown}:${problem.column.line}` : shown;
      issues.push({ segments: ['targets', i, 'spec'], code: 'SPEC_TYPE', message: `spec ${className} (${where}): ${problem.message}, which MySQL and MariaDB refuse` });
    }
    const map = asObject(target.map);
    if (!map) return;
    const attributes = spec.columns.map((c) => c.name);
    for (const key of Object.keys(map)) {
      if (!attributes.includes(key)) {
        issues.push({ segments: ['targets', i, 'map', key], code: 'REGIME_MAPPING', useKey: true, message: `\`${key}\` is not an attribute of ${className}${didYouMean(key, attributes)}` });
      }
    }
    const unmapped = attributes.filter((a) => !(a in map));
    if (unmapped.length) {
      issues.push({ segments: ['targets', i, 'map'], code: 'REGIME_MAPPING', useKey: true, message: `attribute${unmapped.length > 1 ? 's' : ''} of ${className} not mapped: ${unmapped.join(', ')}` });
    }
  });
  // one spec's table may not be another's validity table
  const byClass = [...specs.entries()];
  for (const [className, spec] of byClass) {
    const owner = byClass.find(([, o]) => vldTableName(o).toUpperCase() === spec.table.toUpperCase());
    if (!owner) continue;
    const i = targets.findIndex((t) => asObject(t)?.spec === className);
    issues.push({ segments: ['targets', i, 'spec'], code: 'SPEC_TABLE_RESERVED', message: `spec ${className}: table ${spec.table} is the validity table of ${owner[0]}` });
  }
  return issues;
}
