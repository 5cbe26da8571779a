import * as path from 'path';
import { MemoryLogger } from '../../engine/core/logger';
import { ManualClock } from '../../engine/core/clock';
import { loadRegime, applySettingOverrides, LoadedRegime } from '../../engine/config/load-regime';
import { runScraper } from '../../engine/scraper/scraper';
import { PendingBudget } from '../../engine/stream/target-set';
import { dumpTarget, readProvenance } from '../../engine/dbi/dbi-reader';
import { DIALECTS, createTestDatabase, TestDatabase } from '../support/databases';
import { createSourceTable, insertRows, localPlus } from '../support/source-fixture';

const REGIMES = path.join(__dirname, '..', '..', 'regimes.d');
const START = '2011-02-01 00:00:00';

/** The 192 PMT channels in column order: ladder, then column, then ring. */
const CHANNELS: { name: string; ladder: number; col: number; ring: number }[] = [];
for (let ladder = 1; ladder <= 8; ladder++) {
  for (let col = 1; col <= 3; col++) {
    for (let ring = 1; ring <= 8; ring++) CHANNELS.push({ name: `L${ladder}C${col}R${ring}`, ladder, col, ring });
  }
}

/** Each channel has its own voltage, so a payload row shows which column it came from. */
const baseVoltage = (ladder: number, col: number, ring: number) => 1000 + 100 * ladder + 10 * col + ring + 0.25;

/** One HV stream: `rows` readings every 10 s; `jump` channel +2 V from row `jumpAt` on; `flip` channel powered off from row `flipAt` on. */
interface HvFixture {
  site: 'DBNS' | 'LANS';
  detector: 'AD1' | 'AD2';
  rows: number;
  jump: string;
  jumpAt: number;
  flip: string;
  flipAt: number;
}

function voltage(f: HvFixture, id: number, ch: (typeof CHANNELS)[number]): number {
  return baseVoltage(ch.ladder, ch.col, ch.ring) + (ch.name === f.jump && id >= f.jumpAt ? 2 : 0);
}

function power(f: HvFixture, id: number, ch: (typeof CHANNELS)[number]): number {
  return ch.name === f.flip && id >= f.flipAt ? 0 : 1;
}

/** Creates and fills `<site>_<detector>_HV_Vmon` and `..._HV_Pw` (row `id` at START + 10 s × id, local). */
async function createHvTables(src: TestDatabase, f: HvFixture): Promise<void> {
  const base = `${f.site}_${f.detector}_HV`;
  await createSourceTable(src.db, `${base}_Vmon`, Object.fromEntries(CHANNELS.map((c) => [c.name, 'decimal(6,2)'])));
  await createSourceTable(src.db, `${base}_Pw`, Object.fromEntries(CHANNELS.map((c) => [c.name, 'tinyint'])));
  const vmon = [];
  const pw = [];
  for (let id = 1; id <= f.rows; id++) {
    const date_time = localPlus(START, id * 10);
    vmon.push({ id, date_time, ...Object.fromEntries(CHANNELS.map((c) => [c.name, voltage(f, id, c).toFixed(2)])) });
    pw.push({ id, date_time, ...Object.fromEntries(CHANNELS.map((c) => [c.name, power(f, id, c)])) });
  }
  await insertRows(src.db, `${base}_Vmon`, vmon);
  await insertRows(src.db, `${base}_Pw`, pw);
}

/** UTC text of source row `id` (local is Asia/Shanghai, UTC+8). */
const utcOf = (id: number) => localPlus(START, id * 10 - 8 * 3600);

describe.each(DIALECTS)('regime pmthv on %s', (dialect) => {
  let source: TestDatabase;
  let target: TestDatabase;
  let loaded: LoadedRegime;
  const dbns: HvFixture = { site: 'DBNS', detector: 'AD1', rows: 120, jump: 'L3C2R5', jumpAt: 20, flip: 'L7C1R4', flipAt: 45 };
  const lans: HvFixture = { site: 'LANS', detector: 'AD2', rows: 100, jump: 'L8C3R1', jumpAt: 33, flip: 'L1C1R1', flipAt: 90 };

  beforeAll(async () => {
    source = await createTestDatabase(dialect, 'fake_pmthv_src');
    target = await createTestDatabase(dialect, 'pmthv_tgt');
    await createHvTables(source, dbns);
    await createHvTables(source, lans);
    loaded = loadRegime(path.join(REGIMES, 'pmthv.yaml'));
  });
  afterAll(async () => {
    await source.drop();
    await target.drop();
  });

  it('running live with nothing new to read, sleeps a heartbeat between reads instead of spinning', async () => {
    // The open range of DBNS_AD1 after the first run is [107, …): 130 s old, with no new rows.
    // Its age is not lag: the tuned sleep must stay at the heartbeat.
    const live = await createTestDatabase(dialect, 'pmthv_live_tgt');
    try {
      const regime = applySettingOverrides(loaded.regime, ['interval=10s', 'offset=0', 'maxage=5m', 'heartbeat=2s', 'sleep=1s']);
      const controller = new AbortController();
      const base = new ManualClock(Date.UTC(2026, 0, 1));
      const sleeps: number[] = [];
      const clock = {
        now: () => base.now(),
        sleep: async (ms: number) => {
          base.advance(ms);
          sleeps.push(ms);
          if (sleeps.length >= 5) controller.abort();
        },
      };
      await runScraper({ regime, specs: loaded.specs, source: source.db, target: live.db, targetLocation: live.location, logger: new MemoryLogger(), clock, signal: controller.signal, allowCreate: true });
      expect(sleeps).toEqual([2000, 2000, 2000, 2000, 2000]);
      expect((await dumpTarget(live.db, loaded.specs.get('GDcsPmtHv')!)).vld).toHaveLength(8);
    } finally {
      await live.drop();
    }
  });

  it('unpivots joined voltage and power rows into 192 payload rows per validity, at the rows where things change', async () => {
    // interval 10s, offset 0: every row is a sample; maxage 5m: overage once sv[-1] is more than
    // 300 s (30 rows) after sv[0], i.e. at sv[0] + 31 rows.
    const regime = applySettingOverrides(loaded.regime, ['interval=10s', 'offset=0', 'maxage=5m']);
    const logger = new MemoryLogger();
    const report = await runScraper({
      regime,
      specs: loaded.specs,
      source: source.db,
      target: target.db,
      targetLocation: target.location,
      logger,
      clock: new ManualClock(Date.UTC(2026, 0, 1)),
      untilCaughtUp: true,
      allowCreate: true,
    });
    expect(report.streams.map((s) => [s.table, s.rowsRead, s.rowsSkipped]).sort()).toEqual([
      ['DBNS_AD1_HV_Vmon', 120, 0],
      ['LANS_AD2_HV_Vmon', 100, 0],
    ]);

    // By hand. DBNS_AD1 (sitemask 1, subsite 1): sv[0] = row 1; row 20 has the 2 V jump (> 1 V)
    // → changed [1, 20); sv[0] = 20; row 45 flips a power flag → changed [20, 45); then overage
    // [45, 76), [76, 107); rows 108..120 are at most 130 s after row 107: nothing more.
    // LANS_AD2 (sitemask 2, subsite 2): overage [1, 32); row 33 jumps → changed [32, 33);
    // overage [33, 64); row 90 flips (260 s after 64, not overage yet) → changed [64, 90).
    const expected: Record<string, { fixture: HvFixture; sitemask: number; subsite: number; ranges: [number, number, string][] }> = {
      DBNS_AD1_HV_Vmon: { fixture: dbns, sitemask: 1, subsite: 1, ranges: [[1, 20, 'changed'], [20, 45, 'changed'], [45, 76, 'overage'], [76, 107, 'overage']] },
      LANS_AD2_HV_Vmon: { fixture: lans, sitemask: 2, subsite: 2, ranges: [[1, 32, 'overage'], [32, 33, 'changed'], [33, 64, 'overage'], [64, 90, 'changed']] },
    };

    const { vld, payload } = await dumpTarget(target.db, loaded.specs.get('GDcsPmtHv')!);
    expect(vld).toHaveLength(8);
    const bySeq = new Map<number, Record<string, unknown>[]>();
    for (const p of payload) {
      const list = bySeq.get(p.SEQNO as number) ?? [];
      list.push(p);
      bySeq.set(p.SEQNO as number, list);
    }
    for (const [table, e] of Object.entries(expected)) {
      const mine = vld.filter((v) => v.SITEMASK === e.sitemask && v.SUBSITE === e.subsite).sort((a, b) => a.TIMESTART.localeCompare(b.TIMESTART));
      expect(mine.map((v) => [v.TIMESTART, v.TIMEEND, v.SIMMASK, v.TASK, v.AGGREGATENO])).toEqual(e.ranges.map(([a, b]) => [utcOf(a), utcOf(b), 1, 0, -1]));
      for (const [k, v] of mine.entries()) {
        const lastId = e.ranges[k][1];
        const rows = bySeq.get(v.SEQNO)!;
        expect(rows.map((r) => r.ROW_COUNTER)).toEqual(Array.from({ length: 192 }, (_, i) => i + 1));
        const seen = new Set<string>();
        for (const r of rows) {
          const ch = CHANNELS.find((c) => c.ladder === r.ladder && c.col === r.col && c.ring === r.ring);
          expect(ch).toBeDefined();
          seen.add(ch!.name);
          // The values of sv[-1] (`last`): the row that ends the validity.
          expect(r.voltage).toBeCloseTo(voltage(e.fixture, lastId, ch!), 2);
          expect(r.pw).toBe(power(e.fixture, lastId, ch!));
        }
        expect(seen.size).toBe(192);
      }
      // The jumped channel and the flipped flag, spelled out once.
      const jumpCh = CHANNELS.find((c) => c.name === e.fixture.jump)!;
      const flipCh = CHANNELS.find((c) => c.name === e.fixture.flip)!;
      const cell = (seq: number, ch: typeof jumpCh) => bySeq.get(seq)!.find((r) => r.ladder === ch.ladder && r.col === ch.col && r.ring === ch.ring)!;
      const afterJump = mine[e.ranges.findIndex(([, end]) => end >= e.fixture.jumpAt)];
      expect(cell(afterJump.SEQNO, jumpCh).voltage).toBeCloseTo(baseVoltage(jumpCh.ladder, jumpCh.col, jumpCh.ring) + 2, 2);
      expect(cell(mine[0].SEQNO, flipCh).pw).toBe(1);
      expect(cell(mine[mine.length - 1].SEQNO, flipCh).pw).toBe(0);

      // The SV log of the stream shows the same decisions.
      const proceeds = logger.lines
        .filter((l) => l.fields?.stream === table && l.message.startsWith('SV ') && l.message.endsWith('PROCEED'))
        .map((l) => /\((\d+), (\d+)\).*?\sfull\s+(\w+)/.exec(l.message)!.slice(1).map((x, i) => (i < 2 ? Number(x) : x)));
      expect(proceeds).toEqual(e.ranges);

      // What the deadband suppressed (SCRAPE_PROVENANCE), per voltage channel (the threshold
      // rule's columns, in column order; the power flags have an `equal` rule): the samples
      // strictly inside [a, b) were decided unchanged, b − a − 1 of them (none: no record). By
      // the fixture, a channel's voltage is the same at every row of a range (its jump starts a
      // range), so min = max = its voltage at row a and no deviation from sv[0].
      const why = await readProvenance(target.db, loaded.specs.get('GDcsPmtHv')!, mine.map((v) => v.SEQNO));
      for (const [k, v] of mine.entries()) {
        const [a, b] = e.ranges[k];
        const suppressed = why.get(v.SEQNO)!.suppressed;
        if (b - a - 1 === 0) {
          expect(suppressed).toBeUndefined();
          continue;
        }
        expect(Object.keys(suppressed!)).toEqual(CHANNELS.map((c) => c.name));
        for (const ch of CHANNELS) {
          const u = voltage(e.fixture, a, ch);
          expect(suppressed![ch.name]).toEqual({ n: b - a - 1, maxdev: 0, min: u, max: u });
        }
      }
    }
  });

  it('with a budget of decided rows smaller than one decision, writes each decision as it is made: the same target', async () => {
    // the target of the test before (checked by hand there) against one written with a budget of
    // 1 payload row, with the same settings and clock: every decision (2 × 192 rows) is over it,
    // so each is written alone, one transaction per target: 8 validities × 2 targets = 16 writes
    // (the run before, a page per stream, wrote each stream's 4 validities at once: 2 × 2 = 4)
    const regime = applySettingOverrides(loaded.regime, ['interval=10s', 'offset=0', 'maxage=5m']);
    const small = await createTestDatabase(dialect, 'pmthv_budget_tgt');
    try {
      const writes: number[] = [];
      const count = async (budget?: PendingBudget, into = small) => {
        let n = 0;
        await runScraper({
          regime, specs: loaded.specs, source: source.db, target: into.db, targetLocation: into.location, logger: new MemoryLogger(),
          clock: new ManualClock(Date.UTC(2026, 0, 1)), untilCaughtUp: true, allowCreate: true, pendingBudget: budget, observer: { write: () => n++ },
        });
        writes.push(n);
      };
      const budget = new PendingBudget(1);
      await count(budget);
      expect(budget.held).toBe(0); // every row taken for writing
      for (const spec of ['GDcsPmtHv', ...loaded.regime.targets.map((t) => t.spec)]) {
        expect(await dumpTarget(small.db, loaded.specs.get(spec)!)).toEqual(await dumpTarget(target.db, loaded.specs.get(spec)!));
      }
      const fresh = await createTestDatabase(dialect, 'pmthv_budget_ref');
      try {
        await count(undefined, fresh);
      } finally {
        await fresh.drop();
      }
      expect(writes).toEqual([16, 4]);
    } finally {
      await small.drop();
    }
  });
});
