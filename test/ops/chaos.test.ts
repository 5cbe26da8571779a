import { loadRegime } from '../../engine/config/load-regime';
import { silentLogger } from '../../engine/core/logger';
import { runScraper } from '../../engine/scraper/scraper';
import { createTestDatabase, TestDatabase } from '../support/databases';
import { prng } from '../support/source-fixture';
import { ADTEMP_YAML, fillAdTempSource, ROOT, spawnScrape, targetContent } from './ops-support';

/**
 * Chaos (issue 5): `scrape run` catching up 200 000 rows is SIGKILLed at 20 random moments and
 * restarted each time; the final target equals that of an uninterrupted run. MariaDB only, as the
 * issue asks (SQLite has no server to lose). Needs the compiled CLI (`npm run build`).
 */
describe('chaos: SIGKILL while catching up (mariadb)', () => {
  let source: TestDatabase;
  let reference: TestDatabase;
  let chaos: TestDatabase;
  const ROWS = 200_000;
  const loaded = loadRegime(ADTEMP_YAML, { cwd: ROOT, env: {} });
  const spec = loaded.specs.get('GDcsAdTemp')!;

  beforeAll(async () => {
    source = await createTestDatabase('mariadb', 'fake_chaos_src');
    reference = await createTestDatabase('mariadb', 'chaos_ref');
    chaos = await createTestDatabase('mariadb', 'chaos_b');
    await fillAdTempSource(source.db, ROWS, 42);
  }, 120_000);

  afterAll(async () => {
    for (const d of [source, reference, chaos]) await d?.drop();
  });

  it('20 kills -9 and restarts give the target of an uninterrupted run', async () => {
    const t0 = Date.now();
    await runScraper({
      regime: loaded.regime, specs: loaded.specs, source: source.db, target: reference.db, targetLocation: reference.location,
      logger: silentLogger, untilCaughtUp: true, allowCreate: true, seed: false,
    });
    const referenceMs = Date.now() - t0;
    const expected = await targetContent(reference.db, spec);
    // Sanity: the reference covers the source (a propagation at least every maxage = 10 min of 23 days).
    expect(expected.vld.length).toBeGreaterThan(ROWS / 60);

    const args = ['run', ADTEMP_YAML, '--source', source.url, '--target', chaos.url, '--until-caught-up', '--allow-drop-create-table', '--set', 'page_size=1000'];
    const rnd = prng(7);
    // page_size differs from the reference's on purpose: batching changes when rows are written, never which.
    const vldCount = async () => {
      try {
        return Number((await chaos.db('DcsAdTempVld').count({ n: '*' }))[0].n);
      } catch {
        return 0; // table not created yet
      }
    };
    const maxDelayMs = Math.min(400, referenceMs / 40);
    let midRunKills = 0;
    const countsAtKill: number[] = [];
    let lastCount = 0;
    for (let k = 0; k < 20; k++) {
      const run = spawnScrape(args);
      // Random moments: every fifth kill at random within 0.3 s + 1/40 of the uninterrupted run
      // (start-up, resume); the others once this run has written something new, plus a random
      // delay of at most 1/40 of the uninterrupted run (at most 400 ms; often mid-write), so that
      // 20 kills land mid-run however fast the machine catches up.
      let early = false;
      if (k % 5 === 4) {
        early = await Promise.race([run.exited.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), rnd() * (300 + maxDelayMs)))]);
      } else {
        for (;;) {
          early = await Promise.race([run.exited.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 40))]);
          if (early || (await vldCount()) > lastCount) break;
        }
        if (!early) early = await Promise.race([run.exited.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), rnd() * maxDelayMs))]);
      }
      if (early) {
        const r = await run.exited;
        expect({ code: r.code, out: r.code === 0 ? '' : run.output() }).toEqual({ code: 0, out: '' });
        break; // caught up before this kill
      }
      run.child.kill('SIGKILL');
      await run.exited;
      const n = await vldCount();
      countsAtKill.push(n);
      if (n > 0 && n < expected.vld.length) midRunKills++;
      lastCount = n;
    }
    const final = spawnScrape(args);
    const r = await final.exited;
    expect({ code: r.code, out: r.code === 0 ? '' : final.output() }).toEqual({ code: 0, out: '' });
    // The kills did land in the middle of the catch-up, with progress between them.
    expect(midRunKills).toBeGreaterThanOrEqual(15);
    const actual = await targetContent(chaos.db, spec);
    expect(actual.vld.length).toBe(expected.vld.length);
    expect(actual).toEqual(expected);
  }, 170_000);
});
