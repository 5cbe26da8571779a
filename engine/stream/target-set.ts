import { Clock } from '../core/clock';
import { localToUtc, naiveMs, utcToLocal } from '../core/time';
import { DbiWriter, PreparedWrite, Propagation, ValidityContext } from '../dbi/dbi-writer';
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
  /** Per target: the context's last validity as this stream last read or wrote it; every write is fenced on it. */
  private expect: (FencePoint | undefined)[] = [];
  /** Validities written, all targets together, since the stream started. */
  writes = 0;
  /** Told of each propagation once written (its decision) and of each write's duration in ms. */
  onPropagation?: (reason: string) => void;
  onWrite?: (ms: number) => void;

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
    for (const target of this.targets) last.push(await lastValidity(target.writer.db, target.spec, this.context));
    this.expect = last.map((v) => (v ? { seqno: Number(v.SEQNO), timeend: String(v.TIMEEND) } : undefined));
    this.pending = this.targets.map(() => []);
    this.pendingReasons = [];
    const unconfirmed = this.unconfirmed;
    this.unconfirmed = [];
    for (const p of unconfirmed) {
      if (last.every((v) => v !== undefined && v.TIMEEND >= p.timeend)) this.onPropagation?.(p.reason);
    }
    return last;
  }

  /** Source-local time of a validity's TIMEEND or TIMESTART (UTC in the target). */
  local(utc: string): string {
    return utcToLocal(utc, this.timezone);
  }

  /** Sets, per target, the naive local ms before which it holds every decision (`lastValidities` order; undefined: holds nothing). */
  holdBefore(positions: (number | undefined)[]): void {
    this.holdsBefore = positions;
  }

  /** Maps a decision into one pending propagation per target that lacks it; false when every target holds it already. */
  async add(decision: Decision): Promise<boolean> {
    const timestart = localToUtc(decision.first.date_time, this.timezone);
    const timeend = localToUtc(decision.last.date_time, this.timezone);
    let added = false;
    for (const [i, target] of this.targets.entries()) {
      const holds = this.holdsBefore[i];
      if (holds !== undefined && decision.positionMs < holds) continue;
      added = true;
      const rows = await target.mapping.evaluate({ first: decision.first, last: decision.last, agg: decision.agg, ctx: this.ctx }, this.plan);
      this.pending[i].push({ timestart, timeend, context: this.context, rows });
    }
    if (added) this.pendingReasons.push({ reason: decision.reason, timeend });
    return added;
  }

  /** Decisions not written yet. */
  get pendingCount(): number {
    return this.pendingReasons.length;
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
      await target.writer.write([{ timestart: timestartUtc, timeend: timeendUtc, context: this.context, rows }], { context: this.context, expect: undefined });
      seeded.push(target.spec.table);
    }
    return seeded;
  }

  /** Naive local ms of a UTC target time: the position a target holds up to. */
  positionOf(utc: string): number {
    return naiveMs(this.local(utc));
  }
}
