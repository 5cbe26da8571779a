import { DIALECTS, createTestDatabase, TestDatabase } from '../support/databases';
import { prepareTargetTables } from '../../engine/dbi/target-tables';
import { DbiWriter, Propagation, ValidityContext } from '../../engine/dbi/dbi-writer';
import { fenceAfter } from '../../engine/dbi/fence';
import { lastValidity } from '../../engine/dbi/dbi-reader';
import { isScrapeError } from '../../engine/core/errors';
import { testSpec } from './dbi-support';

const AD1: ValidityContext = { sitemask: 32, simmask: 1, subsite: 1, task: 0, aggregateno: -1 };
const AD2: ValidityContext = { ...AD1, subsite: 2 };

/** One propagation of `context` over [minute a, minute b) of 2011-02-01 (UTC text). */
function prop(context: ValidityContext, a: number, b: number, value = a): Propagation {
  const t = (m: number) => `2011-02-01 00:${String(m).padStart(2, '0')}:00`;
  return { timestart: t(a), timeend: t(b), context, rows: [{ value }] };
}

async function counts(t: TestDatabase): Promise<{ vld: number; payload: number; lastSeqno: number }> {
  const [{ n: vld }] = await t.db('DcsProbeVld').count({ n: '*' });
  const [{ n: payload }] = await t.db('DcsProbe').count({ n: '*' });
  const row = await t.db('LOCALSEQNO').where('TABLENAME', 'DcsProbe').first('LASTUSEDSEQNO');
  return { vld: Number(vld), payload: Number(payload), lastSeqno: Number(row?.LASTUSEDSEQNO ?? 0) };
}

async function refusal(write: Promise<unknown>): Promise<unknown> {
  try {
    await write;
  } catch (err) {
    return err;
  }
  return undefined;
}

describe.each(DIALECTS)('fenced DBI writes on %s', (dialect) => {
  let t: TestDatabase;
  beforeEach(async () => {
    t = await createTestDatabase(dialect, 'dbi_fence');
    await prepareTargetTables(t.db, [testSpec()], { create: true, drop: false, location: t.location });
  });
  afterEach(async () => {
    await t.drop();
  });

  it('appends only while the context ends where the writer expects; a stale writer writes nothing', async () => {
    const a = new DbiWriter(t.db, testSpec());
    const b = new DbiWriter(t.db, testSpec());
    // both resumed from an empty context
    expect(await a.write([prop(AD1, 0, 1), prop(AD1, 1, 2)], { context: AD1, expect: undefined })).toEqual([1, 2]);
    const before = await counts(t);
    const err = await refusal(b.write([prop(AD1, 0, 1)], { context: AD1, expect: undefined }));
    expect(isScrapeError(err, 'FENCE_MOVED')).toBe(true);
    expect((err as Error).message).toMatch(/expected no validity as the last validity, the target holds SEQNO 2 ending 2011-02-01 00:02:00/);
    // nothing of the refused write stays, not even its SEQNO
    expect(await counts(t)).toEqual(before);
    // with the right expectation the append lands; a stale one (SEQNO 1) is refused
    expect(await b.write([prop(AD1, 2, 3)], { context: AD1, expect: { seqno: 2, timeend: '2011-02-01 00:02:00' } })).toEqual([3]);
    expect(isScrapeError(await refusal(a.write([prop(AD1, 2, 3)], { context: AD1, expect: { seqno: 2, timeend: '2011-02-01 00:02:00' } })), 'FENCE_MOVED')).toBe(true);
    expect(await counts(t)).toEqual({ vld: 3, payload: 3, lastSeqno: 3 });
  });

  it('fences each context on its own', async () => {
    const w = new DbiWriter(t.db, testSpec());
    await w.write([prop(AD1, 0, 5)], { context: AD1, expect: undefined });
    // AD2 is still empty: a writer expecting nothing there may write
    expect(await w.write([prop(AD2, 0, 5)], { context: AD2, expect: undefined })).toEqual([2]);
    expect(isScrapeError(await refusal(w.write([prop(AD2, 5, 6)], { context: AD2, expect: { seqno: 1, timeend: '2011-02-01 00:05:00' } })), 'FENCE_MOVED')).toBe(true);
  });

  it('each AGGREGATENO of a context is its own sequence: its own fence, resume point and overlays', async () => {
    const AGG1: ValidityContext = { ...AD1, aggregateno: 1 };
    const w = new DbiWriter(t.db, testSpec());
    await w.write([prop(AD1, 0, 5)], { context: AD1, expect: undefined });
    // aggregate 1 is still empty, whatever aggregate -1 holds
    expect(await w.write([prop(AGG1, 2, 4)], { context: AGG1, expect: undefined })).toEqual([2]);
    expect(isScrapeError(await refusal(w.write([prop(AGG1, 4, 6)], { context: AGG1, expect: { seqno: 1, timeend: '2011-02-01 00:05:00' } })), 'FENCE_MOVED')).toBe(true);
    expect((await lastValidity(t.db, testSpec(), AD1))?.SEQNO).toBe(1);
    expect((await lastValidity(t.db, testSpec(), AGG1))?.SEQNO).toBe(2);
    // [00:02, 00:04) of aggregate 1 overlaps aggregate -1's [00:00, 00:05) but is no overlay of it:
    // its VERSIONDATE is its TIMESTART (by hand), not 00:00 + 60 s
    const row = await t.db('DcsProbeVld').where('SEQNO', 2).first('VERSIONDATE');
    expect(String(row.VERSIONDATE)).toBe('2011-02-01 00:02:00');
  });

  it('fenceAfter follows the last-validity order: largest TIMEEND, a tie to the later SEQNO', () => {
    const before = { seqno: 7, timeend: '2011-02-01 00:05:00' };
    expect(fenceAfter(before, [prop(AD1, 5, 6), prop(AD1, 6, 8)], [8, 9])).toEqual({ seqno: 9, timeend: '2011-02-01 00:08:00' });
    expect(fenceAfter(before, [prop(AD1, 4, 5)], [8])).toEqual({ seqno: 8, timeend: '2011-02-01 00:05:00' });
    expect(fenceAfter(before, [prop(AD1, 3, 4)], [8])).toEqual(before);
    expect(fenceAfter(undefined, [prop(AD1, 3, 4)], [1])).toEqual({ seqno: 1, timeend: '2011-02-01 00:04:00' });
  });
});
