/**
 * One source entry as the driver returns it: `id`, the naive local `date_time` text
 * (`YYYY-MM-DD HH:MM:SS`) and the other columns (joined ones carry their prefix, e.g.
 * `pw_L1C1R1`). Values may be numbers, numeric strings (MySQL DECIMAL) or NULL.
 */
export interface SourceRow {
  id: number;
  date_time: string;
  [column: string]: unknown;
}
