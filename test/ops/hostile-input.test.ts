import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { PassThrough } from 'stream';
import { Knex } from 'knex';
import { main } from '../../engine/cli/main';
import { CliIo } from '../../engine/cli/io';
import { openDatabase } from '../../engine/db/open-database';
import { projectRoot } from '../../engine/config/dbconf';
import { DIALECTS, createTestDatabase, expectRejection, TestDatabase } from '../support/databases';
import { createSourceTable, insertRows, localPlus } from '../support/source-fixture';

const ROOT = projectRoot();
const PT = [1, 2, 3, 4, 5].map((i) => `DBNS_SAB_Temp_PT${i}`);
const ADTEMP = fs.readFileSync(path.join(ROOT, 'regimes.d', 'adtemp.yaml'), 'utf8');
/** A payload that would drop the canary if it ever reached SQL as text. */
const EVIL = "x'; DROP TABLE canary; -- /* */ ` \" ' OR 1=1";

async function scrape(args: string[]) {
  const chunks: string[] = [];
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  stdout.on('data', (c) => chunks.push(String(c)));
  stderr.on('data', (c) => chunks.push(String(c)));
  const io: CliIo = { stdout, stderr, env: {}, cwd: ROOT };
  const code = await main(['node', 'scrape', ...args], io);
  return { code, output: chunks.join('') };
}

/** YAML double-quoted scalar of `text`. */
function yq(text: string): string {
  return JSON.stringify(text);
}

async function canaryRows(db: Knex): Promise<number> {
  const row = await db('canary').count({ n: '*' }).first();
  return Number(row?.n);
}

async function tableNames(db: Knex): Promise<string[]> {
  if (db.client.config.client === 'better-sqlite3') {
    return (await db.raw(`SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name`)).map((r: { name: string }) => r.name);
  }
  const [rows] = await db.raw('SELECT TABLE_NAME AS name FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() ORDER BY TABLE_NAME');
  return rows.map((r: { name: string }) => r.name);
}

describe.each(DIALECTS)('hostile input on %s', (dialect) => {
  let source: TestDatabase;
  const targets: TestDatabase[] = [];
  let dir: string;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'scrape-hostile-'));
    source = await createTestDatabase(dialect, 'fake_hostile_src');
    await createSourceTable(source.db, 'DBNS_SAB_Temp', Object.fromEntries(PT.map((c) => [c, 'decimal(6,2)'])));
    const rows = [];
    for (let id = 1; id <= 20; id++) rows.push({ id, date_time: localPlus('2011-02-01 00:00:00', id * 10), ...Object.fromEntries(PT.map((c, i) => [c, 18 + i + (id % 4) * 0.75])) });
    await insertRows(source.db, 'DBNS_SAB_Temp', rows);
    await source.db.schema.createTable('canary', (t) => t.integer('x'));
    await source.db('canary').insert([{ x: 1 }, { x: 2 }]);
  });
  afterAll(async () => {
    for (const t of targets) await t.drop();
    await source.drop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** A fresh target holding its own canary. */
  async function target(label: string): Promise<TestDatabase> {
    const t = await createTestDatabase(dialect, label);
    targets.push(t);
    await t.db.schema.createTable('canary', (tb) => tb.integer('x'));
    await t.db('canary').insert([{ x: 1 }, { x: 2 }]);
    return t;
  }

  function regimeFile(label: string, yaml: string): string {
    const file = path.join(dir, `${label}.yaml`);
    fs.writeFileSync(file, yaml);
    return file;
  }

  async function runRegime(file: string, t: TestDatabase) {
    return scrape(['run', file, '--source', source.url, '--target', t.url, '--until-caught-up', '--allow-drop-create-table', '--set', 'maxage=1m']);
  }

  async function expectCanariesIntact(t: TestDatabase): Promise<void> {
    expect(await canaryRows(source.db)).toBe(2);
    expect(await canaryRows(t.db)).toBe(2);
    expect(await tableNames(source.db)).toEqual(expect.arrayContaining(['canary', 'DBNS_SAB_Temp']));
  }

  it('a table pattern with SQL fragments is only a regular expression over live table names', async () => {
    const t = await target('hostile_pattern_tgt');
    const yaml = ADTEMP.replace("pattern: '^DBNS_SAB_Temp$'", () => `pattern: ${yq(`^(?:DBNS_SAB_Temp|${EVIL.replace(/[*]/g, '\\*')})$`)}`);
    expect(yaml).not.toBe(ADTEMP);
    const r = await runRegime(regimeFile('pattern', yaml), t);
    expect(r.output).not.toMatch(/internal error/);
    expect(r.code).toBe(0);
    expect(r.output).toMatch(/done DBNS_SAB_Temp: 20 rows read/);
    await expectCanariesIntact(t);
  });

  it('a column selector with SQL fragments matches no live column: refused before any write', async () => {
    const t = await target('hostile_column_tgt');
    const yaml = ADTEMP.replace("'DBNS_SAB_Temp_PT{1..5}': decimal(6,2)", () => `'DBNS_SAB_Temp_PT{1..5}': decimal(6,2)\n      ${yq(`DBNS_SAB_Temp_PT1\`; DROP TABLE canary; --`)}: decimal(6,2)`);
    expect(yaml).not.toBe(ADTEMP);
    const r = await runRegime(regimeFile('column', yaml), t);
    expect(r.code).toBe(1);
    expect(r.output).toMatch(/^error [A-Z_]+: /m);
    expect(r.output).not.toMatch(/internal error/);
    await expectCanariesIntact(t);
    expect(await t.db.schema.hasTable('DcsAdTempVld')).toBe(false);
  });

  it('filter values with SQL fragments are compared as data', async () => {
    const t = await target('hostile_filter_tgt');
    const yaml = ADTEMP.replace(
      '  skips: [id, date_time]',
      () => `  skips: [id, date_time]\n  filter:\n    - column: DBNS_SAB_Temp_PT1\n      op: '!='\n      value: ${yq(EVIL)}\n    - column: DBNS_SAB_Temp_PT2\n      op: 'not in'\n      value: [${yq(EVIL)}, ${yq("1) OR (1=1")}]`,
    );
    expect(yaml).not.toBe(ADTEMP);
    const r = await runRegime(regimeFile('filter', yaml), t);
    // Treated as data: no reading equals the strings, so every entry passes and counts.
    expect(r.code).toBe(0);
    const counts = await t.db('DcsAdTemp').select('count');
    expect(counts.length).toBeGreaterThan(0);
    expect(counts.every((c: { count: number }) => Number(c.count) > 0)).toBe(true);
    expect(r.output).not.toMatch(/internal error/);
    await expectCanariesIntact(t);
  });

  it('context map keys with SQL fragments are only compared with captures', async () => {
    const t = await target('hostile_context_tgt');
    const yaml = ADTEMP.replace("pattern: '^DBNS_SAB_Temp$'", () => `pattern: '^DBNS_SAB_(?<det>Temp)$'`).replace(
      '  subsite: 1',
      () => `  subsite:\n    capture: det\n    map:\n      ${yq(EVIL)}: 2\n      ${yq("Temp' OR '1'='1")}: 3\n      Temp: 1`,
    );
    const r = await runRegime(regimeFile('context', yaml), t);
    expect(r.output).not.toMatch(/internal error/);
    expect(r.code).toBe(0);
    const subsites = (await t.db('DcsAdTempVld').distinct('SUBSITE')).map((x: { SUBSITE: number }) => Number(x.SUBSITE));
    expect(subsites).toEqual([1]);
    await expectCanariesIntact(t);
  });

  it('a source table named with SQL fragments that the pattern matches is refused with a clear error', async () => {
    const t = await target('hostile_tablename_tgt');
    const odd = "DBNS_SAB_Temp'; DROP TABLE canary; --";
    const q = dialect === 'sqlite' ? `"${odd}"` : `\`${odd}\``;
    await source.db.raw(`CREATE TABLE ${q} (id INTEGER PRIMARY KEY, date_time datetime NOT NULL, ${PT.map((c) => `${c} decimal(6,2)`).join(', ')})`);
    try {
      await source.db.raw(`INSERT INTO ${q} (id, date_time, ${PT.join(', ')}) VALUES (1, '2011-02-01 00:00:10', 1, 2, 3, 4, 5)`);
      // The odd suffix is even a context map key, so the table really becomes a stream of its own.
      const yaml = ADTEMP.replace("pattern: '^DBNS_SAB_Temp$'", () => "pattern: '^DBNS_SAB_Temp(?<det>.*)$'").replace(
        '  subsite: 1',
        () => `  subsite:\n    capture: det\n    map:\n      "": 1\n      ${yq(odd.slice('DBNS_SAB_Temp'.length))}: 2`,
      );
      const r = await runRegime(regimeFile('tablename', yaml), t);
      expect(r.output).not.toMatch(/internal error/);
      expect(r.code).toBe(1);
      expect(r.output).toMatch(/^error [A-Z_]+: .*DBNS_SAB_Temp'; DROP TABLE canary; --/m);
      await expectCanariesIntact(t);
      expect(await tableNames(source.db)).toContain(odd);
      // Refused before any write.
      expect((await t.db.schema.hasTable('DcsAdTempVld')) ? await t.db('DcsAdTempVld').count({ n: '*' }).first() : { n: 0 }).toEqual({ n: 0 });
    } finally {
      await source.db.raw(`DROP TABLE ${q}`);
    }
  });

  it('the source connection, opened as the scraper opens it, refuses writes', async () => {
    const ro = openDatabase(source.location, { readOnly: true });
    try {
      await expectRejection(ro.raw('INSERT INTO canary (x) VALUES (3)'));
      await expectRejection(ro('canary').insert({ x: 4 }));
      await expectRejection(ro.raw('DELETE FROM canary'));
      await expectRejection(ro.raw('UPDATE canary SET x = 9'));
      await expectRejection(ro.raw('DROP TABLE canary'));
      await expectRejection(ro.raw('CREATE TABLE intruder (x integer)'));
      // Reading still works.
      expect(Number((await ro('canary').count({ n: '*' }).first())?.n)).toBe(2);
    } finally {
      await ro.destroy();
    }
    expect((await source.db('canary').orderBy('x')).map((r: { x: number }) => r.x)).toEqual([1, 2]);
    expect(await tableNames(source.db)).not.toContain('intruder');
  });
});
