import { ScrapeError } from '../core/errors';
import { normalizeUtcTimeText } from '../core/time';
import { VerifyDifference, verifyRegime } from '../report/verify-regime';
import { addCommonOptions } from './common-options';
import { addConnectTimeoutOption } from './connect-database';
import { RegisterCommand } from './main';
import { RegimeDatabaseOptions, withRegimeDatabases } from './regime-databases';
import { userError } from './user-error';

interface VerifyOptions extends RegimeDatabaseOptions {
  from?: string;
  to?: string;
  stream?: string;
  json?: boolean;
  average?: boolean;
  limit?: string;
}

/** One difference as a line. */
function differenceLine(d: VerifyDifference, zone: string): string {
  if (d.kind === 'late') return `late       ${d.stream}  id ${d.row!.id} at ${d.row!.date_time} ${zone}: arrived after its range was written, never read`;
  const range = `[${d.timestart}, ${d.timeend}) UTC  [${d.local![0]}, ${d.local![1]}) ${zone}`;
  const seqno = d.seqno === undefined ? '' : `  SEQNO ${d.seqno}`;
  return `${d.kind.padEnd(10)} ${d.target}  ${range}${seqno}${d.detail ? `  ${d.detail}` : ''}`;
}

/** `scrape verify <regime>`: replays the source without writing and compares with the target (exit 0 equal, 1 differences, 2 error). */
export const registerVerify: RegisterCommand = (program, io, setExit) => {
  const cmd = program
    .command('verify')
    .description('replay the source through the engine without writing and compare with the target: missing, extra, different validities, late and quarantined rows (exit 0 equal, 1 differences, 2 error)')
    .argument('<regime>', 'regime name or path to a YAML file')
    .option('--source <name>', "dbconf section or URL of the source (default: the regime's)")
    .option('--target <name>', "dbconf section or URL of the target (default: the regime's)")
    .option('--from <time>', 'UTC: replay from the end of the last validity ending at or before this')
    .option('--to <time>', 'UTC: compare validities starting before this')
    .option('--stream <table>', 'only this source table')
    .option('--average', "verify the averager's validities instead of the scraper's")
    .option('--limit <n>', 'differences printed (all with --json)', '20')
    .option('--json', 'the whole report, every difference, as JSON');
  addConnectTimeoutOption(cmd);
  addCommonOptions(cmd);
  cmd.action(async (name: string, opts: VerifyOptions) => {
    try {
      const mode = opts.average ? 'average' : 'scrape';
      const limit = Number(opts.limit ?? 20);
      if (!Number.isInteger(limit) || limit < 0) throw new ScrapeError('BAD_OPTION', `--limit ${opts.limit}: expected a whole number`);
      const from = opts.from === undefined ? undefined : normalizeUtcTimeText(opts.from, 'down');
      const to = opts.to === undefined ? undefined : normalizeUtcTimeText(opts.to, 'down');
      const section = mode === 'scrape' ? 'scraper' : 'averager';
      await withRegimeDatabases(name, opts, io, section, false, async ({ loaded, logger, source, target, targetLocation }) => {
        const report = await verifyRegime({ regime: loaded.regime, specs: loaded.specs, source, target, targetLocation, logger, mode, from, to, tables: opts.stream ? [opts.stream] : undefined });
        if (opts.json) {
          io.stdout.write(JSON.stringify(report, null, 2) + '\n');
        } else {
          const zone = new Map(report.streams.map((s) => [s.stream, s.zone]));
          for (const t of report.targets) {
            const c = t.context;
            io.stdout.write(
              `${t.stream} -> ${t.target}  sitemask ${c.sitemask} subsite ${c.subsite} simmask ${c.simmask} task ${c.task} aggregateno ${c.aggregateno}  from ${t.from ?? 'the start'} to ${t.to ?? "the target's last validity"} UTC: ` +
                `${t.replayed} replayed, ${t.held} in the target; ${t.missing} missing, ${t.extra} extra, ${t.different} different\n`,
            );
          }
          for (const t of report.targets) {
            for (const o of t.otherRegimes) {
              io.stdout.write(`${t.stream} -> ${t.target}: ${o.validities} ${o.validities === 1 ? 'validity' : 'validities'} of the range written by another version of the regime (sha256 ${o.hash.slice(0, 12)}…, now ${report.regimeHash.slice(0, 12)}…; not a difference by itself)\n`);
            }
          }
          for (const s of report.streams) {
            if (s.late > 0) io.stdout.write(`${s.stream}: ${s.late} late ${s.late === 1 ? 'row' : 'rows'} (never read by the run that wrote the target; left out of the replay)\n`);
            if (s.quarantined > 0) io.stdout.write(`${s.stream}: ${s.quarantined} quarantined ${s.quarantined === 1 ? 'row' : 'rows'} dated past future_limit (not read; not a difference)\n`);
          }
          for (const d of report.differences.slice(0, limit)) io.stdout.write(differenceLine(d, zone.get(d.stream) ?? loaded.regime.timezone) + '\n');
          if (report.differences.length > limit) io.stdout.write(`… and ${report.differences.length - limit} more (--json for all)\n`);
          io.stdout.write(report.equal ? 'equal\n' : `${report.differences.length} ${report.differences.length === 1 ? 'difference' : 'differences'}\n`);
        }
        setExit(report.equal ? 0 : 1);
      });
    } catch (err) {
      // exit 2 for any error, the differences' 1 being taken
      const fixable = userError(err);
      if (!fixable) throw err;
      io.stderr.write(`error ${fixable.code}: ${fixable.message}\n${fixable.hint ? `hint: ${fixable.hint}\n` : ''}`);
      setExit(2);
    }
  });
};
