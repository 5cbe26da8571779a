import { main } from '../../engine/cli/main';
import { CliIo } from '../../engine/cli/io';
import { projectRoot } from '../../engine/config/dbconf';
import { summarizeColumns } from '../../engine/report/source-inspection';
import { DIALECTS, TestDatabase, createTestDatabase } from '../support/databases';
import { createSourceTable, insertRows } from '../support/source-fixture';

const ROOT = projectRoot();

async function scrape(args: string[]) {
  let out = '';
  let err = '';
  const io: CliIo = {
    stdout: { write: (s: string) => ((out += s), true) } as unknown as CliIo['stdout'],
    stderr: { write: (s: string) => ((err += s), true) } as unknown as CliIo['stderr'],
    env: {},
    cwd: ROOT,
  };
  const code = await main(['node', 'scrape', ...args], io);
  return { code, stdout: out, stderr: err };
}

const ZERO = '0000-00-00 00:00:00';
/** adtemp source rows: id → date_time. Zero dates, 1970 (the manual's epoch rows), 2009 (before timefloor), 2011, 2012. */
const TEMP_ROWS: Array<[number, string]> = [
  [1, ZERO],
  [2, ZERO],
  [3, ZERO],
  [4, '1970-01-01 08:00:00'],
  [5, '1970-01-01 08:00:00'],
  [6, '2011-01-10 10:34:28'],
  [7, '2011-06-01 00:00:00'],
  [8, '2011-12-31 23:59:58'],
  [9, '2011-03-03 03:03:03'],
  [10, '2012-01-01 00:00:00'],
  [11, '2012-02-29 15:19:43'],
  [12, '2009-12-31 23:59:59'],
];

const HV_CELLS: string[] = [];
for (let l = 1; l <= 8; l++) for (let c = 1; c <= 3; c++) for (let r = 1; r <= 8; r++) HV_CELLS.push(`L${l}C${c}R${r}`);

describe.each(DIALECTS)('scrape inspect on %s', (dialect) => {
  let source: TestDatabase;
  beforeAll(async () => {
    source = await createTestDatabase(dialect, 'fake_inspect');
    const temp = Object.fromEntries([1, 2, 3, 4, 5].map((i) => [`DBNS_SAB_Temp_PT${i}`, 'decimal(6,2)']));
    await createSourceTable(source.db, 'DBNS_SAB_Temp', temp);
    const rows = TEMP_ROWS.map(([id, t]) => ({ id, date_time: t, ...Object.fromEntries(Object.keys(temp).map((c) => [c, '18.50'])) }));
    if (dialect === 'mariadb') {
      // zero dates need a permissive sql_mode, as on the old DCS servers
      await source.db.transaction(async (trx) => {
        await trx.raw("SET SESSION sql_mode = ''");
        await trx('DBNS_SAB_Temp').insert(rows);
      });
    } else {
      await insertRows(source.db, 'DBNS_SAB_Temp', rows);
    }
    await createSourceTable(source.db, 'DBNS_AD1_HV_Vmon', Object.fromEntries(HV_CELLS.map((c) => [c, 'decimal(6,2)'])));
    await createSourceTable(source.db, 'DBNS_AD1_HV_Pw', Object.fromEntries(HV_CELLS.map((c) => [c, 'tinyint'])));
    // looks related, does not match the anchored pattern
    await createSourceTable(source.db, 'DBNS_AD1_HV_Vmon_old', { L1C1R1: 'decimal(6,2)' });
    const hv = (id: number, t: string, v: number) => ({ id, date_time: t, ...Object.fromEntries(HV_CELLS.map((c) => [c, v])) });
    await insertRows(source.db, 'DBNS_AD1_HV_Vmon', [hv(1, '2011-02-01 00:00:10', 1500), hv(2, '2011-02-01 00:00:20', 1501)]);
    await insertRows(source.db, 'DBNS_AD1_HV_Pw', [hv(1, '2011-02-01 00:00:10', 1), hv(2, '2011-02-01 00:00:20', 1), hv(3, '2011-02-01 00:00:30', 0)]);
  });
  afterAll(async () => {
    await source.drop();
  });

  it('adtemp --json: per-year ranges with zero dates apart, and the rows the scraper skips', async () => {
    const r = await scrape(['inspect', 'adtemp', '--source', source.url, '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.regime).toBe('adtemp');
    expect(j.tables).toHaveLength(1);
    const t = j.tables[0];
    expect(t.table).toBe('DBNS_SAB_Temp');
    expect(t.context).toEqual({ sitemask: 32, subsite: 1, simmask: 1, task: 0, aggregateno: -1 });
    expect(t.columns.map((c: { name: string }) => c.name)).toEqual([1, 2, 3, 4, 5].map((i) => `DBNS_SAB_Temp_PT${i}`));
    expect(t.columns.every((c: { type: string }) => c.type === 'decimal(6,2)')).toBe(true);
    expect(t.rows).toBe(12);
    // by hand from TEMP_ROWS
    expect(t.years).toEqual([
      { year: '0000', count: 3, minId: 1, maxId: 3, minTime: ZERO, maxTime: ZERO },
      { year: '1970', count: 2, minId: 4, maxId: 5, minTime: '1970-01-01 08:00:00', maxTime: '1970-01-01 08:00:00' },
      { year: '2009', count: 1, minId: 12, maxId: 12, minTime: '2009-12-31 23:59:59', maxTime: '2009-12-31 23:59:59' },
      { year: '2011', count: 4, minId: 6, maxId: 9, minTime: '2011-01-10 10:34:28', maxTime: '2011-12-31 23:59:58' },
      { year: '2012', count: 2, minId: 10, maxId: 11, minTime: '2012-01-01 00:00:00', maxTime: '2012-02-29 15:19:43' },
    ]);
    // timefloor of adtemp is 2010-01-01 00:00:00: the 1970 and 2009 rows, plus the zero dates
    expect(t.skipped).toEqual({ timefloor: '2010-01-01 00:00:00', zeroDates: 3, beforeTimefloor: 3, total: 6 });
    expect(t.unpivot).toBeUndefined();
  });

  it('adtemp with --set timefloor moves the skipped count', async () => {
    const r = await scrape(['inspect', 'adtemp', '--source', source.url, '--json', '--set', 'timefloor=2011-06-01 00:00:00']);
    expect(r.code).toBe(0);
    // before 2011-06-01: 1970 x2, 2009, 2011-01-10, 2011-03-03 (2011-06-01 itself is read)
    expect(JSON.parse(r.stdout).tables[0].skipped).toEqual({ timefloor: '2011-06-01 00:00:00', zeroDates: 3, beforeTimefloor: 5, total: 8 });
  });

  it('adtemp human report: the manual\'s group-by-year table', async () => {
    const r = await scrape(['inspect', 'adtemp', '--source', source.url]);
    expect(r.code).toBe(0);
    const lines = r.stdout.split('\n');
    expect(lines[0]).toMatch(/^regime adtemp: 1 source table in .* \(times Asia\/Shanghai\)$/);
    expect(lines).toContain('DBNS_SAB_Temp  sitemask 32  subsite 1  simmask 1  task 0');
    expect(lines.map((l) => l.trim().split(/\s{2,}/))).toEqual(expect.arrayContaining([
      ['DBNS_SAB_Temp_PT{1..5}', 'decimal(6,2)', '5'],
      ['year', 'count', 'min(id)', 'max(id)', 'min(date_time)', 'max(date_time)'],
      ['0000', '3', '1', '3', ZERO, ZERO],
      ['2011', '4', '6', '9', '2011-01-10 10:34:28', '2011-12-31 23:59:58'],
    ]));
    expect(lines).toContain('  skipped by the scraper: 3 zero dates, 3 before timefloor 2010-01-01 00:00:00 (6 in all)');
  });

  it('pmthv: joined columns with their prefix, unpivot summarised, --verbose lists every cell', async () => {
    const r = await scrape(['inspect', 'pmthv', '--source', source.url]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const out = r.stdout;
    expect(out).toMatch(/^regime pmthv: 1 source table in /);
    expect(out).not.toContain('Vmon_old');
    expect(out).toContain('DBNS_AD1_HV_Vmon  sitemask 1  subsite 1  simmask 1  task 0  (site=DBNS detector=AD1)');
    expect(out).toContain('  joined on id: DBNS_AD1_HV_Pw as pw_* (192 columns, 3 rows)');
    expect(out).toContain('columns as the regime sees them (384, without id and date_time)');
    expect(out).toMatch(/^ {4}L\{1\.\.8\}C\{1\.\.3\}R\{1\.\.8\} +decimal\(6,2\) +192$/m);
    expect(out).toMatch(/^ {4}pw_L\{1\.\.8\}C\{1\.\.3\}R\{1\.\.8\} +tinyint\S* +192$/m);
    expect(out).toContain('192 target rows per entry; ladder 1..8, col 1..3, ring 1..8; values voltage, pw');
    expect(out).toContain('    L1C1R1 → ladder=1 col=1 ring=1 voltage=L1C1R1 pw=pw_L1C1R1');
    expect(out).toContain('    L8C3R8 → ladder=8 col=3 ring=8 voltage=L8C3R8 pw=pw_L8C3R8');
    expect(out.split('\n').filter((l) => l.includes(' → ')).length).toBe(3); // summarised: 2 first, …, last
    expect(out).toContain('  skipped by the scraper: 0 zero dates, 0 before timefloor 2010-01-01 00:00:00 (0 in all)');

    const v = await scrape(['inspect', 'pmthv', '--source', source.url, '--verbose']);
    const cells = v.stdout.split('\n').filter((l) => l.includes(' → '));
    expect(cells.length).toBe(192);
    expect(cells[24 + 8 + 2].trim()).toBe('L2C2R3 → ladder=2 col=2 ring=3 voltage=L2C2R3 pw=pw_L2C2R3');
    expect(v.stdout.split('\n').filter((l) => /^ {4}pw_L\dC\dR\d +tinyint/.test(l)).length).toBe(192);

    const j = JSON.parse((await scrape(['inspect', 'pmthv', '--source', source.url, '--json'])).stdout);
    const t = j.tables[0];
    expect(t.captures).toEqual({ site: 'DBNS', detector: 'AD1' });
    expect(t.joins).toEqual([{ table: 'DBNS_AD1_HV_Pw', prefix: 'pw_', columns: 192, rows: 3 }]);
    expect(t.unpivot.cells).toHaveLength(192);
    expect(t.unpivot.cells[191]).toEqual({ column: 'L8C3R8', fields: { ladder: 8, col: 3, ring: 8, column: 'L8C3R8' }, values: { voltage: 'L8C3R8', pw: 'pw_L8C3R8' } });
    expect(t.years).toEqual([{ year: '2011', count: 2, minId: 1, maxId: 2, minTime: '2011-02-01 00:00:10', maxTime: '2011-02-01 00:00:20' }]);
  });

  it('--tables narrows, a regime matching nothing is an error naming the pattern', async () => {
    const none = await scrape(['inspect', 'pmthv', '--source', source.url, '--tables', 'LANS_AD2_HV_Vmon']);
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/SOURCE_NO_TABLES.*HV_Vmon/);
  });
});

describe('summarizeColumns', () => {
  const cols = (names: string[], type = 'int') => names.map((name) => ({ name, type }));
  it('folds a full product of digit ranges and keeps other names', () => {
    expect(summarizeColumns(cols(HV_CELLS)).map((g) => [g.text, g.count])).toEqual([['L{1..8}C{1..3}R{1..8}', 192]]);
    expect(summarizeColumns([...cols(['a', 'T1', 'T2', 'T3']), ...cols(['T4'], 'float')]).map((g) => [g.text, g.type, g.count])).toEqual([
      ['a', 'int', 1],
      ['T{1..3}', 'int', 3],
      ['T4', 'float', 1],
    ]);
  });
  it('does not pretend a range when names are missing or zero-padded', () => {
    expect(summarizeColumns(cols(['T1', 'T2', 'T4'])).map((g) => g.text)).toEqual(['T1 … T4']);
    expect(summarizeColumns(cols(['T01', 'T02'])).map((g) => g.text)).toEqual(['T01 … T02']);
    expect(summarizeColumns(cols(['L1C1', 'L2C2'])).map((g) => g.text)).toEqual(['L1C1 … L2C2']);
  });
});
