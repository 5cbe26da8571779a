import { regimeForRole } from '../config/regime-defaults';
import { CollectingWriter } from '../dbi/collecting-writer';
import { Propagation, ValidityContext } from '../dbi/dbi-writer';
import { SpecTable } from '../spec/spec-table';
import { buildStreamAveragers } from '../averager/averager';
import { buildStreamRunners } from '../scraper/scraper';
import { ReplayOptions, RunOptions } from '../stream/run-options';
import { SleepPolicy, runStreams } from '../stream/stream-loop';
import { StreamWorker } from '../stream/stream-worker';

/** What a replay decided for one target of one stream. */
export interface ReplayedTarget {
  spec: SpecTable;
  /** True when the target's tables do not exist (a replay treats them as empty). */
  absent: boolean;
  /** The validities a real run would write, in order, with their payload rows. */
  validities: Propagation[];
}

/** One source stream of a replay. */
export interface ReplayedStream {
  table: string;
  context: ValidityContext;
  /** The zone of the stream's source-local times. */
  zone: string;
  /** Source-local time the replay resumed from. */
  resumedAt: string;
  /** Source rows dated past `future_limit` at the end of the replay (not read). */
  quarantined: number;
  targets: ReplayedTarget[];
}

/** Never asked: a replay runs until caught up. */
const NO_SLEEP: SleepPolicy = { next: async () => 0 };

/**
 * Runs the scraper (`scrape`) or the averager (`average`) of a regime through the one stream
 * loop until caught up, every target written by a `CollectingWriter`: the validities a real run
 * would write now (or, with `replay.resumeBefore`, would have written from the target's last
 * validity ending at or before that time), decided by the engine's own code, and nothing
 * written — no table created, no lock taken, no SEQNO used.
 */
export async function replayRegime(given: Omit<RunOptions, 'replay' | 'untilCaughtUp'>, mode: 'scrape' | 'average', replay: ReplayOptions = {}): Promise<ReplayedStream[]> {
  const options: RunOptions = { ...given, regime: regimeForRole(given.regime, mode), replay, untilCaughtUp: true };
  const build = (): Promise<StreamWorker[]> => (mode === 'scrape' ? buildStreamRunners(options) : buildStreamAveragers(options));
  const workers = (await runStreams(options, build, NO_SLEEP)) ?? [];
  return workers.map((w) => ({
    table: w.stream.table,
    context: w.stream.context,
    zone: w.stream.zone,
    resumedAt: w.resumeTime,
    quarantined: w.quarantined,
    targets: w.targets.targets.map((t) => ({ spec: t.spec, absent: !!t.absent, validities: (t.writer as CollectingWriter).collected })),
  }));
}
