import * as fs from 'fs';
import * as path from 'path';

/** The project's own folder (where `dbconf.ini`, `regimes.d/`, `spec/` ship). */
export function projectRoot(): string {
  // engine/core/project-root.ts (ts-jest) or dist/engine/core/project-root.js (compiled)
  let dir = __dirname;
  for (let i = 0; i < 5; i++) {
    if (fs.existsSync(path.join(dir, 'package.json')) && fs.existsSync(path.join(dir, 'schemas'))) return dir;
    dir = path.dirname(dir);
  }
  return path.resolve(__dirname, '..', '..');
}

let version: string | undefined;

/** The engine's version, from the project's `package.json` (read once): `--version` and every provenance row. */
export function engineVersion(): string {
  version ??= String(JSON.parse(fs.readFileSync(path.join(projectRoot(), 'package.json'), 'utf8')).version);
  return version;
}
