/**
 * Every value a DBI mask column (SITEMASK, SIMMASK: tinyint, −128..127) can hold that shares a bit
 * with `bits`, two's complement as MySQL and SQLite compute `&`. `SITEMASK IN (these)` selects
 * what `SITEMASK & bits <> 0` selects, in a form the indexes that start with SITEMASK serve
 * (a bitwise expression would make every read and overlay query a full scan).
 */
export function tinyintMasksSharing(bits: number): number[] {
  const values: number[] = [];
  for (let v = -128; v <= 127; v++) if ((v & bits) !== 0) values.push(v);
  return values;
}

/** DBI's mask test: a validity's SITEMASK or SIMMASK serves a context when they share a bit. */
export function masksShare(a: number, b: number): boolean {
  return (a & b) !== 0;
}

/** One of the bits 1..64 a DBI Site or SimFlag is (what a positive tinyint mask can hold). */
export function isSingleMaskBit(value: number): boolean {
  return Number.isInteger(value) && value >= 1 && value <= 64 && (value & (value - 1)) === 0;
}
