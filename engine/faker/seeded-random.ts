/**
 * Deterministic randomness for the faker: a value in [0, 1) that depends only on (seed, stream,
 * id, purpose), never on call order, so a rerun, an append or a resumed run draws exactly the
 * same numbers for the same row.
 */
export function seededUnit(seed: number, stream: number, id: number, purpose: number): number {
  let h = mix((seed | 0) ^ 0x9e3779b9);
  h = mix(h ^ stream);
  h = mix(h ^ (id >>> 0));
  h = mix(h ^ Math.floor(id / 4294967296));
  h = mix(h ^ purpose);
  return h / 4294967296;
}

/** A 32-bit hash of a name (FNV-1a), to key random draws by table and column. */
export function nameHash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

function mix(x: number): number {
  let h = x >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
