import { DIALECTS, TestDatabase, createTestDatabase } from '../support/databases';
import { insertRows, localPlus } from '../support/source-fixture';
import { runCli } from '../support/cli';
import { QUANTITIES, createLidTable } from './lid-fixture';

// More averaged streams than the source pool has connections (MySQL: 4). Each stream used to keep
// its connection across its turns while catching up, so the fifth stream waited for one that
// never came back and the run failed after the connect timeout. adlid has eight tables.
const START = '2012-02-01 00:00:00';
const ROWS = 300; // a row every 10 minutes: 50 hours, three one-day chunks per stream

describe.each(DIALECTS)('averager with more streams than source connections on %s', (dialect) => {
  let source: TestDatabase;
  let target: TestDatabase;
  beforeAll(async () => {
    source = await createTestDatabase(dialect, 'fake_many_avg_src');
    target = await createTestDatabase(dialect, 'many_avg_tgt');
    for (let ad = 1; ad <= 8; ad++) {
      const table = `AD${ad}_LidSensor`;
      await createLidTable(source.db, table);
      const rows = Array.from({ length: ROWS }, (_, i) => ({
        id: i + 1,
        date_time: localPlus(START, i * 600),
        ...Object.fromEntries(QUANTITIES.map((q) => [q, 10 + ad + (i % 6)])),
        SensorStatus: 0,
      }));
      await insertRows(source.db, table, rows);
    }
  });
  afterAll(async () => {
    await source.drop();
    await target.drop();
  });

  it('all eight streams catch up: one validity per complete hour each', async () => {
    const r = await runCli(['average', 'adlid', '--source', source.url, '--target', target.url, '--until-caught-up', '--allow-drop-create-table', '--connect-timeout', '20s']);
    expect(r.stderr).not.toMatch(/error/i);
    expect(r.code).toBe(0);
    // 50 hours of good rows (00:00 .. 49:50 local); the hour of the latest entry is not complete
    // yet, so hours 0..48 give 49 bins per table, 8 tables
    const perContext = await target.db('DcsAdLidSensorVld').select('SITEMASK', 'SUBSITE').count({ n: '*' }).groupBy('SITEMASK', 'SUBSITE');
    expect(perContext).toHaveLength(8);
    for (const c of perContext) expect(Number(c.n)).toBe(49);
  });
});
