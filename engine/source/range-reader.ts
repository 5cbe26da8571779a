import type { Knex } from 'knex';
import { dialectOf, quoteIdentifier } from '../db/dialect';
import { HeldConnection, MysqlConnection, holdMysqlConnection, holdSpareMysqlConnection, streamMysqlRows } from '../db/mysql-row-stream';
import { localToUtc, utcToLocal } from '../core/time';
import { SourceStream } from './source-stream';
import type { SourceReader } from './source-reader';
import type { SourceRow } from './source-row';

/** The first entry at or after a time and the id range of a time range, as one query answers them. */
export interface RangeBounds {
  /** Smallest `date_time` in the range (undefined when the range is empty). */
  first?: string;
  lo: unknown;
  hi: unknown;
}

/**
 * Reads a MySQL stream without joined tables by time ranges instead of keyset pages: one
 * range query `date_time >= from AND date_time < to ORDER BY date_time, id` streamed as arrays
 * (`id`, `date_time`, then the main columns) through the one guarded row stream. The query also
 * names the range's id range (`MIN(id)`, `MAX(id)` read from the `(date_time, id)` index): the
 * rows are the same, but when ids follow time, as auto-increment ids do, MariaDB reads the range
 * along the primary key instead of one primary-key lookup per row. Read in id order (`byId`)
 * the server also skips sorting the range, and the rows are checked to come in time order as
 * they arrive. The averager reads a chunk (a day) at a time this way.
 */
export class RangeReader {
  /** Column names of the arrays handed out, in order. */
  readonly columnNames: string[];
  private readonly boundsSql: string;
  private readonly firstSql: string;
  private readonly rangeSql: string;
  private readonly rangeByIdSql: string;
  /** TIMESTAMP `date_time` (see `SourceStream.timestampZone`): UTC text read → local, local bounds → UTC; identity for DATETIME. */
  private readonly toLocal?: (utc: string) => string;
  private readonly toServer: (local: string) => string = (local) => local;

  /** `excludeIds`: source ids never read (a replay leaves late rows out, as `SourceReaderOptions.excludeIds`). */
  constructor(
    private readonly db: Knex,
    stream: SourceStream,
    /** The stream's keyset reader: its row decoder switches and self-check (`numericRowHook`); without it the driver parses every row. */
    private readonly decoder?: Pick<SourceReader, 'numericRowHook' | 'reportDecoderOff'>,
    excludeIds: readonly number[] = [],
  ) {
    const zone = stream.timestampZone;
    if (zone !== undefined) {
      this.toLocal = (utc) => (typeof utc === 'string' ? utcToLocal(utc, zone) : utc);
      this.toServer = (local) => localToUtc(local, zone);
    }
    const dialect = dialectOf(db);
    const q = (n: string) => quoteIdentifier(n, dialect);
    this.columnNames = ['id', 'date_time', ...stream.mainColumns.map((c) => c.name)];
    const table = q(stream.table);
    const dt = q('date_time');
    const id = q('id');
    const excluded = excludeIds.filter((n) => Number.isSafeInteger(n));
    const notExcluded = excluded.length ? ` AND ${id} NOT IN (${excluded.join(', ')})` : '';
    const inRange = `${dt} >= ? AND ${dt} < ?${notExcluded}`;
    this.boundsSql = `SELECT MIN(${dt}) AS t, MIN(${id}) AS lo, MAX(${id}) AS hi FROM ${table} WHERE ${inRange}`;
    this.firstSql = `SELECT MIN(${dt}) AS t FROM ${table} WHERE ${dt} >= ?${notExcluded}`;
    const select = `SELECT ${this.columnNames.map(q).join(', ')} FROM ${table} WHERE ${id} >= ? AND ${id} <= ?`;
    this.rangeSql = `${select} AND ${inRange} ORDER BY ${dt}, ${id}`;
    // the id span alone: see `stream`
    this.rangeByIdSql = `${select}${notExcluded} ORDER BY ${id}`;
  }

  /**
   * One source connection for the chunks of a catch-up pass (their queries run on it in order,
   * so the next chunk's bounds can be asked while this chunk's rows still arrive); `release` it
   * when the pass ends.
   */
  hold(): Promise<HeldConnection> {
    return holdMysqlConnection(this.db);
  }

  /**
   * A second source connection for reading the next chunk ahead while this one is aggregated,
   * when the pool has one to spare now (see `holdSpareMysqlConnection`); undefined otherwise.
   * `release` it as soon as its read ends.
   */
  holdSpare(): Promise<HeldConnection | undefined> {
    return holdSpareMysqlConnection(this.db);
  }

  /** The first entry's time and the id range of `[from, to)` (source-local texts). */
  async bounds(conn: MysqlConnection, from: string, to: string): Promise<RangeBounds> {
    let row: unknown[] = [];
    await streamMysqlRows(conn, { sql: this.boundsSql, values: [this.toServer(from), this.toServer(to)], rowsAsArray: true }, (r) => (row = r));
    return { first: this.local((row[0] as string | null) ?? undefined), lo: row[1], hi: row[2] };
  }

  /** The first `date_time` at or after `from`, if any. */
  async firstFrom(conn: MysqlConnection, from: string): Promise<string | undefined> {
    let found: string | undefined;
    await streamMysqlRows(conn, { sql: this.firstSql, values: [this.toServer(from)], rowsAsArray: true }, (r) => (found = (r[0] as string | null) ?? undefined));
    return this.local(found);
  }

  /**
   * Hears the duration (s) of each range streamed in full, from the query to its last row (the
   * rows' processing included, as they are handed on while they arrive): read latency.
   */
  onRead?: (seconds: number) => void;

  /**
   * Streams the rows of `[from, to)` within ids `lo..hi` as arrays (see `columnNames`), in
   * `(date_time, id)` order, each with its source-local `date_time` text: `values[1]` holds it
   * for rows the driver parsed, NaN for rows decoded from their packets (numbers unboxed, see
   * `numericRowDecoder`; only with `decoder`, the stream's `SourceReader`, whose switches and
   * self-check apply). Resolves true when every row was handed on.
   *
   * With `byId` the server sends the rows of the range's id span `lo..hi` in id order, without
   * sorting and without testing their times, and each row's `date_time`, as the server sent it,
   * is compared with the one before. While none is earlier, every row lies between the rows
   * `lo` and `hi`, which are in the range (their ids are its smallest and largest), so these
   * are the range's rows, and id order is their `(date_time, id)` order: the same rows in the
   * same order. At the first row that is earlier, delivery stops (the rest of the result is read
   * and dropped) and the promise resolves false: the rows handed on were a prefix of the span in
   * id order only (a row of the span dated outside the range shows so too), and the caller reads
   * the range again without `byId`.
   */
  async stream(conn: MysqlConnection, bounds: RangeBounds, from: string, to: string, onRow: (values: unknown[], dateTime: string) => void, byId = false): Promise<boolean> {
    if (bounds.lo === null || bounds.lo === undefined) return true;
    const values = byId ? [bounds.lo, bounds.hi] : [bounds.lo, bounds.hi, this.toServer(from), this.toServer(to)];
    const toLocal = this.toLocal;
    const started = performance.now();
    // id order: the server's time text of the row before, and whether a row ran against it
    let previous = '';
    let ordered = true;
    const inOrder = (serverTime: string): boolean => {
      if (!ordered) return false;
      if (serverTime < previous) return (ordered = false);
      previous = serverTime;
      return true;
    };
    let parsed: (row: unknown[]) => void;
    let decoded: (row: SourceRow) => void;
    if (byId) {
      parsed = toLocal
        ? (row) => {
            if (!inOrder(row[1] as string)) return;
            const t = toLocal(row[1] as string);
            row[1] = t;
            onRow(row, t);
          }
        : (row) => {
            if (inOrder(row[1] as string)) onRow(row, row[1] as string);
          };
      decoded = toLocal
        ? (row) => {
            if (inOrder(row.date_time)) onRow(row as unknown as unknown[], toLocal(row.date_time));
          }
        : (row) => {
            if (inOrder(row.date_time)) onRow(row as unknown as unknown[], row.date_time);
          };
    } else {
      parsed = toLocal
        ? (row) => {
            const t = toLocal(row[1] as string);
            row[1] = t;
            onRow(row, t);
          }
        : (row) => onRow(row, row[1] as string);
      decoded = toLocal ? (row) => onRow(row as unknown as unknown[], toLocal(row.date_time)) : (row) => onRow(row as unknown as unknown[], row.date_time);
    }
    const hook = this.decoder?.numericRowHook(decoded);
    try {
      await streamMysqlRows(conn, { sql: byId ? this.rangeByIdSql : this.rangeSql, values, rowsAsArray: true }, parsed, hook);
    } finally {
      this.decoder?.reportDecoderOff();
    }
    this.onRead?.((performance.now() - started) / 1000);
    return ordered;
  }

  /** A time read from the server as source-local text. */
  private local(t: string | undefined): string | undefined {
    return t !== undefined && this.toLocal ? this.toLocal(t) : t;
  }
}

/**
 * A range reader for `stream` where one applies (MySQL, no joined tables, one table: a table
 * succession is read by the keyset pages of `SourceReader`, which hand over between its tables),
 * else undefined: keyset pages then. `excludeIds`: source ids left out (a replay's late rows).
 */
export function rangeReaderFor(db: Knex, stream: SourceStream, decoder?: Pick<SourceReader, 'numericRowHook' | 'reportDecoderOff'>, excludeIds?: readonly number[]): RangeReader | undefined {
  return dialectOf(db) === 'mysql' && stream.joins.length === 0 && !stream.succession ? new RangeReader(db, stream, decoder, excludeIds) : undefined;
}
