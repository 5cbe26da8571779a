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
 * project's by default, by --spec-dir): every command succeeds, and the new regime writes the
 * context of each of the 17 VME crates the dump holds.
 */
describe.each(DIALECTS)('README "Adding a scraper" on %s', (dialect) => {
  const databases: TestDatabase[] = [];
  let tmp: string;
  afterAll(async () => {
    for (const d of databases) await d.drop();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('load, new, validate, fake, run, query: each exits 0, one context per crate', async () => {
    const commands = walkThrough();
    expect(commands.map((c) => c[0])).toEqual(['load', 'new', 'validate', 'fake', 'run', 'query']);
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
      if (command[0] !== 'load') args.push('--spec-dir', path.join(tmp, 'spec'));
      if (command[0] === 'run' && dialect !== 'sqlite') args.push('--allow-drop-create-table');
      const r = await runCli(args, { env });
      expect({ args, code: r.code, stderr: r.code === 0 ? '' : r.stderr }).toEqual({ args, code: 0, stderr: '' });
      if (command[0] === 'query') query = r.stdout;
    }
    expect(fs.existsSync(path.join(tmp, 'regimes.d', 'crates.yaml'))).toBe(true);
    expect(fs.existsSync(path.join(tmp, 'spec', 'GDcsCrates.spec'))).toBe(true);
    // the dump's crates: DBNS and LANS AD1, AD2, IWS, OWS, RPC; FARS AD1..AD4, IWS, OWS, RPC;
    // site DBNS 1, LANS 2, FARS 4; AD1..AD4 subsites 1..4, IWS 5, OWS 6, RPC 7
    const expected = [...[1, 2].flatMap((s) => [1, 2, 5, 6, 7].map((u) => [s, u])), ...[1, 2, 3, 4, 5, 6, 7].map((u) => [4, u])];
    const contexts = await target.db('DcsCratesVld').distinct('SITEMASK', 'SUBSITE');
    const got = contexts.map((c: { SITEMASK: number; SUBSITE: number }) => [Number(c.SITEMASK), Number(c.SUBSITE)]);
    expect(got.sort((a: number[], b: number[]) => a[0] - b[0] || a[1] - b[1])).toEqual(expected);
    // the query of LANS IWS (2/5) at 16:30 UTC (00:30 in the halls, half way through the faked hour) found its validity
    expect(query).toContain('Voltage_5V');
  }, 120_000);
});
