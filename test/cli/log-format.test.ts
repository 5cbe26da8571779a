import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { PassThrough } from 'stream';
import { CliIo, streamLogger } from '../../engine/cli/io';
import { DIALECTS, createTestDatabase, TestDatabase } from '../support/databases';
import { createSourceTable, insertRows, localPlus } from '../support/source-fixture';
import { runCli } from '../support/cli';
import { main } from '../../engine/cli/main';

const PT = [1, 2, 3, 4, 5].map((i) => `DBNS_SAB_Temp_PT${i}`);
/** ISO-8601 UTC with milliseconds and Z. */
const ISO_MS = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

/** Every stderr line parsed as JSON (a line that is not JSON fails the test). */
function jsonLines(stderr: string): Record<string, any>[] {
  return stderr
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => {
      try {
        return JSON.parse(l);
      } catch {
        throw new Error(`not a JSON line: ${l}`);
      }
    });
}

function captureIo(): { io: CliIo; text: () => string } {
  const chunks: string[] = [];
  const stderr = new PassThrough();
  stderr.on('data', (c) => chunks.push(String(c)));
  return { io: { stdout: new PassThrough(), stderr, env: {}, cwd: process.cwd() }, text: () => chunks.join('') };
}

describe('streamLogger', () => {
  const at = Date.UTC(2026, 10, 29, 15, 17, 17, 5);
  it('JSON: time as ISO-8601 UTC with milliseconds, level, message, then the fields', () => {
    const { io, text } = captureIo();
    const logger = streamLogger(io, 'info', 'json', () => at);
    logger.log('info', 'hello', { stream: 'T', rows: 3, nothing: undefined, time: 'not this', level: 'nor this' });
    logger.log('debug', 'dropped');
    const lines = jsonLines(text());
    expect(lines).toEqual([{ time: '2026-11-29T15:17:17.005Z', level: 'info', message: 'hello', stream: 'T', rows: 3 }]);
    expect(Object.keys(lines[0])).toEqual(['time', 'level', 'message', 'stream', 'rows']);
  });

  it('human: the UTC time with Z, the level, the message alone', () => {
    const { io, text } = captureIo();
    const logger = streamLogger(io, 'debug', 'human', () => at);
    logger.log('warn', 'careful', { stream: 'T' });
    logger.log('debug', 'detail');
    expect(text()).toBe('2026-11-29T15:17:17.005Z WARN  careful\n2026-11-29T15:17:17.005Z DEBUG detail\n');
  });
});

describe('--log-format and --log-level on every command', () => {
  it.each(['validate', 'run', 'average', 'fake', 'load', 'query', 'status', 'inspect', 'supervisor'])('scrape %s --help lists both', async (command) => {
    const r = await runCli([command, '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/--log-level <level>/);
    expect(r.stdout).toMatch(/--log-format <format>/);
  });
});

describe('fatal errors follow --log-format', () => {
  let tmp: string;
  beforeAll(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'scrape-logfmt-'));
  });
  afterAll(() => {
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it.each([
    ['run', ['run', 'nosuchregime', '--until-caught-up'], 'REGIME_NOT_FOUND'],
    ['fake', ['fake', 'nosuchregime', '--count', '3'], 'REGIME_NOT_FOUND'],
    ['validate', ['validate', 'nosuchregime'], 'REGIME_NOT_FOUND'],
    ['inspect', ['inspect', 'nosuchregime'], 'REGIME_NOT_FOUND'],
    ['query', ['query', 'DcsAdTemp', '--at', '2011-01-31 20:00:00', '--site', '32', '--subsite', '1', '--target', 'sqlite:/nonexistent/dir/offline.sqlite'], 'TARGET_MISSING'],
  ])('%s: a ScrapeError is one JSON line (exit 1); the same as text without the flag', async (_name, args, code) => {
    const json = await runCli([...args, '--log-format', 'json']);
    expect(json.code).toBe(1);
    const lines = jsonLines(json.stderr);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 'error', code, exit_code: 1 });
    expect(lines[0].time).toMatch(ISO_MS);
    const text = await runCli(args);
    expect(text.code).toBe(1);
    // the text form adds the JSON line's hint, when there is one, on its own line
    expect(text.stderr).toBe(`error ${code}: ${lines[0].message}\n${lines[0].hint ? `hint: ${lines[0].hint}\n` : ''}`);
  });

  it('load: the info line before the error and the error, all JSON', async () => {
    const r = await runCli(['load', path.join(tmp, 'missing.sql'), '--source', `sqlite:${path.join(tmp, 'fake.sqlite')}?fake=true`, '--log-format=json']);
    expect(r.code).toBe(1);
    const lines = jsonLines(r.stderr);
    expect(lines.map((l) => [l.level, l.code])).toEqual([['info', undefined], ['error', 'DUMP_NOT_FOUND']]);
  });

  it('a command line commander refuses: one JSON line, code USAGE, no usage hint', async () => {
    const r = await runCli(['run', 'adtemp', '--no-such-flag', '--log-format', 'json']);
    expect(r.code).toBe(1);
    expect(jsonLines(r.stderr)).toEqual([{ time: expect.stringMatching(ISO_MS), level: 'error', message: "unknown option '--no-such-flag'", code: 'USAGE', exit_code: 1 }]);
    const text = await runCli(['run', 'adtemp', '--no-such-flag']);
    expect(text.stderr).toMatch(/^error: unknown option '--no-such-flag'\n/);
  });

  it('an unexpected error: one JSON line with its stack (exit 2)', async () => {
    // a standard output that breaks under the command (not an error the engine foresees)
    const chunks: string[] = [];
    const stderr = new PassThrough();
    stderr.on('data', (c) => chunks.push(String(c)));
    const stdout = new PassThrough();
    stdout.write = () => {
      throw new Error('stdout broke');
    };
    const code = await main(['node', 'scrape', 'validate', 'adtemp', '--log-format', 'json'], { stdout, stderr, env: {}, cwd: process.cwd() });
    expect(code).toBe(2);
    const lines = jsonLines(chunks.join(''));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 'error', exit_code: 2, message: 'internal error: stdout broke' });
    expect(lines[0].stack).toMatch(/\n\s+at /);
  });
});

describe.each(DIALECTS)('log lines of scrape run and scrape fake on %s', (dialect) => {
  let source: TestDatabase;
  const databases: TestDatabase[] = [];
  const ROWS = 30;

  beforeAll(async () => {
    source = await createTestDatabase(dialect, 'fake_logfmt_src');
    databases.push(source);
    await createSourceTable(source.db, 'DBNS_SAB_Temp', Object.fromEntries(PT.map((c) => [c, 'decimal(6,2)'])));
    const rows = [];
    for (let id = 1; id <= ROWS; id++) rows.push({ id, date_time: localPlus('2011-02-01 00:00:00', id * 10), ...Object.fromEntries(PT.map((c) => [c, '18.50'])) });
    await insertRows(source.db, 'DBNS_SAB_Temp', rows);
  });
  afterAll(async () => {
    for (const d of databases) await d.drop();
  });

  async function target(label: string): Promise<TestDatabase> {
    const t = await createTestDatabase(dialect, label);
    databases.push(t);
    return t;
  }

  it('--log-format json: every line JSON, data as fields (stream, times, zone, counts, reasons)', async () => {
    const t = await target('logfmt_json_t');
    const started = Date.now();
    const r = await runCli(['run', 'adtemp', '--source', source.url, '--target', t.url, '--until-caught-up', '--allow-drop-create-table', '--set', 'maxage=1m', '--log-format', 'json']);
    expect(r.code).toBe(0);
    const lines = jsonLines(r.stderr);
    for (const l of lines) {
      expect(Object.keys(l).slice(0, 3)).toEqual(['time', 'level', 'message']);
      expect(l.time).toMatch(ISO_MS);
      expect(Date.parse(l.time)).toBeGreaterThanOrEqual(started - 1000);
      expect(Date.parse(l.time)).toBeLessThanOrEqual(Date.now() + 1000);
    }
    expect(lines.map((l) => l.level)).toEqual(lines.map(() => 'info'));
    const byMessage = (re: RegExp) => lines.filter((l) => re.test(l.message));
    expect(byMessage(/^regime adtemp:/)[0]).toMatchObject({ regime: 'adtemp', role: 'scrape', zone: 'Asia/Shanghai' });
    // no target yet: from timefloor 2010-01-01 00:00:00 local, 8 h earlier in UTC
    expect(byMessage(/^timecursor/)[0]).toMatchObject({ stream: 'DBNS_SAB_Temp', sitemask: 32, subsite: 1, resume_local: '2010-01-01 00:00:00', zone: 'Asia/Shanghai', resume_utc: '2009-12-31 16:00:00' });
    // rows every 10 s from 00:00:10, values constant, maxage 1m: overage at ids 8, 15, 22, 29;
    // the last row, id 30, is at 00:05:00
    expect(byMessage(/^caught up:/)).toEqual([
      expect.objectContaining({ event: 'caught-up', rows: ROWS, writes: 4, reasons: { overage: 4 }, stream: 'DBNS_SAB_Temp', at: '2011-02-01 00:05:00', zone: 'Asia/Shanghai' }),
    ]);
    expect(byMessage(/^done /)).toEqual([expect.objectContaining({ stream: 'DBNS_SAB_Temp', rows: ROWS, samples: ROWS, propagations: 4 })]);
    // a catch-up: no SV line at info
    expect(byMessage(/^SV /)).toEqual([]);
  });

  it('--log-level debug --log-format json: an SV line per sample with its fields', async () => {
    const t = await target('logfmt_debug_t');
    const r = await runCli(['run', 'adtemp', '--source', source.url, '--target', t.url, '--until-caught-up', '--allow-drop-create-table', '--set', 'maxage=1m', '--log-format', 'json', '--log-level', 'debug']);
    expect(r.code).toBe(0);
    const sv = jsonLines(r.stderr).filter((l) => l.message.startsWith('SV '));
    expect(sv).toHaveLength(ROWS);
    expect(sv.every((l) => l.level === 'debug' && l.stream === 'DBNS_SAB_Temp' && l.zone === 'Asia/Shanghai')).toBe(true);
    const time = (id: number) => localPlus('2011-02-01 00:00:00', id * 10);
    expect(sv.filter((l) => l.proceed).map((l) => [l.sample, l.first_id, l.last_id, l.first_time, l.last_time, l.reason])).toEqual(
      [[1, 8], [8, 15], [15, 22], [22, 29]].map(([a, b]) => [b, a, b, time(a), time(b), 'overage']),
    );
  });

  it('human lines: UTC time with Z, the level, source-local times with their zone', async () => {
    const t = await target('logfmt_human_t');
    const r = await runCli(['run', 'adtemp', '--source', source.url, '--target', t.url, '--until-caught-up', '--allow-drop-create-table', '--set', 'maxage=1m']);
    expect(r.code).toBe(0);
    const lines = r.stderr.split('\n').filter(Boolean);
    for (const l of lines) expect(l).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (DEBUG|INFO |WARN |ERROR) \S/);
    expect(r.stderr).toMatch(/ INFO  timecursor\(local\) DBNS_SAB_Temp \{sitemask: 32, subsite: 1\} 2010-01-01 00:00:00 Asia\/Shanghai \(2009-12-31 16:00:00 UTC\)\n/);
    expect(r.stderr).toMatch(/ INFO  caught up: 30 rows read, 4 writes \(overage 4\) in \S+; DBNS_SAB_Temp at 2011-02-01 00:05:00 Asia\/Shanghai\n/);
  });

  it('scrape fake --log-format json: JSON lines only, the rows written as fields', async () => {
    const fake = await target('fake_logfmt_fake');
    const r = await runCli(['fake', 'adtemp', '--source', `${fake.url}?fake=true`, '--count', '50', '--log-format', 'json']);
    expect(r.code).toBe(0);
    const lines = jsonLines(r.stderr);
    expect(lines.find((l) => /^faker: DBNS_SAB_Temp ids/.test(l.message))).toMatchObject({ table: 'DBNS_SAB_Temp', first_id: 1, last_id: 50, rows: 50 });
    expect(r.stdout).toMatch(/^faked 50 rows \(DBNS_SAB_Temp 50\)/);
  });
});
