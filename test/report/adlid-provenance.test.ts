import { Knex } from 'knex';
import { ManualClock } from '../../engine/core/clock';
import { MemoryLogger } from '../../engine/core/logger';
import { loadRegime } from '../../engine/config/load-regime';
import { runScraper } from '../../engine/scraper/scraper';
import { runAverager } from '../../engine/averager/averager';
import { readProvenance } from '../../engine/dbi/dbi-reader';
import { DIALECTS, createTestDatabase, TestDatabase } from '../support/databases';
import { localPlus } from '../support/source-fixture';
import { runCli } from '../support/cli';
import { ROOT } from '../ops/ops-support';
import { LID_ROW_COLUMNS, LidRow, createLidTable, insertLidRows, lidRows } from '../averager/lid-fixture';

/**
 * Provenance (SCRAPE_PROVENANCE) on adlid, whose aggregates count only good entries
 * (SensorStatus = 0), checked against the source by SQL: the scraper's validities (TASK 0, with
 * bad rows in the data), its seed, the averager's hourly bins (TASK 1), and what `scrape query
 * --why` / `--json` show of them.
 */

const loaded = loadRegime('adlid', { cwd: ROOT, env: {} });
const spec = loaded.specs.get('GDcsAdLidSensor')!;
const TABLE = 'AD1_LidSensor';
const START = '2012-02-01 00:00:03';
const HOURS = 12;
const SECONDS = HOURS * 3600 + 1200; // 12 h 20 min: twelve complete hours for the averager
const INTERVAL = 10; // adlid scraper.interval (10s), by hand
/** adlid's change rules (regimes.d/adlid.yaml), by hand: column -> threshold. */
const THRESHOLDS: Record<string, number> = { Ultrasonic_GdLS: 5, Ultrasonic_LS: 5, Temp_GdLS: 0.5, Temp_LS: 0.5, Capacitance_GdLS: 10, Capacitance_LS: 10, Capacitance_MO: 10 };
/** Asia/Shanghai is UTC+8 without DST since 1991, by hand. */
const toLocal = (utc: string) => localPlus(utc, 8 * 3600);
const toUtc = (local: string) => localPlus(local, -8 * 3600);

interface Vld {
  SEQNO: number;
  TIMESTART: string;
  TIMEEND: string;
  count: number | null;
}

async function validities(db: Knex, task: number): Promise<Vld[]> {
  const rows = await db('DcsAdLidSensorVld as v').join('DcsAdLidSensor as p', 'p.SEQNO', 'v.SEQNO').where({ 'v.SITEMASK': 1, 'v.SUBSITE': 1, 'v.TASK': task }).select('v.SEQNO', 'v.TIMESTART', 'v.TIMEEND', 'p.count').orderBy('v.TIMESTART');
  return rows.map((r: Record<string, unknown>) => ({ SEQNO: Number(r.SEQNO), TIMESTART: String(r.TIMESTART).slice(0, 19), TIMEEND: String(r.TIMEEND).slice(0, 19), count: r.count === null ? null : Number(r.count) }));
}

/** COUNT(*) of the source rows matching `where` (a knex builder callback). */
async function countRows(db: Knex, where: (q: Knex.QueryBuilder) => Knex.QueryBuilder): Promise<number> {
  const [{ n }] = await where(db(TABLE)).count({ n: '*' });
  return Number(n);
}

/** The hourly GROUP BY of the good entries (SensorStatus = 0), by the database: first and last time, count, and every entry of the hour. */
async function goodHours(db: Knex, dialect: string): Promise<{ h: string; t0: string; t1: string; n: number; all: number; firstId: number; lastId: number }[]> {
  const q = (n: string) => (dialect === 'sqlite' ? `"${n}"` : `\`${n}\``);
  const hour = `substr(${q('date_time')}, 1, 13)`;
  const raw = await db.raw(
    `SELECT g.h, g.t0, g.t1, g.n, ` +
      `(SELECT COUNT(*) FROM ${q(TABLE)} a WHERE substr(a.${q('date_time')}, 1, 13) = g.h) AS allrows, ` +
      `(SELECT MIN(f.${q('id')}) FROM ${q(TABLE)} f WHERE f.${q('SensorStatus')} = 0 AND f.${q('date_time')} = g.t0) AS first_id, ` +
      `(SELECT MAX(l.${q('id')}) FROM ${q(TABLE)} l WHERE l.${q('SensorStatus')} = 0 AND l.${q('date_time')} = g.t1) AS last_id ` +
      `FROM (SELECT ${hour} AS h, MIN(${q('date_time')}) AS t0, MAX(${q('date_time')}) AS t1, COUNT(*) AS n FROM ${q(TABLE)} ` +
      `WHERE ${q('SensorStatus')} = 0 AND ${q('date_time')} >= '2010-01-01 00:00:00' GROUP BY ${hour}) g ORDER BY g.h`,
  );
  const rows: Record<string, unknown>[] = dialect === 'sqlite' ? raw : raw[0];
  return rows.map((r) => ({ h: String(r.h), t0: String(r.t0).slice(0, 19), t1: String(r.t1).slice(0, 19), n: Number(r.n), all: Number(r.allrows), firstId: Number(r.first_id), lastId: Number(r.last_id) }));
}

describe.each(DIALECTS)('adlid provenance on %s', (dialect) => {
  let source: TestDatabase;
  let target: TestDatabase;
  beforeAll(async () => {
    source = await createTestDatabase(dialect, 'fake_adlid_prov_s');
    target = await createTestDatabase(dialect, 'adlid_prov_t');
    await createLidTable(source.db, TABLE);
    // the fixture's readings barely move: a 0.6 degree step of Temp_GdLS every 150 minutes (threshold 0.5) makes `changed` validities too
    const rows = lidRows(START, SECONDS, 77).map((r): LidRow => {
      const k = Math.floor((Date.parse(r[1].replace(' ', 'T') + 'Z') - Date.parse(START.replace(' ', 'T') + 'Z')) / 9_000_000);
      const at = LID_ROW_COLUMNS.indexOf('Temp_GdLS');
      const out = [...r] as LidRow;
      if (k > 0 && out[at] !== null) out[at] = Math.round((Number(out[at]) + 0.6 * k) * 100) / 100;
      return out;
    });
    await insertLidRows(source.db, TABLE, rows);
    const common = { regime: loaded.regime, specs: loaded.specs, source: source.db, target: target.db, targetLocation: target.location, clock: new ManualClock(Date.UTC(2013, 0, 1)), untilCaughtUp: true, allowCreate: true };
    await runScraper({ ...common, logger: new MemoryLogger(), seed: true });
    await runAverager({ ...common, logger: new MemoryLogger() });
  }, 300_000);
  afterAll(async () => {
    await target.drop();
    await source.drop();
  });

  it('the scraper (TASK 0): per validity the id range, rows, samples and good-row count SQL finds; the deadband never hid more than the threshold', async () => {
    const vld = (await validities(target.db, 0)).slice(1); // the seed first (next test)
    expect(vld.length).toBeGreaterThan(HOURS); // at least one an hour (maxage 1h), and the steps
    const whys = await readProvenance(target.db, spec, vld.map((v) => v.SEQNO));
    const reasons = new Set<string>();
    let badInside = 0;
    let suppressedChecked = 0;
    for (const v of vld) {
      const why = whys.get(v.SEQNO)!;
      const first = toLocal(v.TIMESTART);
      const last = toLocal(v.TIMEEND);
      reasons.add(why.reason);
      expect(why.sourceTable).toBe(TABLE);
      expect([why.firstTime, why.lastTime]).toEqual([first, last]);
      // sv[0] is the lowest id at TIMESTART (design §4.2/§4.5); sv[-1] an entry dated TIMEEND
      const [{ id: firstId }] = await source.db(TABLE).where('date_time', first).min({ id: 'id' });
      expect(why.firstId).toBe(Number(firstId));
      const lastRow = await source.db(TABLE).where('id', why.lastId!).first('date_time');
      expect(String(lastRow.date_time).slice(0, 19)).toBe(last);
      // every entry in [first, last), good or bad, was seen; the aggregates counted the good ones
      const inRange = (q: Knex.QueryBuilder) => q.where('date_time', '>=', first).andWhere('date_time', '<', last);
      expect(why.rows).toBe(await countRows(source.db, inRange));
      const good = await countRows(source.db, (q) => inRange(q).andWhere('SensorStatus', 0));
      expect(v.count).toBe(good);
      badInside += (why.rows ?? 0) - good;
      // samples (offset 0): every entry from tcursor = first + interval on, up to sv[-1] in its time group
      const tcursor = localPlus(first, INTERVAL);
      const sampled = await countRows(source.db, (q) => q.where('date_time', '>=', tcursor).andWhere('date_time', '<', last));
      const atEnd = await countRows(source.db, (q) => q.where('date_time', last).andWhere('id', '<=', why.lastId!));
      expect(why.samples).toBe(sampled + atEnd);
      // suppressed: the samples decided unchanged (all but sv[-1]) compared with sv[0], by SQL
      const sv0 = await source.db(TABLE).where('id', why.firstId!).first();
      const unchanged = (q: Knex.QueryBuilder) => q.where('date_time', '>=', tcursor).andWhere((w) => w.where('date_time', '<', last).orWhere((e) => e.where('date_time', last).andWhere('id', '<', why.lastId!)));
      for (const [c, threshold] of Object.entries(THRESHOLDS)) {
        const s = why.suppressed?.[c];
        if (s === undefined) continue;
        expect(s.maxdev).toBeLessThanOrEqual(threshold);
        if (sv0[c] === null) continue;
        const [{ lo, hi }] = (await unchanged(source.db(TABLE)).whereNotNull(c).min({ lo: c }).max({ hi: c })) as unknown as { lo: unknown; hi: unknown }[];
        const maxdev = Math.max(Math.abs(Number(lo) - Number(sv0[c])), Math.abs(Number(hi) - Number(sv0[c])));
        expect(s.maxdev).toBeCloseTo(maxdev, 6);
        suppressedChecked++;
        expect([s.min, s.max].map(Number)).toEqual([Number(lo), Number(hi)]);
      }
    }
    // the data really had bad rows inside the validities, and both reasons occurred
    expect(badInside).toBeGreaterThan(10);
    expect(suppressedChecked).toBeGreaterThan(vld.length * 5);
    expect([...reasons].sort()).toEqual(['changed', 'overage']);
  });

  it('the seed validity (seed_timestart, seed_timeend) is recorded with reason seed', async () => {
    const [seed] = await validities(target.db, 0);
    // regimes.d/adlid.yaml: seed [2011-02-01 00:00:00, 00:01:00) local, by hand in UTC
    expect([seed.TIMESTART, seed.TIMEEND]).toEqual(['2011-01-31 16:00:00', '2011-01-31 16:01:00']);
    const why = (await readProvenance(target.db, spec, [seed.SEQNO])).get(seed.SEQNO)!;
    expect(why.reason).toBe('seed');
    expect(why.sourceTable).toBe(TABLE);
    expect(why.firstId).toBeUndefined();
    const text = await runCli(['query', 'DcsAdLidSensor', '--at', '2011-01-31 16:00:30', '--site', '1', '--subsite', '1', '--target', target.url, '--why']);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^why: seed$/m);
  });

  it('the averager (TASK 1): per hourly bin, reason bin, the id range and counts of the SQL GROUP BY of the good rows', async () => {
    const vld = await validities(target.db, 1);
    const hours = await goodHours(source.db, dialect);
    // the hour holding the latest entry is incomplete (design §5): not written
    const latest = String((await source.db(TABLE).max({ t: 'date_time' }))[0].t).slice(0, 13);
    const complete = hours.filter((h) => h.h < latest);
    expect(complete.length).toBe(HOURS);
    expect(vld.map((v) => [v.TIMESTART, v.TIMEEND])).toEqual(complete.map((h) => [toUtc(h.t0), toUtc(h.t1)]));
    const whys = await readProvenance(target.db, spec, vld.map((v) => v.SEQNO));
    for (const [i, h] of complete.entries()) {
      const why = whys.get(vld[i].SEQNO)!;
      expect(why).toMatchObject({ reason: 'bin', sourceTable: TABLE, firstId: h.firstId, lastId: h.lastId, firstTime: h.t0, lastTime: h.t1, samples: h.n, rows: h.all });
      expect(vld[i].count).toBe(h.n);
      // some bad rows in each hour: the two counts differ
      expect(h.all).toBeGreaterThan(h.n);
      expect(why.suppressed).toBeUndefined();
    }
  });

  it('scrape query --why prints those fields and --json has them, as SQL finds them', async () => {
    const hours = await goodHours(source.db, dialect);
    const h = hours[2];
    const at = toUtc(localPlus(h.t0, 60));
    const args = ['query', 'DcsAdLidSensor', '--at', at, '--site', '1', '--subsite', '1', '--task', '1', '--target', target.url];
    const text = await runCli([...args, '--why']);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain(`why: bin\n  source ${TABLE} ids ${h.firstId} to ${h.lastId}, local ${h.t0} to ${h.t1}\n  ${h.n} samples, ${h.all} rows in the range\n`);
    const json = await runCli([...args, '--json']);
    expect(json.code).toBe(0);
    const [agg] = JSON.parse(json.stdout).aggregates;
    expect(agg.vld.TASK).toBe(1);
    expect(agg.rows[0].count).toBe(h.n);
    expect(agg.why).toMatchObject({ reason: 'bin', sourceTable: TABLE, firstId: h.firstId, lastId: h.lastId, firstTime: h.t0, lastTime: h.t1, samples: h.n, rows: h.all });
    // the scraper's validity at the same instant (TASK 0): its source range and counts by SQL
    const scraped = await runCli([...args.slice(0, -4), '--target', target.url, '--json']);
    expect(scraped.code).toBe(0);
    const [s] = JSON.parse(scraped.stdout).aggregates;
    expect(s.vld.TASK).toBe(0);
    const first = toLocal(String(s.vld.TIMESTART).slice(0, 19));
    const last = toLocal(String(s.vld.TIMEEND).slice(0, 19));
    const rows = await countRows(source.db, (q) => q.where('date_time', '>=', first).andWhere('date_time', '<', last));
    expect(s.why).toMatchObject({ sourceTable: TABLE, firstTime: first, lastTime: last, rows });
    expect(['changed', 'overage']).toContain(s.why.reason);
    const scrapedText = await runCli([...args.slice(0, -4), '--target', target.url, '--why']);
    expect(scrapedText.stdout).toContain(`  source ${TABLE} ids ${s.why.firstId} to ${s.why.lastId}, local ${first} to ${last}\n  ${s.why.samples} samples, ${rows} rows in the range\n`);
    for (const c of Object.keys(s.why.suppressed ?? {})) expect(scrapedText.stdout).toMatch(new RegExp(`^  suppressed ${c}: \\d+ samples, max \\|deviation\\| `, 'm'));
  });
});
