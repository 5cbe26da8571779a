import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { main } from '../../engine/cli/main';
import { CliIo } from '../../engine/cli/io';
import { formatLag } from '../../engine/cli/status';
import { ManualClock } from '../../engine/core/clock';
import { projectRoot } from '../../engine/config/dbconf';
import { loadRegime } from '../../engine/config/load-regime';
import { DbiWriter, ValidityContext } from '../../engine/dbi/dbi-writer';
import { streamStatuses } from '../../engine/report/stream-status';
import { prepareTargetTables } from '../../engine/dbi/target-tables';
import { DIALECTS, TestDatabase, createTestDatabase } from '../support/databases';
import { createSourceTable, insertRows, localPlus } from '../support/source-fixture';

const ROOT = projectRoot();
const HOUR = 3_600_000;

async function scrape(args: string[]) {
  let out = '';
  let err = '';
  const io: CliIo = {
    stdout: { write: (s: string) => ((out += s), true) } as unknown as CliIo['stdout'],
    stderr: { write: (s: string) => ((err += s), true) } as unknown as CliIo['stderr'],
    env: {},
    cwd: ROOT,
  };
  const code = await main(['node', 'scrape', ...args], io);
  return { code, stdout: out, stderr: err };
}

/** `Date` ms as UTC time text, seconds floored (as INSERTDATE is written). */
function utcText(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().slice(0, 19).replace('T', ' ');
}

const SAB: ValidityContext = { sitemask: 32, simmask: 1, subsite: 1, task: 0, aggregateno: -1 };
const OTHER: ValidityContext = { ...SAB, subsite: 2 };

describe('formatLag', () => {
  it('shows the two largest units', () => {
    expect(formatLag(0)).toBe('0s');
    expect(formatLag(45_000)).toBe('45s');
    expect(formatLag(4 * 60_000 + 10_000)).toBe('4m 10s');
    expect(formatLag(3 * HOUR + 12 * 60_000 + 10_000)).toBe('3h 12m');
    expect(formatLag(2 * 24 * HOUR + 5 * HOUR + 59 * 60_000)).toBe('2d 5h');
    expect(formatLag(-90_000)).toBe('-1m 30s');
  });
});

describe.each(DIALECTS)('scrape status on %s', (dialect) => {
  const loaded = loadRegime(path.join(ROOT, 'regimes.d', 'adtemp.yaml'));
  const spec = loaded.specs.get('GDcsAdTemp')!;
  let source: TestDatabase;
  let target: TestDatabase;
  let emptyTarget: TestDatabase;
  /** Real time the fixture calls "now": validities were written 2 h and 30 min before it. */
  let now: number;
  let regimes: string;

  beforeAll(async () => {
    source = await createTestDatabase(dialect, 'fake_status_src');
    target = await createTestDatabase(dialect, 'status_tgt');
    emptyTarget = await createTestDatabase(dialect, 'status_empty');
    await emptyTarget.db.raw('SELECT 1'); // the SQLite file exists, with no tables
    const cols = Object.fromEntries([1, 2, 3, 4, 5].map((i) => [`DBNS_SAB_Temp_PT${i}`, 'decimal(6,2)']));
    await createSourceTable(source.db, 'DBNS_SAB_Temp', cols);
    // latest source row at local 2011-02-01 03:15:30
    await insertRows(source.db, 'DBNS_SAB_Temp', [
      { id: 1, date_time: '2011-02-01 00:00:10', ...Object.fromEntries(Object.keys(cols).map((c) => [c, '18.50'])) },
      { id: 2, date_time: localPlus('2011-02-01 00:00:00', 3 * 3600 + 15 * 60 + 30), ...Object.fromEntries(Object.keys(cols).map((c) => [c, '18.60'])) },
    ]);
    await prepareTargetTables(target.db, [spec], { create: true, drop: false, location: target.location });
    now = Date.now();
    const clock = new ManualClock(now - 2 * HOUR);
    const writer = new DbiWriter(target.db, spec, { clock });
    const row = { Temp_PT1: 18.5, count: 1 };
    // UTC = local - 8 h (Asia/Shanghai)
    await writer.write([{ timestart: '2011-01-31 16:00:00', timeend: '2011-01-31 16:01:00', context: SAB, rows: [row] }]); // SEQNO 1, 2 h ago
    clock.advance(90 * 60_000);
    await writer.write([
      { timestart: '2011-01-31 16:01:00', timeend: '2011-01-31 16:02:10', context: SAB, rows: [row] }, // SEQNO 2, 30 min ago
      { timestart: '2011-01-31 16:02:10', timeend: '2011-01-31 16:03:20', context: SAB, rows: [row] }, // SEQNO 3, 30 min ago
    ]);
    // another context, later TIMEEND: must not be taken for the SAB stream
    await writer.write([{ timestart: '2011-01-31 17:00:00', timeend: '2011-01-31 18:00:00', context: OTHER, rows: [row] }]); // SEQNO 4
    regimes = fs.mkdtempSync(path.join(os.tmpdir(), 'scrape-status-'));
    fs.copyFileSync(path.join(ROOT, 'regimes.d', 'adtemp.yaml'), path.join(regimes, 'adtemp.yaml'));
  });
  afterAll(async () => {
    await source.drop();
    await target.drop();
    await emptyTarget.drop();
    fs.rmSync(regimes, { recursive: true, force: true });
  });

  it('library: last validity, source latest, lag and writes in the last hour at an injected time', async () => {
    const [s, ...more] = await streamStatuses({ regime: loaded.regime, specs: loaded.specs, source: source.db, target: target.db, clock: new ManualClock(now) });
    expect(more).toEqual([]);
    expect(s).toEqual({
      regime: 'adtemp',
      table: 'DBNS_SAB_Temp',
      target: 'DcsAdTemp',
      context: { sitemask: 32, subsite: 1, simmask: 1, task: 0, aggregateno: -1 },
      zone: 'Asia/Shanghai',
      last: {
        seqno: 3,
        timestart: { utc: '2011-01-31 16:02:10', local: '2011-02-01 00:02:10' },
        timeend: { utc: '2011-01-31 16:03:20', local: '2011-02-01 00:03:20' },
        insertDate: utcText(now - 30 * 60_000),
      },
      sourceLatest: '2011-02-01 03:15:30',
      // the wall clock minus 03:15:30 Asia/Shanghai, that is 2011-01-31 19:15:30 UTC
      stalenessMs: now - Date.UTC(2011, 0, 31, 19, 15, 30),
      // nothing dated past now + future_limit (1d), in Asia/Shanghai (UTC + 8 h)
      quarantined: { count: 0, horizon: utcText(now + 24 * HOUR + 8 * HOUR) },
      // 03:15:30 - 00:03:20 local
      lagMs: (3 * 3600 + 12 * 60 + 10) * 1000,
      writesLastHour: 2,
      lock: { held: false },
    });
    // the hour is [now - 1 h, now]: exactly one hour after the second write it still counts, a second later not
    const at = async (ms: number) => (await streamStatuses({ regime: loaded.regime, specs: loaded.specs, source: source.db, target: target.db, clock: new ManualClock(ms) }))[0].writesLastHour;
    const second = Math.floor((now - 30 * 60_000) / 1000) * 1000;
    expect(await at(second + HOUR)).toBe(2);
    expect(await at(second + HOUR + 1000)).toBe(0);
    expect(await at(now - 100 * 60_000)).toBe(3); // 20 min after the first write (the later ones count too: they are after the hour's start)
    // every validity of the context (three written by the fixture), counted only when asked (the status page)
    expect((await streamStatuses({ regime: loaded.regime, specs: loaded.specs, source: source.db, target: target.db, clock: new ManualClock(now), countAll: true }))[0].validities).toBe(3);
  });

  it('prints the figures per stream (all regimes of the folder by default)', async () => {
    const before = Date.now();
    const r = await scrape(['status', '--regimes', regimes, '--source', source.url, '--target', target.url]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    // the wall clock minus 2011-01-31 19:15:30 UTC, in days and hours (read just before and after the run)
    const staleness = (ms: number) => {
      const age = ms - Date.UTC(2011, 0, 31, 19, 15, 30);
      return `${Math.floor(age / (24 * HOUR))}d ${Math.floor((age % (24 * HOUR)) / HOUR)}h`;
    };
    const stale = [staleness(before), staleness(Date.now())];
    const line = r.stdout.split('\n')[4];
    expect(stale).toContain(/^ {2}staleness {6}(\d+d \d+h) \(wall clock minus the newest source row\)$/.exec(line)?.[1]);
    expect(r.stdout).toBe(
      [
        'adtemp  DBNS_SAB_Temp -> DcsAdTemp  sitemask 32 subsite 1 simmask 1 task 0',
        '  last validity  SEQNO 3  [2011-01-31 16:02:10, 2011-01-31 16:03:20) UTC',
        '                 [2011-02-01 00:02:10, 2011-02-01 00:03:20) Asia/Shanghai',
        '  source latest  2011-02-01 03:15:30 Asia/Shanghai',
        line,
        '  lag            3h 12m',
        `  writes         2 in the last hour (last INSERTDATE ${utcText(now - 30 * 60_000)} UTC)`,
        '  lock           free',
        '',
      ].join('\n'),
    );
  });

  it('--json carries the same figures, lag in seconds and as text', async () => {
    const r = await scrape(['status', 'adtemp', '--source', source.url, '--target', target.url, '--json']);
    expect(r.code).toBe(0);
    const [regime] = JSON.parse(r.stdout);
    expect(regime.regime).toBe('adtemp');
    expect(regime.streams).toHaveLength(1);
    const s = regime.streams[0];
    expect(s.last.timeend).toEqual({ utc: '2011-01-31 16:03:20', local: '2011-02-01 00:03:20' });
    expect(s.sourceLatest).toBe('2011-02-01 03:15:30');
    expect(s.lagSeconds).toBe(3 * 3600 + 12 * 60 + 10);
    expect(s.lag).toBe('3h 12m');
    // the wall clock minus 2011-01-31 19:15:30 UTC (the newest row, 03:15:30 Asia/Shanghai)
    expect(s.stalenessSeconds).toBeGreaterThanOrEqual((now - Date.UTC(2011, 0, 31, 19, 15, 30)) / 1000);
    expect(s.stalenessSeconds).toBeLessThanOrEqual((Date.now() - Date.UTC(2011, 0, 31, 19, 15, 30)) / 1000);
    expect(s.writesLastHour).toBe(2);
    // every validity of the context is counted only when asked (the status page): it walks the context
    expect(s.validities).toBeUndefined();
    expect(s.lock).toEqual({ held: false });
  });

  it('a target without tables: the stream is listed with the problem, nothing is created', async () => {
    const r = await scrape(['status', 'adtemp', '--source', source.url, '--target', emptyTarget.url]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('  problem        target table DcsAdTempVld does not exist');
    expect(r.stdout).toContain('  lag            n/a');
    expect(r.stdout).toContain('  source latest  2011-02-01 03:15:30 Asia/Shanghai');
    expect(await emptyTarget.db.schema.hasTable('DcsAdTempVld')).toBe(false);
    if (dialect === 'sqlite') {
      // a SQLite target file that does not exist is an error, and status does not create it
      const absent = path.join(regimes, 'absent.sqlite');
      const missing = await scrape(['status', 'adtemp', '--source', source.url, '--target', `sqlite:${absent}`]);
      expect(missing.code).toBe(1);
      expect(missing.stdout).toMatch(/^adtemp {2}error DATABASE_MISSING: .*absent\.sqlite/m);
      expect(fs.existsSync(absent)).toBe(false);
    }
  });

  it('a regime that cannot be read is reported and exits 1; the others are still shown', async () => {
    const r = await scrape(['status', 'adtemp', 'pmthv', '--source', source.url, '--target', target.url]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^pmthv {2}error SOURCE_NO_TABLES: /m);
    expect(r.stdout).toContain('  lag            3h 12m');
  });
});
