import * as fs from 'fs';
import * as path from 'path';
import type * as Echarts from 'echarts';
import { PlotChart } from './plot-chart';

/** ECharts, loaded on first use (a third of a second): commands that draw nothing never load it. */
function echarts(): typeof Echarts {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require('echarts') as typeof Echarts;
}

/**
 * Draws a chart as a standalone SVG document in Node, through ECharts' server-side SVG renderer
 * (no browser, no DOM): what `scrape plot --out x.svg` writes and the status page inlines.
 */
export function renderChartSvg(chart: PlotChart): string {
  const instance = echarts().init(null, null, { renderer: 'svg', ssr: true, width: chart.width, height: chart.height });
  try {
    instance.setOption(chart.option);
    return instance.renderToSVGString();
  } finally {
    instance.dispose();
  }
}

let browserScript: string | undefined;

/**
 * ECharts' own browser build (line, scatter, grid, tooltip, legend, zoom, marks; SVG and canvas
 * renderers: about 700 kB), read once from the installed package, for inlining into a page that
 * must work offline.
 */
export function echartsBrowserScript(): string {
  browserScript ??= fs.readFileSync(path.join(path.dirname(require.resolve('echarts')), 'echarts.common.min.js'), 'utf8');
  return browserScript;
}
