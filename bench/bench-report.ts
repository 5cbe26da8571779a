/** One line of the bench's table: a measured figure, its target (if any) and whether it is met. */
export interface Figure {
  name: string;
  value: string;
  target: string;
  /** undefined for context lines without a target. */
  pass: boolean | undefined;
}

/** The final table, Markdown-compatible so it can be pasted into the README as is. */
export function renderTable(figures: Figure[]): string {
  const rows = [['figure', 'measured', 'target', ''], ...figures.map((f) => [f.name, f.value, f.target, f.pass === undefined ? '' : f.pass ? 'PASS' : 'MISS'])];
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  const line = (r: string[]) => `| ${r.map((cell, c) => cell.padEnd(widths[c])).join(' | ')} |`;
  const out = [line(rows[0]), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.slice(1).map(line)];
  return out.join('\n') + '\n';
}
