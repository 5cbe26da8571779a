import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { DIALECTS, TestDatabase, createTestDatabase } from '../support/databases';
import { ROOT, runCli } from '../support/cli';

/** The commands of the README walk-through "Adding a scraper", as written. */
function walkThrough(): string[][] {
  const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const start = readme.indexOf('### Adding a scraper');
  const section = readme.slice(start, readme.indexOf('\n### ', start + 1));
  const sh = /```sh\n([\s\S]*?)\n```/.exec(section);
  if (start < 0 || !sh) throw new Error('README: the "Adding a scraper" walk-through is missing');
  return sh[1].split('\n').map((line) => {
    // `'a b'` stays one argument
    const words = line.match(/'[^']*'|\S+/g)!.map((w) => w.replace(/^'(.*)'$/, '$1'));
    if (words[0] !== 'npx' || words[1] !== 'scrape') throw new Error(`README walk-through: not an npx scrape command: ${line}`);
    return words.slice(2);
  });
}

/**
 * The README's walk-through, run as written on this test's databases (the dbconf sections it names
 * point at them) and folders (the regimes folder by $SCRAPE_REGIMES; the spec folder, which is the
 * project's by default, by --spec-dir): every command succeeds, and the new regime writes the SAB
 * context its table name gives.
 */
describe.each(DIALECTS)('README "Adding a scraper" on %s', (dialect) => {
  const databases: TestDatabase[] = [];
  let tmp: string;
  afterAll(async () => {
    for (const d of databases) await d.drop();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('fake, new, validate, run, query: each exits 0, the validities in the SAB context', async () => {
    const commands = walkThrough();
    expect(commands.map((c) => c[0])).toEqual(['fake', 'new', 'validate', 'run', 'query']);
    const source = await createTestDatabase(dialect, 'fake_readme_new_src');
    const target = await createTestDatabase(dialect, 'readme_new_t');
    databases.push(source, target);
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'scrape-readme-new-'));
    const dbconf = path.join(tmp, 'dbconf.ini');
    fs.writeFileSync(dbconf, `[fake_dcs]\nurl = ${source.url}\nfake = true\n\n[tmp_offline_db]\nurl = ${target.url}\n`);
    fs.mkdirSync(path.join(tmp, 'regimes.d'));
    fs.mkdirSync(path.join(tmp, 'spec'));
    const env = { SCRAPE_DBCONF: dbconf, SCRAPE_REGIMES: path.join(tmp, 'regimes.d') };
    let query = '';
    for (const command of commands) {
      const args = [...command];
      if (command[0] !== 'fake') args.push('--spec-dir', path.join(tmp, 'spec'));
      if (command[0] === 'run' && dialect !== 'sqlite') args.push('--allow-drop-create-table');
      const r = await runCli(args, { env });
      expect({ args, code: r.code, stderr: r.code === 0 ? '' : r.stderr }).toEqual({ args, code: 0, stderr: '' });
      if (command[0] === 'query') query = r.stdout;
    }
    expect(fs.existsSync(path.join(tmp, 'regimes.d', 'sabtemp.yaml'))).toBe(true);
    expect(fs.existsSync(path.join(tmp, 'spec', 'GDcsSabtemp.spec'))).toBe(true);
    // DBNS_SAB_Temp: SAB -> sitemask 32; no detector in the name -> subsite 0
    const [{ n }] = await target.db('DcsSabtempVld').count({ n: '*' });
    const contexts = await target.db('DcsSabtempVld').distinct('SITEMASK', 'SUBSITE');
    expect(contexts.map((c: { SITEMASK: number; SUBSITE: number }) => [Number(c.SITEMASK), Number(c.SUBSITE)])).toEqual([[32, 0]]);
    expect(Number(n)).toBeGreaterThan(0);
    expect(query).toContain('SAB_Temp_PT1');
  }, 120_000);
});
