import { Knex } from 'knex';
import { DIALECTS, createTestDatabase, TestDatabase } from '../support/databases';
import { prepareTargetTables } from '../../engine/dbi/target-tables';
import { DbiWriter, Propagation } from '../../engine/dbi/dbi-writer';
import { readContextAt, readContextQuery, VldRow } from '../../engine/dbi/dbi-reader';
import { testSpec, vldSpanBySql, vldSpanRow } from './dbi-support';

/**
 * `SCRAPE_VLD_SPAN` (the longest validity of each Vld table, up to a SEQNO) and the bound
 * `TIMESTART >= at − longest` the reader adds with it: the row is made with the table, kept by
 * the writer in the write's transaction (compared with what SQL computes on the Vld table), and
 * the reader's answers stay those of the DBI rule however the validities came in (a long seed,
 * another tool's plain INSERTs beyond the row, a table without the row or the side table), checked
 * against the rule evaluated here by brute force over every row.
 */

const spec = testSpec();
const VLD = 'DcsProbeVld';
const ctx = { sitemask: 1, simmask: 1, subsite: 1, task: 0, aggregateno: -1 };

/** UTC text `seconds` after 2011-02-01 00:00:00 (negative: before), by hand. */
const t = (seconds: number) => new Date(Date.UTC(2011, 1, 1) + seconds * 1000).toISOString().slice(0, 19).replace('T', ' ');
const DAY = 86_400;
const YEAR = 365 * DAY;

const prop = (start: number, end: number, value = 1): Propagation => ({ timestart: t(start), timeend: t(end), context: ctx, rows: [{ value, label: 'w' }] });

/** Contiguous validities of `step` seconds from `start`, `n` of them. */
const run = (start: number, step: number, n: number): Propagation[] => Array.from({ length: n }, (_, k) => prop(start + k * step, start + (k + 1) * step, k));

type Row = Omit<VldRow, 'INSERTDATE'>;

/**
 * Another tool's validities, by plain SQL: SEQNOs taken from LOCALSEQNO as a DBI writer takes
 * them, nothing in SCRAPE_VLD_SPAN; VERSIONDATE `version` (seconds, as `t`), else TIMESTART.
 * Returns their SEQNOs.
 */
async function otherTool(db: Knex, ranges: [number, number][], version?: number): Promise<number[]> {
  const [{ LASTUSEDSEQNO }] = await db('LOCALSEQNO').where('TABLENAME', 'DcsProbe').select('LASTUSEDSEQNO');
  const from = Number(LASTUSEDSEQNO) + 1;
  const rows = ranges.map(([a, b], k) => ({
    SEQNO: from + k, TIMESTART: t(a), TIMEEND: t(b), SITEMASK: 1, SIMMASK: 1, SUBSITE: 1, TASK: 0, AGGREGATENO: -1, VERSIONDATE: t(version ?? a), INSERTDATE: '2012-01-01 00:00:00',
  }));
  for (let i = 0; i < rows.length; i += 200) await db(VLD).insert(rows.slice(i, i + 200));
  for (let i = 0; i < rows.length; i += 200) await db('DcsProbe').insert(rows.slice(i, i + 200).map((r) => ({ SEQNO: r.SEQNO, ROW_COUNTER: 1, value: -r.SEQNO, label: 'other' })));
  await db('LOCALSEQNO').where('TABLENAME', 'DcsProbe').update({ LASTUSEDSEQNO: from + rows.length - 1 });
  return rows.map((r) => r.SEQNO);
}

/** The DBI rule over every row, by brute force: per AGGREGATENO, newest VERSIONDATE, then largest SEQNO, among those covering `at`. */
async function ruleWinners(db: Knex, at: string): Promise<number[]> {
  const rows = ((await db(VLD).select('*')) as Record<string, unknown>[]).map((r) => ({ ...r, SEQNO: Number(r.SEQNO), TIMESTART: String(r.TIMESTART), TIMEEND: String(r.TIMEEND), SITEMASK: Number(r.SITEMASK), SIMMASK: Number(r.SIMMASK), SUBSITE: Number(r.SUBSITE), TASK: Number(r.TASK), AGGREGATENO: Number(r.AGGREGATENO), VERSIONDATE: String(r.VERSIONDATE) }) as Row);
  const best = new Map<number, Row>();
  for (const r of rows) {
    if (!(r.TIMESTART <= at && at < r.TIMEEND && (r.SITEMASK & 1) !== 0 && (r.SIMMASK & 1) !== 0 && r.SUBSITE === 1 && r.TASK === 0)) continue;
    const b = best.get(r.AGGREGATENO);
    if (!b || r.VERSIONDATE > b.VERSIONDATE || (r.VERSIONDATE === b.VERSIONDATE && r.SEQNO > b.SEQNO)) best.set(r.AGGREGATENO, r);
  }
  return [...best.keys()].sort((a, b) => a - b).map((k) => best.get(k)!.SEQNO);
}

describe.each(DIALECTS)('SCRAPE_VLD_SPAN on %s', (dialect) => {
  let target: TestDatabase;
  let db: Knex;
  beforeEach(async () => {
    target = await createTestDatabase(dialect, 'vld_span');
    db = target.db;
    await prepareTargetTables(db, [spec], { create: true, drop: false, location: target.location });
  });
  afterEach(async () => {
    await target.drop();
  });

  const read = async (at: string) => (await readContextAt(db, spec, { at, site: 1, subsite: 1 })).map((a) => a.vld.SEQNO);
  /** The `TIMESTART >= ?` bound of the reader's query, if it has one. */
  const bound = async (at: string) => {
    const built = (await readContextQuery(db, spec, { at, site: 1, subsite: 1 })).query.toSQL();
    const m = /[`"]TIMESTART[`"] >= \?/.exec(built.sql);
    if (!m) return undefined;
    // the bindings before it: one per `?` in the text before the bound
    return built.bindings[(built.sql.slice(0, m.index).match(/\?/g) ?? []).length];
  };

  it('is made with the Vld table (span 0, nothing covered), forgotten with --drop-target-tables, and set back when a dropped table is made again', async () => {
    expect(await vldSpanRow(db, 'DcsProbe')).toEqual({ span: 0, seqno: 0 });
    await new DbiWriter(db, spec).write(run(0, 60, 3));
    expect(await vldSpanRow(db, 'DcsProbe')).toEqual({ span: 60, seqno: 3 });
    // made again: a table that exists keeps its row
    await prepareTargetTables(db, [spec], { create: true, drop: false, location: target.location });
    expect(await vldSpanRow(db, 'DcsProbe')).toEqual({ span: 60, seqno: 3 });
    // dropped by hand (the row stays behind), then made again empty: the row says so
    await db.schema.dropTable(VLD);
    await prepareTargetTables(db, [spec], { create: true, drop: false, location: target.location });
    expect(await vldSpanRow(db, 'DcsProbe')).toEqual({ span: 0, seqno: 0 });
    await new DbiWriter(db, spec).write(run(0, 600, 1));
    expect(await vldSpanRow(db, 'DcsProbe')).toEqual({ span: 600, seqno: 4 });
    await prepareTargetTables(db, [spec], { create: true, drop: true, location: target.location });
    expect(await vldSpanRow(db, 'DcsProbe')).toEqual({ span: 0, seqno: 0 });
  });

  it("the writer keeps it in its transactions: the longest span and last SEQNO SQL finds, another tool's few validities between folded in, many not", async () => {
    const writer = new DbiWriter(db, spec);
    await writer.write(run(0, 60, 5));
    await writer.write([prop(300, 300 + 3 * DAY), prop(300 + 3 * DAY, 300 + 3 * DAY + 30)]);
    await writer.write(run(300 + 3 * DAY + 30, 10, 4));
    expect(await vldSpanBySql(db, 'DcsProbe')).toEqual({ span: 3 * DAY, seqno: 11 });
    expect(await vldSpanRow(db, 'DcsProbe')).toEqual({ span: 3 * DAY, seqno: 11 });
    // a write rolled back after its validities and span went in changes nothing
    const failing = new DbiWriter(db, spec, { probe: (stage) => { if (stage === 'inserted') throw new Error('killed'); } });
    await expect(failing.write([prop(10 * DAY, 10 * DAY + YEAR)])).rejects.toThrow(/killed/);
    expect(await vldSpanRow(db, 'DcsProbe')).toEqual({ span: 3 * DAY, seqno: 11 });
    // another tool's two validities (one of 400 days), then ours: folded in by our next write
    await otherTool(db, [[-400 * DAY, 0], [20 * DAY, 20 * DAY + 5]]);
    expect(await vldSpanRow(db, 'DcsProbe')).toEqual({ span: 3 * DAY, seqno: 11 });
    await writer.write(run(30 * DAY, 60, 2));
    expect(await vldSpanBySql(db, 'DcsProbe')).toEqual({ span: 400 * DAY, seqno: 15 });
    expect(await vldSpanRow(db, 'DcsProbe')).toEqual({ span: 400 * DAY, seqno: 15 });
    // 1,001 of them: too many to read in a write; the row stays where it was, for this writer and a new one
    await otherTool(db, Array.from({ length: 1001 }, (_, k): [number, number] => [40 * DAY + k, 40 * DAY + k + 1]));
    await writer.write(run(50 * DAY, 60, 1));
    await new DbiWriter(db, spec).write(run(50 * DAY + 60, 60, 1));
    expect(await vldSpanRow(db, 'DcsProbe')).toEqual({ span: 400 * DAY, seqno: 15 });
  });

  it('the reader bounds TIMESTART by the longest validity and answers as the DBI rule: short validities, a long seed, validities of another tool, too many of them, no row, no table', async () => {
    const writer = new DbiWriter(db, spec);
    const check = async (ats: string[]) => {
      for (const at of ats) expect([at, await read(at)]).toEqual([at, await ruleWinners(db, at)]);
    };
    // one-minute validities over 2 days: the bound is 60 s before the time read
    await writer.write(run(0, 60, 2 * 24 * 60));
    expect(await bound(t(DAY + 30))).toBe(t(DAY + 30 - 60));
    expect(await read(t(DAY + 30))).toEqual([24 * 60 + 1]); // by hand: the validity starting at DAY, the (DAY / 60 + 1)th
    const times = [-DAY, 0, 59, 60, DAY, DAY + 59, 2 * DAY - 1, 2 * DAY, 3 * DAY, 5 * DAY].map(t);
    await check(times);
    // another tool's validity of 5 days, beyond the row: read and folded into the bound by the reader
    const [five] = await otherTool(db, [[3 * DAY, 8 * DAY]]);
    expect(await vldSpanRow(db, 'DcsProbe')).toEqual({ span: 60, seqno: 2 * 24 * 60 });
    expect(await bound(t(5 * DAY))).toBe(t(0));
    expect(await read(t(5 * DAY))).toEqual([five]);
    await check(times);
    // a seed of three years before them (written first in a fresh context of another aggregate)
    await writer.write([{ ...prop(-3 * YEAR, 0), context: { ...ctx, aggregateno: 1 } }]);
    expect(await bound(t(DAY))).toBe(t(DAY - 3 * YEAR));
    const seed = five + 1;
    expect(await read(t(-YEAR))).toEqual([seed]); // by hand: only the seed covers a year before
    await check([t(-YEAR), t(-1), ...times]);
    // another tool overlays a stretch with one validity of 500 days (a newer VERSIONDATE), beyond the row: still found
    const [other] = await otherTool(db, [[-400 * DAY, 100 * DAY]], 200 * DAY);
    expect(await vldSpanRow(db, 'DcsProbe')).toEqual({ span: 3 * YEAR, seqno: seed }); // the seed's write folded the 5-day one in
    expect(await bound(t(DAY))).toBe(t(DAY - 3 * YEAR));
    expect(await read(t(-1))).toEqual([other, seed]); // by hand: aggregate -1 → the other tool's, 1 → the seed
    expect(await read(t(DAY + 30))).toEqual([other]); // by hand: the other tool's, of a newer VERSIONDATE than ours
    await check([t(-YEAR), t(-1), ...times]);
    // 1,000 beyond the row are read; more than 1,000: no bound, the same answers
    await otherTool(db, Array.from({ length: 999 }, (_, k): [number, number] => [10 * DAY + k, 10 * DAY + k + 1]));
    expect(await bound(t(DAY))).toBe(t(DAY - 3 * YEAR));
    await otherTool(db, [[3 * YEAR, 3 * YEAR + 4 * YEAR]]);
    expect(await bound(t(DAY))).toBeUndefined();
    await check([t(-YEAR), t(-1), t(10 * DAY + 500), t(4 * YEAR), ...times]);
    // no row (a table made by an older version or another tool), no side table: no bound, the same answers
    await db('SCRAPE_VLD_SPAN').where('TABLENAME', 'DcsProbe').delete();
    expect(await bound(t(DAY))).toBeUndefined();
    await check([t(-YEAR), t(-1), t(4 * YEAR), ...times]);
    await db.schema.dropTable('SCRAPE_VLD_SPAN');
    expect(await bound(t(DAY))).toBeUndefined();
    await check([t(-YEAR), t(4 * YEAR), ...times]);
  });

  it('random histories: every answer is the DBI rule, bound or not', async () => {
    // a fixed pseudo-random sequence (reproducible): contiguous runs of our writer, overlays and long ones of another tool
    let s = 12345;
    const rnd = (n: number) => {
      s = (s * 1103515245 + 12345) % 2147483648;
      return s % n;
    };
    const writer = new DbiWriter(db, spec);
    let at = 0;
    for (let round = 0; round < 12; round++) {
      const step = 1 + rnd(300);
      const props = run(at, step, 1 + rnd(40));
      await writer.write(props);
      at += step * props.length;
      if (rnd(3) === 0) {
        const a = rnd(at);
        await otherTool(db, [[a, a + 1 + rnd(rnd(2) === 0 ? 100 : 10 * DAY)]], rnd(2) === 0 ? a : at + DAY);
      }
    }
    for (let k = 0; k < 60; k++) {
      const when = t(rnd(at + 2000) - 1000);
      expect([when, await read(when)]).toEqual([when, await ruleWinners(db, when)]);
    }
  });
});
