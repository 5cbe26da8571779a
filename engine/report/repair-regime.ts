import { Knex } from 'knex';
import { regimeForRole } from '../config/regime-defaults';
import { DatabaseLocation } from '../config/dbconf';
import { ScrapeError } from '../core/errors';
import { DbiWriter, Propagation, ValidityContext } from '../dbi/dbi-writer';
import { lastValidity } from '../dbi/dbi-reader';
import { RunOptions } from '../stream/run-options';
import { TargetLock } from '../session/target-lock';
import { replayRegime } from './replay-regime';
import { heldValidities, sameValue, visibleHeld } from './verify-regime';

/** What a repair wrote for one target of one stream. */
export interface RepairedTarget {
  stream: string;
  target: string;
  context: ValidityContext;
  /** UTC range repaired: from the end of the last validity ending by `--from` to `--to`. */
  from: string;
  to: string;
  /** Validities written (0: what readers see already equals the replay). */
  written: number;
  /** SEQNOs of the visible validities the repair overlays. */
  overlays: number[];
  /** SEQNOs of the new validities. */
  seqnos: number[];
}

/** What to repair: a regime's databases, the target's location (for the lock) and the UTC range. */
export interface RepairOptions extends Omit<RunOptions, 'replay' | 'untilCaughtUp'> {
  targetLocation: DatabaseLocation;
  /** Whose validities: the scraper's (default) or the averager's (its bins, its TASK). */
  mode?: 'scrape' | 'average';
  from: string;
  to: string;
  /** Called under the lock just before the write (tests: another writer slipping in, which the fence stops). */
  beforeWrite?: () => Promise<void>;
}

/**
 * Rewrites the validities of a range as a DBI overlay, never an edit: replays the source
 * (`replayRegime`, late rows included) from the end of the target's last validity ending by
 * `from`, and when what a DBI reader sees in `[from, to)` differs from the replay, writes the
 * replay's validities of the range in one fenced transaction, VERSIONDATE above every validity
 * they overlap, with provenance `repair` listing the SEQNOs overlaid. Refused (`REPAIR_RANGE`)
 * when `to` passes the TIMESTART of the context's last validity (the range the scraper is still
 * writing: the last validity must stay the last, so a running scraper's fence still holds),
 * and (`LOCK_HELD`) while another writer holds the (table, context) lock. The fence expects
 * the last validity seen when the repair started. `mode: 'average'` does the same for the
 * averager's validities: the replay is the averager's (its bins, its TASK), same rules.
 */
export async function repairRegime(options: RepairOptions): Promise<RepairedTarget[]> {
  const mode = options.mode ?? 'scrape';
  const regime = regimeForRole(options.regime, mode);
  const writer = mode === 'scrape' ? 'scraper' : 'averager';
  const { target, from, to } = options;
  if (to <= from) throw new ScrapeError('REPAIR_RANGE', `--to ${to} is not after --from ${from}`);
  const replayed = await replayRegime({ ...options, regime }, mode, { resumeBefore: from });
  const done: RepairedTarget[] = [];
  for (const s of replayed) {
    for (const t of s.targets) {
      const ctx = s.context;
      const name = `${t.spec.table} ${s.table} {sitemask: ${ctx.sitemask}, subsite: ${ctx.subsite}, simmask: ${ctx.simmask}, task: ${ctx.task}, aggregateno: ${ctx.aggregateno}}`;
      const last = t.absent ? undefined : await lastValidity(target, t.spec, ctx);
      if (!last) throw new ScrapeError('REPAIR_RANGE', `${name}: the target holds no validity to repair`);
      const lastStart = String(last.TIMESTART);
      if (to > lastStart) throw new ScrapeError('REPAIR_RANGE', `${name}: --to ${to} is past ${lastStart}, the start of the last validity, which the ${writer} is still writing; repair up to ${lastStart} at most`);
      const anchor = await lastValidity(target, t.spec, ctx, from);
      const start = anchor ? String(anchor.TIMEEND) : from;
      const lock = TargetLock.for(options.targetLocation, [{ table: t.spec.table, context: ctx }]);
      if (!(await lock.tryAcquire())) throw new ScrapeError('LOCK_HELD', `${name}: another writer holds the lock ${lock.name}; nothing repaired`);
      try {
        const wanted = t.validities.filter((v) => v.timestart >= start && v.timestart < to && v.timeend <= lastStart);
        const seen = visibleHeld(await heldValidities(target, t.spec, ctx, start, to));
        const same =
          wanted.length === seen.length &&
          wanted.every((v, i) => {
            const h = seen[i];
            if (String(h.vld.TIMESTART) !== v.timestart || String(h.vld.TIMEEND) !== v.timeend || h.rows.length !== v.rows.length) return false;
            return v.rows.every((row, r) => t.spec.columns.every((c) => sameValue(c, row[c.name], h.rows[r][c.name])));
          });
        const overlays = seen.map((h) => Number(h.vld.SEQNO));
        const base = { stream: s.table, target: t.spec.table, context: ctx, from: start, to, overlays };
        if (same || wanted.length === 0) {
          done.push({ ...base, written: 0, overlays: [], seqnos: [] });
          continue;
        }
        const props: Propagation[] = wanted.map((v) => ({
          timestart: v.timestart,
          timeend: v.timeend,
          context: v.context,
          rows: v.rows,
          source: v.source,
          overlayWhole: true,
          why: v.why ? { ...v.why, reason: 'repair', fired: undefined, overlays } : undefined,
        }));
        const writer = new DbiWriter(target, t.spec);
        if (options.beforeWrite) await options.beforeWrite();
        // a repair does not move the last validity: the fence expects the one seen at the start
        const seqnos = await writer.write(props, { context: ctx, expect: { seqno: Number(last.SEQNO), timeend: String(last.TIMEEND) } });
        done.push({ ...base, written: seqnos.length, seqnos });
      } finally {
        await lock.release();
      }
    }
  }
  return done;
}
