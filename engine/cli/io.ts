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

/**
 * A logger that writes human lines (`INFO  message k=v`) or JSON lines to stderr from `minLevel`
 * up, with any URL's password masked.
 */
export function streamLogger(io: CliIo, minLevel: LogLevel = 'info', format: 'human' | 'json' = 'human'): Logger {
  const min = LOG_LEVELS.indexOf(minLevel);
  return {
    enabled: (level) => LOG_LEVELS.indexOf(level) >= min,
    log(level, message, fields) {
      if (LOG_LEVELS.indexOf(level) < min) return;
      const time = new Date().toISOString().replace('T', ' ').slice(0, 19);
      if (format === 'json') {
        io.stderr.write(maskPasswords(JSON.stringify({ time, level, message, ...fields })) + '\n');
        return;
      }
      const extra = fields && Object.keys(fields).length
        ? ' ' + Object.entries(fields).map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`).join(' ')
        : '';
      io.stderr.write(maskPasswords(`${time} ${level.toUpperCase().padEnd(5)} ${message}${extra}`) + '\n');
    },
  };
}
