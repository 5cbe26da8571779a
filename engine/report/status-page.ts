import { addMs, utcNowText } from '../core/time';
import { regimeForRole } from '../config/regime-defaults';
import { discoverStreams } from '../source/source-stream';
import { describeError } from '../stream/retry';
import { StatusPageView } from '../session/regime-session';
import { renderChartSvg } from './chart-svg';
import { formatLag } from './format-lag';
import { plotChartOption } from './plot-chart';
import { readPlotData } from './plot-data';
import { OFFLINE_CSP, escapeHtml } from './plot-html';
import { StreamStatus, streamStatuses } from './stream-status';

/** Seconds between reloads of the status page unless `?refresh=N` says otherwise. */
export const DEFAULT_REFRESH_SECONDS = 30;
/** Hours of validities in each stream's plot unless `?hours=N` says otherwise. */
export const DEFAULT_PLOT_HOURS = 6;

/** `?name=N` as an integer within `[min, max]`, else `fallback`. */
function queryNumber(query: URLSearchParams, name: string, fallback: number, min: number, max: number): number {
  const text = query.get(name);
  if (text === null || !/^\d+$/.test(text)) return fallback;
  return Math.min(max, Math.max(min, Number(text)));
}

const STYLE = `
body { font-family: sans-serif; margin: 16px 24px; color: #222; background: #fff; }
header h1 { font-size: 20px; margin: 0 0 4px; }
header p { margin: 0 0 16px; color: #555; font-size: 13px; }
.health { display: inline-block; padding: 1px 8px; border-radius: 8px; font-size: 13px; color: #fff; background: #2e7d32; vertical-align: middle; }
.health.standby, .health.starting { background: #1565c0; }
.health.down { background: #c62828; }
section.stream { border-top: 1px solid #ddd; padding: 12px 0; display: flex; flex-wrap: wrap; gap: 16px 32px; }
section.stream h2 { font-size: 16px; margin: 0 0 6px; width: 100%; }
section.stream h2 small { font-weight: normal; color: #666; }
table { border-collapse: collapse; font-size: 13px; align-self: flex-start; }
th { text-align: left; font-weight: normal; color: #666; padding: 2px 16px 2px 0; vertical-align: top; }
td { padding: 2px 0; }
.warn { color: #b26a00; }
.problem { color: #c62828; }
figure { margin: 0; }
figcaption { font-size: 12px; color: #666; }
`;

/**
 * The status page of a running scraper or averager (`GET /` of its metrics server): the
 * process's health, and per stream its last validity (UTC and source-local), the newest source
 * row, lag, staleness, writes in the last hour and in all (counted for the page only), late and quarantined rows, the lock
 * holder (what `scrape status` prints), and a small plot of its last `?hours=N` (default 6) of
 * validities up to its last TIMEEND (steps and `_min`/`_max` band, drawn as SVG in Node). Plain
 * HTML without scripts that reloads itself every `?refresh=N` seconds (default 30) and fetches
 * nothing (`OFFLINE_CSP`). A stream whose figures cannot be read says why in its place.
 */
export async function renderStatusPage(view: StatusPageView): Promise<string> {
  const refresh = queryNumber(view.query, 'refresh', DEFAULT_REFRESH_SECONDS, 1, 3600);
  const hours = queryNumber(view.query, 'hours', DEFAULT_PLOT_HOURS, 1, 24 * 31);
  const now = view.clock.now();
  const h = view.health;
  const who = view.role === 'average' ? 'averager' : 'scraper';
  const healthBadge = h ? ` <span class="health ${h.status}" title="${escapeHtml(h.reason ?? '')}">${h.status}</span>` : '';
  let body: string;
  try {
    const regime = regimeForRole(view.regime, view.role);
    // the page counts every validity of each stream (a human looks at it now and then; `scrape status` does not)
    const statuses = await streamStatuses({ regime: view.regime, specs: view.specs, source: view.source, target: view.target, clock: view.clock, role: view.role, countAll: true });
    const streams = await discoverStreams(view.source, regime);
    const sections: string[] = [];
    for (const s of statuses) {
      let figure = '';
      if (s.last) {
        try {
          const to = s.last.timeend.utc;
          const data = await readPlotData({ regime: view.regime, specs: view.specs, source: view.source, target: view.target, streams, stream: s.table, table: s.target, role: view.role, from: addMs(to, -hours * 3_600_000), to, maxSamples: false });
          const svg = renderChartSvg(plotChartOption(data, { compact: true }));
          const column = data.series[0];
          figure = `<figure class="plot" data-validities="${data.validities.length}" data-from="${data.from}" data-to="${data.to}">${svg}<figcaption>${escapeHtml(column.column)}${column.band ? ` (band ${escapeHtml(column.band.min)} to ${escapeHtml(column.band.max)})` : ''}: ${data.validities.length} validities in the last ${hours} h written, [${data.from}, ${data.to}) UTC</figcaption></figure>`;
        } catch (err) {
          figure = `<p class="problem">plot: ${escapeHtml(describeError(err))}</p>`;
        }
      }
      sections.push(streamSection(s, figure));
    }
    body = sections.join('\n') || '<p>no streams</p>';
  } catch (err) {
    body = `<p class="problem">cannot read the databases: ${escapeHtml(describeError(err))}</p>`;
  }
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${OFFLINE_CSP}">
<meta http-equiv="refresh" content="${refresh}">
<title>scrape ${escapeHtml(view.regime.name)}${h ? ` (${h.status})` : ''}</title>
<style>${STYLE}</style>
</head>
<body>
<header>
<h1>scrape · ${escapeHtml(view.regime.name)} ${who}${healthBadge}</h1>
<p>${h?.reason ? `<span class="${h.healthy ? 'warn' : 'problem'}">${escapeHtml(h.reason)}</span> · ` : ''}rendered ${utcNowText(now)} UTC · reloads every ${refresh} s · <a href="/metrics">metrics</a> · <a href="/healthz">healthz</a></p>
</header>
${body}
</body>
</html>
`;
}

/** One stream's figures and plot. */
function streamSection(s: StreamStatus, figure: string): string {
  const c = s.context;
  const rows: Array<[string, string]> = [];
  if (s.problem) rows.push(['problem', `<span class="problem">${escapeHtml(s.problem)}</span>`]);
  rows.push([
    'last validity',
    s.last
      ? `SEQNO ${s.last.seqno} [${s.last.timestart.utc}, ${s.last.timeend.utc}) UTC<br>[${s.last.timestart.local}, ${s.last.timeend.local}) ${escapeHtml(s.zone)}`
      : 'none yet',
  ]);
  rows.push(['source latest', s.sourceLatest ? `${s.sourceLatest} ${escapeHtml(s.zone)}` : 'no rows']);
  rows.push(['lag', s.lagMs === undefined ? 'n/a' : formatLag(s.lagMs)]);
  rows.push(['staleness', s.stalenessMs === undefined ? 'n/a' : formatLag(s.stalenessMs)]);
  rows.push(['writes', `${s.writesLastHour} in the last hour, ${s.validities} in all${s.last ? ` (last inserted ${s.last.insertDate} UTC)` : ''}`]);
  const late = s.late;
  rows.push(['late rows', late ? (late.count ? `<span class="warn">${late.count}, first id ${late.first?.id} at ${late.first?.date_time}</span>` : '0') : 'not tracked']);
  const q = s.quarantined;
  rows.push(['quarantined', q.count ? `<span class="warn">${q.count} dated after ${q.horizon}${q.first ? `, first id ${q.first.id} at ${q.first.date_time}` : ''}</span>` : '0']);
  rows.push(['lock', !s.lock ? 'unknown' : s.lock.held ? `held${s.lock.holder ? ` by ${escapeHtml(s.lock.holder)}` : ''}` : 'free']);
  const table = `<table>${rows.map(([k, v]) => `<tr><th>${k}</th><td>${v}</td></tr>`).join('')}</table>`;
  return `<section class="stream" data-stream="${escapeHtml(s.table)}" data-target="${escapeHtml(s.target)}" data-validities="${s.validities}">
<h2>${escapeHtml(s.table)} → ${escapeHtml(s.target)} <small>sitemask ${c.sitemask} subsite ${c.subsite} simmask ${c.simmask} task ${c.task}</small></h2>
${table}
${figure}
</section>`;
}
