import * as fs from 'fs';
import * as path from 'path';
import { ManualClock } from '../../engine/core/clock';
import { MemoryLogger } from '../../engine/core/logger';
import { loadRegime } from '../../engine/config/load-regime';
import { runScraper } from '../../engine/scraper/scraper';
import { readProvenance } from '../../engine/dbi/dbi-reader';
import { DIALECTS, createTestDatabase, TestDatabase } from '../support/databases';
import { insertRows, localPlus } from '../support/source-fixture';
import { ADTEMP_YAML, PT, fillAdTempSource, ROOT } from '../ops/ops-support';
import { vldSpanBySql, vldSpanRow } from '../dbi/dbi-support';

/**
 * Provenance (SCRAPE_PROVENANCE), written with every validity of a catch-up over faked adtemp data
 * and checked against the source by SQL: the id range and row count of each validity are the rows
 * its aggregates counted, and what the deadband suppressed stayed within adtemp's threshold (1.0).
 */

const loaded = loadRegime(ADTEMP_YAML, { cwd: ROOT, env: {} });
const spec = loaded.specs.get('GDcsAdTemp')!;
const ROWS = 1000;
const THRESHOLD = 1.0; // regimes.d/adtemp.yaml, by hand

/** Asia/Shanghai (UTC+8, no DST since 1991) UTC text to local text, by hand. */
const toLocal = (utc: string) => localPlus(utc, 8 * 3600);

describe.each(DIALECTS)('provenance on %s', (dialect) => {
  const databases: TestDatabase[] = [];
  afterAll(async () => {
    for (const d of databases) await d.drop();
  });

  it('records, per validity, the reason, the source range the aggregates counted and what the deadband suppressed', async () => {
    const source = await createTestDatabase(dialect, 'prov_s');
    const target = await createTestDatabase(dialect, 'prov_t');
    databases.push(source, target);
    await fillAdTempSource(source.db, ROWS, 21);
    // then 20 minutes without a move: at least one validity is written by maxage (10 min)
    const lastRow = await source.db('DBNS_SAB_Temp').where('id', ROWS).first();
    await insertRows(source.db, 'DBNS_SAB_Temp', Array.from({ length: 120 }, (_, n) => ({
      id: ROWS + 1 + n, date_time: localPlus('2011-02-01 00:00:00', 10 * (ROWS + n)), ...Object.fromEntries(PT.map((c) => [c, lastRow[c]])),
    })));
    await runScraper({
      regime: loaded.regime, specs: loaded.specs, source: source.db, target: target.db, targetLocation: target.location,
      logger: new MemoryLogger(), clock: new ManualClock(Date.UTC(2012, 0, 1)), untilCaughtUp: true, allowCreate: true, seed: false,
    });
    const vld = await target.db('DcsAdTempVld').select('SEQNO', 'TIMESTART', 'TIMEEND').orderBy('SEQNO');
    expect(vld.length).toBeGreaterThan(5);
    const counts = new Map((await target.db('DcsAdTemp').select('SEQNO', 'count')).map((r) => [Number(r.SEQNO), Number(r.count)]));
    const whys = await readProvenance(target.db, spec, vld.map((v) => Number(v.SEQNO)));
    expect(whys.size).toBe(vld.length);
    const version = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).version;
    const reasons = new Set<string>();
    for (const v of vld) {
      const why = whys.get(Number(v.SEQNO))!;
      const first = toLocal(String(v.TIMESTART));
      const last = toLocal(String(v.TIMEEND));
      reasons.add(why.reason);
      expect(why.sourceTable).toBe('DBNS_SAB_Temp');
      expect([why.firstTime, why.lastTime]).toEqual([first, last]);
      // the ids of the entries at TIMESTART and TIMEEND (one entry per time in this source)
      const idAt = async (t: string) => Number((await source.db('DBNS_SAB_Temp').where('date_time', t).first('id')).id);
      expect([why.firstId, why.lastId]).toEqual([await idAt(first), await idAt(last)]);
      // rows in [first, last): what the aggregates counted, counted again by SQL
      const inRange = Number((await source.db('DBNS_SAB_Temp').where('date_time', '>=', first).andWhere('date_time', '<', last).count({ n: '*' }))[0].n);
      expect(counts.get(Number(v.SEQNO))).toBe(inRange);
      expect(why.rows).toBe(inRange);
      // every entry after sv[0] is a sample here (one per 10 s, interval 10 s, offset 0)
      expect(why.samples).toBe(inRange);
      // suppressed: the entries strictly inside the range, each compared with sv[0]
      const firstRow = await source.db('DBNS_SAB_Temp').where('date_time', first).first();
      const inside = await source.db('DBNS_SAB_Temp').where('date_time', '>', first).andWhere('date_time', '<', last);
      for (const c of PT) {
        const s = why.suppressed?.[c];
        if (inside.length === 0) {
          expect(s).toBeUndefined();
          continue;
        }
        const values = inside.map((r) => Number(r[c]));
        const maxdev = Math.max(...values.map((x) => Math.abs(x - Number(firstRow[c]))));
        expect(s!.n).toBe(inside.length);
        expect(s!.maxdev).toBeCloseTo(maxdev, 9);
        expect(s!.maxdev).toBeLessThanOrEqual(THRESHOLD);
        expect([s!.min, s!.max]).toEqual([Math.min(...values), Math.max(...values)]);
      }
      const firstVals = PT.map((c) => Number(firstRow[c]));
      const endRow = await source.db('DBNS_SAB_Temp').where('date_time', last).first();
      const moved = PT.filter((c, i) => Math.abs(Number(endRow[c]) - firstVals[i]) > THRESHOLD);
      if (moved.length > 0) {
        expect(why.reason).toBe('changed');
        expect(why.fired).toEqual([{ rule: 0, columns: moved }]);
      } else {
        expect(why.reason).toBe('overage');
        expect(why.fired).toBeUndefined();
      }
      expect(why.engineVersion).toBe(version);
      expect(why.regimeHash).toMatch(/^[0-9a-f]{64}$/);
    }
    expect([...reasons].sort()).toEqual(['changed', 'overage']);
    // one regime, one hash
    expect(new Set([...whys.values()].map((w) => w.regimeHash)).size).toBe(1);
    // the scraper's writes kept SCRAPE_VLD_SPAN: the longest validity and the last SEQNO, as SQL finds them
    const bySql = await vldSpanBySql(target.db, 'DcsAdTemp');
    expect(bySql!.seqno).toBe(Number(vld[vld.length - 1].SEQNO));
    expect(await vldSpanRow(target.db, 'DcsAdTemp')).toEqual(bySql);
  });
});
