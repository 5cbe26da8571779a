import * as path from 'path';
import { loadRegime } from '../../engine/config/load-regime';
import { projectRoot } from '../../engine/config/dbconf';
import { DbiWriter, ValidityContext } from '../../engine/dbi/dbi-writer';
import { prepareTargetTables } from '../../engine/dbi/target-tables';
import { DIALECTS, TestDatabase, createTestDatabase } from '../support/databases';
import { runCli } from '../support/cli';
import { createSourceTable, insertRows } from '../support/source-fixture';

const ROOT = projectRoot();
const MIN = 60_000;
const HOUR = 60 * MIN;
const SAB: ValidityContext = { sitemask: 32, simmask: 1, subsite: 1, task: 0, aggregateno: -1 };

/** UTC ms as time text. */
function text(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19).replace('T', ' ');
}

/** The perfdata value (s) of `label` in a summary line. */
function perf(line: string, label: string): number {
  const m = new RegExp(`'${label}'=(\\d+)s;`).exec(line);
  if (!m) throw new Error(`no perfdata ${label} in: ${line}`);
  return Number(m[1]);
}

/**
 * `scrape status --warn-lag/--max-lag/--warn-staleness/--max-staleness` as a monitoring plugin:
 * exit 0/1/2 for OK/WARNING/CRITICAL, the summary line first. The fixture, relative to the wall
 * clock T (whole seconds, UTC): one validity [T − 3 h, T − 2 h) written, the newest source row at
 * T − 10 min (Asia/Shanghai local time: UTC + 8 h). So the lag is exactly 1 h 50 min, both ends
 * being database times, and the staleness 10 min plus however long the test has run.
 */
describe.each(DIALECTS)('scrape status as a monitoring check on %s', (dialect) => {
  const loaded = loadRegime(path.join(ROOT, 'regimes.d', 'adtemp.yaml'));
  const spec = loaded.specs.get('GDcsAdTemp')!;
  let source: TestDatabase;
  let target: TestDatabase;
  let bare: TestDatabase;
  let T: number;
  const status = (...args: string[]) => runCli(['status', 'adtemp', '--source', source.url, '--target', target.url, ...args]);
  /** Staleness bounds of a fresh read: 10 min, plus the seconds since T. */
  const stalenessNow = () => [600, 600 + Math.ceil((Date.now() - T) / 1000)];

  beforeAll(async () => {
    source = await createTestDatabase(dialect, 'fake_statuscheck_src');
    target = await createTestDatabase(dialect, 'statuscheck_t');
    bare = await createTestDatabase(dialect, 'statuscheck_bare');
    await bare.db.raw('SELECT 1'); // the SQLite file exists, with no tables
    T = Math.floor(Date.now() / 1000) * 1000;
    const cols = Object.fromEntries([1, 2, 3, 4, 5].map((i) => [`DBNS_SAB_Temp_PT${i}`, 'decimal(6,2)']));
    await createSourceTable(source.db, 'DBNS_SAB_Temp', cols);
    const values = Object.fromEntries(Object.keys(cols).map((c) => [c, '18.50']));
    await insertRows(source.db, 'DBNS_SAB_Temp', [
      { id: 1, date_time: text(T - 3 * HOUR + 8 * HOUR), ...values },
      { id: 2, date_time: text(T - 10 * MIN + 8 * HOUR), ...values },
    ]);
    await prepareTargetTables(target.db, [spec], { create: true, drop: false, location: target.location });
    await new DbiWriter(target.db, spec).write([{ timestart: text(T - 3 * HOUR), timeend: text(T - 2 * HOUR), context: SAB, rows: [{ Temp_PT1: 18.5, count: 1 }] }]);
  });
  afterAll(async () => {
    await source.drop();
    await target.drop();
    await bare.drop();
  });

  it('within bounds: exit 0, the summary line first (with perfdata), then the status with its staleness', async () => {
    const r = await status('--max-lag', '3h', '--max-staleness', '1h');
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
    const [first, ...rest] = r.stdout.split('\n');
    expect(first).toMatch(/^SCRAPE OK - 1 stream within bounds \(lag at most 1h 50m, staleness at most 10m \d+s\) \| 'adtemp\/DBNS_SAB_Temp lag'=6600s;;10800 'adtemp\/DBNS_SAB_Temp staleness'=\d+s;;3600$/);
    const [lo, hi] = stalenessNow();
    expect(perf(first, 'adtemp/DBNS_SAB_Temp staleness')).toBeGreaterThanOrEqual(lo);
    expect(perf(first, 'adtemp/DBNS_SAB_Temp staleness')).toBeLessThanOrEqual(hi);
    expect(rest[0]).toBe('adtemp  DBNS_SAB_Temp -> DcsAdTemp  sitemask 32 subsite 1 simmask 1 task 0');
    expect(rest).toContain('  lag            1h 50m');
    expect(rest.find((l) => l.startsWith('  staleness'))).toMatch(/^ {2}staleness {6}10m \d+s \(wall clock minus the newest source row\)$/);
  });

  it('over a --warn bound: exit 1 WARNING; over a --max bound: exit 2 CRITICAL, critical findings first; a bound is exceeded only when passed', async () => {
    const warn = await status('--warn-lag', '1h', '--max-lag', '3h');
    expect(warn.code).toBe(1);
    expect(warn.stdout.split('\n')[0]).toBe("SCRAPE WARNING - adtemp/DBNS_SAB_Temp lag 1h 50m > 1h | 'adtemp/DBNS_SAB_Temp lag'=6600s;3600;10800");
    // exactly at the bound is within it; a minute less is over it
    expect((await status('--max-lag', '110m')).code).toBe(0);
    const crit = await status('--max-lag', '109m');
    expect(crit.code).toBe(2);
    expect(crit.stdout.split('\n')[0]).toBe("SCRAPE CRITICAL - adtemp/DBNS_SAB_Temp lag 1h 50m > 109m | 'adtemp/DBNS_SAB_Temp lag'=6600s;;6540");
    // staleness: warning at 5 min, critical at 5 min, the worst wins and comes first
    expect((await status('--warn-staleness', '5m', '--max-staleness', '1h')).code).toBe(1);
    const both = await status('--warn-lag', '1h', '--max-staleness', '5m');
    expect(both.code).toBe(2);
    expect(both.stdout.split('\n')[0]).toMatch(/^SCRAPE CRITICAL - adtemp\/DBNS_SAB_Temp staleness 10m \d+s > 5m; adtemp\/DBNS_SAB_Temp lag 1h 50m > 1h \| /);
    // without bounds: no summary line, exit 0 as before
    const plain = await status();
    expect(plain.code).toBe(0);
    expect(plain.stdout.split('\n')[0]).toBe('adtemp  DBNS_SAB_Temp -> DcsAdTemp  sitemask 32 subsite 1 simmask 1 task 0');
  });

  it('--json with bounds: each stream carries its state and staleness, the exit code is the verdict', async () => {
    const r = await status('--json', '--warn-staleness', '5m');
    expect(r.code).toBe(1);
    const [regime] = JSON.parse(r.stdout);
    const s = regime.streams[0];
    expect(s.state).toBe('WARNING');
    expect(s.lagSeconds).toBe(6600);
    const [lo, hi] = stalenessNow();
    expect(s.stalenessSeconds).toBeGreaterThanOrEqual(lo);
    expect(s.stalenessSeconds).toBeLessThanOrEqual(hi);
    expect(s.staleness).toMatch(/^10m \d+s$/);
  });

  it('nothing written while the source has rows, a regime that cannot be read, a database that cannot be reached: CRITICAL', async () => {
    const unwritten = await runCli(['status', 'adtemp', '--source', source.url, '--target', bare.url, '--max-lag', '1d']);
    expect(unwritten.code).toBe(2);
    expect(unwritten.stdout.split('\n')[0]).toMatch(/^SCRAPE CRITICAL - adtemp\/DBNS_SAB_Temp lag unknown \(target table DcsAdTempVld does not exist\)$/);
    // only a staleness bound: the missing validities are not judged
    expect((await runCli(['status', 'adtemp', '--source', source.url, '--target', bare.url, '--max-staleness', '1h'])).code).toBe(0);
    const unreadable = await runCli(['status', 'adtemp', 'pmthv', '--source', source.url, '--target', target.url, '--max-lag', '3h']);
    expect(unreadable.code).toBe(2);
    expect(unreadable.stdout.split('\n')[0]).toMatch(/^SCRAPE CRITICAL - pmthv error SOURCE_NO_TABLES \| 'adtemp\/DBNS_SAB_Temp lag'=6600s;;10800$/);
    const away = dialect === 'sqlite' ? `sqlite:${path.join(path.dirname(target.location.filename!), 'no-such-target.sqlite')}` : target.url.replace(/:\d+\//, ':1/');
    const down = await runCli(['status', 'adtemp', '--source', source.url, '--target', away, '--max-lag', '3h']);
    expect(down.code).toBe(2);
    expect(down.stdout.split('\n')[0]).toMatch(dialect === 'sqlite' ? /^SCRAPE CRITICAL - adtemp error DATABASE_MISSING$/ : /^SCRAPE CRITICAL - adtemp error DB_UNREACHABLE$/);
    expect(down.stdout).toMatch(dialect === 'sqlite' ? /no-such-target\.sqlite/ : /ECONNREFUSED/);
    // a bound that is no duration
    const bad = await status('--max-lag', '5x');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^error BAD_DURATION: --max-lag: bad duration '5x'/);
  });
});
