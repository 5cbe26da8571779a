import type { AggregateFunction } from '../../engine/config/regime';
import type { SourceRow } from '../../engine/source/source-row';

function num(v: unknown): number | null {
  if (v === null || v === undefined) return null;
  const x = typeof v === 'number' ? v : Number(v);
  return Number.isNaN(x) ? null : x;
}

/**
 * Straightforward two-pass aggregates (the test's independent computation): `rows` are already the
 * ones in range and passing the filter; MySQL semantics for NULLs; `count` under `countKey`.
 */
export function referenceAggregates(rows: SourceRow[], columns: string[], fns: AggregateFunction[], countKey = 'count', none: number | null = null): Record<string, number | null> {
  const out: Record<string, number | null> = {};
  for (const c of columns) {
    const xs = rows.map((r) => num(r[c])).filter((x): x is number => x !== null);
    const n = xs.length;
    const sum = xs.reduce((s, x) => s + x, 0);
    const mean = n ? sum / n : NaN;
    const ss = xs.reduce((s, x) => s + (x - mean) * (x - mean), 0);
    for (const f of fns) {
      const key = `${c}_${f}`;
      if (rows.length === 0) {
        out[key] = none;
        continue;
      }
      if (f === 'count') {
        out[key] = n;
        continue;
      }
      if (n === 0) {
        out[key] = null;
        continue;
      }
      switch (f) {
        case 'avg': out[key] = mean; break;
        case 'sum': out[key] = sum; break;
        case 'min': out[key] = Math.min(...xs); break;
        case 'max': out[key] = Math.max(...xs); break;
        case 'std': out[key] = Math.sqrt(ss / n); break;
        case 'variance': out[key] = ss / n; break;
        case 'stddev_samp': out[key] = n < 2 ? null : Math.sqrt(ss / (n - 1)); break;
        case 'var_samp': out[key] = n < 2 ? null : ss / (n - 1); break;
        case 'first': out[key] = xs[0]; break;
        case 'last': out[key] = xs[n - 1]; break;
        default: throw new Error(`reference has no ${f}`);
      }
    }
  }
  out[countKey] = rows.length;
  return out;
}

/** Expects two aggregate records to agree: same keys, nulls equal, numbers within 1e-9 relative. */
export function expectClose(actual: Record<string, number | null> | undefined, expected: Record<string, number | null>, what = ''): void {
  if (!actual) throw new Error(`${what}: no aggregates`);
  expect(Object.keys(actual).sort()).toEqual(Object.keys(expected).sort());
  for (const k of Object.keys(expected)) {
    const a = actual[k];
    const e = expected[k];
    if (e === null || a === null) {
      if (a !== e) throw new Error(`${what} ${k}: got ${a}, expected ${e}`);
      continue;
    }
    const tol = 1e-9 * Math.max(1, Math.abs(e));
    if (!(Math.abs(a - e) <= tol)) throw new Error(`${what} ${k}: got ${a}, expected ${e}`);
  }
}
