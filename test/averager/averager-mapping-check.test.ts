import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { loadRegime } from '../../engine/config/load-regime';
import { MemoryLogger } from '../../engine/core/logger';
import { runAverager } from '../../engine/averager/averager';
import { listTables } from '../../engine/source/source-stream';
import { projectRoot } from '../../engine/config/dbconf';
import { DIALECTS, createTestDatabase, TestDatabase } from '../support/databases';
import { runCli } from '../support/cli';
import { createLidTable, insertLidRows, lidRows } from './lid-fixture';

const ROOT = projectRoot();
const ADLID = path.join(ROOT, 'regimes.d', 'adlid.yaml');

/** Tables of a target other than the lock's bookkeeping table (MariaDB). */
async function dbiTables(target: TestDatabase): Promise<string[]> {
  return (await listTables(target.db)).filter((t) => t !== 'SCRAPE_LOCKS');
}

/**
 * Mapping typos in the shipped averager regime: each replaces one line of adlid.yaml's map.
 * `line` is the shipped text, `typo` its replacement, `attribute` the mapped attribute that must be
 * named, `missing` the name that does not exist.
 */
const TYPOS = [
  { what: "an aggregate key typo ('agg.Temp_GdLS_avgg')", line: '      Temp_GdLS_avg: agg.Temp_GdLS_avg\n', typo: '      Temp_GdLS_avg: agg.Temp_GdLS_avgg\n', attribute: 'Temp_GdLS_avg', missing: 'Temp_GdLS_avgg' },
  { what: "an aggregate of a column the source lacks ('agg.Temp_XX_max')", line: '      Temp_LS_max: agg.Temp_LS_max\n', typo: '      Temp_LS_max: agg.Temp_XX_max\n', attribute: 'Temp_LS_max', missing: 'Temp_XX_max' },
  { what: "a source column the source lacks ('last.PS_Output_W')", line: '      PS_Output_V_max: agg.PS_Output_V_max\n', typo: '      PS_Output_V_max: last.PS_Output_W\n', attribute: 'PS_Output_V_max', missing: 'PS_Output_W' },
];

/**
 * `scrape average` checks the regime's mappings against the stream's columns and aggregate keys
 * before it touches the target, as `scrape run` does: a typo is refused at start (exit 1, a
 * REGIME_* error naming the attribute and the missing name), not written as NULLs.
 */
describe.each(DIALECTS)('averager mapping check on %s', (dialect) => {
  let source: TestDatabase;
  let dir: string;
  const owned: TestDatabase[] = [];

  async function fresh(label: string): Promise<TestDatabase> {
    const db = await createTestDatabase(dialect, label);
    owned.push(db);
    return db;
  }

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'scrape-avg-map-'));
    source = await fresh('fake_avg_map_src');
    await createLidTable(source.db, 'AD1_LidSensor');
    // three complete hours and a bit: a run without the check would write validities
    await insertLidRows(source.db, 'AD1_LidSensor', lidRows('2012-02-01 00:00:03', 3 * 3600 + 600, 3));
  });
  afterAll(async () => {
    for (const d of owned) await d.drop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('the shipped adlid.yaml passes the check (the baseline the typos break)', async () => {
    const target = await fresh('avg_map_ok');
    const r = await runCli(['average', ADLID, '--source', source.url, '--target', target.url, '--until-caught-up', '--allow-drop-create-table']);
    expect({ code: r.code, err: r.code === 0 ? '' : r.stderr }).toEqual({ code: 0, err: '' });
    // three complete hours, each with good entries (computed from the fixture's shape: ~2 % bad rows)
    expect(Number((await target.db('DcsAdLidSensorVld').count({ n: '*' }))[0].n)).toBe(3);
  });

  it.each(TYPOS)('scrape average refuses $what at start, like scrape run: exit 1, REGIME_* naming it, no target table', async ({ line, typo, attribute, missing }) => {
    const text = fs.readFileSync(ADLID, 'utf8');
    expect(text).toContain(line);
    const file = path.join(dir, `adlid-${missing}.yaml`);
    fs.writeFileSync(file, text.replace(line, typo));

    // The scraper's refusal of the same file: the reference for code and wording.
    const runTarget = await fresh('avg_map_run_t');
    const run = await runCli(['run', file, '--source', source.url, '--target', runTarget.url, '--until-caught-up', '--allow-drop-create-table']);
    expect(run.code).toBe(1);
    const runError = /error (REGIME_[A-Z_]+): (.*)/.exec(run.stderr);
    expect(runError).not.toBeNull();
    expect(runError![2]).toContain(`'${missing}'`);
    expect(await dbiTables(runTarget)).toEqual([]);

    const target = await fresh('avg_map_t');
    const avg = await runCli(['average', file, '--source', source.url, '--target', target.url, '--until-caught-up', '--allow-drop-create-table']);
    const written = (await dbiTables(target)).includes('DcsAdLidSensorVld') ? Number((await target.db('DcsAdLidSensorVld').count({ n: '*' }))[0].n) : 0;
    expect({ code: avg.code, tables: await dbiTables(target), validitiesWritten: written }).toEqual({ code: 1, tables: [], validitiesWritten: 0 });
    const avgError = /error (REGIME_[A-Z_]+): (.*)/.exec(avg.stderr);
    expect(avgError).not.toBeNull();
    // same code as the scraper's refusal; the attribute (targets[0].map.<attribute>) and the missing name named
    expect(avgError![1]).toBe(runError![1]);
    expect(avgError![2]).toContain(`targets[0].map.${attribute}`);
    expect(avgError![2]).toContain(`'${missing}'`);
    expect(avgError![2]).toContain('AD1_LidSensor');
    expect(avg.stderr).not.toMatch(/internal error/);
  });

  it('runAverager (library) rejects the typo with a REGIME_* ScrapeError before creating any table', async () => {
    const file = path.join(dir, 'adlid-lib.yaml');
    const { line, typo, missing } = TYPOS[0];
    fs.writeFileSync(file, fs.readFileSync(ADLID, 'utf8').replace(line, typo));
    const loaded = loadRegime(file);
    const target = await fresh('avg_map_lib_t');
    const outcome = await runAverager({
      regime: loaded.regime, specs: loaded.specs, source: source.db, target: target.db, targetLocation: target.location,
      logger: new MemoryLogger(), untilCaughtUp: true, allowCreate: true, backoff: { initialMs: 10, maxMs: 50 },
    }).then(
      () => ({ rejected: false, code: undefined, message: '' }),
      (err) => ({ rejected: true, code: (err as { code?: string }).code, message: String((err as Error).message) }),
    );
    expect({ rejected: outcome.rejected, code: outcome.code?.replace(/^REGIME_[A-Z_]+$/, 'REGIME_*') }).toEqual({ rejected: true, code: 'REGIME_*' });
    expect(outcome.message).toContain(`'${missing}'`);
    expect(await dbiTables(target)).toEqual([]);
  });
});
