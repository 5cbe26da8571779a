import { DIALECTS, createTestDatabase, TestDatabase } from '../support/databases';
import { prepareTargetTables } from '../../engine/dbi/target-tables';
import { DbiWriter, ValidityContext } from '../../engine/dbi/dbi-writer';
import { readProvenance } from '../../engine/dbi/dbi-reader';
import { parseSuppressed, roundTo12Digits, suppressedJson } from '../../engine/dbi/propagation';
import { mysqlQueryFormat } from '../../engine/db/open-database';
import { testSpec } from './dbi-support';

/**
 * The text the writer sends for provenance: `SUPPRESSED` as parallel arrays with `maxdev` to 12
 * significant digits (read back as one object per column, the older stored form still read), and
 * strings written into MySQL statements quoted as they are when nothing in them needs escaping,
 * escaped by the driver otherwise. Expected texts are written by hand.
 */

const SAB_AD1: ValidityContext = { sitemask: 32, simmask: 1, subsite: 1, task: 0, aggregateno: -1 };

describe('SUPPRESSED text', () => {
  it('is parallel arrays, maxdev without the binary noise of a difference, and reads back per column', () => {
    const dev = 1499.85 - 1499.5; // 0.34999999999990905 in binary doubles
    expect(dev).not.toBe(0.35);
    const text = suppressedJson({ Temp_PT1: { n: 3, maxdev: dev, min: 1499.5, max: 1499.85 }, 'we"ird\\name': { n: 1, maxdev: 0, min: -2, max: -2 } });
    expect(text).toBe('{"columns":["Temp_PT1","we\\"ird\\\\name"],"n":[3,1],"maxdev":[0.35,0],"min":[1499.5,-2],"max":[1499.85,-2]}');
    expect(parseSuppressed(text)).toEqual({ Temp_PT1: { n: 3, maxdev: 0.35, min: 1499.5, max: 1499.85 }, 'we"ird\\name': { n: 1, maxdev: 0, min: -2, max: -2 } });
  });

  it('reads the object per column that earlier versions stored, as it is', () => {
    const old = '{"Temp_PT1":{"n":40,"maxdev":0.34999999999990905,"min":1499.25,"max":1499.85}}';
    expect(parseSuppressed(old)).toEqual({ Temp_PT1: { n: 40, maxdev: 0.34999999999990905, min: 1499.25, max: 1499.85 } });
  });

  it('rounding never lifts a deviation within a threshold of few digits above it', () => {
    // the largest double below 0.5 rounds to 0.5 at 12 digits: equal to the threshold, not above
    const below = 0.49999999999999994;
    const [maxdev] = JSON.parse(suppressedJson({ c: { n: 1, maxdev: below, min: 0, max: 0 } })).maxdev;
    expect(maxdev).toBe(0.5);
    expect(maxdev).toBeLessThanOrEqual(0.5);
  });

  it('rounds to 12 significant digits at any magnitude', () => {
    expect(roundTo12Digits(123456789.123456789)).toBe(123456789.123);
    expect(roundTo12Digits(0.000123456789012345)).toBe(0.000123456789012);
    expect(roundTo12Digits(-2.5)).toBe(-2.5);
    expect(roundTo12Digits(0)).toBe(0);
    expect(roundTo12Digits(1e-300)).toBe(1e-300); // past 10^±280 left as it is
  });

  it('writes NaN as null, read back as NaN', () => {
    const text = suppressedJson({ c: { n: 2, maxdev: NaN, min: 1, max: 2 } });
    expect(text).toBe('{"columns":["c"],"n":[2],"maxdev":[null],"min":[1],"max":[2]}');
    expect(parseSuppressed(text).c.maxdev).toBeNaN();
  });
});

describe('MySQL statements without values', () => {
  it('are sent as written: a ? inside them is not a placeholder', () => {
    const sql = "INSERT INTO t VALUES ('a?b', '{\"q\":\"?\"}')";
    expect(mysqlQueryFormat.call(undefined, sql, [])).toBe(sql);
    expect(mysqlQueryFormat.call(undefined, sql, undefined)).toBe(sql);
    // with values, the driver's substitution: a number as it is, a string quoted and escaped
    expect(mysqlQueryFormat.call(undefined, 'SELECT ?, ?', [5, "it's"], 'Z')).toBe("SELECT 5, 'it\\'s'");
  });
});

describe.each(DIALECTS)('provenance text on %s', (dialect) => {
  let t: TestDatabase;
  const spec = testSpec();
  beforeEach(async () => {
    t = await createTestDatabase(dialect, 'prov_text');
    await prepareTargetTables(t.db, [spec], { create: true, drop: false, location: t.location });
  });
  afterEach(async () => {
    await t.drop();
  });

  it('strings with and without characters to escape, and the arrays of SUPPRESSED, come back as written', async () => {
    const writer = new DbiWriter(t.db, spec);
    const why = (sourceTable: string, label: string) => ({
      reason: 'changed', fired: [{ rule: 0, columns: [label] }], sourceTable, firstId: 1, lastId: 2, firstTime: '2011-02-01 08:00:00', lastTime: '2011-02-01 08:10:00',
      samples: 2, rows: 2, suppressed: { [label]: { n: 1, maxdev: 0.25, min: 1.5, max: 1.75 } }, regimeHash: 'a'.repeat(64), engineVersion: '0.1.0',
    });
    const seqnos = await writer.write([
      { timestart: '2011-02-01 00:00:00', timeend: '2011-02-01 00:10:00', context: SAB_AD1, rows: [{ value: 1, label: 'plain "json"?' }], why: why('plain', 'value') },
      { timestart: '2011-02-01 00:10:00', timeend: '2011-02-01 00:20:00', context: SAB_AD1, rows: [{ value: 2, label: "it's \\ a\nb" }], why: why("it's \\ \"odd\"", "we'ird") },
    ]);
    expect(seqnos).toEqual([1, 2]);
    const labels = (await t.db(spec.table).select('SEQNO', 'label').orderBy('SEQNO')).map((r) => r.label);
    expect(labels).toEqual(['plain "json"?', "it's \\ a\nb"]);
    const stored = await t.db('SCRAPE_PROVENANCE').select('SEQNO', 'SOURCE_TABLE', 'SUPPRESSED').orderBy('SEQNO');
    expect(stored.map((r) => r.SOURCE_TABLE)).toEqual(['plain', "it's \\ \"odd\""]);
    expect(stored.map((r) => String(r.SUPPRESSED))).toEqual([
      '{"columns":["value"],"n":[1],"maxdev":[0.25],"min":[1.5],"max":[1.75]}',
      '{"columns":["we\'ird"],"n":[1],"maxdev":[0.25],"min":[1.5],"max":[1.75]}',
    ]);
    const read = await readProvenance(t.db, spec, [1, 2]);
    expect(read.get(2)!.suppressed).toEqual({ "we'ird": { n: 1, maxdev: 0.25, min: 1.5, max: 1.75 } });
    expect(read.get(2)!.fired).toEqual([{ rule: 0, columns: ["we'ird"] }]);
    expect(read.get(1)!.sourceTable).toBe('plain');
  });
});
