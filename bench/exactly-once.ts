import { describeTrial, ensureDist, inProcessTrial, processTrial, TrialResult } from './exactly-once-harness';
import { DIALECTS, TestDialect } from '../test/support/databases';

/**
 * `npm run property`: the long form of the exactly-once property test (the short form runs in
 * `npm test`). Runs `--sqlite N` (default 200) and `--mariadb N` (default 50) in-process trials,
 * then process trials (`scrape run` children, SIGKILLed at random) on both dialects: `--processes
 * N` per dialect, or by default as many as fit in `--process-seconds S` (default 300, shared by
 * the dialects). `--seed S`: first seed (default 1). Prints per dialect and kind trials, failures
 * and seconds; exits 1 on any failure.
 */

interface Flags {
  sqlite: number;
  mariadb: number;
  processes?: number;
  processSeconds: number;
  seed: number;
  verbose: boolean;
}

function parseFlags(argv: string[]): Flags {
  const flags: Flags = { sqlite: 200, mariadb: 50, processSeconds: 300, seed: 1, verbose: false };
  const num = (i: number, name: string): number => {
    const n = Number(argv[i]);
    if (!Number.isInteger(n) || n < 0) throw new Error(`${name} needs a whole number, got ${argv[i]}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--sqlite') flags.sqlite = num(++i, a);
    else if (a === '--mariadb') flags.mariadb = num(++i, a);
    else if (a === '--processes') flags.processes = num(++i, a);
    else if (a === '--process-seconds') flags.processSeconds = num(++i, a);
    else if (a === '--seed') flags.seed = num(++i, a);
    else if (a === '--verbose' || a === '-v') flags.verbose = true;
    else if (a === '--help' || a === '-h') {
      process.stdout.write('usage: node dist/bench/exactly-once.js [--sqlite 200] [--mariadb 50] [--processes N | --process-seconds 300] [--seed 1] [--verbose]\n');
      process.exit(0);
    } else throw new Error(`unknown flag ${a}`);
  }
  return flags;
}

interface Tally {
  label: string;
  trials: number;
  failures: number;
  ms: number;
  /** Sums of the trials' counters (kills, refused writes…): what the trials exercised. */
  stats: Record<string, number>;
}

const tally = (label: string): Tally => ({ label, trials: 0, failures: 0, ms: 0, stats: {} });

async function main(): Promise<number> {
  const flags = parseFlags(process.argv.slice(2));
  const tallies: Tally[] = [];
  const failed: TrialResult[] = [];
  const record = (tally: Tally, t: TrialResult): void => {
    tally.trials++;
    tally.ms += t.ms;
    for (const [k, v] of Object.entries(t.stats)) tally.stats[k] = (tally.stats[k] ?? 0) + v;
    if (t.problems.length) {
      tally.failures++;
      failed.push(t);
    }
    if (flags.verbose || t.problems.length) process.stderr.write(`${describeTrial(t)}\n`);
  };
  const counts: Record<TestDialect, number> = { sqlite: flags.sqlite, mariadb: flags.mariadb };
  for (const dialect of DIALECTS) {
    const t = tally(`in-process ${dialect}`);
    tallies.push(t);
    for (let k = 0; k < counts[dialect]; k++) {
      record(t, await inProcessTrial(dialect, flags.seed + k));
      if (!flags.verbose && t.trials % 25 === 0) process.stderr.write(`${t.label}: ${t.trials} trials, ${t.failures} failures\n`);
    }
  }
  if (flags.processes !== 0) {
    ensureDist();
    const deadline = Date.now() + flags.processSeconds * 1000;
    const procTallies = DIALECTS.map((dialect) => ({ dialect, tally: tally(`processes ${dialect}`) }));
    tallies.push(...procTallies.map((p) => p.tally));
    // alternating dialects, so a time budget is shared fairly
    for (let k = 0; flags.processes !== undefined ? k < flags.processes : Date.now() < deadline; k++) {
      for (const { dialect, tally } of procTallies) {
        if (flags.processes === undefined && Date.now() >= deadline) break;
        record(tally, await processTrial(dialect, flags.seed + k));
      }
    }
  }
  process.stdout.write(`${'kind'.padEnd(22)} ${'trials'.padStart(7)} ${'failures'.padStart(9)} ${'seconds'.padStart(9)}\n`);
  for (const t of tallies) {
    const stats = Object.entries(t.stats).map(([k, v]) => `${k} ${v}`).join(', ');
    process.stdout.write(`${t.label.padEnd(22)} ${String(t.trials).padStart(7)} ${String(t.failures).padStart(9)} ${(t.ms / 1000).toFixed(1).padStart(9)}  ${stats}\n`);
  }
  if (failed.length) process.stdout.write(`\n${failed.length} failed trial(s); seeds: ${failed.map((t) => `${t.kind} ${t.dialect} ${t.seed}`).join(', ')}\n`);
  return failed.length ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`${(err as Error)?.stack ?? String(err)}\n`);
    process.exit(2);
  },
);
