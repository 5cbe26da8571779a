import { Clock } from '../core/clock';
import { ScrapeError } from '../core/errors';
import { Logger } from '../core/logger';
import { localToUtcDetail, naiveMs, naiveText, utcToLocal } from '../core/time';
import { DbiWriter, PreparedWrite, Propagation, ProvenanceToWrite, SourceIds, ValidityContext } from '../dbi/dbi-writer';
import { lastValidity, VldRow } from '../dbi/dbi-reader';
import { FencePoint, fenceAfter } from '../dbi/fence';
import { SpecTable } from '../spec/spec-table';
import { SourceRow } from '../source/source-row';
import { Mapping } from '../transform/mapping';
import { UnpivotPlan } from '../transform/unpivot-plan';

/** A target table of a stream: where its propagations go and how payload rows are made. */
export interface StreamTarget {
  spec: SpecTable;
  mapping: Mapping;
  writer: DbiWriter;
  /** True when the target's tables do not exist (a replay only): it holds nothing. */
  absent?: boolean;
}

/** What a decider hands over for one validity: its entries, aggregates and decision. */
export interface Decision {
  /** Source-local position deciding which targets lack it (naive local ms): targets that hold everything before a later point skip it. */
  positionMs: number;
  /** Entries whose `date_time`s are TIMESTART and TIMEEND (source-local), bound as `first` and `last`. */
  first: SourceRow;
  last: SourceRow;
  /** Aggregates bound as `agg`. */
  agg?: Record<string, number | null>;
  /** `changed`, `overage`, `bin`…: told to observers once written. */
  reason: string;
  /**
   * Highest source `id` the stream had read when it made this decision (a running max: ids need
   * not grow with `date_time`); kept beside the validity so rows that come later are found
   * (late rows). `first`/`last` ids count too.
   */
  maxSourceId?: number;
  /** For `changed`: the rules that fired and on which columns (provenance). */
  fired?: { rule: number; columns: string[] }[];
  /** Samples decided in the range and entries seen in `[first, last)` (provenance). */
  samples?: number;
  rows?: number;
  /** What the deadband suppressed in the range, per threshold-rule column (provenance), packed. */
  suppressed?: ProvenanceToWrite['suppressed'];
}

/** What every provenance row of a run carries: which regime and which engine wrote it. */
export interface ProvenanceStamp {
  /** sha256 (hex) of the regime's canonical JSON (`regimeHash`). */
  regimeHash: string;
  /** The engine's version (package.json). */
  engineVersion: string;
}

/** Propagations converted for their writers (one per target, none when it has nothing) and their decisions. */
interface TakenWrites {
  writes: (PreparedWrite | undefined)[];
  reasons: PendingReason[];
}

/** A propagation decided but not yet known to be written: its decision and TIMEEND (UTC text). */
interface PendingReason {
  reason: string;
  timeend: string;
}

/** Resolves on the event loop's next turn: I/O waiting meanwhile (a page streaming in, a write's reply) is handled first. */
export function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * Payload rows a process (or one run) may hold decided but not yet taken for writing, over all
 * its streams: about 10 MB of rows. Pages are sized in source rows, but one decision of an
 * unpivoting regime is hundreds of payload rows (pmthv: 2 targets × 192), so a full page of a
 * 192-channel stream held 300 000 of them and 55 streams catching up at once took 1.8 GB.
 */
export const PENDING_ROWS_LIMIT = 100_000;

/**
 * Payload rows decided but not yet taken for writing, counted over every stream sharing it (one
 * per process or per run, see `RunOptions.pendingBudget`). Past `limit`, the stream that decides
 * next writes what it holds before deciding more (`TargetSet.overBudget`): memory follows the
 * limit, not the number of streams or how wide their decisions are. Changes when rows are
 * written, never which.
 */
export class PendingBudget {
  /** Rows held now, all sharing streams together. */
  held = 0;
  constructor(readonly limit = PENDING_ROWS_LIMIT) {}
}

/**
 * The targets of one stream, shared by the scraper and the averager: where each target stands
 * (its last validity for the stream's context), the propagations decided but not written, and
 * the write in flight. Decisions are mapped into payload rows for each target that lacks them;
 * writes are one transaction per target, in order, one in flight at a time (written behind
 * while the next page is read). A write that fails keeps its decisions until the next resume
 * finds them in every target (a COMMIT whose reply was lost), so each is told to observers once.
 */
export class TargetSet {
  /** Per target: decisions before this naive local ms are already in that target. */
  private holdsBefore: (number | undefined)[] = [];
  private pending: Propagation[][];
  private pendingReasons: PendingReason[] = [];
  private unconfirmed: PendingReason[] = [];
  private inFlight?: Promise<void>;
  /** The write in flight has ended (or none was started). */
  private inFlightEnded = true;
  /** Per target: the context's last validity as this stream last read or wrote it; every write is fenced on it. */
  private expect: (FencePoint | undefined)[] = [];
  /**
   * Per target, after `lastValidities`: its last validity when that ends at the transition instant
   * closing a gap (see `resumePoints`); a decision with the same UTC range is held by that target.
   */
  private replay: ({ timestart: string; timeend: string } | undefined)[] = [];
  /** Per target, after `lastValidities`: the source-local time it resumes from (see `resumePoints`). */
  private resumes: (string | undefined)[] = [];
  /** A replay from a time: each target's last validity is the last one ending at or before this (UTC). */
  resumeBefore?: string;
  /** Validities written, all targets together, since the stream started. */
  writes = 0;
  /** Told of each propagation once written (its decision) and of each write's duration in ms. */
  onPropagation?: (reason: string) => void;
  onWrite?: (ms: number) => void;
  /** Where the stream's nonexistent local times are reported (see `add`); none: counted only. */
  logger?: Logger;
  /** Targets whose missing `SCRAPE_SOURCE_IDS` was told (once per stream and target). */
  private readonly toldNoSourceIds = new Set<number>();
  /** Targets whose missing `SCRAPE_PROVENANCE` was told (once per stream and target). */
  private readonly toldNoProvenance = new Set<number>();
  /** Targets whose refused UPDATE of `SCRAPE_VLD_SPAN` was told (once per stream and target). */
  private readonly toldNoSpan = new Set<number>();
  /** Set by the stream builder: every validity is written with its provenance (`SCRAPE_PROVENANCE`). */
  stamp?: ProvenanceStamp;
  /** Set by the stream builder: the pending payload rows shared with the other streams (see `overBudget`). */
  budget?: PendingBudget;
  /** Payload rows of `pending`, all targets together (counted in `budget`). */
  private pendingRows = 0;
  /**
   * A stream reading a table succession: which of its tables a row was read from (by its
   * `date_time`) and the highest id read from a table so far. `SCRAPE_SOURCE_IDS` then keeps the
   * table of each validity's end entry (where reading goes on, and where late rows are looked for)
   * with an id of that table; provenance names both tables of a range that spans the hand-over.
   * Undefined for one table: the stream's name.
   */
  succession?: { tableAt(dateTime: string): string; maxIdReadIn(table: string): number | undefined };
  /** Distinct local times of decisions that fell in a gap (skipped hour) since the stream started. */
  gapTimes = 0;
  /** The gap the last conversions fell in: its transition instant (UTC text), first local time and count. */
  private gap?: { transition: string; first: string; count: number; last: string };

  constructor(
    readonly targets: StreamTarget[],
    private readonly context: ValidityContext,
    private readonly ctx: Record<string, unknown>,
    private readonly timezone: string,
    private readonly clock: Clock,
    private readonly plan?: UnpivotPlan,
  ) {
    this.pending = targets.map(() => []);
  }

  /**
   * Reads each target's last validity of the stream's context (after letting the write in flight
   * finish) and forgets everything not written. Decisions of a failed write that every target now
   * holds (by TIMEEND) are told to observers here; the others will be decided again.
   */
  async lastValidities(): Promise<(VldRow | undefined)[]> {
    await this.settle();
    const last: (VldRow | undefined)[] = [];
    for (const target of this.targets) last.push(target.absent ? undefined : await lastValidity(target.writer.db, target.spec, this.context, this.resumeBefore));
    this.expect = last.map((v) => (v ? { seqno: Number(v.SEQNO), timeend: String(v.TIMEEND) } : undefined));
    this.replay = last.map((v) => (v && this.closesGap(String(v.TIMEEND)) ? { timestart: String(v.TIMESTART), timeend: String(v.TIMEEND) } : undefined));
    this.resumes = last.map((v, i) => (v ? this.local(String(this.replay[i] ? v.TIMESTART : v.TIMEEND)) : undefined));
    this.pending = this.targets.map(() => []);
    this.pendingReasons = [];
    this.releaseRows();
    const unconfirmed = this.unconfirmed;
    this.unconfirmed = [];
    for (const p of unconfirmed) {
      if (last.every((v) => v !== undefined && v.TIMEEND >= p.timeend)) this.onPropagation?.(p.reason);
    }
    return last;
  }

  /**
   * Per target, after `lastValidities`: the source-local time its stream resumes from (undefined:
   * the target holds nothing), the source-local time of its last TIMEEND, except when that TIMEEND
   * is the transition instant closing a gap (a skipped hour): every local time of the gap became
   * that instant, so where in the gap the validity ended is lost. The target then resumes from
   * the validity's TIMESTART instead: the stream decides that validity again, `add` finds it held
   * (same UTC range) and goes on exactly as the run that wrote it, whose next decision started
   * where it ended.
   */
  get resumePoints(): (string | undefined)[] {
    return this.resumes;
  }

  /** True when `utc` is a transition instant whose local time just before it (1 s) is in the gap ending there. */
  private closesGap(utc: string): boolean {
    const c = localToUtcDetail(naiveText(naiveMs(this.local(utc)) - 1000), this.timezone);
    return c.gap && c.utc === utc;
  }

  /** Source-local time of a validity's TIMEEND or TIMESTART (UTC in the target). */
  local(utc: string): string {
    return utcToLocal(utc, this.timezone);
  }

  /** Sets, per target, the naive local ms before which it holds every decision (`lastValidities` order; undefined: holds nothing). */
  holdBefore(positions: (number | undefined)[]): void {
    this.holdsBefore = positions;
  }

  /**
   * Maps a decision into one pending propagation per target that lacks it; false when nothing is
   * added: every target holds it already, or its UTC range is empty. Local times become UTC by the
   * time rules (`localToUtcDetail`): a nonexistent local time (the hour skipped when clocks go
   * forward) is moved to the transition instant, so a decision with both ends in one gap has an
   * empty UTC range; it writes nothing and the stream goes on as if written (the next decision
   * starts at its end as usual). A local range that is empty already (one entry) is written as before.
   */
  async add(decision: Decision): Promise<boolean> {
    const start = this.toUtc(decision.first.date_time);
    const end = this.toUtc(decision.last.date_time);
    const timestart = start.utc;
    const timeend = end.utc;
    if (timestart === timeend && decision.first.date_time !== decision.last.date_time) return false;
    let added = false;
    const why = this.provenance(decision);
    for (const [i, target] of this.targets.entries()) {
      const holds = this.holdsBefore[i];
      if (holds !== undefined && decision.positionMs < holds) continue;
      const replayed = this.replay[i];
      if (replayed !== undefined) {
        this.replay[i] = undefined;
        if (replayed.timestart === timestart && replayed.timeend === timeend) continue;
      }
      added = true;
      const rows = await target.mapping.evaluate({ first: decision.first, last: decision.last, agg: decision.agg, ctx: this.ctx }, this.plan);
      this.refuseNotFinite(rows, i, decision, timestart, timeend);
      this.pending[i].push({ timestart, timeend, context: this.context, rows, source: this.sourceIds(decision), why, reason: decision.reason });
      this.pendingRows += rows.length;
      if (this.budget) this.budget.held += rows.length;
    }
    if (added) this.pendingReasons.push({ reason: decision.reason, timeend });
    return added;
  }

  /**
   * NaN or ±Infinity from a mapping (JSONata's `x / 0` gives Infinity) stops the stream with the
   * regime location and the values: writing NULL instead would hide it, and the target must
   * depend only on the source.
   */
  private refuseNotFinite(rows: Record<string, unknown>[], target: number, decision: Decision, timestart: string, timeend: string): void {
    for (let r = 0; r < rows.length; r++) {
      const row = rows[r];
      for (const attribute in row) {
        const v = row[attribute];
        if (typeof v !== 'number' || Number.isFinite(v)) continue;
        throw new ScrapeError(
          'DBI_NOT_FINITE',
          `targets[${target}].map.${attribute} gave ${v} for payload row ${r + 1} of the validity [${timestart}, ${timeend}) UTC of ${String(this.ctx.table)} (source ids ${decision.first.id} to ${decision.last.id}, local ${decision.first.date_time} to ${decision.last.date_time}): a mapping must give a finite number or null; nothing of it is written`,
        );
      }
    }
  }

  /**
   * A decision's local time to UTC, counting nonexistent ones. The stream's first is warned of
   * once (stream, local time, transition instant); each gap's count is logged (info) when the
   * decisions leave it, and all are counted in `gapTimes` (a local time converted twice, as the
   * end of one decision and the start of the next, counts once).
   */
  private toUtc(local: string): { utc: string; gap: boolean } {
    const c = localToUtcDetail(local, this.timezone);
    const open = this.gap;
    if (c.gap) {
      if (open?.transition === c.utc) {
        if (open.last !== local) {
          open.count++;
          open.last = local;
          this.gapTimes++;
        }
        return c;
      }
      this.closeGap();
      if (this.gapTimes === 0) {
        this.logger?.log(
          'warn',
          `${this.streamName}: local time ${local} does not exist in ${this.timezone} (skipped when clocks went forward); moved to the transition instant ${c.utc} UTC; such times are counted (DCS clocks usually keep standard time: is the zone right?)`,
          { stream: this.streamName, local, utc: c.utc },
        );
      }
      this.gap = { transition: c.utc, first: local, count: 1, last: local };
      this.gapTimes++;
    } else if (open) this.closeGap();
    return c;
  }

  /** Logs the count of the gap the decisions just left. */
  private closeGap(): void {
    const g = this.gap;
    if (!g) return;
    this.gap = undefined;
    this.logger?.log('info', `${this.streamName}: ${g.count} nonexistent local time(s) from ${g.first} ${this.timezone} moved to the transition instant ${g.transition} UTC (${this.gapTimes} in this stream)`, {
      stream: this.streamName,
      first_time: g.first,
      zone: this.timezone,
      transition_utc: g.transition,
      gap_times: g.count,
      gap_times_total: this.gapTimes,
    });
  }

  /** What `SCRAPE_SOURCE_IDS` keeps of a decision: the highest id read and its entries' ids and times. */
  private sourceIds(d: Decision): SourceIds | undefined {
    const firstId = Number(d.first.id);
    const lastId = Number(d.last.id);
    if (!Number.isFinite(firstId) || !Number.isFinite(lastId)) return undefined;
    if (this.succession) {
      // ids restart from one table of a succession to the next: the mark is of the end entry's
      // table, with the highest id read from that table (the stream's running max mixes tables)
      const table = this.succession.tableAt(d.last.date_time);
      const sameTable = this.succession.tableAt(d.first.date_time) === table;
      const maxId = Math.max(this.succession.maxIdReadIn(table) ?? -Infinity, lastId, sameTable ? firstId : -Infinity);
      return { table, maxId, firstId, lastId, firstTime: d.first.date_time, lastTime: d.last.date_time };
    }
    const maxId = Math.max(d.maxSourceId ?? -Infinity, firstId, lastId);
    return { table: this.streamName, maxId, firstId, lastId, firstTime: d.first.date_time, lastTime: d.last.date_time };
  }

  /**
   * The source table a validity was read from: the stream's; for a succession the table of its
   * entries, `OLD>NEW` for a range across the hand-over (the NEW alone when both would not fit
   * the column's 64 characters).
   */
  private sourceTableOf(d: Decision): string {
    if (!this.succession) return this.streamName;
    const a = this.succession.tableAt(d.first.date_time);
    const b = this.succession.tableAt(d.last.date_time);
    return a === b || a.length + b.length + 1 > 64 ? b : `${a}>${b}`;
  }

  /** What `SCRAPE_PROVENANCE` keeps of a decision (none without a stamp). */
  private provenance(d: Decision): ProvenanceToWrite | undefined {
    if (!this.stamp) return undefined;
    const why: ProvenanceToWrite = { reason: d.reason, sourceTable: this.sourceTableOf(d), firstTime: d.first.date_time, lastTime: d.last.date_time, ...this.stamp };
    const firstId = Number(d.first.id);
    const lastId = Number(d.last.id);
    if (Number.isFinite(firstId)) why.firstId = firstId;
    if (Number.isFinite(lastId)) why.lastId = lastId;
    if (d.fired) why.fired = d.fired;
    if (d.samples !== undefined) why.samples = d.samples;
    if (d.rows !== undefined) why.rows = d.rows;
    if (d.suppressed) why.suppressed = d.suppressed;
    return why;
  }

  /** The stream's name in log lines: its source table. */
  private get streamName(): string {
    return String(this.ctx.table ?? 'stream');
  }

  /** Decisions not written yet. */
  get pendingCount(): number {
    return this.pendingReasons.length;
  }

  /**
   * True when this stream holds pending rows and the streams sharing its budget hold `limit` or
   * more: the stream writes behind (`writeBehind`) before deciding more.
   */
  get overBudget(): boolean {
    return this.budget !== undefined && this.pendingRows > 0 && this.budget.held >= this.budget.limit;
  }

  /** The pending rows leave the budget (taken for writing, or forgotten by a resume). */
  private releaseRows(): void {
    if (this.budget) this.budget.held -= this.pendingRows;
    this.pendingRows = 0;
  }

  /**
   * Starts writing the propagations collected so far once the write in flight is done, and
   * leaves it in flight: their rows are converted first, so they are not held while waiting.
   */
  async writeBehind(): Promise<void> {
    const taken = await this.take();
    await this.awaitInFlight();
    const w = this.writeTaken(taken);
    w.catch(() => undefined); // awaited by the next write, flush or settle
    this.inFlight = w;
    this.inFlightEnded = false;
    const ended = () => {
      if (this.inFlight === w) this.inFlightEnded = true;
    };
    w.then(ended, ended);
  }

  /**
   * As `writeBehind` when no write is in flight, or when `maxPending` decisions or more wait;
   * else nothing: while a write is in flight the decisions gather for the next one, and the
   * caller reads on. When writing is slower than deciding (a commit per write), the writes then
   * grow instead of each step waiting for the one before.
   */
  async writeBehindUnlessBusy(maxPending: number): Promise<void> {
    if (this.inFlight !== undefined && !this.inFlightEnded && this.pendingCount < maxPending) return;
    await this.writeBehind();
  }

  /** Writes the propagations collected so far after the write in flight; both done when it resolves. */
  async flush(): Promise<void> {
    await this.awaitInFlight();
    await this.writeTaken(await this.take());
  }

  /** Waits for the write in flight, if any, ignoring its failure (a resume reads the targets after). */
  async settle(): Promise<void> {
    const w = this.inFlight;
    this.inFlight = undefined;
    if (w) await w.catch(() => undefined);
  }

  /** Waits for the write in flight, if any; its failure is thrown here. */
  private async awaitInFlight(): Promise<void> {
    const w = this.inFlight;
    this.inFlight = undefined;
    if (w) await w;
  }

  /**
   * The propagations collected so far, checked and converted for their writers in slices (a
   * page streaming in is read in between), with their decisions: the mapped rows are let go
   * here, not held while an earlier write finishes. A conversion that fails keeps the decisions
   * as a failed write does.
   */
  private async take(): Promise<TakenWrites> {
    const reasons = this.pendingReasons;
    this.pendingReasons = [];
    const batches = this.pending;
    this.pending = this.targets.map(() => []);
    this.releaseRows();
    try {
      const writes: (PreparedWrite | undefined)[] = [];
      for (const [i, target] of this.targets.entries()) {
        writes.push(batches[i].length === 0 ? undefined : await target.writer.prepareInSlices(batches[i], nextTurn));
      }
      return { writes, reasons };
    } catch (err) {
      this.unconfirmed.push(...reasons);
      throw err;
    }
  }

  /** Writes what `take` took, target by target; decisions are told once written. */
  private async writeTaken({ writes, reasons }: TakenWrites): Promise<void> {
    try {
      for (const [i, target] of this.targets.entries()) {
        const w = writes[i];
        if (!w) continue;
        const t0 = this.clock.now();
        const seqnos = await target.writer.writePrepared(w, { context: this.context, expect: this.expect[i] });
        this.expect[i] = fenceAfter(this.expect[i], w.validities, seqnos);
        this.onWrite?.(this.clock.now() - t0);
        this.writes += w.validities.length;
        if (target.writer.sourceIdsMissing && !this.toldNoSourceIds.has(i)) {
          this.toldNoSourceIds.add(i);
          this.logger?.log('warn', `${this.streamName}: target has no SCRAPE_SOURCE_IDS table (created with --allow-drop-create-table): ${target.spec.table} is written without source ids, so late rows of this stream are not detected`, { stream: this.streamName });
        }
        if (target.writer.provenanceMissing && !this.toldNoProvenance.has(i)) {
          this.toldNoProvenance.add(i);
          this.logger?.log('warn', `${this.streamName}: target has no SCRAPE_PROVENANCE table (created with --allow-drop-create-table): ${target.spec.table} is written without provenance, so scrape query --why shows nothing for it`, { stream: this.streamName });
        }
        if (target.writer.vldSpanDenied && !this.toldNoSpan.has(i)) {
          this.toldNoSpan.add(i);
          this.logger?.log('warn', `${this.streamName}: the target user may not UPDATE SCRAPE_VLD_SPAN: ${target.spec.table} is written without the lengths of its validities, so scrape query --at reads the middle of its history slower (never wrong); grant UPDATE on it`, { stream: this.streamName });
        }
      }
    } catch (err) {
      // a step redone after a failure decides its propagations again; a commit that landed
      // without its reply is found by `lastValidities`
      this.unconfirmed.push(...reasons);
      throw err;
    }
    if (this.onPropagation) for (const p of reasons) this.onPropagation(p.reason);
  }

  /**
   * Writes a seed validity into the targets that hold none for the context (fenced on that:
   * a target another writer filled meanwhile is left alone).
   */
  async seed(timestartUtc: string, timeendUtc: string, empty: boolean[]): Promise<string[]> {
    const seeded: string[] = [];
    for (const [i, target] of this.targets.entries()) {
      if (!empty[i]) continue;
      const rows = [Object.fromEntries(target.spec.columns.map((c) => [c.name, null]))];
      const why: ProvenanceToWrite | undefined = this.stamp ? { reason: 'seed', sourceTable: this.streamName, ...this.stamp } : undefined;
      await target.writer.write([{ timestart: timestartUtc, timeend: timeendUtc, context: this.context, rows, why }], { context: this.context, expect: undefined });
      seeded.push(target.spec.table);
      this.onPropagation?.('seed');
    }
    return seeded;
  }

  /** Naive local ms of a UTC target time: the position a target holds up to. */
  positionOf(utc: string): number {
    return naiveMs(this.local(utc));
  }
}
