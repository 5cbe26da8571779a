import { Knex } from 'knex';
import { createSourceTable, localPlus, prng } from '../support/source-fixture';

/** The 18 lid sensor quantities in table order (manual's AD1_LidSensor dump). */
export const QUANTITIES = [
  'Ultrasonic_GdLS', 'Ultrasonic_LS', 'Temp_GdLS', 'Temp_LS',
  'Tiltx_Sensor1', 'Tilty_Sensor1', 'Tiltx_Sensor2', 'Tilty_Sensor2', 'Tiltx_Sensor3', 'Tilty_Sensor3',
  'Capacitance_GdLS', 'Capacitance_Temp_GdLS', 'Capacitance_LS', 'Capacitance_Temp_LS',
  'Capacitance_MO', 'Capacitance_Temp_MO', 'PS_Output_V', 'PS_Output_I',
] as const;

const INTEGER = new Set(['Ultrasonic_GdLS', 'Ultrasonic_LS', 'Capacitance_GdLS', 'Capacitance_LS', 'Capacitance_MO']);

/** Column types as in the manual's dump: int levels, decimal(6,2) readings, int SensorStatus. */
export const LID_COLUMNS: Record<string, string> = {
  ...Object.fromEntries(QUANTITIES.map((q) => [q, INTEGER.has(q) ? 'int' : 'decimal(6,2)'])),
  SensorStatus: 'int',
};

/** One generated row, values in `LID_ROW_COLUMNS` order: `[id, date_time, ...quantities, SensorStatus]`. */
export type LidRow = [number, string, ...(number | null)[]];

/** Column order of a LidRow. */
export const LID_ROW_COLUMNS = ['id', 'date_time', ...QUANTITIES, 'SensorStatus'];

/** The `date_time` of a generated row. */
export function timeOf(row: LidRow): string {
  return row[1];
}

/** What the generated month looks like, for the checks. */
export interface LidMonthShape {
  /** `[from, to)` local: no entries (three empty hours). */
  gap: [string, string];
  /** `[from, to)` local: every entry has a bad SensorStatus. */
  allBad: [string, string];
}

export const MONTH_SHAPE: LidMonthShape = {
  gap: ['2012-02-10 05:00:00', '2012-02-10 08:00:00'],
  allBad: ['2012-02-12 13:00:00', '2012-02-12 14:00:00'],
};

/**
 * Lid sensor rows about every 10 s from `start` for `seconds`: slow sines and random walks, some
 * NULL readings, ~2 % bad and ~0.5 % NULL SensorStatus, clock jitter (some repeated seconds, some
 * 11 s steps), a few neighbours whose ids run against time, six rows before timefloor (zero dates
 * and 1970) at the front, then the month's gap and all-bad hour from `shape`.
 */
export function lidRows(start: string, seconds: number, seed: number, shape?: LidMonthShape): LidRow[] {
  const rand = prng(seed);
  const rows: LidRow[] = [];
  let id = 0;
  const junk = ['0000-00-00 00:00:00', '0000-00-00 00:00:00', '0000-00-00 00:00:00', '0000-00-00 00:00:00', '0000-00-00 00:00:00', '1970-01-01 08:00:00'];
  const walk = { temp: 22.3, tempLs: 22.4, tilt: [-1.01, 0.27, -0.28, -0.42, -0.75, 1.24], cap: [255, 307, 311], amp: 0.82 };
  let t = 0;
  const r2 = (x: number) => Math.round(x * 100) / 100;
  const row = (date_time: string, status: number | null): LidRow => {
    const phase = (2 * Math.PI * t) / 86_400;
    return [
      ++id, date_time,
      Math.round(2277 + 3 * Math.sin(phase) + (rand() - 0.5) * 2),
      Math.round(2103 + 3 * Math.cos(phase) + (rand() - 0.5) * 2),
      walk.temp,
      rand() < 0.01 ? null : walk.tempLs,
      ...walk.tilt,
      walk.cap[0], r2(24.88 + 0.3 * Math.sin(phase)),
      walk.cap[1], r2(24.75 + 0.3 * Math.sin(phase + 1)),
      walk.cap[2], r2(23.0 + 0.2 * Math.sin(phase + 2)),
      18, walk.amp,
      status,
    ];
  };
  for (const date_time of junk) rows.push(row(date_time, null));
  const base = Date.parse(localPlus(start, 0).replace(' ', 'T') + 'Z');
  while (t < seconds) {
    const date_time = new Date(base + t * 1000).toISOString().slice(0, 19).replace('T', ' ');
    walk.temp = r2(walk.temp + (rand() - 0.5) * 0.02);
    walk.tempLs = r2(walk.tempLs + (rand() - 0.5) * 0.02);
    for (let k = 0; k < walk.tilt.length; k++) walk.tilt[k] = r2(walk.tilt[k] + (rand() - 0.5) * 0.01);
    for (let k = 0; k < walk.cap.length; k++) if (rand() < 0.05) walk.cap[k] += rand() < 0.5 ? -1 : 1;
    walk.amp = r2(walk.amp + (rand() - 0.5) * 0.01);
    const inGap = shape && date_time >= shape.gap[0] && date_time < shape.gap[1];
    if (!inGap) {
      const r = rand();
      let status: number | null = r < 0.02 ? 1 + Math.floor(rand() * 3) : r < 0.025 ? null : 0;
      if (shape && date_time >= shape.allBad[0] && date_time < shape.allBad[1]) status = 2;
      rows.push(row(date_time, status));
    }
    const r = rand();
    t += r < 0.02 ? 0 : r < 0.05 ? 11 : 10;
  }
  // Swap the date_times of a few neighbours: ids no longer follow time order there.
  for (let i = 50; i < rows.length - 1; i += 997) [rows[i][1], rows[i + 1][1]] = [rows[i + 1][1], rows[i][1]];
  return rows;
}

/** Creates `AD<n>_LidSensor` with the manual's column types and its (date_time, id) index. */
export async function createLidTable(db: Knex, name: string): Promise<void> {
  await createSourceTable(db, name, LID_COLUMNS);
}

/** Fast multi-row inserts (raw SQL, one transaction per 20 000 rows). */
export async function insertLidRows(db: Knex, table: string, rows: LidRow[]): Promise<void> {
  if (rows.length === 0) return;
  const sqlite = db.client.config.client === 'better-sqlite3';
  const q = (n: string) => (sqlite ? `"${n}"` : `\`${n}\``);
  const columns = LID_ROW_COLUMNS;
  const perInsert = sqlite ? 1000 : 2000;
  const head = `INSERT INTO ${q(table)} (${columns.map(q).join(', ')}) VALUES `;
  const tuple = `(${columns.map(() => '?').join(', ')})`;
  for (let from = 0; from < rows.length; from += 20_000) {
    const block = rows.slice(from, from + 20_000);
    await db.transaction(async (trx) => {
      for (let i = 0; i < block.length; i += perInsert) {
        const part = block.slice(i, i + perInsert);
        const values: unknown[] = [];
        for (const row of part) for (const v of row) values.push(v);
        await trx.raw(head + part.map(() => tuple).join(', '), values as Knex.RawBinding[]);
      }
    });
  }
}
