import * as v8 from 'v8';

/**
 * How much V8 lets the old generation grow past what survived the last full collection, in
 * percent (V8's `--heap-growing-percent`). By default V8 grows the heap by up to 4× the survivors
 * the longer and busier a process runs: a 2 M-row catch-up peaked at 1.3× the resident memory of
 * a 200 k-row one although what it kept alive was the same 30 MB. At 100 % (2×) the peak stays
 * within about 1.15× of the short run's (README, "Performance"); the more frequent full
 * collections of a small heap cost no CPU time this machine could tell from its noise (50 %
 * cost a fifth more).
 */
export const HEAP_GROWING_PERCENT = 100;

/**
 * Bounds the growth of V8's heap for the rest of the process (`HEAP_GROWING_PERCENT`): memory of
 * a long catch-up or of months of live running then follows what the process keeps, not how long
 * it has run. Called by `scrape` on start; an embedding program decides for itself.
 */
export function limitHeapGrowth(percent = HEAP_GROWING_PERCENT): void {
  v8.setFlagsFromString(`--heap-growing-percent=${percent}`);
}
