import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { projectRoot } from '../../engine/config/dbconf';
import { runCli } from '../support/cli';

const root = projectRoot();

const scrape = (args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}) => runCli(args, { cwd: options.cwd ?? root, env: options.env });

function tmpDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'scrape-validate-'));
}

describe('scrape validate', () => {
  it('validates every shipped regime by default: exit 0 and one summary line', async () => {
    const names = fs
      .readdirSync(path.join(root, 'regimes.d'))
      .filter((f) => /\.ya?ml$/.test(f))
      .sort()
      .map((f) => f.replace(/\.ya?ml$/, ''));
    const r = await scrape(['validate']);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe(`${names.length} regime${names.length === 1 ? '' : 's'} valid (${names.join(', ')})\n`);
    expect(r.code).toBe(0);
  });

  it('accepts regime names and paths', async () => {
    const r = await scrape(['validate', 'adtemp', 'regimes.d/pmthv.yaml']);
    expect(r.stdout).toBe('2 regimes valid (adtemp, pmthv)\n');
    expect(r.code).toBe(0);
  });

  it('prints every diagnostic of every file and exits 1', async () => {
    const r = await scrape(['validate', 'adtemp', 'test/config/broken/typo-key.yaml', 'test/config/broken/empty.yaml']);
    expect(r.code).toBe(1);
    const heads = r.stdout.split('\n').filter((l) => /^\S+:\d+:\d+ /.test(l));
    expect(heads).toEqual([
      'test/config/broken/typo-key.yaml:8:3 error REGIME_UNKNOWN_KEY context.tsak: unknown key `tsak` (did you mean `task`?)',
      'test/config/broken/typo-key.yaml:11:3 error REGIME_UNKNOWN_KEY scraper.maxag: unknown key `maxag` (did you mean `maxage`?)',
      'test/config/broken/typo-key.yaml:12:3 error REGIME_UNKNOWN_KEY scraper.heartbaet: unknown key `heartbaet` (did you mean `heartbeat`?)',
      'test/config/broken/typo-key.yaml:14:5 error REGIME_SCHEMA targets[0].map: required key missing',
      'test/config/broken/typo-key.yaml:15:5 error REGIME_UNKNOWN_KEY targets[0].mpa: unknown key `mpa` (did you mean `map`?)',
      'test/config/broken/empty.yaml:1:1 error REGIME_EMPTY the file is empty: a regime needs at least name, tables, context and targets',
    ]);
    expect(r.stdout.endsWith('6 errors in 2 of 3 regimes\n')).toBe(true);
  });

  it('--regimes DIR validates that folder; a folder argument works too', async () => {
    const dir = tmpDir();
    fs.copyFileSync(path.join(root, 'regimes.d', 'adtemp.yaml'), path.join(dir, 'adtemp.yaml'));
    fs.copyFileSync(path.join(root, 'test/config/broken/bad-timezone.yaml'), path.join(dir, 'tz.yml'));
    fs.writeFileSync(path.join(dir, 'notes.txt'), 'not a regime');
    const r = await scrape(['validate', '--regimes', dir], { cwd: dir });
    expect(r.code).toBe(1);
    expect(r.stdout.split('\n')[0]).toBe("tz.yml:2:11 error REGIME_TIMEZONE timezone: unknown time zone 'Asia/Shangai' (did you mean `Asia/Shanghai`?)");
    expect(r.stdout.endsWith('1 error in 1 of 2 regimes\n')).toBe(true);
    fs.unlinkSync(path.join(dir, 'tz.yml'));
    const ok = await scrape(['validate', dir]);
    expect(ok).toEqual({ code: 0, stdout: '1 regime valid (adtemp)\n', stderr: '' });
  });

  it('$SCRAPE_REGIMES is the default folder', async () => {
    const dir = tmpDir();
    fs.copyFileSync(path.join(root, 'regimes.d', 'pmthv.yaml'), path.join(dir, 'pmthv.yaml'));
    const r = await scrape(['validate'], { cwd: dir, env: { SCRAPE_REGIMES: dir } });
    expect(r).toEqual({ code: 0, stdout: '1 regime valid (pmthv)\n', stderr: '' });
  });

  it('--spec-dir without the target spec makes a clean regime fail with REGIME_SPEC', async () => {
    const specDir = tmpDir();
    const r = await scrape(['validate', 'adtemp', '--spec-dir', specDir]);
    expect(r.code).toBe(1);
    expect(r.stdout.split('\n')[0]).toMatch(/^regimes\.d\/adtemp\.yaml:\d+:11 error REGIME_SPEC targets\[0\]\.spec: unknown spec `GDcsAdTemp`/);
  });

  it('an unknown regime name is exit 1 with a suggestion', async () => {
    const r = await scrape(['validate', 'pmthvv']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error REGIME_NOT_FOUND: no regime 'pmthvv' .*did you mean `pmthv`\?/);
  });
});
