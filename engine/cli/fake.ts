import { systemClock } from '../core/clock';
import { describeLocation } from '../db/open-database';
import { resolveDatabase } from '../config/dbconf';
import { ScrapeError } from '../core/errors';
import { applySettingOverrides, loadRegime } from '../config/load-regime';
import { normalizeTimeText } from '../core/time';
import { FakerResult, assertFakeDatabase, runBatchFaker, runLiveFaker } from '../faker/faker';
import { Logger } from '../core/logger';
import { CliIo } from './io';
import { LogOptions, addLogOptions, cliLogger } from './common-options';
import { RegisterCommand } from './main';
import { shutdownSignal } from '../session/shutdown-signal';
import { addConnectTimeoutOption, connectDatabase, connectTimeoutMs } from './connect-database';

/**
 * Progress on stderr: a redrawn bar on a terminal (human log lines only), otherwise an info log
 * line every ~5 s (`fake  42.0% 840000/2000000 after 5 s`, JSON with `done`, `total`), so logs
 * of long batch runs stay readable and collectors get only log lines.
 */
export function progressReporter(io: CliIo, logger: Logger, opts: Partial<LogOptions>, label: string, unit: (n: number) => string = String): { update(done: number, total: number): void; finish(): void } {
  const tty = !!io.stderr.isTTY && opts.logFormat !== 'json';
  const started = Date.now();
  let last = tty ? 0 : started;
  let drawn = false;
  return {
    update(done, total) {
      const now = Date.now();
      if (now - last < (tty ? 100 : 5000)) return;
      last = now;
      const fraction = total > 0 ? Math.min(1, done / total) : 0;
      const pct = `${(fraction * 100).toFixed(1).padStart(5)}%`;
      const secs = (now - started) / 1000;
      if (tty) {
        const width = 30;
        const bar = '#'.repeat(Math.round(fraction * width)).padEnd(width, '.');
        io.stderr.write(`\r${label} [${bar}] ${pct} ${unit(done)}/${unit(total)} ${secs.toFixed(0)}s `);
        drawn = true;
      } else {
        logger.log('info', `${label} ${pct} ${unit(done)}/${unit(total)} after ${secs.toFixed(0)} s`, { done, total, seconds: Math.round(secs) });
      }
    },
    finish() {
      if (drawn) io.stderr.write('\n');
    },
  };
}

function wholeNumber(text: string | undefined, flag: string): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text)) throw new ScrapeError('BAD_OPTION', `${flag} ${text}: expected a whole number`, { hint: `give a whole number, e.g. ${flag} 100` });
  return Number(text);
}

/** The final line of a faker run: rows per table and the rate. */
export function fakerSummary(result: FakerResult): string {
  const perTable = Object.entries(result.rows).map(([t, n]) => `${t} ${n}`).join(', ');
  const secs = result.elapsedMs / 1000;
  const rate = secs > 0 ? Math.round(result.total / secs) : result.total;
  return `faked ${result.total} rows${perTable ? ` (${perTable})` : ''} in ${secs.toFixed(1)} s, ${rate} rows/s` +
    (result.iterations ? `, ${result.iterations} iterations` : '');
}

interface FakeCliOptions extends LogOptions {
  source?: string;
  dbconf?: string;
  regimes?: string;
  specDir?: string;
  maxiter?: string;
  timestart?: string;
  count?: string;
  from?: string;
  to?: string;
  dropsrc?: boolean;
  seedRandom?: string;
  tables?: string;
  set?: string[];
  connectTimeout?: string;
}

/** `scrape fake <regime>`: synthetic rows into the regime's fake source tables. */
export const registerFake: RegisterCommand = (program, io) => {
  const cmd = program
    .command('fake')
    .description("write synthetic rows into a regime's source tables in a fake database: live (one row per table per interval) or a batch (--count, --from/--to)")
    .argument('<regime>', 'regime name (regimes.d/<name>.yaml) or path to a YAML file')
    .option('--source <name>', "dbconf section or URL to write (default: faker.source, else the regime's source)")
    .option('--dbconf <file>', 'dbconf file looked in first (then $SCRAPE_DBCONF, ~/.my.cnf, the shipped dbconf.ini)')
    .option('--regimes <dir>', 'folder of regime YAML files (default $SCRAPE_REGIMES or ./regimes.d)')
    .option('--spec-dir <dir>', 'folder of .spec files (default: the project spec/)')
    .option('--maxiter <n>', 'live: stop after n iterations (0 = forever)', '0')
    .option('--timestart <time>', 'reproducible DB time: date_time = T + id x interval')
    .option('--count <n>', 'batch: write n rows per table, as fast as the database takes them')
    .option('--from <time>', 'batch: one row per interval from this local time ...')
    .option('--to <time>', '... up to (excluding) this one')
    .option('--dropsrc', 'drop and recreate the fake tables first (fake databases only)')
    .option('--seed-random <n>', 'seed of random profiles (default faker.seed)')
    .option('--tables <names>', 'only these of the faked tables (comma separated)')
    .option('--set <key=value>', 'override a faker setting, e.g. --set interval=1s (repeatable)', (v: string, prev: string[] = []) => [...prev, v]);
  addLogOptions(cmd);
  addConnectTimeoutOption(cmd, 'how long an unreachable database is waited for at start before exit 1');
  cmd.action(async (name: string, opts: FakeCliOptions) => {
    const logger = cliLogger(io, opts);
    const loaded = loadRegime(name, { regimesDir: opts.regimes, specDir: opts.specDir, cwd: io.cwd, env: io.env });
    let regime = opts.set?.length ? applySettingOverrides(loaded.regime, opts.set, 'faker') : loaded.regime;
    regime = { ...regime, faker: { ...regime.faker } };
    if (opts.timestart !== undefined) regime.faker.timestart = normalizeTimeText(opts.timestart);
    const seed = wholeNumber(opts.seedRandom, '--seed-random');
    if (seed !== undefined) regime.faker.seed = seed;
    const count = wholeNumber(opts.count, '--count');
    const maxiter = wholeNumber(opts.maxiter, '--maxiter') ?? 0;
    const timeoutMs = connectTimeoutMs(opts.connectTimeout);
    const tables = opts.tables ? opts.tables.split(',').map((s) => s.trim()).filter(Boolean) : undefined;
    const sourceName = opts.source ?? regime.faker.source ?? regime.source;
    const location = resolveDatabase(sourceName, { dbconf: opts.dbconf, env: io.env, cwd: io.cwd });
    for (const w of location.warnings) logger.log('warn', w);
    assertFakeDatabase(location); // before anything is opened or created
    const interrupt = shutdownSignal(logger);
    let db: Awaited<ReturnType<typeof connectDatabase>>;
    try {
      db = await connectDatabase(location, { timeoutMs, logger, signal: interrupt.signal });
    } catch (err) {
      interrupt.dispose();
      throw err;
    }
    try {
      const common = {
        db,
        location,
        regime,
        regimeFile: loaded.file,
        tables,
        dropsrc: opts.dropsrc ? true : undefined,
        logger,
        signal: interrupt.signal,
      };
      logger.log('info', `fake ${regime.name} -> ${describeLocation(location)}`);
      let result: FakerResult;
      if (count !== undefined || opts.from !== undefined || opts.to !== undefined) {
        const progress = progressReporter(io, logger, opts, 'fake');
        result = await runBatchFaker({
          ...common,
          count,
          from: opts.from,
          to: opts.to,
          clock: systemClock,
          onProgress: (p) => progress.update(p.rows, p.total),
        });
        progress.finish();
      } else {
        result = await runLiveFaker({ ...common, clock: systemClock, maxiter });
      }
      io.stdout.write(fakerSummary(result) + '\n');
    } finally {
      interrupt.dispose();
      await db.destroy();
    }
  });
};
