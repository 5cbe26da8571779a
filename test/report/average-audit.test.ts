import { Knex } from 'knex';
import { loadRegime } from '../../engine/config/load-regime';
import { silentLogger } from '../../engine/core/logger';
import { isScrapeError } from '../../engine/core/errors';
import { DbiWriter } from '../../engine/dbi/dbi-writer';
import { repairRegime } from '../../engine/report/repair-regime';
import { TargetLock } from '../../engine/session/target-lock';
import { DIALECTS, createTestDatabase, TestDatabase } from '../support/databases';
import { localPlus } from '../support/source-fixture';
import { runCli } from '../support/cli';
import { ROOT } from '../ops/ops-support';
import { vldSpanBySql, vldSpanRow } from '../dbi/dbi-support';
import { LID_ROW_COLUMNS, LidRow, QUANTITIES, createLidTable, insertLidRows, lidRows, timeOf } from '../averager/lid-fixture';

/**
 * The averager's side of the audit on adlid (hourly bins of the good entries, SensorStatus = 0,
 * TASK 1): `scrape verify --average` against injected differences, `scrape average --dry-run`,
 * and `scrape repair --average` after a late row, on SQLite and MariaDB. Expected bins and
 * averages come from SQL over the source.
 */

const loaded = loadRegime('adlid', { cwd: ROOT, env: {} });
const spec = loaded.specs.get('GDcsAdLidSensor')!;
const TABLE = 'AD1_LidSensor';
const START = '2012-02-01 00:00:03';
const HOURS = 8;
const SECONDS = HOURS * 3600 + 1200; // 8 h 20 min: eight complete hours
/** adlid's averager context (regimes.d/adlid.yaml: AD1 -> sitemask 1, subsite 1; averager.task 1), by hand. */
const CONTEXT = { SITEMASK: 1, SUBSITE: 1, SIMMASK: 1, TASK: 1, AGGREGATENO: -1 };
const SCOPE = { table: 'DcsAdLidSensor', context: { sitemask: 1, subsite: 1, simmask: 1, task: 1, aggregateno: -1 } };
/** Asia/Shanghai is UTC+8 without DST since 1991, by hand. */
const toUtc = (local: string) => localPlus(local, -8 * 3600);
const toLocal = (utc: string) => localPlus(utc, 8 * 3600);
const text = (v: unknown) => (v instanceof Date ? v.toISOString().slice(0, 19).replace('T', ' ') : String(v).slice(0, 19));

interface Vld {
  SEQNO: number;
  TIMESTART: string;
  TIMEEND: string;
}

async function vlds(db: Knex): Promise<Vld[]> {
  const rows = await db('DcsAdLidSensorVld').where(CONTEXT).select('SEQNO', 'TIMESTART', 'TIMEEND').orderBy([{ column: 'TIMESTART' }, { column: 'SEQNO' }]);
  return rows.map((r: Record<string, unknown>) => ({ SEQNO: Number(r.SEQNO), TIMESTART: text(r.TIMESTART), TIMEEND: text(r.TIMEEND) }));
}

/** Per local hour `YYYY-MM-DD HH` with good entries: first and last good time, by SQL. */
async function goodHours(db: Knex): Promise<{ h: string; t0: string; t1: string }[]> {
  const rows = await db(TABLE)
    .where('SensorStatus', 0)
    .andWhere('date_time', '>=', '2010-01-01 00:00:00')
    .select(db.raw('substr(date_time, 1, 13) AS h'))
    .min({ t0: 'date_time' })
    .max({ t1: 'date_time' })
    .groupByRaw('substr(date_time, 1, 13)')
    .orderBy('h');
  return rows.map((r: Record<string, unknown>) => ({ h: String(r.h), t0: text(r.t0), t1: text(r.t1) }));
}

/** SQL AVG of a column over the good entries of a local hour. */
async function hourAverage(db: Knex, hour: string, column: string): Promise<number> {
  const [{ a }] = await db(TABLE).where('SensorStatus', 0).andWhere('date_time', '>=', `${hour}:00:00`).andWhere('date_time', '<', localPlus(`${hour}:00:00`, 3600)).avg({ a: column });
  return Number(a);
}

async function counts(db: Knex): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const t of ['DcsAdLidSensorVld', 'DcsAdLidSensor', 'SCRAPE_PROVENANCE', 'SCRAPE_SOURCE_IDS']) out[t] = Number((await db(t).count({ n: '*' }))[0].n);
  out.LASTUSEDSEQNO = Number((await db('LOCALSEQNO').where('TABLENAME', 'DcsAdLidSensor').first('LASTUSEDSEQNO')).LASTUSEDSEQNO);
  return out;
}

/** A good row dated `at` (local), every reading `value` far from the fixture's, id far above the fixture's. */
function lateRow(id: number, at: string, value: number): LidRow {
  return LID_ROW_COLUMNS.map((c) => (c === 'id' ? id : c === 'date_time' ? at : c === 'SensorStatus' ? 0 : QUANTITIES.includes(c as (typeof QUANTITIES)[number]) ? value : null)) as LidRow;
}

describe.each(DIALECTS)('the averager audited (adlid) on %s', (dialect) => {
  const dbs: TestDatabase[] = [];
  afterAll(async () => {
    for (const d of dbs) await d.drop();
  });
  async function database(label: string): Promise<TestDatabase> {
    const d = await createTestDatabase(dialect, label);
    dbs.push(d);
    return d;
  }
  async function lidSource(label: string, rows: LidRow[]): Promise<TestDatabase> {
    const s = await database(label);
    await createLidTable(s.db, TABLE);
    await insertLidRows(s.db, TABLE, rows);
    return s;
  }
  const average = async (source: TestDatabase, target: TestDatabase) => {
    const r = await runCli(['average', 'adlid', '--source', source.url, '--target', target.url, '--until-caught-up', '--allow-drop-create-table']);
    expect(r.code).toBe(0);
  };
  const verify = (source: TestDatabase, target: TestDatabase, extra: string[] = []) => runCli(['verify', 'adlid', '--average', '--source', source.url, '--target', target.url, ...extra]);
  const rows = lidRows(START, SECONDS, 4242);

  it('verify --average: equal on an untouched target; exactly a deleted bin, an altered aggregate and a late row after injecting them', async () => {
    const source = await lidSource('fake_avgaudit_verify_s', rows);
    const target = await database('avgaudit_verify_t');
    await average(source, target);
    const v = await vlds(target.db);
    // one validity per complete hour with good entries, by SQL
    expect(v.map((x) => [x.TIMESTART, x.TIMEEND])).toEqual((await goodHours(source.db)).slice(0, HOURS).map((h) => [toUtc(h.t0), toUtc(h.t1)]));
    const equal = await verify(source, target);
    expect(equal.stderr).not.toMatch(/error/i); // the fixture's rows before timefloor are warned of
    expect(equal.code).toBe(0);
    expect(equal.stdout).toContain(`AD1_LidSensor -> DcsAdLidSensor  sitemask 1 subsite 1 simmask 1 task 1 aggregateno -1  from the start to the target's last validity UTC: ${HOURS} replayed, ${HOURS} in the target; 0 missing, 0 extra, 0 different`);
    expect(equal.stdout.trim().split('\n').pop()).toBe('equal');

    const gone = v[2];
    const altered = v[4];
    const lateHour = v[6];
    await target.db('DcsAdLidSensorVld').where('SEQNO', gone.SEQNO).del();
    await target.db('DcsAdLidSensor').where('SEQNO', gone.SEQNO).del();
    // float column: 0.5 is far beyond its 6 digits
    await target.db('DcsAdLidSensor').where('SEQNO', altered.SEQNO).update({ Temp_GdLS_avg: target.db.raw('Temp_GdLS_avg + 0.5') });
    // a late row in the middle of a written hour (between its first and last good entries)
    const lateAt = localPlus(toLocal(lateHour.TIMESTART), 1805);
    expect(lateAt < toLocal(lateHour.TIMEEND)).toBe(true);
    await insertLidRows(source.db, TABLE, [lateRow(900_001, lateAt, 50)]);
    const r = await verify(source, target, ['--json']);
    expect(r.code).toBe(1);
    const report = JSON.parse(r.stdout);
    expect(report.differences.map((d: Record<string, unknown>) => [d.kind, d.timestart ?? null, d.timeend ?? null, d.seqno ?? null, d.row ?? null])).toEqual([
      ['missing', gone.TIMESTART, gone.TIMEEND, null, null],
      ['different', altered.TIMESTART, altered.TIMEEND, altered.SEQNO, null],
      ['late', null, null, null, { id: 900_001, date_time: lateAt }],
    ]);
    expect(report.differences[1].detail).toMatch(/^row 1 Temp_GdLS_avg: /);
    expect(report.targets[0]).toMatchObject({ replayed: HOURS, held: HOURS - 1, missing: 1, extra: 0, different: 1 });
    const human = await verify(source, target);
    expect(human.code).toBe(1);
    expect(human.stdout).toMatch(/^missing +DcsAdLidSensor/m);
    expect(human.stdout).toMatch(/^late +AD1_LidSensor +id 900001/m);
    expect(human.stdout.trim().split('\n').pop()).toBe('3 differences');
  });

  it('average --dry-run prints the bins SQL finds complete after the last one written, and writes nothing', async () => {
    const SPLIT = '2012-02-01 03:27:41';
    const source = await lidSource('fake_avgaudit_dry_s', rows.filter((r) => timeOf(r) <= SPLIT));
    const target = await database('avgaudit_dry_t');
    await average(source, target);
    const written = await vlds(target.db);
    expect(written).toHaveLength(3); // hours 00, 01, 02; 03 holds the latest entry
    await insertLidRows(source.db, TABLE, rows.filter((r) => timeOf(r) > SPLIT));
    const before = await counts(target.db);
    const dry = await runCli(['average', 'adlid', '--source', source.url, '--target', target.url, '--dry-run']);
    expect(dry.stderr).not.toMatch(/error/i);
    expect(dry.code).toBe(0);
    expect(await counts(target.db)).toEqual(before);
    const printed = dry.stdout.split('\n').filter((l) => l.startsWith('DcsAdLidSensor  1/1/1/1/-1  ['));
    expect(printed.length).toBe(dry.stdout.trim().split('\n').length);
    // by SQL: the hours with good entries after the last written bin's hour, before the latest entry's hour
    const latest = text((await source.db(TABLE).max({ t: 'date_time' }))[0].t).slice(0, 13);
    const lastWritten = toLocal(written[written.length - 1].TIMESTART).slice(0, 13);
    const expected = (await goodHours(source.db)).filter((h) => h.h > lastWritten && h.h < latest);
    expect(expected).toHaveLength(HOURS - 3);
    expect(printed.map((l) => /\[(\S+ \S+), (\S+ \S+)\) UTC {2}\[(\S+ \S+), (\S+ \S+)\) Asia\/Shanghai {2}bin {2}1 row: /.exec(l)?.slice(1))).toEqual(
      expected.map((h) => [toUtc(h.t0), toUtc(h.t1), h.t0, h.t1]),
    );
    // and a real run writes exactly those
    await average(source, target);
    expect((await vlds(target.db)).slice(3).map((x) => [x.TIMESTART, x.TIMEEND])).toEqual(expected.map((h) => [toUtc(h.t0), toUtc(h.t1)]));
  });

  it('repair --average after a late row: query --at sees the corrected average, --rollback the old one, verify --average is equal', async () => {
    const source = await lidSource('fake_avgaudit_repair_s', rows);
    const target = await database('avgaudit_repair_t');
    await average(source, target);
    const v = await vlds(target.db);
    // a bin from the fourth on whose last good entry is before hh:59:59 (room for a late row after it)
    const k = v.findIndex((x, i) => i >= 3 && toLocal(x.TIMEEND).slice(14) < '59:59');
    expect(k).toBeGreaterThan(0);
    expect(k).toBeLessThan(v.length - 1);
    const bin = v[k];
    const hour = toLocal(bin.TIMESTART).slice(0, 13);
    const lateAt = `${hour}:31:05`;
    expect(lateAt > toLocal(bin.TIMESTART) && lateAt < toLocal(bin.TIMEEND)).toBe(true);
    // and one after the hour's last good entry: the repaired bin ends there (its entry at TIMEEND is in the bin)
    const lateEnd = `${hour}:59:59`;
    expect(lateEnd > toLocal(bin.TIMEEND)).toBe(true);
    await insertLidRows(source.db, TABLE, [lateRow(900_002, lateAt, 40), lateRow(900_004, lateEnd, 40)]);
    const at = toUtc(`${hour}:40:00`);
    const avgAt = async (extra: string[] = []): Promise<{ avg: number; count: number; seqno: number; why: Record<string, unknown> }> => {
      const r = await runCli(['query', 'DcsAdLidSensor', '--at', at, '--site', '1', '--subsite', '1', '--task', '1', '--target', target.url, '--json', ...extra]);
      expect(r.code).toBe(0);
      const [a] = JSON.parse(r.stdout).aggregates;
      return { avg: Number(a.rows[0].Temp_GdLS_avg), count: Number(a.rows[0].count), seqno: Number(a.vld.SEQNO), why: a.why };
    };
    const old = await avgAt();
    expect(old.seqno).toBe(bin.SEQNO);
    const [{ n: goodBefore }] = await source.db(TABLE).where('SensorStatus', 0).andWhere('date_time', '>=', `${hour}:00:00`).andWhere('date_time', '<=', `${hour}:59:59`).whereNotIn('id', [900_002, 900_004]).count({ n: '*' });
    expect(old.count).toBe(Number(goodBefore));
    const from = toUtc(`${hour}:00:00`);
    const to = toUtc(localPlus(`${hour}:00:00`, 3600));
    const repair = (extra: string[] = []) => runCli(['repair', 'adlid', '--average', '--source', source.url, '--target', target.url, '--from', from, '--to', to, ...extra]);

    // refused while another writer holds the averager's (table, context) lock, and past the last bin's start
    const lock = TargetLock.for(target.location, [SCOPE]);
    expect(await lock.tryAcquire()).toBe(true);
    try {
      const held = await repair();
      expect(held.code).toBe(1);
      expect(held.stderr).toMatch(/LOCK_HELD/);
    } finally {
      await lock.release();
    }
    const last = v[v.length - 1];
    const past = await runCli(['repair', 'adlid', '--average', '--source', source.url, '--target', target.url, '--from', from, '--to', localPlus(last.TIMESTART, 1)]);
    expect(past.code).toBe(1);
    expect(past.stderr).toMatch(/REPAIR_RANGE.*the last validity, which the averager is still writing/);
    expect(past.stderr).toContain(last.TIMESTART);
    expect(await vlds(target.db)).toEqual(v);

    const before = await verify(source, target);
    expect(before.code).toBe(1);
    await new Promise((r) => setTimeout(r, 1100)); // INSERTDATE is whole seconds: the repair's must be later than the run's
    const done = await repair();
    expect(done.stderr).not.toMatch(/error/i);
    expect(done.code).toBe(0);
    expect(done.stdout).toContain(`AD1_LidSensor -> DcsAdLidSensor  sitemask 1 subsite 1 simmask 1 task 1 aggregateno -1  [${v[k - 1].TIMEEND}, ${to}) UTC: 1 validities written`);
    expect(done.stdout).toContain(`overlaying SEQNO ${bin.SEQNO}`);
    // nothing edited or deleted: one validity added, the bin's range as SQL finds it with the late row
    const after = await vlds(target.db);
    expect(after.length).toBe(v.length + 1);
    const added = after.find((x) => !v.some((o) => o.SEQNO === x.SEQNO))!;
    const [{ t0, t1 }] = await source.db(TABLE).where('SensorStatus', 0).andWhere('date_time', '>=', `${hour}:00:00`).andWhere('date_time', '<', localPlus(`${hour}:00:00`, 3600)).min({ t0: 'date_time' }).max({ t1: 'date_time' });
    expect([added.TIMESTART, added.TIMEEND]).toEqual([toUtc(text(t0)), toUtc(text(t1))]);
    expect(added.TIMEEND).toBe(toUtc(lateEnd));
    const versions = await target.db('DcsAdLidSensorVld').whereIn('SEQNO', [bin.SEQNO, added.SEQNO]).select('SEQNO', 'VERSIONDATE', 'INSERTDATE');
    const version = new Map(versions.map((r: Record<string, unknown>) => [Number(r.SEQNO), text(r.VERSIONDATE)]));
    expect(version.get(added.SEQNO)! > version.get(bin.SEQNO)!).toBe(true);

    // the corrected average: SQL AVG over the hour's good rows, the late one (40.00) included
    const now = await avgAt();
    expect(now.seqno).toBe(added.SEQNO);
    const want = await hourAverage(source.db, hour, 'Temp_GdLS');
    expect(Math.abs(now.avg - want)).toBeLessThanOrEqual(1e-5 * Math.abs(want));
    expect(now.count).toBe(Number(goodBefore) + 2);
    expect(now.avg).toBeGreaterThan(old.avg);
    expect(now.why).toMatchObject({ reason: 'repair', overlays: [bin.SEQNO], sourceTable: TABLE, samples: Number(goodBefore) + 2 });
    // the repair's INSERTDATE, by SQL: rolled back to it, readers see the old bin
    const rollback = text(versions.find((r: Record<string, unknown>) => Number(r.SEQNO) === added.SEQNO)!.INSERTDATE);
    const then = await avgAt(['--rollback', rollback]);
    expect(then.seqno).toBe(bin.SEQNO);
    expect(then.avg).toBe(old.avg);

    const eq = await verify(source, target);
    expect(eq.stdout.trim().split('\n').pop()).toBe('equal');
    expect(eq.code).toBe(0);
    const again = await repair();
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/nothing to repair/);
    // the averager's and the repair's writes kept SCRAPE_VLD_SPAN: the longest bin and the last SEQNO (the repair's), as SQL finds them
    const bySql = await vldSpanBySql(target.db, 'DcsAdLidSensor');
    expect(bySql!.seqno).toBe(added.SEQNO);
    expect(await vldSpanRow(target.db, 'DcsAdLidSensor')).toEqual(bySql);
  });

  it('repair --average is fenced: a bin appended by another writer between its look and its write stops it, nothing of it written', async () => {
    const source = await lidSource('fake_avgaudit_fence_s', rows);
    const target = await database('avgaudit_fence_t');
    await average(source, target);
    const v = await vlds(target.db);
    const hour = toLocal(v[3].TIMESTART).slice(0, 13);
    await insertLidRows(source.db, TABLE, [lateRow(900_003, `${hour}:31:05`, 40)]);
    const last = v[v.length - 1];
    let error: unknown;
    try {
      await repairRegime({
        regime: loaded.regime, specs: loaded.specs, source: source.db, target: target.db, targetLocation: target.location, logger: silentLogger, mode: 'average',
        from: toUtc(`${hour}:00:00`), to: toUtc(localPlus(`${hour}:00:00`, 3600)),
        beforeWrite: async () => {
          await new DbiWriter(target.db, spec).write([{ timestart: localPlus(last.TIMEEND, 10), timeend: localPlus(last.TIMEEND, 3000), context: SCOPE.context, rows: [{}] }]);
        },
      });
    } catch (err) {
      error = err;
    }
    expect(isScrapeError(error) && error.code).toBe('FENCE_MOVED');
    expect((await vlds(target.db)).length).toBe(v.length + 1); // the other writer's one, none of the repair's
  });
});
