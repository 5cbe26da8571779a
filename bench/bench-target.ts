import { Knex } from 'knex';
import { DatabaseLocation } from '../engine/config/dbconf';
import { loadRegime } from '../engine/config/load-regime';
import { SqlDialect, dialectOf, quoteIdentifier } from '../engine/db/dialect';
import { prepareTargetTables } from '../engine/dbi/target-tables';
import { LOCALSEQNO, PROVENANCE_COLUMNS, PROVENANCE_TABLE, SOURCE_IDS_COLUMNS, SOURCE_IDS_TABLE, VLD_SPAN_TABLE, vldTableName } from '../engine/spec/ddl';
import { SpecTable } from '../engine/spec/spec-table';
import { ValidityContext } from '../engine/dbi/propagation';

/** The two target shapes the flat-writes rows fill and append to. */
export type TargetShape = 'adtemp' | 'pmthv';

/** One context of a filled target and the source table its stream reads. */
export interface FillContext {
  context: ValidityContext;
  sourceTable: string;
}

/** What a target shape is: its spec, its contexts (the first is the bench stream's own), rows per validity and validity length. */
export interface ShapeInfo {
  spec: SpecTable;
  contexts: FillContext[];
  /** Payload rows per validity. */
  rowsPerValidity: number;
  /** Length of each filled validity, seconds. */
  stepSeconds: number;
}

const ctx = (sitemask: number, subsite: number): ValidityContext => ({ sitemask, simmask: 1, subsite, task: 0, aggregateno: -1 });

/** Eight contexts per shape, interleaved in SEQNO as streams writing side by side leave them; the first is the one the bench's appends write. */
export function shapeInfo(shape: TargetShape): ShapeInfo {
  if (shape === 'adtemp') {
    const spec = loadRegime('adtemp').specs.get('GDcsAdTemp')!;
    const contexts: FillContext[] = [
      { context: ctx(32, 1), sourceTable: 'DBNS_SAB_Temp' },
      ...[2, 3, 4].map((s) => ({ context: ctx(32, s), sourceTable: `SAB_AD${s}_Temp` })),
      ...[1, 2, 4, 1].map((site, k) => ({ context: ctx(site, k === 3 ? 2 : 1), sourceTable: `SITE${site}_AD${k === 3 ? 2 : 1}_Temp` })),
    ];
    return { spec, contexts, rowsPerValidity: 1, stepSeconds: 60 };
  }
  const spec = loadRegime('pmthv').specs.get('GDcsPmtHv')!;
  const sites: [string, number][] = [['DBNS', 1], ['LANS', 2], ['FARS', 4]];
  const contexts: FillContext[] = [];
  for (const [name, site] of sites) for (const ad of site === 4 ? [1, 2] : [1, 2, 3]) contexts.push({ context: ctx(site, ad), sourceTable: `${name}_AD${ad}_HV_Vmon` });
  return { spec, contexts, rowsPerValidity: 192, stepSeconds: 600 };
}

/** UTC end of every filled context's history: the bench's fake sources start after it (2011-02-01 00:00 Asia/Shanghai). */
export const FILL_END = '2011-01-31 00:00:00';

/** Statements per chunk of SEQNOs (one INSERT … SELECT, one transaction, each). */
const CHUNK = 250_000;

/** What `fillTarget` wrote. */
export interface FillFigures {
  validities: number;
  payloadRows: number;
  /** Rows of the side tables (source ids + provenance). */
  sideRows: number;
  seconds: number;
}

/**
 * Fills a fresh DBI target (tables dropped and made as `scrape run` makes them) with `validities`
 * validities of `shape`, FAST and not through the scraper: each table by `INSERT … SELECT` over a
 * generated sequence of SEQNOs (MariaDB's SEQUENCE engine `seq_a_to_b`, a recursive CTE on
 * SQLite), in chunks of 250,000 SEQNOs, one transaction each. What it leaves is what the writer
 * leaves: Vld rows (contexts interleaved by SEQNO, each context contiguous validities of
 * `stepSeconds` ending at `FILL_END`, VERSIONDATE = TIMESTART, INSERTDATE a minute after
 * TIMEEND), payload rows (ROW_COUNTER 1..n), a `SCRAPE_SOURCE_IDS` and a `SCRAPE_PROVENANCE` row
 * per validity, `LOCALSEQNO` at the last SEQNO and the table's `SCRAPE_VLD_SPAN` row as the writer
 * keeps it (the longest validity, `stepSeconds`, up to the last SEQNO). The bench stream's own context's source ids
 * are 0 (its history predates the bench's fake source table, whose ids start at 1).
 */
export async function fillTarget(db: Knex, location: DatabaseLocation, shape: TargetShape, validities: number, log: (line: string) => void = () => undefined): Promise<FillFigures> {
  const info = shapeInfo(shape);
  const { spec, contexts } = info;
  const dialect = dialectOf(db);
  await prepareTargetTables(db, [spec], { create: true, drop: true, location });
  const K = contexts.length;
  const n = Math.max(K, Math.round(validities / K) * K);
  const perContext = n / K;
  const q = (name: string) => quoteIdentifier(name, dialect);
  const s = 'seq';
  const c = dialect === 'mysql' ? `((${s} - 1) % ${K})` : `((${s} - 1) % ${K})`;
  const i = dialect === 'mysql' ? `((${s} - 1) DIV ${K})` : `((${s} - 1) / ${K})`;
  const pick = (values: (number | string)[]) => `CASE ${c} ${values.map((v, k) => `WHEN ${k} THEN ${typeof v === 'number' ? v : `'${v}'`}`).join(' ')} END`;
  // seconds from FILL_END: validity i of a context ends (perContext - i - 1) steps before it
  const startOffset = `(-(${perContext} - ${i}) * ${info.stepSeconds})`;
  const endOffset = `(-(${perContext} - ${i} - 1) * ${info.stepSeconds})`;
  const time = (offsetSeconds: string) =>
    dialect === 'mysql' ? `(CAST('${FILL_END}' AS DATETIME) + INTERVAL ${offsetSeconds} SECOND)` : `datetime(${Date.parse(FILL_END.replace(' ', 'T') + 'Z') / 1000} + ${offsetSeconds}, 'unixepoch')`;
  const LOCAL = 8 * 3600; // Asia/Shanghai, the source-local times of the side tables
  const ownIds = `CASE WHEN ${c} = 0 THEN 0 ELSE ${i} * 6 + 6 END`;
  const sourceTable = pick(contexts.map((x) => x.sourceTable));
  const suppressed = JSON.stringify(Object.fromEntries([1, 2, 3, 4, 5].map((k) => [`DBNS_SAB_Temp_PT${k}`, { n: 5, maxdev: 0.4, min: 21.8, max: 22.6 }])));
  const vldSelect = [
    s,
    time(startOffset),
    time(endOffset),
    pick(contexts.map((x) => x.context.sitemask)),
    '1',
    pick(contexts.map((x) => x.context.subsite)),
    '0',
    '-1',
    time(startOffset),
    time(`(${endOffset} + 60)`),
  ];
  const sourceIdsSelect = [`'${spec.table}'`, s, sourceTable, ownIds, `CASE WHEN ${c} = 0 THEN 0 ELSE ${i} * 6 + 1 END`, ownIds, time(`(${startOffset} + ${LOCAL})`), time(`(${endOffset} + ${LOCAL})`)];
  const provenanceSelect = [
    `'${spec.table}'`, s, `'overage'`, 'NULL', sourceTable, `CASE WHEN ${c} = 0 THEN 0 ELSE ${i} * 6 + 1 END`, ownIds,
    time(`(${startOffset} + ${LOCAL})`), time(`(${endOffset} + ${LOCAL})`), '6', '6', `'${suppressed}'`, `'${'0'.repeat(64)}'`, `'0.1.0'`,
  ];
  const attrs = spec.columns.map((col) => col.name);
  let payloadSelect: string[];
  let payloadFrom: (a: number, b: number) => string;
  if (shape === 'adtemp') {
    // 25 temperatures and aggregates around 22 °C, the count of entries
    payloadSelect = [s, '1', ...attrs.map((a) => (a === 'count' ? '6' : `(22 + ((${s} * 7 + ${attrs.indexOf(a)}) % 100) / 100.0)`))];
    payloadFrom = (a, b) => sequence(dialect, a, b);
  } else {
    const r = 'rc';
    const row = (name: string) => {
      if (name === 'ladder') return dialect === 'mysql' ? `(1 + (${r} - 1) DIV 24)` : `(1 + (${r} - 1) / 24)`;
      if (name === 'col') return dialect === 'mysql' ? `(1 + ((${r} - 1) DIV 8) % 3)` : `(1 + ((${r} - 1) / 8) % 3)`;
      if (name === 'ring') return `(1 + (${r} - 1) % 8)`;
      if (name === 'voltage') return `(1500 + ((${s} + ${r}) % 50) / 10.0)`;
      return '1';
    };
    payloadSelect = [s, r, ...attrs.map(row)];
    payloadFrom = (a, b) =>
      dialect === 'mysql'
        ? `${sequence(dialect, a, b)} JOIN (SELECT seq AS ${r} FROM seq_1_to_${info.rowsPerValidity}) r`
        : `${sequence(dialect, a, b)} JOIN (WITH RECURSIVE rr(${r}) AS (SELECT 1 UNION ALL SELECT ${r} + 1 FROM rr WHERE ${r} < ${info.rowsPerValidity}) SELECT ${r} FROM rr) r`;
  }
  const vldCols = ['SEQNO', 'TIMESTART', 'TIMEEND', 'SITEMASK', 'SIMMASK', 'SUBSITE', 'TASK', 'AGGREGATENO', 'VERSIONDATE', 'INSERTDATE'];
  const inserts: [string, string[], string[], (a: number, b: number) => string][] = [
    [vldTableName(spec), vldCols, vldSelect, (a, b) => sequence(dialect, a, b)],
    [spec.table, ['SEQNO', 'ROW_COUNTER', ...attrs], payloadSelect, payloadFrom],
    [SOURCE_IDS_TABLE, [...SOURCE_IDS_COLUMNS], sourceIdsSelect, (a, b) => sequence(dialect, a, b)],
    [PROVENANCE_TABLE, [...PROVENANCE_COLUMNS], provenanceSelect, (a, b) => sequence(dialect, a, b)],
  ];
  const t0 = process.hrtime.bigint();
  for (let a = 1; a <= n; a += CHUNK) {
    const b = Math.min(n, a + CHUNK - 1);
    for (const [table, cols, select, from] of inserts) {
      await db.raw(`INSERT INTO ${q(table)} (${cols.map(q).join(', ')}) SELECT ${select.join(', ')} FROM ${from(a, b)}`);
    }
    log(`  ${shape} target: ${b} of ${n} validities`);
  }
  await db(LOCALSEQNO).where('TABLENAME', spec.table).delete();
  await db(LOCALSEQNO).insert({ TABLENAME: spec.table, LASTUSEDSEQNO: n });
  // every validity is stepSeconds long; the row was made (span 0, nothing covered) with the table
  const spanRows = await db(VLD_SPAN_TABLE).where('TABLENAME', spec.table).update({ MAX_SPAN_SECONDS: info.stepSeconds, SEQNO_COVERED: n });
  if (Number(spanRows) !== 1) throw new Error(`${VLD_SPAN_TABLE} has no row for ${spec.table}`);
  // the planner's statistics, as a production table of this size has them
  if (dialect === 'mysql') for (const t of [vldTableName(spec), spec.table, SOURCE_IDS_TABLE, PROVENANCE_TABLE]) await db.raw(`ANALYZE TABLE ${q(t)}`);
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  return { validities: n, payloadRows: n * info.rowsPerValidity, sideRows: 2 * n, seconds };
}

/** The SEQNOs a..b as a row source with one column `seq`. */
function sequence(dialect: SqlDialect, a: number, b: number): string {
  if (dialect === 'mysql') return `seq_${a}_to_${b}`;
  return `(WITH RECURSIVE q(seq) AS (SELECT ${a} UNION ALL SELECT seq + 1 FROM q WHERE seq < ${b}) SELECT seq FROM q) sq`;
}
