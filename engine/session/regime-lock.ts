import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import Database from 'better-sqlite3';
import * as mysql from 'mysql2/promise';
import { Knex } from 'knex';
import { Clock, systemClock } from '../core/clock';
import { KEEPALIVE_AFTER_MS } from '../db/open-database';
import { DatabaseLocation } from '../config/dbconf';
import { ScrapeError } from '../core/errors';
import { dialectOf, rawRows } from '../db/dialect';

/** Which program holds a lock: one scraper and one averager may run per regime and target. */
export type LockRole = 'scrape' | 'average';

/** Who holds a lock, as `lockStatus` reads it. */
export interface RegimeLockState {
  held: boolean;
  /** `host pid N (connection C)` or what is known of it, when `held`. */
  holder?: string;
}

/** Longest MySQL user-level lock name. */
const MAX_NAME = 64;

/**
 * The lock name of a role, regime and target database: `scrape:<regime>:<db>`, hashed when
 * longer than MySQL's 64 characters (the lock namespace is server-wide, hence the database).
 */
export function regimeLockName(role: LockRole, regime: string, targetDb: string): string {
  const name = `${role}:${regime}:${targetDb}`;
  if (name.length <= MAX_NAME) return name;
  const hash = crypto.createHash('sha256').update(name).digest('hex').slice(0, 24);
  return `${name.slice(0, MAX_NAME - hash.length - 1)}#${hash}`;
}

/** SQLite: the lock database next to the target file (`<db>.scrape-<regime>.lock`). */
export function sqliteLockFile(targetFile: string, role: LockRole, regime: string): string {
  return `${targetFile}.${role}-${regime.replace(/[^A-Za-z0-9_.-]/g, '_')}.lock`;
}

/** This process, as a lock holder is described. */
function selfDescription(): string {
  return `${os.hostname()} pid ${process.pid}`;
}

function isBusy(err: unknown): boolean {
  const code = (err as { code?: string }).code ?? '';
  return code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED');
}

/** Knobs of `RegimeLock.acquire`. */
export interface AcquireOptions {
  /** Wait for the holder to go away instead of failing with LOCK_HELD. */
  standby?: boolean;
  /** Poll period while standing by (default 1 s). */
  pollMs?: number;
  clock?: Clock;
  /** Stops standing by (then `acquire` throws LOCK_HELD). */
  signal?: AbortSignal;
  /** Called once when standing by starts, with the holder. */
  onStandby?: (holder: string) => void;
}

/**
 * Single writer per regime, role and target. MySQL/MariaDB: `GET_LOCK` on a dedicated
 * connection held for the whole run (the server releases it when the connection drops, e.g. the
 * process is killed), with the holder recorded best-effort in `SCRAPE_LOCKS` (created, except in a
 * production database, where only an existing one is used). SQLite: an
 * exclusive transaction held on a small lock database next to the target (the OS releases the
 * file lock when the process dies), with the holder in a `.holder` text file beside it.
 */
export class RegimeLock {
  private conn?: mysql.Connection;
  private sqlite?: Database.Database;
  private lost = false;

  private constructor(
    readonly name: string,
    private readonly location: DatabaseLocation,
    private readonly lockFile: string | undefined,
    /** This process as recorded for others (host, pid, connection). */
    public holder: string,
  ) {}

  /** The lock of `regime` for `role` on the target at `location`, not yet acquired. */
  static for(location: DatabaseLocation, role: LockRole, regime: string): RegimeLock {
    if (location.dialect === 'sqlite') {
      const file = location.filename ?? ':memory:';
      const lockFile = file === ':memory:' ? undefined : sqliteLockFile(file, role, regime);
      return new RegimeLock(regimeLockName(role, regime, path.basename(file)), location, lockFile, selfDescription());
    }
    return new RegimeLock(regimeLockName(role, regime, location.database ?? ''), location, undefined, selfDescription());
  }

  /** Takes the lock without waiting; false when someone else holds it. */
  async tryAcquire(): Promise<boolean> {
    if (this.location.dialect === 'sqlite') return this.tryAcquireSqlite();
    if (!this.conn) {
      this.conn = await mysql.createConnection({
        host: this.location.socket ? undefined : this.location.host,
        port: this.location.port,
        user: this.location.user,
        password: this.location.password,
        database: this.location.database,
        socketPath: this.location.socket,
        enableKeepAlive: true,
        keepAliveInitialDelay: KEEPALIVE_AFTER_MS,
      });
      this.conn.on('error', () => (this.lost = true));
      this.conn.on('end', () => (this.lost = true));
    }
    const [rows] = await this.conn.query('SELECT GET_LOCK(?, 0) AS got, CONNECTION_ID() AS id', [this.name]);
    const row = (rows as Array<{ got: number | null; id: number }>)[0];
    if (Number(row.got) !== 1) return false;
    const who = `${this.holder} (connection ${row.id})`;
    this.holder = who;
    try {
      // never a table of scrape's own in a production database: there the holder is recorded
      // only when the administrators made SCRAPE_LOCKS (otherwise this REPLACE fails, ignored)
      if (!this.location.production) {
        await this.conn.query(
          'CREATE TABLE IF NOT EXISTS SCRAPE_LOCKS (name VARCHAR(64) NOT NULL PRIMARY KEY, holder VARCHAR(255) NOT NULL, since DATETIME NOT NULL)',
        );
      }
      await this.conn.query('REPLACE INTO SCRAPE_LOCKS (name, holder, since) VALUES (?, ?, UTC_TIMESTAMP())', [this.name, who]);
    } catch {
      // Best effort: status then names the connection id only.
    }
    return true;
  }

  private tryAcquireSqlite(): boolean {
    if (!this.lockFile) return true; // an in-memory target is private to this process
    if (!this.sqlite) {
      this.sqlite = new Database(this.lockFile, { timeout: 0 });
    }
    try {
      this.sqlite.exec('BEGIN EXCLUSIVE');
    } catch (err) {
      if (isBusy(err)) return false;
      throw new ScrapeError('LOCK_ERROR', `cannot lock ${this.lockFile}: ${(err as Error).message}`, { cause: err });
    }
    try {
      fs.writeFileSync(`${this.lockFile}.holder`, `${this.holder}\n`);
    } catch {
      // Best effort, as on MySQL.
    }
    return true;
  }

  /**
   * Takes the lock. Held by someone else: throws `LOCK_HELD` naming the holder, or with
   * `standby` polls until the holder goes away (its connection drops, its process dies).
   */
  async acquire(what: string, options: AcquireOptions = {}): Promise<void> {
    const clock = options.clock ?? systemClock;
    let announced = false;
    for (;;) {
      if (await this.tryAcquire()) return;
      // the holder is named once (standing by) or in the error: only then is its record waited for
      const named = !options.standby || options.signal?.aborted || !announced;
      const holder = named ? await this.currentHolder(clock, options.signal) : '';
      if (!options.standby || options.signal?.aborted) {
        await this.release();
        throw new ScrapeError('LOCK_HELD', `${what} is locked by ${holder}`, { transient: true });
      }
      if (!announced) {
        options.onStandby?.(holder);
        announced = true;
      }
      await clock.sleep(options.pollMs ?? 1000, options.signal);
    }
  }

  /**
   * Who holds the lock now (for messages), as far as can be told. A holder records itself just
   * after taking the lock, so a record not there yet is waited for (20 × 100 ms) before the
   * message falls back to a bare connection id.
   */
  async currentHolder(clock: Clock = systemClock, signal?: AbortSignal): Promise<string> {
    for (let i = 0; ; i++) {
      const { holder, recorded } = await this.readHolder();
      if (recorded || i >= 20 || signal?.aborted) return holder;
      await clock.sleep(100, signal);
    }
  }

  /** The holder's description and whether it is the holder's own record (not a fallback). */
  private async readHolder(): Promise<{ holder: string; recorded: boolean }> {
    if (this.location.dialect === 'sqlite') {
      const file = readHolderFile(this.lockFile);
      return { holder: file ?? 'another process', recorded: file !== undefined };
    }
    if (!this.conn) return { holder: 'another connection', recorded: true };
    const [rows] = await this.conn.query('SELECT IS_USED_LOCK(?) AS id', [this.name]);
    const id = (rows as Array<{ id: number | null }>)[0]?.id;
    const recorded = await this.recordedHolder(this.conn);
    return { holder: describeMysqlHolder(id, recorded), recorded: id == null || (recorded?.includes(`(connection ${id})`) ?? false) };
  }

  private async recordedHolder(conn: mysql.Connection): Promise<string | undefined> {
    try {
      const [rows] = await conn.query('SELECT holder FROM SCRAPE_LOCKS WHERE name = ?', [this.name]);
      return (rows as Array<{ holder: string }>)[0]?.holder;
    } catch {
      return undefined;
    }
  }

  /**
   * Whether this process still holds the lock. MySQL: the dedicated connection is alive and
   * `IS_USED_LOCK(name) = CONNECTION_ID()`. Cheap; call it every few seconds.
   */
  async stillHeld(): Promise<boolean> {
    if (this.location.dialect === 'sqlite') return !this.lockFile || (!!this.sqlite?.open && this.sqlite.inTransaction);
    if (!this.conn || this.lost) return false;
    try {
      const [rows] = await this.conn.query('SELECT IS_USED_LOCK(?) = CONNECTION_ID() AS mine', [this.name]);
      return Number((rows as Array<{ mine: number | null }>)[0]?.mine) === 1;
    } catch {
      this.lost = true;
      return false;
    }
  }

  /** Releases the lock and closes its connection (idempotent). */
  async release(): Promise<void> {
    if (this.sqlite) {
      try {
        if (this.sqlite.inTransaction) {
          try {
            fs.rmSync(`${this.lockFile}.holder`, { force: true });
          } catch {
            // ignore
          }
          this.sqlite.exec('ROLLBACK');
        }
      } finally {
        this.sqlite.close();
        this.sqlite = undefined;
      }
    }
    if (this.conn) {
      const conn = this.conn;
      this.conn = undefined;
      try {
        await conn.query('DELETE FROM SCRAPE_LOCKS WHERE name = ? AND holder = ?', [this.name, this.holder]).catch(() => undefined);
        await conn.query('SELECT RELEASE_LOCK(?)', [this.name]);
        await conn.end();
      } catch {
        conn.destroy();
      }
    }
  }
}

function readHolderFile(lockFile: string | undefined): string | undefined {
  if (!lockFile) return undefined;
  try {
    return fs.readFileSync(`${lockFile}.holder`, 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

function describeMysqlHolder(id: number | null | undefined, recorded: string | undefined): string {
  if (id == null) return recorded ?? 'another process';
  if (recorded && recorded.includes(`(connection ${id})`)) return recorded;
  return `connection ${id}`;
}

/**
 * Whether a lock is held and by whom, read through an ordinary connection to the target (for
 * `scrape status`). SQLite probes the lock database without keeping it.
 */
export async function lockStatus(target: Knex, role: LockRole, regime: string): Promise<RegimeLockState> {
  const config = target.client.config as { connection: { filename?: string; database?: string } };
  if (dialectOf(target) === 'sqlite') {
    const file = config.connection.filename ?? ':memory:';
    if (file === ':memory:') return { held: false };
    const lockFile = sqliteLockFile(file, role, regime);
    if (!fs.existsSync(lockFile)) return { held: false };
    const probe = new Database(lockFile, { timeout: 0 });
    try {
      probe.exec('BEGIN EXCLUSIVE');
      probe.exec('ROLLBACK');
      return { held: false };
    } catch (err) {
      if (!isBusy(err)) throw err;
      return { held: true, holder: readHolderFile(lockFile) ?? 'another process' };
    } finally {
      probe.close();
    }
  }
  const name = regimeLockName(role, regime, config.connection.database ?? '');
  const rows = (await rawRows(target, 'SELECT IS_USED_LOCK(?) AS id', [name])) as Array<{ id: number | null }>;
  const id = rows[0]?.id;
  if (id == null) return { held: false };
  let recorded: string | undefined;
  try {
    recorded = (await target('SCRAPE_LOCKS').where({ name }).first('holder'))?.holder;
  } catch {
    recorded = undefined;
  }
  return { held: true, holder: describeMysqlHolder(id, recorded) };
}
