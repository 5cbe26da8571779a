import * as path from 'path';
import { Knex } from 'knex';
import { ManualClock } from '../../engine/core/clock';
import { MemoryLogger } from '../../engine/core/logger';
import { loadRegime, LoadedRegime } from '../../engine/config/load-regime';
import { AveragerReport, runAverager } from '../../engine/averager/averager';
import { dumpTarget } from '../../engine/dbi/dbi-reader';
import { openDatabase } from '../../engine/db/open-database';
import { DIALECTS, createTestDatabase, TestDatabase } from '../support/databases';
import { createLidTable, insertLidRows, lidRows, timeOf } from './lid-fixture';

const REGIME_FILE = path.join(__dirname, '..', '..', 'regimes.d', 'adlid.yaml');
const SPEC = 'GDcsAdLidSensor';
/** Rows from 2012-02-01 (local) until END; the whole of 2012-02-04 is left out. */
const START = '2012-02-01 00:00:03';
const END = '2012-02-06 23:30:00';
const EMPTY_DAY = '2012-02-04';

type TargetRow = Record<string, unknown>;

/** Vld rows joined with their payload, without SEQNO and INSERTDATE, in time order. */
async function targetRows(loaded: LoadedRegime, target: TestDatabase): Promise<TargetRow[]> {
  const { vld, payload } = await dumpTarget(target.db, loaded.specs.get(SPEC)!);
  const bySeqno = new Map(payload.map((p) => [p.SEQNO as number, p]));
  return vld
    .map(({ SEQNO, INSERTDATE, ...rest }) => {
      const { SEQNO: s, ...values } = bySeqno.get(SEQNO)!;
      return { ...rest, ...values };
    })
    .sort((a, b) => String(a.TIMESTART).localeCompare(String(b.TIMESTART)));
}

/**
 * The averager's streamed path on MariaDB reads the next chunk ahead on a spare connection of
 * the source pool and decodes rows of numbers from their packets: whatever way the rows come
 * (read ahead or not, decoded or parsed by the driver, DECIMALs as doubles or as text), the
 * target rows are the same. On SQLite there is neither (keyset pages): the same comparison holds
 * trivially and nothing is read ahead.
 */
describe.each(DIALECTS)('averager read-ahead, regime adlid, on %s', (dialect) => {
  let loaded: LoadedRegime;
  let source: TestDatabase;
  const databases: TestDatabase[] = [];
  const handles: Knex[] = [];
  const runs: Record<string, { report: AveragerReport; rows: TargetRow[] }> = {};

  /** Averages the source, opened with `options` (a separate pool on the same database), into a fresh target. */
  async function average(label: string, options: { poolMax?: number; decimalNumbers?: boolean }): Promise<void> {
    const db = openDatabase(source.location, { readOnly: true, ...options });
    handles.push(db);
    const target = await createTestDatabase(dialect, `avg_ahead_${label}`);
    databases.push(target);
    const report = await runAverager({
      regime: loaded.regime,
      specs: loaded.specs,
      source: db,
      target: target.db,
      targetLocation: target.location,
      logger: new MemoryLogger(),
      clock: new ManualClock(Date.UTC(2012, 3, 1)),
      untilCaughtUp: true,
      allowCreate: true,
    });
    runs[label] = { report, rows: await targetRows(loaded, target) };
  }

  beforeAll(async () => {
    loaded = loadRegime(REGIME_FILE);
    source = await createTestDatabase(dialect, 'fake_avg_ahead_src');
    databases.push(source);
    // NULL readings and NULL statuses in the fixture: some rows are left to the driver's parse
    const rows = lidRows(START, 6 * 86_400, 20120204).filter((r) => !timeOf(r).startsWith(EMPTY_DAY) && timeOf(r) < END);
    await createLidTable(source.db, 'AD1_LidSensor');
    await insertLidRows(source.db, 'AD1_LidSensor', rows);
    // one connection: nothing to spare, every chunk is read on the held one
    await average('single', { poolMax: 1, decimalNumbers: true });
    // as `scrape average` opens its source: read-ahead and packet decoding
    await average('ahead', { poolMax: 4, decimalNumbers: true });
    // DECIMALs as text: the driver parses every row (the decoder declines such columns)
    await average('text', { poolMax: 4, decimalNumbers: false });
  }, 600_000);

  afterAll(async () => {
    for (const h of handles) await h.destroy();
    for (const d of databases) await d.drop();
  });

  it('writes the same rows whether chunks are read ahead or not, decoded or parsed by the driver', () => {
    const single = runs.single.rows;
    // 6 days less the empty one, less the hour of the latest entry (02-06 23 h, incomplete): 5 × 24 - 1
    // hours with good entries
    // (every hour of the fixture holds a few hundred entries, about 2.5 % of them not good)
    expect(single.length).toBe(5 * 24 - 1);
    expect(runs.ahead.rows).toEqual(single);
    expect(runs.text.rows).toEqual(single);
  });

  it('reads ahead on MariaDB when the pool has a connection to spare, never on one connection nor on SQLite', () => {
    // chunks with rows: 02-01, 02-02, 02-03, 02-05, 02-06 (cut at the latest entry's hour)
    for (const label of ['single', 'ahead', 'text']) expect(runs[label].report.streams[0].chunks).toBe(5);
    expect(runs.single.report.streams[0].chunksReadAhead).toBe(0);
    // read ahead: 02-02 and 02-03 (each by the chunk before) and 02-06 (by 02-05); 02-01 is the
    // pass's first chunk, and the read-ahead of the empty 02-04 finds nothing, so 02-05 is looked
    // for and read on the held connection
    const expected = dialect === 'mariadb' ? 3 : 0;
    expect(runs.ahead.report.streams[0].chunksReadAhead).toBe(expected);
    expect(runs.text.report.streams[0].chunksReadAhead).toBe(expected);
  });
});
