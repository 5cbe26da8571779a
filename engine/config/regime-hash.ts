import { createHash } from 'crypto';
import { Regime } from './regime';

/**
 * JSON of `value` with object keys sorted at every level (arrays keep their order, undefined
 * fields are left out): the same regime gives the same text whatever order its file wrote.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? 'null' : canonicalJson(v))).join(',')}]`;
  const o = value as Record<string, unknown>;
  const keys = Object.keys(o).filter((k) => o[k] !== undefined).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`).join(',')}}`;
}

/**
 * sha256 (hex) of the regime's canonical JSON, defaults and `--set` overrides applied: what every
 * provenance row names as the regime that wrote it. Comments and key order in the file do not
 * change it; any setting does.
 */
export function regimeHash(regime: Regime): string {
  return createHash('sha256').update(canonicalJson(regime)).digest('hex');
}
