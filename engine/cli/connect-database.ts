import { Command } from 'commander';
import { Knex } from 'knex';
import { ScrapeError, isScrapeError } from '../core/errors';
import { Logger } from '../core/logger';
import { parseDuration } from '../core/time';
import { DatabaseLocation } from '../db/database-location';
import { OpenOptions, openDatabase } from '../db/open-database';
import { waitForDatabase } from '../db/wait-for-database';

/** Default of `--connect-timeout`. */
export const DEFAULT_CONNECT_TIMEOUT = '30s';

/** Adds `--connect-timeout <duration>` (default 30s), worded by `what` it bounds. */
export function addConnectTimeoutOption(cmd: Command, what = 'how long an unreachable database is waited for before exit 1'): Command {
  return cmd.option('--connect-timeout <duration>', what, DEFAULT_CONNECT_TIMEOUT);
}

/** `--connect-timeout` in ms; a bad duration is `BAD_DURATION` naming the flag. */
export function connectTimeoutMs(text: string | undefined): number {
  try {
    return parseDuration(text ?? DEFAULT_CONNECT_TIMEOUT);
  } catch (err) {
    if (!isScrapeError(err)) throw err;
    throw new ScrapeError('BAD_DURATION', `--connect-timeout ${text}: use digits then s, m, h or d (30s, 2m)`);
  }
}

/**
 * Opens the database of a one-shot command (status, inspect, query, fake, load) and connects once
 * before anything else: a server that does not answer is waited for at most `timeoutMs`
 * (then `DB_UNREACHABLE`, exit 1), a wrong password or an unknown database is said at once, each
 * with its hint. The connection is closed again when it fails.
 */
export async function connectDatabase(location: DatabaseLocation, options: OpenOptions & { timeoutMs: number; logger: Logger; signal?: AbortSignal }): Promise<Knex> {
  const { timeoutMs, logger, signal, ...open } = options;
  const db = openDatabase(location, { ...open, connectTimeoutMs: open.connectTimeoutMs ?? timeoutMs });
  try {
    await waitForDatabase(db, location, { logger, timeoutMs, signal });
    return db;
  } catch (err) {
    await db.destroy();
    throw err;
  }
}
