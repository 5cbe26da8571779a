import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import Database from 'better-sqlite3';
import { ROOT } from '../support/cli';

/** The README's embedding example, as written there. */
function readmeExample(): string {
  const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Embedding the engine'));
  const m = /```js\n([\s\S]*?)```/.exec(section);
  if (!m) throw new Error('no ```js block in the README section "Embedding the engine"');
  return m[1];
}

describe('README embedding example', () => {
  it("runs as written through require('scrape') and writes the validities its report counts", () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'scrape-embed-'));
    try {
      // a program of its own: `scrape` resolved from its node_modules (the package's main, dist/)
      fs.mkdirSync(path.join(tmp, 'node_modules'));
      fs.symlinkSync(ROOT, path.join(tmp, 'node_modules', 'scrape'), 'dir');
      fs.writeFileSync(path.join(tmp, 'example.js'), readmeExample());
      // the dbconf sections it names, on SQLite files of this test (never the project's var/)
      const dbconf = path.join(tmp, 'dbconf.ini');
      fs.writeFileSync(dbconf, `[fake_dcs]\nurl = sqlite:${path.join(tmp, 'fake_dcs.sqlite')}\nfake = true\n\n[tmp_offline_db]\nurl = sqlite:${path.join(tmp, 'offline.sqlite')}\n`);
      const out = execFileSync(process.execPath, [path.join(tmp, 'example.js')], { cwd: ROOT, env: { ...process.env, SCRAPE_DBCONF: dbconf }, encoding: 'utf8', timeout: 60_000 });
      const streams = JSON.parse(out.trim().split('\n').pop()!) as { table: string; rowsRead: number; propagations: number }[];
      // adtemp fakes one table per SAB temperature board: 360 rows each, all read
      const source = new Database(path.join(tmp, 'fake_dcs.sqlite'), { readonly: true });
      const tables = source.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all().map((r: any) => r.name as string);
      for (const t of tables) expect(source.prepare(`SELECT COUNT(*) AS n FROM "${t}"`).get()).toEqual({ n: 360 });
      source.close();
      expect(streams.map((s) => s.table).sort()).toEqual(tables);
      for (const s of streams) expect(s.rowsRead).toBe(360);
      const target = new Database(path.join(tmp, 'offline.sqlite'), { readonly: true });
      const { n } = target.prepare('SELECT COUNT(*) AS n FROM DcsAdTempVld').get() as { n: number };
      target.close();
      expect(n).toBeGreaterThan(0);
      expect(streams.reduce((sum, s) => sum + s.propagations, 0)).toBe(n);
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });
});
