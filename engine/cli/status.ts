import * as path from 'path';
import { Knex } from 'knex';
import { DatabaseLocation, resolveDatabase } from '../config/dbconf';
import { Logger } from '../core/logger';
import { ScrapeError } from '../core/errors';
import { listRegimeFiles } from '../config/load-regime';
import { StreamStatus, streamStatuses } from '../report/stream-status';
import { CHECK_STATES, CheckFinding, CheckLimits, CheckState, StreamVerdict, isCheck, judgeStream } from '../report/stream-verdict';
import { formatDuration, parseDuration } from '../core/time';
import { describeError } from '../stream/retry';
import { CommonOptions, addCommonOptions, loadRegimeForCli } from './common-options';
import { RegisterCommand } from './main';
import { userError } from './user-error';
import { addConnectTimeoutOption, connectDatabase, connectTimeoutMs } from './connect-database';
import { streamLogger } from './io';
import { formatLag } from '../report/format-lag';

export { formatLag };

interface StatusOptions extends CommonOptions {
  source?: string;
  target?: string;
  json?: boolean;
  average?: boolean;
  warnLag?: string;
  maxLag?: string;
  warnStaleness?: string;
  maxStaleness?: string;
  connectTimeout?: string;
}

/** A regime's statuses, or why they could not be read. */
interface RegimeResult {
  regime: string;
  timezone?: string;
  streams: StreamStatus[];
  error?: { code: string; message: string; hint?: string };
}

function lockText(s: StreamStatus): string {
  if (!s.lock) return 'unknown';
  return s.lock.held ? `held${s.lock.holder ? ` by ${s.lock.holder}` : ''}` : 'free';
}

/** The human lines of one stream's status (a `quarantined` line only when rows are dated past the horizon, a `late` line only when late rows are found). */
export function renderStreamStatus(s: StreamStatus, timezone: string = s.zone): string {
  const c = s.context;
  const lines = [`${s.regime}  ${s.table} -> ${s.target}  sitemask ${c.sitemask} subsite ${c.subsite} simmask ${c.simmask} task ${c.task}`];
  if (s.problem) lines.push(`  problem        ${s.problem}`);
  if (s.last) {
    const l = s.last;
    lines.push(`  last validity  SEQNO ${l.seqno}  [${l.timestart.utc}, ${l.timeend.utc}) UTC`);
    lines.push(`                 [${l.timestart.local}, ${l.timeend.local}) ${timezone}`);
  } else if (!s.problem) {
    lines.push('  last validity  none yet');
  }
  lines.push(`  source latest  ${s.sourceLatest ?? 'no rows'}${s.sourceLatest ? ` ${timezone}` : ''}`);
  if (s.stalenessMs !== undefined) lines.push(`  staleness      ${formatLag(s.stalenessMs)} (wall clock minus the newest source row)`);
  lines.push(`  lag            ${s.lagMs === undefined ? 'n/a' : formatLag(s.lagMs)}`);
  const q = s.quarantined;
  if (q.count > 0) {
    const first = q.first ? `; first id ${q.first.id} at ${q.first.date_time}` : '';
    lines.push(`  quarantined    ${q.count} ${q.count === 1 ? 'entry' : 'entries'} dated after ${q.horizon} ${timezone} (future_limit)${first}`);
  }
  const late = s.late;
  if (late && late.count > 0) {
    const first = late.first ? `; first id ${late.first.id} at ${late.first.date_time}` : '';
    lines.push(`  late           ${late.count} ${late.count === 1 ? 'entry' : 'entries'} dated before ${late.before} ${timezone} with ids above ${late.maxId} (appeared after that range was written; not scraped)${first}`);
  }
  lines.push(`  writes         ${s.writesLastHour} in the last hour${s.last ? ` (last INSERTDATE ${s.last.insertDate} UTC)` : ''}`);
  lines.push(`  lock           ${lockText(s)}`);
  return lines.join('\n') + '\n';
}

/** A duration flag in ms (undefined when not given). */
function durationFlag(flag: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  try {
    return parseDuration(text);
  } catch (err) {
    throw new ScrapeError('BAD_DURATION', `${flag}: ${(err as Error).message}`);
  }
}

/** `5s`, `12m 3s`, or `unknown (nothing written yet)` for an unbounded finding. */
function findingValue(f: CheckFinding): string {
  return f.valueMs === Infinity ? `unknown (${f.unknown})` : formatLag(f.valueMs);
}

/**
 * The first line of `scrape status` as a monitoring check, in the form monitoring plugins print:
 * `SCRAPE <STATE> - <what is wrong, worst first, or how many streams are within bounds> | <perfdata>`,
 * the perfdata one `'regime/table lag'=<s>s;<warn>;<max>` and one `… staleness` per stream.
 */
export function checkSummary(verdicts: StreamVerdict[], errors: Array<{ regime: string; code: string; message: string }>, limits: CheckLimits): { state: CheckState; line: string } {
  const counts = new Map<string, number>();
  for (const v of verdicts) counts.set(`${v.status.regime}/${v.status.table}`, (counts.get(`${v.status.regime}/${v.status.table}`) ?? 0) + 1);
  const name = (s: StreamStatus) => `${s.regime}/${s.table}${(counts.get(`${s.regime}/${s.table}`) ?? 0) > 1 ? `->${s.target}` : ''}`;
  const state = Math.max(errors.length ? 2 : 0, ...verdicts.map((v) => v.state)) as CheckState;
  const problems: Array<{ state: CheckState; text: string }> = errors.map((e) => ({ state: 2, text: `${e.regime} error ${e.code}` }));
  for (const v of verdicts) {
    for (const f of v.findings) if (f.state > 0) problems.push({ state: f.state, text: `${name(v.status)} ${f.figure} ${findingValue(f)}${f.valueMs === Infinity ? '' : ` > ${formatDuration(f.boundMs!)}`}` });
  }
  problems.sort((a, b) => b.state - a.state);
  let text: string;
  if (problems.length) text = problems.map((p) => p.text).join('; ');
  else {
    const most = (figure: CheckFinding['figure']) => Math.max(...verdicts.flatMap((v) => v.findings.filter((f) => f.figure === figure).map((f) => f.valueMs)));
    const judged = (['lag', 'staleness'] as const).filter((f) => verdicts.some((v) => v.findings.some((x) => x.figure === f)));
    const within = judged.map((f) => `${f} at most ${formatLag(most(f))}`).join(', ');
    text = `${verdicts.length} stream${verdicts.length === 1 ? '' : 's'} within bounds${within ? ` (${within})` : ''}`;
  }
  const bound = (ms: number | undefined) => (ms === undefined ? '' : String(ms / 1000));
  const perf: string[] = [];
  for (const v of verdicts) {
    for (const f of v.findings) {
      if (f.valueMs === Infinity) continue;
      const [warn, max] = f.figure === 'lag' ? [limits.warnLagMs, limits.maxLagMs] : [limits.warnStalenessMs, limits.maxStalenessMs];
      perf.push(`'${name(v.status).replace(/'/g, '')} ${f.figure}'=${Math.round(f.valueMs / 1000)}s;${bound(warn)};${bound(max)}`);
    }
  }
  return { state, line: `SCRAPE ${CHECK_STATES[state]} - ${text}${perf.length ? ` | ${perf.join(' ')}` : ''}` };
}

/**
 * Opens each distinct database once (read-only; SQLite files must exist: status creates nothing),
 * connecting first with the bounded wait of `--connect-timeout`; a database that failed is not
 * tried again for the next regime (its error is repeated).
 */
class Connections {
  private readonly open = new Map<string, Promise<Knex>>();
  constructor(private readonly timeoutMs: number, private readonly logger: Logger) {}
  get(location: DatabaseLocation): Promise<Knex> {
    const key = JSON.stringify([location.dialect, location.filename, location.host, location.port, location.socket, location.user, location.database]);
    let db = this.open.get(key);
    if (!db) {
      db = connectDatabase(location, { readOnly: true, timeoutMs: this.timeoutMs, logger: this.logger });
      db.catch(() => undefined); // awaited by each caller; a failure is not an unhandled rejection
      this.open.set(key, db);
    }
    return db;
  }
  async close(): Promise<void> {
    for (const db of this.open.values()) await db.then((d) => d.destroy(), () => undefined);
  }
}

/** `scrape status [regime…]`: where each stream of each regime stands, from the databases only. */
export const registerStatus: RegisterCommand = (program, io, setExit) => {
  const cmd = program
    .command('status')
    .description('per stream: last validity (UTC and local), source latest date_time, lag, entries quarantined as dated in the future, late entries, writes in the last hour, lock holder')
    .argument('[regimes...]', 'regime names or YAML paths (default: every regime of the regimes folder)')
    .option('--source <name>', "dbconf section or URL of the source (default: each regime's)")
    .option('--target <name>', "dbconf section or URL of the target (default: each regime's)")
    .option('--json', 'print the statuses as JSON')
    .option('--average', "the averager's writes (its own averager.task) instead of the scraper's")
    .option('--warn-lag <duration>', 'monitoring check: WARNING (exit 1) when a stream lags more')
    .option('--max-lag <duration>', 'monitoring check: CRITICAL (exit 2) when a stream lags more')
    .option('--warn-staleness <duration>', 'monitoring check: WARNING (exit 1) when a source has not written for longer')
    .option('--max-staleness <duration>', 'monitoring check: CRITICAL (exit 2) when a source has not written for longer');
  addConnectTimeoutOption(cmd);
  addCommonOptions(cmd);
  cmd.action(async (names: string[], opts: StatusOptions) => {
    const limits: CheckLimits = {
      warnLagMs: durationFlag('--warn-lag', opts.warnLag),
      maxLagMs: durationFlag('--max-lag', opts.maxLag),
      warnStalenessMs: durationFlag('--warn-staleness', opts.warnStaleness),
      maxStalenessMs: durationFlag('--max-staleness', opts.maxStaleness),
    };
    const check = isCheck(limits);
    const lookup = { regimesDir: opts.regimes, cwd: io.cwd, env: io.env };
    const wanted = names.length ? names : listRegimeFiles(lookup).files;
    const connections = new Connections(connectTimeoutMs(opts.connectTimeout), streamLogger(io, opts.logLevel, opts.logFormat));
    const results: RegimeResult[] = [];
    try {
      for (const name of wanted) {
        try {
          const loaded = loadRegimeForCli(name, opts, io, 'scraper');
          const dbconf = { dbconf: opts.dbconf, env: io.env, cwd: io.cwd };
          const source = await connections.get(resolveDatabase(opts.source ?? loaded.regime.source, dbconf));
          const target = await connections.get(resolveDatabase(opts.target ?? loaded.regime.target, dbconf));
          const streams = await streamStatuses({ regime: loaded.regime, specs: loaded.specs, source, target, role: opts.average ? 'average' : 'scrape' });
          results.push({ regime: loaded.regime.name, timezone: loaded.regime.timezone, streams });
        } catch (err) {
          // a check reports whatever stopped it (a database down included) as CRITICAL
          const fixable = userError(err);
          if (!fixable && !check) throw err;
          setExit(check ? 2 : 1);
          const code = (err as { code?: unknown }).code;
          const error = fixable
            ? { code: fixable.code, message: fixable.message, ...(fixable.hint ? { hint: fixable.hint } : {}) }
            : { code: typeof code === 'string' ? code : 'ERROR', message: describeError(err) };
          results.push({ regime: names.length ? name : path.basename(name).replace(/\.ya?ml$/i, ''), streams: [], error });
        }
      }
    } finally {
      await connections.close();
    }
    const verdicts = new Map<StreamStatus, StreamVerdict>();
    let summary: string | undefined;
    if (check) {
      for (const r of results) for (const s of r.streams) verdicts.set(s, judgeStream(s, limits));
      const errors = results.filter((r) => r.error).map((r) => ({ regime: r.regime, ...r.error! }));
      const verdict = checkSummary([...verdicts.values()], errors, limits);
      setExit(verdict.state);
      summary = verdict.line;
    }
    if (opts.json) {
      const json = results.map((r) => ({
        ...r,
        streams: r.streams.map((s) => ({
          ...s,
          lag: s.lagMs === undefined ? null : formatLag(s.lagMs),
          lagSeconds: s.lagMs === undefined ? null : s.lagMs / 1000,
          staleness: s.stalenessMs === undefined ? null : formatLag(s.stalenessMs),
          stalenessSeconds: s.stalenessMs === undefined ? null : s.stalenessMs / 1000,
          lock: s.lock ?? 'unknown',
          late: s.late ?? null,
          ...(check ? { state: CHECK_STATES[verdicts.get(s)!.state] } : {}),
        })),
      }));
      io.stdout.write(JSON.stringify(json, null, 2) + '\n');
      return;
    }
    const blocks: string[] = [];
    if (summary) io.stdout.write(summary + '\n');
    for (const r of results) {
      if (r.error) blocks.push(`${r.regime}  error ${r.error.code}: ${r.error.message}\n${r.error.hint ? `${' '.repeat(r.regime.length)}  hint: ${r.error.hint}\n` : ''}`);
      for (const s of r.streams) blocks.push(renderStreamStatus(s));
    }
    io.stdout.write(blocks.join('\n'));
  });
};
