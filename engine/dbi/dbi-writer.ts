import { Knex } from 'knex';
import { escape as escapeMysql } from 'mysql2';
import { Readable } from 'stream';
import { Clock, systemClock } from '../core/clock';
import { ScrapeError } from '../core/errors';
import { addMs, normalizeTimeText, utcNowText } from '../core/time';
import { LOCALSEQNO, vldTableName } from '../spec/ddl';
import { SpecTable } from '../spec/spec-table';
import { SqlDialect, dialectOf, quoteIdentifier } from '../db/dialect';

/** The DBI context of a validity: which detector and data kind it describes. */
export interface ValidityContext {
  sitemask: number;
  simmask: number;
  subsite: number;
  task: number;
  aggregateno: number;
}

/** One DBI write: a validity range `[timestart, timeend)` (UTC text), its context and payload rows. */
export interface Propagation {
  timestart: string;
  /** UTC text `YYYY-MM-DD HH:MM:SS`. */
  timeend: string;
  context: ValidityContext;
  /** Payload attribute values by spec attribute name; ROW_COUNTER is assigned 1..N in order. */
  rows: Record<string, unknown>[];
}

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

/** Seconds DBI adds to the VERSIONDATE of the validity a new one overlays. */
const OVERLAY_STEP_MS = 60_000;
/** SQLite's bound-parameter limit (SQLITE_MAX_VARIABLE_NUMBER). */
const SQLITE_PLACEHOLDER_LIMIT = 32766;
/** Rows per SQLite multi-row INSERT (larger statements gain nothing). */
const SQLITE_ROWS_PER_INSERT = 500;
const TIME_TEXT = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/;

interface PreparedStatementLike {
  run(params: unknown[]): unknown;
}

/** Prepared better-sqlite3 statements per native connection (a connection lives as long as the pool keeps it). */
const sqliteStatements = new WeakMap<object, Map<string, PreparedStatementLike>>();

/** One pending Vld row, in DBI column order. */
type VldValues = [number, string, string, number, number, number, number, number, string, string];

/**
 * Writes DBI validities and their payload for one `.spec` table. One `write` call is one
 * transaction: SEQNOs are allocated from LOCALSEQNO under its row lock, then the Vld rows and the
 * payload rows go in with multi-row INSERTs; all or nothing. VERSIONDATE follows the DBI overlay
 * rule, INSERTDATE is the real UTC time of the write.
 */
export class DbiWriter {
  private readonly dialect: SqlDialect;
  private readonly clock: Clock;
  private readonly vldInsertHead: string;
  private readonly payloadInsertHead: string;
  private readonly columns: string[];
  private counterEnsured = false;
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
    this.clock = options.clock ?? systemClock;
    const q = (name: string) => quoteIdentifier(name, this.dialect);
    this.columns = spec.columns.map((c) => c.name);
    this.vldInsertHead =
      `INSERT INTO ${q(vldTableName(spec))} (${['SEQNO', 'TIMESTART', 'TIMEEND', 'SITEMASK', 'SIMMASK', 'SUBSITE', 'TASK', 'AGGREGATENO', 'VERSIONDATE', 'INSERTDATE'].map(q).join(', ')}) VALUES `;
    this.payloadInsertHead = `INSERT INTO ${q(spec.table)} (${['SEQNO', 'ROW_COUNTER', ...this.columns].map(q).join(', ')}) VALUES `;
    this.loadData = this.dialect === 'mysql' && options.loadData !== false;
    // each line: the propagation's index in the batch, ROW_COUNTER, the attributes; SEQNOs are consecutive
    this.payloadLoadHead = `LOAD DATA LOCAL INFILE 'payload' INTO TABLE ${q(spec.table)} CHARACTER SET utf8mb4 (@k, ${['ROW_COUNTER', ...this.columns].map(q).join(', ')}) SET ${q('SEQNO')} = `;
  }

  /**
   * Writes the propagations in one transaction and resolves to their SEQNOs (in order). On any
   * error nothing of the batch stays; deadlocks and lock timeouts are retried as a whole. The
   * payload rows are checked and converted before this returns: the writer keeps no reference
   * to them while the transaction runs (a page's rows need not outlive it in memory).
   */
  write(props: Propagation[]): Promise<number[]> {
    let prepared: PreparedWrite;
    try {
      prepared = this.prepare(props);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.writePrepared(prepared);
  }

  /**
   * Checks the propagations and converts their payload rows for `writePrepared` (throws
   * `DBI_VALUE`/`DBI_RANGE` on bad input). The result holds no reference to the rows, so a
   * caller can convert a page's propagations at once and let the rows go while an earlier write
   * finishes.
   */
  prepare(props: Propagation[]): PreparedWrite {
    const checked = props.map((p, i) => checkPropagation(p, i));
    if (!this.loadData) return this.prepared(checked, { values: this.payloadValues(checked) });
    const lines = new LinesBuilder(this.columns);
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
    const lines = new LinesBuilder(this.columns);
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

  /** Writes what `prepare` made, as `write` does. */
  async writePrepared(prepared: PreparedWrite): Promise<number[]> {
    if (prepared.writer !== this) throw new ScrapeError('DBI_WRITE', `a write prepared for ${prepared.writer.spec.table} was given to the writer of ${this.spec.table}`);
    const checked = prepared.validities;
    let payload = prepared.payload;
    if (checked.length === 0) return [];
    const attempts = Math.max(1, this.options.attempts ?? 5);
    for (let attempt = 1; ; attempt++) {
      try {
        if (!this.counterEnsured) {
          // writers starting together on a new table can deadlock here too: retried as a write is
          await this.db.raw(this.ensureCounterSql(), [this.spec.table]);
          this.counterEnsured = true;
        }
        return await this.db.transaction((trx) => this.writeIn(trx, checked, payload));
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

  private async writeIn(trx: Knex.Transaction, props: readonly Propagation[], payload: Payload): Promise<number[]> {
    // props carry no rows here: the payload holds them
    const seqnos = await this.allocate(trx, props.length);
    if (this.options.probe) await this.options.probe('allocated', seqnos);
    const versions = await this.versionDates(trx, props);
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
    await this.insertRows(connection, this.vldInsertHead, 10, vldRows.length, (i) => vldRows[i]);
    const width = this.columns.length + 2;
    if (payload.lines) {
      const lines = payload.lines;
      const loaded = payload.byInsert ? 'refused' : await mysqlLoadData(connection, this.payloadLoadHead + seqnos[0] + ' + @k', lines.chunks);
      if (loaded === 'refused') {
        // local_infile off on the server (INSERTs from now on, in this same transaction), or
        // lines the server took with warnings: the same values as INSERT literals
        if (!payload.byInsert) this.loadData = false;
        const tuples = insertTuplesFromLines(lines, seqnos[0]);
        await mysqlInsert(connection, this.payloadInsertHead, tuples.length, (k) => tuples[k]);
      } else if (loaded.warningStatus > 0 || loaded.affectedRows !== lines.rows) {
        throw new LoadDataRejected();
      }
      if (this.options.probe) await this.options.probe('inserted', seqnos);
      return seqnos;
    }
    const payloadValues = payload.values!;
    if (this.dialect === 'mysql') {
      // the statement text straight from the flat values: no array per payload row
      const attrs = this.columns.length;
      const at: number[] = [];
      for (let i = 0; i < props.length; i++) for (let r = 0; r < rowsIn(payloadValues[i], attrs); r++) at.push(i, r);
      await mysqlInsert(connection, this.payloadInsertHead, at.length / 2, (k) => {
        const i = at[2 * k];
        const r = at[2 * k + 1];
        return mysqlTuple(payloadValues[i], r * attrs, attrs, attrs > 0 ? `(${seqnos[i]},${r + 1},` : `(${seqnos[i]},${r + 1}`);
      });
      if (this.options.probe) await this.options.probe('inserted', seqnos);
      return seqnos;
    }
    // payload rows: prefix SEQNO and ROW_COUNTER without copying into one more array per row
    const payloadRows: unknown[][] = [];
    for (let i = 0; i < props.length; i++) {
      const values = payloadValues[i];
      const attrs = this.columns.length;
      const count = rowsIn(values, attrs);
      for (let r = 0; r < count; r++) {
        const row = new Array(width);
        row[0] = seqnos[i];
        row[1] = r + 1;
        for (let c = 0; c < attrs; c++) row[c + 2] = values[r * attrs + c];
        payloadRows.push(row);
      }
    }
    await this.insertRows(connection, this.payloadInsertHead, width, payloadRows.length, (i) => payloadRows[i]);
    if (this.options.probe) await this.options.probe('inserted', seqnos);
    return seqnos;
  }

  /** Reserves `count` consecutive SEQNOs for this table under LOCALSEQNO's row lock. */
  private async allocate(trx: Knex.Transaction, count: number): Promise<number[]> {
    const table = this.spec.table;
    // UPDATE first: SQLite takes the write lock at once, InnoDB locks the row until commit
    let changed = await trx(LOCALSEQNO).where('TABLENAME', table).increment('LASTUSEDSEQNO', count);
    if (Number(changed) === 0) {
      await trx.raw(this.ensureCounterSql(), [table]);
      changed = await trx(LOCALSEQNO).where('TABLENAME', table).increment('LASTUSEDSEQNO', count);
      if (Number(changed) === 0) throw new ScrapeError('DBI_SEQNO', `cannot allocate SEQNOs for ${table} in ${LOCALSEQNO}`);
    }
    const row = await trx(LOCALSEQNO).where('TABLENAME', table).first('LASTUSEDSEQNO');
    const last = Number(row?.LASTUSEDSEQNO);
    if (!Number.isInteger(last) || last < count) throw new ScrapeError('DBI_SEQNO', `${LOCALSEQNO} holds a bad LASTUSEDSEQNO for ${table}: ${row?.LASTUSEDSEQNO}`);
    const seqnos = new Array<number>(count);
    for (let i = 0; i < count; i++) seqnos[i] = last - count + 1 + i;
    return seqnos;
  }

  /** Inserts the per-table LOCALSEQNO row if missing, continuing from the Vld table's largest SEQNO. */
  private ensureCounterSql(): string {
    const q = (name: string) => quoteIdentifier(name, this.dialect);
    const verb = this.dialect === 'mysql' ? 'INSERT IGNORE' : 'INSERT OR IGNORE';
    return `${verb} INTO ${q(LOCALSEQNO)} (${q('TABLENAME')}, ${q('LASTUSEDSEQNO')}) SELECT ?, COALESCE(MAX(${q('SEQNO')}), 0) FROM ${q(vldTableName(this.spec))}`;
  }

  /**
   * VERSIONDATE of each propagation: its TIMESTART, unless a validity of the same context
   * (already stored, or earlier in this batch) covers TIMESTART (`TIMESTART <= t < TIMEEND`);
   * then the newest such VERSIONDATE + 60 s. One query for the whole batch.
   */
  private async versionDates(trx: Knex.Transaction, props: readonly Propagation[]): Promise<string[]> {
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
    for (let from = 0; from < all.length; from += 200) {
      const slice = all.slice(from, from + 200);
      const query = trx(vldTableName(this.spec)).select('SITEMASK', 'SIMMASK', 'SUBSITE', 'TASK', 'TIMESTART', 'TIMEEND', 'VERSIONDATE');
      query.where((outer) => {
        for (const g of slice) {
          outer.orWhere((w) =>
            w
              .where('SITEMASK', g.ctx.sitemask)
              .andWhere('SUBSITE', g.ctx.subsite)
              .andWhere('SIMMASK', g.ctx.simmask)
              .andWhere('TASK', g.ctx.task)
              .andWhere('TIMEEND', '>', g.minStart)
              .andWhere('TIMESTART', '<=', g.maxStart),
          );
        }
      });
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

  /** Flat attribute values per propagation (row-major), checked and converted once, before the transaction. */
  private payloadValues(props: Propagation[]): PayloadValues[] {
    const columns = this.columns;
    return props.map((p, i) => {
      const out: PayloadValues = new Array<unknown>(p.rows.length * columns.length);
      out.rows = p.rows.length;
      let k = 0;
      for (let r = 0; r < p.rows.length; r++) {
        const row = p.rows[r];
        if (row === null || typeof row !== 'object') throw new ScrapeError('DBI_VALUE', `propagation ${i}: payload row ${r + 1} is not an object`);
        for (let c = 0; c < columns.length; c++) out[k++] = sqlValue(row[columns[c]], columns[c], i, r);
      }
      return out;
    });
  }

  /** Multi-row INSERTs in chunks, on the transaction's own native connection (prepared and cached on SQLite). */
  private async insertRows(connection: unknown, head: string, width: number, count: number, rowAt: (i: number) => unknown[]): Promise<void> {
    if (count === 0) return;
    if (this.dialect === 'sqlite') {
      const perInsert = Math.max(1, Math.min(SQLITE_ROWS_PER_INSERT, Math.floor(SQLITE_PLACEHOLDER_LIMIT / width)));
      const tuple = `(${new Array(width).fill('?').join(', ')})`;
      const sqlFor = (rows: number) => head + new Array(rows).fill(tuple).join(', ');
      const conn = connection as { prepare(sql: string): PreparedStatementLike };
      let cache = sqliteStatements.get(conn);
      if (!cache) sqliteStatements.set(conn, (cache = new Map()));
      const statement = (rows: number) => {
        const sql = sqlFor(rows);
        let st = cache!.get(sql);
        if (!st) {
          if (cache!.size > 64) cache!.clear();
          cache!.set(sql, (st = conn.prepare(sql)));
        }
        return st;
      };
      let i = 0;
      if (count >= perInsert) {
        const big = statement(perInsert);
        const params = new Array<unknown>(perInsert * width);
        for (; i + perInsert <= count; i += perInsert) {
          let k = 0;
          for (let r = i; r < i + perInsert; r++) {
            const row = rowAt(r);
            for (let c = 0; c < width; c++) params[k++] = row[c];
          }
          big.run(params);
        }
      }
      if (i < count) {
        const single = statement(1);
        for (; i < count; i++) single.run(rowAt(i));
      }
      return;
    }
    await mysqlInsert(connection, head, count, (i) => mysqlTuple(rowAt(i), 0, width));
  }
}

/**
 * Characters per MySQL multi-row INSERT statement: at most 1 MiB of UTF-8 even for text of
 * 4-byte characters, the smallest `max_allowed_packet` of supported servers.
 */
const MYSQL_STATEMENT_CHARS = 1 << 18;
/** Tuples per MySQL multi-row INSERT (larger statements gain nothing). */
const MYSQL_ROWS_PER_INSERT = 4000;

/**
 * Multi-row INSERTs on a native mysql2 connection, the values written into the statement text
 * (`mysqlLiteral`, the driver's own escaping) instead of bound: formatting `?` placeholders cost
 * more client time than building the text, and the server parses the same statement either way.
 */
async function mysqlInsert(connection: unknown, head: string, count: number, tupleAt: (i: number) => string): Promise<void> {
  const conn = connection as { query(sql: string, cb: (err: Error | null) => void): void };
  const send = (sql: string) => new Promise<void>((resolve, reject) => conn.query(sql, (err) => (err ? reject(err) : resolve())));
  let sql = '';
  let rows = 0;
  for (let i = 0; i < count; i++) {
    const tuple = tupleAt(i);
    // sent before it would outgrow the limit (a single oversized tuple still goes, alone)
    if (rows > 0 && (rows >= MYSQL_ROWS_PER_INSERT || sql.length + 1 + tuple.length > MYSQL_STATEMENT_CHARS)) {
      await send(sql);
      sql = '';
      rows = 0;
    }
    sql += rows === 0 ? head + tuple : ',' + tuple;
    rows++;
  }
  if (rows > 0) await send(sql);
}

/** Bytes per LOAD DATA packet: well under the smallest `max_allowed_packet` (1 MiB). */
const LOAD_DATA_PIECE = 1 << 18;

/** Propagations checked and converted by `DbiWriter.prepare`, for `writePrepared` of the same writer. */
export interface PreparedWrite {
  readonly writer: DbiWriter;
  readonly validities: readonly Propagation[];
  readonly payload: Payload;
}

/** Payload rows as LOAD DATA text, and which fields (row × attribute) hold strings. */
interface PayloadLines {
  chunks: Buffer[];
  rows: number;
  strings: Set<number>;
}

/** One propagation's attribute values, row-major, and its row count (for specs without attributes). */
type PayloadValues = unknown[] & { rows?: number };

/** The payload of one write: LOAD DATA lines (MySQL; `byInsert` when they go in as INSERTs) or flat values per propagation. */
interface Payload {
  lines?: PayloadLines;
  byInsert?: boolean;
  values?: PayloadValues[];
}

/** Payload rows in one propagation's values. */
function rowsIn(values: PayloadValues, attrs: number): number {
  return values.rows ?? (attrs > 0 ? values.length / attrs : 0);
}

const LOAD_DATA_UNESCAPES: Record<string, string> = { '\\\\': '\\', '\\t': '\t', '\\n': '\n', '\\r': '\r', '\\0': '\0' };

/**
 * The `(SEQNO,ROW_COUNTER,…)` INSERT tuples of LOAD DATA lines (SEQNO = `first` + the line's
 * propagation index): numbers as the lines hold them (as `mysqlLiteral` prints them), strings
 * unescaped and quoted by the driver, `\N` as NULL — the same literals as the INSERT path.
 */
function insertTuplesFromLines(lines: PayloadLines, first: number): string[] {
  const text = Buffer.concat(lines.chunks).toString('utf8');
  const tuples: string[] = [];
  let row = 0;
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const fields = line.split('\t');
    const attrs = fields.length - 2;
    let t = `(${first + Number(fields[0])},${fields[1]}`;
    for (let c = 0; c < attrs; c++) {
      const f = fields[c + 2];
      t += ',' + (f === '\\N' ? 'NULL' : lines.strings.has(row * attrs + c) ? escapeMysql(f.replace(/\\[\\tnr0]/g, (e) => LOAD_DATA_UNESCAPES[e])) : f);
    }
    tuples.push(t + ')');
    row++;
  }
  return tuples;
}

/** The server took a LOAD DATA with warnings (a value it adjusted): the write is redone by INSERT. */
class LoadDataRejected extends Error {
  constructor() {
    super('LOAD DATA took the payload with warnings');
  }
}

/**
 * The payload as LOAD DATA text (tab-separated, `\N` for NULL, backslash escapes), checked as
 * `payloadValues` checks, in pieces of at most `LOAD_DATA_PIECE` bytes (one packet each); one
 * propagation at a time. Each line: the propagation's index in the batch, ROW_COUNTER, the
 * attributes.
 */
class LinesBuilder {
  private readonly out = new PieceWriter();
  private readonly strings: number[] = [];
  private rows = 0;

  constructor(private readonly columns: readonly string[]) {}

  /** Adds the rows of propagation `i` of the batch. */
  add(p: Propagation, i: number): void {
    const { columns, out } = this;
    for (let r = 0; r < p.rows.length; r++) {
      const row = p.rows[r];
      if (row === null || typeof row !== 'object') throw new ScrapeError('DBI_VALUE', `propagation ${i}: payload row ${r + 1} is not an object`);
      out.integer(i);
      out.byte(TAB);
      out.integer(r + 1);
      for (let c = 0; c < columns.length; c++) {
        const v = sqlValue(row[columns[c]], columns[c], i, r);
        out.byte(TAB);
        if (typeof v === 'number') out.number(v);
        else if (v === null) out.ascii('\\N');
        else {
          if (typeof v === 'string') this.strings.push(this.rows * columns.length + c);
          out.text(loadDataField(v));
        }
      }
      out.byte(NEWLINE);
      this.rows++;
    }
  }

  /** The lines written, and which fields hold strings. */
  finish(): PayloadLines {
    return { chunks: this.out.finish(), rows: this.rows, strings: new Set(this.strings) };
  }
}

const TAB = 9;
const NEWLINE = 10;

/**
 * LOAD DATA text written straight into pieces of at most `LOAD_DATA_PIECE` bytes (one packet
 * each; a line may continue in the next piece, the server reads one stream). Numbers are
 * written as JS prints them, integers digit by digit: no string per line or per field (building
 * lines by concatenation cost 150 MB of garbage for 400 k payload rows).
 */
class PieceWriter {
  private readonly pieces: Buffer[] = [];
  private buf = Buffer.allocUnsafe(LOAD_DATA_PIECE);
  private at = 0;

  /** Starts a new piece when fewer than `n` bytes are left in this one. */
  private room(n: number): void {
    if (this.at + n <= this.buf.length) return;
    this.pieces.push(this.buf.subarray(0, this.at));
    this.buf = Buffer.allocUnsafe(LOAD_DATA_PIECE);
    this.at = 0;
  }

  /** One byte (a tab, a newline). */
  byte(b: number): void {
    this.room(1);
    this.buf[this.at++] = b;
  }

  /** A short ASCII text (a number as JS prints it, `\N`). */
  ascii(s: string): void {
    this.room(s.length);
    this.at += this.buf.write(s, this.at, 'latin1');
  }

  /** A number as `String(n)` prints it. */
  number(n: number): void {
    if (Number.isSafeInteger(n)) this.integer(n);
    else this.ascii(String(n));
  }

  /** A safe integer, digit by digit (`-0` as `0`, as `String` prints it). */
  integer(n: number): void {
    this.room(17);
    const buf = this.buf;
    if (n < 0) {
      buf[this.at++] = 45;
      n = -n;
    }
    let digits = 1;
    for (let m = n; m >= 10; m = Math.floor(m / 10)) digits++;
    let k = (this.at += digits);
    do {
      buf[--k] = 48 + (n % 10);
      n = Math.floor(n / 10);
    } while (n > 0);
  }

  /** Any text, as UTF-8, across pieces when it does not fit. */
  text(s: string): void {
    const bytes = Buffer.from(s, 'utf8');
    for (let k = 0; k < bytes.length; ) {
      this.room(1);
      const n = Math.min(bytes.length - k, this.buf.length - this.at);
      bytes.copy(this.buf, this.at, k, k + n);
      this.at += n;
      k += n;
    }
  }

  /** The pieces written. */
  finish(): Buffer[] {
    if (this.at > 0) this.pieces.push(this.buf.subarray(0, this.at));
    this.buf = Buffer.alloc(0);
    this.at = 0;
    return this.pieces;
  }
}

const LOAD_DATA_SPECIAL = /[\\\t\n\r\0]/;
const LOAD_DATA_ESCAPES: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r', '\0': '\\0' };

/** A value checked by `sqlValue` as a LOAD DATA field (default FIELDS/LINES settings). */
function loadDataField(v: unknown): string {
  if (typeof v === 'number') return String(v);
  if (v === null || v === undefined) return '\\N';
  if (typeof v === 'string') return LOAD_DATA_SPECIAL.test(v) ? v.replace(/[\\\t\n\r\0]/g, (ch) => LOAD_DATA_ESCAPES[ch]) : v;
  return String(v);
}

/** Server errors for LOAD DATA LOCAL turned off (MySQL 1148/3948, MariaDB 4166). */
const LOCAL_INFILE_OFF = new Set([1148, 3948, 4166]);

/**
 * `LOAD DATA LOCAL INFILE` on a native mysql2 connection, the file served from `chunks` whatever
 * name the server asks for (this query only: no other query can read a client file). Resolves to
 * the server's reply, or `'refused'` when the server has local_infile turned off.
 */
function mysqlLoadData(connection: unknown, sql: string, chunks: Buffer[]): Promise<{ affectedRows: number; warningStatus: number } | 'refused'> {
  type Reply = { affectedRows: number; warningStatus: number };
  const conn = connection as { query(options: { sql: string; infileStreamFactory: () => Readable }, cb: (err: (Error & { errno?: number }) | null, result: Reply) => void): void };
  return new Promise((resolve, reject) =>
    conn.query({ sql, infileStreamFactory: () => Readable.from(chunks, { objectMode: false }) }, (err, result) => {
      if (!err) resolve(result);
      else if (err.errno !== undefined && LOCAL_INFILE_OFF.has(err.errno)) resolve('refused');
      else reject(err);
    }),
  );
}

/** `(v1,v2,…)` of `values[from … from + width)` as MySQL literals. */
function mysqlTuple(values: unknown[], from: number, width: number, prefix = '('): string {
  let t = prefix;
  for (let c = 0; c < width; c++) t += (c === 0 ? '' : ',') + mysqlLiteral(values[from + c]);
  return t + ')';
}

/** A value checked by `sqlValue` as a MySQL literal: numbers as JS prints them (as the driver binds them), strings escaped by the driver. */
function mysqlLiteral(v: unknown): string {
  if (typeof v === 'number') return String(v);
  if (v === null || v === undefined) return 'NULL';
  if (typeof v === 'string') return escapeMysql(v);
  return String(v);
}

/** Checks and normalises one propagation (times to `YYYY-MM-DD HH:MM:SS`, integer context). */
function checkPropagation(p: Propagation, index: number): Propagation {
  const time = (value: unknown, what: string): string => {
    if (typeof value === 'string' && TIME_TEXT.test(value)) return value;
    if (typeof value !== 'string') throw new ScrapeError('DBI_VALUE', `propagation ${index}: ${what} must be UTC time text, got ${String(value)}`);
    return normalizeTimeText(value);
  };
  const timestart = time(p.timestart, 'timestart');
  const timeend = time(p.timeend, 'timeend');
  if (timeend < timestart) throw new ScrapeError('DBI_RANGE', `propagation ${index}: timeend ${timeend} is before timestart ${timestart}`);
  const c = p.context ?? ({} as ValidityContext);
  for (const key of ['sitemask', 'simmask', 'subsite', 'task', 'aggregateno'] as const) {
    if (!Number.isInteger(c[key])) throw new ScrapeError('DBI_VALUE', `propagation ${index}: context.${key} must be an integer, got ${String(c[key])}`);
  }
  if (!Array.isArray(p.rows)) throw new ScrapeError('DBI_VALUE', `propagation ${index}: rows must be an array`);
  return { timestart, timeend, context: c, rows: p.rows };
}

/** A payload value as the database takes it: numbers (non-finite → NULL), strings, NULL. */
function sqlValue(value: unknown, column: string, prop: number, row: number): unknown {
  switch (typeof value) {
    case 'number':
      return Number.isFinite(value) ? value : null;
    case 'string':
      return value;
    case 'undefined':
      return null;
    case 'boolean':
      return value ? 1 : 0;
    case 'bigint':
      return value;
    default:
      if (value === null) return null;
      throw new ScrapeError('DBI_VALUE', `propagation ${prop}: payload row ${row + 1} column ${column}: cannot store ${Object.prototype.toString.call(value)}`);
  }
}

/** Deadlock, lock wait timeout or a busy SQLite file: the transaction may succeed when retried. */
function isLockConflict(err: unknown): boolean {
  const e = err as { errno?: number; code?: string } | undefined;
  return e?.errno === 1213 || e?.errno === 1205 || e?.code === 'SQLITE_BUSY' || e?.code === 'SQLITE_BUSY_SNAPSHOT';
}
