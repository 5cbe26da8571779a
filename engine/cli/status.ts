import * as path from 'path';
import { Knex } from 'knex';
import { DatabaseLocation, resolveDatabase } from '../config/dbconf';
import { Logger } from '../core/logger';
import { listRegimeFiles } from '../config/load-regime';
import { StreamStatus, streamStatuses } from '../report/stream-status';
import { CommonOptions, addCommonOptions, loadRegimeForCli } from './common-options';
import { RegisterCommand } from './main';
import { userError } from './user-error';
import { addConnectTimeoutOption, connectDatabase, connectTimeoutMs } from './connect-database';
import { streamLogger } from './io';

interface StatusOptions extends CommonOptions {
  source?: string;
  target?: string;
  json?: boolean;
  average?: boolean;
  connectTimeout?: string;
}

/**
 * A lag as an operator reads it: the two largest units (`3h 12m`, `2d 5h`, `4m 10s`, `45s`);
 * negative when the target is ahead of the source.
 */
export function formatLag(ms: number): string {
  if (ms < 0) return `-${formatLag(-ms)}`;
  const s = Math.floor(ms / 1000);
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  if (d > 0) return `${d}d ${h}h`;
  if (h > 0) return `${h}h ${m}m`;
  if (m > 0) return `${m}m ${sec}s`;
  return `${sec}s`;
}

function lockText(s: StreamStatus): string {
  if (!s.lock) return 'unknown';
  return s.lock.held ? `held${s.lock.holder ? ` by ${s.lock.holder}` : ''}` : 'free';
}

/** The human lines of one stream's status (a `quarantined` line only when rows are dated past the horizon, a `late` line only when late rows are found). */
export function renderStreamStatus(s: StreamStatus, timezone: string): string {
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
  lines.push(`  writes         ${s.writesLastHour} in the last hour, ${s.validities} in all${s.last ? ` (last INSERTDATE ${s.last.insertDate} UTC)` : ''}`);
  lines.push(`  lock           ${lockText(s)}`);
  return lines.join('\n') + '\n';
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
    .option('--average', "the averager's writes (its own averager.task) instead of the scraper's");
  addConnectTimeoutOption(cmd);
  addCommonOptions(cmd);
  cmd.action(async (names: string[], opts: StatusOptions) => {
    const lookup = { regimesDir: opts.regimes, cwd: io.cwd, env: io.env };
    const wanted = names.length ? names : listRegimeFiles(lookup).files;
    const connections = new Connections(connectTimeoutMs(opts.connectTimeout), streamLogger(io, opts.logLevel, opts.logFormat));
    const results: Array<{ regime: string; timezone?: string; streams: StreamStatus[]; error?: { code: string; message: string; hint?: string } }> = [];
    try {
      for (const name of wanted) {
        try {
          const loaded = loadRegimeForCli(name, opts, io, 'scraper');
          const dbconf = { dbconf: opts.dbconf, env: io.env };
          const source = await connections.get(resolveDatabase(opts.source ?? loaded.regime.source, dbconf));
          const target = await connections.get(resolveDatabase(opts.target ?? loaded.regime.target, dbconf));
          const streams = await streamStatuses({ regime: loaded.regime, specs: loaded.specs, source, target, role: opts.average ? 'average' : 'scrape' });
          results.push({ regime: loaded.regime.name, timezone: loaded.regime.timezone, streams });
        } catch (err) {
          const fixable = userError(err);
          if (!fixable) throw err;
          setExit(1);
          const error = { code: fixable.code, message: fixable.message, ...(fixable.hint ? { hint: fixable.hint } : {}) };
          results.push({ regime: names.length ? name : path.basename(name).replace(/\.ya?ml$/i, ''), streams: [], error });
        }
      }
    } finally {
      await connections.close();
    }
    if (opts.json) {
      const json = results.map((r) => ({
        ...r,
        streams: r.streams.map((s) => ({ ...s, lag: s.lagMs === undefined ? null : formatLag(s.lagMs), lagSeconds: s.lagMs === undefined ? null : s.lagMs / 1000, lock: s.lock ?? 'unknown', late: s.late ?? null })),
      }));
      io.stdout.write(JSON.stringify(json, null, 2) + '\n');
      return;
    }
    const blocks: string[] = [];
    for (const r of results) {
      if (r.error) blocks.push(`${r.regime}  error ${r.error.code}: ${r.error.message}\n${r.error.hint ? `${' '.repeat(r.regime.length)}  hint: ${r.error.hint}\n` : ''}`);
      for (const s of r.streams) blocks.push(renderStreamStatus(s, r.timezone!));
    }
    io.stdout.write(blocks.join('\n'));
  });
};
