import { Knex } from 'knex';
import { DIALECTS, createTestDatabase, expectRejection, TestDatabase } from '../support/databases';
import { prepareTargetTables } from '../../engine/dbi/target-tables';
import { DbiReadQuery, readAt, readContextAt } from '../../engine/dbi/dbi-reader';
import { testSpec } from './dbi-support';

const spec = testSpec();
const day = (hms: string) => `2011-02-01 ${hms}`;

/** A hand-built Vld row: times of 2011-02-01 as HH:MM[:SS], INSERTDATE as full UTC text. */
interface Vld {
  seqno: number;
  start: string;
  end: string;
  site: number;
  sim: number;
  subsite?: number;
  task?: number;
  agg?: number;
  version: string;
  insert?: string;
  /** ROW_COUNTERs of its payload rows, in the order they are inserted; default [1]. */
  rows?: number[];
}

const hms = (t: string) => day(t.length === 5 ? `${t}:00` : t);

/** Inserts Vld rows and their payload (value = SEQNO * 10 + ROW_COUNTER, label `s<SEQNO>r<ROW_COUNTER>`). */
async function insert(db: Knex, rows: Vld[]): Promise<void> {
  await db('DcsProbeVld').insert(
    rows.map((r) => ({
      SEQNO: r.seqno, TIMESTART: hms(r.start), TIMEEND: hms(r.end), SITEMASK: r.site, SIMMASK: r.sim, SUBSITE: r.subsite ?? 1,
      TASK: r.task ?? 0, AGGREGATENO: r.agg ?? -1, VERSIONDATE: hms(r.version), INSERTDATE: r.insert ?? '2011-02-02 10:00:00',
    })),
  );
  const payload = rows.flatMap((r) => (r.rows ?? [1]).map((n) => ({ SEQNO: r.seqno, ROW_COUNTER: n, value: r.seqno * 10 + n, label: `s${r.seqno}r${n}` })));
  await db('DcsProbe').insert(payload);
}

describe.each(DIALECTS)('readContextAt, the DBI reader, on %s', (dialect) => {
  let t: TestDatabase;
  beforeEach(async () => {
    t = await createTestDatabase(dialect, 'dbi_read_ctx');
    await prepareTargetTables(t.db, [spec], { create: true, drop: false, location: t.location });
  });
  afterEach(async () => {
    await t.drop();
  });

  /** The winners' SEQNOs by AGGREGATENO, e.g. `{ '-1': 2 }`. */
  const winners = async (q: Partial<DbiReadQuery> & { at: string }) => {
    const found = await readContextAt(t.db, spec, { site: 1, subsite: 1, ...q, at: hms(q.at) });
    return Object.fromEntries(found.map((f) => [String(f.aggregateno), f.vld.SEQNO]));
  };

  it('tests SITEMASK and SIMMASK by bit, SUBSITE and TASK by equality, SimFlag 1 and TASK 0 by default', async () => {
    await insert(t.db, [
      { seqno: 1, start: '00:00', end: '06:00', site: 1, sim: 1, version: '00:00' },
      { seqno: 2, start: '00:00', end: '06:00', site: 3, sim: 1, version: '00:10' }, // DayaBay | LingAo
      { seqno: 3, start: '03:00', end: '04:00', site: 1, sim: 5, version: '03:00' }, // data | MC
      { seqno: 4, start: '05:00', end: '06:00', site: -1, sim: 1, version: '05:00' }, // tinyint 0xFF: every site
      { seqno: 5, start: '00:00', end: '06:00', site: 1, sim: 4, version: '02:00' }, // MC only
      { seqno: 6, start: '00:00', end: '06:00', site: 1, sim: 1, task: 1, version: '02:00' },
      { seqno: 7, start: '00:00', end: '06:00', site: 1, sim: 1, subsite: 2, version: '04:00' },
    ]);
    // site 1, data, task 0 at 01:00: 1 (V 00:00) and 2 (3 & 1; V 00:10); 5 is MC, 6 task 1, 7 SUBSITE 2
    expect(await winners({ at: '01:00' })).toEqual({ '-1': 2 });
    // site 2: only 2 (3 & 2); 4 (-1 & 2) starts at 05:00
    expect(await winners({ at: '01:00', site: 2 })).toEqual({ '-1': 2 });
    // site 4: only 4 has the bit, not yet valid
    expect(await winners({ at: '01:00', site: 4 })).toEqual({});
    // 03:30: 1, 2 and 3 (5 & 1): newest VERSIONDATE 03:00
    expect(await winners({ at: '03:30' })).toEqual({ '-1': 3 });
    // MC (SimFlag 4): 3 (5 & 4, V 03:00) beats 5 (V 02:00); at 01:00 only 5
    expect(await winners({ at: '03:30', simflag: 4 })).toEqual({ '-1': 3 });
    expect(await winners({ at: '01:00', simflag: 4 })).toEqual({ '-1': 5 });
    // SimFlag 2: no SIMMASK here has it
    expect(await winners({ at: '03:30', simflag: 2 })).toEqual({});
    expect(await winners({ at: '01:00', task: 1 })).toEqual({ '-1': 6 });
    expect(await winners({ at: '01:00', subsite: 2 })).toEqual({ '-1': 7 });
    // 05:30: 1, 2 and 4 (-1 & 1): 4's V 05:00 is newest; 4 serves SAB and LingAo too
    expect(await winners({ at: '05:30' })).toEqual({ '-1': 4 });
    expect(await winners({ at: '05:30', site: 32 })).toEqual({ '-1': 4 });
    expect(await winners({ at: '05:30', site: 2 })).toEqual({ '-1': 4 });

    for (const bad of [{ site: 3 }, { site: 0 }, { simflag: 6 }, { site: 128 }]) {
      await expectRejection(readContextAt(t.db, spec, { at: day('01:00:00'), site: 1, subsite: 1, ...bad }), /one (site|SimFlag) bit/);
    }
  });

  it('returns the winner of every AGGREGATENO with its payload in ROW_COUNTER order', async () => {
    await insert(t.db, [
      { seqno: 11, start: '00:00', end: '02:00', site: 32, sim: 1, agg: 0, version: '00:00' },
      { seqno: 12, start: '01:00', end: '02:00', site: 32, sim: 1, agg: 0, version: '01:00', rows: [3, 1, 2] },
      { seqno: 13, start: '00:00', end: '02:00', site: 32, sim: 1, agg: 1, version: '00:00' },
      { seqno: 14, start: '01:30', end: '03:00', site: 32, sim: 1, agg: 2, version: '01:30' },
      { seqno: 15, start: '00:00', end: '03:00', site: 1, sim: 1, agg: 3, version: '00:00' }, // another site
    ]);
    const sab = { site: 32 };
    // 00:30: aggregate 0 has only 11, aggregate 1 13; 14 starts at 01:30
    expect(await winners({ ...sab, at: '00:30' })).toEqual({ 0: 11, 1: 13 });
    // 01:15: 12 (V 01:00) overlays 11 (V 00:00) in aggregate 0
    expect(await winners({ ...sab, at: '01:15' })).toEqual({ 0: 12, 1: 13 });
    expect(await winners({ ...sab, at: '01:45' })).toEqual({ 0: 12, 1: 13, 2: 14 });
    expect(await winners({ ...sab, at: '01:45', aggregateno: 2 })).toEqual({ 2: 14 });
    expect(await winners({ ...sab, at: '02:30' })).toEqual({ 2: 14 });

    const found = await readContextAt(t.db, spec, { at: day('01:45:00'), site: 32, subsite: 1 });
    expect(found.map((f) => f.aggregateno)).toEqual([0, 1, 2]);
    expect(found[0]).toEqual({
      aggregateno: 0,
      vld: {
        SEQNO: 12, TIMESTART: day('01:00:00'), TIMEEND: day('02:00:00'), SITEMASK: 32, SIMMASK: 1, SUBSITE: 1, TASK: 0, AGGREGATENO: 0,
        VERSIONDATE: day('01:00:00'), INSERTDATE: '2011-02-02 10:00:00',
      },
      rows: [
        { SEQNO: 12, ROW_COUNTER: 1, value: 121, label: 's12r1' },
        { SEQNO: 12, ROW_COUNTER: 2, value: 122, label: 's12r2' },
        { SEQNO: 12, ROW_COUNTER: 3, value: 123, label: 's12r3' },
      ],
    });
    expect(found[2].rows).toEqual([{ SEQNO: 14, ROW_COUNTER: 1, value: 141, label: 's14r1' }]);

    // readAt gives one aggregate: the one named, or the only one answering
    expect((await readAt(t.db, spec, { at: day('01:45:00'), sitemask: 32, subsite: 1, aggregateno: 1 }))?.vld.SEQNO).toBe(13);
    expect((await readAt(t.db, spec, { at: day('02:30:00'), sitemask: 32, subsite: 1 }))?.vld.SEQNO).toBe(14);
    await expectRejection(readAt(t.db, spec, { at: day('01:45:00'), sitemask: 32, subsite: 1 }), /3 aggregates .*AGGREGATENO 0, 1, 2/);
  });

  it('reads [TIMESTART, TIMEEND): nested and partial overlays, equal VERSIONDATEs to the larger SEQNO', async () => {
    await insert(t.db, [
      { seqno: 21, start: '00:00', end: '04:00', site: 1, sim: 1, version: '00:00' },
      { seqno: 23, start: '01:30', end: '03:00', site: 1, sim: 1, version: '00:01' }, // partly over 22, same VERSIONDATE
      { seqno: 22, start: '01:00', end: '02:00', site: 1, sim: 1, version: '00:01' }, // nested in 21
      { seqno: 24, start: '03:00', end: '03:30', site: 1, sim: 1, version: '00:05' },
    ]);
    const expected: [string, number | undefined][] = [
      ['00:59:59', 21],
      ['01:00:00', 22], // TIMESTART = t counts
      ['01:29:59', 22],
      ['01:30:00', 23], // 22 and 23 both V 00:01: the larger SEQNO
      ['01:59:59', 23],
      ['02:00:00', 23],
      ['02:59:59', 23],
      ['03:00:00', 24], // 23 ends, 24 starts
      ['03:29:59', 24],
      ['03:30:00', 21], // TIMEEND = t does not count: 24 (V 00:05) is out
      ['03:59:59', 21],
      ['04:00:00', undefined],
    ];
    for (const [at, seqno] of expected) expect([at, (await winners({ at }))['-1']]).toEqual([at, seqno]);
  });

  it('rolls back by INSERTDATE (strictly before) and by VERSIONDATE', async () => {
    await insert(t.db, [
      { seqno: 31, start: '00:00', end: '02:00', site: 1, sim: 1, version: '00:00', insert: '2011-02-02 10:00:00' },
      { seqno: 32, start: '00:30', end: '01:30', site: 1, sim: 1, version: '00:01', insert: '2011-02-02 11:00:00' },
      { seqno: 33, start: '01:00', end: '01:10', site: 1, sim: 1, version: '00:02', insert: '2011-02-02 12:00:00' },
    ]);
    const at = async (rollback?: string, rollbackVersion?: string, time = '01:05') =>
      (await winners({ at: time, rollback: rollback && `2011-02-02 ${rollback}`, rollbackVersion: rollbackVersion && day(rollbackVersion) }))['-1'];
    expect(await at()).toBe(33);
    expect(await at('12:00:01')).toBe(33);
    expect(await at('12:00:00')).toBe(32); // 33 was inserted at 12:00:00, not before
    expect(await at('11:30:00')).toBe(32);
    expect(await at('11:00:00')).toBe(31);
    expect(await at('10:00:00')).toBeUndefined();
    expect(await at('12:00:01', undefined, '01:20')).toBe(32); // 33 has ended
    expect(await at(undefined, '00:02:01')).toBe(33);
    expect(await at(undefined, '00:02:00')).toBe(32); // VERSIONDATE 00:02 is not before 00:02
    expect(await at(undefined, '00:01:00')).toBe(31);
    expect(await at(undefined, '00:00:00')).toBeUndefined();
    expect(await at('12:00:01', '00:01:30')).toBe(32);
    expect(await at('11:00:00', '00:02:01')).toBe(31);
  });
});
