import { prepareTargetTables } from '../../engine/dbi/target-tables';
import { isScrapeError } from '../../engine/core/errors';
import { quoteIdentifier } from '../../engine/db/dialect';
import { SpecTable, parseSpec } from '../../engine/spec/spec-table';
import { specTypeProblems } from '../../engine/spec/spec-type-problems';
import { DIALECTS, TestDatabase, createTestDatabase } from '../support/databases';

/** A spec of table `table` with the given column types (named c1, c2, …). */
function specOf(table: string, types: string[]): SpecTable {
  const lines = [
    'table | meta | legacy | CanL2Cache | class',
    `${table} | 1 | ${table} | kFALSE | G${table}`,
    ';',
    'name | dbtype | codetype | description',
    ...types.map((t, i) => `c${i + 1} | ${t} | double | column ${i + 1}`),
  ];
  return parseSpec(lines.join('\n'), `${table}.spec`);
}

const times = (n: number, type: string) => Array.from({ length: n }, () => type);

/**
 * Specs at the edges of what MySQL and MariaDB take, with the verdict worked out by hand from
 * their documented limits (utf8mb4: 4 bytes a character; a row of at most 65,535 bytes counting
 * SEQNO and ROW_COUNTER (4 + 4), each column's size, and one NULL bit per attribute; a varchar
 * adds 1 length byte up to 255 bytes, else 2; at most 1017 columns).
 */
const CASES: Array<{ name: string; types: string[]; refused: boolean }> = [
  { name: 'decimal(65,30)', types: ['decimal(65,30)'], refused: false },
  { name: 'decimal(66,2)', types: ['decimal(66,2)'], refused: true },
  { name: 'decimal(99,2)', types: ['decimal(99,2)'], refused: true },
  { name: 'decimal(5,6): scale above precision', types: ['decimal(5,6)'], refused: true },
  { name: 'char(255)', types: ['char(255)'], refused: false },
  { name: 'char(256)', types: ['char(256)'], refused: true },
  // 16381 × 4 + 2 + 8 + 1 = 65535
  { name: 'varchar(16381): a row of exactly 65535 bytes', types: ['varchar(16381)'], refused: false },
  // 16382 × 4 + 2 + 8 + 1 = 65539
  { name: 'varchar(16382)', types: ['varchar(16382)'], refused: true },
  { name: 'varchar(99999)', types: ['varchar(99999)'], refused: true },
  // 16380 × 4 + 2 + 8 + 4 + 1 = 65535
  { name: 'varchar(16380) and 4 tinyint', types: ['varchar(16380)', ...times(4, 'tinyint')], refused: false },
  // 16380 × 4 + 2 + 8 + 5 + 1 = 65536
  { name: 'varchar(16380) and 5 tinyint', types: ['varchar(16380)', ...times(5, 'tinyint')], refused: true },
  // 64 × 1020 + 8 + 8 = 65296; 65 × 1020 = 66300
  { name: '64 char(255)', types: times(64, 'char(255)'), refused: false },
  { name: '65 char(255)', types: times(65, 'char(255)'), refused: true },
  // 1015 + 2 = 1017 columns; 1016 + 2 = 1018
  { name: '1015 tinyint', types: times(1015, 'tinyint'), refused: false },
  { name: '1016 tinyint', types: times(1016, 'tinyint'), refused: true },
  { name: 'every other type', types: ['tinyint unsigned', 'smallint', 'int', 'bigint', 'float', 'double', 'datetime', 'date', 'text', 'decimal(20,8)'], refused: false },
];

describe('specTypeProblems', () => {
  it('refuses exactly the specs the documented limits refuse', () => {
    expect(CASES.map((c) => [c.name, specTypeProblems(specOf('T', c.types)).length > 0])).toEqual(CASES.map((c) => [c.name, c.refused]));
  });

  it('names the column and its line for a column type', () => {
    const [problem] = specTypeProblems(specOf('T', ['int', 'decimal(99,2)']));
    expect(problem.column).toMatchObject({ name: 'c2', line: 6 });
    expect(problem.message).toBe('column c2 decimal(99,2): a precision of 99 digits (1 to 65 allowed)');
  });

  it('a scale of 31 to 38 is refused (MySQL allows 30) although MariaDB takes it', () => {
    expect(specTypeProblems(specOf('T', ['decimal(65,31)']))).toHaveLength(1);
  });
});

describe.each(DIALECTS)('target tables of such specs on %s', (dialect) => {
  let target: TestDatabase;
  beforeAll(async () => {
    target = await createTestDatabase(dialect, 'spec_types');
  });
  afterAll(async () => {
    await target.drop();
  });

  if (dialect === 'mariadb') {
    it('the server itself refuses the same specs (its own CREATE TABLE, as the hand verdicts say)', async () => {
      const verdicts: Array<[string, boolean]> = [];
      for (const [i, c] of CASES.entries()) {
        const q = (n: string) => quoteIdentifier(n, 'mysql');
        const cols = c.types.map((t, k) => `${q(`c${k + 1}`)} ${t}`).join(', ');
        const table = `probe_${i}`;
        let refused = false;
        try {
          await target.db.raw(`CREATE TABLE ${q(table)} (SEQNO int NOT NULL, ROW_COUNTER int NOT NULL, ${cols}, PRIMARY KEY (SEQNO, ROW_COUNTER)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`);
          await target.db.raw(`DROP TABLE ${q(table)}`);
        } catch {
          refused = true;
        }
        verdicts.push([c.name, refused]);
      }
      expect(verdicts).toEqual(CASES.map((c) => [c.name, c.refused]));
    }, 60_000);
  }

  it('prepareTargetTables refuses such a spec (SPEC_TYPE) before any statement and creates the others', async () => {
    for (const [i, c] of CASES.entries()) {
      const spec = specOf(`Probe${i}`, c.types);
      let error: unknown;
      await prepareTargetTables(target.db, [spec], { create: true, drop: false, location: target.location }).catch((e) => (error = e));
      expect([c.name, isScrapeError(error, 'SPEC_TYPE')]).toEqual([c.name, c.refused]);
      if (c.refused) expect((error as { hint?: string }).hint).toMatch(/\.spec file/);
      expect([c.name, await target.db.schema.hasTable(`Probe${i}`)]).toEqual([c.name, !c.refused]);
    }
  }, 60_000);

  it('a row the checks let through but the server refuses (InnoDB: 1000 doubles > 8126 bytes) is SPEC_TYPE there; SQLite takes it', async () => {
    const spec = specOf('ManyDoubles', times(1000, 'double'));
    expect(specTypeProblems(spec)).toEqual([]); // 8000 + 8 + 125 bytes, 1002 columns: within the documented limits
    let error: unknown;
    await prepareTargetTables(target.db, [spec], { create: true, drop: false, location: target.location }).catch((e) => (error = e));
    if (dialect === 'mariadb') {
      expect(isScrapeError(error, 'SPEC_TYPE')).toBe(true);
      expect((error as Error).message).toMatch(/refused table ManyDoubles of ManyDoubles\.spec: .*Row size too large/);
      expect((error as { hint?: string }).hint).toMatch(/\.spec file/);
      expect(await target.db.schema.hasTable('ManyDoubles')).toBe(false);
    } else {
      expect(error).toBeUndefined();
      expect(await target.db.schema.hasTable('ManyDoubles')).toBe(true);
    }
  }, 60_000);
});
