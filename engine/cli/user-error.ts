import { ScrapeError, isScrapeError } from '../core/errors';
import { databaseError } from '../db/database-error';

/**
 * The `ScrapeError` an error a person can fix stands for: itself, the meaning of a driver error
 * (`databaseError`: unreachable server, wrong password, unknown database, …), or a file that
 * cannot be read or written; undefined for a bug.
 */
export function userError(err: unknown): ScrapeError | undefined {
  if (isScrapeError(err)) return err;
  return databaseError(err) ?? fileError(err);
}

/** A file system error naming its path (missing, no permission, a folder for a file, disk full). */
function fileError(err: unknown): ScrapeError | undefined {
  const e = err as NodeJS.ErrnoException | undefined;
  if (!e || typeof e.path !== 'string' || typeof e.code !== 'string') return undefined;
  const what: Record<string, [string, string]> = {
    ENOENT: ['does not exist', 'correct the path or create it'],
    EACCES: ['is not allowed for this user', 'change its permissions or run as a user who may'],
    EPERM: ['is not allowed for this user', 'change its permissions or run as a user who may'],
    EISDIR: ['is a folder', 'give the path of a file'],
    ENOTDIR: ['has a part that is not a folder', 'correct the path'],
    EROFS: ['is on a read-only file system', 'choose a writable place'],
    ENOSPC: ['has no space left', 'free disk space'],
  };
  const known = what[e.code];
  if (!known) return undefined;
  return new ScrapeError('FILE_ACCESS', `${e.syscall ? `${e.syscall} ` : ''}${e.path}: ${known[0]} (${e.code})`, { hint: known[1] });
}
