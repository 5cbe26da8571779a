import { ScrapeError } from '../core/errors';
import { normalizeUtcTimeText } from '../core/time';
import { repairRegime } from '../report/repair-regime';
import { addCommonOptions } from './common-options';
import { addConnectTimeoutOption } from './connect-database';
import { RegisterCommand } from './main';
import { RegimeDatabaseOptions, withRegimeDatabases } from './regime-databases';

interface RepairOptions extends RegimeDatabaseOptions {
  from?: string;
  to?: string;
  stream?: string;
  average?: boolean;
}

/** `scrape repair <regime> --from T --to T [--average]`: rewrites a written range as a DBI overlay (never an edit), from a replay of the source with late rows. */
export const registerRepair: RegisterCommand = (program, io) => {
  const cmd = program
    .command('repair')
    .description("rewrite the validities of a written range as a DBI overlay (newer VERSIONDATE, nothing edited or deleted) from a replay of the source including late rows; refused past the start of the context's last validity and while another writer holds the lock")
    .argument('<regime>', 'regime name or path to a YAML file')
    .requiredOption('--from <time>', 'UTC: repair from the end of the last validity ending at or before this')
    .requiredOption('--to <time>', "UTC: repair validities starting before this (at most the start of the context's last validity)")
    .option('--source <name>', "dbconf section or URL of the source (default: the regime's)")
    .option('--target <name>', "dbconf section or URL of the target (default: the regime's)")
    .option('--stream <table>', 'only this source table')
    .option('--average', "repair the averager's validities (its bins, its TASK) instead of the scraper's");
  addConnectTimeoutOption(cmd);
  addCommonOptions(cmd);
  cmd.action(async (name: string, opts: RepairOptions) => {
    if (opts.from === undefined || opts.to === undefined) throw new ScrapeError('BAD_OPTION', 'repair needs --from and --to');
    const from = normalizeUtcTimeText(opts.from, 'down');
    const to = normalizeUtcTimeText(opts.to, 'down');
    const mode = opts.average ? 'average' : 'scrape';
    await withRegimeDatabases(name, opts, io, mode === 'scrape' ? 'scraper' : 'averager', true, async ({ loaded, logger, source, target, targetLocation }) => {
      const done = await repairRegime({ regime: loaded.regime, specs: loaded.specs, source, target, targetLocation, logger, mode, from, to, tables: opts.stream ? [opts.stream] : undefined });
      for (const r of done) {
        const c = r.context;
        const what = r.written === 0 ? 'nothing to repair (readers see what the replay decides)' : `${r.written} validities written (SEQNO ${r.seqnos[0]}..${r.seqnos[r.seqnos.length - 1]}) overlaying SEQNO ${r.overlays.join(', ')}`;
        io.stdout.write(`${r.stream} -> ${r.target}  sitemask ${c.sitemask} subsite ${c.subsite} simmask ${c.simmask} task ${c.task} aggregateno ${c.aggregateno}  [${r.from}, ${r.to}) UTC: ${what}\n`);
      }
    });
  });
};
