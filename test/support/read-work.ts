import * as fs from 'fs';
import { Knex } from 'knex';
import { TestDialect } from './databases';

/** Bytes this process has read through read(2)/pread(2) so far (Linux `/proc/self/io`, `rchar`). */
function bytesRead(): number {
  const m = /^rchar:\s*(\d+)$/m.exec(fs.readFileSync('/proc/self/io', 'utf8'));
  if (!m) throw new Error('no rchar in /proc/self/io');
  return Number(m[1]);
}

/** The session's `Handler_read_%` counters summed: index and table rows MariaDB read for this connection. */
async function handlerReads(db: Knex): Promise<number> {
  const [rows] = await db.raw(`SHOW SESSION STATUS LIKE 'Handler\\_read\\_%'`);
  return (rows as { Value: string }[]).reduce((n, r) => n + Number(r.Value), 0);
}

/**
 * How much a database read to do `work` on `db` (a handle with ONE connection: `poolMax: 1`),
 * counted by the database's own means, not by a clock: on SQLite the bytes the process read from
 * the files while the connection keeps only 4 pages in its cache (so every page a statement
 * touches is read again: the count grows with the pages it walks); on MariaDB the session's
 * `Handler_read_%` counters (rows read from indexes and tables). Other readers in this process
 * must be idle meanwhile.
 */
export async function readWork(dialect: TestDialect, db: Knex, work: () => Promise<unknown>): Promise<number> {
  if (dialect === 'sqlite') {
    await db.raw('PRAGMA cache_size = 4');
    const before = bytesRead();
    await work();
    return bytesRead() - before;
  }
  const before = await handlerReads(db);
  await work();
  // the SHOW itself reads no handler rows
  return (await handlerReads(db)) - before;
}
