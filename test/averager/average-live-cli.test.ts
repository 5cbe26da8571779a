import * as path from 'path';
import { Clock } from '../../engine/core/clock';
import { MemoryLogger } from '../../engine/core/logger';
import { loadRegime, LoadedRegime } from '../../engine/config/load-regime';
import { runAverager } from '../../engine/averager/averager';
import { dumpTarget } from '../../engine/dbi/dbi-reader';
import { projectRoot } from '../../engine/config/dbconf';
import { DIALECTS, createTestDatabase, TestDatabase } from '../support/databases';
import { localPlus } from '../support/source-fixture';
import { LidRow, createLidTable, insertLidRows, lidRows, timeOf } from './lid-fixture';
import { runCli } from '../support/cli';

const ROOT = projectRoot();
const REGIME_FILE = path.join(ROOT, 'regimes.d', 'adlid.yaml');
const SPEC = 'GDcsAdLidSensor';

/** Three hours of AD2 rows from 00:00:05 (last one before 03:00), then half an hour more with new ids. */
function firstBatch(): LidRow[] {
  return lidRows('2012-03-01 00:00:05', 3 * 3600 - 10, 11).slice(6);
}
function secondBatch(): LidRow[] {
  return lidRows('2012-03-01 03:00:05', 1800, 12)
    .slice(6)
    .map((r) => [r[0] + 100_000, ...r.slice(1)] as LidRow);
}

const scrape = (args: string[]) => runCli(args);

async function vldWithoutInsertDate(loaded: LoadedRegime, target: TestDatabase) {
  const { vld, payload } = await dumpTarget(target.db, loaded.specs.get(SPEC)!);
  return { vld: vld.map(({ INSERTDATE, ...rest }) => rest), payload };
}

describe('scrape average without a database', () => {
  it('--help with a regime prints the effective averager settings', async () => {
    const r = await scrape(['average', 'adlid', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Usage: scrape average');
    expect(r.stdout).toContain('Effective averager settings of regime adlid');
    expect(r.stdout).toMatch(/^\s+bin\s+"1h"\s+"1h"\s*$/m);
    expect(r.stdout).toMatch(/^\s+chunk\s+"1d"\s+"1d"\s*$/m);
    const changed = await scrape(['average', 'adlid', '--set', 'bin=30m', '--help']);
    expect(changed.stdout).toMatch(/^\s+bin\s+"30m"\s+"1h"\s+\*\s*$/m);
  });

  it('--drop-target-tables alone is refused with exit 1', async () => {
    const r = await scrape(['average', 'adlid', '--source', 'sqlite::memory:', '--target', 'sqlite::memory:', '--drop-target-tables', '--until-caught-up']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('--allow-drop-create-table');
  });
});

describe.each(DIALECTS)('scrape average on %s', (dialect) => {
  let loaded: LoadedRegime;
  let source: TestDatabase;
  const databases: TestDatabase[] = [];

  beforeAll(async () => {
    loaded = loadRegime(REGIME_FILE);
    source = await createTestDatabase(dialect, 'fake_avg_live');
    databases.push(source);
    await createLidTable(source.db, 'AD2_LidSensor');
    await insertLidRows(source.db, 'AD2_LidSensor', firstBatch());
  });
  afterAll(async () => {
    for (const d of databases) await d.drop();
  });

  it('live mode sleeps averager.sleep and wakes to write a bin completed meanwhile', async () => {
    const target = await createTestDatabase(dialect, 'avg_live');
    databases.push(target);
    const spec = loaded.specs.get(SPEC)!;
    const counts: number[] = [];
    const sleeps: number[] = [];
    const controller = new AbortController();
    const clock: Clock = {
      now: () => Date.UTC(2012, 2, 1, 4),
      sleep: async (ms) => {
        sleeps.push(ms);
        counts.push((await dumpTarget(target.db, spec)).vld.length);
        if (sleeps.length === 1) await insertLidRows(source.db, 'AD2_LidSensor', secondBatch());
        else controller.abort();
      },
    };
    const report = await runAverager({
      regime: loaded.regime,
      specs: loaded.specs,
      source: source.db,
      target: target.db,
      targetLocation: target.location,
      logger: new MemoryLogger(),
      clock,
      signal: controller.signal,
      allowCreate: true,
    });
    // Hours 00 and 01 are complete at first; the 02 hour completes with the appended rows.
    expect(counts).toEqual([2, 3]);
    expect(sleeps).toEqual([60_000, 60_000]);
    expect(report.streams).toEqual([expect.objectContaining({ table: 'AD2_LidSensor', validities: 3 })]);
    const { vld } = await dumpTarget(target.db, spec);
    expect(vld.map((v) => [v.SITEMASK, v.SUBSITE])).toEqual([[1, 2], [1, 2], [1, 2]]);
    // Bounds are the first/last good entries of each hour (SensorStatus 0), in UTC.
    const good = firstBatch().filter((r) => r[r.length - 1] === 0).map(timeOf).sort();
    expect(vld[0].TIMESTART).toBe(localPlus(good[0], -8 * 3600));
    expect(vld[2].TIMEEND).toBe(localPlus(good.filter((t) => t < '2012-03-01 03:00:00').pop()!, -8 * 3600));
    expect(vld[2].TIMESTART >= '2012-02-29 18:00:00').toBe(true);
  });

  it('CLI: writes with --allow-drop-create-table; a --drop-target-tables rerun gives the same rows', async () => {
    const source = await createTestDatabase(dialect, 'fake_avg_cli');
    const target = await createTestDatabase(dialect, 'avg_cli');
    databases.push(source, target);
    await createLidTable(source.db, 'AD2_LidSensor');
    await insertLidRows(source.db, 'AD2_LidSensor', [...firstBatch(), ...secondBatch()]);
    const first = await scrape(['average', REGIME_FILE, '--source', source.url, '--target', target.url, '--until-caught-up', '--allow-drop-create-table']);
    expect(first.stderr).not.toContain('error');
    expect(first.code).toBe(0);
    // a catch-up from the start: no chunk line at info, one line with what it did (the rows read
    // are those before the last complete hour's end, counted by SQL)
    const [{ n }] = await source.db('AD2_LidSensor').where('date_time', '<', '2012-03-01 03:00:00').count({ n: '*' });
    expect(first.stderr).toMatch(new RegExp(`^\\S+Z INFO  caught up: ${Number(n)} rows read, 3 writes \\(bin 3\\) in \\S+; AD2_LidSensor at 2012-03-01 03:00:00 Asia/Shanghai$`, 'm'));
    expect(first.stderr).not.toContain(' chunk 0: ');
    const written = await vldWithoutInsertDate(loaded, target);
    expect(written.vld.length).toBe(3);
    expect(written.payload.every((p) => Number(p.count) > 300)).toBe(true);

    // Without the drop flags a rerun resumes and writes nothing new.
    const again = await scrape(['average', REGIME_FILE, '--source', source.url, '--target', target.url, '--until-caught-up']);
    expect(again.code).toBe(0);
    expect((await vldWithoutInsertDate(loaded, target)).vld.length).toBe(3);

    const rerun = await scrape(['average', REGIME_FILE, '--source', source.url, '--target', target.url, '--until-caught-up', '--allow-drop-create-table', '--drop-target-tables']);
    expect(rerun.code).toBe(0);
    expect(await vldWithoutInsertDate(loaded, target)).toEqual(written);

    // The CLI reads DECIMALs as numbers; the library run here gets them as the driver's default.
    const library = await createTestDatabase(dialect, 'avg_cli_lib');
    databases.push(library);
    await runAverager({ regime: loaded.regime, specs: loaded.specs, source: source.db, target: library.db, targetLocation: library.location, logger: new MemoryLogger(), untilCaughtUp: true, allowCreate: true });
    expect(await vldWithoutInsertDate(loaded, library)).toEqual(written);
  });
});
