import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { DIALECTS, createTestDatabase, TestDatabase } from '../support/databases';
import { runCli } from '../support/cli';
import { ADTEMP_YAML, fillAdTempSource } from './ops-support';

describe.each(DIALECTS)('a mapping that gives ±Infinity on %s', (dialect) => {
  const databases: TestDatabase[] = [];
  let dir: string;
  afterAll(async () => {
    for (const d of databases) await d.drop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('stops the stream with exit 1, naming the regime location and the values; nothing of that validity is written', async () => {
    const source = await createTestDatabase(dialect, 'fake_notfinite_src');
    const target = await createTestDatabase(dialect, 'notfinite_tgt');
    databases.push(source, target);
    await fillAdTempSource(source.db, 200, 5);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'scrape-notfinite-'));
    const file = path.join(dir, 'adtemp.yaml');
    // JSONata divides by zero to Infinity; the PT1 readings of the fixture are never 0
    fs.writeFileSync(file, fs.readFileSync(ADTEMP_YAML, 'utf8').replace('Temp_PT2: last.DBNS_SAB_Temp_PT2', 'Temp_PT2: last.DBNS_SAB_Temp_PT2 / 0'));
    const r = await runCli(['run', file, '--source', source.url, '--target', target.url, '--allow-drop-create-table', '--until-caught-up']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/DBI_NOT_FINITE/);
    expect(r.stderr).toMatch(/targets\[0\]\.map\.Temp_PT2 gave Infinity for payload row 1 of the validity \[2011-01-31 16:00:00, /);
    expect(r.stderr).not.toMatch(/internal error/);
    const [{ n }] = await target.db('DcsAdTempVld').count({ n: '*' });
    expect(Number(n)).toBe(0);
  });
});
