import { PlotData } from './plot-data';

/**
 * Colours of a plot: source rows (points), validities (steps), the aggregate band, validity
 * starts (markers). The step colour is used by nothing else drawn as a line, so a reader of the
 * SVG (the tests) can tell the steps apart.
 */
export const PLOT_COLORS = { sample: '#4e79a7', step: '#d62728', riser: 'rgba(214, 39, 40, 0.5)', band: 'rgba(214, 39, 40, 0.15)', start: '#444444' } as const;

/** Series names, also the legend's entries. */
export const PLOT_SERIES_NAMES = { sample: 'source row', step: 'validity (value over [TIMESTART, TIMEEND))', start: 'validity start', band: 'min to max' } as const;

/** An ECharts option (plain JSON: no functions) and the size it is drawn at. */
export interface PlotChart {
  option: Record<string, unknown>;
  width: number;
  /** Height in pixels (the HTML page draws at its window's width and this height). */
  height: number;
}

/** How `plotChartOption` lays a plot out. */
export interface PlotChartOptions {
  /** Default 1200 (compact: 560). */
  width?: number;
  /**
   * The small plot of the status page: the first column only, steps and band, no title,
   * legend, markers or source rows.
   */
  compact?: boolean;
  /** The HTML page: tooltips, a cursor line across the panels, zoom by wheel and slider. */
  interactive?: boolean;
}

const PANEL = 230;
const TOP = 112;

/**
 * The ECharts option of a plot: one panel per column, sharing the UTC time axis (`useUTC`);
 * in each, the source rows as points, the validities as steps (one horizontal segment per
 * validity over `[TIMESTART, TIMEEND)`, broken between validities, joined by fainter risers
 * where one ends as the next starts), the aggregate band from `_min` to `_max` of each validity,
 * and a marker at each validity's start. Data
 * items carry their index in `data.validities` / `data.samples` as a third value, so the page's
 * tooltips can show the source-local times and the SEQNO.
 */
export function plotChartOption(data: PlotData, options: PlotChartOptions = {}): PlotChart {
  const compact = options.compact ?? false;
  const interactive = options.interactive ?? false;
  const series = compact ? data.series.slice(0, 1) : data.series;
  const width = options.width ?? (compact ? 560 : 1200);
  const top = compact ? 8 : TOP;
  const bottom = compact ? 0 : interactive ? 40 : 16;
  const panel = compact ? 142 : PANEL;
  // below the last grid only its axis labels: the gap left for the next panel's axis name is not needed
  const height = top + panel * series.length + bottom - (compact ? 0 : 30);
  const grids: unknown[] = [];
  const xAxes: unknown[] = [];
  const yAxes: unknown[] = [];
  const all: unknown[] = [];
  series.forEach((s, i) => {
    const gridTop = top + i * panel;
    grids.push(compact ? { left: 52, right: 12, top: gridTop + 6, height: panel - 32 } : { left: 80, right: 40, top: gridTop, height: panel - 62 });
    xAxes.push({
      type: 'time',
      gridIndex: i,
      min: data.fromMs,
      max: data.toMs,
      name: compact || i < series.length - 1 ? undefined : 'UTC',
      nameGap: 8,
      axisLabel: { hideOverlap: true, fontSize: compact ? 10 : 12 },
      splitLine: { show: !compact, lineStyle: { color: '#eeeeee' } },
      ...(interactive ? { axisPointer: { show: true, snap: false, label: { show: i === series.length - 1, lineHeight: 16 } } } : {}),
    });
    yAxes.push({
      type: 'value',
      gridIndex: i,
      scale: true,
      name: compact ? undefined : data.rowCounter === 1 ? s.column : `${s.column} (row ${data.rowCounter})`,
      nameTextStyle: { align: 'left' },
      axisLabel: { fontSize: compact ? 10 : 12 },
      splitLine: { lineStyle: { color: '#eeeeee' } },
    });
    const steps: Array<[number, number | null]> = [];
    const risers: Array<[number, number | null]> = [];
    const starts: Array<[number, number, number]> = [];
    const bandLow: Array<[number, number | null]> = [];
    const bandHeight: Array<[number, number | null]> = [];
    let previous: { endMs: number; value: number } | undefined;
    let bandEnd: number | undefined;
    data.validities.forEach((v, k) => {
      const value = v.values[s.column];
      if (value !== null && value !== undefined) {
        steps.push([v.startMs, value], [v.endMs, value], [v.endMs, null]);
        starts.push([v.startMs, value, k]);
        if (previous && previous.endMs === v.startMs && previous.value !== value) risers.push([v.startMs, previous.value], [v.startMs, value], [v.startMs, null]);
        previous = { endMs: v.endMs, value };
      } else previous = undefined;
      const lo = s.band ? v.values[s.band.min] : null;
      const hi = s.band ? v.values[s.band.max] : null;
      if (lo !== null && lo !== undefined && hi !== null && hi !== undefined) {
        // one polygon over contiguous validities (visible however narrow each is), broken at gaps
        if (bandEnd !== undefined && bandEnd !== v.startMs) {
          bandLow.push([bandEnd, null]);
          bandHeight.push([bandEnd, null]);
        }
        bandLow.push([v.startMs, lo], [v.endMs, lo]);
        bandHeight.push([v.startMs, hi - lo], [v.endMs, hi - lo]);
        bandEnd = v.endMs;
      }
    });
    const axes = { xAxisIndex: i, yAxisIndex: i };
    if (s.sourceColumn && !compact) {
      const points: Array<[number, number, number]> = [];
      data.samples.forEach((row, k) => {
        const value = row.values[s.sourceColumn!];
        if (value !== null && value !== undefined) points.push([row.ms, value, k]);
      });
      all.push({ id: `samples-${i}`, name: PLOT_SERIES_NAMES.sample, type: 'scatter', ...axes, data: points, symbolSize: 4, large: true, itemStyle: { color: PLOT_COLORS.sample, opacity: 0.75 }, z: 2 });
    }
    if (bandLow.length) {
      // the band: the height (max - min) stacked on an invisible line at min, the area between filled
      const line = { type: 'line', ...axes, stack: `band-${i}`, showSymbol: false, connectNulls: false, silent: true, emphasis: { disabled: true }, lineStyle: { opacity: 0 }, z: 1 };
      all.push({ ...line, id: `band-low-${i}`, name: 'band low', data: bandLow });
      all.push({ ...line, id: `band-${i}`, name: PLOT_SERIES_NAMES.band, data: bandHeight, areaStyle: { color: PLOT_COLORS.band, opacity: 1 }, itemStyle: { color: PLOT_COLORS.band } });
    }
    if (risers.length) {
      all.push({ id: `risers-${i}`, name: PLOT_SERIES_NAMES.step, type: 'line', ...axes, data: risers, showSymbol: false, connectNulls: false, silent: true, emphasis: { disabled: true }, lineStyle: { color: PLOT_COLORS.riser, width: 1 }, itemStyle: { color: PLOT_COLORS.step }, z: 3 });
    }
    all.push({
      id: `steps-${i}`,
      name: PLOT_SERIES_NAMES.step,
      type: 'line',
      ...axes,
      data: steps,
      showSymbol: false,
      connectNulls: false,
      silent: true,
      // drawn as given whatever the cursor does (a highlight would change its colour)
      emphasis: { disabled: true },
      lineStyle: { color: PLOT_COLORS.step, width: compact ? 1.5 : 2 },
      itemStyle: { color: PLOT_COLORS.step },
      z: 3,
    });
    if (!compact) {
      all.push({ id: `starts-${i}`, name: PLOT_SERIES_NAMES.start, type: 'scatter', ...axes, data: starts, symbol: 'rect', symbolSize: [1.5, 8], large: true, itemStyle: { color: PLOT_COLORS.start, opacity: 0.7 }, z: 4 });
    }
  });
  const c = data.context;
  const option: Record<string, unknown> = {
    animation: false,
    useUTC: true,
    backgroundColor: '#ffffff',
    textStyle: { fontFamily: 'sans-serif' },
    grid: grids,
    xAxis: xAxes,
    yAxis: yAxes,
    series: all,
  };
  if (!compact) {
    const shown = data.samplesTruncated ? `first ${data.samples.length} source rows` : `${data.samples.length} source rows`;
    option.title = {
      left: 16,
      top: 8,
      itemGap: 8,
      textStyle: { fontSize: 18, lineHeight: 22 },
      subtextStyle: { fontSize: 12, lineHeight: 16 },
      text: `${data.regime}${data.role === 'average' ? ' (averager)' : ''}: ${data.stream} → ${data.target}`,
      subtext: `sitemask ${c.sitemask} subsite ${c.subsite} simmask ${c.simmask} task ${c.task} · UTC ${data.from} – ${data.to} · source-local times in ${data.zone} · ${data.validities.length} validities, ${shown}`,
    };
    option.legend = { top: 60, left: 16, data: [PLOT_SERIES_NAMES.sample, PLOT_SERIES_NAMES.step, PLOT_SERIES_NAMES.start, ...(series.some((s) => s.band) ? [{ name: PLOT_SERIES_NAMES.band, icon: 'rect' }] : [])] };
  }
  if (interactive) {
    const every = series.map((_, i) => i);
    option.tooltip = { trigger: 'item', confine: true };
    option.axisPointer = { link: [{ xAxisIndex: 'all' }], label: { backgroundColor: '#555555', lineHeight: 16 } };
    option.dataZoom = [
      { type: 'inside', xAxisIndex: every, filterMode: 'none' },
      { type: 'slider', xAxisIndex: every, filterMode: 'none', bottom: 8, height: 22, showDataShadow: false, labelFormatter: '' },
    ];
  }
  return { option, width, height };
}
