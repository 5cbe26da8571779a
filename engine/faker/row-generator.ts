import jsonata from 'jsonata';
import { ScrapeError } from '../core/errors';
import { FakerColumnDecl, FakerProfile, Regime } from '../config/regime';
import { defaultFakerColumn } from '../config/regime-defaults';
import { nameHash, seededUnit } from './seeded-random';
import { RawConnection, SqlDialect, quoteIdentifier, quoteString } from '../db/dialect';

/** A column of a table being faked: its name in the table, its key in stream rows, its SQL type. */
export interface GeneratorColumn {
  name: string;
  /** Join prefix + name: what `faker.columns` regexes and `$column` see. */
  key: string;
  type: string;
}

type Kind = 'integer' | 'decimal' | 'real' | 'text' | 'datetime';

interface CompiledColumn {
  name: string;
  key: string;
  kind: Kind;
  scale?: number;
  profile: FakerProfile | 'expr' | 'quality';
  value: number;
  amplitude: number;
  period: number;
  step: number;
  expr?: jsonata.Expression;
  nullRate: number;
  quality?: { good: number; bad: number; rate: number };
  hash: number;
  /** random_walk: the value at the last id generated. */
  walk: number;
}

const PURPOSE_WALK = 1;
const PURPOSE_NULL = 2;
const PURPOSE_QUALITY = 3;
const PURPOSE_NOISE = 4;
const PURPOSE_LEVEL = 5;
const PURPOSE_DRIFT = 6;

function kindOf(type: string): { kind: Kind; scale?: number } {
  const t = type.toLowerCase();
  const dec = /^(?:decimal|numeric)\s*\(\s*\d+\s*,\s*(\d+)\s*\)/.exec(t);
  if (dec) return { kind: 'decimal', scale: Number(dec[1]) };
  if (/^(tinyint|smallint|mediumint|int|integer|bigint|bit|year)\b/.test(t)) return { kind: 'integer' };
  if (/^(float|double|real|decimal|numeric)\b/.test(t)) return { kind: 'real' };
  if (/^(datetime|timestamp)\b/.test(t)) return { kind: 'datetime' };
  return { kind: 'text' };
}

/**
 * The `drift` profile at row `id` of a column (`hash` keys its draws): a sensor's reading, from
 * seeded draws of the id alone (no state, so reruns and appends give the same rows). The rows are
 * cut into segments of `period` rows (shifted per column, so columns step at different rows);
 * the value is `value`
 * - plus a level of 0 or `amplitude` drawn per segment: a step of `amplitude` where two segments
 *   differ (about every other segment boundary);
 * - plus a drift, linear between points drawn within ±`amplitude`/2 at the segment boundaries;
 * - plus noise drawn within ±`step` for each row.
 */
export function driftValue(seed: number, hash: number, id: number, c: { value: number; amplitude: number; period: number; step: number }): number {
  const period = Math.max(1, Math.floor(c.period));
  const shifted = id + (hash % period);
  const k = Math.floor(shifted / period);
  const frac = (shifted - k * period) / period;
  const level = seededUnit(seed, hash, k, PURPOSE_LEVEL) < 0.5 ? 0 : c.amplitude;
  const point = (j: number) => (c.amplitude / 2) * (2 * seededUnit(seed, hash, j, PURPOSE_DRIFT) - 1);
  const drift = point(k) + (point(k + 1) - point(k)) * frac;
  const noise = c.step * (2 * seededUnit(seed, hash, id, PURPOSE_NOISE) - 1);
  return c.value + level + drift + noise;
}

/** Compiles `faker.columns` keys once: regexes over column keys, first match wins. */
export function compileColumnRules(regime: Regime): { re: RegExp; decl: FakerColumnDecl }[] {
  return Object.entries(regime.faker.columns ?? {}).map(([source, decl]) => {
    try {
      return { re: new RegExp(source), decl };
    } catch (cause) {
      throw new ScrapeError('FAKER_COLUMNS', `faker.columns key '${source}' is not a regular expression`, { cause });
    }
  });
}

/**
 * Makes the values of one fake table, row by row, as SQL literal tuples `(id,'dt',v1,…)`.
 * Each column follows its profile (`faker.columns`, first matching regex, else `faker.profile`):
 * `modulo_ramp` id mod 10, `constant`, `ramp`, `sine`, `step`, `random_walk` (seeded, resumable
 * from the table's last row), `drift` (a sensor: slow drift, occasional steps, noise; see
 * `driftValue`), or a JSONata `expr` with `$id`, `$dt`, `$column`, `$table`. NULL
 * and quality-flag injection draw from a PRNG keyed by (seed, table, column, id) so reruns and
 * appends give identical rows. Values are rounded to the column's type as the database stores
 * them, so what a resumed walk reads back equals what it had in memory.
 */
export class RowGenerator {
  private readonly columns: CompiledColumn[];
  private readonly seed: number;
  private readonly hasExpr: boolean;
  private readonly hasWalk: boolean;

  constructor(
    readonly table: string,
    columns: GeneratorColumn[],
    regime: Regime,
    private readonly dialect: SqlDialect,
    rules = compileColumnRules(regime),
  ) {
    const faker = regime.faker;
    this.seed = faker.seed;
    const quality = faker.quality;
    const unmatched = defaultFakerColumn();
    this.columns = columns.map((c) => {
      const { kind, scale } = kindOf(c.type);
      const decl = rules.find((r) => r.re.test(c.key))?.decl ?? unmatched;
      const isQuality = quality !== undefined && (quality.column === c.key || quality.column === c.name);
      const profile: CompiledColumn['profile'] = isQuality ? 'quality' : decl.expr !== undefined ? 'expr' : decl.profile ?? faker.profile;
      let expr: jsonata.Expression | undefined;
      if (profile === 'expr') {
        try {
          expr = jsonata(decl.expr!);
        } catch (cause) {
          throw new ScrapeError('FAKER_EXPR', `faker expression for ${c.key}: ${(cause as Error).message}`, { cause });
        }
      }
      const value = decl.value;
      return {
        name: c.name,
        key: c.key,
        kind,
        scale,
        profile,
        value,
        amplitude: decl.amplitude,
        period: Math.max(1, decl.period),
        step: decl.step,
        expr,
        nullRate: isQuality ? 0 : decl.null_rate ?? faker.null_rate,
        quality: isQuality ? { good: quality!.good, bad: quality!.bad, rate: quality!.rate } : undefined,
        hash: nameHash(`${table}.${c.name}`),
        walk: value,
      };
    });
    this.hasExpr = this.columns.some((c) => c.profile === 'expr');
    this.hasWalk = this.columns.some((c) => c.profile === 'random_walk');
  }

  /** Column names in the order of the generated tuples (after `id`, `date_time`). */
  columnNames(): string[] {
    return this.columns.map((c) => c.name);
  }

  /** `INSERT INTO t (id, date_time, …) VALUES ` for this table. */
  insertHead(): string {
    const q = (n: string) => quoteIdentifier(n, this.dialect);
    return `INSERT INTO ${q(this.table)} (${['id', 'date_time', ...this.columnNames()].map(q).join(', ')}) VALUES `;
  }

  /**
   * Sets the random walks from the table's rows up to `lastId` (the last id written): the value
   * stored there, or the last stored value replayed forward over NULL-injected rows.
   */
  async resume(conn: RawConnection, lastId: number): Promise<void> {
    for (const c of this.columns) {
      if (c.profile !== 'random_walk') continue;
      c.walk = c.value;
      if (lastId <= 0) continue;
      const col = quoteIdentifier(c.name, this.dialect);
      const rows = await conn.query(
        `SELECT id, ${col} AS v FROM ${quoteIdentifier(this.table, this.dialect)} WHERE id <= ${Math.floor(lastId)} AND ${col} IS NOT NULL ORDER BY id DESC LIMIT 1`,
      );
      let from = 0;
      if (rows.length) {
        from = Number(rows[0].id);
        c.walk = this.round(c, Number(rows[0].v));
      }
      for (let id = from + 1; id <= lastId; id++) this.walkStep(c, id);
    }
  }

  private round(c: CompiledColumn, v: number): number {
    if (c.kind === 'decimal') return Number(v.toFixed(c.scale));
    if (c.kind === 'integer') return Math.round(v);
    return v;
  }

  private walkStep(c: CompiledColumn, id: number): number {
    const u = seededUnit(this.seed, c.hash, id, PURPOSE_WALK);
    c.walk = this.round(c, c.walk + (u < 0.5 ? -c.step : c.step));
    return c.walk;
  }

  private number(c: CompiledColumn, id: number): number {
    switch (c.profile) {
      case 'constant':
        return c.value;
      case 'ramp':
        return c.value + c.step * id;
      case 'sine':
        return c.value + c.amplitude * Math.sin((2 * Math.PI * id) / c.period);
      case 'step':
        return c.value + c.amplitude * Math.floor(id / c.period);
      case 'random_walk':
        return this.walkStep(c, id);
      case 'drift':
        return driftValue(this.seed, c.hash, id, c);
      case 'quality':
        return seededUnit(this.seed, c.hash, id, PURPOSE_QUALITY) < c.quality!.rate ? c.quality!.bad : c.quality!.good;
      default:
        return id % 10;
    }
  }

  private literal(c: CompiledColumn, v: unknown, dt: string): string {
    if (v === null || v === undefined) return 'NULL';
    if (typeof v === 'boolean') v = v ? 1 : 0;
    if (typeof v === 'number') {
      if (!Number.isFinite(v)) return 'NULL';
      switch (c.kind) {
        case 'decimal':
          return v.toFixed(c.scale);
        case 'integer':
          return String(Math.round(v));
        case 'real':
          return String(v);
        case 'datetime':
          return quoteString(dt, this.dialect);
        default:
          return quoteString(String(v), this.dialect);
      }
    }
    if (typeof v === 'string') return quoteString(v, this.dialect);
    return quoteString(JSON.stringify(v), this.dialect);
  }

  /** The values of row `id` (JS values, NULLs injected): for checks and single-row use. */
  async values(id: number, dt: string): Promise<unknown[]> {
    const out: unknown[] = [];
    for (const c of this.columns) {
      let v: unknown;
      if (c.profile === 'expr') v = await c.expr!.evaluate({}, { id, dt, column: c.key, table: this.table });
      else v = this.number(c, id);
      if (c.nullRate > 0 && seededUnit(this.seed, c.hash, id, PURPOSE_NULL) < c.nullRate) v = null;
      out.push(v);
    }
    return out;
  }

  /** SQL tuples for ids `firstId … firstId+n-1`, `dtAt(k)` the date_time of the k-th; ids must come in increasing order across calls. */
  async tuples(firstId: number, n: number, dtAt: (k: number) => string): Promise<string[]> {
    const out = new Array<string>(n);
    const cols = this.columns;
    const fast = !this.hasExpr;
    for (let k = 0; k < n; k++) {
      const id = firstId + k;
      const dt = dtAt(k);
      let row = `(${id},'${dt}'`;
      if (fast) {
        for (let j = 0; j < cols.length; j++) {
          const c = cols[j];
          let v: number | null = this.number(c, id);
          if (c.nullRate > 0 && seededUnit(this.seed, c.hash, id, PURPOSE_NULL) < c.nullRate) v = null;
          row += ',' + this.literal(c, v, dt);
        }
      } else {
        const values = await this.values(id, dt);
        for (let j = 0; j < cols.length; j++) row += ',' + this.literal(cols[j], values[j], dt);
      }
      out[k] = row + ')';
    }
    return out;
  }

  /** True when a profile needs the table's last rows (random walks). */
  needsResume(): boolean {
    return this.hasWalk;
  }
}
