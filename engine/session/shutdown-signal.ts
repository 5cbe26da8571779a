import { Logger } from '../core/logger';

/** Time a command has after SIGINT/SIGTERM to finish before it exits without waiting any longer. */
export const SHUTDOWN_GRACE_MS = 3500;

/**
 * An AbortSignal that fires on SIGINT/SIGTERM (the run finishes its write in flight, then exits
 * 0). A database call that does not return (a network that drops packets silently answers
 * nothing, not even an error) must not hold the process: `SHUTDOWN_GRACE_MS` after the signal
 * the process logs what it is doing and exits 0 anyway. Nothing is lost: an open transaction dies
 * with its connection and is rolled back by the server, and the next run resumes from the target.
 */
export function shutdownSignal(logger?: Logger): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  let overdue: NodeJS.Timeout | undefined;
  const stop = () => {
    controller.abort();
    overdue ??= setTimeout(() => {
      logger?.log('warn', `shutdown: still waiting for the database ${SHUTDOWN_GRACE_MS / 1000} s after the signal; exiting without it (an unfinished write is rolled back by the server and redone by the next run)`);
      // a command that already returned its code (and only left a handle behind) keeps that code
      process.exit(process.exitCode ?? 0);
    }, SHUTDOWN_GRACE_MS);
    overdue.unref(); // never what keeps the process alive
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  return {
    signal: controller.signal,
    dispose: () => {
      process.removeListener('SIGINT', stop);
      process.removeListener('SIGTERM', stop);
    },
  };
}
