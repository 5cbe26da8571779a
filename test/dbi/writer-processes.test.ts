import { DIALECTS, createTestDatabase, TestDatabase } from '../support/databases';
import { prepareTargetTables } from '../../engine/dbi/target-tables';
import { DbiWriter } from '../../engine/dbi/dbi-writer';
import { ensureDist, killWriters, spawnWriter, testSpec } from './dbi-support';

beforeAll(() => ensureDist(), 180_000);

describe.each(DIALECTS)('DBI writers in separate processes on %s', (dialect) => {
  let t: TestDatabase;
  const spec = testSpec('DcsProbe');
  beforeEach(async () => {
    t = await createTestDatabase(dialect, 'dbi_proc');
    await prepareTargetTables(t.db, [spec], { create: true, drop: false, location: t.location });
  });
  afterEach(async () => {
    killWriters();
    await t.drop();
  });

  it('two concurrent writers of 200 validities each get unique, gap-free SEQNOs 1..400', async () => {
    const children = [1, 2].map((subsite) => spawnWriter({ url: t.url, table: 'DcsProbe', mode: 'many', count: 200, subsite }));
    await Promise.all(children.map((c) => c.waitFor(/^ready$/)));
    for (const c of children) c.process.stdin!.write('go\n');
    const results = await Promise.all(children.map((c) => c.waitFor(/^seqnos /)));
    const exits = await Promise.all(children.map((c) => c.exited));
    expect(exits.map((e) => e.code)).toEqual([0, 0]);
    const perChild = results.map((line) => JSON.parse(line.slice('seqnos '.length)) as number[]);
    // each child sees its own SEQNOs increase; together they are exactly 1..400
    for (const seqnos of perChild) {
      expect(seqnos).toHaveLength(200);
      expect([...seqnos].sort((a, b) => a - b)).toEqual(seqnos);
    }
    const all = [...perChild[0], ...perChild[1]].sort((a, b) => a - b);
    expect(all).toEqual(Array.from({ length: 400 }, (_, i) => i + 1));

    const vld = await t.db('DcsProbeVld').select('SEQNO', 'SUBSITE').orderBy('SEQNO');
    expect(vld.map((r) => Number(r.SEQNO))).toEqual(all);
    // the database agrees with what each child was told
    for (const [i, seqnos] of perChild.entries()) {
      expect(vld.filter((r) => Number(r.SUBSITE) === i + 1).map((r) => Number(r.SEQNO))).toEqual(seqnos);
    }
    const orphans = await t.db('DcsProbe as p').leftJoin('DcsProbeVld as v', 'p.SEQNO', 'v.SEQNO').whereNull('v.SEQNO').count({ n: '*' });
    expect(Number(orphans[0].n)).toBe(0);
    const perSeqno = await t.db('DcsProbe').select('SEQNO').count({ n: '*' }).groupBy('SEQNO');
    expect(perSeqno).toHaveLength(400);
    expect(perSeqno.every((r) => Number(r.n) === 3)).toBe(true);
    const counter = await t.db('LOCALSEQNO').where('TABLENAME', 'DcsProbe').first('LASTUSEDSEQNO');
    expect(Number(counter.LASTUSEDSEQNO)).toBe(400);
  }, 120_000);

  it.each(['allocated', 'inserted'])('a writer killed mid-transaction (%s) leaves nothing behind', async (stage) => {
    // one committed validity before: SEQNO 1
    const writer = new DbiWriter(t.db, spec);
    const context = { sitemask: 32, simmask: 1, subsite: 1, task: 0, aggregateno: -1 };
    expect(await writer.write([{ timestart: '2011-02-01 00:00:00', timeend: '2011-02-01 00:01:00', context, rows: [{ value: 1, label: 'before' }] }])).toEqual([1]);

    const child = spawnWriter({ url: t.url, table: 'DcsProbe', mode: 'hang', subsite: 1, stage, props: 40, rows: 192 });
    const inside = await child.waitFor(/^inside /);
    // the child really was inside: it holds SEQNOs 2..41
    expect(JSON.parse(inside.slice('inside '.length))).toEqual([2, 41]);
    child.process.kill('SIGKILL');
    const exit = await child.exited;
    expect(exit.signal).toBe('SIGKILL');

    // the next write waits for the dead transaction to be rolled back, then continues from 1
    expect(await writer.write([{ timestart: '2011-02-01 00:01:00', timeend: '2011-02-01 00:02:00', context, rows: [{ value: 2, label: 'after' }] }])).toEqual([2]);
    const vld = await t.db('DcsProbeVld').select('SEQNO').orderBy('SEQNO');
    expect(vld.map((r) => Number(r.SEQNO))).toEqual([1, 2]);
    const payload = await t.db('DcsProbe').select('SEQNO', 'label').orderBy('SEQNO');
    expect(payload.map((r) => [Number(r.SEQNO), r.label])).toEqual([[1, 'before'], [2, 'after']]);
    const counter = await t.db('LOCALSEQNO').where('TABLENAME', 'DcsProbe').first('LASTUSEDSEQNO');
    expect(Number(counter.LASTUSEDSEQNO)).toBe(2);
  }, 120_000);
});
