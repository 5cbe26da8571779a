import { ManualClock } from '../../engine/core/clock';
import { ScrapeError } from '../../engine/core/errors';
import { MemoryLogger } from '../../engine/core/logger';
import { isTransientError } from '../../engine/db/transient-error';
import { RetryGuard } from '../../engine/stream/retry';

const coded = (code: string, message = code) => Object.assign(new Error(message), { code });

describe('isTransientError', () => {
  it('lost, refused, reset connections, timeouts, deadlocks and busy files are transient', () => {
    for (const code of ['PROTOCOL_CONNECTION_LOST', 'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ER_LOCK_DEADLOCK', 'SQLITE_BUSY']) {
      expect([code, isTransientError(coded(code))]).toEqual([code, true]);
    }
    expect(isTransientError(new Error('Knex: Timeout acquiring a connection. The pool is probably full.'))).toBe(true);
    expect(isTransientError(new ScrapeError('LOCK_LOST', 'lost', { transient: true }))).toBe(true);
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
  it('backs off 0.5 s doubling to a 30 s cap and logs one line per state change', async () => {
    const clock = new ManualClock(0);
    const logger = new MemoryLogger();
    const guard = new RetryGuard(logger, clock);
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
    // The next outage starts from 0.5 s again.
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
