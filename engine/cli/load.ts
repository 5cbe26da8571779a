import * as path from 'path';
import { describeLocation } from '../db/open-database';
import { resolveDatabase } from '../config/dbconf';
import { loadDump } from '../faker/dump-loader';
import { assertFakeDatabase } from '../faker/faker';
import { LogOptions, addLogOptions, cliLogger } from './common-options';
import { progressReporter } from './fake';
import { RegisterCommand } from './main';
import { addConnectTimeoutOption, connectDatabase, connectTimeoutMs } from './connect-database';

interface LoadCliOptions extends LogOptions {
  source: string;
  dbconf?: string;
  connectTimeout?: string;
}

function megabytes(bytes: number): string {
  return `${(bytes / 1048576).toFixed(1)}MB`;
}

/** `scrape load <dump.sql> --source NAME`: a mysqldump file into a fake source database, streaming. */
export const registerLoad: RegisterCommand = (program, io) => {
  const cmd = program
    .command('load')
    .description('load a mysqldump file (DDL and extended INSERTs, also --no-create-info append dumps) into a fake source database, streaming')
    .argument('<dump>', 'mysqldump file (.sql or .sql.gz)')
    .requiredOption('--source <name>', 'dbconf section or URL of the fake database to load into')
    .option('--dbconf <file>', 'dbconf file looked in first (then $SCRAPE_DBCONF, ~/.my.cnf, the shipped dbconf.ini)');
  addConnectTimeoutOption(addLogOptions(cmd))
    .action(async (dump: string, opts: LoadCliOptions) => {
      const logger = cliLogger(io, opts);
      const file = path.resolve(io.cwd, dump);
      const location = resolveDatabase(opts.source, { dbconf: opts.dbconf, env: io.env, cwd: io.cwd });
      for (const w of location.warnings) logger.log('warn', w);
      assertFakeDatabase(location, 'scrape load');
      const db = await connectDatabase(location, { timeoutMs: connectTimeoutMs(opts.connectTimeout), logger });
      try {
        logger.log('info', `load ${file} -> ${describeLocation(location)}`);
        const progress = progressReporter(io, logger, opts, 'load', megabytes);
        const result = await loadDump({ file, db, onProgress: (p) => progress.update(p.bytes, p.totalBytes) });
        progress.finish();
        for (const w of result.warnings) logger.log('warn', w);
        const rows = Object.values(result.rows).reduce((a, b) => a + b, 0);
        const perTable = Object.entries(result.rows).map(([t, n]) => `${t} ${n}`).join(', ');
        const secs = result.elapsedMs / 1000;
        io.stdout.write(
          `loaded ${result.statements} statements, ${rows} rows${perTable ? ` (${perTable})` : ''}` +
            `${result.created.length ? `, created ${result.created.join(', ')}` : ''} from ${path.basename(file)} (${megabytes(result.bytes)}) in ${secs.toFixed(1)} s\n`,
        );
      } finally {
        await db.destroy();
      }
    });
};
