import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { launchChromium } from '../../engine/report/headless-chromium';
import { DIALECTS, TestDatabase, createTestDatabase } from '../support/databases';
import { runCli } from '../support/cli';
import { Browser, checkPngFile, stepSegments, watchPage } from '../support/chromium';

/** UTC text plus `hours` (by hand: Asia/Shanghai, adtemp's zone, is UTC + 8 h all year). */
function plusHours(utc: string, hours: number): string {
  return new Date(Date.parse(utc.replace(' ', 'T') + 'Z') + hours * 3_600_000).toISOString().slice(0, 19).replace('T', ' ');
}

// a range that cuts validities at both ends: they overlap it, so they are drawn
const FROM = '2011-01-31 16:10:05';
const TO = '2011-01-31 17:00:05';

let browser: Browser;
let tmp: string;

beforeAll(async () => {
  browser = await launchChromium();
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'scrape-plot-'));
});
afterAll(async () => {
  await browser?.close();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

describe.each(DIALECTS)('scrape plot on %s', (dialect) => {
  let source: TestDatabase;
  let target: TestDatabase;
  let db: string[];
  /** Validities of adtemp's context overlapping [FROM, TO), counted by SQL on the target. */
  let expectedSteps: number;

  beforeAll(async () => {
    source = await createTestDatabase(dialect, 'fake_plot_src');
    target = await createTestDatabase(dialect, 'plot_tgt');
    db = ['--source', source.url, '--target', target.url];
    // two hours of fake SAB temperatures (one row per 10 s), scraped
    expect((await runCli(['fake', 'adtemp', '--source', `${source.url}?fake=true`, '--count', '720'])).code).toBe(0);
    const run = await runCli(['run', 'adtemp', ...db, '--until-caught-up', '--allow-drop-create-table', '--set', 'maxage=30s']);
    expect(run.code).toBe(0);
    const [row] = await target.db('DcsAdTempVld')
      .where({ SITEMASK: 32, SUBSITE: 1, SIMMASK: 1, TASK: 0 })
      .andWhere('TIMEEND', '>', FROM)
      .andWhere('TIMESTART', '<', TO)
      .count({ n: '*' });
    expectedSteps = Number(row.n);
    expect(expectedSteps).toBeGreaterThan(50);
  });
  afterAll(async () => {
    await source?.drop();
    await target?.drop();
  });

  it('HTML: loads offline with no console errors; one step per validity in the range; hover shows UTC and source-local times', async () => {
    const out = path.join(tmp, `${dialect}.html`);
    const r = await runCli(['plot', 'adtemp', ...db, '--from', FROM, '--to', TO, '--columns', 'Temp_PT1,Temp_PT2', '--out', out]);
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(r.stdout).toContain(`${expectedSteps} validities`);
    const url = `file://${out}`;
    const page = await browser.newPage();
    try {
      const watch = await watchPage(page, [url]);
      await page.setViewport({ width: 1280, height: 720 });
      await page.goto(url, { waitUntil: 'load' });
      await page.waitForSelector('#plot[data-rendered]', { timeout: 20_000 });
      // source rows read: SQL on the source over the range in local time (UTC + 8 h)
      const [rows] = await source.db('DBNS_SAB_Temp').where('date_time', '>=', plusHours(FROM, 8)).andWhere('date_time', '<', plusHours(TO, 8)).count({ n: '*' });
      expect(await page.$eval('#plot', (el) => [el.getAttribute('data-validities'), el.getAttribute('data-samples')])).toEqual([String(expectedSteps), String(Number(rows.n))]);
      // one panel per column, each with one drawn segment per validity
      const svg = await page.$eval('#plot svg', (el) => el.outerHTML);
      expect(stepSegments(svg)).toEqual([expectedSteps, expectedSteps]);
      // the aggregate band (Temp_PT1_min .. Temp_PT1_max) is filled in both panels (the legend's icon has a transform)
      expect(svg.match(/<path\b(?![^>]*transform=)[^>]*fill="rgb\(214,39,40\)"[^>]*fill-opacity="0.15"/g)?.length).toBe(2);

      // hover the start marker of the first validity from 16:30 UTC on: its tooltip
      const [v] = await target.db('DcsAdTempVld as v')
        .join('DcsAdTemp as p', function () {
          this.on('p.SEQNO', '=', 'v.SEQNO').andOn('p.ROW_COUNTER', '=', target.db.raw('1'));
        })
        .where({ 'v.SITEMASK': 32, 'v.SUBSITE': 1 })
        .andWhere('v.TIMESTART', '>=', '2011-01-31 16:30:00')
        .orderBy('v.TIMESTART')
        .limit(1)
        .select('v.SEQNO', 'v.TIMESTART', 'v.TIMEEND', 'p.Temp_PT1');
      const start = String(v.TIMESTART);
      const end = String(v.TIMEEND);
      const at = await page.evaluate(
        (ms: number, value: number) => {
          const g = globalThis as unknown as { echarts: any; document: any };
          return g.echarts.getInstanceByDom(g.document.getElementById('plot')).convertToPixel({ seriesId: 'starts-0' }, [ms, value]) as [number, number];
        },
        Date.parse(start.replace(' ', 'T') + 'Z'),
        Number(v.Temp_PT1),
      );
      await page.mouse.move(at[0], at[1]);
      const tip = await page.waitForFunction(
        () => {
          const g = globalThis as unknown as { document: any };
          const div = [...g.document.querySelectorAll('#plot div')].find((d: any) => /SEQNO/.test(d.textContent ?? '') && d.style.display !== 'none');
          return div ? div.innerText : false;
        },
        { timeout: 5000 },
      );
      const text = String(await tip.jsonValue());
      expect(text).toContain(`SEQNO ${v.SEQNO}: Temp_PT1 = ${Number(v.Temp_PT1)}`);
      expect(text).toContain(`UTC [${start}, ${end})`);
      expect(text).toContain(`local [${plusHours(start, 8)}, ${plusHours(end, 8)}) (Asia/Shanghai)`);
      const shot = path.join(tmp, `${dialect}-plot.png`);
      await page.screenshot({ path: shot });
      checkPngFile(shot);
      expect(watch).toEqual({ refused: [], errors: [], requests: [url] });
    } finally {
      await page.close();
    }
  });

  it('SVG: drawn in Node, one step per validity, nothing to fetch', async () => {
    const out = path.join(tmp, `${dialect}.svg`);
    expect((await runCli(['plot', 'adtemp', ...db, '--from', FROM, '--to', TO, '--out', out])).code).toBe(0);
    const svg = fs.readFileSync(out, 'utf8');
    expect(svg.startsWith('<svg')).toBe(true);
    expect(stepSegments(svg)).toEqual([expectedSteps]);
    expect(svg).not.toMatch(/<script|href="(?!#)|url\((?!#)/);
  });

  it('PNG: scrape plot --out x.png writes a PNG of the plot', async () => {
    const out = path.join(tmp, `${dialect}.png`);
    const r = await runCli(['plot', 'adtemp', ...db, '--from', FROM, '--to', TO, '--out', out]);
    expect(r).toMatchObject({ code: 0, stderr: '' });
    // 1200 px wide by default; a plot is far more than a blank page's few hundred bytes
    expect(checkPngFile(out, 10_000).width).toBe(1200);
  });

  it('refuses an unknown stream, column, file type, empty range or missing browser (exit 1, naming what exists)', async () => {
    const stream = await runCli(['plot', 'adtemp', ...db, '--stream', 'DBNS_SAB_Tmp', '--out', path.join(tmp, 'x.svg')]);
    expect(stream.code).toBe(1);
    expect(stream.stderr).toMatch(/PLOT_STREAM.*DBNS_SAB_Tmp.*its streams: DBNS_SAB_Temp/);
    const column = await runCli(['plot', 'adtemp', ...db, '--columns', 'Temp_PT9', '--out', path.join(tmp, 'x.svg')]);
    expect(column.code).toBe(1);
    expect(column.stderr).toMatch(/PLOT_COLUMN.*Temp_PT9.*Temp_PT1, Temp_PT2/);
    const format = await runCli(['plot', 'adtemp', ...db, '--out', path.join(tmp, 'x.jpg')]);
    expect(format.code).toBe(1);
    expect(format.stderr).toMatch(/PLOT_FORMAT/);
    const empty = await runCli(['plot', 'adtemp', ...db, '--from', TO, '--to', FROM, '--out', path.join(tmp, 'x.svg')]);
    expect(empty.code).toBe(1);
    expect(empty.stderr).toMatch(/PLOT_RANGE/);
    const png = path.join(tmp, 'nobrowser.png');
    const browserless = await runCli(['plot', 'adtemp', ...db, '--out', png], { env: { SCRAPE_CHROMIUM: path.join(tmp, 'no-chromium') } });
    expect(browserless.code).toBe(1);
    expect(browserless.stderr).toMatch(/BROWSER_MISSING.*no-chromium: no such file/);
    expect(fs.existsSync(png)).toBe(false);
  });
});
