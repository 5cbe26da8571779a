import { ErrorCode } from '../core/error-codes';
import * as path from 'path';

/** One problem found in a regime file, positioned (1-based line and column) at the offending YAML node. */
export interface Diagnostic {
  file: string;
  line: number;
  col: number;
  severity: 'error' | 'warning';
  /** Stable code such as `REGIME_SCHEMA`, `REGIME_UNKNOWN_KEY`. */
  code: ErrorCode;
  /** Where in the regime (`scraper.maxage`, `targets[0].map.Temp_PT1`); empty for file-level problems. */
  path: string;
  message: string;
  /** Source lines around the position with a caret under the column (already formatted). */
  excerpt?: string;
}

/** Renders a key path (`['targets', 0, 'map', 'x']`) as `targets[0].map.x`; odd keys are bracketed. */
export function formatPath(segments: Array<string | number>): string {
  let out = '';
  for (const s of segments) {
    if (typeof s === 'number') out += `[${s}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(s)) out += out ? `.${s}` : s;
    else out += `['${s}']`;
  }
  return out;
}

/**
 * A 1–3 line excerpt of `text` ending at `line`, then a caret under `col`, prefixed with line
 * numbers as compilers do. Empty when the line does not exist.
 */
export function excerptAt(text: string, line: number, col: number, before = 1): string {
  const lines = text.split(/\r?\n/);
  if (line < 1 || line > lines.length) return '';
  const first = Math.max(1, line - before);
  const width = String(line).length;
  const out: string[] = [];
  for (let n = first; n <= line; n++) out.push(`${String(n).padStart(width)} | ${lines[n - 1]}`.trimEnd());
  const target = lines[line - 1];
  // keep tabs so the caret lines up under tab-indented text
  const lead = target.slice(0, Math.max(0, col - 1)).replace(/[^\t]/g, ' ');
  out.push(`${' '.repeat(width)} | ${lead}^`);
  return out.join('\n');
}

/**
 * Compiler-style rendering, one diagnostic per block:
 * `regimes.d/adtemp.yaml:14:7 error REGIME_SCHEMA scraper.maxage: must be a duration (…), found string "10 min"`
 * then its excerpt. Files are shown relative to `cwd` when inside it.
 */
export function renderDiagnostics(diags: Diagnostic[], cwd: string = process.cwd()): string {
  return diags
    .map((d) => {
      const rel = path.relative(cwd, d.file);
      const file = rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : d.file;
      const head = `${file}:${d.line}:${d.col} ${d.severity} ${d.code} ${d.path ? `${d.path}: ` : ''}${d.message}`;
      return d.excerpt ? `${head}\n${d.excerpt}` : head;
    })
    .join('\n');
}

/**
 * Edit distance (Levenshtein plus transposition of two neighbours, the commonest typo:
 * `tsak` → `task` is 1), case-sensitive.
 */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}

/**
 * The candidate closest to `word` (case-insensitive edit distance) when it is a plausible typo:
 * at most 1/3 of the longer word and never more than 3 edits, or one word (3+ letters) starting
 * the other (`modulo` → `modulo_ramp`).
 */
export function nearest(word: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  const w = word.toLowerCase();
  for (const c of candidates) {
    const lc = c.toLowerCase();
    if (lc === w) continue;
    const distance = editDistance(w, lc);
    const limit = Math.min(3, Math.max(1, Math.floor(Math.max(w.length, lc.length) / 3)));
    const prefix = Math.min(w.length, lc.length) >= 3 && (lc.startsWith(w) || w.startsWith(lc));
    if ((distance <= limit || prefix) && distance < bestDistance) {
      best = c;
      bestDistance = distance;
    }
  }
  return best;
}

/** ` (did you mean `x`?)` or an empty string. */
export function didYouMean(word: string, candidates: Iterable<string>): string {
  const n = nearest(word, candidates);
  return n === undefined ? '' : ` (did you mean \`${n}\`?)`;
}
