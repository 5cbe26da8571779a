import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { loadRegime } from '../../engine/config/load-regime';
import { possibleContexts } from '../../engine/config/regime-overlaps';
import { ROOT, runCli } from '../support/cli';

const regimesDir = path.join(ROOT, 'regimes.d');
const read = (name: string) => fs.readFileSync(path.join(regimesDir, `${name}.yaml`), 'utf8');

describe('regimes that would write the same table and context', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'scrape-overlap-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('the contexts of a regime pair the values a capture gives (adlid: AD number → hall, detector)', () => {
    // adlid's map by hand: AD1 (1, 1), AD2 (1, 2), AD3 (2, 1), AD8 (2, 2), AD4..AD7 (4, 1..4)
    const want = [[1, 1], [1, 2], [2, 1], [2, 2], [4, 1], [4, 2], [4, 3], [4, 4]].map(([site, sub]) => [site, sub, 1, 0, -1]);
    const got = possibleContexts(loadRegime('adlid', { regimesDir }).regime);
    expect([...got].sort()).toEqual([...want].sort());
    expect(possibleContexts(loadRegime('adtemp', { regimesDir }).regime)).toEqual([[32, 1, 1, 0, -1]]);
  });

  it('a renamed copy of adtemp beside it is an error naming both, at each target spec; exit 1', async () => {
    fs.writeFileSync(path.join(dir, 'adtemp.yaml'), read('adtemp'));
    fs.writeFileSync(path.join(dir, 'adtemp2.yaml'), read('adtemp').replace(/^name: adtemp$/m, 'name: adtemp2'));
    const r = await runCli(['validate', '--regimes', dir]);
    expect(r.code).toBe(1);
    const errors = r.stdout.split('\n').filter((l) => / error REGIME_OVERLAP /.test(l));
    expect(errors).toHaveLength(2);
    expect(errors[0]).toMatch(/adtemp\.yaml:\d+:\d+ error REGIME_OVERLAP targets\[0\]\.spec: regime adtemp and regime adtemp2 .* would both write DcsAdTemp for context \{sitemask: 32, subsite: 1, simmask: 1, task: 0, aggregateno: -1\}/);
    expect(errors[1]).toMatch(/adtemp2\.yaml:\d+:\d+ error REGIME_OVERLAP targets\[0\]\.spec: regime adtemp2 and regime adtemp /);
    expect(r.stdout).toMatch(/2 errors in 2 of 2 regimes/);
  });

  it('the same table with other contexts is fine: a copy writing another task, or only the far hall', async () => {
    fs.writeFileSync(path.join(dir, 'adtemp.yaml'), read('adtemp'));
    fs.writeFileSync(path.join(dir, 'adtemp_task1.yaml'), read('adtemp').replace(/^name: adtemp$/m, 'name: adtemp_task1').replace(/^context:\n/m, 'context:\n  task: 1\n'));
    const r = await runCli(['validate', '--regimes', dir]);
    expect({ code: r.code, out: r.stdout }).toMatchObject({ code: 0 });
    expect(r.stdout).toMatch(/2 regimes valid \(adtemp, adtemp_task1\)/);
  });

  it("a regime's scraper and declared averager writing one context is an error at its averager section; adlid's own averager task keeps them apart", async () => {
    expect(possibleContexts(loadRegime('adlid', { regimesDir }).regime, 'average').map((c) => c[3])).toEqual(Array(8).fill(1));
    expect(read('adlid')).toMatch(/^  task: 1$/m);
    fs.writeFileSync(path.join(dir, 'adlid.yaml'), read('adlid').replace(/^  task: 1\n/m, ''));
    const r = await runCli(['validate', '--regimes', dir]);
    expect(r.code).toBe(1);
    const errors = r.stdout.split('\n').filter((l) => / error REGIME_OVERLAP /.test(l));
    expect(errors).toHaveLength(1);
    // the first of adlid's contexts in map order: AD1 -> (1, 1)
    expect(errors[0]).toMatch(/adlid\.yaml:\d+:\d+ error REGIME_OVERLAP averager: the scraper and the averager of regime adlid would both write DcsAdLidSensor for context \{sitemask: 1, subsite: 1, simmask: 1, task: 0, aggregateno: -1\}: give the averager its own task/);
    const line = Number(/adlid\.yaml:(\d+):/.exec(errors[0])![1]);
    // at the section's first setting, just under `averager:`
    expect(read('adlid').split('\n')[line - 2]).toBe('averager:');
  });

  it("another regime's scraper on the averager's task overlaps adlid's averager (not its scraper)", async () => {
    fs.writeFileSync(path.join(dir, 'adlid.yaml'), read('adlid'));
    const other = read('adlid').replace(/^name: adlid$/m, 'name: adlid_t1').replace(/^averager:\n(  .*\n)+/m, '').replace(/^context:\n/m, 'context:\n  task: 1\n');
    fs.writeFileSync(path.join(dir, 'adlid_t1.yaml'), other);
    const r = await runCli(['validate', '--regimes', dir]);
    expect(r.code).toBe(1);
    const errors = r.stdout.split('\n').filter((l) => / error REGIME_OVERLAP /.test(l));
    expect(errors).toHaveLength(2);
    expect(errors[0]).toMatch(/adlid\.yaml:\d+:\d+ error REGIME_OVERLAP targets\[0\]\.spec: the averager of regime adlid and regime adlid_t1 .* would both write DcsAdLidSensor for context \{sitemask: 1, subsite: 1, simmask: 1, task: 1, aggregateno: -1\}/);
    expect(errors[1]).toMatch(/adlid_t1\.yaml:\d+:\d+ error REGIME_OVERLAP targets\[0\]\.spec: regime adlid_t1 and the averager of regime adlid /);
  });

  it('the shipped regimes do not overlap', async () => {
    const r = await runCli(['validate']);
    expect(r.code).toBe(0);
    expect(r.stdout).not.toMatch(/REGIME_OVERLAP/);
  });
});
