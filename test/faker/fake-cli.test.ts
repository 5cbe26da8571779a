import * as path from 'path';
import { Knex } from 'knex';
import { main } from '../../engine/cli/main';
import { CliIo } from '../../engine/cli/io';
import { DIALECTS, TestDatabase, createTestDatabase } from '../support/databases';

const REGIMES = path.join(__dirname, '..', '..', 'regimes.d');
const DUMP = path.join(__dirname, 'fixtures', 'AD1_LidSensor_10.sql');

function captureIo(): CliIo & { out: () => string; err: () => string } {
  let out = '';
  let err = '';
  return {
    stdout: { write: (s: string) => ((out += s), true) } as unknown as CliIo['stdout'],
    stderr: { write: (s: string) => ((err += s), true) } as unknown as CliIo['stderr'],
    env: { ...process.env, SCRAPE_DBCONF: '' },
    cwd: process.cwd(),
    out: () => out,
    err: () => err,
  };
}

/** Tables, their columns and their rows: what "touches nothing" must leave equal. */
async function snapshot(t: TestDatabase): Promise<unknown> {
  const db: Knex = t.db;
  const tables: string[] =
    t.dialect === 'sqlite'
      ? (await db.raw(`SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name`)).map((r: { name: string }) => r.name)
      : (await db.raw('SHOW TABLES'))[0].map((r: Record<string, string>) => Object.values(r)[0]).sort();
  const out: Record<string, unknown> = {};
  for (const table of tables) {
    out[table] = { columns: Object.keys(await db(table).columnInfo()).sort(), rows: await db(table).select('*').orderBy('id') };
  }
  return out;
}

/** A canary: a table of the very name the faker would drop, with rows, and another one. */
async function plantCanary(t: TestDatabase): Promise<void> {
  await t.db.schema.createTable('DBNS_SAB_Temp', (table) => {
    table.integer('id').primary();
    table.string('note', 40);
  });
  await t.db('DBNS_SAB_Temp').insert([{ id: 1, note: 'real data, keep' }, { id: 2, note: 'more real data' }]);
  await t.db.schema.createTable('canary', (table) => {
    table.integer('id').primary();
  });
  await t.db('canary').insert({ id: 42 });
}

function fakeUrl(t: TestDatabase): string {
  return `${t.url}?fake=true`;
}

describe.each(DIALECTS)('scrape fake / scrape load on %s', (dialect) => {
  let t: TestDatabase;
  beforeEach(async () => {
    t = await createTestDatabase(dialect, 'canary');
  });
  afterEach(async () => {
    await t.drop();
  });

  it('--dropsrc against a database that is not fake: exit 1, canary intact', async () => {
    await plantCanary(t);
    const before = await snapshot(t);
    expect(before).toMatchObject({ canary: { rows: [{ id: 42 }] } });
    const io = captureIo();
    const code = await main(['node', 'scrape', 'fake', 'adtemp', '--regimes', REGIMES, '--source', t.url, '--dropsrc', '--count', '10'], io);
    expect(code).toBe(1);
    expect(io.err()).toContain('FAKER_NOT_FAKE');
    expect(await snapshot(t)).toEqual(before);

    // writing rows without --dropsrc is refused the same way
    const live = captureIo();
    expect(await main(['node', 'scrape', 'fake', 'adtemp', '--regimes', REGIMES, '--source', t.url, '--maxiter', '1'], live)).toBe(1);
    expect(live.err()).toContain('FAKER_NOT_FAKE');
    expect(await snapshot(t)).toEqual(before);
  });

  it('scrape load refuses a database that is not fake, touching nothing', async () => {
    await plantCanary(t);
    const before = await snapshot(t);
    const io = captureIo();
    expect(await main(['node', 'scrape', 'load', DUMP, '--source', t.url], io)).toBe(1);
    expect(io.err()).toContain('FAKER_NOT_FAKE');
    expect(await snapshot(t)).toEqual(before);
  });

  it('fake --count into a fake database, then --dropsrc starts over', async () => {
    const io = captureIo();
    expect(await main(['node', 'scrape', 'fake', 'adtemp', '--regimes', REGIMES, '--source', fakeUrl(t), '--count', '50', '--timestart', '2011-02-01 00:00:00'], io)).toBe(0);
    expect(io.out()).toMatch(/^faked 50 rows \(DBNS_SAB_Temp 50\) in [\d.]+ s, \d+ rows\/s\n$/);
    expect(await t.db('DBNS_SAB_Temp').count({ n: '*' }).first()).toEqual({ n: 50 });
    const last = await t.db('DBNS_SAB_Temp').where('id', 50).first();
    expect(last.date_time).toBe('2011-02-01 00:08:20');

    const again = captureIo();
    expect(await main(['node', 'scrape', 'fake', 'adtemp', '--regimes', REGIMES, '--source', fakeUrl(t), '--count', '3', '--dropsrc'], again)).toBe(0);
    const ids = (await t.db('DBNS_SAB_Temp').select('id').orderBy('id')).map((r: { id: number }) => r.id);
    expect(ids).toEqual([1, 2, 3]);
  });

  it('scrape load into a fake database', async () => {
    const io = captureIo();
    expect(await main(['node', 'scrape', 'load', DUMP, '--source', fakeUrl(t)], io)).toBe(0);
    expect(io.out()).toMatch(/5 rows \(AD1_LidSensor 5\), created AD1_LidSensor/);
    expect(await t.db('AD1_LidSensor').count({ n: '*' }).first()).toEqual({ n: 5 });
  });
});
