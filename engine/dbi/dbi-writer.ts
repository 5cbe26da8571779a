import { Knex } from 'knex';
import { Clock, systemClock } from '../core/clock';
import { ScrapeError } from '../core/errors';
import { utcNowText } from '../core/time';
import { PROVENANCE_COLUMNS, PROVENANCE_TABLE, SOURCE_IDS_COLUMNS, SOURCE_IDS_TABLE, VLD_SPAN_TABLE, vldTableName } from '../spec/ddl';
import { SpecTable } from '../spec/spec-table';
import { SqlDialect, dialectOf, quoteIdentifier } from '../db/dialect';
import { LoadDataRejected, loadPayloadLines } from './mysql-load-data';
import { Fence, checkFence } from './fence';
import { overlayVersionDates } from './overlay';
import { LinesBuilder, Payload, payloadValues } from './payload-converter';
import { Propagation, checkPropagation, suppressedJson } from './propagation';
import { allocateSeqnos, ensureCounterSql } from './seqno-allocator';
import { WritePath, writePathFor } from './write-path';
import { databaseError } from '../db/database-error';
import { recordVldSpan, validitySpanSeconds } from './vld-span';

export type { Propagation, Provenance, ProvenanceToWrite, SourceIds, SuppressedStats, ValidityContext } from './propagation';

/** Stages of a write a probe can watch (crash-safety tests, progress). */
export type WriteStage = 'allocated' | 'inserted';

/** Options of a DbiWriter. */
export interface DbiWriterOptions {
  /** Source of INSERTDATE (real UTC now); injected by tests. */
  clock?: Clock;
  /**
   * Called inside the open transaction after the SEQNOs are allocated and after the rows are
   * inserted (before commit). Lets crash tests kill a writer mid-transaction; may be async.
   */
  probe?: (stage: WriteStage, seqnos: number[]) => void | Promise<void>;
  /** Attempts for a write that hit a deadlock or lock timeout (whole transaction retried). Default 5. */
  attempts?: number;
  /**
   * MySQL payload rows by `LOAD DATA LOCAL INFILE` from memory when the server allows it (default
   * true; multi-row INSERTs otherwise): the server takes them for about 40 % less CPU.
   */
  loadData?: boolean;
}

/** One pending Vld row, in DBI column order. */
type VldValues = [number, string, string, number, number, number, number, number, string, string];

/**
 * Writes DBI validities and their payload for one `.spec` table. One `write` call is one
 * transaction: SEQNOs are allocated from LOCALSEQNO under its row lock (`seqno-allocator`), then
 * the Vld rows and the payload rows go in with multi-row INSERTs (`sqlite-write`/`mysql-write`,
 * chosen once by dialect) or, on MySQL, the payload by LOAD DATA (`mysql-load-data`); all or
 * nothing. VERSIONDATE follows the DBI overlay rule (`overlay`), INSERTDATE is the real UTC time
 * of the write.
 */
export class DbiWriter {
  private readonly dialect: SqlDialect;
  /** How this target's dialect puts rows in. */
  private readonly path: WritePath;
  private readonly clock: Clock;
  private readonly vldInsertHead: string;
  private readonly payloadInsertHead: string;
  private readonly columns: string[];
  private counterEnsured = false;
  private readonly sourceIdsHead: string;
  /**
   * Whether the target has `SCRAPE_SOURCE_IDS` (looked up once, at the first write carrying
   * source ids): an older target without it is written without it (`sourceIdsMissing`).
   */
  private sourceIds?: boolean;
  private readonly provenanceHead: string;
  /** Whether the target has `SCRAPE_PROVENANCE` (looked up once, as `sourceIds`). */
  private provenance?: boolean;
  /**
   * Whether this writer keeps the table's `SCRAPE_VLD_SPAN` row (looked up once): false without
   * the table or the row, after a gap of other validities too long to fold in, or without the
   * privilege to UPDATE it (`vldSpanDenied`). Not keeping it only makes mid-history reads slower.
   */
  private vldSpan?: boolean;
  private spanDenied = false;
  /** Payload by LOAD DATA (MySQL): until the server refuses it once. */
  private loadData: boolean;
  private readonly payloadLoadHead: string;

  constructor(
    /** The target database (readers of the same target use it too). */
    readonly db: Knex,
    /** The `.spec` table written. */
    readonly spec: SpecTable,
    private readonly options: DbiWriterOptions = {},
  ) {
    this.dialect = dialectOf(db);
    this.path = writePathFor(this.dialect);
    this.clock = options.clock ?? systemClock;
    const q = (name: string) => quoteIdentifier(name, this.dialect);
    this.columns = spec.columns.map((c) => c.name);
    this.vldInsertHead =
      `INSERT INTO ${q(vldTableName(spec))} (${['SEQNO', 'TIMESTART', 'TIMEEND', 'SITEMASK', 'SIMMASK', 'SUBSITE', 'TASK', 'AGGREGATENO', 'VERSIONDATE', 'INSERTDATE'].map(q).join(', ')}) VALUES `;
    this.payloadInsertHead = `INSERT INTO ${q(spec.table)} (${['SEQNO', 'ROW_COUNTER', ...this.columns].map(q).join(', ')}) VALUES `;
    this.sourceIdsHead = `INSERT INTO ${q(SOURCE_IDS_TABLE)} (${SOURCE_IDS_COLUMNS.map(q).join(', ')}) VALUES `;
    this.provenanceHead = `INSERT INTO ${q(PROVENANCE_TABLE)} (${PROVENANCE_COLUMNS.map(q).join(', ')}) VALUES `;
    this.loadData = this.dialect === 'mysql' && options.loadData !== false;
    // each line: the propagation's index in the batch, ROW_COUNTER, the attributes; SEQNOs are consecutive
    this.payloadLoadHead = `LOAD DATA LOCAL INFILE 'payload' INTO TABLE ${q(spec.table)} CHARACTER SET utf8mb4 (@k, ${['ROW_COUNTER', ...this.columns].map(q).join(', ')}) SET ${q('SEQNO')} = `;
  }

  /**
   * Writes the propagations in one transaction and resolves to their SEQNOs (in order). On any
   * error nothing of the batch stays; deadlocks and lock timeouts are retried as a whole. The
   * payload rows are checked and converted before this returns: the writer keeps no reference
   * to them while the transaction runs (a page's rows need not outlive it in memory). With a
   * `fence`, the write lands only if the context's last validity is still the expected one
   * (`FENCE_MOVED` otherwise, nothing written).
   */
  write(props: Propagation[], fence?: Fence): Promise<number[]> {
    let prepared: PreparedWrite;
    try {
      prepared = this.prepare(props);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.writePrepared(prepared, fence);
  }

  /**
   * Checks the propagations and converts their payload rows for `writePrepared` (throws
   * `DBI_VALUE`/`DBI_RANGE` on bad input). The result holds no reference to the rows, so a
   * caller can convert a page's propagations at once and let the rows go while an earlier write
   * finishes.
   */
  prepare(props: Propagation[]): PreparedWrite {
    const checked = props.map((p, i) => checkPropagation(p, i));
    if (!this.loadData) return this.prepared(checked, { values: payloadValues(checked, this.spec.columns, this.spec.table) });
    const lines = new LinesBuilder(this.spec.columns, this.spec.table);
    for (let i = 0; i < checked.length; i++) lines.add(checked[i], i);
    return this.prepared(checked, { lines: lines.finish() });
  }

  /**
   * As `prepare`, awaiting `pause()` after every `slice` propagations: a caller reading a source
   * stream at the same time lets its driver drain the socket in between (a page's payload took
   * 15-20 ms in one piece, long enough to fill the socket's buffer and stall the source server).
   * Payload by INSERT (no LOAD DATA) is converted in one piece, without pauses.
   */
  async prepareInSlices(props: Propagation[], pause: () => Promise<void>, slice = 16): Promise<PreparedWrite> {
    if (!this.loadData) return this.prepare(props);
    const checked: Propagation[] = [];
    const lines = new LinesBuilder(this.spec.columns, this.spec.table);
    for (let i = 0; i < props.length; i++) {
      checked.push(checkPropagation(props[i], i));
      lines.add(checked[i], i);
      if (i % slice === slice - 1 && i + 1 < props.length) await pause();
    }
    return this.prepared(checked, { lines: lines.finish() });
  }

  /** The validities without their rows (counted in the payload), with the payload. */
  private prepared(checked: Propagation[], payload: Payload): PreparedWrite {
    return { writer: this, validities: checked.map((p) => ({ ...p, rows: [] })), payload };
  }

  /** Writes what `prepare` made, as `write` does (fenced the same way). */
  async writePrepared(prepared: PreparedWrite, fence?: Fence): Promise<number[]> {
    if (prepared.writer !== this) throw new ScrapeError('DBI_WRITE', `a write prepared for ${prepared.writer.spec.table} was given to the writer of ${this.spec.table}`);
    const checked = prepared.validities;
    let payload = prepared.payload;
    if (checked.length === 0) return [];
    const attempts = Math.max(1, this.options.attempts ?? 5);
    for (let attempt = 1; ; attempt++) {
      try {
        if (!this.counterEnsured) {
          // writers starting together on a new table can deadlock here too: retried as a write is
          await this.db.raw(ensureCounterSql(this.spec, this.dialect), [this.spec.table]);
          this.counterEnsured = true;
        }
        if (this.sourceIds === undefined && checked.some((p) => p.source)) this.sourceIds = await this.db.schema.hasTable(SOURCE_IDS_TABLE);
        if (this.provenance === undefined && checked.some((p) => p.why)) this.provenance = await this.db.schema.hasTable(PROVENANCE_TABLE);
        if (this.vldSpan === undefined) this.vldSpan = await this.db.schema.hasTable(VLD_SPAN_TABLE);
        return await this.db.transaction((trx) => this.writeIn(trx, checked, payload, fence));
      } catch (err) {
        if (err instanceof LoadDataRejected) {
          // the server took the lines with warnings (LOAD DATA LOCAL does not fail on bad values):
          // rolled back; the same write again by INSERT, which reports a bad value as an error
          payload = { lines: payload.lines, byInsert: true };
          attempt--;
          continue;
        }
        if (attempt >= attempts || !isLockConflict(err)) {
          if (err instanceof ScrapeError) throw err;
          throw new ScrapeError('DBI_WRITE', `writing ${checked.length} validities to ${this.spec.table} failed: ${(err as Error).message}`, { cause: err });
        }
        await this.clock.sleep(50 * attempt);
      }
    }
  }

  private async writeIn(trx: Knex.Transaction, props: readonly Propagation[], payload: Payload, fence: Fence | undefined): Promise<number[]> {
    // props carry no rows here: the payload holds them
    const seqnos = await allocateSeqnos(trx, this.spec, this.dialect, props.length);
    // under the table's LOCALSEQNO row lock: compare, then append (docs/design.md §4.12)
    if (fence) await checkFence(trx, this.spec, fence);
    if (this.options.probe) await this.options.probe('allocated', seqnos);
    const versions = await overlayVersionDates(trx, this.spec, props);
    const insertDate = utcNowText(this.clock.now());
    const vldRows: VldValues[] = props.map((p, i) => [
      seqnos[i],
      p.timestart,
      p.timeend,
      p.context.sitemask,
      p.context.simmask,
      p.context.subsite,
      p.context.task,
      p.context.aggregateno,
      versions[i],
      insertDate,
    ]);
    const connection = await (trx.client as { acquireConnection(): Promise<unknown> }).acquireConnection();
    await this.path.insertRows(connection, this.vldInsertHead, 10, vldRows.length, (i) => vldRows[i]);
    if (this.sourceIds) await this.insertSourceIds(connection, props, seqnos);
    if (this.provenance) await this.insertProvenance(connection, props, seqnos);
    if (payload.lines) {
      await loadPayloadLines(connection, this.payloadLoadHead + seqnos[0] + ' + @k', this.payloadInsertHead, payload.lines, seqnos[0], !!payload.byInsert, () => {
        this.loadData = false;
      });
    } else {
      await this.path.insertPayload(connection, this.payloadInsertHead, this.columns.length, seqnos, payload.values!);
    }
    if (this.vldSpan) await this.recordSpan(trx, connection, props, seqnos);
    if (this.options.probe) await this.options.probe('inserted', seqnos);
    return seqnos;
  }

  /** The written validities' longest span into `SCRAPE_VLD_SPAN`, in the write's transaction (`recordVldSpan`). */
  private async recordSpan(trx: Knex.Transaction, connection: unknown, props: readonly Propagation[], seqnos: number[]): Promise<void> {
    let longest = 0;
    for (const p of props) longest = Math.max(longest, validitySpanSeconds(p.timestart, p.timeend));
    try {
      if ((await recordVldSpan(trx, connection, this.spec, seqnos, longest)) !== 'recorded') this.vldSpan = false;
    } catch (err) {
      // a user with the README's minimal privileges (no UPDATE on it): written without it, said once
      // (the failed statement changed nothing; the transaction goes on)
      if (databaseError(err)?.code !== 'DB_PRIVILEGE') throw err;
      this.vldSpan = false;
      this.spanDenied = true;
    }
  }

  /**
   * True once the target refused this writer an UPDATE of `SCRAPE_VLD_SPAN`: validities are
   * written without their spans, and `scrape query --at` reads the middle of the history slower.
   */
  get vldSpanDenied(): boolean {
    return this.spanDenied;
  }

  /**
   * True once a write carrying source ids found no `SCRAPE_SOURCE_IDS` in the target (an older
   * target, not created by this version): those validities were written without their source ids.
   */
  get sourceIdsMissing(): boolean {
    return this.sourceIds === false;
  }

  /**
   * True once a write carrying provenance found no `SCRAPE_PROVENANCE` in the target (an older
   * target): those validities were written without it.
   */
  get provenanceMissing(): boolean {
    return this.provenance === false;
  }

  /** The provenance of the propagations that carry it, in `SCRAPE_PROVENANCE`: one multi-row INSERT beside the Vld rows. */
  private async insertProvenance(connection: unknown, props: readonly Propagation[], seqnos: number[]): Promise<void> {
    const rows: unknown[][] = [];
    const orNull = <T>(v: T | undefined): T | null => (v === undefined ? null : v);
    for (let i = 0; i < props.length; i++) {
      const w = props[i].why;
      if (!w) continue;
      rows.push([
        this.spec.table,
        seqnos[i],
        w.reason,
        w.overlays ? JSON.stringify({ overlays: w.overlays }) : w.fired ? JSON.stringify(w.fired) : null,
        orNull(w.sourceTable),
        orNull(w.firstId),
        orNull(w.lastId),
        orNull(w.firstTime),
        orNull(w.lastTime),
        orNull(w.samples),
        orNull(w.rows),
        w.suppressed ? suppressedJson(w.suppressed) : null,
        w.regimeHash,
        w.engineVersion,
      ]);
    }
    if (rows.length > 0) await this.path.insertRows(connection, this.provenanceHead, PROVENANCE_COLUMNS.length, rows.length, (i) => rows[i]);
  }

  /** The source ids of the propagations that carry them, in `SCRAPE_SOURCE_IDS`: one multi-row INSERT beside the Vld rows. */
  private async insertSourceIds(connection: unknown, props: readonly Propagation[], seqnos: number[]): Promise<void> {
    const rows: unknown[][] = [];
    for (let i = 0; i < props.length; i++) {
      const s = props[i].source;
      if (s) rows.push([this.spec.table, seqnos[i], s.table, s.maxId, s.firstId, s.lastId, s.firstTime, s.lastTime]);
    }
    await this.path.insertRows(connection, this.sourceIdsHead, SOURCE_IDS_COLUMNS.length, rows.length, (i) => rows[i]);
  }
}

/** Propagations checked and converted by `DbiWriter.prepare`, for `writePrepared` of the same writer. */
export interface PreparedWrite {
  readonly writer: DbiWriter;
  readonly validities: readonly Propagation[];
  readonly payload: Payload;
}

/** Deadlock, lock wait timeout or a busy SQLite file: the transaction may succeed when retried. */
function isLockConflict(err: unknown): boolean {
  const e = err as { errno?: number; code?: string } | undefined;
  return e?.errno === 1213 || e?.errno === 1205 || e?.code === 'SQLITE_BUSY' || e?.code === 'SQLITE_BUSY_SNAPSHOT';
}
