import { DIALECTS, createTestDatabase, TestDatabase } from '../support/databases';
import { prepareTargetTables } from '../../engine/dbi/target-tables';
import { DbiWriter, ValidityContext } from '../../engine/dbi/dbi-writer';
import { dumpTarget, lastValidity, readAt, validitiesInRange } from '../../engine/dbi/dbi-reader';
import { ManualClock } from '../../engine/core/clock';
import { testSpec } from './dbi-support';

const SAB_AD1: ValidityContext = { sitemask: 32, simmask: 1, subsite: 1, task: 0, aggregateno: -1 };
const spec = testSpec();
const day = (hms: string) => `2011-02-01 ${hms}`;

describe.each(DIALECTS)('DBI overlay and readers on %s', (dialect) => {
  let t: TestDatabase;
  let clock: ManualClock;
  let writer: DbiWriter;
  beforeEach(async () => {
    t = await createTestDatabase(dialect, 'dbi_reader');
    await prepareTargetTables(t.db, [spec], { create: true, drop: false, location: t.location });
    clock = new ManualClock(Date.UTC(2011, 1, 2, 10, 0, 0)); // INSERTDATEs from 2011-02-02 10:00:00
    writer = new DbiWriter(t.db, spec, { clock });
  });
  afterEach(async () => {
    await t.drop();
  });

  const write = (start: string, end: string, value: number, context: ValidityContext = SAB_AD1) =>
    writer.write([{ timestart: day(start), timeend: day(end), context, rows: [{ value, label: 'a' }, { value: value + 0.5, label: 'b' }] }]);

  it('gives an overlapping validity the overlaid VERSIONDATE + 60 s; readAt picks the newest, rollback the older', async () => {
    expect(await write('00:00:00', '01:00:00', 1)).toEqual([1]); // A, inserted 10:00
    clock.advance(3_600_000);
    expect(await write('00:30:00', '01:30:00', 2)).toEqual([2]); // B overlays A at 00:30, inserted 11:00
    clock.advance(3_600_000);
    expect(await write('00:40:00', '00:50:00', 3)).toEqual([3]); // C inside A and B, inserted 12:00
    expect(await write('01:30:00', '02:00:00', 4)).toEqual([4]); // D starts where B ends: no overlap
    expect(await write('00:30:00', '01:00:00', 5, { ...SAB_AD1, subsite: 2 })).toEqual([5]); // other detector
    expect(await write('00:30:00', '01:00:00', 6, { ...SAB_AD1, simmask: 2 })).toEqual([6]); // other SIMMASK

    const vld = (await dumpTarget(t.db, spec)).vld.map((v) => [v.SEQNO, v.VERSIONDATE, v.INSERTDATE]);
    expect(vld).toEqual([
      [1, day('00:00:00'), '2011-02-02 10:00:00'], // = TIMESTART
      [2, day('00:01:00'), '2011-02-02 11:00:00'], // A's 00:00:00 + 60 s
      [3, day('00:02:00'), '2011-02-02 12:00:00'], // newest of A (00:00) and B (00:01), + 60 s
      [4, day('01:30:00'), '2011-02-02 12:00:00'], // TIMESTART = B's TIMEEND is not covered by B
      [5, day('00:30:00'), '2011-02-02 12:00:00'],
      [6, day('00:30:00'), '2011-02-02 12:00:00'],
    ]);

    const at = async (hms: string, rollback?: string, simmask = 1) =>
      (await readAt(t.db, spec, { at: day(hms), sitemask: 32, subsite: 1, simmask, rollback }))?.vld.SEQNO;
    expect(await at('00:15:00')).toBe(1);
    expect(await at('00:30:00')).toBe(2);
    expect(await at('00:45:00')).toBe(3);
    expect(await at('00:50:00')).toBe(2);
    expect(await at('01:15:00')).toBe(2);
    expect(await at('01:30:00')).toBe(4);
    expect(await at('02:00:00')).toBeUndefined();
    expect(await at('00:45:00', undefined, 2)).toBe(6);
    // rollback: the database as it was before B (11:00) and before C (12:00)
    expect(await at('00:45:00', '2011-02-02 10:30:00')).toBe(1);
    expect(await at('00:45:00', '2011-02-02 11:00:00')).toBe(1); // INSERTDATE < rollback, strictly
    expect(await at('00:45:00', '2011-02-02 11:00:01')).toBe(2);
    expect(await at('01:15:00', '2011-02-02 10:30:00')).toBeUndefined();
    expect(await at('00:45:00', '2011-02-02 10:00:00')).toBeUndefined();

    const found = await readAt(t.db, spec, { at: day('00:45:00'), sitemask: 32, subsite: 1, simmask: 1 });
    expect(found?.rows).toEqual([
      { SEQNO: 3, ROW_COUNTER: 1, value: 3, label: 'a' },
      { SEQNO: 3, ROW_COUNTER: 2, value: 3.5, label: 'b' },
    ]);
  });

  it('applies the overlay rule to earlier validities of the same batch, with one write', async () => {
    const seqnos = await writer.write([
      { timestart: day('02:00:00'), timeend: day('03:00:00'), context: SAB_AD1, rows: [{ value: 1 }] },
      { timestart: day('02:30:00'), timeend: day('02:45:00'), context: SAB_AD1, rows: [{ value: 2 }] },
      { timestart: day('02:40:00'), timeend: day('02:50:00'), context: SAB_AD1, rows: [{ value: 3 }] },
      { timestart: day('02:30:00'), timeend: day('02:45:00'), context: { ...SAB_AD1, sitemask: 1 }, rows: [{ value: 4 }] },
      { timestart: day('03:00:00'), timeend: day('04:00:00'), context: SAB_AD1, rows: [{ value: 5 }] },
    ]);
    expect(seqnos).toEqual([1, 2, 3, 4, 5]);
    const versions = (await dumpTarget(t.db, spec)).vld.map((v) => v.VERSIONDATE);
    expect(versions).toEqual([day('02:00:00'), day('02:01:00'), day('02:02:00'), day('02:30:00'), day('03:00:00')]);
    // and against what is stored: a later batch overlaying 02:41 sees the 02:02 version
    await writer.write([{ timestart: day('02:41:00'), timeend: day('02:42:00'), context: SAB_AD1, rows: [] }]);
    expect((await lastWritten()).VERSIONDATE).toBe(day('02:03:00'));
    expect((await readAt(t.db, spec, { at: day('02:41:30'), sitemask: 32, subsite: 1 }))).toEqual({ vld: await lastWritten(), rows: [] });
  });

  it('overlays as the reader selects (masks by bit): the new payload inside the overlap, the old outside', async () => {
    // M, not written by scrape: SITEMASK 33 (SAB | DayaBay), SIMMASK 3 (data | fake data), a late VERSIONDATE
    await t.db('DcsProbeVld').insert({
      SEQNO: 50, TIMESTART: day('03:00:00'), TIMEEND: day('05:00:00'), SITEMASK: 33, SIMMASK: 3, SUBSITE: 1, TASK: 0, AGGREGATENO: -1,
      VERSIONDATE: day('04:00:00'), INSERTDATE: '2011-02-02 09:00:00',
    });
    await t.db('DcsProbe').insert({ SEQNO: 50, ROW_COUNTER: 1, value: 50, label: 'm' });
    // C starts inside M (33 & 32, 3 & 1): M's VERSIONDATE 04:00 + 60 s; so does D, which starts in M and runs past it
    // (SEQNOs continue from the largest in the table, M's)
    expect(await write('03:30:00', '04:00:00', 3)).toEqual([51]);
    expect(await write('04:30:00', '05:30:00', 4)).toEqual([52]);
    // one batch: E (SITEMASK 33) covers F (SAB) and G (DayaBay) but not H (LingAo: 2 & 33 = 0)
    expect(
      await writer.write([
        { timestart: day('06:00:00'), timeend: day('07:00:00'), context: { ...SAB_AD1, sitemask: 33 }, rows: [{ value: 5 }] },
        { timestart: day('06:30:00'), timeend: day('06:40:00'), context: SAB_AD1, rows: [{ value: 6 }] },
        { timestart: day('06:10:00'), timeend: day('06:20:00'), context: { ...SAB_AD1, sitemask: 1 }, rows: [{ value: 7 }] },
        { timestart: day('06:30:00'), timeend: day('06:40:00'), context: { ...SAB_AD1, sitemask: 2 }, rows: [{ value: 8 }] },
      ]),
    ).toEqual([53, 54, 55, 56]);
    const versions = (await dumpTarget(t.db, spec)).vld.map((v) => [v.SEQNO, v.VERSIONDATE]);
    expect(versions).toEqual([
      [50, day('04:00:00')],
      [51, day('04:01:00')], // C
      [52, day('04:01:00')], // D: C ends at 04:00, M alone covers 04:30
      [53, day('06:00:00')], // E: nothing covers 06:00
      [54, day('06:01:00')], // F: E + 60 s
      [55, day('06:01:00')], // G: E + 60 s
      [56, day('06:30:00')], // H: = TIMESTART
    ]);

    const value = async (hms: string, sitemask = 32, simmask = 1) => (await readAt(t.db, spec, { at: day(hms), sitemask, subsite: 1, simmask }))?.rows[0].value;
    expect(await value('03:15:00')).toBe(50); // before C: M
    expect(await value('03:30:00')).toBe(3); // inside the overlap: C
    expect(await value('03:59:59')).toBe(3);
    expect(await value('04:00:00')).toBe(50); // after C: M again
    expect(await value('04:30:00')).toBe(4); // D from its TIMESTART on
    expect(await value('05:15:00')).toBe(4); // and past M
    expect(await value('03:45:00', 1)).toBe(50); // DayaBay reads M: C is SAB's only
    expect(await value('03:45:00', 32, 2)).toBe(50); // fake data reads M: C is data only
    expect(await value('06:35:00')).toBe(6);
    expect(await value('06:45:00')).toBe(5);
    expect(await value('06:15:00', 1)).toBe(7);
    expect(await value('06:35:00', 2)).toBe(8); // LingAo: H only
  });

  async function lastWritten() {
    const { vld } = await dumpTarget(t.db, spec);
    return vld[vld.length - 1];
  }

  it('lastValidity: largest TIMEEND, ties to the larger SEQNO, per context', async () => {
    expect(await lastValidity(t.db, spec, { sitemask: 32, subsite: 1 })).toBeUndefined();
    await write('00:00:00', '01:00:00', 1); // 1
    await write('00:30:00', '01:00:00', 2); // 2: same TIMEEND as 1
    await write('00:00:00', '00:30:00', 3); // 3: written later, ends earlier
    await write('05:00:00', '06:00:00', 4, { ...SAB_AD1, subsite: 2 }); // 4: other detector
    await write('05:00:00', '06:00:00', 5, { ...SAB_AD1, sitemask: 1 }); // 5: other site
    await write('07:00:00', '08:00:00', 6, { ...SAB_AD1, simmask: 2 }); // 6: other SIMMASK
    await write('07:00:00', '08:00:00', 7, { ...SAB_AD1, task: 3 }); // 7: other TASK
    const last = (ctx: { sitemask: number; subsite: number; simmask?: number; task?: number }) => lastValidity(t.db, spec, ctx).then((v) => v?.SEQNO);
    expect(await last({ sitemask: 32, subsite: 1, simmask: 1, task: 0 })).toBe(2);
    expect(await last({ sitemask: 32, subsite: 2 })).toBe(4);
    expect(await last({ sitemask: 1, subsite: 1 })).toBe(5);
    expect(await last({ sitemask: 32, subsite: 1, simmask: 2 })).toBe(6);
    expect(await last({ sitemask: 32, subsite: 1, task: 3 })).toBe(7);
    expect(await last({ sitemask: 32, subsite: 3 })).toBeUndefined();
    const row = await lastValidity(t.db, spec, { sitemask: 32, subsite: 1, simmask: 1, task: 0 });
    expect(row).toEqual({
      SEQNO: 2, TIMESTART: day('00:30:00'), TIMEEND: day('01:00:00'), SITEMASK: 32, SIMMASK: 1, SUBSITE: 1, TASK: 0, AGGREGATENO: -1,
      VERSIONDATE: day('00:01:00'), INSERTDATE: '2011-02-02 10:00:00',
    });
  });

  it('validitiesInRange: those overlapping [from, to) of the context by TIMESTART, each with its payload row', async () => {
    expect(await write('00:00:00', '00:10:00', 1)).toEqual([1]); // ends at from: out
    expect(await write('00:10:00', '00:20:00', 2)).toEqual([2]); // starts at from: in
    expect(await write('00:20:00', '00:40:00', 3)).toEqual([3]);
    expect(await write('00:40:00', '00:50:00', 4)).toEqual([4]); // starts at to: out
    expect(await write('00:15:00', '00:25:00', 5, { ...SAB_AD1, subsite: 2 })).toEqual([5]); // other context: out
    expect(await write('00:05:00', '00:15:00', 6)).toEqual([6]); // overlays 1 and 2: in, by TIMESTART first
    const range = { from: day('00:10:00'), to: day('00:40:00') };
    const found = await validitiesInRange(t.db, spec, { sitemask: 32, subsite: 1 }, range);
    expect(found.map((f) => [f.vld.SEQNO, f.vld.TIMESTART, f.vld.TIMEEND, f.row?.ROW_COUNTER, f.row?.value, f.row?.label])).toEqual([
      [6, day('00:05:00'), day('00:15:00'), 1, 6, 'a'],
      [2, day('00:10:00'), day('00:20:00'), 1, 2, 'a'],
      [3, day('00:20:00'), day('00:40:00'), 1, 3, 'a'],
    ]);
    const second = await validitiesInRange(t.db, spec, { sitemask: 32, subsite: 1, task: 0 }, { ...range, rowCounter: 2 });
    expect(second.map((f) => [f.vld.SEQNO, f.row?.value, f.row?.label])).toEqual([[6, 6.5, 'b'], [2, 2.5, 'b'], [3, 3.5, 'b']]);
    const none = await validitiesInRange(t.db, spec, { sitemask: 32, subsite: 1 }, { ...range, rowCounter: 3 });
    expect(none.map((f) => [f.vld.SEQNO, f.row])).toEqual([[6, undefined], [2, undefined], [3, undefined]]);
    expect(await validitiesInRange(t.db, spec, { sitemask: 32, subsite: 1, task: 1 }, range)).toEqual([]);
  });
});
