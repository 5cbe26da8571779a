import { ErrorCode } from '../core/error-codes';
/**
 * Checking one regime file end to end, never throwing for bad content: bytes (binary, UTF-8),
 * YAML syntax and duplicate keys with positions, the schema (defaults filled in), the semantic
 * checks and the target specs, all as compiler-style diagnostics sorted by position.
 */
import * as fs from 'fs';
import * as path from 'path';
import { LineCounter, isScalar, parseDocument } from 'yaml';
import { SpecTable } from '../spec/spec-table';
import { Diagnostic, excerptAt, formatPath } from './diagnostic';
import { RegimeLookup } from './find-regime-file';
import { Regime } from './regime';
import { Issue, RegimeText, asObject } from './regime-issue';
import { regimeSchema } from './regime-schema';
import { schemaIssues } from './schema-issues';
import { semanticIssues } from './semantic-issues';
import { targetSpecIssues } from './target-spec-issues';
import { allKeys, positionOf } from './yaml-positions';
import { indentationProblems } from './yaml-indentation';

/** Offset of the first byte that makes `buf` binary (NUL, or not UTF-8), else undefined. */
function firstNonTextByte(buf: Buffer): number | undefined {
  const nul = buf.indexOf(0);
  let invalid: number | undefined;
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(buf);
  } catch {
    invalid = 0;
    for (let i = 0; i < buf.length; ) {
      const b = buf[i];
      const n = b < 0x80 ? 0 : b >= 0xc2 && b <= 0xdf ? 1 : b >= 0xe0 && b <= 0xef ? 2 : b >= 0xf0 && b <= 0xf4 ? 3 : -1;
      let ok = n >= 0 && i + n < buf.length;
      for (let k = 1; ok && k <= n; k++) ok = (buf[i + k] & 0xc0) === 0x80;
      if (!ok) {
        invalid = i;
        break;
      }
      i += n + 1;
    }
  }
  const found = [nul >= 0 ? nul : undefined, invalid].filter((x): x is number => x !== undefined);
  return found.length ? Math.min(...found) : undefined;
}

/**
 * A check `checkRegimeFile` runs after its own, on the data with the schema defaults filled in:
 * how layers above config (dbconf, declared columns) add checks whose issues are positioned like
 * the others. `valid` says whether every check before it passed (then `data` is a `Regime`).
 */
export type RegimeCheck = (data: Record<string, unknown>, context: { src: RegimeText; specs: Map<string, SpecTable>; valid: boolean }) => Issue[];

/**
 * All diagnostics of one file (never throws for bad content), sorted by position. Codes:
 * REGIME_READ, REGIME_BINARY, REGIME_EMPTY, REGIME_YAML, REGIME_DUPLICATE_KEY (file level);
 * REGIME_SCHEMA, REGIME_UNKNOWN_KEY, REGIME_REGEX, REGIME_JSONATA (schema); REGIME_TIMEZONE,
 * REGIME_CREDENTIALS, REGIME_CAPTURE, REGIME_NONDETERMINISTIC, REGIME_SPEC, SPEC_TABLE_RESERVED,
 * REGIME_MAPPING (checks beyond the schema); then `checks`, in order.
 * `regime` is set (defaults applied) only when there is no error.
 */
export function checkRegimeFile(file: string, lookup: RegimeLookup = {}, checks: RegimeCheck[] = []): { regime?: Regime; specs: Map<string, SpecTable>; diagnostics: Diagnostic[] } {
  const abs = path.resolve(lookup.cwd ?? process.cwd(), file);
  const specs = new Map<string, SpecTable>();
  const diagnostics: Diagnostic[] = [];
  const at = (line: number, col: number, code: ErrorCode, message: string, extra: Partial<Diagnostic> = {}): void => {
    diagnostics.push({ file: abs, line, col, severity: 'error', code, path: '', message, ...extra });
  };
  let buf: Buffer;
  try {
    buf = fs.readFileSync(abs);
  } catch (err) {
    at(1, 1, 'REGIME_READ', `cannot read the file: ${(err as Error).message}`);
    return { specs, diagnostics };
  }
  const bad = firstNonTextByte(buf);
  if (bad !== undefined) {
    const before = buf.subarray(0, bad);
    const line = before.filter((b) => b === 0x0a).length + 1;
    const col = bad - (before.lastIndexOf(0x0a) + 1) + 1;
    at(line, col, 'REGIME_BINARY', `not a UTF-8 text file (byte 0x${buf[bad].toString(16).padStart(2, '0')} at offset ${bad}); a regime is YAML text`);
    return { specs, diagnostics };
  }
  let text = buf.toString('utf8');
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);

  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, keepSourceTokens: true, uniqueKeys: true, prettyErrors: false, merge: true });
  const src: RegimeText = { doc, text, lines };
  const excerpt = (line: number, col: number) => excerptAt(text, line, col) || undefined;
  const finish = () => {
    diagnostics.sort((a, b) => a.line - b.line || a.col - b.col || a.code.localeCompare(b.code) || a.message.localeCompare(b.message));
    const unique = diagnostics.filter((d, i) => {
      const p = diagnostics[i - 1];
      return !p || p.line !== d.line || p.col !== d.col || p.code !== d.code || p.message !== d.message || p.path !== d.path;
    });
    return unique;
  };

  const keys = allKeys(doc);
  // indentation errors said once, at the line out of place; a duplicate key on a line the parser
  // misplaced is its confusion, not the file's
  const indentation = indentationProblems(text, doc.errors, lines);
  const replaced = new Set(indentation.flatMap((p) => p.replaces));
  const misplaced = new Set(indentation.flatMap((p) => p.replaces.filter((e) => e.code === 'BAD_INDENT').map((e) => lines.linePos(e.pos[0]).line)));
  for (const p of indentation) at(p.line, p.col, 'REGIME_YAML', `YAML: ${p.message}`, { excerpt: excerpt(p.line, p.col) });
  for (const e of [...doc.errors, ...doc.warnings]) {
    if (replaced.has(e as never)) continue;
    const pos = lines.linePos(e.pos[0]);
    if (e.code === 'DUPLICATE_KEY' && misplaced.has(pos.line)) continue;
    const severity = doc.errors.includes(e as never) ? 'error' : 'warning';
    if (e.code === 'DUPLICATE_KEY') {
      const dup = keys.find((k) => k.key.range && k.key.range[0] === e.pos[0]);
      const first = dup && keys.find((k) => k !== dup && k.text === dup.text && JSON.stringify(k.path) === JSON.stringify(dup.path));
      const firstLine = first?.key.range ? lines.linePos(first.key.range[0]).line : undefined;
      at(pos.line, pos.col, 'REGIME_DUPLICATE_KEY', dup ? `duplicate key \`${dup.text}\`${firstLine ? ` (first at line ${firstLine})` : ''}` : e.message, {
        path: dup ? formatPath(dup.path) : '',
        excerpt: excerpt(pos.line, pos.col),
      });
    } else {
      at(pos.line, pos.col, 'REGIME_YAML', `YAML: ${e.message.replace(/ at line \d+, column \d+:?[\s\S]*$/, '')}`, { severity, excerpt: excerpt(pos.line, pos.col) });
    }
  }
  if (doc.errors.some((e) => e.code !== 'DUPLICATE_KEY')) return { specs, diagnostics: finish() };
  if (doc.contents === null || (isScalar(doc.contents) && doc.contents.value === null)) {
    at(1, 1, 'REGIME_EMPTY', 'the file is empty: a regime needs at least name, tables, context and targets');
    return { specs, diagnostics: finish() };
  }

  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 1000 });
  } catch (err) {
    at(1, 1, 'REGIME_YAML', `YAML: ${(err as Error).message}`);
    return { specs, diagnostics: finish() };
  }
  const ctx = regimeSchema();
  const issues: Issue[] = [];
  if (!ctx.validate(data)) issues.push(...schemaIssues(ctx.validate.errors ?? [], data, src));
  const object = asObject(data);
  if (object) issues.push(...semanticIssues(object, src), ...targetSpecIssues(object, lookup, specs));
  if (object) {
    const valid = !issues.some((i) => (i.severity ?? 'error') === 'error') && !diagnostics.some((d) => d.severity === 'error');
    for (const check of checks) issues.push(...check(object, { src, specs, valid }));
  }
  diagnostics.push(...positionIssues(abs, src, issues));
  const result = finish();
  const failed = result.some((d) => d.severity === 'error');
  return { regime: failed ? undefined : (data as Regime), specs, diagnostics: result };
}

/** Issues of the regime file `file` (text parsed as `src`) as diagnostics, each at its node (or its exact `pos`). */
export function positionIssues(file: string, src: RegimeText, issues: Issue[]): Diagnostic[] {
  return issues.map((issue) => {
    const pos = issue.pos ?? positionOf(src.doc, src.lines, issue.segments, issue.useKey);
    return {
      file,
      line: pos.line,
      col: pos.col,
      severity: issue.severity ?? 'error',
      code: issue.code,
      path: formatPath(issue.segments),
      message: issue.message,
      excerpt: excerptAt(src.text, pos.line, pos.col) || undefined,
    };
  });
}

/** A regime file's text parsed with positions (for checks that run after `checkRegimeFile`, on a file it passed). */
export function readRegimeText(file: string): RegimeText {
  let text = fs.readFileSync(file, 'utf8');
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, keepSourceTokens: true, uniqueKeys: true, prettyErrors: false, merge: true });
  return { doc, text, lines };
}
