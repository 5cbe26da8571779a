import { TestDatabase } from '../support/databases';
import { createSourceTable, insertRows, localPlus } from '../support/source-fixture';

/** Local time of row 0 of the HV fixtures (row id at HV_START + 10 s × id). */
export const HV_START = '2011-02-01 00:00:00';

/** The 192 channel names of an AD HV table, in column order (ladder, then column, then ring). */
export const CHANNELS: string[] = [];
for (let l = 1; l <= 8; l++) for (let c = 1; c <= 3; c++) for (let r = 1; r <= 8; r++) CHANNELS.push(`L${l}C${c}R${r}`);

/** Voltage of channel number k (0-based, column order) at row id: 1200 + k/4, L2C2R2 +3 V from row `jumpAt` on. */
export function hvVoltage(k: number, id: number, jumpAt: number): number {
  return 1200 + k / 4 + (CHANNELS[k] === 'L2C2R2' && id >= jumpAt ? 3 : 0);
}

/** Power flag of channel number k at row id: L5C1R7 off from row `offAt` on. */
export function hvPower(k: number, id: number, offAt: number): number {
  return CHANNELS[k] === 'L5C1R7' && id >= offAt ? 0 : 1;
}

/**
 * `<base>_Vmon` and the power table `powerTable`: 60 rows every 10 s (`hvVoltage`, `hvPower`), so
 * both of pmthv's change rules fire.
 */
export async function hvTables(db: TestDatabase, base: string, powerTable: string, jumpAt: number, offAt: number): Promise<void> {
  await createSourceTable(db.db, `${base}_Vmon`, Object.fromEntries(CHANNELS.map((c) => [c, 'decimal(6,2)'])));
  await createSourceTable(db.db, powerTable, Object.fromEntries(CHANNELS.map((c) => [c, 'tinyint'])));
  const vmon = [];
  const pw = [];
  for (let id = 1; id <= 60; id++) {
    const date_time = localPlus(HV_START, id * 10);
    vmon.push({ id, date_time, ...Object.fromEntries(CHANNELS.map((c, k) => [c, hvVoltage(k, id, jumpAt).toFixed(2)])) });
    pw.push({ id, date_time, ...Object.fromEntries(CHANNELS.map((c, k) => [c, hvPower(k, id, offAt)])) });
  }
  await insertRows(db.db, `${base}_Vmon`, vmon);
  await insertRows(db.db, powerTable, pw);
}
