import { Logger, LogLevel, LOG_LEVELS } from '../core/logger';
import { maskPasswords } from '../core/mask-passwords';

/** The streams and environment a command runs with (injected so tests capture output). */
export interface CliIo {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  env: NodeJS.ProcessEnv;
  cwd: string;
}

/** The process's own streams and environment. */
export function processIo(): CliIo {
  return { stdout: process.stdout, stderr: process.stderr, env: process.env, cwd: process.cwd() };
}

/** Formats of log lines: `human` (`<time> INFO  message`) or `json` (one object per line). */
export const LOG_FORMATS = ['human', 'json'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

/** The time of a log line: ISO-8601 UTC with milliseconds and `Z` (`2026-11-29T15:17:17.123Z`). */
export function logTime(ms: number): string {
  return new Date(ms).toISOString();
}

/**
 * One JSON log line's object: `time`, `level`, `message`, then the line's fields (a field named
 * like one of the three, or undefined, is left out).
 */
export function logRecord(timeMs: number, level: LogLevel, message: string, fields?: Record<string, unknown>): Record<string, unknown> {
  const record: Record<string, unknown> = { time: logTime(timeMs), level, message };
  if (fields) {
    for (const [k, v] of Object.entries(fields)) {
      if (v !== undefined && !(k in record)) record[k] = v;
    }
  }
  return record;
}

/**
 * A logger that writes lines to stderr from `minLevel` up, with any URL's password masked: human lines (`2026-11-29T15:17:17.123Z
 * INFO  message`, the message alone: it says what matters) or JSON lines (`logRecord`: the
 * message and its fields, for collectors).
 */
export function streamLogger(io: CliIo, minLevel: LogLevel = 'info', format: LogFormat = 'human', now: () => number = Date.now): Logger {
  const min = LOG_LEVELS.indexOf(minLevel);
  return {
    enabled: (level) => LOG_LEVELS.indexOf(level) >= min,
    log(level, message, fields) {
      if (LOG_LEVELS.indexOf(level) < min) return;
      if (format === 'json') {
        io.stderr.write(maskPasswords(JSON.stringify(logRecord(now(), level, message, fields))) + '\n');
        return;
      }
      io.stderr.write(maskPasswords(`${logTime(now())} ${level.toUpperCase().padEnd(5)} ${message}`) + '\n');
    },
  };
}
