import { escape as escapeMysql } from 'mysql2';
import { Readable } from 'stream';
import { PayloadLines } from './payload-converter';
import { mysqlInsert } from './mysql-write';

/** Server errors for LOAD DATA LOCAL turned off (MySQL 1148/3948, MariaDB 4166). */
const LOCAL_INFILE_OFF = new Set([1148, 3948, 4166]);

/**
 * `LOAD DATA LOCAL INFILE` on a native mysql2 connection, the file served from `chunks` whatever
 * name the server asks for (this query only: no other query can read a client file). Resolves to
 * the server's reply, or `'refused'` when the server has local_infile turned off.
 */
export function mysqlLoadData(connection: unknown, sql: string, chunks: Buffer[]): Promise<{ affectedRows: number; warningStatus: number } | 'refused'> {
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

const LOAD_DATA_UNESCAPES: Record<string, string> = { '\\\\': '\\', '\\t': '\t', '\\n': '\n', '\\r': '\r', '\\0': '\0' };

/**
 * The `(SEQNO,ROW_COUNTER,…)` INSERT tuples of LOAD DATA lines (SEQNO = `first` + the line's
 * propagation index): numbers as the lines hold them (as `mysqlLiteral` prints them), strings
 * unescaped and quoted by the driver, `\N` as NULL — the same literals as the INSERT path.
 */
export function insertTuplesFromLines(lines: PayloadLines, first: number): string[] {
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
export class LoadDataRejected extends Error {
  constructor() {
    super('LOAD DATA took the payload with warnings');
  }
}

/**
 * Payload lines into MySQL by `LOAD DATA LOCAL INFILE` (`loadSql`, SEQNO = `first` + the line's
 * propagation index), or, when `byInsert` or the server has local_infile off (`onRefused` is
 * called first), the same values by INSERT (`insertHead`). Lines the server took with warnings or
 * not all throw `LoadDataRejected`: the caller rolls back and writes again by INSERT.
 */
export async function loadPayloadLines(
  connection: unknown,
  loadSql: string,
  insertHead: string,
  lines: PayloadLines,
  first: number,
  byInsert: boolean,
  onRefused: () => void,
): Promise<void> {
  const loaded = byInsert ? 'refused' : await mysqlLoadData(connection, loadSql, lines.chunks);
  if (loaded === 'refused') {
    // local_infile off on the server (INSERTs from now on, in this same transaction), or
    // lines the server took with warnings: the same values as INSERT literals
    if (!byInsert) onRefused();
    const tuples = insertTuplesFromLines(lines, first);
    await mysqlInsert(connection, insertHead, tuples.length, (k) => tuples[k]);
  } else if (loaded.warningStatus > 0 || loaded.affectedRows !== lines.rows) {
    throw new LoadDataRejected();
  }
}
