import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { findDbconfSection, resolveDatabase } from '../../engine/config/dbconf';
import { groupOptions, readOptionFile } from '../../engine/config/option-file';
import { isScrapeError } from '../../engine/core/errors';
import { runCli } from '../support/cli';

/**
 * The option-file reader against the real thing: every file of a corpus of tricky option files is
 * read by MariaDB's own `my_print_defaults` and by `readOptionFile`, and what each prints for
 * the same groups must be the same bytes; a file the tool refuses must be refused too.
 */

/** The first of the names found on PATH, else undefined. */
function onPath(...names: string[]): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    for (const name of names) {
      const p = path.join(dir, name);
      try {
        fs.accessSync(p, fs.constants.X_OK);
        return p;
      } catch {
        /* next */
      }
    }
  }
  return undefined;
}

const PRINT_DEFAULTS = onPath('my_print_defaults', 'mariadb-print-defaults');

/** A corpus case: files (path relative to the case folder → text, optional mode), the file to read, the groups to print. */
interface Case {
  name: string;
  files: Record<string, string | { text: string; mode: number }>;
  main?: string;
  groups: string[];
  /** Sections to look up through findDbconfSection (defaults to the groups other than client). */
  sections?: string[];
  /** The tool refuses the file: so must we (DBCONF_FILE). */
  refused?: boolean;
}

const CASES: Case[] = [
  {
    name: 'the tester\'s ~/.my.cnf: [client] credentials, inline comments',
    files: {
      'my.cnf': [
        '[client]',
        'user = alice',
        'password = "p#ss word"   # a comment after a quoted value',
        'host = 127.0.0.1   # loopback',
        '',
        '[dcs]',
        'database = dybdcsdb',
        'port=3307#no blank before the comment',
        '',
      ].join('\n'),
    },
    groups: ['client', 'dcs'],
  },
  {
    name: 'quoting and escapes',
    files: {
      'my.cnf': [
        '[dcs]',
        'a = "x y"',
        "b = 'x\"y'",
        'c = "unterminated',
        'd = ""',
        'e = "',
        'f = db\\sname\\ttab\\\\x\\q',
        'g = "a\\"#b" # comment',
        "h = 'it\\'s'",
        'i = abc ;not a comment',
        'j=k=l',
        'k="  inner blanks kept  "  ',
        'l = ends with backslash\\',
        "m = 'single' # c",
        'n = "mis\'matched\'',
        'o = #only a comment',
        'p = x#y',
        "q = a'#'b",
        'r = \\"quoted\\"',
        'bare',
        'key with space = v',
        'k2 =   ',
        's = héllo wörld',
        '',
      ].join('\n'),
    },
    groups: ['dcs'],
  },
  {
    name: 'spacing, tabs, CRLF, header forms and group case',
    files: {
      'my.cnf': [
        '   [client]   ',
        '\tuser\t=\talice\t',
        '  ; indented semicolon comment',
        '   # indented hash comment',
        '[dcs]  # a comment after the header',
        '  host   =   db.example.org   ',
        '[DCS]',
        'port = 3308',
        '[ dcs]',
        'user = not-dcs (the leading blank is part of the group name)',
        '[dcs ]',
        'socket = /tmp/my.sock',
        '[dcs] trailing words',
        'database = d1',
        '',
      ].join('\r\n'),
    },
    groups: ['client', 'dcs'],
  },
  {
    name: 'later definitions win, [client] before and after the section',
    files: {
      'my.cnf': [
        '[client]',
        'user = first',
        'password = client-pw',
        '[dcs]',
        'user = dcs-user',
        'host = h1',
        'host = h2',
        '[client]',
        'user = client-again',
        'host = client-host',
        '[dcs]',
        'database = d2',
        'password = dcs-pw',
        '',
      ].join('\n'),
    },
    groups: ['client', 'dcs'],
  },
  {
    name: '!include and !includedir',
    files: {
      'main.cnf': [
        '[client]',
        'user = main',
        '!include sub/one.cnf',
        'after_include_in_client = yes',
        '[dcs]',
        'host = h1',
        '!  include ABS/sub/two.cnf',
        '!includedir d',
        'host2 = after',
        '!include ABS/missing.cnf',
        '!INCLUDE sub/one.cnf',
        '!bogus directive',
        '!',
        '!include ABS/sub/one.cnf # a comment is part of the file name',
        '!include\tABS/sub/tabbed.cnf   ',
        '',
      ].join('\n'),
      'sub/one.cnf': '[dcs]\nuser = one\nfrom_one = 1\n',
      'sub/two.cnf': '[other]\nz = 9\n[client]\npassword = from-two\n',
      'sub/tabbed.cnf': '[dcs]\ntabbed = 1\n',
      'd/b.cnf': '[dcs]\nb = 2\n',
      'd/a.cnf': '[dcs]\na = 1\nhost = from-a\n',
      'd/10.cnf': '[dcs]\nm = 10\n',
      'd/9.cnf': '[dcs]\nm = 9\n',
      'd/.hidden.cnf': '[dcs]\nhidden = 1\n',
      'd/c.ini': '[dcs]\nini = 1\n',
      'd/upper.CNF': '[dcs]\nupper = 1\n',
      'd/noext': '[dcs]\nnoext = 1\n',
      'd/dir.cnf/x.cnf': '[dcs]\nnested = 1\n',
      'd/ww.cnf': { text: '[dcs]\nworld_writable = 1\n', mode: 0o666 },
    },
    main: 'main.cnf',
    groups: ['client', 'dcs'],
  },
  {
    name: 'includes nest at most 10 deep',
    files: { 'self.cnf': '[dcs]\nx = 1\n!include ABS/self.cnf\n' },
    groups: ['dcs'],
  },
  {
    name: 'a world-writable file is ignored',
    files: { 'my.cnf': { text: '[dcs]\nuser = u\n', mode: 0o666 } },
    groups: ['dcs'],
    sections: [],
  },
  { name: 'an option before any group', files: { 'my.cnf': 'user = u\n[dcs]\nhost = h\n' }, groups: ['dcs'], refused: true },
  { name: 'a header without ]', files: { 'my.cnf': '[dcs\nhost = h\n' }, groups: ['dcs'], refused: true },
  { name: '!include without a file', files: { 'my.cnf': '[dcs]\nhost = h\n!include   \n' }, groups: ['dcs'], refused: true },
  { name: '!includedir of a missing folder', files: { 'my.cnf': '[dcs]\n!includedir ABS/nowhere\n' }, groups: ['dcs'], refused: true },
  {
    name: 'an included file the client refuses ends there, the including file goes on',
    files: {
      'my.cnf': '[dcs]\na = 1\n!include ABS/inc.cnf\n!includedir ABS/d\nd = 4\n',
      'inc.cnf': '[dcs]\nb0 = 0\n[broken\nb = 2\n',
      'd/a.cnf': 'early = 1\n[dcs]\nc = 3\n',
      'd/b.cnf': '[dcs]\ne = 5\n!include\nf = 6\n',
      'd/c.cnf': '[dcs]\ng = 7\n!includedir ABS/nowhere\n',
    },
    main: 'my.cnf',
    groups: ['dcs'],
  },
];

/** Writes a case into a fresh folder (ABS in texts → the folder); returns the folder and the main file. */
function writeCase(c: Case): { dir: string; main: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'scrape-optfile-'));
  for (const [rel, spec] of Object.entries(c.files)) {
    const { text, mode } = typeof spec === 'string' ? { text: spec, mode: 0o600 } : spec;
    const file = path.join(dir, rel);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, text.replace(/ABS\//g, `${dir}/`));
    fs.chmodSync(file, mode); // not subject to the umask
  }
  return { dir, main: path.join(dir, c.main ?? Object.keys(c.files)[0]) };
}

/** What the tool prints for `groups` of `file`, run from `cwd` (where relative includes start). */
function toolPrints(file: string, groups: string[], cwd: string): { ok: boolean; stdout: string; stderr: string } {
  const r = spawnSync(PRINT_DEFAULTS!, [`--defaults-file=${file}`, ...groups], { cwd, encoding: 'utf8' });
  return { ok: r.status === 0, stdout: r.stdout, stderr: r.stderr };
}

/** The tool's options as [key, value] pairs (a value may hold a newline: options start a line with --). */
function toolOptions(stdout: string): Array<[string, string | undefined]> {
  return stdout
    .split(/\n(?=--)/)
    .map((s) => s.replace(/\n$/, ''))
    .filter((s) => s !== '')
    .map((s) => {
      const body = s.slice(2);
      const eq = body.indexOf('=');
      return eq < 0 ? [body, undefined] : [body.slice(0, eq), body.slice(eq + 1)];
    });
}

const errorCode = (f: () => unknown): string | undefined => {
  try {
    f();
  } catch (err) {
    return isScrapeError(err) ? err.code : String(err);
  }
  return undefined;
};

describe('option files read as MariaDB reads them (compared with my_print_defaults)', () => {
  it('my_print_defaults is installed (it comes with the MariaDB client)', () => {
    if (!PRINT_DEFAULTS) throw new Error('neither my_print_defaults nor mariadb-print-defaults is on PATH: install the MariaDB client (mariadb-client) to run these tests');
    expect(execFileSync(PRINT_DEFAULTS, ['--version'], { encoding: 'utf8' })).toMatch(/print_defaults/);
  });

  it.each(CASES.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    if (!PRINT_DEFAULTS) throw new Error('my_print_defaults not found (see the first test)');
    const { dir, main } = writeCase(c);
    try {
      const tool = toolPrints(main, c.groups, dir);
      if (c.refused) {
        expect(tool.ok).toBe(false);
        expect(errorCode(() => readOptionFile(main, dir))).toBe('DBCONF_FILE');
        return;
      }
      expect(tool).toMatchObject({ ok: true });
      const read = readOptionFile(main, dir);
      const ours = groupOptions(read, c.groups).map((o) => `--${o.key}${o.value === undefined ? '' : `=${o.value}`}\n`).join('');
      expect(ours).toBe(tool.stdout);
      // whatever the tool warned about (world-writable files, include depth) is said too
      if (/World-writable/.test(tool.stderr)) expect(read.warnings.join('\n')).toMatch(/world-writable/);
      if (/recursion level/.test(tool.stderr)) expect(read.warnings.join('\n')).toMatch(/nest more than 10 deep/);
      if (/^error:/m.test(tool.stderr)) expect(read.warnings.join('\n')).toMatch(/the rest of that included file skipped/);

      // a section: [client]'s options with the section's own on top, each group's last line winning
      for (const section of c.sections ?? c.groups.filter((g) => g !== 'client')) {
        const of = (group: string) => new Map(toolOptions(toolPrints(main, [group], dir).stdout).map(([k, v]) => [k.toLowerCase().replace(/-/g, '_'), v]));
        const expected = new Map([...of('client'), ...of(section)]);
        const found = findDbconfSection(section, { dbconf: main, env: {}, home: dir, projectRoot: dir, cwd: dir });
        expect(new Map([...found.options].map(([k, o]) => [k, o.value]))).toEqual(expected);
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('dbconf sections', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'scrape-dbconf-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));
  const write = (name: string, text: string) => {
    const file = path.join(dir, name);
    fs.writeFileSync(file, text, { mode: 0o600 });
    return file;
  };
  const isolated = (extra: object = {}) => ({ env: {}, home: dir, projectRoot: dir, cwd: dir, ...extra });

  it('take [client] user and password as defaults, the section\'s own keys winning, comments and quotes as mysql reads them', () => {
    const dbconf = write('my.cnf', '[client]\nuser = alice\npassword = "p#ss word" # pw\nhost = 127.0.0.1   # loopback\n\n[dcs]\ndatabase = dybdcsdb\n\n[other]\nuser = bob\nport = 3307\n');
    expect(resolveDatabase('dcs', isolated({ dbconf }))).toMatchObject({ dialect: 'mysql', host: '127.0.0.1', port: 3306, user: 'alice', password: 'p#ss word', database: 'dybdcsdb', warnings: [] });
    expect(resolveDatabase('other', isolated({ dbconf }))).toMatchObject({ host: '127.0.0.1', port: 3307, user: 'bob', password: 'p#ss word' });
    // section names compare as mysql compares group names
    expect(resolveDatabase('DCS', isolated({ dbconf }))).toMatchObject({ user: 'alice', database: 'dybdcsdb' });
  });

  it('an empty section takes everything from [client]; a section found nowhere names the files searched', () => {
    const dbconf = write('my.cnf', '[client]\nuser = alice\nhost = db.example.org\n[dcs]\n');
    expect(resolveDatabase('dcs', isolated({ dbconf }))).toMatchObject({ host: 'db.example.org', user: 'alice' });
    expect(() => resolveDatabase('fake_dsc', isolated({ dbconf }))).toThrow(/no dbconf section \[fake_dsc\]; looked in .*my\.cnf, .*\.my\.cnf, .*dbconf\.ini/);
  });

  it('a --dbconf or $SCRAPE_DBCONF file that does not exist is DBCONF_FILE, not a silent fall-back', () => {
    write('dbconf.ini', '[fake_dcs]\nurl = sqlite:x.sqlite\n');
    expect(resolveDatabase('fake_dcs', isolated()).filename).toBe(path.join(dir, 'x.sqlite'));
    expect(errorCode(() => resolveDatabase('fake_dcs', isolated({ dbconf: 'nope.cnf' })))).toBe('DBCONF_FILE');
    expect(() => resolveDatabase('fake_dcs', isolated({ dbconf: 'nope.cnf' }))).toThrow(`--dbconf nope.cnf: no such file (${path.join(dir, 'nope.cnf')})`);
    expect(errorCode(() => resolveDatabase('fake_dcs', isolated({ env: { SCRAPE_DBCONF: '/nonexistent/dbconf.cnf' } })))).toBe('DBCONF_FILE');
  });

  it('every command given a --dbconf that does not exist exits 1 with DBCONF_FILE', async () => {
    for (const args of [
      ['run', 'adtemp', '--until-caught-up'],
      ['average', 'adlid', '--until-caught-up'],
      ['fake', 'adtemp', '--count', '1'],
      ['query', 'DcsAdTemp', '--at', '2011-02-01 00:00:00', '--site', '32', '--subsite', '1'],
      ['status', 'adtemp'],
      ['inspect', 'adtemp'],
    ]) {
      const r = await runCli([...args, '--dbconf', 'nope.cnf'], { cwd: dir });
      expect([args[0], r.code]).toEqual([args[0], 1]);
      expect(r.stderr + r.stdout).toContain(`DBCONF_FILE: --dbconf nope.cnf: no such file (${path.join(dir, 'nope.cnf')})`); // status reports per regime, on stdout
    }
  });

  it('reads a section from an included file, a sqlite path relative to the file that says it', () => {
    fs.mkdirSync(path.join(dir, 'conf.d'));
    write('conf.d/site.cnf', '[src]\nurl = sqlite:data/src.sqlite\nfake = true\n');
    const dbconf = write('my.cnf', `[client]\nuser = alice\n!includedir ${dir}/conf.d\n`);
    expect(resolveDatabase('src', isolated({ dbconf }))).toMatchObject({ dialect: 'sqlite', filename: path.join(dir, 'conf.d', 'data', 'src.sqlite'), fake: true });
  });

  it('warns about a password readable by others, a bare password, and a missing include; a bad port is an error', () => {
    const dbconf = write('my.cnf', `[dcs]\nuser = u\npassword\n!include ${dir}/gone.cnf\n`);
    const loc = resolveDatabase('dcs', isolated({ dbconf }));
    expect(loc.password).toBeUndefined();
    expect(loc.warnings.join('\n')).toMatch(/'password' without a value ignored/);
    expect(loc.warnings.join('\n')).toMatch(/gone\.cnf \(included\) does not exist: skipped, as mysql does/);
    const open = write('open.cnf', '[dcs]\npassword = x\n');
    fs.chmodSync(open, 0o644);
    expect(resolveDatabase('dcs', isolated({ dbconf: open })).warnings.join('\n')).toMatch(/holds a password and is readable by others \(mode 644\)/);
    const badPort = write('port.cnf', '[dcs]\nport = 33o6\n');
    expect(() => resolveDatabase('dcs', isolated({ dbconf: badPort }))).toThrow(/port\.cnf:2: port must be a number, found '33o6'/);
  });
});
