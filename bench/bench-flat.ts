import { Knex } from 'knex';
import { DatabaseLocation } from '../engine/config/dbconf';
import { addMs } from '../engine/core/time';
import { dialectOf, preparedRows } from '../engine/db/dialect';
import { openDatabase } from '../engine/db/open-database';
import { explainQuery, QueryPlan } from '../engine/db/query-plan';
import { lastValidity, lastValidityQuery, readContextAt, readContextQuery, SqlQuery } from '../engine/dbi/dbi-reader';
import { DbiWriter, Propagation } from '../engine/dbi/dbi-writer';
import { fenceAfter, FencePoint } from '../engine/dbi/fence';
import { overlayLookupQuery } from '../engine/dbi/overlay';
import { prepareTargetTables } from '../engine/dbi/target-tables';
import { vldSpanQuery } from '../engine/dbi/vld-span';
import { statusWritesQuery, streamStatuses } from '../engine/report/stream-status';
import { latestSourceMark, latestSourceMarkQuery, sourceMarksSince, sourceMarksSinceQuery } from '../engine/stream/late-rows';
import { benchLocation, benchRegime, benchSqliteLocation, recreateDatabase, removeSqliteFile } from './bench-data';
import { FILL_END, fillTarget, shapeInfo, TargetShape } from './bench-target';

/** A bench target or source: a MariaDB `bench_*` database or a SQLite file in the bench folder. */
export interface BenchRef {
  dialect: 'mysql' | 'sqlite';
  name: string;
}

/** Where a `BenchRef` lives. */
export function refLocation(ref: BenchRef, fake = false): DatabaseLocation {
  return ref.dialect === 'mysql' ? benchLocation(ref.name, fake) : benchSqliteLocation(ref.name, fake);
}

/** Drops a bench target (database or file) and leaves nothing of it. */
export async function dropRef(ref: BenchRef): Promise<void> {
  if (ref.dialect === 'mysql') await recreateDatabase(ref.name);
  else removeSqliteFile(ref.name);
}

function seconds(t0: bigint): number {
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

/** `fillTarget` into a fresh target: the bench's bulk loader, timed. */
export async function fillPhase(shape: TargetShape, ref: BenchRef, validities: number): Promise<{ seconds: number; rows: number; counts: Record<string, number> }> {
  await dropRef(ref);
  const location = refLocation(ref);
  const db = openDatabase(location, { poolMax: 1 });
  try {
    const f = await fillTarget(db, location, shape, validities, (line) => process.stderr.write(`${line}\n`));
    return { seconds: f.seconds, rows: f.validities, counts: { payload: f.payloadRows, side: f.sideRows } };
  } finally {
    await db.destroy();
  }
}

/** The propagations of an append: `count` validities of the shape's own context from `start` (UTC) on, with source ids and provenance as a stream gives them. */
function appendProps(shape: TargetShape, start: string, from: number, count: number): Propagation[] {
  const info = shapeInfo(shape);
  const own = info.contexts[0];
  const step = info.stepSeconds * 1000;
  const attrs = info.spec.columns.map((c) => c.name);
  const props: Propagation[] = [];
  for (let k = 0; k < count; k++) {
    const n = from + k;
    const timestart = addMs(start, k * step);
    const timeend = addMs(start, (k + 1) * step);
    const rows: Record<string, unknown>[] = [];
    if (shape === 'adtemp') {
      rows.push(Object.fromEntries(attrs.map((a, c) => [a, a === 'count' ? 6 : 22 + ((n * 7 + c) % 100) / 100])));
    } else {
      for (let r = 0; r < info.rowsPerValidity; r++) rows.push({ ladder: 1 + Math.floor(r / 24), col: 1 + (Math.floor(r / 8) % 3), ring: 1 + (r % 8), voltage: 1500 + ((n + r) % 50) / 10, pw: 1 });
    }
    const local = (t: string) => addMs(t, 8 * 3_600_000);
    const ids = { firstId: 6 * n + 1, lastId: 6 * n + 6 };
    props.push({
      timestart,
      timeend,
      context: own.context,
      rows,
      source: { table: own.sourceTable, maxId: ids.lastId, ...ids, firstTime: local(timestart), lastTime: local(timeend) },
      why: { reason: 'overage', sourceTable: own.sourceTable, ...ids, firstTime: local(timestart), lastTime: local(timeend), samples: 6, rows: 6, regimeHash: '0'.repeat(64), engineVersion: '0.1.0' },
    });
  }
  return props;
}

/**
 * Appends `count` validities of the shape's own context, `batch` per fenced transaction, as a
 * stream does: resume (its last validity), then fenced writes continuing from its TIMEEND, each
 * with its payload, source ids and provenance. `fresh`: into an empty target made first (not
 * timed). Rate = validities per second of the whole append, resume included.
 */
export async function appendPhase(shape: TargetShape, ref: BenchRef, count: number, batch: number, fresh: boolean): Promise<{ seconds: number; rows: number; counts: Record<string, number> }> {
  const info = shapeInfo(shape);
  const location = refLocation(ref);
  if (fresh) await dropRef(ref);
  const db = openDatabase(location);
  try {
    if (fresh) await prepareTargetTables(db, [info.spec], { create: true, drop: false, location });
    const writer = new DbiWriter(db, info.spec);
    const context = info.contexts[0].context;
    const t0 = process.hrtime.bigint();
    const last = await lastValidity(db, info.spec, context);
    let fence: FencePoint | undefined = last ? { seqno: last.SEQNO, timeend: last.TIMEEND } : undefined;
    let start = last ? last.TIMEEND : FILL_END;
    for (let done = 0; done < count; done += batch) {
      const props = appendProps(shape, start, done, Math.min(batch, count - done));
      const seqnos = await writer.write(props, { context, expect: fence });
      fence = fenceAfter(fence, props, seqnos);
      start = props[props.length - 1].timeend;
    }
    const s = seconds(t0);
    return { seconds: s, rows: count, counts: { payload: count * info.rowsPerValidity, batch } };
  } finally {
    await db.destroy();
  }
}

/** One timed query of the target: median and first call (ms) and the plans of its statements. */
export interface TimedQuery {
  name: string;
  firstMs: number;
  medianMs: number;
  plans: { sql: string; plan: QueryPlan }[];
}

async function timed(name: string, db: Knex, run: () => Promise<unknown>, statements: SqlQuery[], repeat = 7): Promise<TimedQuery> {
  const times: number[] = [];
  for (let k = 0; k < repeat; k++) {
    const t0 = process.hrtime.bigint();
    await run();
    times.push(seconds(t0) * 1000);
  }
  const rest = times.slice(1).sort((a, b) => a - b);
  const plans = [];
  for (const st of statements) plans.push({ sql: st.sql, plan: await explainQuery(db, st.sql, st.bindings) });
  return { name, firstMs: times[0], medianMs: rest[Math.floor(rest.length / 2)], plans };
}

/**
 * The queries that must not grow with the target, on a full one: resume (the context's last
 * validity; the fence before every write runs the same statement), the overlay lookup of the next
 * write, the late-row check's marks (latest and since a SEQNO), `scrape status` (the whole
 * `streamStatuses` of the shape's regime over `source`) and `scrape query --at` (`readContextAt`:
 * its look at `SCRAPE_VLD_SPAN`, then the candidates) at the last validity and in the middle of the history. Each is timed (first call and median of
 * six more) and its statements explained.
 */
export async function queriesPhase(shape: TargetShape, ref: BenchRef, source: BenchRef): Promise<{ seconds: number; rows: number; counts: Record<string, number>; queries: TimedQuery[] }> {
  const info = shapeInfo(shape);
  const { spec } = info;
  const own = info.contexts[0];
  const db = openDatabase(refLocation(ref));
  const src = openDatabase(refLocation(source), { readOnly: true });
  const dialect = dialectOf(db);
  const t0 = process.hrtime.bigint();
  try {
    const last = (await lastValidity(db, spec, own.context))!;
    const first = (await db(`${spec.table}Vld`).where({ SITEMASK: own.context.sitemask, SUBSITE: own.context.subsite }).min({ t: 'TIMESTART' }).first()) as { t: unknown };
    const firstStart = String(first.t);
    const middle = addMs(firstStart, Math.floor((Date.parse(last.TIMESTART.replace(' ', 'T') + 'Z') - Date.parse(firstStart.replace(' ', 'T') + 'Z')) / 2 / 1000) * 1000);
    const ctx = own.context;
    const { regime, specs } = benchRegime(shape);
    const queries: TimedQuery[] = [];
    queries.push(await timed('resume (last validity of the context; the fence runs it in every write)', db, () => lastValidity(db, spec, ctx), [lastValidityQuery(dialect, spec, ctx)]));
    const overlay = overlayLookupQuery(dialect, spec, [{ ctx, minStart: last.TIMEEND, maxStart: last.TIMEEND }]);
    queries.push(await timed('overlay lookup of the next write', db, () => preparedRows(db, overlay.sql, overlay.bindings), [overlay]));
    const withProvenance = true;
    queries.push(
      await timed('late-row check: latest source-id mark', db, () => latestSourceMark(db, spec, own.sourceTable, ctx), [latestSourceMarkQuery(dialect, spec, own.sourceTable, ctx, withProvenance)]),
    );
    // the check every 5 minutes reads the marks written since the last one: here the last 100 SEQNOs
    const since = Math.max(0, last.SEQNO - 100);
    queries.push(await timed('late-row check: marks of the last 100 SEQNOs', db, () => sourceMarksSince(db, spec, own.sourceTable, ctx, since), [sourceMarksSinceQuery(dialect, spec, own.sourceTable, ctx, since)]));
    const hourAgo = new Date(Date.now() - 3_600_000).toISOString().slice(0, 19).replace('T', ' ');
    queries.push(
      await timed('scrape status (streamStatuses)', db, () => streamStatuses({ regime, specs, source: src, target: db }), [
        lastValidityQuery(dialect, spec, ctx),
        statusWritesQuery(dialect, spec, ctx, hourAgo),
        latestSourceMarkQuery(dialect, spec, own.sourceTable, ctx, withProvenance),
      ]),
    );
    for (const [what, at] of [['at the last validity', last.TIMESTART], ['in the middle of the history', middle]] as const) {
      const q = { at, site: ctx.sitemask, subsite: ctx.subsite };
      const built = (await readContextQuery(db, spec, q)).query.toSQL();
      queries.push(await timed(`scrape query --at, ${what}`, db, () => readContextAt(db, spec, q), [vldSpanQuery(dialect, spec), { sql: built.sql, bindings: [...built.bindings] }]));
    }
    return { seconds: seconds(t0), rows: last.SEQNO, counts: {}, queries };
  } finally {
    await db.destroy();
    await src.destroy();
  }
}

