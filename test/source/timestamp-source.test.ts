import * as path from 'path';
import { MemoryLogger } from '../../engine/core/logger';
import { ManualClock } from '../../engine/core/clock';
import { loadRegime, applySettingOverrides, LoadedRegime } from '../../engine/config/load-regime';
import { Regime } from '../../engine/config/regime';
import { runScraper } from '../../engine/scraper/scraper';
import { runAverager } from '../../engine/averager/averager';
import { dumpTarget } from '../../engine/dbi/dbi-reader';
import { discoverStreams } from '../../engine/source/source-stream';
import { createTestDatabase, TestDatabase } from '../support/databases';
import { createSourceTable, insertRows, localPlus, prng } from '../support/source-fixture';

/**
 * A source whose `date_time` is a TIMESTAMP (rows written in a `+08:00` session, as a DCS in
 * Asia/Shanghai writes them) gives the same target as a DATETIME source holding the same local
 * times (docs/design.md §4.10): the engine's `+00:00` session reads the instants as UTC text, the
 * readers turn them into source-local text. MariaDB only: SQLite has no TIMESTAMP type.
 */
const REGIMES = path.join(__dirname, '..', '..', 'regimes.d');
const TABLE = 'DBNS_SAB_Temp';
const PT = [1, 2, 3, 4, 5].map((i) => `DBNS_SAB_Temp_PT${i}`);

function rows(): Record<string, unknown>[] {
  const rand = prng(8);
  const values = PT.map(() => 20);
  return Array.from({ length: 1500 }, (_, i) => {
    for (let k = 0; k < values.length; k++) values[k] = Math.round((values[k] + (rand() - 0.5) * 1.6) * 100) / 100;
    return { id: i + 1, date_time: localPlus('2011-02-01 23:00:00', 10 * i), ...Object.fromEntries(PT.map((c, k) => [c, values[k].toFixed(2)])) };
  });
}

describe('a TIMESTAMP date_time on mariadb', () => {
  const dbs: TestDatabase[] = [];
  let loaded: LoadedRegime;
  let datetimeSource: TestDatabase;
  let timestampSource: TestDatabase;

  beforeAll(async () => {
    loaded = loadRegime(path.join(REGIMES, 'adtemp.yaml'));
    expect(loaded.regime.timezone).toBe('Asia/Shanghai');
    datetimeSource = await createTestDatabase('mariadb', 'fake_ts_datetime');
    timestampSource = await createTestDatabase('mariadb', 'fake_ts_timestamp');
    dbs.push(datetimeSource, timestampSource);
    const data = rows();
    await createSourceTable(datetimeSource.db, TABLE, Object.fromEntries(PT.map((c) => [c, 'decimal(6,2)'])));
    await insertRows(datetimeSource.db, TABLE, data);
    const cols = PT.map((c) => `\`${c}\` decimal(6,2)`).join(', ');
    await timestampSource.db.raw(`CREATE TABLE \`${TABLE}\` (id int unsigned NOT NULL AUTO_INCREMENT PRIMARY KEY, date_time TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP, ${cols})`);
    await timestampSource.db.raw(`CREATE INDEX \`${TABLE}_dt\` ON \`${TABLE}\` (date_time, id)`);
    // written as a DCS in Asia/Shanghai writes them: local text in a +08:00 session
    await timestampSource.db.transaction(async (trx) => {
      await trx.raw(`SET time_zone = '+08:00'`);
      for (let i = 0; i < data.length; i += 500) await trx(TABLE).insert(data.slice(i, i + 500));
      await trx.raw(`SET time_zone = '+00:00'`);
    });
  });
  afterAll(async () => {
    for (const d of dbs) await d.drop();
  });

  it('the stored instants are 8 h before the local times (the fixture is what it claims)', async () => {
    const [r] = await timestampSource.db.raw(`SELECT date_time AS t FROM \`${TABLE}\` WHERE id = 1`);
    expect(r[0].t).toBe('2011-02-01 15:00:00');
    const [stream] = await discoverStreams(timestampSource.db, loaded.regime);
    expect(stream.timeColumnType).toBe('timestamp');
    expect(stream.timestampZone).toBe('Asia/Shanghai');
    const [plain] = await discoverStreams(datetimeSource.db, loaded.regime);
    expect(plain.timestampZone).toBeUndefined();
  });

  async function scrape(regime: Regime, source: TestDatabase, label: string) {
    const target = await createTestDatabase('mariadb', label);
    dbs.push(target);
    const logger = new MemoryLogger();
    await runScraper({ regime, specs: loaded.specs, source: source.db, target: target.db, targetLocation: target.location, logger, clock: new ManualClock(), untilCaughtUp: true, allowCreate: true });
    const { vld, payload } = await dumpTarget(target.db, loaded.specs.get('GDcsAdTemp')!);
    return { vld: vld.map(({ INSERTDATE, ...rest }) => rest), payload, logger };
  }

  it.each([['pages of 7', ['page_size=7']], ['default pages', []]] as const)('scraper, %s: the same target as the DATETIME source', async (_, overrides) => {
    const regime = applySettingOverrides(loaded.regime, [...overrides, 'timefloor=2011-02-02 00:00:00']);
    const a = await scrape(regime, datetimeSource, 'ts_dt');
    const b = await scrape(regime, timestampSource, 'ts_ts');
    expect(a.vld.length).toBeGreaterThan(100);
    // the first validity starts at the first row at or after timefloor: 2011-02-02 00:00:00 local, 16:00 UTC the day before
    expect(a.vld[0].TIMESTART).toBe('2011-02-01 16:00:00');
    expect(b).toEqual({ ...a, logger: b.logger });
    // the 360 rows before timefloor (23:00 … 23:59:50 local) are counted alike
    const skipped = (l: MemoryLogger) => l.messages('warn').filter((m) => /before timefloor/.test(m));
    expect(skipped(a.logger)).toEqual([`${TABLE}: 360 entries before timefloor 2011-02-02 00:00:00 Asia/Shanghai (zero dates included) are skipped`]);
    expect(skipped(b.logger)).toEqual(skipped(a.logger));
  });

  it('averager (range reads): the same target as the DATETIME source', async () => {
    const regime = applySettingOverrides(loaded.regime, ['bin=10m', 'chunk=1h'], 'averager');
    const run = async (source: TestDatabase, label: string) => {
      const target = await createTestDatabase('mariadb', label);
      dbs.push(target);
      await runAverager({ regime, specs: loaded.specs, source: source.db, target: target.db, targetLocation: target.location, logger: new MemoryLogger(), clock: new ManualClock(), untilCaughtUp: true, allowCreate: true });
      const { vld, payload } = await dumpTarget(target.db, loaded.specs.get('GDcsAdTemp')!);
      return { vld: vld.map(({ INSERTDATE, ...rest }) => rest), payload };
    };
    const a = await run(datetimeSource, 'ts_avg_dt');
    const b = await run(timestampSource, 'ts_avg_ts');
    expect(a.vld.length).toBeGreaterThan(5);
    expect(b).toEqual(a);
  });
});

/**
 * A TIMESTAMP source in a zone with daylight saving (Europe/Zurich): the instants stored are
 * kept exactly, through the autumn hour that repeats and the spring hour that is skipped, as the
 * same rows give from a DATETIME source in the zone's standard time (Etc/GMT-1, instants + 1 h
 * written by hand): no error, nothing out of order, every TIMESTART and TIMEEND a stored instant.
 */
describe('a TIMESTAMP date_time in a zone with daylight saving on mariadb', () => {
  const dbs: TestDatabase[] = [];
  afterAll(async () => {
    for (const d of dbs) await d.drop();
  });
  const utcText = (ms: number) => new Date(ms).toISOString().slice(0, 19).replace('T', ' ');

  it.each([
    // clocks go back at 01:00 UTC: local 02:00..02:59 happens twice
    ['autumn', Date.UTC(2011, 9, 29, 23, 30)],
    // clocks go forward at 01:00 UTC: local 02:00..02:59 never happens
    ['spring', Date.UTC(2011, 2, 26, 23, 30)],
  ])('%s: the same target as DATETIME rows in standard time; the stream sees standard time', async (label, t0) => {
    const base = loadRegime(path.join(REGIMES, 'adtemp.yaml'));
    const zurich: Regime = applySettingOverrides({ ...base.regime, timezone: 'Europe/Zurich' }, ['maxage=10m', 'timefloor=2011-01-01 00:00:00']);
    const standard: Regime = { ...zurich, timezone: 'Etc/GMT-1' };
    const ts = await createTestDatabase('mariadb', `fake_tsdst_${label}_ts`);
    const dt = await createTestDatabase('mariadb', `fake_tsdst_${label}_dt`);
    dbs.push(ts, dt);
    const cols = PT.map((c) => `\`${c}\` decimal(6,2)`).join(', ');
    await ts.db.raw(`CREATE TABLE \`${TABLE}\` (id int unsigned NOT NULL AUTO_INCREMENT PRIMARY KEY, date_time TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP, ${cols})`);
    await createSourceTable(dt.db, TABLE, Object.fromEntries(PT.map((c) => [c, 'decimal(6,2)'])));
    const rand = prng(3);
    const values = PT.map(() => 20);
    const instants: number[] = [];
    const data: Record<string, unknown>[][] = [[], []];
    for (let i = 0; i < 3 * 360; i++) {
      for (let k = 0; k < values.length; k++) values[k] = Math.round((values[k] + (rand() - 0.5) * 1.6) * 100) / 100;
      const ms = t0 + i * 10_000;
      instants.push(ms);
      const readings = Object.fromEntries(PT.map((c, k) => [c, values[k].toFixed(2)]));
      data[0].push({ id: i + 1, date_time: utcText(ms), ...readings });
      data[1].push({ id: i + 1, date_time: utcText(ms + 3_600_000), ...readings });
    }
    // the TIMESTAMP rows written as instants (a +00:00 session), the DATETIME rows as UTC+1 text
    await ts.db.transaction(async (trx) => {
      await trx.raw(`SET time_zone = '+00:00'`);
      for (let i = 0; i < data[0].length; i += 500) await trx(TABLE).insert(data[0].slice(i, i + 500));
    });
    await insertRows(dt.db, TABLE, data[1]);
    const [stream] = await discoverStreams(ts.db, zurich);
    expect(stream.zone).toBe('Etc/GMT-1');

    const run = async (regime: Regime, source: TestDatabase, name: string) => {
      const target = await createTestDatabase('mariadb', name);
      dbs.push(target);
      const logger = new MemoryLogger();
      await runScraper({ regime, specs: base.specs, source: source.db, target: target.db, targetLocation: target.location, logger, clock: new ManualClock(Date.UTC(2012, 0, 1)), untilCaughtUp: true, allowCreate: true, seed: false });
      const { vld, payload } = await dumpTarget(target.db, base.specs.get('GDcsAdTemp')!);
      return { vld: vld.map(({ INSERTDATE, ...rest }) => rest), payload };
    };
    const fromTimestamp = await run(zurich, ts, `tsdst_${label}_a`);
    const fromDatetime = await run(standard, dt, `tsdst_${label}_b`);
    expect(fromTimestamp.vld.length).toBeGreaterThan(10);
    expect(fromTimestamp).toEqual(fromDatetime);
    const stored = new Set(instants.map(utcText));
    for (const [i, v] of fromTimestamp.vld.entries()) {
      expect(stored.has(String(v.TIMESTART))).toBe(true);
      expect(stored.has(String(v.TIMEEND))).toBe(true);
      if (i > 0) expect(v.TIMESTART).toBe(fromTimestamp.vld[i - 1].TIMEEND);
    }
    expect(fromTimestamp.vld[0].TIMESTART).toBe(utcText(t0));
  });
});
