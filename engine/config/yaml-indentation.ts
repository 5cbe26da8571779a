/**
 * The YAML parser's indentation errors, said the way a person fixes them. The parser reports an
 * over-indented `key: value` line as two errors on the line above ("Implicit keys need to be on a
 * single line", "Nested mappings are not allowed in compact mappings": the line reads as the
 * continuation of the value above), and keys of one mapping at different columns as one error per
 * later key at column 1 ("All mapping items must start at the same column"), even when only the
 * first key is out of line. Here each becomes one diagnostic at the line that is out of place,
 * naming the key and the columns; errors these replace are listed so the caller drops them.
 */
import { LineCounter, YAMLError } from 'yaml';

/** One indentation problem: where (1-based), what, and the parser errors it replaces. */
export interface IndentationProblem {
  line: number;
  col: number;
  message: string;
  replaces: YAMLError[];
}

interface TextLine {
  /** 0-based column of the key (after indentation and any `- ` markers); undefined for blank and comment lines. */
  keyCol?: number;
  /** The key's text, when the line is `key: …`. */
  key?: string;
  /** True when something follows the key's colon on the line (a value, not a comment, anchor or block indicator). */
  inlineValue: boolean;
  /** True when the line starts with `- `. */
  item: boolean;
}

function readLine(raw: string): TextLine {
  const m = /^( *)((?:- +)*)/.exec(raw)!;
  const rest = raw.slice(m[0].length);
  if (rest.trim() === '' || rest.startsWith('#')) return { inlineValue: false, item: false };
  const k = /^(?:'((?:[^']|'')*)'|"((?:[^"\\]|\\.)*)"|([^\s#'"][^#]*?))\s*:(?=\s|$)/.exec(rest);
  const after = k ? rest.slice(k[0].length).replace(/(^|\s)#.*$/, '').trim() : '';
  return {
    keyCol: m[0].length,
    key: k ? (k[1] ?? k[2] ?? k[3]) : undefined,
    inlineValue: after !== '' && !/^([&!][^\s]*\s*)*([|>][-+0-9]*)?$/.test(after),
    item: m[2] !== '',
  };
}

/** How far this file indents a nested mapping: the commonest step from a `key:` line to the next, 2 when none. */
function indentStep(lines: TextLine[]): number {
  const counts = new Map<number, number>();
  let prev: TextLine | undefined;
  for (const l of lines) {
    if (l.keyCol === undefined) continue;
    if (prev && prev.key !== undefined && !prev.inlineValue && !l.item && l.keyCol > prev.keyCol!) {
      const d = l.keyCol - prev.keyCol!;
      counts.set(d, (counts.get(d) ?? 0) + 1);
    }
    prev = l;
  }
  let best = 2;
  let n = 0;
  for (const [d, c] of counts) if (c > n) [best, n] = [d, c];
  return best;
}

const name = (l: TextLine, lineNo: number): string => (l.key !== undefined ? `\`${l.key}\`` : `line ${lineNo}`);

/**
 * The indentation problems behind the parser's `errors` of `text` (positions through `counter`).
 * Errors it cannot explain are left to the caller.
 */
export function indentationProblems(text: string, errors: readonly YAMLError[], counter: LineCounter): IndentationProblem[] {
  const lines = text.split(/\r?\n/).map(readLine);
  const at = (lineNo: number): TextLine => lines[lineNo - 1] ?? { inlineValue: false, item: false };
  const content = (lineNo: number) => at(lineNo).keyCol !== undefined;
  const problems: IndentationProblem[] = [];
  /** Lines a misplaced key throws the parser off for, to the end of its mapping: its later errors are echoes. */
  const echoes: Array<{ from: number; to: number; problem: IndentationProblem }> = [];
  const echoRange = (from: number, col: number, problem: IndentationProblem): void => {
    let to = from;
    for (let n = from + 1; n <= lines.length; n++) {
      if (!content(n)) continue;
      if (at(n).keyCol! < col) break;
      to = n;
    }
    echoes.push({ from, to, problem });
  };

  // keys of one mapping at different columns: one parser error per later key, at column 1
  const bad = errors.filter((e) => e.code === 'BAD_INDENT' && /same column/.test(e.message));
  const step = indentStep(lines);
  const groups = new Map<number, { first: number; parent?: number; flagged: Array<{ line: number; error: YAMLError }> }>();
  for (const e of bad) {
    const lineNo = counter.linePos(e.pos[0]).line;
    const l = at(lineNo);
    if (l.keyCol === undefined) continue;
    let s = lineNo - 1;
    while (s >= 1 && (!content(s) || at(s).keyCol! >= l.keyCol)) s--;
    if (s < 1) continue;
    // the line above that is less indented: the parent key (`scraper:`), or the first key itself (`- columns: …`)
    const parentIsFirst = at(s).inlineValue || at(s).key === undefined;
    let first = s;
    if (!parentIsFirst) {
      first = s + 1;
      while (first < lineNo && !content(first)) first++;
    }
    const group = groups.get(first) ?? { first, parent: parentIsFirst ? undefined : s, flagged: [] };
    group.flagged.push({ line: lineNo, error: e });
    groups.set(first, group);
  }
  for (const g of groups.values()) {
    const first = at(g.first);
    const firstCol = first.keyCol!;
    const expected = g.parent === undefined ? undefined : at(g.parent).keyCol! + step;
    const cols = new Set(g.flagged.map((f) => at(f.line).keyCol!));
    const others = g.flagged.map((f) => f.line);
    const [col] = cols;
    if (expected !== undefined && firstCol !== expected && cols.size === 1 && col === expected) {
      // the first key is the odd one out: the rest agree with each other and with the file
      const parent = at(g.parent!);
      const problem: IndentationProblem = {
        line: g.first,
        col: firstCol + 1,
        message:
          `${name(first, g.first)} is indented to column ${firstCol + 1}, the other ${others.length === 1 ? 'key' : `${others.length} keys`} of ` +
          `${parent.key !== undefined ? `\`${parent.key}\`` : 'this mapping'} to column ${col + 1} (from ${name(at(others[0]), others[0])} on line ${others[0]}): ` +
          `keys of one mapping start at the same column`,
        replaces: g.flagged.map((f) => f.error),
      };
      problems.push(problem);
      echoRange(g.first, Math.min(firstCol, col), problem);
      continue;
    }
    for (const f of g.flagged) {
      const l = at(f.line);
      const problem: IndentationProblem = {
        line: f.line,
        col: l.keyCol! + 1,
        message:
          `${name(l, f.line)} is indented to column ${l.keyCol! + 1}, but ${name(first, g.first)} on line ${g.first}, the first key of this mapping, to column ${firstCol + 1}: ` +
          `keys of one mapping start at the same column`,
        replaces: [f.error],
      };
      problems.push(problem);
      echoRange(f.line, Math.min(firstCol, l.keyCol!), problem);
    }
  }
  // an over-indented line below `key: value`: reported by the parser on the line above
  const implicit = errors.filter((e) => e.code === 'MULTILINE_IMPLICIT_KEY' || e.code === 'BLOCK_AS_IMPLICIT_KEY');
  const byLine = new Map<number, YAMLError[]>();
  for (const e of implicit) {
    const line = counter.linePos(e.pos[0]).line;
    byLine.set(line, [...(byLine.get(line) ?? []), e]);
  }
  for (const [lineNo, errs] of byLine) {
    const echo = echoes.find((e) => e.from <= lineNo && lineNo <= e.to);
    if (echo) {
      echo.problem.replaces.push(...errs);
      continue;
    }
    const above = at(lineNo);
    if (above.keyCol === undefined || above.key === undefined) continue;
    let next = lineNo + 1;
    while (next <= lines.length && !content(next)) next++;
    const below = at(next);
    if (below.keyCol === undefined || below.keyCol <= above.keyCol) continue;
    problems.push({
      line: next,
      col: below.keyCol + 1,
      message:
        `${name(below, next)} is indented more (column ${below.keyCol + 1}) than \`${above.key}\` on line ${lineNo} (column ${above.keyCol + 1}), ` +
        `which already has a value: a key cannot nest under it; line ${name(below, next)} up with \`${above.key}\` to make it a key of the same mapping`,
      replaces: errs,
    });
  }

  return problems;
}
