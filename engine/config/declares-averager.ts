import * as fs from 'fs';
import { parseDocument } from 'yaml';

/**
 * True when a regime file declares an `averager` section itself (every loaded regime has the
 * averager's defaults, so the loaded regime cannot say): `scrape average ALL` runs exactly these.
 */
export function declaresAverager(file: string): boolean {
  return parseDocument(fs.readFileSync(file, 'utf8')).hasIn(['averager']);
}
