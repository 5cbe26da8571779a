import { ChildProcess, execFileSync, spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { main } from '../../engine/cli/main';
import { CliIo } from '../../engine/cli/io';
import { projectRoot } from '../../engine/config/dbconf';
import { quoteCommandArg, quoteEnvironmentValue, supervisorProgram } from '../../engine/config/supervisor-config';
import { openDatabase } from '../../engine/db/open-database';
import { parseDatabaseUrl } from '../../engine/config/dbconf';
import { createSourceTable, insertRows, localPlus } from '../support/source-fixture';
import { ensureDist } from '../support/dist';

const ROOT = projectRoot();

/** Runs `scrape <args>` in-process with captured output. */
async function scrape(args: string[], env: NodeJS.ProcessEnv = {}) {
  let out = '';
  let err = '';
  const io: CliIo = {
    stdout: { write: (s: string) => ((out += s), true) } as unknown as CliIo['stdout'],
    stderr: { write: (s: string) => ((err += s), true) } as unknown as CliIo['stderr'],
    env,
    cwd: ROOT,
  };
  const code = await main(['node', 'scrape', ...args], io);
  return { code, stdout: out, stderr: err };
}

function tmpDir(label: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `scrape-sv-${label}-`));
}

/** The python that runs supervisord (its shebang), so the test can use supervisor's own parser. */
function supervisorPython(): string {
  const supervisord = execFileSync('sh', ['-c', 'command -v supervisord']).toString().trim();
  const shebang = fs.readFileSync(supervisord, 'utf8').split('\n')[0];
  return shebang.replace(/^#!\s*/, '').split(/\s+/)[0];
}

/** What supervisord itself makes of a program file: argv, environment, settings. */
function parseWithSupervisor(file: string): Array<Record<string, any>> {
  const script = `
import sys, json, shlex
from supervisor.options import ServerOptions, UnhosedConfigParser
s = ServerOptions()
p = UnhosedConfigParser()
p.expansions = {'here': '/tmp'}
p.read(sys.argv[1])
out = []
for g in s.process_groups_from_parser(p):
    for pc in g.process_configs:
        out.append(dict(name=pc.name, argv=shlex.split(pc.command), env=pc.environment, directory=pc.directory,
          autorestart=pc.autorestart.__name__, exitcodes=list(pc.exitcodes), startsecs=pc.startsecs, startretries=pc.startretries,
          stopsignal=int(pc.stopsignal), stopwaitsecs=pc.stopwaitsecs, redirect_stderr=pc.redirect_stderr, autostart=pc.autostart,
          stdout_logfile=pc.stdout_logfile, stdout_logfile_maxbytes=pc.stdout_logfile_maxbytes, stdout_logfile_backups=pc.stdout_logfile_backups,
          stderr_logfile_maxbytes=pc.stderr_logfile_maxbytes, stderr_logfile_backups=pc.stderr_logfile_backups))
print(json.dumps(out))
`;
  const r = spawnSync(supervisorPython(), ['-c', script, file], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`supervisor could not parse ${file}: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

// A real supervisord with startsecs and restart back-off: slow on a loaded 2-core machine.
jest.setTimeout(240_000);

describe('scrape supervisor: generated program files', () => {
  let out: string;
  let logs: string;
  let dbconf: string;
  beforeEach(() => {
    out = tmpDir('out');
    logs = path.join(out, 'logs');
    dbconf = path.join(out, 'my.cnf');
    fs.writeFileSync(dbconf, '[fake_dcs]\nurl = sqlite:/nowhere.sqlite\n');
  });
  afterEach(() => fs.rmSync(out, { recursive: true, force: true }));

  it('writes adtemp_scraper.ini that supervisord reads as the manual describes', async () => {
    const r = await scrape(['supervisor', 'adtemp', '--out', out, '--dbconf', dbconf, '--log-dir', logs]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const file = path.join(out, 'adtemp_scraper.ini');
    expect(r.stdout).toBe(`wrote ${file} [program:adtemp_scraper]\n`);
    expect(fs.existsSync(logs)).toBe(true);
    const [p] = parseWithSupervisor(file);
    expect(p).toEqual({
      name: 'adtemp_scraper',
      argv: [process.execPath, path.join(ROOT, 'bin', 'scrape'), 'run', 'adtemp'],
      env: { SCRAPE_DBCONF: dbconf, SCRAPE_REGIMES: path.join(ROOT, 'regimes.d') },
      directory: ROOT,
      autostart: true,
      autorestart: 'RestartWhenExitUnexpected',
      exitcodes: [0],
      startsecs: 10,
      startretries: 3,
      stopsignal: 15,
      stopwaitsecs: 10,
      redirect_stderr: true,
      stdout_logfile: path.join(logs, 'adtemp_scraper.log'),
      stdout_logfile_maxbytes: 50 * 1024 * 1024,
      stdout_logfile_backups: 5,
      stderr_logfile_maxbytes: 50 * 1024 * 1024,
      stderr_logfile_backups: 5,
    });
    const text = fs.readFileSync(file, 'utf8');
    expect(text).toMatch(/^; .*startretries/m); // the restart policy is explained in the file
    expect(text).not.toMatch(/^user=/m);
  });

  it('ALL writes one file per regime of the regimes folder; --mode and --user shape the program', async () => {
    const regimes = path.join(out, 'regimes');
    fs.mkdirSync(regimes);
    for (const name of ['adtemp', 'pmthv']) fs.copyFileSync(path.join(ROOT, 'regimes.d', `${name}.yaml`), path.join(regimes, `${name}.yaml`));
    const r = await scrape(['supervisor', 'ALL', '--out', out, '--dbconf', dbconf, '--log-dir', logs, '--regimes', regimes, '--mode', 'fake', '--user', 'dyb']);
    expect(r.code).toBe(0);
    expect(fs.readdirSync(out).filter((f) => f.endsWith('.ini')).sort()).toEqual(['adtemp_faker.ini', 'pmthv_faker.ini']);
    const text = fs.readFileSync(path.join(out, 'pmthv_faker.ini'), 'utf8');
    expect(text).toMatch(/^\[program:pmthv_faker\]$/m);
    expect(text).toMatch(/^user=dyb$/m);
    expect(text).toContain(`environment=SCRAPE_DBCONF="${dbconf}",SCRAPE_REGIMES="${regimes}"`);
    expect(text.split('\n').find((l) => l.startsWith('command='))).toBe(`command=${process.execPath} ${path.join(ROOT, 'bin', 'scrape')} fake pmthv`);
  });

  it('quotes awkward paths so supervisord reads them back unchanged', async () => {
    const odd = path.join(out, 'odd "dir", 50% full');
    const odd2 = path.join(out, "it's, here");
    fs.mkdirSync(odd);
    fs.mkdirSync(odd2);
    fs.copyFileSync(path.join(ROOT, 'regimes.d', 'adtemp.yaml'), path.join(odd2, 'adtemp.yaml'));
    const conf = path.join(odd, 'db.cnf');
    fs.writeFileSync(conf, '');
    const logDir = path.join(odd2, 'logs');
    const r = await scrape(['supervisor', path.join(odd2, 'adtemp.yaml'), '--out', out, '--dbconf', conf, '--log-dir', logDir]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const [p] = parseWithSupervisor(path.join(out, 'adtemp_scraper.ini'));
    expect(p.env).toEqual({ SCRAPE_DBCONF: conf, SCRAPE_REGIMES: odd2 });
    expect(p.stdout_logfile).toBe(path.join(logDir, 'adtemp_scraper.log'));
    // supervisord expands % in log paths more than once: refused with a clear message
    const pct = await scrape(['supervisor', 'adtemp', '--out', out, '--dbconf', conf, '--log-dir', path.join(odd, 'logs')]);
    expect(pct.code).toBe(1);
    expect(pct.stderr).toMatch(/SUPERVISOR_VALUE.*%/);
    expect(p.argv.slice(2)).toEqual(['run', 'adtemp']);
  });

  it('quoting rules: arguments shell-quoted, environment values in the other quote, % doubled', () => {
    expect(quoteCommandArg('/usr/bin/node')).toBe('/usr/bin/node');
    expect(quoteCommandArg("a b'c")).toBe(`'a b'"'"'c'`);
    expect(quoteCommandArg('50%')).toBe(`'50%%'`);
    expect(quoteEnvironmentValue('/a,b')).toBe('"/a,b"');
    expect(quoteEnvironmentValue('/a"b')).toBe(`'/a"b'`);
    expect(() => quoteEnvironmentValue(`/a"b'c`)).toThrow(/both/);
    expect(() => quoteCommandArg('a\nb')).toThrow(/line break/);
    const base = { regime: 'adtemp', regimeFile: '/r/adtemp.yaml', mode: 'run' as const, nodePath: '/n', scriptPath: '/s', directory: '/d', dbconf: '/c', logDir: '/l' };
    expect(() => supervisorProgram({ ...base, dbconf: 'relative.cnf' })).toThrow(/absolute/);
    expect(() => supervisorProgram({ ...base, regime: 'a b' })).toThrow(/program name/);
  });

  it('refuses an invalid regime (exit 1) and writes nothing', async () => {
    const r = await scrape(['supervisor', path.join(ROOT, 'test', 'config', 'broken', 'typo-key.yaml'), '--out', out, '--dbconf', dbconf, '--log-dir', logs]);
    expect(r.code).toBe(1);
    expect(fs.readdirSync(out).filter((f) => f.endsWith('.ini'))).toEqual([]);
    const missing = await scrape(['supervisor', 'adtemp', '--out', out, '--dbconf', path.join(out, 'absent.cnf'), '--log-dir', logs]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/DBCONF_FILE/);
  });
});

// ---------------------------------------------------------------------------------------------
// a real supervisord


/** Resolves after `ms`; the timer does not keep jest alive. */
function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

/** Polls `probe` every 200 ms until it returns a value, at most `ms`. */
async function waitFor<T>(what: string, ms: number, probe: () => T | undefined): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(200);
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('scrape supervisor: the generated program under a real supervisord', () => {
  let dir: string;
  let conf: string;
  let supervisord: ChildProcess | undefined;
  let supervisordExit: Promise<number | null>;
  const programPids = new Set<number>();
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: os.tmpdir(), LANG: 'C.UTF-8' };

  const ctl = (...args: string[]) => spawnSync('supervisorctl', ['-c', conf, ...args], { encoding: 'utf8', env, timeout: 20_000 });
  /** `adtemp_scraper  RUNNING  pid 123, uptime 0:00:03` → state and pid. */
  const state = (): { state: string; pid?: number } => {
    const line = ctl('status', 'adtemp_scraper').stdout.split('\n').find((l) => l.startsWith('adtemp_scraper')) ?? '';
    const m = /^adtemp_scraper\s+(\S+)(?:\s+pid (\d+))?/.exec(line);
    return { state: m?.[1] ?? `?${line}`, pid: m?.[2] ? Number(m[2]) : undefined };
  };

  beforeAll(async () => {
    // Debian package `supervisor` (.ci/run installs what .ci/packages lists)
    if (spawnSync('sh', ['-c', 'command -v supervisord && command -v supervisorctl']).status !== 0) {
      throw new Error('supervisord is not installed: apt-get install supervisor (see .ci/packages)');
    }
    ensureDist();
    dir = tmpDir('real');
    // a fake source with a few rows and an empty SQLite target: `scrape run adtemp` catches up,
    // then keeps running live (no --until-caught-up), as a supervised scraper does
    const sourceFile = path.join(dir, 'fake_dcs.sqlite');
    const source = openDatabase(parseDatabaseUrl(`sqlite:${sourceFile}`));
    const cols = Object.fromEntries([1, 2, 3, 4, 5].map((i) => [`DBNS_SAB_Temp_PT${i}`, 'decimal(6,2)']));
    await createSourceTable(source, 'DBNS_SAB_Temp', cols);
    await insertRows(source, 'DBNS_SAB_Temp', Array.from({ length: 30 }, (_, i) => ({
      id: i + 1,
      date_time: localPlus('2011-02-01 00:00:00', (i + 1) * 10),
      ...Object.fromEntries(Object.keys(cols).map((c) => [c, (18 + (i % 3)).toFixed(2)])),
    })));
    await source.destroy();
    const dbconf = path.join(dir, 'dbconf.ini');
    fs.writeFileSync(dbconf, `[fake_dcs]\nurl = sqlite:${sourceFile}\nfake = true\n\n[tmp_offline_db]\nurl = sqlite:${path.join(dir, 'tmp_offline_db.sqlite')}\n`);
    const out = path.join(dir, 'conf.d');
    const r = await scrape(['supervisor', 'adtemp', '--out', out, '--dbconf', dbconf, '--log-dir', path.join(dir, 'logs'), '--startsecs', '2']);
    expect(r.code).toBe(0);
    // a second program that can only fail: its source is no dbconf section (config error, exit 1)
    const regimes = path.join(dir, 'regimes');
    fs.mkdirSync(regimes);
    const yaml = fs.readFileSync(path.join(ROOT, 'regimes.d', 'adtemp.yaml'), 'utf8');
    fs.writeFileSync(path.join(regimes, 'nodb.yaml'), yaml.replace(/^name: adtemp$/m, 'name: nodb').replace(/^source: fake_dcs$/m, 'source: no_such_section'));
    // startsecs 20: on a loaded machine a config error must still exit inside it to count as a failed start.
    const r2 = await scrape(['supervisor', 'nodb', '--regimes', regimes, '--out', out, '--dbconf', dbconf, '--log-dir', path.join(dir, 'logs'), '--startsecs', '20']);
    expect(r2.code).toBe(0);
    conf = path.join(dir, 'supervisord.conf');
    fs.writeFileSync(
      conf,
      [
        '[unix_http_server]',
        `file=${dir}/supervisor.sock`,
        '[supervisord]',
        `logfile=${dir}/supervisord.log`,
        `pidfile=${dir}/supervisord.pid`,
        `childlogdir=${dir}`,
        'nodaemon=true',
        'loglevel=debug', // logs when SIGTERM is sent, to time the stop
        'user=root',
        '[rpcinterface:supervisor]',
        'supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface',
        '[supervisorctl]',
        `serverurl=unix://${dir}/supervisor.sock`,
        '[include]',
        `files = ${out}/*.ini`,
        '',
      ].join('\n'),
    );
    if (process.getuid?.() !== 0) fs.writeFileSync(conf, fs.readFileSync(conf, 'utf8').replace('user=root\n', ''));
    supervisord = spawn('supervisord', ['-c', conf], { env, stdio: 'ignore' });
    supervisordExit = new Promise((resolve) => supervisord!.once('exit', (code) => resolve(code)));
  });

  afterAll(async () => {
    // a spawn that failed has no pid yet: killing it would signal process group 0, jest's own
    if (supervisord?.pid && supervisord.exitCode === null && supervisord.signalCode === null) {
      supervisord.kill('SIGTERM');
      await Promise.race([supervisordExit, sleep(15_000)]);
      if (supervisord.exitCode === null && supervisord.signalCode === null) supervisord.kill('SIGKILL');
    }
    for (const pid of programPids) if (alive(pid)) process.kill(pid, 'SIGKILL');
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('starts the program, restarts it after kill -9, stops it cleanly with SIGTERM; gives up on a config error; shuts down', async () => {
    // started by autostart, RUNNING once it has lived startsecs (2 s)
    const first = await waitFor('RUNNING', 30_000, () => {
      const s = state();
      return s.state === 'RUNNING' ? s : undefined;
    });
    programPids.add(first.pid!);
    // it is our scraper, reading the dbconf and regimes folder given in environment=
    const log = path.join(dir, 'logs', 'adtemp_scraper.log');
    await waitFor('the scraper log line', 15_000, () => (fs.existsSync(log) && /regime adtemp: sqlite:.*fake_dcs\.sqlite -> sqlite:.*tmp_offline_db\.sqlite/.test(fs.readFileSync(log, 'utf8')) ? true : undefined));
    expect(fs.readFileSync(`/proc/${first.pid}/cmdline`, 'utf8').split('\0').slice(1, 4)).toEqual([path.join(ROOT, 'bin', 'scrape'), 'run', 'adtemp']);

    // kill -9: an unexpected exit, restarted with a new pid and RUNNING again within ~10 s.
    // Each status query starts a python supervisorctl, which on a loaded machine can take seconds:
    // the restart is timed by the last query that still did not see it (it happened after that
    // query began), so the queries' own duration does not count.
    process.kill(first.pid!, 'SIGKILL');
    const killedAt = Date.now();
    let lastMissAt = killedAt;
    const second = await waitFor('RUNNING with a new pid', 30_000, () => {
      const asked = Date.now();
      const s = state();
      if (s.state === 'RUNNING' && s.pid !== first.pid) return s;
      lastMissAt = asked;
      return undefined;
    });
    programPids.add(second.pid!);
    process.stdout.write(`supervisord: RUNNING again at most ${Date.now() - killedAt} ms, at least ${lastMissAt - killedAt} ms after kill -9\n`);
    expect(lastMissAt - killedAt).toBeLessThan(10_000);
    expect(alive(first.pid!)).toBe(false);

    // stop: SIGTERM, the scraper exits 0 within 5 s, well within stopwaitsecs (no SIGKILL).
    // Timed by supervisord's own log (SIGTERM sent → exit seen), not around supervisorctl.
    const stop = ctl('stop', 'adtemp_scraper');
    expect(stop.stdout).toMatch(/adtemp_scraper: stopped/);
    expect(state().state).toBe('STOPPED');
    expect(alive(second.pid!)).toBe(false);
    const supervisordLog = fs.readFileSync(path.join(dir, 'supervisord.log'), 'utf8');
    const logTime = (re: RegExp): number => {
      const m = re.exec(supervisordLog);
      if (!m) throw new Error(`supervisord.log has no line matching ${re}:\n${supervisordLog}`);
      return Date.parse(`${m[1]}T${m[2]}.${m[3]}Z`); // both lines in the same zone: only the difference counts
    };
    const STAMP = '^(\\d{4}-\\d\\d-\\d\\d) (\\d\\d:\\d\\d:\\d\\d),(\\d{3}) ';
    const sigtermAt = logTime(new RegExp(`${STAMP}DEBG killing adtemp_scraper \\(pid ${second.pid}\\) (?:process group )?with signal SIGTERM$`, 'm'));
    const stoppedAt = logTime(new RegExp(`${STAMP}INFO stopped: adtemp_scraper \\(exit status 0\\)$`, 'm'));
    process.stdout.write(`supervisord: adtemp_scraper exited ${stoppedAt - sigtermAt} ms after SIGTERM\n`);
    expect(stoppedAt - sigtermAt).toBeGreaterThanOrEqual(0);
    expect(stoppedAt - sigtermAt).toBeLessThan(5_000);
    expect(supervisordLog).toMatch(/stopped: adtemp_scraper \(exit status 0\)/);
    expect(supervisordLog).not.toMatch(/with SIGKILL/); // supervisord's "killing 'x' (pid n) with SIGKILL"
    expect(supervisordLog).not.toMatch(/WARN (?!exited: (adtemp_scraper \(terminated by SIGKILL|nodb_scraper \(exit status 1))/); // no config warnings
    // the kill -9 was seen as unexpected (that is why it was restarted)
    expect(supervisordLog).toMatch(/exited: adtemp_scraper \(terminated by SIGKILL[^)]*; not expected\)/);

    // the config error was retried startretries (3) times, then given up: 4 spawns, FATAL, no loop
    await waitFor('nodb FATAL', 60_000, () => (/nodb_scraper\s+FATAL/.test(ctl('status', 'nodb_scraper').stdout) ? true : undefined));
    const final = fs.readFileSync(path.join(dir, 'supervisord.log'), 'utf8');
    expect(final.match(/spawned: 'nodb_scraper'/g)?.length).toBe(4);
    expect(final.match(/exited: nodb_scraper \(exit status 1; not expected\)/g)?.length).toBe(4);
    expect(final).toMatch(/gave up: nodb_scraper entered FATAL state, too many start retries too quickly/);
    expect(fs.readFileSync(path.join(dir, 'logs', 'nodb_scraper.log'), 'utf8')).toMatch(/DBCONF_SECTION/);

    // shutdown: supervisord itself exits
    const shutdown = ctl('shutdown');
    expect(shutdown.stdout).toMatch(/Shut down/i);
    const code = await Promise.race([supervisordExit, sleep(15_000).then(() => 'timeout' as const)]);
    expect(code).toBe(0);
  });
});
