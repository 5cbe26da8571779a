import { limitHeapGrowth } from '../engine/core/heap-growth';
import { PhaseResult, PhaseSpec, runPhase } from './bench-phases';

/** What a child process sends back: the phase's figures and its peak resident memory. */
export interface ChildResult extends PhaseResult {
  peakRssMb: number;
}

/**
 * Entry point of a phase's child process (`node bench-child.js '<PhaseSpec JSON>'`): each measured
 * phase runs alone in a fresh process so its peak RSS is its own. RSS is sampled every 20 ms.
 */
async function main(): Promise<void> {
  // as `scrape` starts (engine/cli/main.ts): the measured memory is the command's
  limitHeapGrowth();
  const spec = JSON.parse(process.argv[2]) as PhaseSpec;
  let peak = process.memoryUsage.rss();
  const timer = setInterval(() => {
    const rss = process.memoryUsage.rss();
    if (rss > peak) peak = rss;
  }, 20);
  try {
    const result = await runPhase(spec);
    peak = Math.max(peak, process.memoryUsage.rss());
    const out: ChildResult = { ...result, peakRssMb: peak / 2 ** 20 };
    process.send!(out);
  } finally {
    clearInterval(timer);
  }
}

main().catch((err) => {
  process.send?.({ error: String(err?.stack ?? err) });
  process.exitCode = 1;
});
