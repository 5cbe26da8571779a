import { Knex } from 'knex';
import { dialectOf, quoteIdentifier, rawRows } from '../db/dialect';
import { streamMysqlRows, withMysqlConnection } from '../db/mysql-row-stream';
import { DecoderCheck, DecoderFactory, decodeNumericRows, rowDecoderUnavailable, SELF_CHECK_ROWS } from './row-decoder';
import { localToUtc, utcToLocal } from '../core/time';
import { SourceRow } from './source-row';
import { SourceColumn, SourceStream, SuccessionMember, isWideDecimalType, streamTables } from './source-stream';

export type { SourceRow } from './source-row';

/** Position in a stream: rows are ordered by `(date_time, id)`. */
export interface SourceKey {
  date_time: string;
  id: number;
}

/** What one page read found. */
export interface SourcePage {
  /** Rows ready for the source vector, in order. */
  rows: SourceRow[];
  /** Rows skipped because their joined row is missing for good (joined table already past them). */
  skipped: SourceRow[];
  /** True when the page stopped at a row whose joined row has not arrived yet. */
  waitingForJoin: boolean;
  /** With `waitingForJoin`: the row waited on and the joined tables that lack its id. */
  waitingAt?: { key: SourceKey; tables: string[] };
  /** Key of the last row read (consumed or skipped); undefined when nothing was read. */
  lastKey?: SourceKey;
  /** True when the page was full (more rows may follow at once). */
  full: boolean;
}

/** What a streamed page (`streamPage`) reports once its query is done. */
export interface StreamedPage {
  /** True when the page was full (more rows may follow at once). */
  full: boolean;
  /**
   * Delivery stopped before a row whose joined row is missing: `readPage` from the last row
   * delivered decides whether to wait for it or skip it.
   */
  joinMissing: boolean;
}


/**
 * Columns from which a MySQL row counts as wide. mysql2 builds each row object property by
 * property; past about a hundred properties V8 turns such objects into hash tables (slow to
 * read, heavy on the garbage collector), and for hundreds of columns (a 192-channel HV table
 * joined with its power table) it never finishes optimizing the object-building parser (a
 * compiler thread spins on it for minutes, holding the process at exit). Wide rows are read as
 * arrays and made into objects by one literal per stream: fast objects, a third of the cost
 * (or kept as arrays where nothing needs names: `useArrayRows`).
 */
const WIDE_ROW = 100;

/**
 * Values per page beyond which pages get fewer rows than `page_size`: 5000 rows of 388 columns
 * held while processed (and the next page read ahead) cost half a gigabyte and most of the time
 * goes to the garbage collector. Paging changes when rows are read, never which.
 */
const WIDE_PAGE_VALUES = 200_000;

/** The upper bound of a succession's table whose successors hold no row yet: past any date. */
const NO_BOUND = '9999-12-31 23:59:59';

/** Environment variable that turns the row decoder off for every reader: `off` (or `0`, `false`, `no`; any case). */
export const ROW_DECODER_ENV = 'SCRAPE_ROW_DECODER';

/** True when `value` of `SCRAPE_ROW_DECODER` turns the decoder off. */
function decoderSwitchedOff(value: string | undefined): boolean {
  return value !== undefined && ['off', '0', 'false', 'no'].includes(value.trim().toLowerCase());
}

/** How a `SourceReader` reads rows (all optional: the defaults are the scraper's). */
export interface SourceReaderOptions {
  /**
   * false: streamed wide rows of numbers are never decoded from their packets (`numericRowDecoder`),
   * the driver parses every row. Default true; `SCRAPE_ROW_DECODER=off` in `env` turns it off
   * whatever this says (an operator's switch wins).
   */
  rowDecoder?: boolean;
  /** Where `SCRAPE_ROW_DECODER` is read (default `process.env`), once, at construction. */
  env?: NodeJS.ProcessEnv;
  /** Sets `onDecoderDisabled`. */
  onDecoderDisabled?: (reason: string) => void;
  /** Decoded rows compared with the driver's parse per reader (default `SELF_CHECK_ROWS`). */
  selfCheckRows?: number;
  /** Tests only: the decoder factory (a faulty one shows the self-check at work). */
  decoder?: DecoderFactory;
  /** Tests only: the driver version judged against `TESTED_DRIVER_VERSIONS` (default the installed one). */
  driverVersion?: string;
  /**
   * The latest source-local `date_time` a read may return, asked once per query (see
   * `futureHorizon`): rows dated after it are not read, nor seen by `latestTime`, until the
   * horizon reaches them (`future_limit`). Undefined: no bound.
   */
  horizon?: () => string;
  /**
   * Source ids never read (`scrape verify`: late rows, which the run that wrote the target never
   * read, are left out of its replay).
   */
  excludeIds?: readonly number[];
  /**
   * Per source table, ids never read (as `excludeIds`, which applies to the stream's `table`): a
   * stream reading a table succession has one id space per table.
   */
  excludeIdsByTable?: ReadonlyMap<string, readonly number[]>;
}

/**
 * The stream's columns read as exact decimal text: on MySQL its wide DECIMALs
 * (`SourceColumn.wideDecimal`, `isWideDecimalType`), selected `CAST(x AS CHAR)` under their own
 * name, so a session with `decimalNumbers` (doubles for the common `decimal(8,2)`, exact there)
 * still gets their every digit. Such a column's field is text, so the packet decoder declines
 * rows holding one and the driver parses them. None on SQLite: a DECIMAL column has NUMERIC
 * affinity there and holds a value of more than 15 digits as a REAL already (the nearest
 * double), whose `CAST(… AS TEXT)` would keep fewer digits (15) than the double itself.
 */
export function exactColumns(stream: Pick<SourceStream, 'mainColumns' | 'joins'>, dialect: string): Set<SourceColumn> {
  const out = new Set<SourceColumn>();
  if (dialect !== 'mysql') return out;
  for (const c of [...stream.mainColumns, ...stream.joins.flatMap((j) => j.columns)]) if (c.wideDecimal ?? isWideDecimalType(c.type)) out.add(c);
  return out;
}

/** Rows past the horizon (`SourceReader.beyondHorizon`): how many, and the first in stream order. */
export interface BeyondHorizon {
  /** The horizon they were counted against (source-local). */
  horizon: string;
  count: number;
  /** The first of them by `(date_time, id)`; undefined when none. */
  first?: SourceKey;
}

/**
 * Reads a stream in keyset pages: `(date_time, id) > last ORDER BY date_time, id LIMIT n`, with
 * joined tables LEFT JOINed on `id`. One prepared statement text per stream; never one query per
 * sample. Rows whose joined row is missing end the page (`waitingForJoin`) unless the joined
 * table already holds larger ids, in which case the row can never be completed and is reported in
 * `skipped`: a partial group is never handed on.
 */
export class SourceReader {
  private readonly firstSql: string;
  private readonly nextSql: string;
  private readonly joinAliases: string[];
  /** Wide MySQL rows: read as arrays (alias columns last), made into objects by `makeRow` unless kept as arrays (`useArrayRows`). */
  private readonly wide: boolean;
  /**
   * Pages are read as arrays (alias columns last) and made into objects by `makeRow`: wide MySQL
   * rows, and every SQLite row (better-sqlite3 builds a row object property by property, twice
   * the cost of the array and one literal; the literal's objects also share one shape).
   */
  private readonly arrays: boolean;
  private readonly makeRow?: (values: unknown[]) => SourceRow;
  /** Index of the first join alias in a row read as an array. */
  private readonly aliasAt: number;
  /** Rows per page: `page_size`, fewer for wide rows (see `WIDE_PAGE_VALUES`). */
  private readonly limit: number;
  /** Column names in the order of a wide row's array (`id`, `date_time`, main, joined). */
  private readonly names: string[];
  /** Wide rows handed on as arrays (see `useArrayRows`). */
  private arrayRows = false;
  /** The last array row `materialize` made an object of, and that object. */
  private made?: { row: SourceRow; object: SourceRow };
  /** Why the decoder is not used from the start (switched off, untested driver); undefined when it may be. */
  private readonly decoderNotUsed?: string;
  /** The decoder's self-check, shared by this reader's queries (see `DecoderCheck`). */
  private readonly decoderCheck: DecoderCheck;
  private readonly decoderOptions: Pick<SourceReaderOptions, 'decoder' | 'driverVersion'>;
  /** See `SourceReaderOptions.horizon`. */
  private readonly horizon?: () => string;
  /**
   * TIMESTAMP `date_time` (see `SourceStream.timestampZone`): UTC text read → source-local text,
   * and source-local keyset bounds → UTC text sent. Undefined for DATETIME: rows are not touched.
   */
  private readonly toLocal?: (utc: string) => string;
  private readonly toServer: (local: string) => string = (local) => local;

  /**
   * Hears, once, why the row decoder was turned off for this reader by its self-check (a decoded
   * row differed from the driver's parse). Called after the page whose row showed it (before the
   * next page when that page's read failed), outside the driver; a throw rejects that
   * `streamPage`. For the stream layer to log and count (`scrape_row_decoder_disabled_total`).
   */
  onDecoderDisabled?: (reason: string) => void;
  /**
   * Hears the duration (s) of each page read that succeeded: from sending the keyset query to
   * its last row (a streamed page's rows are handed on as they arrive, so their processing is
   * part of it). For the stream layer's read-latency histogram (`scrape_read_seconds`).
   */
  onRead?: (seconds: number) => void;
  /** Times the self-check turned the decoder off for this reader: 0 or 1 (it stays off). */
  decoderDisabledCount = 0;
  /**
   * Columns whose values arrive as exact decimal text (MySQL wide DECIMALs, `exactColumns`): a
   * mapping passing one through hands the writer its digits; arithmetic on it gives a double.
   */
  readonly exactDecimals: readonly string[];

  constructor(
    private readonly db: Knex,
    private readonly stream: SourceStream,
    private readonly pageSize: number,
    options: SourceReaderOptions = {},
  ) {
    const env = options.env ?? process.env;
    const exactNames = [...exactColumns(stream, dialectOf(db))].map((c) => c.name);
    this.exactDecimals = exactNames;
    this.decoderNotUsed =
      exactNames.length > 0
        ? `row decoder not used: wide DECIMAL column${exactNames.length > 1 ? 's' : ''} ${exactNames.slice(0, 3).join(', ')}${exactNames.length > 3 ? ', …' : ''} read as exact text`
        : options.rowDecoder === false
        ? 'row decoder switched off (rowDecoder: false)'
        : decoderSwitchedOff(env[ROW_DECODER_ENV])
          ? `row decoder switched off (${ROW_DECODER_ENV}=${env[ROW_DECODER_ENV]})`
          : rowDecoderUnavailable(options.driverVersion);
    this.decoderCheck = { remaining: options.selfCheckRows ?? SELF_CHECK_ROWS };
    this.decoderOptions = { decoder: options.decoder, driverVersion: options.driverVersion };
    this.onDecoderDisabled = options.onDecoderDisabled;
    this.horizon = options.horizon;
    const zone = stream.timestampZone;
    if (zone !== undefined) {
      this.toLocal = (utc) => (typeof utc === 'string' ? utcToLocal(utc, zone) : utc);
      this.toServer = (local) => localToUtc(local, zone);
    }
    const q = (n: string) => quoteIdentifier(n, dialectOf(db));
    const exact = exactColumns(stream, dialectOf(db));
    // a wide DECIMAL as its exact text (see `exactColumns`), under its own name
    const value = (alias: string, column: string, c: SourceColumn): string =>
      exact.has(c) ? `CAST(${alias}.${q(column)} AS CHAR) AS ${q(c.name)}` : `${alias}.${q(column)} AS ${q(c.name)}`;
    const select = [`m.${q('id')} AS ${q('id')}`, `m.${q('date_time')} AS ${q('date_time')}`];
    const names = ['id', 'date_time'];
    for (const c of stream.mainColumns) {
      select.push(value('m', c.name, c));
      names.push(c.name);
    }
    const joins: string[] = [];
    const aliases: string[] = [];
    this.joinAliases = [];
    stream.joins.forEach((j, i) => {
      const alias = `__join${i}`;
      this.joinAliases.push(alias);
      aliases.push(`j${i}.${q('id')} AS ${q(alias)}`);
      j.tableColumns.forEach((col, k) => {
        select.push(value(`j${i}`, col, j.columns[k]));
        names.push(j.columns[k].name);
      });
      joins.push(`LEFT JOIN ${q(j.table)} j${i} ON j${i}.${q('id')} = m.${q('id')}`);
    });
    // The join aliases come last: deleting the last properties of a row keeps it a fast object.
    this.aliasAt = select.length;
    this.names = names;
    select.push(...aliases);
    this.wide = select.length > WIDE_ROW && dialectOf(db) === 'mysql';
    this.arrays = this.wide || dialectOf(db) === 'sqlite';
    this.limit = Math.min(pageSize, Math.max(100, Math.floor(WIDE_PAGE_VALUES / select.length)));
    if (this.arrays) {
      // Column names come from the live schema and passed quoteIdentifier; JSON quoting makes them literal keys.
      this.makeRow = new Function('a', `return { ${names.map((n, i) => `${JSON.stringify(n)}: a[${i}]`).join(', ')} };`) as (values: unknown[]) => SourceRow;
    }
    const order = `ORDER BY m.${q('date_time')}, m.${q('id')} LIMIT ?`;
    this.tables = streamTables(stream);
    // one branch per table of a succession (the only one otherwise): its own select (a column an
    // older table lacks is NULL), its own excluded ids, and, but for the newest, an upper bound
    const branch = (table: string, older: SuccessionMember | undefined, keyset: boolean, upper: boolean): string => {
      const own = older ? select.map((term, k) => (k < 2 || k >= 2 + stream.mainColumns.length || older.columns.has(stream.mainColumns[k - 2].name) ? term : `NULL AS ${q(names[k])}`)) : select;
      const head = `SELECT ${own.join(', ')} FROM ${q(table)} m ${joins.join(' ')}`;
      // rows past the horizon are not read (yet): bound after `from`, see `bounded`
      const ids = (table === stream.table ? options.excludeIds : undefined) ?? options.excludeIdsByTable?.get(table) ?? [];
      const excluded = ids.filter((id) => Number.isSafeInteger(id));
      const bound = (this.horizon ? ` AND m.${q('date_time')} <= ?` : '') + (excluded.length ? ` AND m.${q('id')} NOT IN (${excluded.join(', ')})` : '');
      const after = keyset ? ` AND (m.${q('date_time')} > ? OR (m.${q('date_time')} = ? AND m.${q('id')} > ?))` : '';
      return `${head} WHERE m.${q('date_time')} >= ?${bound}${after}${upper ? ` AND m.${q('date_time')} < ?` : ''} ${order}`;
    };
    if (this.tables.length === 1) {
      this.firstSql = branch(stream.table, undefined, false, false);
      this.nextSql = branch(stream.table, undefined, true, false);
    } else {
      // a succession: each table's page (bounded by the next table's first date_time), then the
      // page of their union; the tables' date_time ranges do not overlap, so (date_time, id)
      // orders the union although ids restart
      const union = (keyset: boolean) =>
        this.tables.map((t, i) => `SELECT * FROM (${branch(t, stream.succession![i], keyset, i < this.tables.length - 1)}) b${i}`).join(' UNION ALL ') + ` ORDER BY ${q('date_time')}, ${q('id')} LIMIT ?`;
      this.firstSql = union(false);
      this.nextSql = union(true);
    }
  }

  /** The tables read, oldest first (see `streamTables`). */
  private readonly tables: string[];
  /**
   * A succession's bounds as of the last query: for each table but the newest, the first
   * `date_time` of the tables after it (server text, and source-local), undefined when they have
   * none yet (the table is read to its end).
   */
  private bounds: ({ server: string; local: string } | undefined)[] = [];
  /** A succession's highest id read per table (index as `tables`). */
  private readonly maxIds: number[] = [];

  /**
   * Where a succession's tables hand over (see `bounds`), asked before each query: the first
   * `date_time` of each table (an indexed MIN each).
   */
  private async refreshBounds(): Promise<void> {
    if (this.tables.length === 1) return;
    const q = (n: string) => quoteIdentifier(n, dialectOf(this.db));
    const firsts: (string | undefined)[] = [];
    for (const t of this.tables.slice(1)) {
      const raw = await this.query(`SELECT MIN(${q('date_time')}) AS t FROM ${q(t)}`, []);
      const v = raw[0]?.t;
      firsts.push(v === null || v === undefined ? undefined : v instanceof Date ? v.toISOString().slice(0, 19).replace('T', ' ') : String(v));
    }
    this.bounds = this.tables.slice(0, -1).map((_, i) => {
      let first: string | undefined;
      for (const f of firsts.slice(i)) if (f !== undefined && (first === undefined || f < first)) first = f;
      return first === undefined ? undefined : { server: first, local: this.toLocal ? this.toLocal(first) : first };
    });
  }

  /** Index (in `streamTables` order) of the table a row of a succession was read from, by its `date_time`. */
  tableIndexAt(dateTime: string): number {
    for (let i = 0; i < this.bounds.length; i++) {
      const b = this.bounds[i];
      if (b === undefined || dateTime < b.local) return i;
    }
    return this.tables.length - 1;
  }

  /** The source table a row with this `date_time` was read from (the stream's one table unless it reads a succession). */
  tableAt(dateTime: string): string {
    return this.tables.length === 1 ? this.tables[0] : this.tables[this.tableIndexAt(dateTime)];
  }

  /**
   * Highest id read so far from `table` (a succession's table; undefined when none was read):
   * rows handed on by a page, so up to a page read ahead of the rows decided (the marks it gives
   * are higher by as much, which can only hide a late row, never report one falsely).
   */
  maxIdReadIn(table: string): number | undefined {
    const v = this.maxIds[this.tables.indexOf(table)];
    return v === undefined ? undefined : v;
  }

  /**
   * Raises the highest id read from `table` to `id` (a succession's table; nothing otherwise): a
   * resumed stream starts from the mark its table's last validity kept, as the stream's running
   * max does for one table, so a row the previous run read is never taken for a late one.
   */
  seedMaxIdIn(table: string, id: number): void {
    const i = this.tables.indexOf(table);
    if (this.tables.length === 1 || i < 0) return;
    if (!(this.maxIds[i] >= id)) this.maxIds[i] = id;
  }

  /** A succession's bookkeeping of a row handed on (nothing for one table). */
  private track(r: SourceRow): void {
    if (this.tables.length === 1) return;
    const i = this.tableIndexAt(r.date_time);
    if (!(this.maxIds[i] >= r.id)) this.maxIds[i] = r.id;
  }

  /**
   * Asks for wide rows as arrays (with `id` and `date_time` set as properties), not objects: the
   * caller reads values by `columnIndex` and makes objects with `materialize` only where names
   * are needed (a PROCEED). Building a 386-property object per row costs more than reading it.
   * Streamed rows of numbers are decoded from their packets (`numericRowDecoder`: unboxed
   * doubles, the `date_time` slot NaN) unless the decoder is off (`rowDecoderOff`); others are
   * the driver's arrays. Returns false (and changes nothing) when rows are not read as arrays.
   */
  useArrayRows(): boolean {
    if (!this.wide) return false;
    this.arrayRows = true;
    return true;
  }

  /**
   * Why rows are not decoded from their packets by this reader: switched off (option or
   * `SCRAPE_ROW_DECODER`), an untested driver (`rowDecoderUnavailable`), or the self-check's
   * finding; undefined while the decoder may be used (it is used only for streamed wide rows of
   * numbers, `useArrayRows`).
   */
  get rowDecoderOff(): string | undefined {
    return this.decoderNotUsed ?? this.decoderCheck.off;
  }

  /** Values in each row read (id, date_time, the table's and the joined tables' columns). */
  get rowWidth(): number {
    return this.names.length;
  }

  /**
   * True when `streamPage` can be used (MySQL): rows are handed on as they arrive, so pages can be
   * `page_size` rows however wide, and no page is held in memory.
   */
  canStream(): boolean {
    return dialectOf(this.db) === 'mysql';
  }

  /**
   * Reads one keyset page of up to `page_size` rows after `after` and hands each row to `onRow`
   * as it arrives (parsed by the driver, or decoded from its packet: see `useArrayRows`), in order. Delivery stops when `onRow` returns false or before a row
   * whose joined row is missing (`joinMissing`); the rest of the page is drained unread. A throw
   * in `onRow` stops delivery and rejects once the query is done. MySQL only (`canStream`).
   */
  async streamPage(from: string, after: SourceKey | undefined, onRow: (row: SourceRow) => boolean): Promise<StreamedPage> {
    this.reportDecoderOff(); // a finding of a page whose read failed
    const limit = this.pageSize;
    await this.refreshBounds();
    const [sql, values] = this.bindings(from, after, limit);
    let received = 0;
    let delivering = true;
    let joinMissing = false;
    let failure: unknown;
    // an exception of onRow stops delivery; the page is read to its end and the error raised then
    const take = (row: SourceRow): void => {
      this.track(row);
      try {
        if (!onRow(row)) delivering = false;
      } catch (err) {
        failure = err;
        delivering = false;
      }
    };
    // rows of numbers decoded by us, every value as the driver gives it (see numericRowDecoder),
    // the first ones checked against the driver's parse
    const check = this.decoderCheck;
    const hook =
      this.arrayRows && this.rowDecoderOff === undefined
        ? (query: unknown, config: unknown) =>
            decodeNumericRows(
              query,
              config as Parameters<typeof decodeNumericRows>[1],
              (row) => {
                received++;
                if (!delivering) return;
                if (this.toLocal) row.date_time = this.toLocal(row.date_time);
                take(row);
              },
              { check, ...this.decoderOptions },
            )
        : undefined;
    const started = performance.now();
    await withMysqlConnection(this.db, (conn) =>
      streamMysqlRows(
        conn,
        { sql, values, rowsAsArray: this.wide },
        (raw) => {
          received++;
          if (!delivering) return;
          if (this.joinMissingIn(raw)) {
            joinMissing = true;
            delivering = false;
            return;
          }
          take(this.toRow(raw));
        },
        hook,
      ),
    );
    this.onRead?.((performance.now() - started) / 1000);
    this.reportDecoderOff();
    if (failure !== undefined) throw failure;
    return { full: received >= limit, joinMissing };
  }


  /**
   * A `streamMysqlRows` hook decoding rows of numbers from their packets (`numericRowDecoder`)
   * for another reader of this stream's table that reads arrays (the averager's `RangeReader`),
   * under this reader's switches and self-check: decoded rows go to `onRow` (the `date_time`
   * slot NaN, `id` and `date_time` as properties, the time as the server sent it), others stay
   * the driver's. Undefined while the decoder is off (`rowDecoderOff`). Call `reportDecoderOff`
   * after each such query.
   */
  numericRowHook(onRow: (row: SourceRow) => void): ((query: unknown, config: unknown) => void) | undefined {
    if (this.rowDecoderOff !== undefined) return undefined;
    const options = { check: this.decoderCheck, ...this.decoderOptions };
    return (query, config) => {
      decodeNumericRows(query, config as Parameters<typeof decodeNumericRows>[1], onRow, options);
    };
  }

  /** Tells `onDecoderDisabled` (once) that the self-check turned the decoder off. */
  reportDecoderOff(): void {
    if (this.decoderCheck.off === undefined || this.decoderDisabledCount > 0) return;
    this.decoderDisabledCount++;
    this.onDecoderDisabled?.(this.decoderCheck.off);
  }

  /** A row as the driver gave it, as the scraper takes it: `id` a number; join aliases dropped. */
  private toRow(values: any): SourceRow {
    let r: SourceRow;
    if (this.arrayRows) {
      r = values;
      r.id = Number(values[0]);
      r.date_time = this.toLocal ? this.toLocal(values[1]) : values[1];
      return r;
    }
    r = this.arrays ? this.makeRow!(values) : values;
    r.id = Number(r.id);
    if (this.toLocal) r.date_time = this.toLocal(r.date_time);
    if (!this.arrays) for (let k = this.joinAliases.length - 1; k >= 0; k--) delete r[this.joinAliases[k]];
    return r;
  }

  /** True when a row as the driver gave it lacks a joined row. */
  private joinMissingIn(values: any): boolean {
    for (let k = 0; k < this.joinAliases.length; k++) if (!this.joined(values, k)) return true;
    return false;
  }

  /** True when the row (as the driver gave it) has its row of join `k`. */
  private joined(values: any, k: number): boolean {
    const v = this.arrays ? values[this.aliasAt + k] : values[this.joinAliases[k]];
    return v !== null && v !== undefined;
  }

  /** Index of a column in an array row (after `useArrayRows`), -1 when absent. */
  columnIndex(name: string): number {
    return this.names.indexOf(name);
  }

  /**
   * The row as an object with named columns: an array row is converted, an object returned as is.
   * Built property by property (the object ends up a hash table, fine for the few reads a
   * PROCEED makes): `makeRow`'s literal of hundreds of properties is what per-row objects need,
   * but optimizing it costs a quarter of a second of compiler time, too much for two calls per
   * PROCEED.
   */
  materialize(row: SourceRow): SourceRow {
    if (!this.arrayRows || !Array.isArray(row)) return row;
    // sv[-1] of one PROCEED is mostly sv[0] of the next: made once
    if (this.made?.row === row) return this.made.object;
    const names = this.names;
    const values = row as unknown as unknown[];
    const r = {} as SourceRow;
    for (let i = 0; i < names.length; i++) r[names[i]] = values[i];
    r.id = row.id;
    r.date_time = row.date_time;
    this.made = { row, object: r };
    return r;
  }

  /** Rows with `date_time >= from` after `after` (exclusive), at most one page. */
  async readPage(from: string, after?: SourceKey, limit = this.limit): Promise<SourcePage> {
    await this.refreshBounds();
    const [sql, values] = this.bindings(from, after, limit);
    const started = performance.now();
    const raw = await this.query(sql, values, this.arrays);
    this.onRead?.((performance.now() - started) / 1000);
    const rows: SourceRow[] = [];
    const skipped: SourceRow[] = [];
    let waitingForJoin = false;
    let waitingAt: SourcePage['waitingAt'];
    let last: SourceRow | undefined;
    let maxJoinIds: number[] | undefined;
    for (const values of raw) {
      // the join aliases are read before toRow drops them from an object row
      const missing = this.joinMissingIn(values);
      const has = missing ? this.stream.joins.map((_, i) => this.joined(values, i)) : [];
      const r = this.toRow(values);
      if (missing) {
        maxJoinIds ??= await this.maxJoinIds();
        const joinedPast = this.stream.joins.every((_, i) => has[i] || maxJoinIds![i] > r.id);
        if (!joinedPast) {
          waitingForJoin = true;
          const tables = this.stream.joins.filter((_, i) => !has[i]).map((j) => j.table);
          waitingAt = { key: { date_time: r.date_time, id: r.id }, tables };
          break;
        }
        skipped.push(r);
        last = r;
        continue;
      }
      this.track(r);
      rows.push(r);
      last = r;
    }
    const lastKey = last ? { date_time: last.date_time, id: last.id } : undefined;
    return { rows, skipped, waitingForJoin, waitingAt, lastKey, full: !waitingForJoin && raw.length >= limit };
  }

  /** The keyset query and its values (times as the server compares them: see `toServer`; the horizon when there is one). */
  private bindings(from: string, after: SourceKey | undefined, limit: number): [string, unknown[]] {
    const at = this.toServer;
    const bound = (lower: string) => (this.horizon ? [lower, at(this.horizon())] : [lower]);
    let one: unknown[];
    if (!after) one = bound(at(from));
    else {
      const t = at(after.date_time);
      // The lower bound is the later of `from` and the last key's time (rows after the key are at
      // or after both): an index range starts there. SQLite seeks on that term alone, so a lower
      // bound left at `from` walked every row since the resume point on each page (pages slowing
      // down as the run went on: 180 ms a page on average over 2 M rows).
      const f = at(from);
      one = [...bound(t > f ? t : f), t, t, after.id];
    }
    const sql = after ? this.nextSql : this.firstSql;
    if (this.tables.length === 1) return [sql, [...one, limit]];
    // a succession: each table's values, its upper bound (none yet: past any date), its limit
    const values = this.tables.flatMap((_, i) => (i < this.tables.length - 1 ? [...one, this.bounds[i]?.server ?? NO_BOUND, limit] : [...one, limit]));
    return [sql, [...values, limit]];
  }

  /**
   * Latest `date_time` in the main table up to the horizon (for lag and the averager's complete
   * bins), or undefined when there is none: a row dated in the future must not make the stream
   * look caught up.
   */
  async latestTime(): Promise<string | undefined> {
    const q = (n: string) => quoteIdentifier(n, dialectOf(this.db));
    const horizon = this.horizon?.();
    const where = horizon === undefined ? '' : ` WHERE ${q('date_time')} <= ?`;
    // a succession: the newest table holding rows (an older table is not read past its successor's first row)
    for (const table of [...this.tables].reverse()) {
      const raw = await this.query(`SELECT MAX(${q('date_time')}) AS t FROM ${q(table)}${where}`, horizon === undefined ? [] : [this.toServer(horizon)]);
      const t = raw[0]?.t ?? undefined;
      if (t !== undefined) return this.toLocal ? this.toLocal(t) : t;
    }
    return undefined;
  }

  /**
   * Rows this reader does not read yet because they are dated past the horizon (quarantined):
   * their count and the first of them. Two indexed queries (one when there are none); undefined
   * without a horizon.
   */
  async beyondHorizon(): Promise<BeyondHorizon | undefined> {
    const horizon = this.horizon?.();
    if (horizon === undefined) return undefined;
    const q = (n: string) => quoteIdentifier(n, dialectOf(this.db));
    const bound = this.toServer(horizon);
    let count = 0;
    let first: SourceKey | undefined;
    for (const table of this.tables) {
      const from = `FROM ${q(table)} WHERE ${q('date_time')} > ?`;
      const raw = await this.query(`SELECT COUNT(*) AS n ${from}`, [bound]);
      const n = Number(raw[0]?.n ?? 0);
      count += n;
      if (n === 0 || first) continue;
      const row = (await this.query(`SELECT ${q('id')} AS id, ${q('date_time')} AS t ${from} ORDER BY ${q('date_time')}, ${q('id')} LIMIT 1`, [bound]))[0];
      const t = row ? String(row.t) : undefined;
      if (row) first = { id: Number(row.id), date_time: this.toLocal && t ? this.toLocal(t) : t! };
    }
    return count === 0 ? { horizon, count } : { horizon, count, first };
  }

  /** Rows the scraper never reads: `date_time` before `timefloor`, zero dates included. */
  async countBefore(timefloor: string): Promise<number> {
    const q = (n: string) => quoteIdentifier(n, dialectOf(this.db));
    let n = 0;
    for (const table of this.tables) n += Number((await this.query(`SELECT COUNT(*) AS n FROM ${q(table)} WHERE ${q('date_time')} < ?`, [this.toServer(timefloor)]))[0]?.n ?? 0);
    return n;
  }

  private async maxJoinIds(): Promise<number[]> {
    const q = (n: string) => quoteIdentifier(n, dialectOf(this.db));
    const out: number[] = [];
    for (const j of this.stream.joins) {
      const raw = await this.query(`SELECT MAX(${q('id')}) AS m FROM ${q(j.table)}`, []);
      out.push(raw[0]?.m == null ? -Infinity : Number(raw[0].m));
    }
    return out;
  }

  private async query(sql: string, bindings: unknown[], asArrays = false): Promise<any[]> {
    return rawRows(this.db, sql, bindings as Knex.RawBinding[], { asArrays });
  }
}
