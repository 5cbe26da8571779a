import { runAverager } from '../averager/averager';
import { describeLocation, openDatabase } from '../db/open-database';
import { resolveDatabase } from '../config/dbconf';
import { ScrapeError } from '../core/errors';
import { streamLogger } from './io';
import { RegisterCommand } from './main';
import { RegimeLock } from '../session/regime-lock';
import { CommonOptions, acquireRegimeLock, addCommonOptions, effectiveSettingsText, loadRegimeForCli, shutdownSignal, watchLock } from './run';

interface AverageOptions extends CommonOptions {
  source?: string;
  target?: string;
  untilCaughtUp?: boolean;
  tables?: string;
  allowDropCreateTable?: boolean;
  dropTargetTables?: boolean;
  help?: boolean;
  standby?: boolean;
}

/**
 * `scrape average <regime>`: the averager (the manual's `scr.py -s adlid_averager`). One validity
 * per complete DB-time bin with the bin's aggregates; resumes from the target, catches up in
 * chunks, then waits for the next bin unless `--until-caught-up`. SIGINT/SIGTERM stop it between
 * chunks (exit 0).
 */
export const registerAverage: RegisterCommand = (program, io, setExit) => {
  const cmd = program
    .command('average')
    .description('average a regime over DB-time bins: one validity per complete bin with its aggregates and count')
    .argument('[regime]', 'regime name (regimes.d/<name>.yaml) or path to a YAML file')
    .helpOption(false)
    .option('-h, --help', 'show this help and, with a regime, its effective averager settings')
    .option('--source <name>', "dbconf section or URL of the source (default: the regime's)")
    .option('--target <name>', "dbconf section or URL of the target (default: the regime's)")
    .option('--until-caught-up', 'exit 0 once every complete bin present is written (default: keep waiting for new bins)')
    .option('--tables <names>', 'only these source tables (comma separated)')
    .option('--allow-drop-create-table', 'create missing target tables (the manual\'s --ALLOW_DROP_CREATE_TABLE)')
    .option('--drop-target-tables', 'drop and recreate the target tables first, for a rerunnable full average (with --allow-drop-create-table)')
    .option('--standby', 'when another averager holds the regime lock on the target, wait and take over when it dies');
  addCommonOptions(cmd);
  cmd.action(async (name: string | undefined, opts: AverageOptions) => {
    if (opts.help || !name) {
      io.stdout.write(cmd.helpInformation());
      if (name) io.stdout.write('\n' + effectiveSettingsText(loadRegimeForCli(name, opts, io, 'averager'), 'averager'));
      if (!name && !opts.help) setExit(1);
      return;
    }
    if (opts.dropTargetTables && !opts.allowDropCreateTable) {
      throw new ScrapeError('USAGE', '--drop-target-tables needs --allow-drop-create-table too');
    }
    const loaded = loadRegimeForCli(name, opts, io, 'averager');
    const logger = streamLogger(io, opts.logLevel, opts.logFormat);
    const dbconf = { dbconf: opts.dbconf, env: io.env };
    const sourceLoc = resolveDatabase(opts.source ?? loaded.regime.source, dbconf);
    const targetLoc = resolveDatabase(opts.target ?? loaded.regime.target, dbconf);
    for (const w of [...sourceLoc.warnings, ...targetLoc.warnings]) logger.log('warn', w);
    const a = loaded.regime.averager;
    logger.log('info', `averager ${loaded.regime.name}: ${describeLocation(sourceLoc)} -> ${describeLocation(targetLoc)} bin ${a.bin} chunk ${a.chunk}`);
    // DECIMAL readings as numbers: the rows only feed accumulators and float payloads.
    const shutdown = shutdownSignal(logger);
    let lock: RegimeLock | undefined;
    try {
      lock = await acquireRegimeLock('average', loaded.regime.name, targetLoc, logger, shutdown.signal, opts.standby, io.env);
    } finally {
      if (!lock) shutdown.dispose();
    }
    if (!lock) return; // stopped while standing by
    const source = openDatabase(sourceLoc, { readOnly: true, decimalNumbers: true });
    const target = openDatabase(targetLoc);
    const lockLost = new AbortController();
    const watch = watchLock(lock, logger, () => lockLost.abort(), io.env);
    const signal = AbortSignal.any([shutdown.signal, lockLost.signal]);
    try {
      const report = await runAverager({
        regime: loaded.regime,
        specs: loaded.specs,
        source,
        target,
        targetLocation: targetLoc,
        logger,
        signal,
        untilCaughtUp: opts.untilCaughtUp,
        tables: opts.tables?.split(',').map((t) => t.trim()).filter(Boolean),
        allowCreate: opts.allowDropCreateTable,
        dropTargets: opts.dropTargetTables,
      });
      if (watch.lost()) {
        throw new ScrapeError('LOCK_LOST', `lost the averager lock of regime ${loaded.regime.name} on ${describeLocation(targetLoc)}: stopped writing`, { transient: true });
      }
      for (const s of report.streams) {
        logger.log('info', `done ${s.table}: resumed at ${s.resumedAt}, ${s.rowsRead} rows read, ${s.chunks} chunks, ${s.validities} validities`);
      }
    } finally {
      watch.stop();
      shutdown.dispose();
      await source.destroy();
      await target.destroy();
      await lock.release();
    }
  });
};
