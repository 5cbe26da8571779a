/**
 * The public API of `scrape`, for programs that embed the engine instead of running the CLI.
 * Everything here runs without `bin/` or `cli/`: nothing reads argv, prints or exits; clocks and
 * loggers are injected; errors are `ScrapeError`s with a code from `ERROR_CODES`.
 *
 * ```js
 * const scrape = require('scrape');
 * const loaded = scrape.loadRegime('adtemp');
 * const source = scrape.openDatabase(scrape.resolveDatabase('fake_dcs'), { readOnly: true });
 * const targetLocation = scrape.resolveDatabase('tmp_offline_db');
 * const target = scrape.openDatabase(targetLocation);
 * const report = await scrape.runScraper({ ...loaded, source, target, targetLocation, logger: new scrape.MemoryLogger(), untilCaughtUp: true, allowCreate: true });
 * ```
 */

// core: errors, clock, logger, time
export { ScrapeError, isScrapeError } from './core/errors';
export { ERROR_CODES } from './core/error-codes';
export type { ErrorCode } from './core/error-codes';
export { ManualClock, systemClock } from './core/clock';
export type { Clock } from './core/clock';
export { MemoryLogger, silentLogger, LOG_LEVELS } from './core/logger';
export type { Logger, LogLevel } from './core/logger';
export { localToUtc, utcToLocal, parseDuration } from './core/time';
export { maskPasswords } from './core/mask-passwords';

// config: regimes and databases
export { loadRegime, checkRegimeFile, renderDiagnostics, applySettingOverrides } from './config/load-regime';
export type { LoadedRegime, Diagnostic, RegimeLookup } from './config/load-regime';
export type { Regime } from './config/regime';
export { resolveDatabase, parseDatabaseUrl } from './config/dbconf';
export type { DatabaseLocation, DbconfOptions } from './config/dbconf';
export { openDatabase, describeLocation } from './db/open-database';
export type { OpenOptions } from './db/open-database';
export { waitForDatabase } from './db/wait-for-database';
export type { WaitForDatabaseOptions } from './db/wait-for-database';
export { databaseError } from './db/database-error';

// running: scraper, averager, faker, and the long-running session around them
export { runScraper } from './scraper/scraper';
export type { ScraperOptions, ScraperReport } from './scraper/scraper';
export { runAverager } from './averager/averager';
export type { AveragerOptions, AveragerReport } from './averager/averager';
export type { RunOptions } from './stream/run-options';
export type { StreamObserver } from './stream/stream-observer';
export type { StepResult, StreamTotals, StreamWorker } from './stream/stream-worker';
export { runBatchFaker, runLiveFaker } from './faker/faker';
export type { BatchFakerOptions, LiveFakerOptions, FakerResult } from './faker/faker';
export { runRegimeSession } from './session/regime-session';
export type { RegimeSessionOptions } from './session/regime-session';

// reading the target as DBI does
export { readContextAt, readAt, lastValidity, validitiesInRange } from './dbi/dbi-reader';
export type { VldRow, DbiReadQuery, DbiAggregate, ReadAtQuery, ValidityWithRow } from './dbi/dbi-reader';

// pictures: a stream over a time range (data, ECharts option, SVG, HTML, PNG), the status page
export { readPlotData } from './report/plot-data';
export type { PlotData, PlotDataInput, PlotSeries, PlotValidity, PlotSample } from './report/plot-data';
export { plotChartOption } from './report/plot-chart';
export type { PlotChart, PlotChartOptions } from './report/plot-chart';
export { renderChartSvg } from './report/chart-svg';
export { renderPlotHtml } from './report/plot-html';
export { svgToPng } from './report/svg-to-png';
export { renderStatusPage } from './report/status-page';
export type { StatusPageView } from './session/regime-session';
