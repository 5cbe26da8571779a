import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { MemoryLogger } from '../../engine/core/logger';
import { ManualClock } from '../../engine/core/clock';
import { loadRegime, applySettingOverrides, LoadedRegime } from '../../engine/config/load-regime';
import { Regime } from '../../engine/config/regime';
import { ScrapeError } from '../../engine/core/errors';
import { runScraper, ScraperReport } from '../../engine/scraper/scraper';
import { dumpTarget } from '../../engine/dbi/dbi-reader';
import { listTables } from '../../engine/source/source-stream';
import { projectRoot } from '../../engine/config/dbconf';
import { DIALECTS, createTestDatabase, TestDatabase } from '../support/databases';
import { createSourceTable, insertRows, localPlus, prng } from '../support/source-fixture';
import { runCli } from '../support/cli';

const ROOT = projectRoot();
const REGIMES = path.join(ROOT, 'regimes.d');
const START = '2011-02-01 00:00:00';
const PT = [1, 2, 3, 4, 5].map((i) => `DBNS_SAB_Temp_PT${i}`);
const TEMP_COLUMNS = Object.fromEntries(PT.map((c) => [c, 'decimal(6,2)']));

/** UTC text of a source-local time (Asia/Shanghai is UTC+8, no DST). */
const utc = (local: string) => localPlus(local, -8 * 3600);
/** Local time of time slot `k` (START + 10 s × k). */
const slot = (k: number) => localPlus(START, 10 * k);

async function scrape(loaded: LoadedRegime, regime: Regime, source: TestDatabase, target: TestDatabase, logger = new MemoryLogger(), seed = false): Promise<ScraperReport> {
  return runScraper({
    regime,
    specs: loaded.specs,
    source: source.db,
    target: target.db,
    targetLocation: target.location,
    logger,
    clock: new ManualClock(Date.UTC(2026, 0, 1)),
    untilCaughtUp: true,
    allowCreate: true,
    seed,
  });
}

/** Vld rows without INSERTDATE (the only column that may differ) and the payload rows. */
async function targetRows(target: TestDatabase, loaded: LoadedRegime, spec: string) {
  const { vld, payload } = await dumpTarget(target.db, loaded.specs.get(spec)!);
  return { vld: vld.map(({ INSERTDATE, ...rest }) => rest), payload };
}

const cli = (args: string[]) => runCli(args);

function tempRow(id: number, date_time: string, values: (number | null)[]): Record<string, unknown> {
  return { id, date_time, ...Object.fromEntries(PT.map((c, k) => [c, values[k] === null ? null : (values[k] as number).toFixed(2)])) };
}

/* ---------- HV (pmthv) fixture: one stream DBNS_AD1, 192 channels ---------- */

const CHANNELS: string[] = [];
for (let l = 1; l <= 8; l++) for (let c = 1; c <= 3; c++) for (let r = 1; r <= 8; r++) CHANNELS.push(`L${l}C${c}R${r}`);
const JUMP_AT = 40; // L2C2R2 rises by 2 V from this row on

function vmonRow(id: number): Record<string, unknown> {
  return { id, date_time: slot(id), ...Object.fromEntries(CHANNELS.map((ch, i) => [ch, (1500 + i + (ch === 'L2C2R2' && id >= JUMP_AT ? 2 : 0)).toFixed(2)])) };
}
function pwRow(id: number): Record<string, unknown> {
  return { id, date_time: slot(id), ...Object.fromEntries(CHANNELS.map((ch) => [ch, 1])) };
}
async function createHv(db: TestDatabase, vmonIds: number[], pwIds: number[]): Promise<void> {
  await createSourceTable(db.db, 'DBNS_AD1_HV_Vmon', Object.fromEntries(CHANNELS.map((c) => [c, 'decimal(6,2)'])));
  await createSourceTable(db.db, 'DBNS_AD1_HV_Pw', Object.fromEntries(CHANNELS.map((c) => [c, 'tinyint'])));
  await insertRows(db.db, 'DBNS_AD1_HV_Vmon', vmonIds.map(vmonRow));
  await insertRows(db.db, 'DBNS_AD1_HV_Pw', pwIds.map(pwRow));
}
const range = (a: number, b: number) => Array.from({ length: b - a + 1 }, (_, i) => a + i);

describe.each(DIALECTS)('bad input on %s', (dialect) => {
  const owned: TestDatabase[] = [];
  let adtemp: LoadedRegime;
  let pmthv: LoadedRegime;
  /** adtemp with the manual's sampling: every 10 s row is a sample, overage after 1 minute. */
  let adtempSettings: Regime;
  let pmthvSettings: Regime;

  async function fresh(label: string): Promise<TestDatabase> {
    const db = await createTestDatabase(dialect, label);
    owned.push(db);
    return db;
  }

  beforeAll(() => {
    adtemp = loadRegime(path.join(REGIMES, 'adtemp.yaml'));
    pmthv = loadRegime(path.join(REGIMES, 'pmthv.yaml'));
    adtempSettings = applySettingOverrides(adtemp.regime, ['interval=10s', 'offset=0', 'maxage=1m']);
    pmthvSettings = applySettingOverrides(pmthv.regime, ['interval=10s', 'offset=0', 'maxage=1m']);
  });
  afterAll(async () => {
    for (const db of owned) await db.drop();
  });

  describe('a regime naming a missing column', () => {
    it('fails with REGIME_COLUMN naming the column before anything is written', async () => {
      // The source lacks PT5, which the shipped mapping and aggregates use.
      const source = await fresh('fake_missing_src');
      const { DBNS_SAB_Temp_PT5, ...four } = TEMP_COLUMNS;
      await createSourceTable(source.db, 'DBNS_SAB_Temp', four);
      await insertRows(source.db, 'DBNS_SAB_Temp', range(1, 20).map((id) => ({ id, date_time: slot(id), ...Object.fromEntries(Object.keys(four).map((c) => [c, '18.50'])) })));
      const target = await fresh('missing_tgt');
      const error = await scrape(adtemp, adtempSettings, source, target, new MemoryLogger(), true).catch((e) => e);
      expect(error).toBeInstanceOf(ScrapeError);
      expect(error.code).toBe('REGIME_COLUMN');
      expect(error.message).toContain("'DBNS_SAB_Temp_PT5'");
      expect(error.message).toContain('DBNS_SAB_Temp');
      expect(await listTables(target.db)).toEqual([]); // not even a table, not even the seed

      // A change rule naming a column the source does not have.
      const full = await fresh('fake_missing_full_src');
      await createSourceTable(full.db, 'DBNS_SAB_Temp', TEMP_COLUMNS);
      const badRule: Regime = { ...adtempSettings, changes: [{ columns: ['DBNS_SAB_Temp_PT1', 'DBNS_SAB_Temp_PT7'], threshold: 0.5, null_is_change: false }] };
      const ruleError = await scrape(adtemp, badRule, full, target).catch((e) => e);
      expect(ruleError).toBeInstanceOf(ScrapeError);
      expect(ruleError.code).toBe('REGIME_COLUMN');
      expect(ruleError.message).toMatch(/changes\[0\].*'DBNS_SAB_Temp_PT7'/);
      expect(await listTables(target.db)).toEqual([]);
    });

    it('via scrape run: exit 1 with the column named on stderr', async () => {
      const source = await fresh('fake_missing_cli_src');
      await createSourceTable(source.db, 'DBNS_SAB_Temp', TEMP_COLUMNS);
      await insertRows(source.db, 'DBNS_SAB_Temp', range(1, 20).map((id) => tempRow(id, slot(id), [18, 18, 18, 18, 18])));
      const target = await fresh('missing_cli_tgt');
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'scrape-bad-'));
      const file = path.join(dir, 'adtemp-typo.yaml');
      const text = fs.readFileSync(path.join(REGIMES, 'adtemp.yaml'), 'utf8');
      expect(text).toContain('Temp_PT3: last.DBNS_SAB_Temp_PT3');
      fs.writeFileSync(file, text.replace('Temp_PT3: last.DBNS_SAB_Temp_PT3', 'Temp_PT3: last.DBNS_SAB_Temp_PT9'));
      try {
        const r = await cli(['run', file, '--source', source.url, '--target', target.url, '--until-caught-up', '--allow-drop-create-table']);
        expect(r.code).toBe(1);
        expect(r.stderr).toMatch(/error REGIME_COLUMN: .*'DBNS_SAB_Temp_PT9'/);
        expect(r.stderr).not.toMatch(/internal error/);
        // No DBI table: only the lock's bookkeeping table (MariaDB) may exist.
        expect((await listTables(target.db)).filter((t) => t !== 'SCRAPE_LOCKS')).toEqual([]);
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });
  });

  it('skips zero dates and dates before timefloor with a warn line, and scrapes the rest as if they were absent', async () => {
    // 40 good rows (one per 10 s slot) and 4 bad ones between them (ids 5, 17, 23, 31).
    const bad = new Map<number, string>([
      [5, '0000-00-00 00:00:00'],
      [17, '0000-00-00 00:00:00'],
      [23, '2009-12-31 23:59:50'], // timefloor is 2010-01-01 00:00:00
      [31, '2005-06-01 12:00:00'],
    ]);
    const good: Record<string, unknown>[] = [];
    let k = 0;
    for (let id = 1; id <= 44; id++) {
      if (bad.has(id)) continue;
      k++;
      good.push(tempRow(id, slot(k), [18 + (k % 4) * 0.3, 19, 20, 21, 22 + (k >= 25 ? 1.5 : 0)]));
    }
    const dirty = await fresh('fake_zero_src');
    const clean = await fresh('fake_zero_clean_src');
    for (const db of [dirty, clean]) {
      await createSourceTable(db.db, 'DBNS_SAB_Temp', TEMP_COLUMNS);
      await insertRows(db.db, 'DBNS_SAB_Temp', good);
    }
    const badRows = [...bad].map(([id, t]) => tempRow(id, t, [99, 99, 99, 99, 99]));
    if (dialect === 'mariadb') {
      // A strict server refuses zero dates; old DCS servers took them. One connection, lax mode.
      await dirty.db.transaction(async (trx) => {
        await trx.raw("SET SESSION sql_mode=''");
        for (const row of badRows) await trx('DBNS_SAB_Temp').insert(row);
      });
    } else {
      await insertRows(dirty.db, 'DBNS_SAB_Temp', badRows);
    }
    const zeros = dialect === 'mariadb' ? await dirty.db('DBNS_SAB_Temp').count({ n: '*' }).where('date_time', '0000-00-00 00:00:00') : [{ n: 2 }];
    expect(Number(zeros[0].n)).toBe(2);

    const logger = new MemoryLogger();
    const dirtyTarget = await fresh('zero_tgt');
    const report = await scrape(adtemp, adtempSettings, dirty, dirtyTarget, logger, true);
    const cleanTarget = await fresh('zero_clean_tgt');
    await scrape(adtemp, adtempSettings, clean, cleanTarget, new MemoryLogger(), true);

    expect(logger.messages('warn')).toEqual([expect.stringMatching(/^DBNS_SAB_Temp: 4 entries before timefloor 2010-01-01 00:00:00 .*skipped/)]);
    expect(logger.messages('error')).toEqual([]);
    const svIds = logger.messages().filter((m) => m.startsWith('SV ')).flatMap((m) => /\((\d+), ?(\d*)\)/.exec(m)!.slice(1).filter(Boolean).map(Number));
    for (const id of bad.keys()) expect(svIds).not.toContain(id);
    // With the seed [00:00:00, 00:01:00) the range starts at slot 6; every good row from there is read.
    expect(report.streams[0].rowsRead).toBe(40 - 5);
    const got = await targetRows(dirtyTarget, adtemp, 'GDcsAdTemp');
    expect(got).toEqual(await targetRows(cleanTarget, adtemp, 'GDcsAdTemp'));
    expect(got.vld.length).toBeGreaterThan(3);
  });

  it('NULLs in a thresholded column change nothing by themselves, do not crash, and are left out of aggregates', async () => {
    // 30 rows every 10 s. PT1 wobbles by 0.1 with NULLs at ids 10, 11 and 15; PT2 jumps by 2 at
    // id 19; PT5 is NULL throughout.
    const pt1 = (id: number) => ([10, 11, 15].includes(id) ? null : 20 + (id % 3) * 0.1);
    const source = await fresh('fake_null_src');
    await createSourceTable(source.db, 'DBNS_SAB_Temp', TEMP_COLUMNS);
    await insertRows(source.db, 'DBNS_SAB_Temp', range(1, 30).map((id) => tempRow(id, slot(id), [pt1(id), id >= 19 ? 20 : 18, 17, 17, null])));
    const target = await fresh('null_tgt');
    const logger = new MemoryLogger();
    await scrape(adtemp, adtempSettings, source, target, logger);

    const sv = logger.messages().filter((m) => m.startsWith('SV ')).map((m) => /\((\d+), ?(\d*)\)\s+\S+ \S+ Asia\/Shanghai\s+\S+\s+(\w+)/.exec(m)!.slice(1));
    const decision = (a: number, b: number) => sv.find(([x, y]) => Number(x) === a && Number(y) === b)?.[2];
    // NULL as sv[-1] (ids 10, 11) and NULL as sv[0] (id 15) are no change.
    expect(decision(8, 10)).toBe('unchanged');
    expect(decision(8, 11)).toBe('unchanged');
    expect(decision(15, 16)).toBe('unchanged');
    // By hand: overage [1, 8), [8, 15); PT2's jump at 19 → changed [15, 19); overage [19, 26).
    expect(sv.filter(([, , d]) => d === 'overage' || d === 'changed')).toEqual([
      ['1', '8', 'overage'],
      ['8', '15', 'overage'],
      ['15', '19', 'changed'],
      ['19', '26', 'overage'],
    ]);
    const { vld, payload } = await targetRows(target, adtemp, 'GDcsAdTemp');
    expect(vld.map((v) => [v.TIMESTART, v.TIMEEND])).toEqual([[1, 8], [8, 15], [15, 19], [19, 26]].map(([a, b]) => [utc(slot(a)), utc(slot(b))]));
    const p = payload as Record<string, number | null>[];
    // [8, 15): rows 8..14; PT1 without 10 and 11 is 20.2, 20.0, 20.0, 20.1, 20.2.
    const x = [20.2, 20.0, 20.0, 20.1, 20.2];
    const mean = x.reduce((a, b) => a + b) / x.length;
    const std = Math.sqrt(x.reduce((a, b) => a + (b - mean) ** 2, 0) / x.length);
    expect(p[1].count).toBe(7);
    expect(p[1].Temp_PT1).toBeNull(); // last = row 15
    expect(p[1].Temp_PT1_avg).toBeCloseTo(20.1, 4);
    expect(p[1].Temp_PT1_min).toBeCloseTo(20.0, 4);
    expect(p[1].Temp_PT1_max).toBeCloseTo(20.2, 4);
    expect(p[1].Temp_PT1_std).toBeCloseTo(std, 4);
    expect(std).toBeCloseTo(0.0894427, 6);
    // [15, 19): PT1 of rows 16..18 = 20.1, 20.2, 20.0; PT2 still 18 in range, 20 at sv[-1].
    expect(p[2].Temp_PT1_avg).toBeCloseTo(20.1, 4);
    expect(p[2].Temp_PT1).toBeCloseTo(20.1, 4); // row 19
    expect(p[2].Temp_PT2).toBe(20);
    expect(p[2].Temp_PT2_max).toBe(18);
    // An all-NULL column: NULL value and NULL aggregates (SQL AVG/MIN/MAX/STD of no values).
    for (const row of p) {
      expect([row.Temp_PT5, row.Temp_PT5_avg, row.Temp_PT5_min, row.Temp_PT5_max, row.Temp_PT5_std]).toEqual([null, null, null, null, null]);
    }
  });

  it('duplicate date_times and ids out of time order give the same target as the same rows inserted in order', async () => {
    // Time slots 1..40, slots 8, 20 and 27 hold two rows each; values differ in every row.
    const slots: number[] = [];
    for (let s = 1; s <= 40; s++) {
      slots.push(s);
      if (s === 8 || s === 20 || s === 27) slots.push(s);
    }
    const values = (j: number) => PT.map((_, c) => 20 + ((j * 7 + c * 3) % 10) * 0.05);
    const n = slots.length;
    // In order: ids 1..n follow time. Scrambled: a random permutation of ids, except that the two
    // rows of a duplicate slot keep their relative id order (that order is part of the data).
    const rand = prng(4242);
    const perm = range(1, n);
    for (let i = n - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [perm[i], perm[j]] = [perm[j], perm[i]];
    }
    for (let j = 1; j < n; j++) {
      if (slots[j] === slots[j - 1] && perm[j] < perm[j - 1]) [perm[j], perm[j - 1]] = [perm[j - 1], perm[j]];
    }
    const ordered = slots.map((s, j) => tempRow(j + 1, slot(s), values(j)));
    const scrambled = slots.map((s, j) => tempRow(perm[j], slot(s), values(j)));
    const outOfOrder = scrambled.filter((r, j) => j > 0 && (r.id as number) < (scrambled[j - 1].id as number)).length;
    expect(outOfOrder).toBeGreaterThan(5);
    for (let i = scrambled.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [scrambled[i], scrambled[j]] = [scrambled[j], scrambled[i]];
    }
    const inOrder = await fresh('fake_dup_ordered_src');
    const shuffled = await fresh('fake_dup_scrambled_src');
    await createSourceTable(inOrder.db, 'DBNS_SAB_Temp', TEMP_COLUMNS);
    await createSourceTable(shuffled.db, 'DBNS_SAB_Temp', TEMP_COLUMNS);
    await insertRows(inOrder.db, 'DBNS_SAB_Temp', ordered);
    for (const row of scrambled) await shuffled.db('DBNS_SAB_Temp').insert(row); // physical order random too

    const t1 = await fresh('dup_ordered_tgt');
    const t2 = await fresh('dup_scrambled_tgt');
    await scrape(adtemp, adtempSettings, inOrder, t1);
    await scrape(adtemp, adtempSettings, shuffled, t2);
    const expected = await targetRows(t1, adtemp, 'GDcsAdTemp');
    expect(await targetRows(t2, adtemp, 'GDcsAdTemp')).toEqual(expected);

    // By hand: overage every 70 s: [s1, s8), [s8, s15), [s15, s22), [s22, s29), [s29, s36).
    expect(expected.vld.map((v) => [v.TIMESTART, v.TIMEEND])).toEqual([[1, 8], [8, 15], [15, 22], [22, 29], [29, 36]].map(([a, b]) => [utc(slot(a)), utc(slot(b))]));
    const p = expected.payload as Record<string, number>[];
    const firstAt8 = slots.indexOf(8); // sv[-1] is the first entry at slot 8
    expect(p[0].Temp_PT1).toBeCloseTo(values(firstAt8)[0], 4);
    expect(p[0].Temp_PT1).not.toBeCloseTo(values(firstAt8 + 1)[0], 4);
    // [s8, s15) holds both rows of slot 8 and slots 9..14: 8 entries.
    const inRange = slots.map((s, j) => [s, j]).filter(([s]) => s >= 8 && s < 15).map(([, j]) => values(j)[1]);
    expect(p[1].count).toBe(8);
    expect(p[1].Temp_PT2_avg).toBeCloseTo(inRange.reduce((a, b) => a + b) / inRange.length, 4);
    expect(p[2].count).toBe(8); // slot 20 is doubled too
  });

  describe('a power table that lags its voltage table (pmthv)', () => {
    it('stops at the first entry without its power row, writes no partial group, and completes later exactly as one run would', async () => {
      const source = await fresh('fake_lag_src');
      await createHv(source, range(1, 100), range(1, 60));
      const target = await fresh('lag_tgt');
      const logger = new MemoryLogger();
      const first = await scrape(pmthv, pmthvSettings, source, target, logger);
      expect(first.streams[0].rowsRead).toBe(60);
      expect(logger.messages()).toContainEqual(expect.stringMatching(/^DBNS_AD1_HV_Vmon: id 61 at 2011-02-01 00:10:10 Asia\/Shanghai has no row in DBNS_AD1_HV_Pw yet; waiting/));
      const partial = await targetRows(target, pmthv, 'GDcsPmtHv');
      // By hand: overage every 70 s from row 1: [1,8) … [29,36); the jump at 40 → changed [36,40);
      // overage [40,47), [47,54). [54,61) needs row 61, which waits for its power row.
      expect(partial.vld.map((v) => [v.TIMESTART, v.TIMEEND])).toEqual(
        [[1, 8], [8, 15], [15, 22], [22, 29], [29, 36], [36, 40], [40, 47], [47, 54]].map(([a, b]) => [utc(slot(a)), utc(slot(b))]),
      );
      for (const v of partial.vld) expect(v.TIMEEND <= utc(slot(60))).toBe(true);
      expect(partial.payload).toHaveLength(8 * 192);

      await insertRows(source.db, 'DBNS_AD1_HV_Pw', range(61, 100).map(pwRow));
      const second = await scrape(pmthv, pmthvSettings, source, target);
      expect(second.streams[0].rowsSkipped).toBe(0);
      const whole = await fresh('lag_whole_tgt');
      await scrape(pmthv, pmthvSettings, source, whole);
      const reference = await targetRows(whole, pmthv, 'GDcsPmtHv');
      expect(reference.vld).toHaveLength(14); // ... [54,61), [61,68), [68,75), [75,82), [82,89), [89,96)
      expect(await targetRows(target, pmthv, 'GDcsPmtHv')).toEqual(reference);
    });

    it('running live, waits for the power row and warns once the wait passes join_wait', async () => {
      const source = await fresh('fake_lag_live_src');
      await createHv(source, range(1, 30), range(1, 20));
      const target = await fresh('lag_live_tgt');
      const controller = new AbortController();
      const logger = new MemoryLogger();
      const clock = new ManualClock(Date.UTC(2026, 0, 1));
      let slept = 0;
      const sleeps: number[] = [];
      // The injected clock: each sleep moves time on; stop once the warning is out (or give up).
      const liveClock = {
        now: () => clock.now(),
        sleep: async (ms: number) => {
          clock.advance(ms);
          sleeps.push(ms);
          if (++slept > 200 || logger.messages('warn').length > 0) controller.abort();
        },
      };
      await runScraper({
        regime: applySettingOverrides(pmthvSettings, ['join_wait=20s', 'heartbeat=3s', 'sleep=3s']),
        specs: pmthv.specs,
        source: source.db,
        target: target.db,
        targetLocation: target.location,
        logger,
        clock: liveClock,
        signal: controller.signal,
        allowCreate: true,
      });
      expect(logger.messages('info').filter((m) => m.includes('waiting for it'))).toEqual([
        expect.stringMatching(/^DBNS_AD1_HV_Vmon: id 21 at 2011-02-01 00:03:30 Asia\/Shanghai has no row in DBNS_AD1_HV_Pw yet/),
      ]);
      expect(logger.messages('warn')).toEqual([expect.stringMatching(/^DBNS_AD1_HV_Vmon: still waiting: id 21 .*DBNS_AD1_HV_Pw.*more than 20s/)]);
      // Blocked on the joined table is not "behind": a heartbeat between reads, never a busy loop.
      expect(sleeps).toEqual(sleeps.map(() => 3000));
      expect(slept).toBe(8); // the warning comes after 7 × 3 s ≥ join_wait 20 s; the 8th sleep stops the run
      const { vld } = await targetRows(target, pmthv, 'GDcsPmtHv');
      expect(vld.map((v) => [v.TIMESTART, v.TIMEEND])).toEqual([[1, 8], [8, 15]].map(([a, b]) => [utc(slot(a)), utc(slot(b))]));
    });

    it('skips an entry whose power row is missing for good, with a warn line naming its id', async () => {
      const holed = await fresh('fake_hole_src');
      await createHv(holed, range(1, 100), range(1, 100).filter((id) => id !== 30));
      const without = await fresh('fake_hole_ref_src');
      await createHv(without, range(1, 100).filter((id) => id !== 30), range(1, 100).filter((id) => id !== 30));
      const t1 = await fresh('hole_tgt');
      const t2 = await fresh('hole_ref_tgt');
      const logger = new MemoryLogger();
      const report = await scrape(pmthv, pmthvSettings, holed, t1, logger);
      await scrape(pmthv, pmthvSettings, without, t2);
      expect(logger.messages('warn')).toEqual([expect.stringMatching(/^DBNS_AD1_HV_Vmon id 30 at 2011-02-01 00:05:00 Asia\/Shanghai: .*skipped/)]);
      expect(report.streams[0]).toMatchObject({ rowsRead: 99, rowsSkipped: 1 });
      const got = await targetRows(t1, pmthv, 'GDcsPmtHv');
      expect(got).toEqual(await targetRows(t2, pmthv, 'GDcsPmtHv'));
      expect(got.vld.length).toBe(14);
    });
  });
});
