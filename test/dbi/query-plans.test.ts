import { Knex } from 'knex';
import { DIALECTS, createTestDatabase, TestDatabase } from '../support/databases';
import { dialectOf } from '../../engine/db/dialect';
import { explainQuery, QueryPlan } from '../../engine/db/query-plan';
import { lastValidityQuery, readContextAt, readContextQuery, SqlQuery } from '../../engine/dbi/dbi-reader';
import { overlayLookupQuery } from '../../engine/dbi/overlay';
import { statusWritesQuery } from '../../engine/report/stream-status';
import { latestSourceMarkQuery, sourceMarksSinceQuery } from '../../engine/stream/late-rows';
import { FILL_END, fillTarget, shapeInfo } from '../../bench/bench-target';
import { addMs } from '../../engine/core/time';
import { vldSpanBySql, vldSpanRow } from './dbi-support';
import { vldSpanQuery } from '../../engine/dbi/vld-span';

/**
 * The queries run on every write (fence, overlay lookup), at every resume, by the late-row check,
 * `scrape status` and `scrape query --at` find their rows by an index range of the context, never
 * by reading a whole table or index: their cost then stays flat as the target grows (the bench's
 * `flat` rows time them on 10 M validities). Checked on the plans each database gives (EXPLAIN /
 * EXPLAIN QUERY PLAN), not on times, over a target of 96,000 validities in 8 contexts made by
 * the bench's bulk loader (with MariaDB's statistics, ANALYZE TABLE).
 */
describe.each(DIALECTS)('query plans on a full target on %s', (dialect) => {
  let t: TestDatabase;
  let db: Knex;
  const info = shapeInfo('adtemp');
  const { spec } = info;
  const own = info.contexts[0];
  const ctx = own.context;
  const vld = `${spec.table}Vld`;
  // by hand: 96,000 validities over 8 contexts = 12,000 per context, one minute each, the last
  // ending at FILL_END (2011-01-31 00:00), so the first starts 12,000 min = 8 d 8 h before it
  const lastStart = '2011-01-30 23:59:00';
  const firstStart = '2011-01-22 16:00:00';
  const middle = '2011-01-27 00:00:00';
  const early = '2011-01-22 16:30:30';

  beforeAll(async () => {
    t = await createTestDatabase(dialect, 'query_plans');
    db = t.db;
    await fillTarget(db, t.location, 'adtemp', 96_000);
  }, 120_000);
  afterAll(async () => {
    await t?.drop();
  });

  const plan = (q: SqlQuery): Promise<QueryPlan> => explainQuery(db, q.sql, q.bindings);
  const d = () => dialectOf(db);

  it('the loader left 12,000 validities per context, the own one ending at FILL_END', async () => {
    const rows = await db(vld).where({ SITEMASK: ctx.sitemask, SUBSITE: ctx.subsite }).select(db.raw('COUNT(*) AS n'), db.raw('MAX(TIMEEND) AS e'), db.raw('MAX(TIMESTART) AS s'), db.raw('MIN(TIMESTART) AS f'));
    expect([Number(rows[0].n), String(rows[0].e), String(rows[0].s), String(rows[0].f)]).toEqual([12_000, FILL_END, lastStart, firstStart]);
  });

  it('resume and the fence: one index range of the context', async () => {
    const p = await plan(lastValidityQuery(d(), spec, ctx));
    expect(p.fullScans).toEqual([]);
    expect(p.indexes.some((i) => i.startsWith(`${vld}_`))).toBe(true);
    if (dialect === 'sqlite') expect(p.lines.join('\n')).not.toMatch(/TEMP B-TREE/); // answered from the index's end, no sort
  });

  it("the overlay lookup of the next write: the context's TIMEEND range", async () => {
    const p = await plan(overlayLookupQuery(d(), spec, [{ ctx, minStart: FILL_END, maxStart: FILL_END }]));
    expect(p.fullScans).toEqual([]);
    expect(p.indexes).toContain(`${vld}_site_end`);
  });

  it("the late-row check: the stream's source-id rows by their index, the Vld and provenance rows by primary key", async () => {
    for (const q of [latestSourceMarkQuery(d(), spec, own.sourceTable, ctx, true), latestSourceMarkQuery(d(), spec, own.sourceTable, ctx, false), sourceMarksSinceQuery(d(), spec, own.sourceTable, ctx, 95_000)]) {
      const p = await plan(q);
      expect(p.fullScans).toEqual([]);
      expect(p.indexes.length).toBeGreaterThan(0);
    }
  });

  it("scrape status: the last hour's writes of the context by the (context, INSERTDATE) index", async () => {
    const p = await plan(statusWritesQuery(d(), spec, ctx, '2011-01-30 23:00:00'));
    expect(p.fullScans).toEqual([]);
    expect(p.indexes).toContain(`${vld}_ctx_insert`);
  });

  it("the loader left the table's SCRAPE_VLD_SPAN row: one-minute validities up to the last SEQNO", async () => {
    expect(await vldSpanRow(db, spec.table)).toEqual({ span: 60, seqno: 96_000 });
    expect(await vldSpanBySql(db, spec.table)).toEqual({ span: 60, seqno: 96_000 });
  });

  const queryAt = async (at: string) => {
    const built = (await readContextQuery(db, spec, { at, site: ctx.sitemask, subsite: ctx.subsite })).query.toSQL();
    return { sql: built.sql, bindings: [...built.bindings] };
  };

  it("scrape query --at looks at the longest validity by primary keys: the SCRAPE_VLD_SPAN row and the Vld table's largest SEQNO", async () => {
    const p = await plan(vldSpanQuery(d(), spec));
    expect(p.fullScans).toEqual([]);
    // SQLite: the row by its primary key's index, MAX(SEQNO) from the rowid's end (no plan line); MariaDB: const row, "Select tables optimized away"
    if (dialect === 'sqlite') expect(p.indexes).toEqual(['sqlite_autoindex_SCRAPE_VLD_SPAN_1']);
    else expect(p.lines.join('\n')).toMatch(/type=const key=PRIMARY[\s\S]*Select tables optimized away/);
  });

  it('scrape query --at with the longest validity known: the TIMESTART range of one minute before the time, wherever in the history', async () => {
    for (const at of [lastStart, middle, early]) {
      const q = await queryAt(at);
      // the bound, at − 60 s, is in the statement
      expect(q.bindings).toContain(addMs(at, -60_000));
      const p = await plan(q);
      expect(p.fullScans).toEqual([]);
      // MariaDB may take the TIMEEND range at the end of the history, as short there (its estimates decide)
      expect(p.indexes).toEqual(dialect === 'mariadb' && at === lastStart ? [expect.stringMatching(new RegExp(`^${vld}_site_(start|end)$`))] : [`${vld}_site_start`]);
      if (dialect === 'mariadb') expect(p.lines.join('\n')).toMatch(/type=range/);
    }
  });

  it('scrape query --at without the row (an older table): an index range of the site and detector; on SQLite the TIMEEND range near the end, the TIMESTART range near the start', async () => {
    const row = await db('SCRAPE_VLD_SPAN').where('TABLENAME', spec.table).first();
    await db('SCRAPE_VLD_SPAN').where('TABLENAME', spec.table).delete();
    try {
      for (const at of [lastStart, middle, early]) {
        const q = await queryAt(at);
        expect(q.sql).not.toMatch(/TIMESTART[`"]? >= \?/);
        const p = await plan(q);
        expect(p.fullScans).toEqual([]);
        // by hand: after `early` end 11,970 validities of the context (more than the 10,000 SQLite probes), after the others fewer
        if (dialect === 'sqlite') expect(p.indexes).toEqual([at === early ? `${vld}_site_start` : `${vld}_site_end`]);
        else expect(p.indexes.some((i) => i === `${vld}_site_start` || i === `${vld}_site_end`)).toBe(true);
      }
      // and the answers are the same (below, with the row)
      expect((await readContextAt(db, spec, { at: middle, site: ctx.sitemask, subsite: ctx.subsite })).map((f) => f.vld.SEQNO)).toEqual([8 * 6240 + 1]);
    } finally {
      await db('SCRAPE_VLD_SPAN').insert(row);
    }
  });

  it('scrape query --at with a long validity known (30 days): on SQLite the TIMEEND range when the bounded TIMESTART range is long', async () => {
    await db('SCRAPE_VLD_SPAN').where('TABLENAME', spec.table).update({ MAX_SPAN_SECONDS: 30 * 86_400 });
    try {
      for (const at of [lastStart, middle, early]) {
        const p = await plan(await queryAt(at));
        expect(p.fullScans).toEqual([]);
        // by hand: within 30 days before `lastStart` start all 12,000 validities of the context (more than 10,000), before the others fewer
        if (dialect === 'sqlite') expect(p.indexes).toEqual([at === lastStart ? `${vld}_site_end` : `${vld}_site_start`]);
        else expect(p.indexes.some((i) => i === `${vld}_site_start` || i === `${vld}_site_end`)).toBe(true);
      }
    } finally {
      await db('SCRAPE_VLD_SPAN').where('TABLENAME', spec.table).update({ MAX_SPAN_SECONDS: 60 });
    }
  });

  it('scrape query --at finds the one validity covering the time', async () => {
    // by hand: validity i of the own context (context 0 of 8) is SEQNO 8 i + 1 and starts i minutes after firstStart
    for (const [at, i, start, end] of [
      [early, 30, '2011-01-22 16:30:00', '2011-01-22 16:31:00'],
      [middle, 6240, '2011-01-27 00:00:00', '2011-01-27 00:01:00'],
      [lastStart, 11_999, lastStart, FILL_END],
    ] as const) {
      const found = await readContextAt(db, spec, { at, site: ctx.sitemask, subsite: ctx.subsite });
      expect(found.map((f) => [f.vld.SEQNO, f.vld.TIMESTART, f.vld.TIMEEND, f.rows.length])).toEqual([[8 * i + 1, start, end, 1]]);
    }
  });

  it('explainQuery sees a full scan when there is one', async () => {
    // nothing indexes a payload attribute: the whole table is read
    const p = await plan({ sql: `SELECT COUNT(*) AS n FROM ${dialect === 'sqlite' ? `"${spec.table}"` : `\`${spec.table}\``} WHERE Temp_PT1 > ?`, bindings: [0] });
    expect(p.fullScans.length).toBe(1);
  });
});
