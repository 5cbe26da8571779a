import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { MemoryLogger } from '../../engine/core/logger';
import { ManualClock } from '../../engine/core/clock';
import { loadRegime, LoadedRegime } from '../../engine/config/load-regime';
import { runScraper } from '../../engine/scraper/scraper';
import { loadDump } from '../../engine/faker/dump-loader';
import { listColumns } from '../../engine/db/introspection';
import { inspectSource } from '../../engine/report/source-inspection';
import { readPlotData } from '../../engine/report/plot-data';
import { trivialPath } from '../../engine/transform/compile-expression';
import { DIALECTS, createTestDatabase, TestDatabase } from '../support/databases';
import { createSourceTable, insertRows, localPlus } from '../support/source-fixture';
import { targetRowsBySql } from './target-rows';
import { openDatabase } from '../../engine/db/open-database';

const START = '2012-03-01 00:00:00';
const utc = (r: number) => localPlus(START, r * 10 - 8 * 3600);

/**
 * Every place a regime names a column, with DCS names holding dots: declared with a range,
 * a change rule listing one, a `when` rule and mappings addressing them in JSONata backquotes,
 * an aggregate filter and skip naming them; and a target column named with a reserved word.
 */
const REGIME = `name: dotted
tables:
  - name: DBNS_AD1_HV_Imon
    columns:
      'DBNS_AD_HV.Slot{0..1}.I{0..1}': decimal(8,2)
context: { sitemask: 1, subsite: 1 }
changes:
  - columns: ['DBNS_AD_HV.Slot0.I0']
    threshold: 1
  - when: 'last.\`DBNS_AD_HV.Slot1.I1\` - first.\`DBNS_AD_HV.Slot1.I1\` > 5'
aggregate:
  functions: [avg]
  skips: [id, date_time, 'DBNS_AD_HV.Slot0.I1']
  filter:
    - { column: 'DBNS_AD_HV.Slot1.I0', op: '<', value: 100 }
scraper:
  interval: 10s
  offset: 0
  maxage: 10m
  timefloor: '2012-01-01 00:00:00'
targets:
  - spec: GDotted
    map:
      v: last.\`DBNS_AD_HV.Slot0.I0\`
      Column: '$round(last.\`DBNS_AD_HV.Slot0.I1\` * 2)'
      s0i0_avg: agg.\`DBNS_AD_HV.Slot0.I0_avg\`
      n: agg.count
`;
const SPEC = `table | meta | legacy | CanL2Cache | class
Dotted | 1 | Dotted | kFALSE | GDotted
;
meta | rctx | wctx
1 | Site.kDayaBay, DetectorId.kAD1, SimFlag.kData | Site.kDayaBay, DetectorId.kAD1, SimFlag.kData
;
name | dbtype | codetype | description
v | float | double | Slot0.I0 at the end
Column | int | int | twice Slot0.I1 at the end (a reserved word as a column name)
s0i0_avg | float | double | average of Slot0.I0 over the range
n | int | int | entries counted
`;
const NAMES = ['DBNS_AD_HV.Slot0.I0', 'DBNS_AD_HV.Slot0.I1', 'DBNS_AD_HV.Slot1.I0', 'DBNS_AD_HV.Slot1.I1'];

/** Row r: Slot0.I0 10 (12 at row 8), Slot0.I1 = r, Slot1.I0 0 (200 at row 3: filtered out), Slot1.I1 0 (6 from row 15 on). */
function row(r: number): Record<string, unknown> {
  return { id: r, date_time: localPlus(START, r * 10), [NAMES[0]]: r === 8 ? 12 : 10, [NAMES[1]]: r, [NAMES[2]]: r === 3 ? 200 : 0, [NAMES[3]]: r >= 15 ? 6 : 0 };
}

describe('JSONata paths with backquoted steps', () => {
  it('stay plain property access, the backquotes removed', () => {
    expect(trivialPath('last.`DBNS_AD_HV.Slot0.I0`')).toEqual(['last', 'DBNS_AD_HV.Slot0.I0']);
    expect(trivialPath('`a.b`.c')).toEqual(['a.b', 'c']);
    expect(trivialPath('last.`a.b` + 1')).toBeUndefined();
  });
});

describe.each(DIALECTS)('dotted column names everywhere on %s', (dialect) => {
  let loaded: LoadedRegime;
  let dir: string;
  const dbs: TestDatabase[] = [];
  const make = async (label: string) => {
    const d = await createTestDatabase(dialect, label);
    dbs.push(d);
    return d;
  };
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'scrape-dotted-'));
    fs.mkdirSync(path.join(dir, 'spec'));
    fs.writeFileSync(path.join(dir, 'spec', 'GDotted.spec'), SPEC);
    fs.writeFileSync(path.join(dir, 'dotted.yaml'), REGIME);
    loaded = loadRegime(path.join(dir, 'dotted.yaml'), { cwd: dir, specDir: 'spec' });
  });
  /** Scrapes as `scrape run` does: the source opened read-only with DECIMALs as numbers (JSONata arithmetic needs numbers). */
  const scrape = async (src: TestDatabase, tgt: TestDatabase) => {
    const source = openDatabase(src.location, { readOnly: true, decimalNumbers: true });
    try {
      await runScraper({ regime: loaded.regime, specs: loaded.specs, source, target: tgt.db, targetLocation: tgt.location, logger: new MemoryLogger(), clock: new ManualClock(Date.UTC(2026, 0, 1)), untilCaughtUp: true, allowCreate: true });
    } finally {
      await source.destroy();
    }
  };
  afterAll(async () => {
    for (const d of dbs) await d.drop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('scrapes them: change rules, when, aggregates, filter, skips, mappings, a reserved-word target column', async () => {
    const src = await make('fake_dotted_src');
    const tgt = await make('dotted_tgt');
    await createSourceTable(src.db, 'DBNS_AD1_HV_Imon', Object.fromEntries(NAMES.map((n) => [n, 'decimal(8,2)'])));
    await insertRows(src.db, 'DBNS_AD1_HV_Imon', Array.from({ length: 20 }, (_, i) => row(i + 1)));
    await scrape(src, tgt);
    // By hand: row 8 moves Slot0.I0 by 2 (> 1) → [1, 8); row 9 moves it back → [8, 9); row 15
    // makes Slot1.I1 − first = 6 > 5 → [9, 15); nothing after (maxage 10m).
    // Aggregates over [start, end) without row 3 (Slot1.I0 = 200 fails the filter):
    // [1, 8): rows 1, 2, 4..7, all 10 → avg 10, n 6; [8, 9): row 8 → 12, n 1; [9, 15): 10, n 6.
    const { vld, payload } = await targetRowsBySql(tgt.db, 'Dotted');
    expect(vld.map((v) => [v.TIMESTART, v.TIMEEND])).toEqual([[1, 8], [8, 9], [9, 15]].map(([a, b]) => [utc(a), utc(b)]));
    expect(payload.map((p) => [p.v, p.Column, p.s0i0_avg, p.n])).toEqual([
      [12, 16, 10, 6],
      [10, 18, 12, 1],
      [10, 30, 10, 6],
    ]);
  });

  it('loads a mysqldump holding them, inspects and plots them', async () => {
    const src = await make('fake_dotted_dump');
    const dump = path.join(dir, 'imon.sql');
    fs.writeFileSync(
      dump,
      [
        'DROP TABLE IF EXISTS `DBNS_AD1_HV_Imon`;',
        'CREATE TABLE `DBNS_AD1_HV_Imon` (',
        '  `id` int(10) unsigned NOT NULL AUTO_INCREMENT,',
        '  `date_time` datetime NOT NULL,',
        ...NAMES.map((n) => `  \`${n}\` decimal(8,2) DEFAULT NULL,`),
        '  PRIMARY KEY (`id`),',
        '  KEY `date_time` (`date_time`)',
        ') ENGINE=MyISAM DEFAULT CHARSET=latin1;',
        `INSERT INTO \`DBNS_AD1_HV_Imon\` (\`id\`, \`date_time\`, ${NAMES.map((n) => `\`${n}\``).join(', ')}) VALUES (1,'${localPlus(START, 10)}',10.00,1.00,0.00,0.00),(2,'${localPlus(START, 20)}',10.50,2.00,0.00,0.00);`,
        '',
      ].join('\n'),
    );
    await loadDump({ file: dump, db: src.db });
    expect((await listColumns(src.db, 'DBNS_AD1_HV_Imon')).map((c) => c.name)).toEqual(['id', 'date_time', ...NAMES]);
    const inspected = await inspectSource(src.db, loaded.regime);
    expect(inspected.tables.map((t) => [t.table, t.rows, t.columns.map((c) => c.name)])).toEqual([['DBNS_AD1_HV_Imon', 2, NAMES]]);

    // plot: the payload column v maps last.`DBNS_AD_HV.Slot0.I0`, so the source samples are drawn beside it
    const tgt = await make('dotted_plot_tgt');
    await scrape(src, tgt);
    await insertRows(src.db, 'DBNS_AD1_HV_Imon', Array.from({ length: 40 }, (_, i) => ({ ...row(i + 3), [NAMES[0]]: 20 + (i % 2) * 2 })));
    await scrape(src, tgt);
    const plot = await readPlotData({ regime: loaded.regime, specs: loaded.specs, source: src.db, target: tgt.db, columns: ['v'], from: utc(0), to: utc(50) });
    expect(plot.series.map((s) => [s.column, s.sourceColumn])).toEqual([['v', NAMES[0]]]);
    // the samples are the source rows with their dotted column's values: 10, 10.5, then 20/22 alternating
    expect(plot.samples.slice(0, 4).map((s) => s.values[NAMES[0]])).toEqual([10, 10.5, 20, 22]);
  });
});
