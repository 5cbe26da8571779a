import { naiveMs, naiveText } from '../../engine/core/time';
import type { SourceRow } from '../../engine/source/source-row';

export { prng } from '../support/source-fixture';
import { prng } from '../support/source-fixture';

/**
 * Random source rows in (date_time, id) order: steps of 0 (duplicate date_time) to ~2 heartbeats,
 * unique ids not monotone in time, a random walk `a` (sometimes as DECIMAL text), a column `b` with
 * NULLs and a quality flag `q`.
 */
export function randomRows(seed: number, count: number, start = '2011-02-01 00:00:00', heartbeatMs = 3000): SourceRow[] {
  const rnd = prng(seed);
  let t = naiveMs(start);
  let a = 20;
  const ids = Array.from({ length: count }, (_, i) => i + 1);
  for (let i = ids.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [ids[i], ids[j]] = [ids[j], ids[i]];
  }
  const rows: SourceRow[] = [];
  for (let i = 0; i < count; i++) {
    const r = rnd();
    t += r < 0.15 ? 0 : Math.round((heartbeatMs * (0.5 + rnd() * 1.5)) / 1000) * 1000;
    a += (rnd() - 0.5) * 0.8;
    const av = Math.round(a * 100) / 100;
    rows.push({
      id: ids[i],
      date_time: naiveText(t),
      a: rnd() < 0.5 ? av.toFixed(2) : av,
      b: rnd() < 0.1 ? null : Math.round(rnd() * 1000) / 10,
      q: rnd() < 0.2 ? 0 : 1,
    });
  }
  rows.sort((x, y) => (x.date_time < y.date_time ? -1 : x.date_time > y.date_time ? 1 : x.id - y.id));
  return rows;
}

/** Rows every `stepMs` from `start` + step (id n at start + n × step), as the faker writes them. */
export function regularRows(count: number, values: (id: number) => Record<string, unknown>, start = '2011-02-01 00:00:00', stepMs = 10_000): SourceRow[] {
  const t0 = naiveMs(start);
  return Array.from({ length: count }, (_, i) => ({ id: i + 1, date_time: naiveText(t0 + (i + 1) * stepMs), ...values(i + 1) }));
}
