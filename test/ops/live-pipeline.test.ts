import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Knex } from 'knex';
import { loadRegime } from '../../engine/config/load-regime';
import { listTables } from '../../engine/source/source-stream';
import { DIALECTS, createTestDatabase, TestDatabase } from '../support/databases';
import { ADTEMP_YAML as SHIPPED_ADTEMP, spawnScrape, targetContent } from './ops-support';

const LIVE_SECONDS = 30;
/** Scraper settings shared by the live and the catch-up run: fine enough to write often in 30 s. */
const SETS = ['--set', 'interval=2s', '--set', 'heartbeat=1s', '--set', 'sleep=1s', '--set', 'maxage=5s'];

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitFor<T>(what: string, ms: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(250);
  }
}

async function vldCount(db: Knex): Promise<number> {
  if (!(await listTables(db)).includes('DcsAdTempVld')) return 0;
  const [{ n }] = await db('DcsAdTempVld').count({ n: '*' });
  return Number(n);
}

/**
 * Issue 4: a live faker and a live scraper, two processes, for 30 s of real time, give the same
 * validities as a later catch-up run over the same source rows (all columns but INSERTDATE).
 */
describe.each(DIALECTS)('live faker + live scraper on %s', (dialect) => {
  let source: TestDatabase;
  let live: TestDatabase;
  let later: TestDatabase;
  const children: ReturnType<typeof spawnScrape>[] = [];
  /**
   * adtemp with the faker's test pattern (each PT column id mod 10) instead of its realistic
   * drift: a change beyond the threshold about every other row, so 30 s write often.
   */
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'scrape-live-'));
  const ADTEMP_YAML = path.join(dir, 'adtemp.yaml');
  const shipped = fs.readFileSync(SHIPPED_ADTEMP, 'utf8');
  if (!shipped.includes('{ profile: drift,')) throw new Error('regimes.d/adtemp.yaml: no drift faker profile to replace');
  fs.writeFileSync(ADTEMP_YAML, shipped.replace('{ profile: drift,', '{ profile: modulo_ramp,'));

  beforeAll(async () => {
    source = await createTestDatabase(dialect, 'fake_live_src');
    live = await createTestDatabase(dialect, 'live_tgt');
    later = await createTestDatabase(dialect, 'catchup_tgt');
  });
  afterAll(async () => {
    for (const c of children) if (c.child.exitCode === null && c.child.signalCode === null) c.child.kill('SIGKILL');
    await source.drop();
    await live.drop();
    await later.drop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it(`writes during ${LIVE_SECONDS} s what a later catch-up writes`, async () => {
    const fakeUrl = `${source.url}?fake=true`;
    // The faker: one row per second of real time, DB time 2011-02-01 00:00:00 + id s, modulo_ramp values.
    const faker = spawnScrape(['fake', ADTEMP_YAML, '--source', fakeUrl, '--dropsrc', '--timestart', '2011-02-01 00:00:00', '--set', 'interval=1s']);
    children.push(faker);
    await waitFor('the faker\'s first row', 20_000, async () =>
      (await listTables(source.db)).includes('DBNS_SAB_Temp') && Number((await source.db('DBNS_SAB_Temp').count({ n: '*' }))[0].n) > 0 ? true : undefined,
    );
    const scraper = spawnScrape(['run', ADTEMP_YAML, '--source', source.url, '--target', live.url, '--allow-drop-create-table', ...SETS]);
    children.push(scraper);

    await sleep(LIVE_SECONDS * 1000);
    faker.child.kill('SIGTERM');
    expect((await faker.exited).code).toBe(0);
    const rows = Number((await source.db('DBNS_SAB_Temp').count({ n: '*' }))[0].n);
    expect(rows).toBeGreaterThanOrEqual(LIVE_SECONDS - 5);
    expect(await vldCount(live.db)).toBeGreaterThan(0); // it wrote while the faker was running

    // The source is final now. The later catch-up over it runs first, so the live scraper can be
    // given until it has written the same (however long the machine needs to let it see the last
    // rows), then it is stopped and the two are compared.
    const catchUp = spawnScrape(['run', ADTEMP_YAML, '--source', source.url, '--target', later.url, '--allow-drop-create-table', '--until-caught-up', ...SETS]);
    children.push(catchUp);
    const caughtUp = await catchUp.exited;
    expect({ code: caughtUp.code, output: caughtUp.code === 0 ? '' : catchUp.output() }).toEqual({ code: 0, output: '' });
    const spec = loadRegime(ADTEMP_YAML).specs.get('GDcsAdTemp')!;
    const laterRows = await targetContent(later.db, spec);
    // A live target that never reaches the catch-up's content fails the comparison below.
    await waitFor('the live target to reach the catch-up\'s content', 30_000, async () =>
      JSON.stringify(await targetContent(live.db, spec)) === JSON.stringify(laterRows) ? true : undefined,
    ).catch(() => undefined);
    scraper.child.kill('SIGTERM');
    const stopped = await scraper.exited;
    expect({ code: stopped.code, output: stopped.code === 0 ? '' : scraper.output() }).toEqual({ code: 0, output: '' });

    const liveRows = await targetContent(live.db, spec);
    // modulo_ramp changes by 1 every row: with interval 2s the threshold fires every sample.
    expect(laterRows.vld.length).toBeGreaterThan(LIVE_SECONDS / 4);
    expect(liveRows).toEqual(laterRows);
  }, 120_000);
});
