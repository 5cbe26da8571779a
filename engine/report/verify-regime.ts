import { Knex } from 'knex';
import { regimeForRole } from '../config/regime-defaults';
import { regimeHash } from '../config/regime-hash';
import { localToUtc, utcToLocal } from '../core/time';
import { dialectOf, quoteIdentifier, rawRows } from '../db/dialect';
import { Propagation, ValidityContext } from '../dbi/dbi-writer';
import { VldRow, floatValue, lastValidity, payloadNormalizer } from '../dbi/dbi-reader';
import { PROVENANCE_TABLE, SOURCE_IDS_TABLE, columnValueKind, vldTableName } from '../spec/ddl';
import { SpecColumn, SpecTable } from '../spec/spec-table';
import { discoverStreams, streamTables } from '../source/source-stream';
import { SourceKey } from '../source/source-reader';
import { findLateRows, latestSourceMark, sourceMarksSince } from '../stream/late-rows';
import { RunOptions } from '../stream/run-options';
import { replayRegime } from './replay-regime';

/** One difference between the replay and the target. */
export interface VerifyDifference {
  /** `missing`: the replay writes it, the target lacks it; `extra`: the reverse; `different`: same range, other payload; `late`: a source row the target never read. */
  kind: 'missing' | 'extra' | 'different' | 'late';
  /** Source table of the stream. */
  stream: string;
  /** Target table (none for `late`). */
  target?: string;
  context: ValidityContext;
  /** The validity's range, UTC and source-local. */
  timestart?: string;
  timeend?: string;
  local?: [string, string];
  /** SEQNO in the target (`extra`, `different`). */
  seqno?: number;
  /** `different`: what differs first (row count, or a row and attribute with both values). */
  detail?: string;
  /** `late`: the source row. */
  row?: SourceKey;
}

/** The comparison of one target of one stream. */
export interface VerifiedTarget {
  stream: string;
  target: string;
  context: ValidityContext;
  /** UTC start of the comparison: the end of the target's last validity ending at or before `--from` (else `--from`; none: from the start). */
  from?: string;
  /** UTC end of the comparison (`--to`), exclusive on TIMESTART. */
  to?: string;
  /** Validities compared: replayed (up to the target's last TIMEEND) and held by the target. */
  replayed: number;
  held: number;
  missing: number;
  extra: number;
  different: number;
  /**
   * Validities of the range (those readers see) whose provenance names another regime hash than
   * the regime verified now, per hash: written by another version of the regime. Reported, not
   * counted as a difference (an edit that changes nothing in the range leaves it equal).
   */
  otherRegimes: { hash: string; validities: number }[];
}

/** What `scrape verify` found. */
export interface VerifyReport {
  regime: string;
  targets: VerifiedTarget[];
  /** Per stream: late rows (counted against the target's source marks) and quarantined rows (dated past `future_limit`, reported only). */
  streams: { stream: string; zone: string; late: number; quarantined: number }[];
  /** Every difference, in stream, target and time order (late rows last). */
  differences: VerifyDifference[];
  /** sha256 of the regime verified (defaults and overrides applied), as provenance records it. */
  regimeHash: string;
  /** True when there is no difference (quarantined rows and other regime hashes do not count). */
  equal: boolean;
}

/** What to verify: a regime's databases, the role, and the range (UTC). */
export interface VerifyOptions extends Omit<RunOptions, 'replay' | 'untilCaughtUp'> {
  mode: 'scrape' | 'average';
  from?: string;
  to?: string;
}

/**
 * Replays a regime's source through the engine's own decisions (`replayRegime`, nothing written)
 * and compares the validities with what the target holds in the range: each stream resumes from
 * the target's last validity ending at or before `from` (docs/design.md §4.1, so the replay
 * decides exactly what a continuous run decided from there), and its validities from that point
 * up to `to` and up to the target's last TIMEEND (what the target has not reached yet is not
 * missing) are matched by range against the target's validities of the stream's context with
 * TIMESTART in the same range: missing, extra, and different payload (row count, or a value
 * beyond its column's precision: a decimal's scale, a float's single precision). Late rows (read
 * from the target's `SCRAPE_SOURCE_IDS` marks) are reported and left out of the replay, since
 * the run that wrote the target never read them; quarantined rows are reported.
 */
export async function verifyRegime(options: VerifyOptions): Promise<VerifyReport> {
  const regime = regimeForRole(options.regime, options.mode);
  const { source, target, from, to } = options;
  const differences: VerifyDifference[] = [];
  const lateDiffs: VerifyDifference[] = [];
  const specs = regime.targets.map((t) => options.specs.get(t.spec)!);
  const present = await Promise.all(specs.map(async (spec) => (await target.schema.hasTable(vldTableName(spec))) && (await target.schema.hasTable(spec.table))));
  // late rows first: the replay leaves them out
  const excludeIds = new Map<string, number[]>();
  const lateCount = new Map<string, number>();
  for (const stream of await discoverStreams(source, regime, options.tables)) {
    let total = 0;
    // each table of a succession has its own ids and marks (one table: the stream's)
    for (const table of streamTables(stream)) {
      const ids = new Map<number, string>();
      let count = 0;
      for (const [i, spec] of specs.entries()) {
        if (!present[i]) continue;
        const mark = await latestSourceMark(target, spec, table, stream.context);
        if (!mark) continue;
        const more = (await sourceMarksSince(target, spec, table, stream.context, 0)).filter((m) => m.seqno !== mark.seqno);
        const found = await findLateRows(source, { table, timestampZone: stream.timestampZone }, mark, more);
        count = Math.max(count, found.count);
        for (const r of found.rows) {
          // a repair that read it already overlays its range: no longer late (docs: scrape repair)
          if (!(await repairedLateRow(target, spec, table, stream.context, r.id, localToUtc(r.date_time, stream.zone), options.mode === 'average'))) ids.set(r.id, r.date_time);
        }
        count = Math.min(count, ids.size + Math.max(0, found.count - found.rows.length));
      }
      excludeIds.set(table, [...ids.keys()]);
      total += Math.max(count, ids.size);
      for (const [id, date_time] of [...ids].sort((a, b) => a[0] - b[0])) {
        lateDiffs.push({ kind: 'late', stream: stream.table, context: stream.context, row: { id, date_time } });
      }
    }
    lateCount.set(stream.table, total);
  }
  const replayed = await replayRegime({ ...options, regime }, options.mode, { resumeBefore: from ?? BEFORE_ANY, excludeIds });
  const hash = regimeHash(regime);
  const targets: VerifiedTarget[] = [];
  for (const s of replayed) {
    for (const t of s.targets) {
      const ctx = s.context;
      const anchor = from !== undefined && !t.absent ? await lastValidity(target, t.spec, ctx, from) : undefined;
      const start = anchor ? String(anchor.TIMEEND) : from;
      const last = t.absent ? undefined : await lastValidity(target, t.spec, ctx);
      const lastEnd = last ? String(last.TIMEEND) : undefined;
      const inRange = (ts: string) => (start === undefined || ts >= start) && (to === undefined || ts < to);
      const expected = t.validities.filter((v) => inRange(v.timestart) && (lastEnd === undefined || v.timeend <= lastEnd));
      const held = t.absent ? [] : visibleHeld(await heldValidities(target, t.spec, ctx, start, to));
      const local = (v: { timestart: string; timeend: string }): [string, string] => [utcToLocal(v.timestart, s.zone), utcToLocal(v.timeend, s.zone)];
      const byRange = new Map<string, HeldValidity[]>();
      for (const h of held) {
        const key = `${h.vld.TIMESTART}|${h.vld.TIMEEND}`;
        byRange.set(key, [...(byRange.get(key) ?? []), h]);
      }
      const counts = { missing: 0, extra: 0, different: 0 };
      const base = { stream: s.table, target: t.spec.table, context: ctx };
      const found: VerifyDifference[] = [];
      for (const v of expected) {
        const candidates = byRange.get(`${v.timestart}|${v.timeend}`);
        const h = candidates?.shift();
        if (!h) {
          counts.missing++;
          found.push({ kind: 'missing', ...base, timestart: v.timestart, timeend: v.timeend, local: local(v) });
          continue;
        }
        h.matched = true;
        const detail = payloadDifference(t.spec, v, h.rows);
        if (detail) {
          counts.different++;
          found.push({ kind: 'different', ...base, timestart: v.timestart, timeend: v.timeend, local: local(v), seqno: Number(h.vld.SEQNO), detail });
        }
      }
      for (const h of held) {
        if (h.matched) continue;
        counts.extra++;
        const v = { timestart: String(h.vld.TIMESTART), timeend: String(h.vld.TIMEEND) };
        found.push({ kind: 'extra', ...base, ...v, local: local(v), seqno: Number(h.vld.SEQNO) });
      }
      found.sort((a, b) => (a.timestart! < b.timestart! ? -1 : a.timestart! > b.timestart! ? 1 : 0));
      differences.push(...found);
      const otherRegimes = await regimeHashesOf(target, t.spec, held.map((h) => Number(h.vld.SEQNO)), hash);
      targets.push({ stream: s.table, target: t.spec.table, context: ctx, from: start, to, replayed: expected.length, held: held.length, ...counts, otherRegimes });
    }
  }
  differences.push(...lateDiffs);
  return {
    regime: regime.name,
    targets,
    streams: replayed.map((s) => ({ stream: s.table, zone: s.zone, late: lateCount.get(s.table) ?? 0, quarantined: s.quarantined })),
    differences,
    regimeHash: hash,
    equal: differences.length === 0,
  };
}

/**
 * True when a `repair` validity of the context covering `utc` was decided having read source row
 * `id`. A scraper's validity covers `[TIMESTART, TIMEEND)`; an averager's bin holds its entry at
 * TIMEEND too (`closedEnd`).
 */
async function repairedLateRow(db: Knex, spec: SpecTable, sourceTable: string, ctx: ValidityContext, id: number, utc: string, closedEnd: boolean): Promise<boolean> {
  if (!(await db.schema.hasTable(PROVENANCE_TABLE))) return false;
  const q = (n: string) => quoteIdentifier(n, dialectOf(db));
  const rows = await rawRows(
    db,
    `SELECT 1 AS hit FROM ${q(PROVENANCE_TABLE)} p JOIN ${q(vldTableName(spec))} v ON v.${q('SEQNO')} = p.${q('SEQNO')} ` +
      `JOIN ${q(SOURCE_IDS_TABLE)} s ON s.${q('SEQNO')} = p.${q('SEQNO')} AND s.${q('TABLENAME')} = p.${q('TABLENAME')} ` +
      `WHERE p.${q('TABLENAME')} = ? AND p.${q('REASON')} = 'repair' AND s.${q('SOURCE_TABLE')} = ? AND s.${q('MAX_ID')} >= ? ` +
      `AND v.${q('SITEMASK')} = ? AND v.${q('SUBSITE')} = ? AND v.${q('SIMMASK')} = ? AND v.${q('TASK')} = ? AND v.${q('AGGREGATENO')} = ? ` +
      `AND v.${q('TIMESTART')} <= ? AND v.${q('TIMEEND')} ${closedEnd ? '>=' : '>'} ? LIMIT 1`,
    [spec.table, sourceTable, id, ctx.sitemask, ctx.subsite, ctx.simmask, ctx.task, ctx.aggregateno, utc, utc],
  );
  return rows.length > 0;
}

/**
 * The regime hashes other than `current` that provenance names for `seqnos` of `spec`'s table, with
 * how many of them each wrote (none when the target has no provenance table).
 */
async function regimeHashesOf(db: Knex, spec: SpecTable, seqnos: number[], current: string): Promise<{ hash: string; validities: number }[]> {
  if (seqnos.length === 0 || !(await db.schema.hasTable(PROVENANCE_TABLE))) return [];
  const counts = new Map<string, number>();
  for (let i = 0; i < seqnos.length; i += 500) {
    const rows = await db(PROVENANCE_TABLE).select('REGIME_HASH').count({ n: '*' }).where('TABLENAME', spec.table).whereIn('SEQNO', seqnos.slice(i, i + 500)).groupBy('REGIME_HASH');
    for (const r of rows as { REGIME_HASH: string; n: unknown }[]) counts.set(r.REGIME_HASH, (counts.get(r.REGIME_HASH) ?? 0) + Number(r.n));
  }
  return [...counts].filter(([h]) => h !== current).map(([hash, validities]) => ({ hash, validities })).sort((a, b) => b.validities - a.validities);
}

/** Earlier than any validity: without `from`, the replay starts where an empty target would (timefloor, or the seed). */
const BEFORE_ANY = '0001-01-01 00:00:00';

/** A validity of the target with its payload rows. */
export interface HeldValidity {
  vld: VldRow;
  rows: Record<string, unknown>[];
  matched?: boolean;
}

/** The target's validities of exactly `ctx` with TIMESTART in `[start, to)` (either open), with their payload rows (normalized as the DBI reader reads them). */
export async function heldValidities(db: Knex, spec: SpecTable, ctx: ValidityContext, start: string | undefined, to: string | undefined): Promise<HeldValidity[]> {
  let query = db(vldTableName(spec))
    .select('SEQNO', 'TIMESTART', 'TIMEEND', 'SITEMASK', 'SIMMASK', 'SUBSITE', 'TASK', 'AGGREGATENO', 'VERSIONDATE', 'INSERTDATE')
    .where({ SITEMASK: ctx.sitemask, SUBSITE: ctx.subsite, SIMMASK: ctx.simmask, TASK: ctx.task, AGGREGATENO: ctx.aggregateno });
  if (start !== undefined) query = query.where('TIMESTART', '>=', start);
  if (to !== undefined) query = query.where('TIMESTART', '<', to);
  const vld = (await query.orderBy([{ column: 'TIMESTART' }, { column: 'SEQNO' }])).map((r: Record<string, unknown>) => ({ ...r, TIMESTART: timeText(r.TIMESTART), TIMEEND: timeText(r.TIMEEND) }) as unknown as VldRow);
  const held: HeldValidity[] = vld.map((v) => ({ vld: v, rows: [] }));
  const bySeqno = new Map(held.map((h) => [Number(h.vld.SEQNO), h]));
  const normalize = payloadNormalizer(spec);
  const q = (n: string) => quoteIdentifier(n, dialectOf(db));
  const seqnos = [...bySeqno.keys()];
  for (let i = 0; i < seqnos.length; i += 500) {
    const slice = seqnos.slice(i, i + 500);
    const rows = await db(spec.table).select(['SEQNO', 'ROW_COUNTER', ...spec.columns.map((c) => c.name)]).whereIn('SEQNO', slice).orderByRaw(`${q('SEQNO')}, ${q('ROW_COUNTER')}`);
    for (const r of rows) bySeqno.get(Number(r.SEQNO))!.rows.push(normalize(r));
  }
  return held;
}

/**
 * What a DBI reader of the context sees of `held`: a validity wholly covered by validities of
 * higher precedence (newer VERSIONDATE, equal ones the larger SEQNO: a repair's overlay) is left
 * out. Validities that keep VERSIONDATE = TIMESTART and do not overlap, a stream's own, all stay.
 */
export function visibleHeld(held: HeldValidity[]): HeldValidity[] {
  const text = (v: unknown) => timeText(v);
  const rank = (h: HeldValidity) => `${text(h.vld.VERSIONDATE)}|${String(Number(h.vld.SEQNO)).padStart(12, '0')}`;
  if (held.every((h) => text(h.vld.VERSIONDATE) === String(h.vld.TIMESTART))) return held;
  return held.filter((h) => {
    const start = String(h.vld.TIMESTART);
    const end = String(h.vld.TIMEEND);
    const mine = rank(h);
    const over = held
      .filter((o) => o !== h && rank(o) > mine && String(o.vld.TIMESTART) < end && String(o.vld.TIMEEND) > start)
      .map((o) => [String(o.vld.TIMESTART), String(o.vld.TIMEEND)])
      .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    let reached = start;
    for (const [s, e] of over) {
      if (s > reached) break;
      if (e > reached) reached = e;
      if (reached >= end) return false;
    }
    return start === end && over.length > 0 ? false : true;
  });
}

/** A time read from either driver as `YYYY-MM-DD HH:MM:SS`. */
function timeText(v: unknown): string {
  if (v instanceof Date) return v.toISOString().slice(0, 19).replace('T', ' ');
  return String(v).slice(0, 19);
}

/** Where a replayed validity's payload differs from the target's rows (beyond each column's precision), or undefined. */
function payloadDifference(spec: SpecTable, v: Propagation, held: Record<string, unknown>[]): string | undefined {
  if (v.rows.length !== held.length) return `${held.length} payload rows in the target, ${v.rows.length} replayed`;
  for (let r = 0; r < held.length; r++) {
    for (const c of spec.columns) {
      const want = v.rows[r][c.name];
      const got = held[r][c.name];
      if (!sameValue(c, want, got)) return `row ${r + 1} ${c.name}: target ${show(got)}, replay ${show(want)}`;
    }
  }
  return undefined;
}

function show(v: unknown): string {
  return v === null || v === undefined ? 'NULL' : String(v);
}

/**
 * Equal within the column's precision: a decimal to half a unit of its scale, a float to its
 * single precision (6 significant digits, as the DBI reader reads it), a double to 12, integers
 * and text exactly (a CHAR without its trailing blanks).
 */
export function sameValue(column: Pick<SpecColumn, 'dbtype'>, replayed: unknown, held: unknown): boolean {
  const none = (x: unknown) => x === null || x === undefined;
  if (none(replayed) || none(held)) return none(replayed) && none(held);
  const kind = columnValueKind(column.dbtype);
  if (kind === 'text') return String(replayed).replace(/ +$/, '') === String(held).replace(/ +$/, '');
  const a = Number(replayed);
  const b = Number(held);
  if (kind === 'integer') return a === b;
  if (kind === 'decimal') {
    const scale = Number(/,\s*(\d+)\s*\)/.exec(column.dbtype)?.[1] ?? 0);
    return Math.abs(a - b) <= 0.5 * 10 ** -scale * (1 + 1e-9) + 1e-12 * Math.max(1, Math.abs(a));
  }
  const digits = kind === 'float' ? 6 : 12;
  const x = kind === 'float' ? floatValue(a) : a;
  const y = kind === 'float' ? floatValue(b) : b;
  return Math.abs(x - y) <= 10 ** (1 - digits) * Math.max(Math.abs(x), Math.abs(y), Number.MIN_VALUE);
}
