import { fork } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { openDatabase } from '../engine/db/open-database';
import { ChildResult } from './bench-child';
import { DB_PREFIX, FakerFigures, SERVER_URL, SQLITE_DIR, benchLocation, benchRegime, benchSqliteLocation, dropBenchDatabases, fakeSource, Workload } from './bench-data';
import { EDGE_SHARE, PhaseSpec } from './bench-phases';
import { prepareManySource } from './bench-many';
import { Figure, renderTable } from './bench-report';
import { BenchRef, dropRef, refLocation } from './bench-flat';
import { shapeInfo, TargetShape } from './bench-target';

/**
 * `npm run bench`: sets up its own MariaDB databases (`bench_*`, or `$SCRAPE_BENCH_PREFIX*`) with the batch faker, measures
 * the scraper, the pmthv scraper and the averager against what MariaDB and the literal
 * per-sample baseline do on the same data in the same run, and the scraper on the embedded
 * SQLite default (files in `SQLITE_DIR`), and prints one table with each figure, its target and
 * PASS/MISS (docs/design.md §9). Not part of `npm test`.
 *
 * Also (`flat`) appends into DBI targets already holding 10 M validities (filled by the bench's
 * bulk loader, `bench-target.ts`) against the same appends into empty ones, and times and explains
 * the queries of resume, status, query --at, the late-row check and the overlay on them; and
 * (`memory`) the peak RSS of a 2 M-row catch-up against a 200 k-row one on both databases; and
 * (`many`) every stream of every shipped regime in one process, live and catching up.
 *
 * Flags: `--scale F` (all sizes × F, for development), `--only
 * scraper,sqlite,pmthv,averager,many,flat,memory` (each row alone), `--reuse` (keep fake sources of the
 * right size from a previous `--keep` run), `--reuse-targets` (the same for the full targets of
 * `flat`), `--keep` (do not drop the databases at the end), `--runs N` (runs of the SQLite
 * scraper and interleaved rounds of the pmthv and averager rows, default 3).
 */

interface Flags {
  scale: number;
  only?: Set<string>;
  keep: boolean;
  reuse: boolean;
  /** `flat`: keep full targets of the right size from a previous `--keep` run instead of filling them again. */
  reuseTargets?: boolean;
  /** Runs of the SQLite scraper, and interleaved rounds of the pmthv and averager rows (median counts). */
  runs: number;
}

function parseFlags(argv: string[]): Flags {
  const flags: Flags = { scale: 1, keep: false, reuse: false, runs: 3 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--scale') flags.scale = Number(argv[++i]);
    else if (a === '--only') flags.only = new Set(argv[++i].split(','));
    else if (a === '--keep') flags.keep = true;
    else if (a === '--reuse') flags.reuse = true;
    else if (a === '--reuse-targets') flags.reuseTargets = true;
    else if (a === '--runs') flags.runs = Number(argv[++i]);
    else if (a === '--help' || a === '-h') {
      process.stdout.write('usage: npm run bench -- [--scale F] [--only scraper,sqlite,pmthv,averager,many,flat,memory] [--keep] [--reuse] [--reuse-targets] [--runs N]\n');
      process.exit(0);
    } else throw new Error(`unknown flag ${a}`);
  }
  if (!(flags.scale > 0)) throw new Error('--scale needs a positive number');
  if (!(Number.isInteger(flags.runs) && flags.runs >= 1)) throw new Error('--runs needs a whole number >= 1');
  return flags;
}

function log(line: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
}

/** Runs one phase in a fresh child process and returns its figures and peak RSS. */
function inChild(spec: PhaseSpec): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const child = fork(path.join(__dirname, 'bench-child.js'), [JSON.stringify(spec)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    let result: ChildResult | undefined;
    let error: string | undefined;
    child.on('message', (m: ChildResult | { error: string }) => {
      if ('error' in m) error = m.error;
      else result = m;
    });
    child.on('error', reject);
    child.on('exit', (code) => {
      if (result) resolve(result);
      else reject(new Error(`phase ${spec.kind} failed (exit ${code})${error ? `: ${error}` : ''}`));
    });
  });
}

/** The source database of a size, faked (or reused with `--reuse` when it already holds those rows). */
async function source(workload: Workload, rows: number, flags: Flags, fakers: FakerFigures[]): Promise<string> {
  const name = `${DB_PREFIX}src_${workload}_${rows}`;
  if (flags.reuse) {
    const db = openDatabase(benchLocation(name), { poolMax: 1 });
    try {
      const { table } = benchRegime(workload);
      const [r] = await db.raw(`SELECT COUNT(*) AS n FROM \`${table}\``);
      if (Number(r[0].n) === rows) {
        log(`reusing ${name}`);
        return name;
      }
    } catch {
      // not there: fake it
    } finally {
      await db.destroy();
    }
  }
  log(`faking ${rows} rows of ${workload} into ${name}`);
  const f = await fakeSource(workload, name, rows);
  log(`  ${f.rows} rows in ${f.seconds.toFixed(1)} s (${Math.round(f.rows / f.seconds)} rows/s)`);
  fakers.push(f);
  return name;
}

async function measure(label: string, spec: PhaseSpec): Promise<ChildResult> {
  log(`${label}...`);
  const r = await inChild(spec);
  log(`  ${r.rows} rows in ${r.seconds.toFixed(2)} s = ${Math.round(r.rows / r.seconds)} rows/s, peak RSS ${r.peakRssMb.toFixed(0)} MB ${JSON.stringify(r.counts)}`);
  return r;
}

const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

/** The SQLite source file of a size, faked (or reused with `--reuse` when it already holds those rows). */
async function sqliteSource(rows: number, flags: Flags, fakers: FakerFigures[], workload: Workload = 'adtemp'): Promise<string> {
  const file = `src_${workload}_${rows}.sqlite`;
  const location = benchSqliteLocation(file);
  if (flags.reuse && fs.existsSync(location.filename!)) {
    const db = openDatabase(location, { readOnly: true });
    try {
      const { table } = benchRegime(workload);
      const r = await db.raw(`SELECT COUNT(*) AS n FROM "${table}"`);
      if (Number(r[0].n) === rows) {
        log(`reusing ${location.filename}`);
        return file;
      }
    } catch {
      // not there: fake it
    } finally {
      await db.destroy();
    }
  }
  log(`faking ${rows} rows of ${workload} into ${location.filename}`);
  const f = await fakeSource(workload, file, rows, { sqlite: true });
  log(`  ${f.rows} rows in ${f.seconds.toFixed(1)} s (${Math.round(f.rows / f.seconds)} rows/s)`);
  fakers.push(f);
  return file;
}

/** Whether a full target of the flat rows already holds at least `validities` validities (`--reuse-targets`). */
async function holdsValidities(ref: BenchRef, table: string, validities: number): Promise<boolean> {
  if (ref.dialect === 'sqlite' && !fs.existsSync(refLocation(ref).filename!)) return false;
  const db = openDatabase(refLocation(ref), { poolMax: 1 });
  try {
    const q = ref.dialect === 'mysql' ? '`' : '"';
    const r = await db.raw(`SELECT COUNT(*) AS n FROM ${q}${table}Vld${q}`);
    const n = Number((ref.dialect === 'mysql' ? r[0] : r)[0].n);
    return n >= validities && n < validities * 1.1;
  } catch {
    return false;
  } finally {
    await db.destroy();
  }
}

/** Median of a list of numbers (mean of the middle two for an even count). */
function median(values: number[]): number {
  const v = [...values].sort((a, b) => a - b);
  const m = Math.floor(v.length / 2);
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

/** `median (min–max)` of a list, formatted; the range is left out for one run. */
function spread(values: number[], digits = 0, unit = ''): string {
  const one = fmt(median(values), digits) + unit;
  return values.length > 1 ? `${one} (${fmt(Math.min(...values), digits)}–${fmt(Math.max(...values), digits)})` : one;
}

async function main(): Promise<void> {
  const flags = parseFlags(process.argv.slice(2));
  const want = (what: string) => !flags.only || flags.only.has(what);
  const size = (n: number) => Math.max(1000, Math.round(n * flags.scale));
  const started = Date.now();
  const figures: Figure[] = [];
  const fakers: FakerFigures[] = [];
  log(`MariaDB ${SERVER_URL.replace(/\/\/[^@]*@/, '//')}, scale ${flags.scale}, node ${process.version}, ${os.cpus().length} CPUs`);

  if (want('scraper')) {
    const big = size(2_000_000);
    const small = size(200_000);
    const srcBig = await source('adtemp', big, flags, fakers);
    const srcSmall = await source('adtemp', small, flags, fakers);
    const run = await measure(`scraper adtemp, ${big} rows`, { kind: 'scraper', workload: 'adtemp', source: srcBig, target: `${DB_PREFIX}tgt_scraper` });
    const samples = Math.min(2000, Math.floor(big / 2));
    const base = await measure(`literal per-sample baseline, ${samples} samples`, { kind: 'baseline', source: srcBig, samples });
    const runSmall = await measure(`scraper adtemp, ${small} rows (memory)`, { kind: 'scraper', workload: 'adtemp', source: srcSmall, target: `${DB_PREFIX}tgt_scraper_small` });
    const rate = run.rows / run.seconds;
    const baseRate = base.rows / base.seconds;
    figures.push(
      { name: `scraper catch-up, adtemp + aggregates, ${fmt(run.rows)} rows → ${fmt(run.counts.validities)} validities`, value: `${fmt(rate)} rows/s (${run.seconds.toFixed(1)} s)`, target: '≥ 100,000 rows/s', pass: rate >= 100_000 },
      { name: `  literal per-sample baseline (${fmt(base.counts.samples)} samples, 2 queries each)`, value: `${fmt(baseRate)} rows/s`, target: '', pass: undefined },
      { name: '  scraper / baseline', value: `${fmt(rate / baseRate, 1)}×`, target: '≥ 50×', pass: rate / baseRate >= 50 },
      { name: `  peak RSS, ${fmt(run.rows)} rows`, value: `${fmt(run.peakRssMb)} MB`, target: '', pass: undefined },
      { name: `  peak RSS, ${fmt(runSmall.rows)} rows (${fmt(runSmall.rows / runSmall.seconds)} rows/s)`, value: `${fmt(runSmall.peakRssMb)} MB`, target: '', pass: undefined },
      { name: `  peak RSS ratio ${fmt(run.rows / 1000)}k / ${fmt(runSmall.rows / 1000)}k rows`, value: `${fmt(run.peakRssMb / runSmall.peakRssMb, 2)}×`, target: '≤ 1.5×', pass: run.peakRssMb / runSmall.peakRssMb <= 1.5 },
    );
  }

  if (want('sqlite')) {
    const big = size(2_000_000);
    const src = await sqliteSource(big, flags, fakers);
    // several runs, each in a fresh process into a fresh target file; the median counts (this
    // machine's other load moves a single run by half)
    const runs: ChildResult[] = [];
    for (let k = 0; k < flags.runs; k++) {
      runs.push(await measure(`scraper adtemp on SQLite, ${big} rows (${k + 1}/${flags.runs})`, { kind: 'scraper-sqlite', source: src, target: 'tgt_scraper.sqlite' }));
    }
    const rates = runs.map((r) => r.rows / r.seconds);
    const starts = runs.map((r) => r.counts.startRate);
    const ends = runs.map((r) => r.counts.endRate);
    const flat = runs.map((r) => r.counts.endRate / r.counts.startRate);
    const edge = fmt(100 * EDGE_SHARE);
    const n = `${runs.length} run${runs.length > 1 ? 's' : ''}, median (min–max)`;
    figures.push(
      { name: `scraper catch-up on SQLite (embedded default), adtemp + aggregates, ${fmt(runs[0].rows)} rows → ${fmt(runs[0].counts.validities)} validities; ${n}`, value: `${spread(rates)} rows/s (${fmt(median(runs.map((r) => r.seconds)), 1)} s)`, target: '≥ 100,000 rows/s', pass: median(rates) >= 100_000 },
      { name: `  first ${edge} % of the rows`, value: `${spread(starts)} rows/s`, target: '', pass: undefined },
      { name: `  last ${edge} % of the rows (target holding ${100 - Number(edge)} % of the validities)`, value: `${spread(ends)} rows/s`, target: '', pass: undefined },
      { name: '  last / first', value: spread(flat, 2), target: '≥ 0.8', pass: median(flat) >= 0.8 },
      { name: '  rows per second of CPU time (user + system; the machine\'s other load left out)', value: `${spread(runs.map((r) => r.rows / r.counts.cpuSeconds))} rows/s (${spread(runs.map((r) => r.counts.cpuSeconds), 1)} s)`, target: '', pass: undefined },
      { name: '  peak RSS', value: `${spread(runs.map((r) => r.peakRssMb))} MB`, target: '', pass: undefined },
    );
  }

  if (want('pmthv')) {
    const rows = size(100_000);
    const src = await source('pmthv', rows, flags, fakers);
    // each side `--runs` times (default 3), interleaved; the ratio of each round and the median
    // round count (right after the faker MariaDB is still flushing what it wrote, and a first
    // read then takes up to half as long again: a first unmeasured read warms it)
    if (!flags.reuse) await measure(`warm-up read of the joined pmthv rows, ${rows} rows`, { kind: 'bare-read', workload: 'pmthv', source: src });
    const bares: ChildResult[] = [];
    const runs: ChildResult[] = [];
    for (let k = 0; k < flags.runs; k++) {
      bares.push(await measure(`bare read of the joined pmthv rows, ${rows} rows (${k + 1}/${flags.runs})`, { kind: 'bare-read', workload: 'pmthv', source: src }));
      runs.push(await measure(`scraper pmthv, ${rows} rows (${k + 1}/${flags.runs})`, { kind: 'scraper', workload: 'pmthv', source: src, target: `${DB_PREFIX}tgt_pmthv` }));
    }
    const rates = runs.map((r) => r.rows / r.seconds);
    const bareRates = bares.map((r) => r.rows / r.seconds);
    const shares = runs.map((_, k) => (100 * rates[k]) / bareRates[k]);
    const cpu = runs.map((r) => (r.counts.cpuSeconds * 100_000) / r.rows);
    const bareCpu = bares.map((r) => (r.counts.cpuSeconds * 100_000) / r.rows);
    const n = `${runs.length} interleaved run${runs.length > 1 ? 's' : ''}, median (min–max)`;
    figures.push(
      { name: `pmthv catch-up, 192 channels (Vmon ⋈ Pw), ${fmt(runs[0].rows)} rows → ${fmt(runs[0].counts.validities)} validities; ${n}`, value: `${spread(rates)} rows/s (${fmt(median(runs.map((r) => r.seconds)), 1)} s)`, target: '', pass: undefined },
      { name: `  payload rows written (a validity every ${fmt(runs[0].rows / runs[0].counts.validities)} rows)`, value: `${spread(runs.map((r) => r.counts.payload / r.seconds))} rows/s (${fmt(runs[0].counts.payload)})`, target: '', pass: undefined },
      { name: `  bare streaming read of the same joined rows (faster of objects/arrays)`, value: `${spread(bareRates)} rows/s (${fmt(median(bares.map((r) => r.seconds)), 1)} s)`, target: '', pass: undefined },
      { name: '  scraper / bare read (per round)', value: spread(shares, 0, ' %'), target: '≥ 85 %', pass: median(shares) >= 85 },
      { name: '  client CPU seconds per 100 k joined rows (user + system): scraper; bare read', value: `${spread(cpu, 2)} s; ${spread(bareCpu, 2)} s`, target: '', pass: undefined },
      { name: '  peak RSS', value: `${spread(runs.map((r) => r.peakRssMb))} MB (bare read ${spread(bares.map((r) => r.peakRssMb))} MB)`, target: '', pass: undefined },
    );
  }

  if (want('averager')) {
    const rows = size(2_000_000);
    const src = await source('adlid', rows, flags, fakers);
    // each side `--runs` times (default 3), interleaved; the ratio of each round and the median
    // round count (the table is larger than MariaDB's default buffer pool: the first pass over it
    // pays for reading it from disk, so a fresh source is read once unmeasured first)
    if (!flags.reuse) await measure(`warm-up GROUP BY hour, ${rows} rows`, { kind: 'group-by', source: src });
    const groups: ChildResult[] = [];
    const runs: ChildResult[] = [];
    for (let k = 0; k < flags.runs; k++) {
      groups.push(await measure(`MariaDB GROUP BY hour, ${rows} rows (${k + 1}/${flags.runs})`, { kind: 'group-by', source: src }));
      runs.push(await measure(`averager adlid, ${rows} rows (${k + 1}/${flags.runs})`, { kind: 'averager', source: src, target: `${DB_PREFIX}tgt_averager` }));
    }
    const ratios = runs.map((r, k) => r.seconds / groups[k].seconds);
    const n = `${runs.length} interleaved run${runs.length > 1 ? 's' : ''}, median (min–max)`;
    figures.push(
      { name: `averager, hourly avg/min/max/std/count of 18 quantities, ${fmt(runs[0].rows)} rows → ${fmt(runs[0].counts.validities)} validities; ${n}`, value: `${spread(runs.map((r) => r.rows / r.seconds))} rows/s (${fmt(median(runs.map((r) => r.seconds)), 1)} s)`, target: '', pass: undefined },
      { name: `  MariaDB alone: one GROUP BY hour (${groups[0].counts.aggregates} aggregates + count), no writing`, value: `${spread(groups.map((g) => rows / g.seconds))} rows/s (${fmt(median(groups.map((g) => g.seconds)), 1)} s)`, target: '', pass: undefined },
      { name: '  averager time / GROUP BY time (per round)', value: spread(ratios, 2), target: '≤ 0.40', pass: median(ratios) <= 0.4 },
      { name: '  worst round', value: fmt(Math.max(...ratios), 2), target: '≤ 0.5', pass: Math.max(...ratios) <= 0.5 },
      { name: '  client CPU seconds of the averager (user + system)', value: `${spread(runs.map((r) => r.counts.cpuSeconds), 1)} s`, target: '', pass: undefined },
      { name: '  peak RSS', value: `${spread(runs.map((r) => r.peakRssMb))} MB`, target: '', pass: undefined },
    );
  }

  if (want('many')) {
    // every stream of every shipped regime (all sites, from the DCS dump) in one process
    const minutes = Math.max(1, Math.round(10 * Math.min(1, flags.scale)));
    const day = Math.max(600_000, Math.round(86_400_000 * Math.min(1, flags.scale)));
    log(`many: faking one hour of every shipped regime's tables (one row per 10 s)`);
    const liveSrc = await prepareManySource('shipped', `${DB_PREFIX}many_live_src`, 3_600_000);
    const live = await measure(`many streams live, ${minutes} min simulated`, { kind: 'many-live', which: 'shipped', source: liveSrc, target: `${DB_PREFIX}tgt_many_live`, minutes });
    const c = live.counts;
    figures.push(
      { name: `many streams live: ${c.streams} streams of every shipped regime in one process, a row per 10 s each, ${minutes} min simulated (injected clock)`, value: `${fmt(c.cpuPercent, 2)} % of a core (${fmt(c.cpuSeconds, 1)} CPU s; faker's ${fmt(c.fakerCpuSeconds, 1)} s left out)`, target: '< 2 %', pass: c.cpuPercent < 2 },
      { name: '  peak RSS of the process (start, the hour before caught up at once, 10 min live; sampled every 20 ms)', value: `${fmt(live.peakRssMb)} MB`, target: '< 200 MB', pass: live.peakRssMb < 200 },
      { name: '  RSS while live (peak at the moments all streams sleep), and what it was made of', value: `${fmt(c.rssMb)} MB: V8 heap ${fmt(c.heapUsedMb)} MB used of ${fmt(c.heapTotalMb)} MB, external ${fmt(c.externalMb)} MB`, target: '', pass: undefined },
      { name: '  every stream\'s max lag (newest row − last consumed, in the stream\'s scraper.interval, at each moment all streams sleep)', value: `${fmt(c.maxLagIntervals, 1)} intervals (mean ${fmt(c.meanLagIntervals, 2)}; worst ${(c as unknown as { worstStream: string }).worstStream})`, target: '< 2 intervals', pass: c.maxLagIntervals < 2 },
      { name: '  streams failed', value: fmt(c.failed), target: '0', pass: c.failed === 0 },
    );
    log(`many: faking ${fmt(day / 3_600_000, 1)} h of every shipped regime's tables`);
    const daySrc = await prepareManySource('shipped', `${DB_PREFIX}many_day_src`, day);
    const together = await measure('many streams catch-up, all at once', { kind: 'many-catchup', which: 'shipped', source: daySrc, target: `${DB_PREFIX}tgt_many_all`, alone: false });
    const alone = await measure('many streams catch-up, one stream at a time', { kind: 'many-catchup', which: 'shipped', source: daySrc, target: `${DB_PREFIX}tgt_many_one`, alone: true });
    const rateAll = together.rows / together.seconds;
    figures.push(
      { name: `many streams catch-up of ${fmt(day / 3_600_000, 1)} h: ${together.counts.streams} streams at once, ${fmt(together.rows)} rows`, value: `${fmt(rateAll)} rows/s (${fmt(together.seconds, 1)} s)`, target: '', pass: undefined },
      { name: `  each stream alone, one after the other (${alone.counts.streams} runs)`, value: `sum of rates ${fmt(alone.counts.rateSum)} rows/s; ${fmt(alone.rows / alone.seconds)} rows/s over ${fmt(alone.seconds, 1)} s`, target: '', pass: undefined },
      { name: '  rate all at once / rate of the same rows one stream at a time (= time alone, summed, / time all at once)', value: `${fmt((100 * rateAll) / (alone.rows / alone.seconds))} %`, target: '≥ 80 %', pass: rateAll / (alone.rows / alone.seconds) >= 0.8 },
      { name: '  the same in CPU seconds (alone, summed, / all at once)', value: `${fmt((100 * alone.counts.cpuSeconds) / together.counts.cpuSeconds)} % (${fmt(alone.counts.cpuSeconds, 1)} s / ${fmt(together.counts.cpuSeconds, 1)} s)`, target: '', pass: undefined },
      { name: '  rate all at once / each stream\'s rate alone, added (each had the machine to itself: not a target, README)', value: `${fmt((100 * rateAll) / alone.counts.rateSum, 1)} %`, target: '', pass: undefined },
      { name: '  peak RSS, all at once', value: `${fmt(together.peakRssMb)} MB`, target: '', pass: undefined },
    );
    const copies = Math.max(1, Math.round(30 * Math.min(1, flags.scale)));
    log(`many: faking 10 min of ${copies * 10} generated streams`);
    const bigSrc = await prepareManySource(copies, `${DB_PREFIX}many_gen_src`, 600_000);
    const big = await measure(`${copies * 10} streams live, ${minutes} min simulated`, { kind: 'many-live', which: copies, source: bigSrc, target: `${DB_PREFIX}tgt_many_gen`, minutes });
    const b = big.counts;
    figures.push(
      { name: `${b.streams} generated streams (${copies} adtemp copies × 10 tables) live in one process, ${minutes} min simulated`, value: `${fmt(b.cpuPercent, 2)} % of a core, ${fmt(b.cpuPercent / b.streams, 4)} % per stream`, target: '', pass: undefined },
      { name: '  peak RSS of the process (start, catching up the 10 min before, live; sampled every 20 ms)', value: `${fmt(big.peakRssMb)} MB`, target: '≤ 400 MB', pass: big.peakRssMb <= 400 },
      { name: '  RSS while live (peak), per stream', value: `${fmt(b.rssMb)} MB, ${fmt((b.rssMb - b.rssBeforeMb) / b.streams, 2)} MB per stream above the ${fmt(b.rssBeforeMb)} MB before (heap ${fmt(b.heapUsedMb)} MB used of ${fmt(b.heapTotalMb)} MB)`, target: '', pass: undefined },
      { name: '  max lag', value: `${fmt(b.maxLagIntervals, 1)} intervals`, target: '', pass: undefined },
    );
  }

  if (want('flat')) {
    // writes flat as the target grows: full targets built by the bulk loader, appends into them
    // and into empty ones (interleaved, median of 3), then the queries of resume, status, query
    // --at, the late-row check and the overlay on the full tables, with their plans
    const shapes: { shape: TargetShape; full: number; append: number; batch: number }[] = [
      { shape: 'adtemp', full: size(10_000_000), append: Math.max(200, Math.round(20_000 * flags.scale)), batch: 20 },
      { shape: 'pmthv', full: Math.max(800, Math.round(60_000 * flags.scale)), append: Math.max(20, Math.round(200 * flags.scale)), batch: 2 },
    ];
    for (const dialect of ['mysql', 'sqlite'] as const) {
      const db = dialect === 'mysql' ? 'MariaDB' : 'SQLite';
      const ref = (name: string): BenchRef => ({ dialect, name: dialect === 'mysql' ? `${DB_PREFIX}${name}` : `${name}.sqlite` });
      for (const { shape, full, append, batch } of shapes) {
        const fullRef = ref(`tgt_flat_${shape}`);
        const emptyRef = ref(`tgt_flat_empty_${shape}`);
        const info = shapeInfo(shape);
        let filled: ChildResult | undefined;
        if (!(flags.reuseTargets && (await holdsValidities(fullRef, info.spec.table, full)))) {
          filled = await measure(`bulk loader: ${full} ${shape} validities into ${db}`, { kind: 'fill-target', shape, target: fullRef, validities: full });
        } else log(`reusing ${fullRef.name}`);
        const fulls: ChildResult[] = [];
        const empties: ChildResult[] = [];
        for (let k = 0; k < 3; k++) {
          empties.push(await measure(`append ${append} ${shape} validities into an empty ${db} target (${k + 1}/3)`, { kind: 'append', shape, target: emptyRef, count: append, batch, fresh: true }));
          fulls.push(await measure(`append ${append} ${shape} validities into the full ${db} target (${k + 1}/3)`, { kind: 'append', shape, target: fullRef, count: append, batch, fresh: false }));
        }
        await dropRef(emptyRef);
        const rate = (r: ChildResult) => r.rows / r.seconds;
        const ratios = [0, 1, 2].map((k) => rate(fulls[k]) / rate(empties[k]));
        const held = filled ? filled.rows : full;
        const payload = held * info.rowsPerValidity;
        figures.push(
          { name: `${db}: append ${fmt(append)} ${shape} validities (${info.rowsPerValidity} payload row${info.rowsPerValidity > 1 ? 's' : ''} each, ${batch} per fenced transaction) into a target holding ${fmt(held)} validities, ${fmt(payload)} payload rows`, value: `${spread(fulls.map(rate))} validities/s`, target: '', pass: undefined },
          { name: `  the same append into an empty target`, value: `${spread(empties.map(rate))} validities/s`, target: '', pass: undefined },
          { name: `  full / empty (3 interleaved pairs, median (min–max))`, value: `${spread(ratios.map((r) => 100 * r))} %`, target: '≥ 90 %', pass: median(ratios) >= 0.9 },
        );
        if (filled) figures.push({ name: `  bulk loader (not the scraper): Vld + payload + source ids + provenance`, value: `${fmt(filled.rows / filled.seconds)} validities/s (${filled.seconds.toFixed(0)} s)`, target: '', pass: undefined });
        const statusSource: BenchRef = { dialect, name: dialect === 'mysql' ? await source(shape, 1000, flags, fakers) : await sqliteSource(1000, flags, fakers, shape) };
        const q = await measure(`queries on the full ${db} ${shape} target`, { kind: 'target-queries', shape, target: fullRef, source: statusSource });
        for (const t of q.queries ?? []) {
          const scans = t.plans.flatMap((p) => p.plan.fullScans);
          for (const p of t.plans) log(`  plan of ${t.name}: ${p.sql.length > 160 ? p.sql.slice(0, 160) + '…' : p.sql}\n      ${p.plan.lines.join('\n      ')}`);
          const ok = t.medianMs < 50 && scans.length === 0;
          figures.push({
            name: `  ${t.name}`,
            value: `${fmt(t.medianMs, 1)} ms (first ${fmt(t.firstMs, 1)} ms); ${scans.length === 0 ? `index: ${[...new Set(t.plans.flatMap((p) => p.plan.indexes))].join(', ')}` : `FULL SCAN: ${scans.join('; ')}`}`,
            target: '< 50 ms, indexed',
            pass: ok,
          });
        }
        if (!flags.keep) await dropRef(fullRef);
      }
    }
  }

  if (want('memory')) {
    // peak RSS of a catch-up 10× longer: what grows with the rows read, or with the target
    const big = size(2_000_000);
    const small = size(200_000);
    const srcBig = await source('adtemp', big, flags, fakers);
    const srcSmall = await source('adtemp', small, flags, fakers);
    const sqlBig = await sqliteSource(big, flags, fakers);
    const sqlSmall = await sqliteSource(small, flags, fakers);
    const pairs: [string, ChildResult, ChildResult][] = [];
    const mBig = await measure(`memory: scraper adtemp on MariaDB, ${big} rows`, { kind: 'scraper', workload: 'adtemp', source: srcBig, target: `${DB_PREFIX}tgt_memory` });
    const mSmall = await measure(`memory: scraper adtemp on MariaDB, ${small} rows`, { kind: 'scraper', workload: 'adtemp', source: srcSmall, target: `${DB_PREFIX}tgt_memory` });
    pairs.push(['MariaDB', mBig, mSmall]);
    const sBig = await measure(`memory: scraper adtemp on SQLite, ${big} rows`, { kind: 'scraper-sqlite', source: sqlBig, target: 'tgt_memory.sqlite' });
    const sSmall = await measure(`memory: scraper adtemp on SQLite, ${small} rows`, { kind: 'scraper-sqlite', source: sqlSmall, target: 'tgt_memory.sqlite' });
    pairs.push(['SQLite', sBig, sSmall]);
    for (const [db, b, sm] of pairs) {
      const ratio = b.peakRssMb / sm.peakRssMb;
      figures.push({ name: `peak RSS of the ${db} catch-up, adtemp: ${fmt(b.rows)} rows / ${fmt(sm.rows)} rows`, value: `${fmt(b.peakRssMb)} MB / ${fmt(sm.peakRssMb)} MB = ${fmt(ratio, 2)}×`, target: '≤ 1.2×', pass: ratio <= 1.2 });
    }
  }

  for (const f of fakers) {
    const rate = f.rows / f.seconds;
    figures.push({
      name: `batch faker, ${f.workload}${f.sqlite ? ' on SQLite' : ''} (${fmt(f.rowsPerTable)} rows${f.rows !== f.rowsPerTable ? ` × ${f.rows / f.rowsPerTable} tables` : ''}, ${fmt(f.values / f.rows)} columns)`,
      value: `${fmt(rate)} rows/s = ${fmt(rate * 60 / 1e6, 2)} M rows/min (${f.seconds.toFixed(1)} s)`,
      target: '',
      pass: undefined,
    });
  }

  if (!flags.keep) {
    if (want('scraper') || want('pmthv') || want('averager') || want('many') || want('flat') || want('memory')) await dropBenchDatabases();
    fs.rmSync(SQLITE_DIR, { recursive: true, force: true });
  }
  process.stdout.write(renderTable(figures));
  process.stdout.write(`\n(total bench time ${((Date.now() - started) / 1000).toFixed(0)} s; scale ${flags.scale}; ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'})\n`);
  if (figures.some((f) => f.pass === false)) process.exitCode = 0; // a MISS is a figure, not a crash
}

main().catch((err) => {
  process.stderr.write(`bench failed: ${err?.stack ?? err}\n`);
  process.exitCode = 1;
});
