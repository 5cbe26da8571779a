import { Knex } from 'knex';

/** Creates a DCS-like source table: `id` primary key, `date_time` datetime, then `columns` (name → SQL type). */
export async function createSourceTable(db: Knex, name: string, columns: Record<string, string>): Promise<void> {
  const sqlite = db.client.config.client === 'better-sqlite3';
  const q = (n: string) => (sqlite ? `"${n}"` : `\`${n}\``);
  const cols = Object.entries(columns).map(([c, t]) => `${q(c)} ${t}`);
  const id = sqlite ? `${q('id')} INTEGER PRIMARY KEY` : `${q('id')} int unsigned NOT NULL AUTO_INCREMENT PRIMARY KEY`;
  await db.raw(`CREATE TABLE ${q(name)} (${[id, `${q('date_time')} datetime NOT NULL`, ...cols].join(', ')})`);
  await db.raw(`CREATE INDEX ${q(`${name}_dt`)} ON ${q(name)} (${q('date_time')}, ${q('id')})`);
}

/**
 * Inserts rows in multi-row batches. Column names are quoted here, not by knex's builder, which
 * would read a DCS name with dots (`DBNS_AD_HV.Slot0.I0`) as table `DBNS_AD_HV`, column `Slot0`...
 */
export async function insertRows(db: Knex, name: string, rows: Record<string, unknown>[]): Promise<void> {
  if (rows.length === 0) return;
  const sqlite = db.client.config.client === 'better-sqlite3';
  const q = (n: string) => (sqlite ? `"${n}"` : `\`${n}\``);
  const columns = Object.keys(rows[0]);
  const chunk = Math.max(1, Math.min(500, Math.floor(30000 / columns.length)));
  const tuple = `(${columns.map(() => '?').join(', ')})`;
  for (let i = 0; i < rows.length; i += chunk) {
    const part = rows.slice(i, i + chunk);
    const values = part.flatMap((r) => columns.map((c) => (r[c] === undefined ? null : r[c]))) as Knex.RawBinding[];
    await db.raw(`INSERT INTO ${q(name)} (${columns.map(q).join(', ')}) VALUES ${part.map(() => tuple).join(', ')}`, values);
  }
}

/** Local time text `2011-02-01 00:00:00` plus `seconds`. */
export function localPlus(start: string, seconds: number): string {
  const d = new Date(Date.parse(start.replace(' ', 'T') + 'Z') + seconds * 1000);
  return d.toISOString().slice(0, 19).replace('T', ' ');
}

/** A small deterministic PRNG (mulberry32) so fixtures are reproducible. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
