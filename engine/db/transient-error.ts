import { ScrapeError } from '../core/errors';

/** Error codes (driver or system) of conditions that pass by themselves: lost or refused connections, timeouts, deadlocks, busy files. */
const TRANSIENT_CODES = new Set([
  'PROTOCOL_CONNECTION_LOST',
  'PROTOCOL_SEQUENCE_TIMEOUT',
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTCONN',
  'EAI_AGAIN',
  'ER_LOCK_DEADLOCK',
  'ER_LOCK_WAIT_TIMEOUT',
  'ER_CON_COUNT_ERROR',
  'ER_SERVER_SHUTDOWN',
  'ER_QUERY_INTERRUPTED',
  'SQLITE_BUSY',
  'SQLITE_LOCKED',
]);

/** Messages of transient conditions that carry no code (knex pool, mysql2 closed connections). */
const TRANSIENT_MESSAGES = [
  /Knex: Timeout acquiring a connection/i,
  /Connection lost/i,
  /connection is in closed state/i,
  /Cannot enqueue .* after fatal error/i,
  /read ECONNRESET|connect ECONNREFUSED|write EPIPE/i,
  /Server has gone away/i,
  /Lost connection to (MySQL|MariaDB) server/i,
  /database is locked/i,
  /WSREP has not yet prepared node/i, // a Galera node joining or resyncing
];

/**
 * True when `err` (or any error in its `cause` chain) is transient: a lost, refused or reset
 * connection, a timeout, a deadlock, a busy SQLite file, or a `ScrapeError` marked transient.
 * The scraper retries those; anything else stops it.
 */
export function isTransientError(err: unknown): boolean {
  const seen = new Set<unknown>();
  let e: any = err;
  while (e && typeof e === 'object' && !seen.has(e)) {
    seen.add(e);
    if (e instanceof ScrapeError && e.transient) return true;
    if (typeof e.code === 'string' && TRANSIENT_CODES.has(e.code)) return true;
    if (e.fatal === true && typeof e.code === 'string' && e.code.startsWith('PROTOCOL_')) return true;
    if (typeof e.message === 'string' && TRANSIENT_MESSAGES.some((re) => re.test(e.message))) return true;
    e = e.cause;
  }
  return false;
}
