import { Knex } from 'knex';
import { ScrapeError } from '../core/errors';
import { LOCALSEQNO, vldTableName } from '../spec/ddl';
import { SpecTable } from '../spec/spec-table';
import { SqlDialect, insertIgnoreVerb, onSqliteConnection, quoteIdentifier, sqliteStatement } from '../db/dialect';

/**
 * The statement that inserts a table's LOCALSEQNO row if missing (one binding: the table name),
 * continuing from the Vld table's largest SEQNO, so a counter lost or never made never hands out
 * a SEQNO already used.
 */
export function ensureCounterSql(spec: SpecTable, dialect: SqlDialect): string {
  const q = (name: string) => quoteIdentifier(name, dialect);
  return `${insertIgnoreVerb(dialect)} INTO ${q(LOCALSEQNO)} (${q('TABLENAME')}, ${q('LASTUSEDSEQNO')}) SELECT ?, COALESCE(MAX(${q('SEQNO')}), 0) FROM ${q(vldTableName(spec))}`;
}

/**
 * Reserves `count` consecutive SEQNOs for `spec`'s table under LOCALSEQNO's row lock (held until
 * the transaction ends, so concurrent writers never share a SEQNO); creates the counter row by
 * `ensureCounterSql` when it is missing.
 */
export async function allocateSeqnos(trx: Knex.Transaction, spec: SpecTable, dialect: SqlDialect, count: number): Promise<number[]> {
  const table = spec.table;
  const row = dialect === 'sqlite' ? await reserveSqlite(trx, spec, count) : await reserveMysql(trx, spec, count);
  const last = Number(row?.LASTUSEDSEQNO);
  if (!Number.isInteger(last) || last < count) throw new ScrapeError('DBI_SEQNO', `${LOCALSEQNO} holds a bad LASTUSEDSEQNO for ${table}: ${row?.LASTUSEDSEQNO}`);
  const seqnos = new Array<number>(count);
  for (let i = 0; i < count; i++) seqnos[i] = last - count + 1 + i;
  return seqnos;
}

/** MySQL: UPDATE first (InnoDB locks the row until commit), then read the counter. */
async function reserveMysql(trx: Knex.Transaction, spec: SpecTable, count: number): Promise<{ LASTUSEDSEQNO: unknown } | undefined> {
  const table = spec.table;
  let changed = await trx(LOCALSEQNO).where('TABLENAME', table).increment('LASTUSEDSEQNO', count);
  if (Number(changed) === 0) {
    await trx.raw(ensureCounterSql(spec, 'mysql'), [table]);
    changed = await trx(LOCALSEQNO).where('TABLENAME', table).increment('LASTUSEDSEQNO', count);
    if (Number(changed) === 0) throw new ScrapeError('DBI_SEQNO', `cannot allocate SEQNOs for ${table} in ${LOCALSEQNO}`);
  }
  return trx(LOCALSEQNO).where('TABLENAME', table).first('LASTUSEDSEQNO');
}

/**
 * SQLite: the same statements on the transaction's own connection, prepared once per connection
 * (a write is a handful of statements; knex building and preparing each cost more than running
 * it). UPDATE first: SQLite takes the write lock at once.
 */
function reserveSqlite(trx: Knex.Transaction, spec: SpecTable, count: number): Promise<{ LASTUSEDSEQNO: unknown } | undefined> {
  const table = spec.table;
  const q = (name: string) => quoteIdentifier(name, 'sqlite');
  const update = `UPDATE ${q(LOCALSEQNO)} SET ${q('LASTUSEDSEQNO')} = ${q('LASTUSEDSEQNO')} + ? WHERE ${q('TABLENAME')} = ?`;
  return onSqliteConnection(trx, (c) => {
    if (sqliteStatement(c, update).run([count, table]).changes === 0) {
      sqliteStatement(c, ensureCounterSql(spec, 'sqlite')).run([table]);
      if (sqliteStatement(c, update).run([count, table]).changes === 0) throw new ScrapeError('DBI_SEQNO', `cannot allocate SEQNOs for ${table} in ${LOCALSEQNO}`);
    }
    return sqliteStatement(c, `SELECT ${q('LASTUSEDSEQNO')} FROM ${q(LOCALSEQNO)} WHERE ${q('TABLENAME')} = ?`).get([table]);
  });
}
