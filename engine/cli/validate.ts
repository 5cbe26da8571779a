import * as fs from 'fs';
import * as path from 'path';
import { ScrapeError } from '../core/errors';
import { Diagnostic } from '../config/diagnostic';
import { RegimeLookup, checkRegimeFile, findRegimeFile, listRegimeFiles, positionIssues, readRegimeText, renderDiagnostics } from '../config/load-regime';
import { resolveDatabase } from '../config/dbconf';
import { connectionIssues } from '../report/connection-issues';
import { CheckedRegime, regimeOverlaps } from '../config/regime-overlaps';
import { dbconfIssues } from '../config/dbconf-issues';
import { declaredColumnIssues } from '../report/declared-column-issues';
import { RegisterCommand } from './main';
import { LogOptions, addLogOptions } from './common-options';

interface ValidateOptions extends LogOptions {
  regimes?: string;
  specDir?: string;
  dbconf?: string;
  connect?: boolean;
  connectTimeout: string;
}

/** The files `scrape validate` checks: the arguments (files, folders or regime names), else the regimes folder. */
function filesToCheck(args: string[], lookup: RegimeLookup): string[] {
  if (args.length === 0) {
    const { dir, files } = listRegimeFiles(lookup);
    if (files.length === 0) throw new ScrapeError('REGIME_NOT_FOUND', `no *.yaml or *.yml regime in ${dir}`);
    return files;
  }
  const cwd = lookup.cwd ?? process.cwd();
  const out: string[] = [];
  for (const arg of args) {
    const asPath = path.resolve(cwd, arg);
    if (fs.existsSync(asPath) && fs.statSync(asPath).isDirectory()) {
      out.push(...listRegimeFiles({ ...lookup, regimesDir: asPath }).files);
    } else if (fs.existsSync(asPath) && fs.statSync(asPath).isFile()) {
      out.push(asPath);
    } else {
      out.push(findRegimeFile(arg, lookup));
    }
  }
  return [...new Set(out)];
}

/**
 * `scrape validate [files...]`: checks regimes (YAML, schema, JSONata, regexes, time zones,
 * credentials, captures, .spec mappings, the databases named found in dbconf, mappings and change
 * rules against the declared source columns; with `--connect` the databases too), then the regimes together (two that would write the
 * same target table and context), and prints every diagnostic compiler-style; exit 1 on any
 * error, else one summary line.
 */
export const registerValidate: RegisterCommand = (program, io, setExit) => {
  const cmd = program
    .command('validate')
    .description('check regime files: print every problem as file:line:col, exit 1 when any error')
    .argument('[files...]', 'regime files, folders or names (default: every *.yaml in the regimes folder)')
    .option('--regimes <dir>', 'folder of regime YAML files (default $SCRAPE_REGIMES, ./regimes.d, the project regimes.d)')
    .option('--spec-dir <dir>', 'folder of .spec files (default: the project spec/)')
    .option('--dbconf <file>', 'dbconf file looked in first for the regimes\' databases (then $SCRAPE_DBCONF, ~/.my.cnf, the shipped dbconf.ini)')
    .option('--connect', 'also open each valid regime\'s source and target: tables, declared columns, mappings against the real columns, the target user\'s SELECT/INSERT/UPDATE (nothing is written)')
    .option('--connect-timeout <s>', 'seconds to wait for each database with --connect', '10');
  addLogOptions(cmd)
    .action(async (args: string[], opts: ValidateOptions) => {
      const lookup: RegimeLookup = { regimesDir: opts.regimes, specDir: opts.specDir, cwd: io.cwd, env: io.env };
      const files = filesToCheck(args, lookup);
      const dbconf = { dbconf: opts.dbconf, env: io.env, cwd: io.cwd };
      const checks = [dbconfIssues(dbconf), declaredColumnIssues];
      let timeoutMs = 0;
      if (opts.connect) {
        if (!/^\d+(\.\d+)?$/.test(opts.connectTimeout) || Number(opts.connectTimeout) <= 0) throw new ScrapeError('BAD_OPTION', `--connect-timeout ${opts.connectTimeout}: expected a positive number of seconds`);
        timeoutMs = Math.round(Number(opts.connectTimeout) * 1000);
      }
      const all: Diagnostic[] = [];
      const valid: CheckedRegime[] = [];
      const invalidFiles = new Set<string>();
      for (const file of files) {
        const { regime, specs, diagnostics } = checkRegimeFile(file, lookup, checks);
        if (opts.connect && regime && !diagnostics.some((d) => d.severity === 'error')) {
          // what only the databases can tell: the regime passed everything else
          const issues = await connectionIssues(regime, specs, readRegimeText(file), {
            source: resolveDatabase(regime.source, dbconf),
            target: resolveDatabase(regime.target, dbconf),
            timeoutMs,
          });
          diagnostics.push(...positionIssues(path.resolve(io.cwd, file), readRegimeText(file), issues));
          diagnostics.sort((a, b) => a.line - b.line || a.col - b.col);
        }
        all.push(...diagnostics);
        if (diagnostics.some((d) => d.severity === 'error') || !regime) invalidFiles.add(file);
        else valid.push({ file, regime, specs });
      }
      // regimes checked together must not write the same target table and context
      for (const d of regimeOverlaps(valid)) {
        all.push(d);
        invalidFiles.add(d.file);
      }
      const names = valid.filter((r) => !invalidFiles.has(r.file)).map((r) => r.regime.name);
      const invalid = invalidFiles.size;
      if (all.length) io.stdout.write(renderDiagnostics(all, io.cwd) + '\n');
      const errors = all.filter((d) => d.severity === 'error').length;
      const warnings = all.length - errors;
      const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
      if (invalid) {
        io.stdout.write(`${plural(errors, 'error')}${warnings ? `, ${plural(warnings, 'warning')}` : ''} in ${invalid} of ${plural(files.length, 'regime')}\n`);
        setExit(1);
      } else {
        io.stdout.write(`${plural(names.length, 'regime')} valid (${names.join(', ')})${warnings ? `, ${plural(warnings, 'warning')}` : ''}\n`);
      }
    });
};
