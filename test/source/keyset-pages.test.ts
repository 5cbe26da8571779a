import { Knex } from 'knex';
import { SourceKey, SourceReader, SourceRow } from '../../engine/source/source-reader';
import { SourceStream, tableColumns } from '../../engine/source/source-stream';
import { openDatabase } from '../../engine/db/open-database';
import { DIALECTS, createTestDatabase, TestDatabase } from '../support/databases';
import { createSourceTable, localPlus } from '../support/source-fixture';
import { readWork } from '../support/read-work';

const START = '2011-02-01 00:00:00';
const ROWS = 60_000;
const PAGE = 500;

/** `ROWS` rows one every 10 s from START (every 4th time held by two rows), one value each. */
async function fill(db: Knex): Promise<void> {
  await createSourceTable(db, 'T', { v: 'double' });
  const rows: unknown[][] = [];
  for (let i = 0; i < ROWS; i++) rows.push([i + 1, localPlus(START, 10 * (i % 4 === 1 ? i - 1 : i)), i]);
  const q = db.client.config.client === 'better-sqlite3' ? '"' : '`';
  for (let i = 0; i < rows.length; i += 2000) {
    const chunk = rows.slice(i, i + 2000);
    await db.raw(`INSERT INTO ${q}T${q} (id, date_time, v) VALUES ${chunk.map(() => '(?, ?, ?)').join(', ')}`, chunk.flat() as Knex.RawBinding[]);
  }
}

async function stream(db: Knex): Promise<SourceStream> {
  const main = (await tableColumns(db, 'T')).filter((c) => c.name !== 'id' && c.name !== 'date_time');
  return { table: 'T', captures: {}, context: { sitemask: 1, simmask: 1, subsite: 1, task: 0, aggregateno: -1 }, columns: main, mainColumns: main, joins: [], declIndex: 0, zone: 'Asia/Shanghai' };
}

/**
 * A keyset page (`(date_time, id)` after the last row read, from the stream's resume time) costs
 * the database the same near the end of a table as near its start: it starts at the last key,
 * not at the resume time. On SQLite it once walked the index from the resume time on every page,
 * so a catch-up slowed down page after page (2 M rows: 22,000 rows/s falling to 8,600). Work is
 * counted by each database (see `readWork`), not timed.
 */
describe.each(DIALECTS)('keyset pages on %s', (dialect) => {
  let t: TestDatabase;
  let reader: Knex;
  beforeAll(async () => {
    t = await createTestDatabase(dialect, 'keyset_pages');
    await fill(t.db);
    reader = openDatabase(t.location, { readOnly: true, poolMax: 1 });
  });
  afterAll(async () => {
    await reader?.destroy();
    await t?.drop();
  });

  it('reads every row once in (date_time, id) order, and a page near the end costs what one near the start does', async () => {
    const r = new SourceReader(reader, await stream(reader), PAGE);
    const ids: number[] = [];
    const work: number[] = [];
    let after: SourceKey | undefined;
    for (;;) {
      let page: { rows: SourceRow[]; lastKey?: SourceKey } | undefined;
      work.push(await readWork(dialect, reader, async () => (page = await r.readPage(START, after))));
      if (!page!.lastKey) break;
      ids.push(...page!.rows.map((row) => row.id));
      after = page!.lastKey;
    }
    // order by hand: times 0, 0, 20, 30, 40, 40, 60, ... (ids 1 and 2 share a time; so do 5 and 6)
    expect(ids.length).toBe(ROWS);
    expect(ids.slice(0, 6)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(new Set(ids).size).toBe(ROWS);
    const pages = ROWS / PAGE;
    // pages 2..11 against the last ten full ones (the first page has no key to start from)
    const early = work.slice(1, 11).reduce((a, b) => a + b, 0);
    const late = work.slice(pages - 10, pages).reduce((a, b) => a + b, 0);
    expect(early).toBeGreaterThan(0);
    expect(late).toBeLessThan(2 * early);
  });
});
