import { ErrorCode } from './error-codes';

/**
 * Errors the engine raises on purpose. Each carries a stable code (for scripts and docs), a user
 * message, optionally a one-line hint (what to do) and the cause. `cli/` maps `ScrapeError` to exit 1 (user-fixable) and
 * anything else to exit 2 (unexpected, printed with its stack).
 */
export class ScrapeError extends Error {
  /** Stable, upper-case code such as `DBCONF_SECTION` or `REGIME_SCHEMA`. */
  readonly code: ErrorCode;
  /** True when the condition may pass by itself (lost connection, lock held). */
  readonly transient: boolean;
  /** One line saying what the user can do about it (printed after the message), when known. */
  readonly hint?: string;

  constructor(code: ErrorCode, message: string, options: { cause?: unknown; transient?: boolean; hint?: string } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ScrapeError';
    this.code = code;
    this.transient = options.transient ?? false;
    if (options.hint !== undefined) this.hint = options.hint;
  }
}

/** True when `err` is a ScrapeError with the given code (or any code when omitted). */
export function isScrapeError(err: unknown, code?: ErrorCode): err is ScrapeError {
  return err instanceof ScrapeError && (code === undefined || err.code === code);
}
