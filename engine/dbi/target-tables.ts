import { Knex } from 'knex';
import { DatabaseLocation } from '../config/dbconf';
import { locationLabel } from '../db/open-database';
import { ScrapeError } from '../core/errors';
import { SpecTable } from '../spec/spec-table';
import { LOCALSEQNO, PROVENANCE_TABLE, SOURCE_IDS_TABLE, VLD_SPAN_TABLE, vldSpanStatements, provenanceStatements, checkSpecTables, sourceIdsStatements, createTableStatements, dropTableStatements, localSeqnoStatements, vldTableName } from '../spec/ddl';
import { SqlDialect, dialectOf } from '../db/dialect';
import { databaseError } from '../db/database-error';
import { checkSpecTypes } from '../spec/spec-type-problems';
import { startVldSpanStatements } from './vld-span';

/** What the operator allowed for the target tables. */
export interface PrepareTargetOptions {
  /** `--allow-drop-create-table`: missing tables may be created. */
  create: boolean;
  /** `--drop-target-tables`: drop and recreate the tables (needs `create`). */
  drop: boolean;
  /** Where the target lives: production targets are never created or dropped. */
  location: DatabaseLocation;
}

/** What `prepareTargetTables` did. */
export interface PrepareTargetReport {
  created: string[];
  dropped: string[];
  /**
   * The target has no `SCRAPE_SOURCE_IDS` and creating it was not allowed: validities are
   * written without their source ids (late rows of them cannot be detected). Never an error.
   */
  sourceIdsMissing?: boolean;
  /** The target has no `SCRAPE_PROVENANCE` and creating it was not allowed: validities are written without it. */
  provenanceMissing?: boolean;
  /** The target has no `SCRAPE_VLD_SPAN` and creating it was not allowed: `scrape query --at` reads without it. */
  vldSpanMissing?: boolean;
}


/**
 * Makes sure the DBI tables of `specs` (payload, Vld, the shared LOCALSEQNO, SCRAPE_SOURCE_IDS, SCRAPE_PROVENANCE and
 * SCRAPE_VLD_SPAN, with a row for each Vld table it creates) exist before a
 * scraper writes. Tables are created only when the operator allowed it (`create`) or the target
 * is an embedded SQLite file; `drop` drops and recreates them. Production targets are never
 * created or dropped. A missing table without permission is an error naming the flag. Existing
 * payload tables must hold every spec attribute. Running it twice changes nothing. Refusals
 * (production target, reserved table names: `SPEC_TABLE_RESERVED`, column types the databases
 * refuse: `SPEC_TYPE`) come before any statement; a table the server refuses anyway (InnoDB's
 * row size) is `SPEC_TYPE` too.
 */
export async function prepareTargetTables(db: Knex, specs: SpecTable[], opts: PrepareTargetOptions): Promise<PrepareTargetReport> {
  // every refusal comes before the first statement: nothing is created, dropped or read first
  checkSpecTables(specs);
  checkSpecTypes(specs);
  const dialect = dialectOf(db);
  const where = locationLabel(opts.location);
  if (opts.drop && !opts.create) {
    throw new ScrapeError('TARGET_DROP_NEEDS_CREATE', '--drop-target-tables requires --allow-drop-create-table');
  }
  if (opts.location.production && (opts.create || opts.drop)) {
    throw new ScrapeError(
      'TARGET_PRODUCTION',
      `refusing to ${opts.drop ? 'drop and recreate' : 'create'} tables in production target ${where}: tables there are made by the DBI administrators`,
      { hint: 'leave out --allow-drop-create-table / --drop-target-tables, and ask the DBI administrators to create the tables' },
    );
  }
  const mayCreate = !opts.location.production && (opts.create || dialect === 'sqlite');
  const report: PrepareTargetReport = { created: [], dropped: [] };

  if (opts.drop) {
    for (const spec of specs) {
      for (const statement of dropTableStatements(spec, dialect)) await db.raw(statement);
      report.dropped.push(spec.table, vldTableName(spec));
      if (await db.schema.hasTable(LOCALSEQNO)) await db(LOCALSEQNO).where('TABLENAME', spec.table).delete();
      if (await db.schema.hasTable(SOURCE_IDS_TABLE)) await db(SOURCE_IDS_TABLE).where('TABLENAME', spec.table).delete();
      if (await db.schema.hasTable(PROVENANCE_TABLE)) await db(PROVENANCE_TABLE).where('TABLENAME', spec.table).delete();
      if (await db.schema.hasTable(VLD_SPAN_TABLE)) await db(VLD_SPAN_TABLE).where('TABLENAME', spec.table).delete();
    }
  }

  const missingMessage = (name: string) =>
    opts.location.production
      ? `target ${where} has no table ${name}; production tables are never created by scrape`
      : `target ${where} has no table ${name}; rerun with --allow-drop-create-table to create it`;

  const missingHint = opts.location.production
    ? 'ask the DBI administrators to create the tables, or check --target'
    : 'check --target, or add --allow-drop-create-table to create the tables';
  if (!(await db.schema.hasTable(LOCALSEQNO))) {
    if (!mayCreate) throw new ScrapeError('TARGET_TABLE_MISSING', missingMessage(LOCALSEQNO), { hint: missingHint });
    for (const statement of localSeqnoStatements(dialect)) await db.raw(statement);
    report.created.push(LOCALSEQNO);
  }
  // the source ids of written validities (late rows): created when allowed; an older target
  // without it is still written, without them (the writer finds out once and says so)
  if (!(await db.schema.hasTable(SOURCE_IDS_TABLE))) {
    if (mayCreate) {
      for (const statement of sourceIdsStatements(dialect)) await db.raw(statement);
      report.created.push(SOURCE_IDS_TABLE);
    } else {
      report.sourceIdsMissing = true;
    }
  }
  // why each validity was written (provenance): the same rule
  if (!(await db.schema.hasTable(PROVENANCE_TABLE))) {
    if (mayCreate) {
      for (const statement of provenanceStatements(dialect)) await db.raw(statement);
      report.created.push(PROVENANCE_TABLE);
    } else {
      report.provenanceMissing = true;
    }
  }
  // the longest validity of each Vld table (fast reads in the middle of a long history): the same rule
  let vldSpan = await db.schema.hasTable(VLD_SPAN_TABLE);
  if (!vldSpan) {
    if (mayCreate) {
      for (const statement of vldSpanStatements(dialect)) await db.raw(statement);
      report.created.push(VLD_SPAN_TABLE);
      vldSpan = true;
    } else {
      report.vldSpanMissing = true;
    }
  }
  for (const spec of specs) {
    const names = [spec.table, vldTableName(spec)];
    const missing: string[] = [];
    for (const name of names) if (!(await db.schema.hasTable(name))) missing.push(name);
    if (missing.length > 0) {
      if (!mayCreate) throw new ScrapeError('TARGET_TABLE_MISSING', missingMessage(missing.join(' and ')), { hint: missingHint });
      try {
        for (const statement of createTableStatements(spec, dialect)) await db.raw(statement);
      } catch (err) {
        const meaning = databaseError(err);
        if (meaning?.code !== 'SPEC_TYPE') throw err;
        throw new ScrapeError('SPEC_TYPE', `${where} refused table ${spec.table} of ${spec.file}: ${meaning.message}`, { hint: meaning.hint, cause: err });
      }
      report.created.push(...missing);
      // a Vld table made here starts empty: its span row says so (one made elsewhere gets none)
      if (vldSpan && missing.includes(vldTableName(spec))) for (const { sql, bindings } of startVldSpanStatements(spec, dialect)) await db.raw(sql, bindings as Knex.RawBinding[]);
    }
    const present = new Set(Object.keys(await db(spec.table).columnInfo()).map((c) => c.toLowerCase()));
    const absent = ['SEQNO', 'ROW_COUNTER', ...spec.columns.map((c) => c.name)].filter((c) => !present.has(c.toLowerCase()));
    if (absent.length > 0) {
      throw new ScrapeError(
        'TARGET_SCHEMA',
        `table ${spec.table} in ${where} lacks column(s) ${absent.join(', ')} of ${spec.file}; ` +
          'alter it, or recreate it with --allow-drop-create-table --drop-target-tables (this deletes its rows)',
      );
    }
  }
  return report;
}
