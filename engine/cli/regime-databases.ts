import { Knex } from 'knex';
import { Logger } from '../core/logger';
import { DatabaseLocation, resolveDatabase } from '../config/dbconf';
import { LoadedRegime } from '../config/load-regime';
import { CommonOptions, cliLogger, loadRegimeForCli } from './common-options';
import { connectDatabase, connectTimeoutMs } from './connect-database';
import { CliIo } from './io';

/** Flags of a one-shot regime command that reads the regime's source and target (`verify`, `repair`). */
export interface RegimeDatabaseOptions extends CommonOptions {
  source?: string;
  target?: string;
  connectTimeout?: string;
}

/** A regime, its logger and both its databases, connected. */
export interface RegimeDatabases {
  loaded: LoadedRegime;
  logger: Logger;
  source: Knex;
  target: Knex;
  sourceLocation: DatabaseLocation;
  targetLocation: DatabaseLocation;
}

/**
 * Loads the regime (`--set` applied to `section`), makes the command's logger (`info` lowered to
 * `warn`: a one-shot report prints its own lines), resolves `--source`/`--target` (default the
 * regime's) through the dbconf files, connects to both (the source read-only; the target
 * read-only unless `writeTarget`), runs `work` and closes both whatever happens. `verify` and
 * `repair` open their databases this one way.
 */
export async function withRegimeDatabases<T>(
  name: string,
  opts: RegimeDatabaseOptions,
  io: CliIo,
  section: 'scraper' | 'averager',
  writeTarget: boolean,
  work: (d: RegimeDatabases) => Promise<T>,
): Promise<T> {
  const loaded = loadRegimeForCli(name, opts, io, section);
  const logger = cliLogger(io, { ...opts, logLevel: opts.logLevel === 'info' ? 'warn' : opts.logLevel });
  const dbconf = { dbconf: opts.dbconf, env: io.env, cwd: io.cwd };
  const sourceLocation = resolveDatabase(opts.source ?? loaded.regime.source, dbconf);
  const targetLocation = resolveDatabase(opts.target ?? loaded.regime.target, dbconf);
  const timeoutMs = connectTimeoutMs(opts.connectTimeout);
  const source = await connectDatabase(sourceLocation, { readOnly: true, decimalNumbers: true, timeoutMs, logger });
  try {
    const target = await connectDatabase(targetLocation, { readOnly: !writeTarget, timeoutMs, logger });
    try {
      return await work({ loaded, logger, source, target, sourceLocation, targetLocation });
    } finally {
      await target.destroy();
    }
  } finally {
    await source.destroy();
  }
}
