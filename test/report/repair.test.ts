import { DIALECTS, createTestDatabase, TestDatabase } from '../support/databases';
import { runCli } from '../support/cli';
import { ADTEMP_SCOPE, fillAdTempSource } from '../ops/ops-support';
import { TargetLock } from '../../engine/session/target-lock';
import { ADTEMP_YAML, ROOT } from '../ops/ops-support';
import { loadRegime } from '../../engine/config/load-regime';
import { silentLogger } from '../../engine/core/logger';
import { repairRegime } from '../../engine/report/repair-regime';
import { DbiWriter } from '../../engine/dbi/dbi-writer';
import { isScrapeError } from '../../engine/core/errors';

const ROWS = 360; // a row per 10 s from 2011-02-01 00:00:00 Asia/Shanghai = 2011-01-31 16:00:00 UTC
// the late row: local 00:16:35 (between rows 100 and 101), UTC 16:16:35, PT1 = 60 (the walk stays near 20)
const LATE_LOCAL = '2011-02-01 00:16:35';
const LATE_UTC = '2011-01-31 16:16:35';
const FROM = '2011-01-31 16:10:00';
const TO = '2011-01-31 16:30:00';

describe.each(DIALECTS)('scrape repair on %s', (dialect) => {
  let source: TestDatabase;
  let target: TestDatabase;
  beforeAll(async () => {
    source = await createTestDatabase(dialect, 'fake_repair_src');
    await fillAdTempSource(source.db, ROWS, 11);
    target = await createTestDatabase(dialect, 'repair_tgt');
    expect((await runCli(['run', 'adtemp', '--source', source.url, '--target', target.url, '--until-caught-up', '--allow-drop-create-table'])).code).toBe(0);
    await source.db('DBNS_SAB_Temp').insert({ id: 5000, date_time: LATE_LOCAL, DBNS_SAB_Temp_PT1: 60, DBNS_SAB_Temp_PT2: 21, DBNS_SAB_Temp_PT3: 22, DBNS_SAB_Temp_PT4: 23, DBNS_SAB_Temp_PT5: 24 });
  });
  afterAll(async () => {
    await target.drop();
    await source.drop();
  });
  const pt1At = async (extra: string[] = []): Promise<number> => {
    const r = await runCli(['query', 'DcsAdTemp', '--at', '2011-01-31 16:16:37', '--site', '32', '--subsite', '1', '--target', target.url, '--json', ...extra]);
    expect(r.code).toBe(0);
    return Number(JSON.parse(r.stdout).aggregates[0].rows[0].Temp_PT1_max);
  };

  it('refused while another writer holds the (table, context) lock, and past the last validity; nothing written', async () => {
    const [{ n: before }] = await target.db('DcsAdTempVld').count({ n: '*' });
    const lock = TargetLock.for(target.location, [ADTEMP_SCOPE]);
    expect(await lock.tryAcquire()).toBe(true);
    try {
      const r = await runCli(['repair', 'adtemp', '--source', source.url, '--target', target.url, '--from', FROM, '--to', TO]);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/LOCK_HELD/);
    } finally {
      await lock.release();
    }
    // the last validity, by SQL: --to past its start is refused
    const [last] = await target.db('DcsAdTempVld').select('TIMESTART').orderBy('TIMEEND', 'desc').limit(1);
    const open = await runCli(['repair', 'adtemp', '--source', source.url, '--target', target.url, '--from', FROM, '--to', '2011-01-31 18:00:00']);
    expect(open.code).toBe(1);
    expect(open.stderr).toMatch(/REPAIR_RANGE/);
    expect(open.stderr).toContain(String(last.TIMESTART).slice(0, 19));
    const [{ n: after }] = await target.db('DcsAdTempVld').count({ n: '*' });
    expect(Number(after)).toBe(Number(before));
  });

  it('a late row inside a written range: the repair overlays it; --at sees it, --rollback before the repair does not, verify is equal', async () => {
    const before0 = await runCli(['verify', 'adtemp', '--source', source.url, '--target', target.url, '--from', FROM, '--to', TO]);
    expect(before0.code).toBe(1);
    const old = await pt1At();
    expect(old).toBeLessThan(30);
    const [{ n: before }] = await target.db('DcsAdTempVld').count({ n: '*' });
    await new Promise((r) => setTimeout(r, 1100)); // INSERTDATE is whole seconds: the repair's must be later than the run's
    const r = await runCli(['repair', 'adtemp', '--source', source.url, '--target', target.url, '--from', FROM, '--to', TO]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/validities written/);
    // nothing edited or deleted: only rows added
    const [{ n: after }] = await target.db('DcsAdTempVld').count({ n: '*' });
    expect(Number(after)).toBeGreaterThan(Number(before));
    expect(await pt1At()).toBe(60);
    // the repair's INSERTDATE, by SQL: rolled back to it, the database is as before
    const [{ d }] = await target.db('DcsAdTempVld').max({ d: 'INSERTDATE' });
    const rollback = String(d instanceof Date ? d.toISOString().slice(0, 19).replace('T', ' ') : d).slice(0, 19);
    expect(await pt1At(['--rollback', rollback])).toBe(old);
    // provenance: reason repair, the overlaid SEQNOs are validities that existed before
    const prov = await target.db('SCRAPE_PROVENANCE').where({ REASON: 'repair' });
    expect(prov.length).toBe(Number(after) - Number(before));
    const overlays: number[] = JSON.parse(String(prov[0].FIRED)).overlays;
    expect(overlays.length).toBeGreaterThan(0);
    for (const s of overlays) expect(s).toBeLessThanOrEqual(Number(before));
    const why = await runCli(['query', 'DcsAdTemp', '--at', '2011-01-31 16:16:37', '--site', '32', '--subsite', '1', '--target', target.url, '--why']);
    expect(why.code).toBe(0);
    expect(why.stdout).toContain(`why: repair (overlays SEQNO ${overlays.join(', ')})`);
    // the validity covering the late row's time, by SQL, starts at it
    const cover = await target.db('DcsAdTempVld').where('TIMESTART', '<=', LATE_UTC).andWhere('TIMEEND', '>', LATE_UTC).orderBy('VERSIONDATE', 'desc');
    expect(String(cover[0].TIMESTART).slice(0, 19)).toBe(LATE_UTC);
    const v = await runCli(['verify', 'adtemp', '--source', source.url, '--target', target.url, '--from', FROM, '--to', TO]);
    expect(v.stdout.trim().split('\n').pop()).toBe('equal');
    expect(v.code).toBe(0);
    // a second repair finds nothing to do
    const again = await runCli(['repair', 'adtemp', '--source', source.url, '--target', target.url, '--from', FROM, '--to', TO]);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/nothing to repair/);
  });

  it("after a repair, a row late for the range between the repair's end and the stream's resume point is still found (status)", async () => {
    // runs after the repair above. Its validities end by TO (local 00:30) and read ids up to 5000;
    // the stream's own last mark ends at the last source row (local 00:59:50) with ids up to ROWS.
    // A row dated local 00:45:05 (after the repair, before the resume point) with id 5001 is late for
    // the stream's own mark (id 5001 > 360, 00:45:05 < 00:59:50), and so is id 5000 (00:16:35):
    // 2 late entries, the first id 5000. Checked against the repair's mark instead, 00:45:05 is past
    // its end and id 5000 was read: none would be found.
    const [{ n: repairs }] = await target.db('SCRAPE_PROVENANCE').where({ REASON: 'repair' }).count({ n: '*' });
    expect(Number(repairs)).toBeGreaterThan(0);
    await source.db('DBNS_SAB_Temp').insert({ id: 5001, date_time: '2011-02-01 00:45:05', DBNS_SAB_Temp_PT1: 20, DBNS_SAB_Temp_PT2: 21, DBNS_SAB_Temp_PT3: 22, DBNS_SAB_Temp_PT4: 23, DBNS_SAB_Temp_PT5: 24 });
    try {
      const r = await runCli(['status', 'adtemp', '--source', source.url, '--target', target.url, '--json']);
      expect(r.code).toBe(0);
      const stream = JSON.parse(r.stdout)[0].streams.find((s: { table: string }) => s.table === 'DBNS_SAB_Temp');
      expect(stream.late.count).toBe(2);
      // checked against the stream's own mark: ids it had read are the original rows (below 5000), its end is past 00:45:05
      expect(stream.late.maxId).toBeLessThanOrEqual(ROWS);
      expect(stream.late.before > '2011-02-01 00:45:05').toBe(true);
      expect(stream.late.first.id).toBe(5000);
    } finally {
      await source.db('DBNS_SAB_Temp').where({ id: 5001 }).delete();
    }
  });

  it('fenced: a validity written by another writer between the repair\'s look and its write stops the repair, nothing of it written', async () => {
    const other = await createTestDatabase(dialect, 'repair_fence');
    try {
      const src = await createTestDatabase(dialect, 'fake_repair_fence_src');
      try {
        await fillAdTempSource(src.db, ROWS, 11);
        expect((await runCli(['run', 'adtemp', '--source', src.url, '--target', other.url, '--until-caught-up', '--allow-drop-create-table'])).code).toBe(0);
        await src.db('DBNS_SAB_Temp').insert({ id: 5000, date_time: LATE_LOCAL, DBNS_SAB_Temp_PT1: 60, DBNS_SAB_Temp_PT2: 21, DBNS_SAB_Temp_PT3: 22, DBNS_SAB_Temp_PT4: 23, DBNS_SAB_Temp_PT5: 24 });
        const loaded = loadRegime(ADTEMP_YAML, { cwd: ROOT, env: {} });
        const spec = loaded.specs.get('GDcsAdTemp')!;
        const [last] = await other.db('DcsAdTempVld').select('TIMEEND').orderBy('TIMEEND', 'desc').limit(1);
        const lastEnd = String(last.TIMEEND).slice(0, 19);
        const [{ n: before }] = await other.db('DcsAdTempVld').count({ n: '*' });
        let error: unknown;
        try {
          await repairRegime({
            regime: loaded.regime, specs: loaded.specs, source: src.db, target: other.db, targetLocation: other.location, logger: silentLogger, from: FROM, to: TO,
            // another writer appends one validity after the last: the last validity is no longer the one the repair saw
            beforeWrite: async () => {
              await new DbiWriter(other.db, spec).write([{ timestart: lastEnd, timeend: '2011-01-31 18:00:00', context: ADTEMP_SCOPE.context, rows: [{}] }]);
            },
          });
        } catch (err) {
          error = err;
        }
        expect(isScrapeError(error) && error.code).toBe('FENCE_MOVED');
        const [{ n: after }] = await other.db('DcsAdTempVld').count({ n: '*' });
        expect(Number(after)).toBe(Number(before) + 1); // the other writer's one validity, none of the repair's
      } finally {
        await src.drop();
      }
    } finally {
      await other.drop();
    }
  });
});
