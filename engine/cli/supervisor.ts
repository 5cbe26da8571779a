import * as fs from 'fs';
import * as path from 'path';
import { Option } from 'commander';
import { checkGivenDbconf, dbconfFiles, projectRoot } from '../config/dbconf';
import { ScrapeError } from '../core/errors';
import { findRegimeFile, listRegimeFiles, loadRegime } from '../config/load-regime';
import { SupervisorMode, supervisorProgram } from '../config/supervisor-config';
import { RegisterCommand } from './main';
import { addLogOptions } from './common-options';

interface SupervisorCliOptions {
  out: string;
  mode: SupervisorMode;
  dbconf?: string;
  regimes?: string;
  user?: string;
  logDir?: string;
  startsecs?: string;
}

/** Where generated programs log by default: Debian's supervisord child log folder. */
const DEFAULT_LOG_DIR = '/var/log/supervisor';

/**
 * `scrape supervisor <regime…|ALL> --out DIR`: one supervisord program `.ini` per regime, as the
 * manual's `dybinst -S` did (`ALL` = every regime of the regimes folder). Every regime is
 * validated first, so no program is written for a regime that would only exit 1.
 */
export const registerSupervisor: RegisterCommand = (program, io) => {
  const cmd = program
    .command('supervisor')
    .description('write supervisord program .ini files that keep regimes running (ALL = every regime)')
    .argument('<regimes...>', 'regime names or YAML paths, or ALL')
    .requiredOption('--out <dir>', 'folder to write <regime>_<role>.ini files into (created if missing)')
    .addOption(new Option('--mode <mode>', 'what the programs run').choices(['run', 'average', 'fake']).default('run'))
    .option('--dbconf <file>', 'dbconf file the programs read (default: the first of $SCRAPE_DBCONF, ~/.my.cnf, the shipped dbconf.ini that exists)')
    .option('--regimes <dir>', 'folder of regime YAML files (default $SCRAPE_REGIMES or ./regimes.d)')
    .option('--user <user>', 'unix user the programs run as (supervisord running as root switches to it)')
    .option('--log-dir <dir>', `folder of the program logs (default ${DEFAULT_LOG_DIR})`)
    .option('--startsecs <s>', 'seconds a start must last to count as started (default 10)');
  addLogOptions(cmd);
  cmd.action(async (names: string[], opts: SupervisorCliOptions) => {
    const lookup = { regimesDir: opts.regimes, cwd: io.cwd, env: io.env };
    const files = names.length === 1 && names[0] === 'ALL'
      ? listRegimeFiles(lookup).files
      : names.map((n) => {
        if (n === 'ALL') throw new ScrapeError('USAGE', 'ALL stands alone: it means every regime of the regimes folder');
        return findRegimeFile(n, lookup);
      });
    if (files.length === 0) throw new ScrapeError('REGIME_NOT_FOUND', `no regime files in ${listRegimeFiles(lookup).dir}`);
    // loadRegime validates (schema, specs, JSONata) and throws with every diagnostic
    for (const file of files) loadRegime(file, lookup);
    const dbconf = opts.dbconf
      ? path.resolve(io.cwd, opts.dbconf)
      : (() => {
        const candidates = dbconfFiles({ env: io.env });
        return candidates.find((f) => fs.existsSync(f)) ?? candidates[candidates.length - 1];
      })();
    if (opts.dbconf) checkGivenDbconf({ dbconf, env: {} });
    if (!fs.existsSync(dbconf)) throw new ScrapeError('DBCONF_FILE', `dbconf file ${dbconf} does not exist`, { hint: 'give --dbconf the file the programs should read their databases from' });
    let startsecs: number | undefined;
    if (opts.startsecs !== undefined) {
      if (!/^\d+$/.test(opts.startsecs)) throw new ScrapeError('BAD_OPTION', `--startsecs ${opts.startsecs}: expected a whole number of seconds`);
      startsecs = Number(opts.startsecs);
    }
    const root = projectRoot();
    const outDir = path.resolve(io.cwd, opts.out);
    const logDir = path.resolve(io.cwd, opts.logDir ?? DEFAULT_LOG_DIR);
    const programs = files.map((file) =>
      supervisorProgram({
        regime: path.basename(file).replace(/\.ya?ml$/i, ''),
        regimeFile: file,
        mode: opts.mode,
        nodePath: process.execPath,
        scriptPath: path.join(root, 'bin', 'scrape'),
        directory: root,
        dbconf,
        logDir,
        user: opts.user,
        startsecs,
      }),
    );
    fs.mkdirSync(outDir, { recursive: true });
    // supervisord refuses a program whose log folder does not exist
    try {
      fs.mkdirSync(logDir, { recursive: true });
    } catch (err) {
      io.stderr.write(`warning: cannot create log folder ${logDir} (${(err as Error).message}); create it before supervisord reads these files\n`);
    }
    for (const p of programs) {
      const file = path.join(outDir, p.fileName);
      fs.writeFileSync(file, p.text);
      io.stdout.write(`wrote ${file} [program:${p.program}]\n`);
    }
  });
};
