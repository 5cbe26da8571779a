import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Knex } from 'knex';
import { DIALECTS, createTestDatabase, TestDatabase } from '../support/databases';
import { localPlus } from '../support/source-fixture';
import { runCli } from '../support/cli';
import { ROOT, fillAdTempSource } from '../ops/ops-support';

const scrape = (args: string[]) => runCli(args);
const ROWS = 360; // one hour, a row per 10 s from 2011-02-01 00:00:00 local (16:00 UTC the day before)

/** The Vld rows of adtemp's context, by SQL. */
async function vlds(db: Knex): Promise<{ SEQNO: number; TIMESTART: string; TIMEEND: string }[]> {
  const rows = await db('DcsAdTempVld').select('SEQNO', 'TIMESTART', 'TIMEEND').where({ SITEMASK: 32, SUBSITE: 1 }).orderBy('TIMESTART');
  return rows.map((r: Record<string, unknown>) => ({ SEQNO: Number(r.SEQNO), TIMESTART: String(r.TIMESTART).slice(0, 19), TIMEEND: String(r.TIMEEND).slice(0, 19) }));
}

/**
 * What verify should report for target `held` when the regime now writes what target `other`
 * holds, by SQL: validities of `other` (up to `held`'s last TIMEEND) that `held` lacks are
 * missing, validities `held` has that `other` lacks are extra, each as [kind, TIMESTART].
 */
async function runDifferences(held: Knex, other: Knex): Promise<{ missing: string[][]; extra: string[][] }> {
  const have = await vlds(held);
  const lastEnd = have[have.length - 1].TIMEEND;
  const key = (v: { TIMESTART: string; TIMEEND: string }) => `${v.TIMESTART}|${v.TIMEEND}`;
  const want = (await vlds(other)).filter((v) => v.TIMEEND <= lastEnd);
  const haveKeys = new Set(have.map(key));
  const wantKeys = new Set(want.map(key));
  return {
    missing: want.filter((v) => !haveKeys.has(key(v))).map((v) => ['missing', v.TIMESTART]),
    extra: have.filter((v) => !wantKeys.has(key(v))).map((v) => ['extra', v.TIMESTART]),
  };
}

describe.each(DIALECTS)('scrape verify and run --dry-run on %s', (dialect) => {
  let source: TestDatabase;
  const dbs: TestDatabase[] = [];
  async function scraped(label: string, extra: string[] = []): Promise<TestDatabase> {
    const t = await createTestDatabase(dialect, label);
    dbs.push(t);
    const r = await scrape(['run', 'adtemp', '--source', source.url, '--target', t.url, '--until-caught-up', '--allow-drop-create-table', ...extra]);
    expect(r.code).toBe(0);
    return t;
  }
  const verify = (t: TestDatabase, extra: string[] = []) => scrape(['verify', 'adtemp', '--source', source.url, '--target', t.url, ...extra]);

  beforeAll(async () => {
    source = await createTestDatabase(dialect, 'fake_verify_src');
    await fillAdTempSource(source.db, ROWS, 11);
  });
  afterAll(async () => {
    for (const d of dbs) await d.drop();
    await source.drop();
  });

  it('an untouched target after run --until-caught-up: equal, exit 0; also from a time', async () => {
    const t = await scraped('verify_equal');
    const n = (await vlds(t.db)).length;
    expect(n).toBeGreaterThan(5);
    const r = await verify(t);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`${n} replayed, ${n} in the target; 0 missing, 0 extra, 0 different`);
    expect(r.stdout.trim().split('\n').pop()).toBe('equal');
    expect(r.stdout).not.toContain('another version of the regime');
    // from a time inside the data: the replay resumes at the end of the last validity ending by then
    const v = await vlds(t.db);
    const mid = v[Math.floor(n / 2)];
    const from = await verify(t, ['--from', localPlus(mid.TIMESTART, 1), '--json']);
    expect(from.code).toBe(0);
    const report = JSON.parse(from.stdout);
    expect(report.targets[0].from).toBe(mid.TIMESTART);
    expect(report.targets[0].replayed).toBe(n - Math.floor(n / 2));
  });

  it('a deleted validity is missing, a payload changed beyond precision is different: exactly those, exit 1', async () => {
    const t = await scraped('verify_changed');
    const v = await vlds(t.db);
    const gone = v[2];
    const altered = v[4];
    await t.db('DcsAdTempVld').where({ SEQNO: gone.SEQNO }).del();
    await t.db('DcsAdTemp').where({ SEQNO: gone.SEQNO }).del();
    await t.db('DcsAdTemp').where({ SEQNO: altered.SEQNO }).update({ Temp_PT2: t.db.raw('Temp_PT2 + 0.5') });
    const r = await verify(t, ['--json']);
    expect(r.code).toBe(1);
    const diffs = JSON.parse(r.stdout).differences;
    expect(diffs.map((d: Record<string, unknown>) => [d.kind, d.timestart, d.timeend, d.seqno ?? null])).toEqual([
      ['missing', gone.TIMESTART, gone.TIMEEND, null],
      ['different', altered.TIMESTART, altered.TIMEEND, altered.SEQNO],
    ]);
    expect(diffs[1].detail).toMatch(/^row 1 Temp_PT2: /);
    const human = await verify(t);
    expect(human.code).toBe(1);
    expect(human.stdout).toMatch(/^missing +DcsAdTemp/m);
    expect(human.stdout.trim().split('\n').pop()).toBe('2 differences');
  });

  it('a late source row dated inside a written range is reported late, and only that', async () => {
    const src = await createTestDatabase(dialect, 'fake_verify_late_src');
    dbs.push(src);
    await fillAdTempSource(src.db, ROWS, 11);
    const t = await createTestDatabase(dialect, 'verify_late');
    dbs.push(t);
    expect((await scrape(['run', 'adtemp', '--source', src.url, '--target', t.url, '--until-caught-up', '--allow-drop-create-table'])).code).toBe(0);
    // id 5000 dated 5 s after row 100, long since written
    const at = localPlus('2011-02-01 00:00:00', 99 * 10 + 5);
    await src.db('DBNS_SAB_Temp').insert({ id: 5000, date_time: at, DBNS_SAB_Temp_PT1: 20, DBNS_SAB_Temp_PT2: 21, DBNS_SAB_Temp_PT3: 22, DBNS_SAB_Temp_PT4: 23, DBNS_SAB_Temp_PT5: 24 });
    const r = await scrape(['verify', 'adtemp', '--source', src.url, '--target', t.url, '--json']);
    expect(r.code).toBe(1);
    const report = JSON.parse(r.stdout);
    expect(report.differences).toEqual([expect.objectContaining({ kind: 'late', row: { id: 5000, date_time: at } })]);
    expect(report.streams[0].late).toBe(1);
  });

  it('a changed setting decides differently: the differences are those between the two runs, by SQL', async () => {
    const t = await scraped('verify_setting');
    const other = await scraped('verify_setting_other', ['--set', 'maxage=5m']);
    const { missing, extra } = await runDifferences(t.db, other.db);
    expect(missing.length + extra.length).toBeGreaterThan(0);
    const r = await verify(t, ['--set', 'maxage=5m', '--json']);
    expect(r.code).toBe(1);
    const got = JSON.parse(r.stdout).differences.map((d: Record<string, unknown>) => [d.kind, d.timestart]);
    const order = (a: unknown[], b: unknown[]) => (String(a[1]) + a[0] < String(b[1]) + b[0] ? -1 : 1);
    expect([...got].sort(order)).toEqual([...missing, ...extra].sort(order));
  });

  it("an edited threshold in the regime file: the differences are those between the two runs, by SQL", async () => {
    // adtemp's change rule sets its own threshold (1.0): the edit is to the file, as an operator makes it
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'scrape-verify-threshold-'));
    try {
      const text = fs.readFileSync(path.join(ROOT, 'regimes.d', 'adtemp.yaml'), 'utf8');
      expect(text).toMatch(/^    threshold: 1\.0$/m);
      const edited = path.join(dir, 'adtemp.yaml');
      fs.writeFileSync(edited, text.replace(/^    threshold: 1\.0$/m, '    threshold: 0.3'));
      const t = await scraped('verify_threshold');
      const other = await createTestDatabase(dialect, 'verify_threshold_other');
      dbs.push(other);
      expect((await scrape(['run', edited, '--source', source.url, '--target', other.url, '--until-caught-up', '--allow-drop-create-table'])).code).toBe(0);
      const { missing, extra } = await runDifferences(t.db, other.db);
      // a lower threshold writes more often
      expect(missing.length).toBeGreaterThan(0);
      const r = await scrape(['verify', edited, '--source', source.url, '--target', t.url, '--json']);
      expect(r.code).toBe(1);
      const got = JSON.parse(r.stdout).differences.map((d: Record<string, unknown>) => [d.kind, d.timestart]);
      const order = (a: unknown[], b: unknown[]) => (String(a[1]) + a[0] < String(b[1]) + b[0] ? -1 : 1);
      expect([...got].sort(order)).toEqual([...missing, ...extra].sort(order));
      // the changed regime: the hash the edited file's own run recorded (by SQL) is the one verified now;
      // every validity of t names the original's hash, reported once with their count, not as a difference
      const hashesOf = async (db: Knex) => (await db('SCRAPE_PROVENANCE').distinct('REGIME_HASH')).map((h: { REGIME_HASH: string }) => h.REGIME_HASH);
      const [original] = await hashesOf(t.db);
      const [editedHash] = await hashesOf(other.db);
      expect(await hashesOf(t.db)).toHaveLength(1);
      expect(original).not.toBe(editedHash);
      const report = JSON.parse(r.stdout);
      expect(report.regimeHash).toBe(editedHash);
      expect(report.targets[0].otherRegimes).toEqual([{ hash: original, validities: (await vlds(t.db)).length }]);
      const human = await scrape(['verify', edited, '--source', source.url, '--target', t.url]);
      expect(human.stdout).toContain(`${(await vlds(t.db)).length} validities of the range written by another version of the regime (sha256 ${original.slice(0, 12)}…, now ${editedHash.slice(0, 12)}…`);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('run --dry-run writes nothing, not even a table, and prints as many validities as the real run then writes', async () => {
    const t = await createTestDatabase(dialect, 'verify_dry');
    dbs.push(t);
    // SQLite: the file is not made yet (it is made on first use); the dry run reads it as empty and makes no file
    const file = t.location.filename;
    if (dialect === 'sqlite') expect(fs.existsSync(file!)).toBe(false);
    const dry = await scrape(['run', 'adtemp', '--source', source.url, '--target', t.url, '--dry-run', '--allow-drop-create-table']);
    if (dialect === 'sqlite') expect(fs.existsSync(file!)).toBe(false);
    expect(dry.stderr).not.toMatch(/error/i);
    expect(dry.code).toBe(0);
    for (const table of ['DcsAdTemp', 'DcsAdTempVld', 'LOCALSEQNO', 'SCRAPE_SOURCE_IDS']) expect(await t.db.schema.hasTable(table)).toBe(false);
    const lines = dry.stdout.split('\n').filter((l) => l.startsWith('DcsAdTemp  32/1/1/0/-1  ['));
    expect(lines[0]).toMatch(/^DcsAdTemp {2}32\/1\/1\/0\/-1 {2}\[2011-01-31 16:00:00, \S+ \S+\) UTC {2}\[2011-02-01 00:00:00, \S+ \S+\) Asia\/Shanghai {2}(changed|overage) {2}1 row: Temp_PT1=/);
    expect(await scrape(['run', 'adtemp', '--source', source.url, '--target', t.url, '--until-caught-up', '--allow-drop-create-table'])).toMatchObject({ code: 0 });
    const [{ n }] = await t.db('DcsAdTempVld').count({ n: '*' });
    expect(lines).toHaveLength(Number(n));
  });
});
