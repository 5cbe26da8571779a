import { STEPS_AT_ONCE, StepGate } from '../../engine/stream/step-gate';

/** Resolves once the promises queued so far (and theirs) have run. */
const settle = () => new Promise((resolve) => setImmediate(resolve));

/**
 * The step gate of a several-regime process: at most `slots` steps at once, the others waiting
 * in the order they came, each slot given back once.
 */
describe('StepGate', () => {
  it('lets `slots` steps in at once and the waiting ones in the order they came, as slots are given back', async () => {
    const gate = new StepGate(2);
    const order: string[] = [];
    const leaves = new Map<string, () => void>();
    const enter = (name: string) =>
      gate.enter().then((leave) => {
        order.push(name);
        leaves.set(name, leave);
      });
    for (const name of ['a', 'b', 'c', 'd', 'e']) void enter(name);
    await settle();
    expect(order).toEqual(['a', 'b']);
    expect(gate.running).toBe(2);
    leaves.get('b')!();
    await settle();
    expect(order).toEqual(['a', 'b', 'c']);
    // a slot given back twice is given back once
    leaves.get('b')!();
    await settle();
    expect(order).toEqual(['a', 'b', 'c']);
    leaves.get('a')!();
    leaves.get('c')!();
    await settle();
    expect(order).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(gate.running).toBe(2);
    leaves.get('d')!();
    leaves.get('e')!();
    expect(gate.running).toBe(0);
  });

  it('defaults to STEPS_AT_ONCE slots and refuses a count that is not a whole number >= 1', async () => {
    const gate = new StepGate();
    expect(gate.slots).toBe(STEPS_AT_ONCE);
    const leaves = await Promise.all(Array.from({ length: STEPS_AT_ONCE }, () => gate.enter()));
    let late = false;
    void gate.enter().then(() => (late = true));
    await settle();
    expect(late).toBe(false);
    leaves[0]();
    await settle();
    expect(late).toBe(true);
    expect(() => new StepGate(0)).toThrow(/slots/);
    expect(() => new StepGate(1.5)).toThrow(/slots/);
  });
});
