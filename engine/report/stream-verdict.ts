import { StreamStatus } from './stream-status';

/** Monitoring-plugin states, as their exit codes: 0 OK, 1 WARNING, 2 CRITICAL. */
export const CHECK_STATES = ['OK', 'WARNING', 'CRITICAL'] as const;
/** One of `CHECK_STATES`, by its exit code. */
export type CheckState = 0 | 1 | 2;

/** Bounds of `scrape status` as a monitoring check, in ms; each optional. */
export interface CheckLimits {
  warnLagMs?: number;
  maxLagMs?: number;
  warnStalenessMs?: number;
  maxStalenessMs?: number;
}

/** What is judged of a stream: its lag or its staleness, and its bounds. */
export interface CheckFinding {
  figure: 'lag' | 'staleness';
  /** ms; Infinity when unknown in a way that matters (nothing written while the source has rows; no source rows). */
  valueMs: number;
  /** Why the value is Infinity. */
  unknown?: string;
  state: CheckState;
  /** The bound exceeded (ms), when not OK. */
  boundMs?: number;
}

/** The verdict on one stream. */
export interface StreamVerdict {
  status: StreamStatus;
  state: CheckState;
  findings: CheckFinding[];
}

/** True when any bound is given: `scrape status` is then a monitoring check. */
export function isCheck(limits: CheckLimits): boolean {
  return Object.values(limits).some((v) => v !== undefined);
}

/**
 * Judges a stream against the bounds, as a monitoring plugin does: CRITICAL when a figure is
 * over its `max` bound, WARNING when over its `warn` bound (only), else OK. The lag is
 * unbounded (Infinity) when the source has rows and nothing was written for the stream (the
 * target tables missing included); the staleness when the source has no rows: either then
 * exceeds any bound given for it. A stream with an empty source and nothing written has no lag
 * to judge.
 */
export function judgeStream(status: StreamStatus, limits: CheckLimits): StreamVerdict {
  const findings: CheckFinding[] = [];
  const judge = (figure: CheckFinding['figure'], valueMs: number, warn: number | undefined, max: number | undefined, unknown?: string): void => {
    if (warn === undefined && max === undefined) return;
    const finding: CheckFinding = { figure, valueMs, state: 0, ...(unknown ? { unknown } : {}) };
    if (max !== undefined && valueMs > max) Object.assign(finding, { state: 2, boundMs: max });
    else if (warn !== undefined && valueMs > warn) Object.assign(finding, { state: 1, boundMs: warn });
    findings.push(finding);
  };
  if (status.lagMs !== undefined) judge('lag', status.lagMs, limits.warnLagMs, limits.maxLagMs);
  else if (status.sourceLatest !== undefined) judge('lag', Infinity, limits.warnLagMs, limits.maxLagMs, status.problem ?? 'nothing written yet');
  if (status.stalenessMs !== undefined) judge('staleness', status.stalenessMs, limits.warnStalenessMs, limits.maxStalenessMs);
  else judge('staleness', Infinity, limits.warnStalenessMs, limits.maxStalenessMs, 'no source rows');
  const state = Math.max(0, ...findings.map((f) => f.state)) as CheckState;
  return { status, state, findings };
}
