import { Knex } from 'knex';
import { ManualClock } from '../../engine/core/clock';
import { MemoryLogger } from '../../engine/core/logger';
import { loadRegime } from '../../engine/config/load-regime';
import { runScraper } from '../../engine/scraper/scraper';
import { ScrapeMetrics } from '../../engine/session/metrics-server';
import { streamStatuses } from '../../engine/report/stream-status';
import { renderStreamStatus } from '../../engine/cli/status';
import { StreamObserver } from '../../engine/stream/stream-observer';
import { DIALECTS, createTestDatabase, TestDatabase } from '../support/databases';
import { insertRows, localPlus } from '../support/source-fixture';
import { ADTEMP_YAML, PT, fillAdTempSource, ROOT, samples, targetContent } from '../ops/ops-support';

/**
 * docs/design.md §4.11, late rows: a source row that appears after its stream has written past its
 * `date_time` is never read; it is detected against the highest source id the stream had read
 * when it wrote that range (kept in SCRAPE_SOURCE_IDS, written with the validities), counted and
 * reported (warning, worker, metric, status), and the target is left as it is.
 */

const loaded = loadRegime(ADTEMP_YAML, { cwd: ROOT, env: {} });
const spec = loaded.specs.get('GDcsAdTemp')!;
const TABLE = 'DBNS_SAB_Temp';
const START = '2011-02-01 00:00:00';
const ROWS = 1000;
const LATE_ID = ROWS + 1;
const LATE_TIME = localPlus(START, 10 * 100 + 5); // between rows 101 and 102: long written
const AFTER_ID = ROWS + 2;
const AFTER_TIME = localPlus(START, 10 * ROWS); // 10 s after the last row: not written yet
const NOW = Date.UTC(2012, 0, 1);
const STREAM = `{regime="adtemp",stream="${TABLE}"}`;

/** Asia/Shanghai (no DST since 1991) local text to UTC text: minus 8 h, by hand. */
function shanghaiToUtc(local: string): string {
  const ms = Date.parse(local.replace(' ', 'T') + 'Z') - 8 * 3_600_000;
  return new Date(ms).toISOString().slice(0, 19).replace('T', ' ');
}

async function scrape(source: TestDatabase, target: TestDatabase, allowCreate = true) {
  const logger = new MemoryLogger();
  const metrics = new ScrapeMetrics('adtemp');
  const late: (number | undefined)[] = [];
  const observer: StreamObserver = { step: (w, s, l) => (metrics.step(w, s, l), late.push(w.late)), late: (w, n) => metrics.late(w, n) };
  const report = await runScraper({
    regime: loaded.regime, specs: loaded.specs, source: source.db, target: target.db, targetLocation: target.location,
    logger, clock: new ManualClock(NOW), untilCaughtUp: true, allowCreate, seed: false, observer,
  });
  return { report, logger, late, metric: samples(await metrics.render(), 'scrape_late_rows') };
}

async function sideRows(db: Knex) {
  return (await db('SCRAPE_SOURCE_IDS').where({ TABLENAME: spec.table }).orderBy('SEQNO')).map((r) => ({
    seqno: Number(r.SEQNO), table: String(r.SOURCE_TABLE), maxId: Number(r.MAX_ID), firstId: Number(r.FIRST_ID), lastId: Number(r.LAST_ID), firstTime: String(r.FIRST_TIME), lastTime: String(r.LAST_TIME),
  }));
}

function row(id: number, dateTime: string): Record<string, unknown> {
  return { id, date_time: dateTime, ...Object.fromEntries(PT.map((c) => [c, 99])) };
}

describe.each(DIALECTS)('late rows on %s', (dialect) => {
  const databases: TestDatabase[] = [];
  async function database(label: string): Promise<TestDatabase> {
    const d = await createTestDatabase(dialect, label);
    databases.push(d);
    return d;
  }
  afterAll(async () => {
    for (const d of databases) await d.drop();
  });

  it('the side table holds, per validity, the highest source id read when it was written', async () => {
    const source = await database('late_side_s');
    const target = await database('late_side_t');
    await fillAdTempSource(source.db, ROWS, 21);
    const run = await scrape(source, target);
    expect(run.report.streams[0].rowsRead).toBe(ROWS);
    const vld = (await targetContent(target.db, spec)).vld;
    const side = await sideRows(target.db);
    expect(vld.length).toBeGreaterThan(10);
    // one row per validity
    expect(side.map((s) => s.seqno)).toEqual(vld.map((v) => Number(v.SEQNO)).sort((a, b) => a - b));
    const vldBySeqno = new Map(vld.map((v) => [Number(v.SEQNO), v]));
    const [{ n: total }] = await source.db(TABLE).max({ n: 'id' });
    for (const s of side) {
      expect(s.table).toBe(TABLE);
      // the first/last entries are the source rows at the validity's ends
      const first = await source.db(TABLE).where({ id: s.firstId }).first();
      const last = await source.db(TABLE).where({ id: s.lastId }).first();
      expect(String(first.date_time)).toBe(s.firstTime);
      expect(String(last.date_time)).toBe(s.lastTime);
      const v = vldBySeqno.get(s.seqno)!;
      expect(String(v.TIMESTART)).toBe(shanghaiToUtc(s.firstTime));
      expect(String(v.TIMEEND)).toBe(shanghaiToUtc(s.lastTime));
      // every row dated up to the validity's end had been read: MAX_ID is at least their max id,
      // and no more than the source's largest id
      const [{ n: readBefore }] = await source.db(TABLE).where('date_time', '<=', s.lastTime).max({ n: 'id' });
      expect(s.maxId).toBeGreaterThanOrEqual(Number(readBefore));
      expect(s.maxId).toBeLessThanOrEqual(Number(total));
    }
    expect(run.logger.messages('warn')).toEqual([]);
    expect(run.metric).toEqual(new Map([[STREAM, 0]]));
  }, 120_000);

  it('a row dated inside a written range that appears later is reported, not scraped; a row after the end is not late', async () => {
    const source = await database('late_rep_s');
    const target = await database('late_rep_t');
    await fillAdTempSource(source.db, ROWS, 22);
    const first = await scrape(source, target);
    expect(first.metric).toEqual(new Map([[STREAM, 0]]));
    const before = await targetContent(target.db, spec);
    const side = await sideRows(target.db);
    const lastMark = side[side.length - 1];
    expect(LATE_TIME < lastMark.lastTime).toBe(true);
    expect(AFTER_TIME > lastMark.lastTime).toBe(true);

    await insertRows(source.db, TABLE, [row(LATE_ID, LATE_TIME), row(AFTER_ID, AFTER_TIME)]);

    // status sees it before the stream writes again
    const [status] = await streamStatuses({ regime: loaded.regime, specs: loaded.specs, source: source.db, target: target.db, clock: new ManualClock(NOW) });
    expect(status.late).toEqual({ count: 1, first: { id: LATE_ID, date_time: LATE_TIME }, before: lastMark.lastTime, maxId: lastMark.maxId });
    expect(renderStreamStatus(status, 'Asia/Shanghai')).toContain(`\n  late           1 entry dated before ${lastMark.lastTime} Asia/Shanghai with ids above ${lastMark.maxId} (appeared after that range was written; not scraped); first id ${LATE_ID} at ${LATE_TIME}\n`);

    const second = await scrape(source, target);
    const warnings = second.logger.messages('warn');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(new RegExp(`^${TABLE}: 1 late row: dated before ${lastMark.lastTime} Asia/Shanghai, already written, with ids above ${lastMark.maxId}, .*first id ${LATE_ID} at ${LATE_TIME};`));
    expect(second.metric).toEqual(new Map([[STREAM, 1]]));
    expect(second.late.length).toBeGreaterThan(0);
    expect(new Set(second.late)).toEqual(new Set([1]));
    // the row after the end was read (it is not late), the late one was not
    expect(second.report.streams[0].rowsRead).toBeGreaterThan(0);
    const ids = (await sideRows(target.db)).map((s) => s.maxId);
    expect(Math.max(...ids)).toBe(AFTER_ID);

    // the target: every validity of the first run as it was, nothing new before its end
    const after = await targetContent(target.db, spec);
    expect(after.vld.slice(0, before.vld.length)).toEqual(before.vld);
    expect(after.payload.slice(0, before.payload.length)).toEqual(before.payload);
    const lastEnd = shanghaiToUtc(lastMark.lastTime);
    for (const v of after.vld.slice(before.vld.length)) expect(String(v.TIMESTART) >= lastEnd).toBe(true);
    // the side table still has one row per validity
    expect((await sideRows(target.db)).length).toBe(after.vld.length);
  }, 120_000);
});

describe('an older target without SCRAPE_SOURCE_IDS (mariadb, creation not allowed)', () => {
  const databases: TestDatabase[] = [];
  afterAll(async () => {
    for (const d of databases) await d.drop();
  });

  it('is written without it, said once; nothing is counted late', async () => {
    const source = await createTestDatabase('mariadb', 'late_old_s');
    const target = await createTestDatabase('mariadb', 'late_old_t');
    databases.push(source, target);
    await fillAdTempSource(source.db, ROWS, 23);
    await scrape(source, target); // creates the tables
    await target.db.raw('DROP TABLE SCRAPE_SOURCE_IDS');
    await fillAdTempSource(source.db, 300, 24, localPlus(START, 10 * ROWS), false, ROWS + 1);
    const validities = (await targetContent(target.db, spec)).vld.length;
    const run = await scrape(source, target, false);
    expect((await targetContent(target.db, spec)).vld.length).toBeGreaterThan(validities);
    expect(await target.db.schema.hasTable('SCRAPE_SOURCE_IDS')).toBe(false);
    const warnings = run.logger.messages('warn');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/^DBNS_SAB_Temp: target has no SCRAPE_SOURCE_IDS table .*late rows of this stream are not detected$/);
    expect(run.metric).toEqual(new Map([[STREAM, 0]]));
  }, 120_000);
});
