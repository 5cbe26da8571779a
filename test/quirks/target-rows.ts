import { Knex } from 'knex';
import { VldRow } from '../../engine/dbi/dbi-reader';

/** A validity as read by SQL, without INSERTDATE (the wall-clock time of the write). */
export type VldWithoutInsertDate = Omit<VldRow, 'INSERTDATE'>;

const text = (v: unknown): string => (v instanceof Date ? v.toISOString().slice(0, 19).replace('T', ' ') : String(v));

/**
 * Everything a DBI table pair holds except INSERTDATE, read by plain SQL (not through the
 * engine's reader), ordered by SEQNO and ROW_COUNTER: two targets holding the same validities and
 * payloads give equal values. Numbers compared as numbers, times as `YYYY-MM-DD HH:MM:SS` text.
 */
export async function targetRowsBySql(db: Knex, table: string): Promise<{ vld: VldWithoutInsertDate[]; payload: Record<string, unknown>[]; payloadRows: number }> {
  const vldRows = (await db.raw(`SELECT SEQNO, TIMESTART, TIMEEND, SITEMASK, SIMMASK, SUBSITE, TASK, AGGREGATENO, VERSIONDATE FROM ${table}Vld ORDER BY SEQNO`)) as unknown;
  const payloadRows = (await db.raw(`SELECT * FROM ${table} ORDER BY SEQNO, ROW_COUNTER`)) as unknown;
  // better-sqlite3 returns the rows, mysql2 [rows, fields]
  const rows = (r: unknown) => (Array.isArray(r) && Array.isArray(r[0]) ? r[0] : r) as Record<string, unknown>[];
  const vld = rows(vldRows).map((r) => ({
    SEQNO: Number(r.SEQNO),
    TIMESTART: text(r.TIMESTART),
    TIMEEND: text(r.TIMEEND),
    SITEMASK: Number(r.SITEMASK),
    SIMMASK: Number(r.SIMMASK),
    SUBSITE: Number(r.SUBSITE),
    TASK: Number(r.TASK),
    AGGREGATENO: Number(r.AGGREGATENO),
    VERSIONDATE: text(r.VERSIONDATE),
  }));
  const payload = rows(payloadRows).map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, v === null ? null : typeof v === 'string' && v !== '' && !Number.isNaN(Number(v)) ? Number(v) : v])));
  return { vld, payload, payloadRows: payload.length };
}
