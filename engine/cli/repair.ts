import { ScrapeError } from '../core/errors';
import { normalizeUtcTimeText } from '../core/time';
import { resolveDatabase } from '../config/dbconf';
import { repairRegime } from '../report/repair-regime';
import { CommonOptions, addCommonOptions, cliLogger, loadRegimeForCli } from './common-options';
import { addConnectTimeoutOption, connectDatabase, connectTimeoutMs } from './connect-database';
import { RegisterCommand } from './main';

interface RepairOptions extends CommonOptions {
  source?: string;
  target?: string;
  from?: string;
  to?: string;
  stream?: string;
  connectTimeout?: string;
}

/** `scrape repair <regime> --from T --to T`: rewrites a written range as a DBI overlay (never an edit), from a replay of the source with late rows. */
export const registerRepair: RegisterCommand = (program, io) => {
  const cmd = program
    .command('repair')
    .description("rewrite the validities of a written range as a DBI overlay (newer VERSIONDATE, nothing edited or deleted) from a replay of the source including late rows; refused past the start of the context's last validity and while another writer holds the lock")
    .argument('<regime>', 'regime name or path to a YAML file')
    .requiredOption('--from <time>', 'UTC: repair from the end of the last validity ending at or before this')
    .requiredOption('--to <time>', "UTC: repair validities starting before this (at most the start of the context's last validity)")
    .option('--source <name>', "dbconf section or URL of the source (default: the regime's)")
    .option('--target <name>', "dbconf section or URL of the target (default: the regime's)")
    .option('--stream <table>', 'only this source table');
  addConnectTimeoutOption(cmd);
  addCommonOptions(cmd);
  cmd.action(async (name: string, opts: RepairOptions) => {
    if (opts.from === undefined || opts.to === undefined) throw new ScrapeError('BAD_OPTION', 'repair needs --from and --to');
    const from = normalizeUtcTimeText(opts.from, 'down');
    const to = normalizeUtcTimeText(opts.to, 'down');
    const loaded = loadRegimeForCli(name, opts, io, 'scraper');
    const logger = cliLogger(io, { ...opts, logLevel: opts.logLevel === 'info' ? 'warn' : opts.logLevel });
    const dbconf = { dbconf: opts.dbconf, env: io.env, cwd: io.cwd };
    const sourceLocation = resolveDatabase(opts.source ?? loaded.regime.source, dbconf);
    const targetLocation = resolveDatabase(opts.target ?? loaded.regime.target, dbconf);
    const timeoutMs = connectTimeoutMs(opts.connectTimeout);
    const source = await connectDatabase(sourceLocation, { readOnly: true, decimalNumbers: true, timeoutMs, logger });
    try {
      const target = await connectDatabase(targetLocation, { timeoutMs, logger });
      try {
        const done = await repairRegime({ regime: loaded.regime, specs: loaded.specs, source, target, targetLocation, logger, from, to, tables: opts.stream ? [opts.stream] : undefined });
        for (const r of done) {
          const c = r.context;
          const what = r.written === 0 ? 'nothing to repair (readers see what the replay decides)' : `${r.written} validities written (SEQNO ${r.seqnos[0]}..${r.seqnos[r.seqnos.length - 1]}) overlaying SEQNO ${r.overlays.join(', ')}`;
          io.stdout.write(`${r.stream} -> ${r.target}  sitemask ${c.sitemask} subsite ${c.subsite} simmask ${c.simmask} task ${c.task} aggregateno ${c.aggregateno}  [${r.from}, ${r.to}) UTC: ${what}\n`);
        }
      } finally {
        await target.destroy();
      }
    } finally {
      await source.destroy();
    }
  });
};
