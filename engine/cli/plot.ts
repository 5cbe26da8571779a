import * as fs from 'fs';
import * as path from 'path';
import { resolveDatabase } from '../config/dbconf';
import { ScrapeError } from '../core/errors';
import { databaseFileMissing } from '../db/introspection';
import { openDatabase } from '../db/open-database';
import { renderChartSvg } from '../report/chart-svg';
import { plotChartOption } from '../report/plot-chart';
import { DEFAULT_MAX_SAMPLES, readPlotData } from '../report/plot-data';
import { renderPlotHtml } from '../report/plot-html';
import { svgToPng } from '../report/svg-to-png';
import { findChromium, launchChromium } from '../report/headless-chromium';
import { CommonOptions, addCommonOptions, loadRegimeForCli } from './common-options';
import { RegisterCommand } from './main';

interface PlotOptions extends CommonOptions {
  stream?: string;
  from?: string;
  to?: string;
  columns?: string;
  out: string;
  average?: boolean;
  row?: string;
  maxRows?: string;
  width?: string;
  source?: string;
  target?: string;
}

/** A positive integer flag (undefined when not given). */
function positive(flag: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text.trim()) || Number(text) < 1) throw new ScrapeError('BAD_OPTION', `${flag} must be a positive integer, got '${text}'`);
  return Number(text);
}

/**
 * `scrape plot <regime> --out FILE.html|.svg|.png`: one stream over a UTC range, source rows as
 * points, validities as steps, aggregate bands, validity starts marked; HTML (interactive,
 * self-contained), SVG (drawn in Node) or PNG (the SVG through headless Chromium).
 */
export const registerPlot: RegisterCommand = (program, io) => {
  const cmd = program
    .command('plot')
    .description('draw one stream over a time range: source rows as points, written validities as steps, _min/_max bands; .html, .svg or .png')
    .argument('<regime>', 'regime name (regimes.d/<name>.yaml) or path to a YAML file')
    .requiredOption('--out <file>', 'file to write: .html (interactive, works offline), .svg or .png')
    .option('--stream <table>', 'source table of the stream (may be left out when the regime has one)')
    .option('--from <time>', 'UTC start, YYYY-MM-DD HH:MM:SS (default: one day before --to)')
    .option('--to <time>', 'UTC end, exclusive (default: one day after --from, or the last TIMEEND written)')
    .option('--columns <names>', 'payload columns to draw, one panel each (comma separated; default: the first numeric one)')
    .option('--average', "the averager's validities (its own averager.task) instead of the scraper's")
    .option('--row <n>', 'ROW_COUNTER of the payload row to draw (regimes with unpivot write several per validity)', '1')
    .option('--max-rows <n>', 'source rows drawn at most', String(DEFAULT_MAX_SAMPLES))
    .option('--width <px>', 'width of an .svg or .png', '1200')
    .option('--source <name>', "dbconf section or URL of the source (default: the regime's)")
    .option('--target <name>', "dbconf section or URL of the target (default: the regime's)");
  addCommonOptions(cmd);
  cmd.action(async (name: string, opts: PlotOptions) => {
    const out = path.resolve(io.cwd, opts.out);
    const format = path.extname(out).toLowerCase().replace(/^\.htm$/, '.html');
    if (!['.html', '.svg', '.png'].includes(format)) throw new ScrapeError('PLOT_FORMAT', `--out ${opts.out}: give a file ending in .html, .svg or .png`);
    const rowCounter = positive('--row', opts.row);
    const maxSamples = positive('--max-rows', opts.maxRows);
    const width = positive('--width', opts.width);
    const loaded = loadRegimeForCli(name, opts, io, 'scraper');
    const dbconf = { dbconf: opts.dbconf, env: io.env };
    const locations = [resolveDatabase(opts.source ?? loaded.regime.source, dbconf), resolveDatabase(opts.target ?? loaded.regime.target, dbconf)];
    for (const location of locations) {
      if (databaseFileMissing(location)) throw new ScrapeError('DATABASE_MISSING', `database ${location.name} is a SQLite file that does not exist: ${location.filename}`);
    }
    // a PNG's browser: a missing one fails before anything is read; it starts while the databases are read
    if (format === '.png') findChromium(io.env);
    const starting = format === '.png' ? launchChromium(io.env) : undefined;
    starting?.catch(() => undefined);
    let data;
    let content: string | Buffer;
    try {
      const source = openDatabase(locations[0], { readOnly: true, decimalNumbers: true });
      const target = openDatabase(locations[1], { readOnly: true });
      try {
        data = await readPlotData({
          regime: loaded.regime,
          specs: loaded.specs,
          source,
          target,
          stream: opts.stream,
          from: opts.from,
          to: opts.to,
          columns: opts.columns?.split(',').map((c) => c.trim()).filter(Boolean),
          role: opts.average ? 'average' : 'scrape',
          rowCounter,
          maxSamples,
        });
      } finally {
        await source.destroy();
        await target.destroy();
      }
      if (format === '.html') content = renderPlotHtml(data);
      else {
        const chart = plotChartOption(data, { width });
        const svg = renderChartSvg(chart);
        content = starting ? await svgToPng(svg, chart, { browser: await starting }) : svg;
      }
    } finally {
      await (await starting?.catch(() => undefined))?.close();
    }
    fs.mkdirSync(path.dirname(out), { recursive: true });
    fs.writeFileSync(out, content);
    const truncated = data.samplesTruncated ? ` (the first ${data.samples.length}: --max-rows)` : '';
    io.stdout.write(`wrote ${opts.out}: ${data.stream} -> ${data.target} [${data.from}, ${data.to}) UTC, ${data.validities.length} validities, ${data.samples.length} source rows${truncated}\n`);
  });
};
