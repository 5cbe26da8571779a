import * as fs from 'fs';
import * as path from 'path';
import { ScrapeError } from '../core/errors';
import { maskPasswords } from '../core/mask-passwords';
import { resolveDatabase } from '../config/dbconf';
import { regimeDirs, specDirOf } from '../config/load-regime';
import { DEFAULT_SAMPLE_ROWS, proposeRegime } from '../report/regime-proposal';
import { LogOptions, addLogOptions, cliLogger } from './common-options';
import { addConnectTimeoutOption, connectDatabase, connectTimeoutMs } from './connect-database';
import { RegisterCommand } from './main';

interface NewOptions extends LogOptions {
  fromTable: string;
  source: string;
  spec?: string;
  outDir?: string;
  regimes?: string;
  specDir?: string;
  dbconf?: string;
  force?: boolean;
  dryRun?: boolean;
  sampleRows?: string;
  connectTimeout?: string;
}

/** True when a `--source` is a URL rather than a dbconf section name. */
function isUrl(text: string): boolean {
  return /^[a-z][a-z0-9+]*:/i.test(text);
}

/** A path as the user reads it: relative to cwd when inside it. */
function shown(file: string, cwd: string): string {
  const rel = path.relative(cwd, file);
  return rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : file;
}

/**
 * `scrape new <name> --from-table T`: inspects a source table and its family and writes a
 * starting regime (`<regimes>/<name>.yaml`) and its `.spec` (`<spec-dir>/<Class>.spec`), which
 * pass `scrape validate` as written; `--dry-run` prints them instead. Existing files are kept
 * unless `--force`.
 */
export const registerNew: RegisterCommand = (program, io) => {
  const cmd = program
    .command('new')
    .description('propose a regime and its .spec from a source table and its family (context from the names, columns with their types, unpivot, thresholds from recent rows, a faker), ready for validate, fake and run')
    .argument('<name>', 'name of the new regime (lower case letters, digits and _)')
    .requiredOption('--from-table <table>', 'a source table (its siblings differing in site, AD or a number join it) or a regular expression with named captures')
    .option('--source <name>', 'dbconf section or URL of the source to inspect (written as the regime\'s source when a section)', 'fake_dcs')
    .option('--spec <class>', 'target class (default GDcs + the name in CamelCase)')
    .option('--out-dir <dir>', 'write <dir>/regimes.d/<name>.yaml and <dir>/spec/<class>.spec (folders made)')
    .option('--regimes <dir>', 'folder the regime is written to (default $SCRAPE_REGIMES, ./regimes.d, the project regimes.d: the first that exists)')
    .option('--spec-dir <dir>', 'folder the .spec is written to (default: the project spec/)')
    .option('--dbconf <file>', 'dbconf file looked in first (then $SCRAPE_DBCONF, ~/.my.cnf, the shipped dbconf.ini)')
    .option('--sample-rows <n>', 'recent rows of the table the thresholds are derived from', String(DEFAULT_SAMPLE_ROWS))
    .option('--force', 'overwrite the regime and spec files when they exist')
    .option('--dry-run', 'print the regime and the spec on stdout, write nothing');
  addConnectTimeoutOption(cmd);
  addLogOptions(cmd);
  cmd.action(async (name: string, opts: NewOptions) => {
    if (!/^[a-z][a-z0-9_]*$/.test(name)) {
      throw new ScrapeError('BAD_OPTION', `regime name '${name}': lower case letters, digits and _, starting with a letter`, { hint: `e.g. scrape new ${name.toLowerCase().replace(/[^a-z0-9_]/g, '_').replace(/^[^a-z]+/, '') || 'envpth'} --from-table …` });
    }
    if (opts.spec !== undefined && !/^G[A-Za-z0-9]+$/.test(opts.spec)) {
      throw new ScrapeError('BAD_OPTION', `--spec ${opts.spec}: a class name is G then letters and digits`, { hint: 'e.g. --spec GDcsEnvPth' });
    }
    const sampleRows = Number(opts.sampleRows);
    if (!Number.isInteger(sampleRows) || sampleRows < 2) throw new ScrapeError('BAD_OPTION', `--sample-rows ${opts.sampleRows}: a whole number of rows, at least 2`);
    if (opts.outDir && (opts.regimes || opts.specDir)) throw new ScrapeError('USAGE', '--out-dir says where both files go: give it or --regimes/--spec-dir, not both');
    const logger = cliLogger(io, opts);
    const location = resolveDatabase(opts.source, { dbconf: opts.dbconf, env: io.env, cwd: io.cwd });
    for (const w of location.warnings) logger.log('warn', w);
    const url = isUrl(opts.source);
    const sourceName = url ? 'fake_dcs' : opts.source;
    const db = await connectDatabase(location, { readOnly: true, timeoutMs: connectTimeoutMs(opts.connectTimeout), logger });
    let proposal;
    try {
      proposal = await proposeRegime(db, {
        name,
        from: opts.fromTable,
        source: sourceName,
        sourceNote: url ? `inspected ${maskPasswords(opts.source)}; give the dbconf section of the source here` : undefined,
        sourceFake: url || location.fake,
        specClass: opts.spec,
        sampleRows,
      });
    } finally {
      await db.destroy();
    }
    if (opts.dryRun) {
      io.stdout.write(`# ---- ${name}.yaml\n${proposal.yaml}# ---- ${proposal.specClass}.spec\n${proposal.spec}`);
      return;
    }
    const cwd = io.cwd;
    let regimesDir: string;
    let specDir: string;
    if (opts.outDir) {
      regimesDir = path.resolve(cwd, opts.outDir, 'regimes.d');
      specDir = path.resolve(cwd, opts.outDir, 'spec');
      fs.mkdirSync(regimesDir, { recursive: true });
      fs.mkdirSync(specDir, { recursive: true });
    } else {
      const dirs = regimeDirs({ regimesDir: opts.regimes, cwd, env: io.env });
      regimesDir = opts.regimes ? dirs[0] : (dirs.find((d) => fs.existsSync(d)) ?? dirs[dirs.length - 1]);
      specDir = specDirOf({ specDir: opts.specDir, cwd });
    }
    const regimeFile = path.join(regimesDir, `${name}.yaml`);
    const specFile = path.join(specDir, `${proposal.specClass}.spec`);
    const existing = [regimeFile, specFile, path.join(regimesDir, `${name}.yml`)].filter((f) => fs.existsSync(f));
    if (existing.length && !opts.force) {
      throw new ScrapeError('NEW_FILE_EXISTS', `${existing.map((f) => shown(f, cwd)).join(' and ')} exist${existing.length === 1 ? 's' : ''} already; nothing was written`, {
        hint: '--force overwrites, --dry-run prints the proposal, or choose another name (--spec for another class)',
      });
    }
    fs.writeFileSync(specFile, proposal.spec);
    fs.writeFileSync(regimeFile, proposal.yaml);
    const f = proposal.family;
    const where = opts.outDir ? ` --regimes ${shown(regimesDir, cwd)} --spec-dir ${shown(specDir, cwd)}` : opts.regimes || opts.specDir ? `${opts.regimes ? ` --regimes ${opts.regimes}` : ''}${opts.specDir ? ` --spec-dir ${opts.specDir}` : ''}` : '';
    const fakeWhere = opts.outDir ? ` --regimes ${shown(regimesDir, cwd)} --spec-dir ${shown(specDir, cwd)}` : where;
    io.stdout.write(
      `wrote ${shown(regimeFile, cwd)} and ${shown(specFile, cwd)}: ${f.members.length} source table${f.members.length === 1 ? '' : 's'} (${f.members.join(', ')}) matching ${f.pattern}` +
        `${proposal.leftOut.length ? `, ${proposal.leftOut.length} with other columns left out` : ''}; ${proposal.todos} "TODO decide" comment${proposal.todos === 1 ? '' : 's'} to look at\n` +
        `next: scrape validate${where} ${name}; scrape fake ${name}${fakeWhere} --count 360; scrape run ${name}${where} --until-caught-up\n`,
    );
  });
};
