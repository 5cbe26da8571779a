import * as path from 'path';
import { Knex } from 'knex';
import { MemoryLogger } from '../../engine/core/logger';
import { ManualClock } from '../../engine/core/clock';
import { loadRegime, applySettingOverrides, LoadedRegime } from '../../engine/config/load-regime';
import { Regime } from '../../engine/config/regime';
import { runScraper } from '../../engine/scraper/scraper';
import { dumpTarget } from '../../engine/dbi/dbi-reader';
import { DIALECTS, createTestDatabase, TestDatabase } from '../support/databases';
import { createSourceTable, insertRows, localPlus, prng } from '../support/source-fixture';

const REGIMES = path.join(__dirname, '..', '..', 'regimes.d');
const PT = [1, 2, 3, 4, 5].map((i) => `DBNS_SAB_Temp_PT${i}`);
const ROWS = 20_000;

/** Random walk, rows about every 10 s, some duplicate date_times, some neighbours out of id order. */
function randomWalkRows(): Record<string, unknown>[] {
  const rand = prng(20110201);
  const values = PT.map(() => 20);
  const times: string[] = [];
  let t = 0;
  for (let i = 0; i < ROWS; i++) {
    if (rand() > 0.05) t += 8 + Math.floor(rand() * 5);
    times.push(localPlus('2011-02-01 00:00:00', t));
  }
  const rows = times.map((date_time, i) => {
    for (let k = 0; k < values.length; k++) values[k] = Math.round((values[k] + (rand() - 0.5) * 0.5) * 100) / 100;
    return { id: i + 1, date_time, ...Object.fromEntries(PT.map((c, k) => [c, values[k].toFixed(2)])) };
  });
  // Swap the date_times of a few neighbours: ids no longer follow time order.
  for (let i = 10; i < rows.length - 1; i += 997) [rows[i].date_time, rows[i + 1].date_time] = [rows[i + 1].date_time, rows[i].date_time];
  return rows;
}

async function scrape(loaded: LoadedRegime, regime: Regime, source: Knex, target: TestDatabase): Promise<void> {
  await runScraper({
    regime,
    specs: loaded.specs,
    source,
    target: target.db,
    targetLocation: target.location,
    logger: new MemoryLogger(),
    clock: new ManualClock(),
    untilCaughtUp: true,
    allowCreate: true,
  });
}

async function targetRows(loaded: LoadedRegime, target: TestDatabase) {
  const { vld, payload } = await dumpTarget(target.db, loaded.specs.get('GDcsAdTemp')!);
  return { vld: vld.map(({ INSERTDATE, ...rest }) => rest), payload };
}

describe.each(DIALECTS)('reproducible scraping on %s', (dialect) => {
  let source: TestDatabase;
  let loaded: LoadedRegime;
  let settings: Regime;
  const targets: TestDatabase[] = [];

  beforeAll(async () => {
    source = await createTestDatabase(dialect, 'fake_repro_src');
    await createSourceTable(source.db, 'DBNS_SAB_Temp', Object.fromEntries(PT.map((c) => [c, 'decimal(6,2)'])));
    await insertRows(source.db, 'DBNS_SAB_Temp', randomWalkRows());
    loaded = loadRegime(path.join(REGIMES, 'adtemp.yaml'));
    settings = applySettingOverrides(loaded.regime, ['offset=2', 'interval=30s', 'heartbeat=3s', 'maxage=10m', 'threshold=0.5']);
  });
  afterAll(async () => {
    for (const t of targets) await t.drop();
    await source.drop();
  });

  it('gives the same target from one run, 25 restarted pieces, and other page sizes; aggregates equal SQL GROUP BY', async () => {
    const whole = await createTestDatabase(dialect, 'repro_whole');
    targets.push(whole);
    await scrape(loaded, settings, source.db, whole);
    const reference = await targetRows(loaded, whole);
    expect(reference.vld.length).toBeGreaterThan(100);

    // (b) 25 pieces with random maxiter, restarting each time.
    const pieces = await createTestDatabase(dialect, 'repro_pieces');
    targets.push(pieces);
    const rand = prng(7);
    for (let i = 0; i < 24; i++) {
      await scrape(loaded, applySettingOverrides(settings, [`maxiter=${50 + Math.floor(rand() * 400)}`]), source.db, pieces);
    }
    await scrape(loaded, settings, source.db, pieces);
    expect(await targetRows(loaded, pieces)).toEqual(reference);

    // (c) other page sizes.
    for (const pageSize of [7, 1000]) {
      const paged = await createTestDatabase(dialect, `repro_page${pageSize}`);
      targets.push(paged);
      await scrape(loaded, applySettingOverrides(settings, [`page_size=${pageSize}`]), source.db, paged);
      expect(await targetRows(loaded, paged)).toEqual(reference);
    }

    // Consecutive validities are contiguous.
    for (let i = 1; i < reference.vld.length; i++) expect(reference.vld[i].TIMESTART).toBe(reference.vld[i - 1].TIMEEND);

    // Aggregates: an independent SQL GROUP BY over the same ranges (local = UTC + 8 h).
    const ranges = reference.vld.map((v) => ({
      seq: v.SEQNO,
      ts: localPlus(v.TIMESTART, 8 * 3600),
      te: localPlus(v.TIMEEND, 8 * 3600),
    }));
    await source.db.schema.createTable('expected_ranges', (t) => {
      t.integer('seq').primary();
      t.string('ts', 19);
      t.string('te', 19);
    });
    await insertRows(source.db, 'expected_ranges', ranges);
    const sqlite = dialect === 'sqlite';
    const selects = PT.map((c, k) => {
      const x = sqlite ? `CAST(s.${c} AS REAL)` : `s.${c}`;
      const std = sqlite ? `sqrt(max(0, avg(${x} * ${x}) - avg(${x}) * avg(${x})))` : `STD(${x})`;
      return `avg(${x}) AS a${k}, min(${x}) AS mn${k}, max(${x}) AS mx${k}, ${std} AS sd${k}`;
    });
    const raw = await source.db.raw(
      `SELECT r.seq AS seq, count(*) AS n, ${selects.join(', ')} FROM expected_ranges r JOIN DBNS_SAB_Temp s ON s.date_time >= r.ts AND s.date_time < r.te GROUP BY r.seq ORDER BY r.seq`,
    );
    const expected: any[] = sqlite ? raw : raw[0];
    const bySeq = new Map<number, any>(reference.payload.map((p: any) => [Number(p.SEQNO), p]));
    expect(expected.length).toBe(reference.vld.length);
    const close = (actual: unknown, wanted: unknown) => {
      const a = Number(actual);
      const w = Number(wanted);
      expect(Math.abs(a - w)).toBeLessThanOrEqual(1e-4 * Math.max(1, Math.abs(w)));
    };
    for (const e of expected) {
      const p = bySeq.get(Number(e.seq));
      expect(Number(p.count)).toBe(Number(e.n));
      PT.forEach((_, k) => {
        close(p[`Temp_PT${k + 1}_avg`], e[`a${k}`]);
        close(p[`Temp_PT${k + 1}_min`], e[`mn${k}`]);
        close(p[`Temp_PT${k + 1}_max`], e[`mx${k}`]);
        close(p[`Temp_PT${k + 1}_std`], e[`sd${k}`]);
      });
    }
  });
});
