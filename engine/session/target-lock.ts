import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import Database from 'better-sqlite3';
import * as mysql from 'mysql2/promise';
import { Knex } from 'knex';
import { Clock, systemClock } from '../core/clock';
import { KEEPALIVE_AFTER_MS, MYSQL_PREPARED_STATEMENTS } from '../db/open-database';
import { DatabaseLocation } from '../config/dbconf';
import { ScrapeError } from '../core/errors';
import { dialectOf, rawRows } from '../db/dialect';

/** One (target table, DBI context) a writer appends to: the unit the writer lock covers. */
export interface LockScope {
  /** The target payload table (the spec's table). */
  table: string;
  context: { sitemask: number; subsite: number; simmask: number; task: number; aggregateno: number };
}

/** Who holds a lock, as `lockStatus` reads it. */
export interface TargetLockState {
  held: boolean;
  /** `host pid N (connection C)` or what is known of it, when `held`. */
  holder?: string;
}

/** Longest MySQL user-level lock name. */
const MAX_NAME = 64;

/** `<table>:<sitemask>:<subsite>:<simmask>:<task>:<aggregateno>`: a scope as text. */
export function scopeKey(scope: LockScope): string {
  const c = scope.context;
  return `${scope.table}:${c.sitemask}:${c.subsite}:${c.simmask}:${c.task}:${c.aggregateno}`;
}

/**
 * The MySQL lock name of a scope on a target database: `scrape:<db>:<table>:<context>`, hashed
 * when longer than MySQL's 64 characters (the lock namespace is server-wide, hence the database).
 * The same for the scraper and the averager, and for every regime: whoever writes a (table,
 * context) takes this one lock.
 */
export function scopeLockName(targetDb: string, scope: LockScope): string {
  const name = `scrape:${targetDb}:${scopeKey(scope)}`;
  if (name.length <= MAX_NAME) return name;
  const hash = crypto.createHash('sha256').update(name).digest('hex').slice(0, 24);
  return `${name.slice(0, MAX_NAME - hash.length - 1)}#${hash}`;
}

/** SQLite: the lock file of a scope, in the folder `<target>.locks` beside the target file. */
export function sqliteLockFile(targetFile: string, scope: LockScope): string {
  return path.join(`${targetFile}.locks`, `${scopeKey(scope).replace(/[^A-Za-z0-9_.-]/g, '_')}.lock`);
}

/** This process, as a lock holder is described. */
function selfDescription(): string {
  return `${os.hostname()} pid ${process.pid}`;
}

function isBusy(err: unknown): boolean {
  const code = (err as { code?: string }).code ?? '';
  return code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED');
}

/** Knobs of `TargetLock.acquire`. */
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
 * The writer lock of a set of (target table, context) scopes: taken whole or not at all, so two
 * writers of one (table, context) — a scraper and an averager, two regimes, two copies of one —
 * cannot run side by side, while writers of disjoint contexts can. A courtesy to operators (who
 * holds it, `--standby`): exactly once is the target's fence, whatever this lock does.
 * MySQL/MariaDB: one `GET_LOCK` per scope on a dedicated connection held for the whole run (the
 * server releases them when the connection drops), the holder recorded best-effort in
 * `SCRAPE_LOCKS` (created, except in a production database, where only an existing one is used).
 * SQLite: an exclusive transaction on a small lock database per scope in `<target>.locks/` (the
 * OS releases it when the process dies), the holder in a `.holder` text file beside each.
 */
export class TargetLock {
  private conn?: mysql.Connection;
  /** SQLite: the open lock database of each lock file, with the identity of the file it opened. */
  private readonly sqlite = new Map<string, { db: Database.Database; id: FileIdentity }>();
  private lost = false;
  /** The scope whose lock another process held at the last failed attempt. */
  private contested = 0;

  private constructor(
    /** One lock name (MySQL) or lock file (SQLite) per scope, sorted: always taken in this order. */
    readonly names: string[],
    readonly scopes: LockScope[],
    private readonly location: DatabaseLocation,
    /** This process as recorded for others (host, pid, connection). */
    public holder: string,
  ) {}

  /** The lock of `scopes` on the target at `location`, not yet acquired. */
  static for(location: DatabaseLocation, scopes: LockScope[]): TargetLock {
    if (scopes.length === 0) throw new Error('a target lock needs at least one scope');
    const file = location.filename ?? ':memory:';
    const nameOf = (s: LockScope) => (location.dialect === 'sqlite' ? sqliteLockFile(file, s) : scopeLockName(location.database ?? '', s));
    const pairs = [...new Map(scopes.map((s) => [nameOf(s), s])).entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    const inMemory = location.dialect === 'sqlite' && file === ':memory:';
    return new TargetLock(inMemory ? [] : pairs.map(([n]) => n), pairs.map(([, s]) => s), location, selfDescription());
  }

  /** A short name for messages: the one scope's key, or the first and how many more. */
  get name(): string {
    const keys = this.scopes.map(scopeKey);
    return keys.length === 1 ? keys[0] : `${keys[0]} and ${keys.length - 1} more`;
  }

  /** Takes every scope's lock without waiting; false (holding none) when another process holds one. */
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
        maxPreparedStatements: MYSQL_PREPARED_STATEMENTS,
      });
      const conn = this.conn;
      this.lost = false;
      // a connection released earlier (`release`) must not mark this one lost
      conn.on('error', () => this.conn === conn && (this.lost = true));
      conn.on('end', () => this.conn === conn && (this.lost = true));
    }
    let id = 0;
    for (const [i, name] of this.names.entries()) {
      const [rows] = await this.conn.query('SELECT GET_LOCK(?, 0) AS got, CONNECTION_ID() AS id', [name]);
      const row = (rows as Array<{ got: number | null; id: number }>)[0];
      id = row.id;
      if (Number(row.got) !== 1) {
        this.contested = i;
        for (const taken of this.names.slice(0, i)) await this.conn.query('SELECT RELEASE_LOCK(?)', [taken]);
        return false;
      }
    }
    const who = `${selfDescription()} (connection ${id})`;
    this.holder = who;
    try {
      // never a table of scrape's own in a production database: there the holder is recorded
      // only when the administrators made SCRAPE_LOCKS (otherwise this REPLACE fails, ignored)
      if (!this.location.production) {
        await this.conn.query(
          'CREATE TABLE IF NOT EXISTS SCRAPE_LOCKS (name VARCHAR(64) NOT NULL PRIMARY KEY, holder VARCHAR(255) NOT NULL, since DATETIME NOT NULL)',
        );
      }
      const values = this.names.map(() => '(?, ?, UTC_TIMESTAMP())').join(', ');
      await this.conn.query(`REPLACE INTO SCRAPE_LOCKS (name, holder, since) VALUES ${values}`, this.names.flatMap((n) => [n, who]));
    } catch {
      // Best effort: status then names the connection id only.
    }
    return true;
  }

  private tryAcquireSqlite(): boolean {
    if (this.names.length === 0) return true; // an in-memory target is private to this process
    for (const [i, file] of this.names.entries()) {
      let got: boolean;
      try {
        got = this.lockSqliteFile(file);
      } catch (err) {
        for (const taken of this.names.slice(0, i)) this.releaseSqlite(taken);
        throw new ScrapeError('LOCK_ERROR', `cannot lock ${file}: ${(err as Error).message}`, {
          cause: err,
          hint: `check that this user may create and write files in ${path.dirname(path.dirname(file))}`,
        });
      }
      if (!got) {
        for (const taken of this.names.slice(0, i)) this.releaseSqlite(taken);
        this.contested = i;
        return false;
      }
    }
    for (const file of this.names) {
      try {
        fs.writeFileSync(`${file}.holder`, `${this.holder}\n`);
      } catch {
        // Best effort, as on MySQL.
      }
    }
    return true;
  }

  /**
   * Takes the lock. Held by someone else: throws `LOCK_HELD` naming the holder and the contested
   * (table, context), or with `standby` polls until the holder goes away (its connection drops,
   * its process dies).
   */
  async acquire(what: string, options: AcquireOptions = {}): Promise<void> {
    const clock = options.clock ?? systemClock;
    let announced = false;
    for (;;) {
      if (await this.tryAcquire()) return;
      // the holder is named once (standing by) or in the error: only then is its record waited for
      const named = !options.standby || options.signal?.aborted || !announced;
      const holder = named ? `${await this.currentHolder(clock, options.signal)}, which writes ${this.describeContested()}` : '';
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

  private describeContested(): string {
    const s = this.scopes[this.contested] ?? this.scopes[0];
    const c = s.context;
    return `${s.table} {sitemask: ${c.sitemask}, subsite: ${c.subsite}, simmask: ${c.simmask}, task: ${c.task}, aggregateno: ${c.aggregateno}}`;
  }

  /**
   * Who holds the contested lock now (for messages), as far as can be told. A holder records
   * itself just after taking the lock, so a record not there yet is waited for (20 × 100 ms)
   * before the message falls back to a bare connection id.
   */
  async currentHolder(clock: Clock = systemClock, signal?: AbortSignal): Promise<string> {
    for (let i = 0; ; i++) {
      const { holder, recorded } = await this.readHolder(this.names[this.contested] ?? this.names[0]);
      if (recorded || i >= 20 || signal?.aborted) return holder;
      await clock.sleep(100, signal);
    }
  }

  /** The holder's description and whether it is the holder's own record (not a fallback). */
  private async readHolder(name: string | undefined): Promise<{ holder: string; recorded: boolean }> {
    if (this.location.dialect === 'sqlite') {
      const file = readHolderFile(name);
      return { holder: file ?? 'another process', recorded: file !== undefined };
    }
    if (!this.conn || name === undefined) return { holder: 'another connection', recorded: true };
    const [rows] = await this.conn.query('SELECT IS_USED_LOCK(?) AS id', [name]);
    const id = (rows as Array<{ id: number | null }>)[0]?.id;
    const recorded = await recordedHolder((sql, params) => this.conn!.query(sql, params).then(([r]) => r as Array<{ holder: string }>), name);
    return { holder: describeMysqlHolder(id, recorded), recorded: id == null || (recorded?.includes(`(connection ${id})`) ?? false) };
  }

  /**
   * Whether this process still holds every scope's lock. MySQL: the dedicated connection is alive
   * and `IS_USED_LOCK(name) = CONNECTION_ID()` for each. Cheap; call it every few seconds.
   */
  async stillHeld(): Promise<boolean> {
    if (this.location.dialect === 'sqlite') return this.names.every((f) => !!this.sqlite.get(f)?.db.open && this.sqlite.get(f)!.db.inTransaction);
    if (!this.conn || this.lost) return false;
    try {
      const all = this.names.map(() => 'IS_USED_LOCK(?) <=> CONNECTION_ID()').join(' AND ');
      const [rows] = await this.conn.query(`SELECT ${all} AS mine`, this.names);
      return Number((rows as Array<{ mine: number | null }>)[0]?.mine) === 1;
    } catch {
      this.lost = true;
      return false;
    }
  }

  /**
   * Takes the lock of one lock file: true when held, false when another process holds it. The
   * file (and its folder `<target>.locks`) is created when missing. A holder removes its lock
   * file when it releases it, while still holding it, so a lock taken on a file that is no longer
   * the one at its path (removed or replaced meanwhile) locks nothing: it is dropped and the file
   * at the path opened afresh.
   */
  private lockSqliteFile(file: string): boolean {
    for (let attempt = 0; ; attempt++) {
      try {
        let open = this.sqlite.get(file);
        if (!open) {
          open = openLockFile(file);
          this.sqlite.set(file, open);
        }
        let error: unknown;
        try {
          beginExclusive(open.db);
        } catch (err) {
          if (isBusy(err)) return false;
          error = err; // SQLite refuses to lock a file removed while open (disk I/O error)
        }
        if (sameFile(identityOf(file), open.id)) {
          if (error) throw error;
          return true;
        }
        this.closeSqlite(file);
      } catch (err) {
        // the folder or the file went away between two steps (its last holder cleaned up): again
        this.closeSqlite(file);
        if (attempt >= 20 || !vanished(err)) throw err;
      }
      if (attempt >= 20) throw new Error('the lock file keeps being replaced');
    }
  }

  private closeSqlite(file: string): void {
    const open = this.sqlite.get(file);
    if (!open) return;
    this.sqlite.delete(file);
    try {
      if (open.db.inTransaction) open.db.exec('ROLLBACK');
    } catch {
      // ignore: closing releases it all the same
    } finally {
      open.db.close();
    }
  }

  /**
   * Releases one lock file. Held: its `.holder` and the lock file itself are removed first, while
   * the lock is still ours (nobody else can hold it then, and whoever waits on the old file finds
   * it gone and opens a new one), then the folder `<target>.locks` when nothing else is in it.
   * A file another process holds is never removed: this process only removes what it holds.
   */
  private releaseSqlite(file: string): void {
    const open = this.sqlite.get(file);
    if (!open) return;
    const held = open.db.inTransaction;
    if (held && sameFile(identityOf(file), open.id)) {
      try {
        fs.rmSync(`${file}.holder`, { force: true });
        fs.rmSync(file, { force: true });
      } catch {
        // best effort: a file left behind is reused by the next holder
      }
    }
    this.closeSqlite(file);
    if (held) {
      try {
        fs.rmdirSync(path.dirname(file));
      } catch {
        // not empty (other tables, contexts or holders), or gone already
      }
    }
  }

  /** Releases every scope's lock and closes its connection (idempotent). */
  async release(): Promise<void> {
    for (const file of [...this.sqlite.keys()]) this.releaseSqlite(file);
    if (this.conn) {
      const conn = this.conn;
      this.conn = undefined;
      try {
        const names = this.names.map(() => '?').join(', ');
        await conn.query(`DELETE FROM SCRAPE_LOCKS WHERE name IN (${names}) AND holder = ?`, [...this.names, this.holder]).catch(() => undefined);
        for (const name of this.names) await conn.query('SELECT RELEASE_LOCK(?)', [name]);
        await conn.end();
      } catch {
        conn.destroy();
      }
    }
  }
}

/** What tells two files apart: device, inode and birth time (an inode number can be reused). */
interface FileIdentity {
  dev: number;
  ino: number;
  birth: number;
}

/** The identity of the file at `file` now, or undefined when there is none. */
function identityOf(file: string): FileIdentity | undefined {
  try {
    const st = fs.statSync(file);
    return { dev: st.dev, ino: st.ino, birth: st.birthtimeMs };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

function sameFile(a: FileIdentity | undefined, b: FileIdentity | undefined): boolean {
  return !!a && !!b && a.dev === b.dev && a.ino === b.ino && a.birth === b.birth;
}

/**
 * Opens the lock database at `file`, creating the file (and its folder, whose parent must exist)
 * when missing, with the identity of the file it opened: the file at the path before and after
 * the open must be the same one, else it was swapped meanwhile and the open is tried again.
 */
function openLockFile(file: string): { db: Database.Database; id: FileIdentity } {
  for (let attempt = 0; ; attempt++) {
    try {
      fs.mkdirSync(path.dirname(file));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    fs.closeSync(fs.openSync(file, 'a'));
    const before = identityOf(file);
    const db = lockDatabase(file);
    const after = identityOf(file);
    if (sameFile(before, after)) return { db, id: after! };
    db.close();
    if (attempt >= 20) throw new Error('the lock file keeps being replaced');
  }
}

/** A connection to an existing lock file (never creating one). */
function lockDatabase(file: string): Database.Database {
  return new Database(file, { timeout: 0, fileMustExist: true });
}

/**
 * Takes the exclusive lock of a lock database, its journal kept in memory: a lock database is
 * never written, and a `-journal` file beside it would be one more file to clean up, and one that
 * a new lock file at the same path would take for a hot journal of its own. Throws SQLITE_BUSY
 * when another connection holds it (the journal mode cannot even be set then).
 */
function beginExclusive(db: Database.Database): void {
  if (db.pragma('journal_mode', { simple: true }) !== 'memory') db.pragma('journal_mode = MEMORY');
  db.exec('BEGIN EXCLUSIVE');
}

/** An error of a lock file or its folder that went away between two steps (retried). */
function vanished(err: unknown): boolean {
  const e = err as { code?: string; message?: string };
  return e?.code === 'ENOENT' || (e?.code ?? '').startsWith('SQLITE_CANTOPEN') || /directory does not exist|unable to open database file/i.test(e?.message ?? '');
}

function readHolderFile(lockFile: string | undefined): string | undefined {
  if (!lockFile) return undefined;
  try {
    return fs.readFileSync(`${lockFile}.holder`, 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

async function recordedHolder(query: (sql: string, params: string[]) => Promise<Array<{ holder: string }>>, name: string): Promise<string | undefined> {
  try {
    return (await query('SELECT holder FROM SCRAPE_LOCKS WHERE name = ?', [name]))[0]?.holder;
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
 * Whether the lock of one (table, context) is held and by whom, read through an ordinary
 * connection to the target (for `scrape status`). SQLite probes the lock file without keeping it.
 */
export async function lockStatus(target: Knex, scope: LockScope): Promise<TargetLockState> {
  const config = target.client.config as { connection: { filename?: string; database?: string } };
  if (dialectOf(target) === 'sqlite') {
    const file = config.connection.filename ?? ':memory:';
    if (file === ':memory:') return { held: false };
    const lockFile = sqliteLockFile(file, scope);
    if (!fs.existsSync(lockFile)) return { held: false };
    let probe: Database.Database;
    try {
      // never creates the file: a holder may have removed it since (released)
      probe = lockDatabase(lockFile);
    } catch (err) {
      if (vanished(err)) return { held: false };
      throw err;
    }
    try {
      beginExclusive(probe);
      probe.exec('ROLLBACK');
      return { held: false };
    } catch (err) {
      if (!isBusy(err)) throw err;
      return { held: true, holder: readHolderFile(lockFile) ?? 'another process' };
    } finally {
      probe.close();
    }
  }
  const name = scopeLockName(config.connection.database ?? '', scope);
  const rows = (await rawRows(target, 'SELECT IS_USED_LOCK(?) AS id', [name])) as Array<{ id: number | null }>;
  const id = rows[0]?.id;
  if (id == null) return { held: false };
  const recorded = await recordedHolder((sql, params) => rawRows(target, sql, params) as Promise<Array<{ holder: string }>>, name);
  return { held: true, holder: describeMysqlHolder(id, recorded) };
}
