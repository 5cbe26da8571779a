import { Knex } from 'knex';
import { DIALECTS, createTestDatabase, TestDatabase } from '../support/databases';
import { openDatabase } from '../../engine/db/open-database';
import { prepareTargetTables } from '../../engine/dbi/target-tables';
import { DbiWriter, Propagation, ValidityContext } from '../../engine/dbi/dbi-writer';
import { FencePoint, fenceAfter } from '../../engine/dbi/fence';
import { readWork } from '../support/read-work';
import { testSpec } from './dbi-support';

const AD1: ValidityContext = { sitemask: 32, simmask: 1, subsite: 1, task: 0, aggregateno: -1 };
const AD2: ValidityContext = { ...AD1, subsite: 2 };

/** Validity `k` of a context: [k, k+1) minutes after 2011-02-01 00:00:00 UTC. */
function prop(context: ValidityContext, k: number): Propagation {
  const t = (m: number) => new Date(Date.UTC(2011, 1, 1) + m * 60_000).toISOString().slice(0, 19).replace('T', ' ');
  return { timestart: t(k), timeend: t(k + 1), context, rows: [{ value: k, label: `v${k}` }] };
}

/**
 * A fenced write (SEQNOs, fence check, overlay lookup, inserts) costs the target the same when
 * its context holds 21,000 validities as when it holds 1,000: every lookup of a write finds its
 * rows by an index range at the context's end. On SQLite the overlay lookup once walked every
 * earlier validity of the context (its `TIMESTART <= ?` index), so writes grew slower as the
 * target grew. Work is counted by each database (see `readWork`), not timed.
 */
describe.each(DIALECTS)('the cost of a write as the target grows on %s', (dialect) => {
  let t: TestDatabase;
  let db: Knex;
  beforeAll(async () => {
    t = await createTestDatabase(dialect, 'write_cost');
    await prepareTargetTables(t.db, [testSpec()], { create: true, drop: false, location: t.location });
    db = openDatabase(t.location, { poolMax: 1 });
  });
  afterAll(async () => {
    await db?.destroy();
    await t?.drop();
  });

  it('reads about as much with 21,000 validities in the context as with 1,000', async () => {
    const writer = new DbiWriter(db, testSpec());
    const fences = new Map<ValidityContext, FencePoint | undefined>();
    const next = new Map<ValidityContext, number>([[AD1, 0], [AD2, 0]]);
    const write = async (context: ValidityContext, n: number): Promise<void> => {
      const from = next.get(context)!;
      const props = Array.from({ length: n }, (_, i) => prop(context, from + i));
      const seqnos = await writer.write(props, { context, expect: fences.get(context) });
      fences.set(context, fenceAfter(fences.get(context), props, seqnos));
      next.set(context, from + n);
    };
    // another context beside it, as in a shared target
    await write(AD2, 100);
    await write(AD1, 1000);
    const small = await readWork(dialect, db, () => write(AD1, 10));
    for (let k = 0; k < 40; k++) await write(AD1, 500);
    const large = await readWork(dialect, db, () => write(AD1, 10));
    // by hand: 1,000 + 10 + 40 × 500 + 10 validities of AD1, the last one ending 21,020 minutes in
    const [{ n, end }] = await t.db('DcsProbeVld').where({ SUBSITE: 1 }).select(t.db.raw('COUNT(*) AS n'), t.db.raw('MAX(TIMEEND) AS end'));
    expect(Number(n)).toBe(21_020);
    expect(String(end)).toBe('2011-02-15 14:20:00');
    expect(small).toBeGreaterThan(0);
    expect(large).toBeLessThan(2 * small);
  });
});
