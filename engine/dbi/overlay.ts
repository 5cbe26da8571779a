import { Knex } from 'knex';
import { dialectOf, preparedRows, quoteIdentifier } from '../db/dialect';
import { addMs } from '../core/time';
import { vldTableName } from '../spec/ddl';
import { SpecTable } from '../spec/spec-table';
import { Propagation, ValidityContext } from './propagation';

/** Milliseconds DBI adds to the VERSIONDATE of the validity a new one overlays. */
export const OVERLAY_STEP_MS = 60_000;

/**
 * The DBI overlay rule: VERSIONDATE of each propagation is its TIMESTART, unless a validity of
 * the same context (already stored, or earlier in this batch) covers TIMESTART
 * (`TIMESTART <= t < TIMEEND`); then the newest such VERSIONDATE + 60 s. A reader at any time
 * then sees the newest write. One query for the whole batch, inside the write's transaction.
 */
export async function overlayVersionDates(trx: Knex.Transaction, spec: SpecTable, props: readonly Propagation[]): Promise<string[]> {
  type Known = { start: string; end: string; version: string };
  type Group = { known: Known[]; maxEnd: string; minStart: string; maxStart: string; ctx: ValidityContext };
  const groups = new Map<string, Group>();
  const keyOf = (c: { sitemask: number; simmask: number; subsite: number; task: number }) => `${c.sitemask}/${c.simmask}/${c.subsite}/${c.task}`;
  for (const p of props) {
    const key = keyOf(p.context);
    const group = groups.get(key);
    if (!group) groups.set(key, { known: [], maxEnd: '', minStart: p.timestart, maxStart: p.timestart, ctx: p.context });
    else {
      if (p.timestart < group.minStart) group.minStart = p.timestart;
      if (p.timestart > group.maxStart) group.maxStart = p.timestart;
    }
  }
  // stored validities that may cover any TIMESTART of the batch, per context
  const all = [...groups.values()];
  const dialect = dialectOf(trx);
  const q = (name: string) => quoteIdentifier(name, dialect);
  // SQLite, without statistics, takes the (SITEMASK, SUBSITE, TIMESTART) index for
  // `TIMESTART <= ?` and walks every earlier validity of the context on each write (a write took
  // longer the more the table held); `+TIMESTART` (the same value, not an indexed term) leaves it
  // the TIMEEND index, where the range is a handful of rows. MySQL picks by its own estimates.
  const start = dialect === 'sqlite' ? `+${q('TIMESTART')}` : q('TIMESTART');
  const term = `(${q('SITEMASK')} = ? AND ${q('SUBSITE')} = ? AND ${q('SIMMASK')} = ? AND ${q('TASK')} = ? AND ${q('TIMEEND')} > ? AND ${start} <= ?)`;
  const head = `SELECT ${['SITEMASK', 'SIMMASK', 'SUBSITE', 'TASK', 'TIMESTART', 'TIMEEND', 'VERSIONDATE'].map(q).join(', ')} FROM ${q(vldTableName(spec))} WHERE `;
  for (let from = 0; from < all.length; from += 200) {
    const slice = all.slice(from, from + 200);
    const bindings: unknown[] = [];
    for (const g of slice) bindings.push(g.ctx.sitemask, g.ctx.subsite, g.ctx.simmask, g.ctx.task, g.minStart, g.maxStart);
    // one statement text per number of contexts (one, for a stream's write): prepared once on SQLite
    const query = preparedRows(trx, head + slice.map(() => term).join(' OR '), bindings);
    for (const row of await query) {
      const group = groups.get(keyOf({ sitemask: Number(row.SITEMASK), simmask: Number(row.SIMMASK), subsite: Number(row.SUBSITE), task: Number(row.TASK) }));
      if (!group) continue;
      const known = { start: String(row.TIMESTART), end: String(row.TIMEEND), version: String(row.VERSIONDATE) };
      group.known.push(known);
      if (known.end > group.maxEnd) group.maxEnd = known.end;
    }
  }
  return props.map((p) => {
    const group = groups.get(keyOf(p.context))!;
    const t = p.timestart;
    let best: string | undefined;
    if (t < group.maxEnd) {
      for (const k of group.known) if (k.start <= t && t < k.end && (best === undefined || k.version > best)) best = k.version;
    }
    const version = best === undefined ? t : addMs(best, OVERLAY_STEP_MS);
    group.known.push({ start: t, end: p.timeend, version });
    if (p.timeend > group.maxEnd) group.maxEnd = p.timeend;
    return version;
  });
}
