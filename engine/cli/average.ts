import { RegisterCommand } from './main';
import { RegimeCommandOptions, addRegimeRunOptions, runRegimeCommand } from './regime-command';

/**
 * `scrape average <regime>`: the averager (the manual's `scr.py -s adlid_averager`). One validity
 * per complete DB-time bin with the bin's aggregates; resumes from the target, catches up in
 * chunks, then waits for the next bin unless `--until-caught-up`. The same session as `scrape
 * run`: writer lock and `--standby`, SIGHUP reload, `--metrics-port`, progress lines;
 * SIGINT/SIGTERM stop it after the write in flight (exit 0).
 */
export const registerAverage: RegisterCommand = (program, io, setExit) => {
  const cmd = program.command('average').description('average a regime over DB-time bins: one validity per complete bin with its aggregates and count');
  addRegimeRunOptions(cmd, 'average');
  cmd.action((names: string[], opts: RegimeCommandOptions) => runRegimeCommand(cmd, 'average', io, setExit, names, opts));
};
