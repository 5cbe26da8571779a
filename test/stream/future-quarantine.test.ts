import { ManualClock } from '../../engine/core/clock';
import { MemoryLogger } from '../../engine/core/logger';
import { loadRegime } from '../../engine/config/load-regime';
import { futureHorizon, regimeHorizon } from '../../engine/source/future-horizon';
import { SourceReader } from '../../engine/source/source-reader';
import { discoverStreams } from '../../engine/source/source-stream';
import { FutureQuarantine, QUARANTINE_CHECK_MS } from '../../engine/stream/quarantine';
import { DIALECTS, createTestDatabase, TestDatabase } from '../support/databases';
import { ADTEMP_YAML, fillAdTempSource, ROOT } from '../ops/ops-support';

const loaded = loadRegime(ADTEMP_YAML, { cwd: ROOT, env: {} });
const TABLE = 'DBNS_SAB_Temp';
const MINUTE = 60_000;

describe('futureHorizon', () => {
  it('is the wall clock plus the limit, as source-local text in the zone, whole seconds', () => {
    // 2011-02-01 00:00:00.999 UTC + 1 d = 2011-02-02 00:00:00 UTC = 08:00 in Shanghai (UTC + 8 h, no DST)
    expect(futureHorizon(Date.UTC(2011, 1, 1, 0, 0, 0, 999), 86_400_000, 'Asia/Shanghai')).toBe('2011-02-02 08:00:00');
    // Geneva in summer is UTC + 2 h
    expect(futureHorizon(Date.UTC(2011, 6, 1, 12), 3_600_000, 'Europe/Zurich')).toBe('2011-07-01 15:00:00');
  });
});

describe.each(DIALECTS)('FutureQuarantine on %s', (dialect) => {
  let source: TestDatabase;
  beforeAll(async () => {
    source = await createTestDatabase(dialect, 'fake_quarantine_src');
    await fillAdTempSource(source.db, 50, 3); // 2011-02-01 00:00:00 to 00:08:10 local
  });
  afterAll(async () => {
    await source?.drop();
  });

  it('counts at most once per check period, warns when the count or first row changes, says when none is left', async () => {
    // 2011-02-01 00:00 UTC = 08:00 local: the horizon is 2011-02-02 08:00:00 local
    const clock = new ManualClock(Date.UTC(2011, 1, 1));
    const logger = new MemoryLogger();
    const [stream] = await discoverStreams(source.db, loaded.regime);
    const reader = new SourceReader(source.db, stream, 10, { horizon: regimeHorizon(loaded.regime, clock) });
    const counts: number[] = [];
    const q = new FutureQuarantine(reader, TABLE, logger, clock, '1d');
    q.onCount = (n) => counts.push(n);

    await q.check(true);
    expect([q.count, q.first, counts]).toEqual([0, undefined, [0]]);
    expect(logger.lines).toEqual([]);

    await source.db(TABLE).where({ id: 20 }).update({ date_time: '2011-02-02 08:07:00' }); // past the horizon
    await source.db(TABLE).where({ id: 30 }).update({ date_time: '2011-02-02 08:00:00' }); // on the horizon: read
    clock.advance(QUARANTINE_CHECK_MS - 1000); // not due yet: nothing asked
    await q.check();
    expect(counts).toEqual([0]);
    // the reader reads the row on the horizon and stops before the one past it
    const ids = (await reader.readPage('2010-01-01 00:00:00', { date_time: '2011-02-01 00:08:00', id: 49 })).rows.map((r) => r.id);
    expect(ids).toEqual([50, 30]);

    clock.advance(1000); // due; the horizon is now 08:05:00
    await q.check();
    expect([q.count, q.first, counts]).toEqual([1, { id: 20, date_time: '2011-02-02 08:07:00' }, [0, 1]]);
    expect(logger.messages('warn')).toEqual([
      `${TABLE}: 1 entry dated more than future_limit 1d ahead of the wall clock (after 2011-02-02 08:05:00 local) quarantined: not read until the clock reaches them; first id 20 at 2011-02-02 08:07:00`,
    ]);

    // two rows far in the future; five minutes on, the one at 08:07:00 is within the horizon (08:10:00)
    await source.db(TABLE).where({ id: 25 }).update({ date_time: '2100-01-01 00:00:00' });
    await source.db(TABLE).where({ id: 26 }).update({ date_time: '2100-01-01 00:00:00' });
    clock.advance(QUARANTINE_CHECK_MS);
    await q.check();
    expect([q.count, q.first]).toEqual([2, { id: 25, date_time: '2100-01-01 00:00:00' }]);
    expect(logger.messages('warn')[1]).toBe(
      `${TABLE}: 2 entries dated more than future_limit 1d ahead of the wall clock (after 2011-02-02 08:10:00 local) quarantined: not read until the clock reaches them; first id 25 at 2100-01-01 00:00:00`,
    );
    expect(await reader.latestTime()).toBe('2011-02-02 08:07:00');

    // unchanged: counted again (the gauge), not warned again
    for (let k = 0; k < 3; k++) {
      clock.advance(QUARANTINE_CHECK_MS);
      await q.check();
    }
    expect(counts).toEqual([0, 1, 2, 2, 2, 2]);
    expect(logger.messages('warn')).toHaveLength(2);

    // released: the clock within a day of 2100-01-01 00:00 local (2099-12-31 16:00 UTC)
    const release = Date.UTC(2099, 11, 30, 16);
    clock.advance(release - clock.now());
    await q.check();
    expect([q.count, q.first]).toEqual([0, undefined]);
    expect(logger.messages('info')).toEqual([`${TABLE}: no entry dated after 2100-01-01 00:00:00 local any more: quarantined entries released`]);
    expect(await reader.latestTime()).toBe('2100-01-01 00:00:00');
    expect(logger.messages('warn')).toHaveLength(2);
  });

  it('a reader without a horizon reads every row and counts none', async () => {
    const [stream] = await discoverStreams(source.db, loaded.regime);
    const reader = new SourceReader(source.db, stream, 100);
    expect(await reader.beyondHorizon()).toBeUndefined();
    expect((await reader.readPage('2010-01-01 00:00:00')).rows).toHaveLength(50);
  });
});
