import * as path from 'path';
import { Knex } from 'knex';
import { ManualClock } from '../../engine/core/clock';
import { runBatchFaker, runLiveFaker } from '../../engine/faker/faker';
import { DIALECTS, TestDatabase, createTestDatabase } from '../support/databases';
import { adtempLikeRegime, fakerColumns, hvLikeRegime } from './fake-regime';

const PT = ['DBNS_SAB_Temp_PT1', 'DBNS_SAB_Temp_PT2', 'DBNS_SAB_Temp_PT3', 'DBNS_SAB_Temp_PT4', 'DBNS_SAB_Temp_PT5'];
const HV = ['L1C1R1', 'L1C1R2', 'L1C2R1', 'L1C2R2', 'L2C1R1', 'L2C1R2', 'L2C2R1', 'L2C2R2'];

/** Rows of a table ordered by id, numbers as numbers (MySQL returns decimals as text). */
async function rowsOf(db: Knex, table: string): Promise<Record<string, unknown>[]> {
  const rows = await db(table).select('*').orderBy('id');
  return rows.map((r: Record<string, unknown>) =>
    Object.fromEntries(Object.entries(r).map(([k, v]) => [k, k === 'date_time' || v === null ? v : Number(v)])),
  );
}

/** The test database marked fake (test databases are named t_…). */
function fakeLocation(t: TestDatabase) {
  return { ...t.location, fake: true };
}

describe.each(DIALECTS)('faker on %s', (dialect) => {
  let t: TestDatabase;
  beforeEach(async () => {
    t = await createTestDatabase(dialect, 'faker');
  });
  afterEach(async () => {
    await t.drop();
  });

  it('batch: creates the table, writes --count rows with id, timestart + id x interval and id mod 10, then appends', async () => {
    const regime = adtempLikeRegime();
    const first = await runBatchFaker({ db: t.db, location: fakeLocation(t), regime, count: 25 });
    expect(first.rows).toEqual({ DBNS_SAB_Temp: 25 });
    expect(first.created).toEqual(['DBNS_SAB_Temp']);
    let rows = await rowsOf(t.db, 'DBNS_SAB_Temp');
    expect(rows.map((r) => r.id)).toEqual(Array.from({ length: 25 }, (_, i) => i + 1));
    // by hand: 2011-02-01 00:00:00 + 7 x 10 s; + 13 x 10 s; + 25 x 10 s
    expect(rows[6]).toEqual({ id: 7, date_time: '2011-02-01 00:01:10', ...Object.fromEntries(PT.map((c) => [c, 7])) });
    expect(rows[12]).toEqual({ id: 13, date_time: '2011-02-01 00:02:10', ...Object.fromEntries(PT.map((c) => [c, 3])) });
    expect(rows[24]).toEqual({ id: 25, date_time: '2011-02-01 00:04:10', ...Object.fromEntries(PT.map((c) => [c, 5])) });
    expect(rows[9].DBNS_SAB_Temp_PT1).toBe(0);
    // sum of id mod 10 over ids 1..25 computed by SQL
    const sum = await t.db('DBNS_SAB_Temp').sum({ s: 'DBNS_SAB_Temp_PT3' }).first();
    expect(Number(sum!.s)).toBe(45 + 45 + 15);

    const second = await runBatchFaker({ db: t.db, location: fakeLocation(t), regime, count: 5 });
    expect(second.rows).toEqual({ DBNS_SAB_Temp: 5 });
    expect(second.created).toEqual([]);
    rows = await rowsOf(t.db, 'DBNS_SAB_Temp');
    expect(rows).toHaveLength(30);
    expect(rows[29]).toMatchObject({ id: 30, date_time: '2011-02-01 00:05:00', DBNS_SAB_Temp_PT5: 0 });
  });

  it('batch --from/--to: one row per interval of [from, to)', async () => {
    const regime = adtempLikeRegime({ timestart: undefined });
    const result = await runBatchFaker({ db: t.db, location: fakeLocation(t), regime, from: '2012-02-29 23:59:00', to: '2012-03-01 00:01:00' });
    expect(result.total).toBe(12);
    const rows = await rowsOf(t.db, 'DBNS_SAB_Temp');
    expect(rows.map((r) => r.date_time)).toEqual([
      '2012-02-29 23:59:00', '2012-02-29 23:59:10', '2012-02-29 23:59:20', '2012-02-29 23:59:30', '2012-02-29 23:59:40', '2012-02-29 23:59:50',
      '2012-03-01 00:00:00', '2012-03-01 00:00:10', '2012-03-01 00:00:20', '2012-03-01 00:00:30', '2012-03-01 00:00:40', '2012-03-01 00:00:50',
    ]);
    expect(rows[11]).toMatchObject({ id: 12, DBNS_SAB_Temp_PT1: 2 });
  });

  it('batch: joined tables share the ids and date_times of their main table', async () => {
    const regime = hvLikeRegime();
    const result = await runBatchFaker({ db: t.db, location: fakeLocation(t), regime, count: 40 });
    expect(result.rows).toEqual({ DBNS_AD1_HV_Vmon: 40, DBNS_AD1_HV_Pw: 40, LANS_AD2_HV_Vmon: 40, LANS_AD2_HV_Pw: 40 });
    for (const site of ['DBNS_AD1', 'LANS_AD2']) {
      const joined = await t.db(`${site}_HV_Vmon as v`).join(`${site}_HV_Pw as p`, function () {
        this.on('v.id', '=', 'p.id').andOn('v.date_time', '=', 'p.date_time');
      }).count({ n: '*' }).first();
      expect(Number(joined!.n)).toBe(40);
      const pw = await rowsOf(t.db, `${site}_HV_Pw`);
      expect(pw[39]).toEqual({ id: 40, date_time: '2011-02-01 00:06:40', ...Object.fromEntries(HV.map((c) => [c, 1])) });
    }
    // a random walk from 1500 in steps of +-0.4
    const v = await rowsOf(t.db, 'DBNS_AD1_HV_Vmon');
    let previous = 1500;
    for (const row of v) {
      expect(Math.abs(Math.abs((row.L1C1R1 as number) - previous) - 0.4)).toBeLessThan(1e-9);
      previous = row.L1C1R1 as number;
    }
    expect(new Set(v.map((r) => r.L2C2R2)).size).toBeGreaterThan(3);
  });

  it('random walk: same seed, same rows; two batches equal one batch, also across injected NULLs', async () => {
    const regime = hvLikeRegime({
      columns: fakerColumns({
        '^L\\dC\\dR\\d$': { profile: 'random_walk', value: 1500, step: 0.4, null_rate: 0.2 },
        '^pw_': { profile: 'constant', value: 1 },
      }),
      tables: ['DBNS_AD1_HV_Vmon'],
    });
    const other = await createTestDatabase(dialect, 'faker_one_batch');
    try {
      await runBatchFaker({ db: t.db, location: fakeLocation(t), regime, count: 37 });
      await runBatchFaker({ db: t.db, location: fakeLocation(t), regime, count: 63 });
      await runBatchFaker({ db: other.db, location: fakeLocation(other), regime, count: 100 });
      const split = await rowsOf(t.db, 'DBNS_AD1_HV_Vmon');
      const whole = await rowsOf(other.db, 'DBNS_AD1_HV_Vmon');
      expect(split).toHaveLength(100);
      expect(split).toEqual(whole);
      expect(await rowsOf(t.db, 'DBNS_AD1_HV_Pw')).toEqual(await rowsOf(other.db, 'DBNS_AD1_HV_Pw'));
      const nulls = split.filter((r) => r.L1C1R1 === null).length;
      expect(nulls).toBeGreaterThan(5);
      expect(nulls).toBeLessThan(40);
      // another seed walks elsewhere
      await runBatchFaker({ db: other.db, location: fakeLocation(other), regime: { ...regime, faker: { ...regime.faker, seed: 8 } }, count: 1, dropsrc: true });
      const reseeded = await rowsOf(other.db, 'DBNS_AD1_HV_Vmon');
      expect(reseeded).toHaveLength(1);
      const firstSteps = HV.map((c) => reseeded[0][c]);
      const sameSeed = HV.map((c) => whole[0][c]);
      expect(firstSteps).not.toEqual(sameSeed);
    } finally {
      await other.drop();
    }
  });

  it('drift: noise within ±step, a slow drift, now and then a step of amplitude; two batches equal one', async () => {
    const [value, amplitude, period, step] = [22.5, 1.5, 150, 0.05];
    const regime = adtempLikeRegime({ columns: fakerColumns({ '^DBNS_SAB_Temp_PT\\d$': { profile: 'drift', value, amplitude, period, step } }) });
    const other = await createTestDatabase(dialect, 'faker_drift_whole');
    try {
      await runBatchFaker({ db: t.db, location: fakeLocation(t), regime, count: 500 });
      await runBatchFaker({ db: t.db, location: fakeLocation(t), regime, count: 1000 });
      await runBatchFaker({ db: other.db, location: fakeLocation(other), regime, count: 1500 });
      const rows = await rowsOf(t.db, 'DBNS_SAB_Temp');
      expect(rows).toHaveLength(1500);
      expect(rows).toEqual(await rowsOf(other.db, 'DBNS_SAB_Temp'));
      // by the profile's definition: level 0 or amplitude, drift within ±amplitude/2, noise within
      // ±step, stored with 2 decimals; from one row to the next the drift moves at most
      // amplitude / period and the noise 2 × step, unless the level steps (at most once a period)
      const rounding = 0.005 + 1e-9;
      const small = 2 * step + amplitude / period + 2 * rounding;
      const stepsOf: number[][] = [];
      for (const c of PT) {
        const v = rows.map((r) => r[c] as number);
        expect(Math.min(...v)).toBeGreaterThanOrEqual(value - amplitude / 2 - step - rounding);
        expect(Math.max(...v)).toBeLessThanOrEqual(value + amplitude + amplitude / 2 + step + rounding);
        const steps: number[] = [];
        for (let i = 1; i < v.length; i++) {
          const d = Math.abs(v[i] - v[i - 1]);
          if (d > small) {
            expect(d).toBeGreaterThanOrEqual(amplitude - small);
            steps.push(rows[i].id as number);
          }
        }
        for (let k = 1; k < steps.length; k++) expect(steps[k] - steps[k - 1]).toBeGreaterThanOrEqual(period);
        // noise: not a smooth curve
        expect(new Set(v.slice(1).map((x, i) => Math.round((x - v[i]) * 100))).size).toBeGreaterThan(4);
        stepsOf.push(steps);
      }
      // 10 periods of 5 columns: about every other boundary steps; the columns step at different rows
      expect(stepsOf.flat().length).toBeGreaterThan(5);
      expect(new Set(stepsOf.flat()).size).toBeGreaterThan(Math.max(...stepsOf.map((s) => s.length)));
    } finally {
      await other.drop();
    }
  });

  it('live with a manual clock: one row per table per interval, stops at maxiter', async () => {
    const clock = new ManualClock(Date.UTC(2011, 1, 1, 0, 0, 0));
    const regime = hvLikeRegime({ timestart: undefined });
    const result = await runLiveFaker({ db: t.db, location: fakeLocation(t), regime, clock, maxiter: 3 });
    expect(result.iterations).toBe(3);
    expect(result.rows).toEqual({ DBNS_AD1_HV_Vmon: 3, DBNS_AD1_HV_Pw: 3, LANS_AD2_HV_Vmon: 3, LANS_AD2_HV_Pw: 3 });
    // 2011-02-01 00:00 UTC is 08:00 in Asia/Shanghai; two sleeps of one interval between three iterations
    expect(clock.now()).toBe(Date.UTC(2011, 1, 1, 0, 0, 20));
    for (const table of ['DBNS_AD1_HV_Vmon', 'LANS_AD2_HV_Pw']) {
      const rows = await rowsOf(t.db, table);
      expect(rows.map((r) => [r.id, r.date_time])).toEqual([
        [1, '2011-02-01 08:00:00'],
        [2, '2011-02-01 08:00:10'],
        [3, '2011-02-01 08:00:20'],
      ]);
    }
  });

  it('live with timestart: date_time = timestart + id x interval, and an abort stops it', async () => {
    const clock = new ManualClock(Date.UTC(2020, 0, 1));
    const controller = new AbortController();
    const regime = adtempLikeRegime({ timestart: '2011-02-01 00:00:00', interval: '1m' });
    await runBatchFaker({ db: t.db, location: fakeLocation(t), regime, count: 2 });
    const result = await runLiveFaker({
      db: t.db, location: fakeLocation(t), regime, clock, maxiter: 0, signal: controller.signal,
      onIteration: (n) => n === 4 && controller.abort(),
    });
    expect(result.iterations).toBe(4);
    const rows = await rowsOf(t.db, 'DBNS_SAB_Temp');
    expect(rows.map((r) => [r.id, r.date_time, r.DBNS_SAB_Temp_PT2])).toEqual([
      [1, '2011-02-01 00:01:00', 1],
      [2, '2011-02-01 00:02:00', 2],
      [3, '2011-02-01 00:03:00', 3],
      [4, '2011-02-01 00:04:00', 4],
      [5, '2011-02-01 00:05:00', 5],
      [6, '2011-02-01 00:06:00', 6],
    ]);
  });

  it('refuses a database that is not marked fake, touching nothing', async () => {
    await expect(runBatchFaker({ db: t.db, location: { ...t.location, fake: false }, regime: adtempLikeRegime(), count: 3 })).rejects.toMatchObject({ code: 'FAKER_NOT_FAKE' });
    expect(await t.db.schema.hasTable('DBNS_SAB_Temp')).toBe(false);
  });

  it('creates the tables from the no-data mysqldump the regime names, and injects quality flags reproducibly', async () => {
    const regime = {
      ...adtempLikeRegime(),
      tables: [{ pattern: '^AD(?<ad>[1-8])_LidSensor$' }],
      faker: {
        ...adtempLikeRegime().faker,
        tables: ['AD1_LidSensor'],
        dump: 'fixtures/AD_LidSensor_nodata.sql',
        profile: 'constant' as const,
        columns: fakerColumns({ '^Temp_': { profile: 'sine', value: 20, amplitude: 2, period: 8 } }),
        quality: { column: 'SensorStatus', good: 0, bad: 1, rate: 0.3 },
      },
    };
    const regimeFile = path.join(__dirname, 'adlid-like.yaml'); // the dump is relative to the regime file
    // without dropsrc only the missing faked table comes from the dump
    const first = await runBatchFaker({ db: t.db, location: fakeLocation(t), regime, regimeFile, count: 200 });
    expect(first.created).toEqual(['AD1_LidSensor']);
    expect(await t.db.schema.hasTable('AD2_LidSensor')).toBe(false);
    const rows = await rowsOf(t.db, 'AD1_LidSensor');
    expect(rows).toHaveLength(200);
    // sine by hand: 20 + 2 sin(2 pi id / 8) = 21.414.., 22, 21.414.., 20 for ids 1..4, stored as decimal(6,2)
    expect(rows.slice(0, 4).map((r) => r.Temp_LS)).toEqual([21.41, 22, 21.41, 20]);
    expect(rows[0].Ultrasonic_GdLS).toBe(0);
    const bad = rows.filter((r) => r.SensorStatus === 1).length;
    expect(rows.every((r) => r.SensorStatus === 0 || r.SensorStatus === 1)).toBe(true);
    expect(bad).toBeGreaterThan(30);
    expect(bad).toBeLessThan(90);

    // dropsrc reloads the whole dump (both tables) and the same rows come back
    const second = await runBatchFaker({ db: t.db, location: fakeLocation(t), regime, regimeFile, count: 200, dropsrc: true });
    expect(second.created).toEqual(['AD1_LidSensor']);
    expect(await t.db.schema.hasTable('AD2_LidSensor')).toBe(true);
    expect(await rowsOf(t.db, 'AD1_LidSensor')).toEqual(rows);
  });
});
