import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { DIALECTS, createTestDatabase, TestDatabase } from '../support/databases';
import { ROOT, runCli } from '../support/cli';
import { adtempReasons } from '../ops/ops-support';

/** The README section "The main job on the embedded default": its command line and the output it quotes. */
function readmeDemo(): { commands: string[][]; lines: number; quoted: string[] } {
  const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## The main job on the embedded default'), readme.indexOf('## Commands'));
  const sh = /```sh\n(.*)\n```/.exec(section);
  const quoted = /ends with:\n\n```\n([\s\S]*?)```/.exec(section);
  const lines = /its output, (\d+) lines when redirected to a file/.exec(section);
  if (!sh || !quoted || !lines) throw new Error('README: the demo command, its line count or its quoted output is missing');
  const commands = sh[1].split('&&').map((c) => c.trim().split(/\s+/));
  for (const c of commands) if (c[0] !== 'npx' || c[1] !== 'scrape') throw new Error(`README demo: not an npx scrape command: ${c.join(' ')}`);
  return { commands: commands.map((c) => c.slice(2)), lines: Number(lines[1]), quoted: quoted[1].trimEnd().split('\n') };
}

/** A log or output line without what differs from run to run: the line's time and durations. */
function steady(line: string): string {
  return line
    .replace(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z /, 'T ')
    .replace(/ in [\d.]+ ?s\b/, ' in D')
    .replace(/ in \d+m\d\ds\b/, ' in D')
    .replace(/, \d+ rows\/s/, ', R rows/s');
}

/**
 * The README's demo, run as written (its two commands, on the dbconf sections it names, here on
 * files or databases of this test): it writes far fewer validities than rows, each for the
 * reason the source gives, and prints what the README quotes.
 */
describe.each(DIALECTS)('README demo (fake then run) on %s', (dialect) => {
  const databases: TestDatabase[] = [];
  let tmp: string;
  afterAll(async () => {
    for (const d of databases) await d.drop();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('writes a validity only on change or age, and prints what the README says', async () => {
    const demo = readmeDemo();
    const source = await createTestDatabase(dialect, 'fake_demo_src');
    const target = await createTestDatabase(dialect, 'demo_t');
    databases.push(source, target);
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'scrape-demo-'));
    const dbconf = path.join(tmp, 'dbconf.ini');
    fs.writeFileSync(dbconf, `[fake_dcs]\nurl = ${source.url}\nfake = true\n\n[tmp_offline_db]\nurl = ${target.url}\n`);
    const output: string[] = [];
    for (const command of demo.commands) {
      // the embedded default creates the SQLite target; a server target needs the flag
      const args = dialect === 'sqlite' || command[0] !== 'run' ? command : [...command, '--allow-drop-create-table'];
      const r = await runCli(args, { env: { SCRAPE_DBCONF: dbconf } });
      expect({ args, code: r.code, stderr: r.code === 0 ? '' : r.stderr }).toEqual({ args, code: 0, stderr: '' });
      // stdout and stderr of each command, as a terminal shows them (stdout's one line last)
      // (but the faker's progress lines, one per 5 s of faking: as many as the machine is slow)
      const logged = r.stderr.split('\n').filter((l) => l !== '' && !/ INFO  fake +[\d.]+% /.test(l));
      output.push(...logged, ...r.stdout.split('\n').filter(Boolean));
    }
    const [{ rows }] = await source.db('DBNS_SAB_Temp').count({ rows: '*' });
    const [{ n }] = await target.db('DcsAdTempVld').count({ n: '*' });
    const written = Number(n);
    // one day of rows every 10 s; a validity per maxage (10 min) and per step at most
    expect(Number(rows)).toBe(8640);
    expect(written).toBeGreaterThan(8640 / 61);
    expect(written).toBeLessThan(8640 / 40);
    const reasons = await adtempReasons(source.db, target.db);
    expect(reasons.changed).toBeGreaterThan(0);
    expect(reasons.changed + reasons.overage).toBe(written);
    // what the run says, and what the README quotes
    const caughtUp = output.find((l) => / INFO  caught up: /.test(l))!;
    expect(steady(caughtUp)).toBe(`T INFO  caught up: 8640 rows read, ${written} writes (changed ${reasons.changed}, overage ${reasons.overage}) in D; DBNS_SAB_Temp at 2011-02-02 00:00:00 Asia/Shanghai`);
    expect(output).toHaveLength(demo.lines);
    const seen = output.map(steady);
    for (const line of demo.quoted) expect(seen).toContain(steady(line));
  }, 120_000);
});
