import { echartsBrowserScript } from './chart-svg';
import { PlotData } from './plot-data';
import { plotChartOption } from './plot-chart';

/**
 * Content-Security-Policy of every page `scrape` makes: inline scripts and styles only, nothing
 * fetched from anywhere (not even the page's own server), so a page works offline and cannot
 * leak a request.
 */
export const OFFLINE_CSP = "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:";

/** `text` safe inside HTML text and attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** JSON safe inside a `<script>` element (no `</script>`, no `<!--`). */
function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

/**
 * The page's own script: draws the option with ECharts' SVG renderer, adds what JSON cannot
 * hold (tooltips with UTC and source-local times, the cursor label in both), redraws on resize
 * and sets `data-rendered` on the plot once drawn.
 */
const PAGE_SCRIPT = `
(function () {
  var D = JSON.parse(document.getElementById('plot-data').textContent);
  var el = document.getElementById('plot');
  var local = new Intl.DateTimeFormat('sv-SE', { timeZone: D.zone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' });
  function utc(ms) { return new Date(ms).toISOString().slice(0, 19).replace('T', ' '); }
  function esc(s) { return String(s).replace(/[&<>"]/g, function (c) { return { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' }[c]; }); }
  function val(v) { return v === null || v === undefined ? 'NULL' : String(v); }
  var option = D.option;
  var items = {};
  option.series.forEach(function (s) { items[s.id] = s.data; });
  option.tooltip.formatter = function (p) {
    // large series hand no value to the formatter: the item is looked up by its index
    var item = items[p.seriesId] && items[p.seriesId][p.dataIndex];
    if (!item) return '';
    var i = item[2];
    var s = D.series[Number(String(p.seriesId).split('-').pop())];
    if (String(p.seriesId).indexOf('samples-') === 0) {
      var r = D.samples[i];
      return 'source row id ' + r.id + '<br>' + esc(s.sourceColumn) + ' = ' + val(r.values[s.sourceColumn]) +
        '<br>UTC ' + utc(r.ms) + '<br>local ' + esc(r.local) + ' (' + esc(D.zone) + ')';
    }
    var v = D.validities[i];
    var band = s.band ? '<br>' + esc(s.band.min) + ' ' + val(v.values[s.band.min]) + ', ' + esc(s.band.max) + ' ' + val(v.values[s.band.max]) : '';
    return 'SEQNO ' + v.seqno + ': ' + esc(s.column) + ' = ' + val(v.values[s.column]) + band +
      '<br>UTC [' + v.start.utc + ', ' + v.end.utc + ')' +
      '<br>local [' + esc(v.start.local) + ', ' + esc(v.end.local) + ') (' + esc(D.zone) + ')' +
      '<br>inserted ' + v.insertDate + ' UTC';
  };
  option.xAxis.forEach(function (axis) {
    if (axis.axisPointer) axis.axisPointer.label.formatter = function (p) {
      return utc(p.value) + ' UTC\\n' + local.format(new Date(p.value)) + ' ' + D.zone;
    };
  });
  var chart = echarts.init(el, null, { renderer: 'svg' });
  chart.on('finished', function () { el.setAttribute('data-rendered', 'true'); });
  chart.setOption(option);
  window.addEventListener('resize', function () { chart.resize(); });
})();
`;

/**
 * A plot as one self-contained HTML file: ECharts' browser build and the data inlined, no
 * request to anywhere (`OFFLINE_CSP`), drawn as SVG in the page. Hovering shows a row's or a
 * validity's UTC and source-local times (and SEQNO, values, band, INSERTDATE); the cursor line
 * runs across the panels with its time in UTC and source-local; the wheel and the slider zoom.
 * The plot element carries `data-validities` and `data-samples` (how many were read).
 */
export function renderPlotHtml(data: PlotData): string {
  const chart = plotChartOption(data, { interactive: true });
  const title = `${data.regime}: ${data.stream} → ${data.target}, ${data.from} – ${data.to} UTC`;
  const payload = { zone: data.zone, series: data.series, validities: data.validities, samples: data.samples, option: chart.option };
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${OFFLINE_CSP}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>html, body { margin: 0; background: #fff; font-family: sans-serif; } #plot { width: 100%; min-width: 640px; }</style>
</head>
<body>
<div id="plot" style="height: ${chart.height}px" data-validities="${data.validities.length}" data-samples="${data.samples.length}"></div>
<script>${echartsBrowserScript()}</script>
<script type="application/json" id="plot-data">${scriptJson(payload)}</script>
<script>${PAGE_SCRIPT}</script>
</body>
</html>
`;
}
