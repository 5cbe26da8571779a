import { Knex } from 'knex';
import { findLateRows } from '../../engine/stream/late-rows';
import { openDatabase } from '../../engine/db/open-database';
import { DIALECTS, createTestDatabase, TestDatabase } from '../support/databases';
import { createSourceTable, localPlus } from '../support/source-fixture';
import { readWork } from '../support/read-work';

const START = '2011-02-01 00:00:00';

const PT = [1, 2, 3, 4, 5].map((i) => `PT${i}`);

/**
 * Table `name` shaped like adtemp's (five `decimal(6,2)`: SQLite's planner weighs a table's row
 * width), `rows` rows one every 10 s from START, ids 1..rows, then (ids rows+1..rows+3) three
 * rows that came late: dated 5, 15 and 25 s before the last regular row.
 */
async function fill(db: Knex, name: string, rows: number): Promise<void> {
  await createSourceTable(db, name, Object.fromEntries(PT.map((c) => [c, 'decimal(6,2)'])));
  const all: unknown[][] = [];
  const row = (id: number, seconds: number) => [id, localPlus(START, seconds), ...PT.map((_, k) => (20 + k + (id % 100) / 100).toFixed(2))];
  for (let i = 0; i < rows; i++) all.push(row(i + 1, 10 * i));
  for (let k = 0; k < 3; k++) all.push(row(rows + 1 + k, 10 * (rows - 1) - 5 - 10 * k));
  const q = db.client.config.client === 'better-sqlite3' ? '"' : '`';
  const tuple = `(${['id', 'date_time', ...PT].map(() => '?').join(', ')})`;
  for (let i = 0; i < all.length; i += 2000) {
    const chunk = all.slice(i, i + 2000);
    await db.raw(`INSERT INTO ${q}${name}${q} (id, date_time, ${PT.join(', ')}) VALUES ${chunk.map(() => tuple).join(', ')}`, chunk.flat() as Knex.RawBinding[]);
  }
}

/**
 * The late-row check (at resume and every 5 minutes) is one `id > ?` range from the mark on,
 * whatever the size of the table: a stream that is caught up checks 60,000 rows for what it
 * checks 1,000 for. On SQLite it once counted through the `date_time` index, every row dated
 * before the mark's end: the whole table. Work is counted by each database (`readWork`), not timed.
 */
describe.each(DIALECTS)('late-row checks on %s', (dialect) => {
  let t: TestDatabase;
  let source: Knex;
  beforeAll(async () => {
    t = await createTestDatabase(dialect, 'late_rows_cost');
    await fill(t.db, 'Small', 1000);
    await fill(t.db, 'Large', 60_000);
    source = openDatabase(t.location, { readOnly: true, poolMax: 1 });
  });
  afterAll(async () => {
    await source?.destroy();
    await t?.drop();
  });

  it('reads as little for a mark at the end of a large table as of a small one, and finds the same rows', async () => {
    const found: Record<string, Awaited<ReturnType<typeof findLateRows>>> = {};
    const work: Record<string, number> = {};
    for (const [table, rows] of [['Small', 1000], ['Large', 60_000]] as const) {
      // the stream wrote up to its last regular row having read ids up to it
      const mark = { seqno: 1, maxId: rows, lastTime: localPlus(START, 10 * (rows - 1)) };
      work[table] = await readWork(dialect, source, async () => (found[table] = await findLateRows(source, { table }, mark)));
    }
    // by hand: the three rows after the last regular one, dated before it
    expect(found.Small.count).toBe(3);
    expect(found.Small.rows).toEqual([1001, 1002, 1003].map((id, k) => ({ id, date_time: localPlus(START, 10 * 999 - 5 - 10 * k) })));
    expect(found.Large.count).toBe(3);
    expect(found.Large.rows.map((r) => r.id)).toEqual([60_001, 60_002, 60_003]);
    expect(work.Small).toBeGreaterThan(0);
    // a b-tree one level deeper costs a page more (SQLite: 2 pages read against 3); the scan was 47 times as much
    expect(work.Large).toBeLessThan(4 * work.Small);
  });
});
