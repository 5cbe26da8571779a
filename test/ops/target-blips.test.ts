import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Knex } from 'knex';
import { DIALECTS, createTestDatabase, TestDatabase } from '../support/databases';
import { ADTEMP_YAML, Forwarder, fillAdTempSource, freePort, spawnScrape, targetContent, throughForwarder, waitFor } from './ops-support';
import { loadRegime } from '../../engine/config/load-regime';

const SPEC = loadRegime(ADTEMP_YAML).specs.get('GDcsAdTemp')!;

function exitWithin(c: ReturnType<typeof spawnScrape>, ms: number) {
  return Promise.race([c.exited, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`no exit within ${ms} ms:\n${c.output()}`)), ms).unref())]);
}

async function validityCount(db: Knex): Promise<number> {
  if (!(await db.schema.hasTable('DcsAdTempVld'))) return 0;
  const [{ n }] = await db('DcsAdTempVld').count({ n: '*' });
  return Number(n);
}

describe.each(DIALECTS)('target faults on %s (docs/design.md §4.12)', (dialect) => {
  const databases: TestDatabase[] = [];
  let source: TestDatabase;
  let reference: Awaited<ReturnType<typeof targetContent>>;
  const fresh = async (label: string) => {
    const d = await createTestDatabase(dialect, label);
    databases.push(d);
    return d;
  };

  beforeAll(async () => {
    source = await fresh('fake_blips_src');
    await fillAdTempSource(source.db, 1500, 23);
    const ref = await fresh('blips_ref');
    const once = spawnScrape(['run', 'adtemp', '--source', source.url, '--target', ref.url, '--allow-drop-create-table', '--until-caught-up']);
    expect((await exitWithin(once, 60_000)).code).toBe(0);
    reference = await targetContent(ref.db, SPEC);
    expect(reference.vld.length).toBeGreaterThan(20);
  }, 120_000);
  afterAll(async () => {
    for (const d of databases) await d.drop();
  });

  it('a copy of the regime under another name, started beside it on one target: one is refused, every validity once', async () => {
    const target = await fresh('blips_two_regimes');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'scrape-two-regimes-'));
    try {
      const copy = path.join(dir, 'adtemp2.yaml');
      fs.writeFileSync(copy, fs.readFileSync(ADTEMP_YAML, 'utf8').replace(/^name: adtemp$/m, 'name: adtemp2'));
      const common = ['--source', source.url, '--target', target.url, '--allow-drop-create-table', '--until-caught-up', '--set', 'page_size=100'];
      // two regimes, one (table, context): one writer lock, so the later one is refused at start
      // (exit 1 LOCK_HELD naming the holder), unless the first had already finished and released it
      const a = spawnScrape(['run', 'adtemp', ...common]);
      const b = spawnScrape(['run', copy, ...common]);
      const codes = [(await exitWithin(a, 90_000)).code, (await exitWithin(b, 90_000)).code];
      expect(codes).toContain(0);
      for (const [i, c] of [a, b].entries()) {
        if (codes[i] === 0) continue;
        expect(codes[i]).toBe(1);
        expect(c.output()).toMatch(/^error LOCK_HELD: scraper of regime adtemp2? on \S+ is locked by .*, which writes DcsAdTemp \{sitemask: 32, subsite: 1, simmask: 1, task: 0, aggregateno: -1\}$/m);
      }
      expect(b.output()).toMatch(/regime adtemp2:/);
      expect(await targetContent(target.db, SPEC)).toEqual(reference);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);

  if (dialect === 'mariadb') {
    const upstream = () => {
      const l = source.location;
      return { host: l.host ?? '127.0.0.1', port: l.port ?? 3306 };
    };

    it('a target unreachable at start is waited for (retried with backoff), then the run goes on and ends equal', async () => {
      const target = await fresh('blips_late_target');
      const port = await freePort();
      const forwarder = new Forwarder(port, upstream());
      try {
        const run = spawnScrape(['run', 'adtemp', '--source', source.url, '--target', throughForwarder(target, port), '--allow-drop-create-table', '--until-caught-up']);
        await waitFor('the retry', () => /database connection lost: .*retrying/.test(run.output()), 20_000);
        expect(run.child.exitCode).toBeNull();
        await forwarder.start();
        const end = await exitWithin(run, 60_000);
        expect({ code: end.code, output: run.output() }).toMatchObject({ code: 0 });
        expect(run.output()).toMatch(/database connection back after/);
        expect(await targetContent(target.db, SPEC)).toEqual(reference);
      } finally {
        await forwarder.stop();
      }
    }, 120_000);

    it('a 0.3 s reset of every target connection: the process keeps running and the target ends equal to one run', async () => {
      const target = await fresh('blips_reset');
      const port = await freePort();
      const forwarder = new Forwarder(port, upstream());
      await forwarder.start();
      try {
        const run = spawnScrape(
          ['run', 'adtemp', '--source', source.url, '--target', throughForwarder(target, port), '--allow-drop-create-table', '--set', 'page_size=100', '--set', 'sleep=1s', '--set', 'heartbeat=1s'],
          { SCRAPE_LOCK_CHECK_MS: '200' },
        );
        await waitFor('first validities', async () => (await validityCount(target.db)) >= 3, 30_000);
        await forwarder.cut(300);
        await waitFor('the lock taken again', () => /lost the writer lock/.test(run.output()) && /took the lock|regime adtemp/.test(run.output()), 20_000);
        await waitFor('all validities', async () => JSON.stringify(await targetContent(target.db, SPEC)) === JSON.stringify(reference), 60_000);
        expect(run.child.exitCode).toBeNull();
        run.child.kill('SIGTERM');
        expect((await exitWithin(run, 15_000)).code).toBe(0);
      } finally {
        await forwarder.stop();
      }
    }, 120_000);
  }
});
