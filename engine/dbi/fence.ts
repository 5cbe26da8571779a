import { Knex } from 'knex';
import { ScrapeError } from '../core/errors';
import { SpecTable } from '../spec/spec-table';
import { lastValidity } from './dbi-reader';
import { Propagation, ValidityContext } from './propagation';

/** The last validity of a context as a writer knows it: its SEQNO and TIMEEND (UTC text). */
export interface FencePoint {
  seqno: number;
  timeend: string;
}

/**
 * What a write expects the target to say (docs/design.md §4.12): for its context, the last validity
 * (largest TIMEEND, ties → largest SEQNO) is still `expect`, the one the writer resumed from or
 * last wrote (undefined: the context holds no validity yet).
 */
export interface Fence {
  context: ValidityContext;
  expect: FencePoint | undefined;
}

/**
 * Checks a fence inside the write transaction, after the table's LOCALSEQNO row is locked (every
 * writer of the table passes through that row lock first, and on MySQL the reads after it see
 * every commit before it): when the context's last validity is not the expected one, another
 * writer has written the context meanwhile, and the transaction must write nothing. Throws
 * `FENCE_MOVED` (transient: the stream resumes from the target and decides again).
 */
export async function checkFence(trx: Knex.Transaction, spec: SpecTable, fence: Fence): Promise<void> {
  const last = await lastValidity(trx, spec, fence.context);
  const found = last ? { seqno: Number(last.SEQNO), timeend: String(last.TIMEEND) } : undefined;
  if (found?.seqno === fence.expect?.seqno) return;
  const said = (p: FencePoint | undefined) => (p ? `SEQNO ${p.seqno} ending ${p.timeend}` : 'no validity');
  const c = fence.context;
  throw new ScrapeError(
    'FENCE_MOVED',
    `${spec.table} {sitemask: ${c.sitemask}, subsite: ${c.subsite}, simmask: ${c.simmask}, task: ${c.task}, aggregateno: ${c.aggregateno}}: expected ${said(fence.expect)} as the last validity, the target holds ${said(found)}: another writer wrote this context; nothing written, resuming from the target`,
    { transient: true },
  );
}

/** The fence point after `props` were written with `seqnos` over a context whose last validity was `before`. */
export function fenceAfter(before: FencePoint | undefined, props: readonly Propagation[], seqnos: readonly number[]): FencePoint | undefined {
  let point = before;
  for (let i = 0; i < props.length; i++) {
    // a later SEQNO wins a tie of TIMEEND, as the last-validity order says
    if (!point || props[i].timeend >= point.timeend) point = { seqno: seqnos[i], timeend: props[i].timeend };
  }
  return point;
}
