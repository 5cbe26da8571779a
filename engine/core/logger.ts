/** Log levels, lowest first. */
export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/**
 * Where the engine reports what it does. The library never prints: `cli/` supplies a logger that
 * renders human or JSON lines; tests supply one that collects lines.
 */
export interface Logger {
  log(level: LogLevel, message: string, fields?: Record<string, unknown>): void;
  /**
   * False when lines of `level` are dropped, so hot loops skip building them (the scraper's
   * per-sample `SV` line). Absent means every level is kept.
   */
  enabled?(level: LogLevel): boolean;
}

/** True when `logger` keeps lines of `level`. */
export function logs(logger: Logger, level: LogLevel): boolean {
  return logger.enabled === undefined || logger.enabled(level);
}

/** A logger that drops everything. */
export const silentLogger: Logger = { log: () => undefined, enabled: () => false };

/** A logger that keeps every line in memory (tests, reports). */
export class MemoryLogger implements Logger {
  readonly lines: { level: LogLevel; message: string; fields?: Record<string, unknown> }[] = [];
  log(level: LogLevel, message: string, fields?: Record<string, unknown>): void {
    this.lines.push({ level, message, fields });
  }
  /** Messages only, in order. */
  messages(level?: LogLevel): string[] {
    return this.lines.filter((l) => level === undefined || l.level === level).map((l) => l.message);
  }
}
