import { ManualClock } from '../../engine/core/clock';
import { ScrapeError } from '../../engine/core/errors';
import { MemoryLogger } from '../../engine/core/logger';
import { isTransientError } from '../../engine/db/transient-error';
import { RetryGuard, backoffDelay } from '../../engine/db/retry-guard';

const coded = (code: string, message = code) => Object.assign(new Error(message), { code });

describe('isTransientError', () => {
  it('lost, refused, reset connections, timeouts, deadlocks and busy files are transient', () => {
    for (const code of ['PROTOCOL_CONNECTION_LOST', 'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ER_LOCK_DEADLOCK', 'SQLITE_BUSY']) {
      expect([code, isTransientError(coded(code))]).toEqual([code, true]);
    }
    expect(isTransientError(new Error('Knex: Timeout acquiring a connection. The pool is probably full.'))).toBe(true);
    expect(isTransientError(new ScrapeError('LOCK_LOST', 'lost', { transient: true }))).toBe(true);
    // a Galera node not ready (error 1047 as MariaDB Galera words it)
    expect(isTransientError(coded('ER_UNKNOWN_COM_ERROR', 'WSREP has not yet prepared node for application use'))).toBe(true);
    // Wrapped: the cause decides.
    expect(isTransientError(new ScrapeError('DBI_WRITE', 'write failed', { cause: coded('ECONNRESET') }))).toBe(true);
  });

  it('config errors and bugs are not', () => {
    expect(isTransientError(new ScrapeError('REGIME_COLUMN', 'no such column'))).toBe(false);
    expect(isTransientError(coded('ER_NO_SUCH_TABLE', "Table 'x' doesn't exist"))).toBe(false);
    expect(isTransientError(coded('ER_PARSE_ERROR'))).toBe(false);
    expect(isTransientError(new TypeError('x is undefined'))).toBe(false);
  });
});

describe('RetryGuard', () => {
  it('backs off 0.5 s doubling to a 30 s cap (jitter at its top) and logs one line per state change', async () => {
    const clock = new ManualClock(0);
    const logger = new MemoryLogger();
    const guard = new RetryGuard(logger, clock, { random: () => 1 });
    const waits: number[] = [];
    for (let i = 0; i < 9; i++) {
      const t = clock.now();
      await guard.failed(coded('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:3306'));
      waits.push(clock.now() - t);
    }
    expect(waits).toEqual([500, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);
    guard.ok();
    guard.ok();
    // 0.5+1+2+4+8+16+30+30+30 = 121.5 s; the code is not repeated when the message names it.
    expect(logger.messages()).toEqual(['database connection lost: connect ECONNREFUSED 127.0.0.1:3306, retrying', 'database connection back after 121.5 s, 9 retries']);
    // The next outage starts from 0.5 s again (at most).
    const t = clock.now();
    await guard.failed(coded('ECONNRESET'));
    expect(clock.now() - t).toBe(500);
    expect(guard.retries).toBe(10);
  });

  it('a backoff sleep ends at once when the signal aborts (SIGTERM)', async () => {
    const guard = new RetryGuard(new MemoryLogger(), { now: () => Date.now(), sleep: (ms, signal) => new Promise((r) => { const t = setTimeout(r, ms); signal?.addEventListener('abort', () => { clearTimeout(t); r(); }); }) }, { initialMs: 60_000 });
    const abort = new AbortController();
    const t0 = Date.now();
    const p = guard.failed(coded('ECONNRESET'), abort.signal);
    abort.abort();
    await p;
    expect(Date.now() - t0).toBeLessThan(1000);
  });
});

describe('backoff jitter', () => {
  // the capped doubling by hand: 0.5, 1, 2, 4, 8, 16, then 30 s
  const BASES = [500, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000, 30000];

  it('each wait is drawn between half and all of the capped doubling delay', () => {
    for (const [i, base] of BASES.entries()) {
      const draws = Array.from({ length: 200 }, () => backoffDelay(i + 1));
      for (const d of draws) {
        expect(d).toBeGreaterThanOrEqual(base / 2);
        expect(d).toBeLessThanOrEqual(base);
      }
      // spread out, not one value: processes cut off together do not come back in step
      expect(new Set(draws).size).toBeGreaterThan(20);
    }
  });

  it('the ends of the range: a draw of 0 waits half, a draw of 1 the whole delay', () => {
    expect(BASES.map((_, i) => backoffDelay(i + 1, { random: () => 0 }))).toEqual([250, 500, 1000, 2000, 4000, 8000, 15000, 15000, 15000, 15000]);
    expect(BASES.map((_, i) => backoffDelay(i + 1, { random: () => 1 }))).toEqual(BASES);
    expect(backoffDelay(3, { initialMs: 100, maxMs: 300, random: () => 0.5 })).toBe(225); // base min(300, 400) = 300: 150 + 75
  });

  it('an outage logs "still unreachable" every 5 minutes, and one longer than giveUpAfterMs throws its coded error', async () => {
    const clock = new ManualClock(0);
    const logger = new MemoryLogger();
    const guard = new RetryGuard(logger, clock, { random: () => 1 });
    while (clock.now() < 11 * 60_000) await guard.failed(coded('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:1'));
    expect(logger.messages('warn')).toEqual([
      'database connection lost: connect ECONNREFUSED 127.0.0.1:1, retrying',
      // waits 0.5+1+2+4+8+16 = 31.5 s, then 30 s each: 5 min is passed at 301.5 s, 10 min at 601.5 s
      'database still unreachable for 5 min: connect ECONNREFUSED 127.0.0.1:1; retrying',
      'database still unreachable for 10 min: connect ECONNREFUSED 127.0.0.1:1; retrying',
    ]);

    const c = new ManualClock(0);
    const bounded = new RetryGuard(new MemoryLogger(), c, { random: () => 1, giveUpAfterMs: 30_000 });
    let thrown: unknown;
    try {
      for (;;) await bounded.failed(coded('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:1'));
    } catch (err) {
      thrown = err;
    }
    // 0.5+1+2+4+8 = 15.5 s, the sixth wait cut to the 14.5 s left: the failure at 30 s gives up
    expect(c.now()).toBe(30_000);
    expect(thrown).toBeInstanceOf(ScrapeError);
    expect(thrown).toMatchObject({ code: 'DB_UNREACHABLE' });
    expect((thrown as ScrapeError).hint).toMatch(/server is running/);
  });
});
