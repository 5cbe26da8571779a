import * as fs from 'fs';
import * as http from 'http';
import * as os from 'os';
import * as path from 'path';
import { launchChromium } from '../../engine/report/headless-chromium';
import { DIALECTS, TestDatabase, createTestDatabase } from '../support/databases';
import { runCli } from '../support/cli';
import { ensureDist } from '../support/dist';
import { Browser, Page, checkPngFile, stepSegments, watchPage } from '../support/chromium';
import { freePort, samples, spawnScrape, waitFor } from './ops-support';

/** GET `http://127.0.0.1:port/path` as text. */
function get(port: number, urlPath: string): Promise<string> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: urlPath }, (res) => {
        let body = '';
        res.on('data', (c) => (body += c));
        res.on('end', () => resolve(body));
      })
      .on('error', reject);
  });
}

/** UTC text plus `hours`, by hand. */
function plusHours(utc: string, hours: number): string {
  return new Date(Date.parse(utc.replace(' ', 'T') + 'Z') + hours * 3_600_000).toISOString().slice(0, 19).replace('T', ' ');
}

/** `fn` on the page, retried while the page reloads itself (a navigation ends the evaluation). */
async function untilPage<T>(page: Page, what: string, fn: () => Promise<T>, ok: (value: T) => boolean, ms: number): Promise<T> {
  const deadline = Date.now() + ms;
  let last: T | undefined;
  for (;;) {
    try {
      last = await fn();
      if (ok(last)) return last;
    } catch {
      // the page was reloading
    }
    if (Date.now() > deadline) throw new Error(`${what}: still ${JSON.stringify(last)} after ${ms} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

let browser: Browser;
let tmp: string;

beforeAll(async () => {
  ensureDist();
  browser = await launchChromium();
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'scrape-status-page-'));
});
afterAll(async () => {
  await browser?.close();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

describe.each(DIALECTS)('status page of a running scraper on %s', (dialect) => {
  let source: TestDatabase;
  let target: TestDatabase;

  beforeAll(async () => {
    source = await createTestDatabase(dialect, 'fake_page_src');
    target = await createTestDatabase(dialect, 'page_tgt');
  });
  afterAll(async () => {
    await source?.drop();
    await target?.drop();
  });

  /** What the target holds for adtemp's context, by SQL: all validities, and those of the hour before the last TIMEEND. */
  async function targetCounts(): Promise<{ total: number; lastHour: number; from: string; to: string }> {
    const vld = () => target.db('DcsAdTempVld').where({ SITEMASK: 32, SUBSITE: 1, SIMMASK: 1, TASK: 0 });
    const [{ n, end }] = await vld().select(target.db.raw('COUNT(*) AS n'), target.db.raw('MAX(TIMEEND) AS end'));
    const to = String(end);
    const from = plusHours(to, -1);
    const [{ m }] = await vld().andWhere('TIMEEND', '>', from).andWhere('TIMESTART', '<', to).count({ m: '*' });
    return { total: Number(n), lastHour: Number(m), from, to };
  }

  it('loads with no console errors and no request elsewhere, draws one step per validity of its hours, and reloads itself as the target grows', async () => {
    const fake = `${source.url}?fake=true`;
    expect((await runCli(['fake', 'adtemp', '--source', fake, '--count', '720'])).code).toBe(0);
    const port = await freePort();
    const run = spawnScrape(['run', 'adtemp', '--source', source.url, '--target', target.url, '--allow-drop-create-table', '--set', 'maxage=30s', '--metrics-port', String(port)]);
    const page = await browser.newPage();
    try {
      const rowsRead = async () => [...samples(await get(port, '/metrics').catch(() => ''), 'scrape_rows_read_total').values()][0];
      await waitFor(`720 rows read:\n${run.output()}`, async () => (await rowsRead()) === 720, 30_000);
      const before = await targetCounts();
      expect(before.lastHour).toBeGreaterThan(50);

      const origin = `http://127.0.0.1:${port}/`;
      const watch = await watchPage(page, [origin]);
      await page.setViewport({ width: 1280, height: 800 });
      await page.goto(`${origin}?refresh=1&hours=1`, { waitUntil: 'load' });
      const section = 'section[data-stream="DBNS_SAB_Temp"]';
      const shown = await page.$eval(section, (el) => ({
        total: el.getAttribute('data-validities'),
        plotted: el.querySelector('figure')?.getAttribute('data-validities'),
        range: [el.querySelector('figure')?.getAttribute('data-from'), el.querySelector('figure')?.getAttribute('data-to')],
        svg: el.querySelector('figure svg')?.outerHTML ?? '',
        text: (el as unknown as { innerText: string }).innerText,
      }));
      expect(shown).toMatchObject({ total: String(before.total), plotted: String(before.lastHour), range: [before.from, before.to] });
      expect(stepSegments(shown.svg)).toEqual([before.lastHour]);
      // the last validity in UTC and in Asia/Shanghai (UTC + 8 h)
      expect(shown.text).toContain(`, ${before.to}) UTC`);
      expect(shown.text).toContain(`, ${plusHours(before.to, 8)}) Asia/Shanghai`);
      expect(await page.$eval('h1', (el) => el.textContent)).toMatch(/adtemp scraper ok$/);
      const shot = path.join(tmp, `${dialect}-status.png`);
      await page.screenshot({ path: shot, fullPage: true });
      checkPngFile(shot);

      // an hour more of source rows: the scraper writes them, the page shows them by itself
      expect((await runCli(['fake', 'adtemp', '--source', fake, '--count', '360'])).code).toBe(0);
      await waitFor(`1080 rows read:\n${run.output()}`, async () => (await rowsRead()) === 1080, 30_000);
      const after = await targetCounts();
      expect(after.total).toBeGreaterThan(before.total);
      const reloaded = await untilPage(
        page,
        'the page after the new rows',
        () => page.$eval(section, (el) => [el.getAttribute('data-validities'), el.querySelector('figure svg')?.outerHTML ?? ''] as const),
        ([total]) => total === String(after.total),
        15_000,
      );
      expect(stepSegments(reloaded[1])).toEqual([after.lastHour]);
      expect(watch.refused).toEqual([]);
      expect(watch.errors).toEqual([]);
      // only the page itself, fetched again and again
      expect(new Set(watch.requests)).toEqual(new Set([`${origin}?refresh=1&hours=1`]));
      expect(watch.requests.length).toBeGreaterThan(1);
    } finally {
      await page.close();
      run.child.kill('SIGTERM');
      await run.exited;
    }
  });
});
