import { RegisterCommand } from './main';
import { RegimeCommandOptions, addRegimeRunOptions, runRegimeCommand } from './regime-command';

/** `scrape run <regime…|ALL>`: the scraper, of one regime or of several in one process. */
export const registerRun: RegisterCommand = (program, io, setExit) => {
  const cmd = program.command('run').description('scrape a regime: source tables -> DBI validities, resuming where the target stopped');
  addRegimeRunOptions(cmd, 'scrape')
    .option('--maxiter <n>', 'stop after n samples per stream (0 = forever)')
    .option('--seed', 'write a seed validity into empty targets (never on production targets)');
  cmd.action((names: string[], opts: RegimeCommandOptions) => runRegimeCommand(cmd, 'scrape', io, setExit, names, opts));
};
