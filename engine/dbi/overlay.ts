import { Knex } from 'knex';
import { SqlDialect, dialectOf, preparedRows, quoteIdentifier } from '../db/dialect';
import type { SqlQuery } from './dbi-reader';
import { addMs } from '../core/time';
import { vldTableName } from '../spec/ddl';
import { SpecTable } from '../spec/spec-table';
import { masksShare, tinyintMasksSharing } from './mask-bits';
import { Propagation, ValidityContext } from './propagation';

/** Milliseconds DBI adds to the VERSIONDATE of the validity a new one overlays. */
export const OVERLAY_STEP_MS = 60_000;

/** Contexts per query of stored validities (each brings a SITEMASK list of 128 values). */
const CONTEXTS_PER_QUERY = 20;

/**
 * The DBI overlay rule: VERSIONDATE of each propagation is its TIMESTART, unless validities a
 * reader of its context would see (already stored, or earlier in this batch) cover TIMESTART
 * (`TIMESTART <= t < TIMEEND`); then the newest such VERSIONDATE + 60 s, so the new validity wins
 * from TIMESTART on. "Would see" is the reader's selection (`readContextAt`): SITEMASK and
 * SIMMASK sharing a bit with the context's, equal SUBSITE, TASK and AGGREGATENO. One query per
 * 20 contexts of the batch, inside the write's transaction.
 */
export async function overlayVersionDates(trx: Knex.Transaction, spec: SpecTable, props: readonly Propagation[]): Promise<string[]> {
  type Known = { sitemask: number; simmask: number; start: string; end: string; version: string };
  /** The validities of one SUBSITE/TASK/AGGREGATENO: masks decide, per propagation, which count. */
  type Family = { known: Known[]; maxEnd: string };
  type Group = { minStart: string; maxStart: string; ctx: ValidityContext };
  // a repair's validity must beat every stored one it overlaps: look up to its TIMEEND, not just its TIMESTART
  const reach = (p: Propagation) => (p.overlayWhole ? p.timeend : p.timestart);
  const families = new Map<string, Family>();
  const familyOf = (c: { subsite: number; task: number; aggregateno: number }): Family => {
    const key = `${c.subsite}/${c.task}/${c.aggregateno}`;
    let family = families.get(key);
    if (!family) families.set(key, (family = { known: [], maxEnd: '' }));
    return family;
  };
  const groups = new Map<string, Group>();
  for (const p of props) {
    const c = p.context;
    const key = `${c.sitemask}/${c.simmask}/${c.subsite}/${c.task}/${c.aggregateno}`;
    familyOf(c);
    const group = groups.get(key);
    if (!group) groups.set(key, { minStart: p.timestart, maxStart: reach(p), ctx: c });
    else {
      if (p.timestart < group.minStart) group.minStart = p.timestart;
      if (reach(p) > group.maxStart) group.maxStart = reach(p);
    }
  }
  // stored validities that may cover any TIMESTART of the batch, as the reader selects them
  const all = [...groups.values()];
  const seen = new Set<number>();
  const dialect = dialectOf(trx);
  for (let from = 0; from < all.length; from += CONTEXTS_PER_QUERY) {
    const { sql, bindings } = overlayLookupQuery(dialect, spec, all.slice(from, from + CONTEXTS_PER_QUERY));
    // one statement text per set of contexts (one, for a stream's write): prepared once on SQLite
    const query = preparedRows(trx, sql, bindings);
    for (const row of await query) {
      const seqno = Number(row.SEQNO);
      if (seen.has(seqno)) continue;
      seen.add(seqno);
      const family = familyOf({ subsite: Number(row.SUBSITE), task: Number(row.TASK), aggregateno: Number(row.AGGREGATENO) });
      const known = { sitemask: Number(row.SITEMASK), simmask: Number(row.SIMMASK), start: String(row.TIMESTART), end: String(row.TIMEEND), version: String(row.VERSIONDATE) };
      family.known.push(known);
      if (known.end > family.maxEnd) family.maxEnd = known.end;
    }
  }
  return props.map((p) => {
    const c = p.context;
    const family = familyOf(c);
    const t = p.timestart;
    let best: string | undefined;
    if (t < family.maxEnd) {
      for (const k of family.known) {
        const hit = p.overlayWhole ? k.start < p.timeend && t < k.end : k.start <= t && t < k.end;
        if (hit && masksShare(k.sitemask, c.sitemask) && masksShare(k.simmask, c.simmask) && (best === undefined || k.version > best)) best = k.version;
      }
    }
    const version = best === undefined ? t : addMs(best, OVERLAY_STEP_MS);
    family.known.push({ sitemask: c.sitemask, simmask: c.simmask, start: t, end: p.timeend, version });
    if (p.timeend > family.maxEnd) family.maxEnd = p.timeend;
    return version;
  });
}

/** The contexts of a batch and the TIMESTART range each looks up (`overlayLookupQuery`). */
export interface OverlayLookup {
  ctx: ValidityContext;
  /** Smallest TIMESTART of the batch in the context. */
  minStart: string;
  /** Largest TIMESTART (a repair: TIMEEND) of the batch in the context. */
  maxStart: string;
}

/**
 * The statement `overlayVersionDates` runs per 20 contexts: the stored validities a reader of
 * each context would see that end after the batch's first TIMESTART and start before its last.
 * `TIMEEND > ?` is the index range (`<Vld>_site_end`, at the context's end for a stream's next
 * write); on SQLite `+TIMESTART` keeps the planner from the `<Vld>_site_start` range, which
 * holds every earlier validity.
 */
export function overlayLookupQuery(dialect: SqlDialect, spec: SpecTable, lookups: readonly OverlayLookup[]): SqlQuery {
  const q = (name: string) => quoteIdentifier(name, dialect);
  // SQLite, without statistics, takes the (SITEMASK, SUBSITE, TIMESTART) index for
  // `TIMESTART <= ?` and walks every earlier validity of the context on each write (a write took
  // longer the more the table held); `+TIMESTART` (the same value, not an indexed term) leaves it
  // the TIMEEND index, where the range is a handful of rows. MySQL picks by its own estimates.
  const start = dialect === 'sqlite' ? `+${q('TIMESTART')}` : q('TIMESTART');
  const head = `SELECT ${['SEQNO', 'SITEMASK', 'SIMMASK', 'SUBSITE', 'TASK', 'AGGREGATENO', 'TIMESTART', 'TIMEEND', 'VERSIONDATE'].map(q).join(', ')} FROM ${q(vldTableName(spec))} WHERE `;
  const bindings: unknown[] = [];
  const terms: string[] = [];
  for (const g of lookups) {
    const masks = tinyintMasksSharing(g.ctx.sitemask);
    terms.push(
      `(${q('SITEMASK')} IN (${masks.map(() => '?').join(', ')}) AND (${q('SIMMASK')} & ?) <> 0 AND ${q('SUBSITE')} = ? AND ${q('TASK')} = ? ` +
        `AND ${q('AGGREGATENO')} = ? AND ${q('TIMEEND')} > ? AND ${start} <= ?)`,
    );
    bindings.push(...masks, g.ctx.simmask, g.ctx.subsite, g.ctx.task, g.ctx.aggregateno, g.minStart, g.maxStart);
  }
  return { sql: head + terms.join(' OR '), bindings };
}
