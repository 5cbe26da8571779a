import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

const ROOT = path.join(__dirname, '..', '..');

/**
 * Makes sure `dist/` holds compiled JS at least as new as every engine source: jest runs the
 * TypeScript directly, but child processes (`bin/scrape`, writer scripts) run plain node against
 * dist. Compiles when any engine file is newer than its output or missing.
 */
export function ensureDist(): void {
  const stale = (dir: string): boolean =>
    fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true }).some((e) => {
      const rel = path.join(dir, e.name);
      if (e.isDirectory()) return stale(rel);
      if (!e.name.endsWith('.ts')) return false;
      const js = path.join(ROOT, 'dist', rel.replace(/\.ts$/, '.js'));
      return !fs.existsSync(js) || fs.statSync(js).mtimeMs < fs.statSync(path.join(ROOT, rel)).mtimeMs;
    });
  if (!stale('engine')) return;
  try {
    execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', ROOT], { cwd: ROOT, stdio: 'pipe' });
  } catch {
    // type errors elsewhere in the tree do not stop tsc from emitting; the check below decides
  }
  if (stale('engine')) throw new Error('tsc did not bring dist/engine up to date');
}
