/**
 * Steps of the streams of one process at once, at most (`scrape run A B …`, `ALL`): a stream
 * catching up holds a page of rows, its decisions and their payload rows while it steps, so 55
 * streams stepping together held 55 pages; one JavaScript thread decides for all of them anyway,
 * and a few steps at once keep it busy while others wait on their databases.
 */
export const STEPS_AT_ONCE = 4;

/**
 * Lets at most `slots` steps run at once over the streams sharing it, the others waiting their
 * turn in order (first come, first served). It orders steps, never what a step does: each
 * stream keeps its own loop, resume, sleep and retries, and a step's write behind and read ahead
 * go on after it leaves.
 */
export class StepGate {
  private free: number;
  private readonly waiting: (() => void)[] = [];

  constructor(readonly slots = STEPS_AT_ONCE) {
    if (!(Number.isInteger(slots) && slots >= 1)) throw new Error(`a step gate needs a whole number of slots >= 1, got ${slots}`);
    this.free = slots;
  }

  /** Steps running now. */
  get running(): number {
    return this.slots - this.free;
  }

  /** Waits for a slot; the function returned gives it back (once, whatever the number of calls). */
  async enter(): Promise<() => void> {
    if (this.free > 0) this.free--;
    else await new Promise<void>((resolve) => this.waiting.push(resolve));
    let left = false;
    return () => {
      if (left) return;
      left = true;
      const next = this.waiting.shift();
      if (next) next();
      else this.free++;
    };
  }
}
