import * as fs from 'fs';
import * as path from 'path';

/**
 * The engine's folders in dependency order: a file may import from its own folder and from
 * folders listed before it, never after (data flows one way). Folders on one line are peers
 * that may not import each other.
 */
export const LAYERS: string[][] = [
  ['core'],
  ['db'],
  ['spec'],
  ['config'],
  ['source'],
  ['transform'],
  ['aggregate'],
  ['dbi'],
  ['stream'],
  ['scraper', 'averager'],
  ['faker'],
  ['session'],
  ['report'],
  ['cli'],
  ['.'], // engine/index.ts: the public API
];

const ENGINE = path.join(__dirname, '..', '..', 'engine');

function rank(folder: string): number {
  return LAYERS.findIndex((layer) => layer.includes(folder));
}

function tsFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return tsFiles(p);
    return e.name.endsWith('.ts') ? [p] : [];
  });
}

/** Every relative import (static, dynamic, require, `export … from`) of a file, as engine folders. */
function importedFolders(file: string, engineDir: string): { spec: string; folder: string }[] {
  const text = fs.readFileSync(file, 'utf8');
  const out: { spec: string; folder: string }[] = [];
  for (const m of text.matchAll(/(?:from\s+|require\(\s*|import\(\s*)['"](\.[^'"]+)['"]/g)) {
    const resolved = path.resolve(path.dirname(file), m[1]);
    const rel = path.relative(engineDir, resolved);
    out.push({ spec: m[1], folder: rel.startsWith('..') ? '(outside engine)' : rel.includes(path.sep) ? rel.split(path.sep)[0] : '.' });
  }
  return out;
}

/** All import edges that break the order, as `file -> import (folder)`. */
export function layeringViolations(engineDir = ENGINE): string[] {
  const bad: string[] = [];
  for (const file of tsFiles(engineDir)) {
    const rel = path.relative(engineDir, file);
    const own = rel.includes(path.sep) ? rel.split(path.sep)[0] : '.';
    const ownRank = rank(own);
    if (ownRank < 0) {
      bad.push(`${rel}: folder ${own} is not in the layer list`);
      continue;
    }
    for (const { spec, folder } of importedFolders(file, engineDir)) {
      if (folder === own) continue;
      const r = rank(folder);
      if (r < 0 || r >= ownRank) bad.push(`${rel} -> ${spec} (${folder})`);
    }
  }
  return bad;
}

describe('engine layering', () => {
  it('every engine folder is in the layer list and imports only folders before it', () => {
    expect(layeringViolations()).toEqual([]);
  });

  it('the check itself catches a back-edge, a peer edge and an unknown folder', () => {
    const tmp = fs.mkdtempSync(path.join(require('os').tmpdir(), 'layering-'));
    try {
      fs.mkdirSync(path.join(tmp, 'core'));
      fs.mkdirSync(path.join(tmp, 'scraper'));
      fs.mkdirSync(path.join(tmp, 'averager'));
      fs.mkdirSync(path.join(tmp, 'misc'));
      fs.writeFileSync(path.join(tmp, 'core', 'a.ts'), "import { x } from '../scraper/b';\n");
      fs.writeFileSync(path.join(tmp, 'scraper', 'b.ts'), "export const x = require('../averager/c');\n");
      fs.writeFileSync(path.join(tmp, 'averager', 'c.ts'), "import { y } from '../core/a';\nexport { z } from './d';\n");
      fs.writeFileSync(path.join(tmp, 'misc', 'd.ts'), '');
      expect(layeringViolations(tmp).sort()).toEqual([
        'core/a.ts -> ../scraper/b (scraper)',
        'misc/d.ts: folder misc is not in the layer list',
        'scraper/b.ts -> ../averager/c (averager)',
      ]);
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });
});
