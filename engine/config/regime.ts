/**
 * The shape of a regime after YAML parsing, schema validation and schema defaults.
 * `schemas/regime.schema.json` is the declaration (keys, defaults); these types mirror it for the
 * engine, and test/config/regime-type.test.ts fails (tsc or jest) when the two drift apart.
 */

/** Who writes a target: the scraper (`scrape run`) or the averager (`scrape average`). */
export type WriterRole = 'scrape' | 'average';

/** A source-local time `YYYY-MM-DD HH:MM:SS`. */
export type LocalTimeText = string;
/** A duration string `10s`, `1m`, `1h`, `1d`. */
export type DurationText = string;

/** Source columns: a regex source text, or exact names. */
export type ColumnSelector = string | string[];

/** Column name (with `{a..b}` ranges) to SQL type. */
export type ColumnTypes = Record<string, string>;

/** A source table or a family of them. */
export interface TableDecl {
  name?: string;
  pattern?: string;
  columns?: ColumnTypes;
  join?: JoinDecl[];
  /**
   * Older names of the matched table, oldest first, as templates over its captures
   * (`{site}_{detector}_HV` before `..._HV_Vmon`): one stream reads them, then the matched table,
   * as one history (docs/design.md §10.2).
   */
  succession?: string[];
}

/** A table joined on `id` to the main table of a stream. */
export interface JoinDecl {
  /**
   * Name template, `{capture}` replaced by the main table's captures; or candidate templates for a
   * family whose members spell the table differently (`HV_Pw` / `HVPw`): the one that exists is used.
   */
  table: string | string[];
  prefix: string;
  columns?: ColumnTypes;
}

/** A context column: constant or capture (optionally mapped). */
export type ContextValueDecl = number | { capture: string; map?: Record<string, number> };

export interface ContextDecl {
  sitemask: ContextValueDecl;
  subsite: ContextValueDecl;
  simmask: number;
  task: number;
  aggregateno: number;
}

export interface UnpivotDecl {
  pattern: string;
  /** Cell field -> column-name template (`{column}`, `{capture}`). */
  values: Record<string, string>;
}

export interface ChangeRuleDecl {
  columns?: ColumnSelector;
  threshold?: number;
  equal?: true;
  when?: string;
  null_is_change: boolean;
}

export type FilterOp = '=' | '!=' | '<' | '<=' | '>' | '>=' | 'in' | 'not in' | 'is null' | 'is not null';

export interface FilterCondition {
  column: string;
  op: FilterOp;
  value?: number | string | boolean | Array<number | string>;
}

export type AggregateFunction =
  | 'avg' | 'min' | 'max' | 'std' | 'stddev_samp' | 'variance' | 'var_samp'
  | 'sum' | 'count' | 'first' | 'last' | 'twavg';

export interface AggregateDecl {
  functions: AggregateFunction[];
  count: string;
  skips: string[];
  filter: FilterCondition[];
  none: number | null;
}

/** Scraper settings; every key can be overridden with `--set key=value`. */
export interface ScraperSettings {
  interval: DurationText;
  sleep: DurationText;
  heartbeat: DurationText;
  offset: number;
  maxage: DurationText;
  threshold: number;
  maxiter: number;
  timefloor: LocalTimeText;
  seed_target_tables: boolean;
  seed_timestart: LocalTimeText;
  seed_timeend: LocalTimeText;
  tunesleepmod: number;
  page_size: number;
  join_wait: DurationText;
  /** Entries dated more than this ahead of the wall clock are quarantined until it reaches them (scraper and averager). */
  future_limit: DurationText;
  /** TASK the scraper writes; absent: `context.task` (see `regimeForRole`). */
  task?: number;
}

export interface AveragerSettings {
  bin: DurationText;
  chunk: DurationText;
  sleep: DurationText;
  /** TASK the averager writes; absent: `context.task` (see `regimeForRole`). */
  task?: number;
}

export type FakerProfile = 'modulo_ramp' | 'constant' | 'ramp' | 'sine' | 'random_walk' | 'step' | 'drift';

/**
 * A `faker.columns` rule. value/amplitude/period/step always hold a value: the schema defaults are
 * filled in at load, and a column no rule matches gets defaultFakerColumn() (config/regime-defaults);
 * code building a rule by hand fills it with withSchemaDefaults('/definitions/fakerColumn', …).
 */
export interface FakerColumnDecl {
  profile?: FakerProfile;
  expr?: string;
  value: number;
  amplitude: number;
  period: number;
  step: number;
  null_rate?: number;
}

export interface FakerSettings {
  source?: string;
  interval: DurationText;
  timestart?: LocalTimeText;
  dropsrc: boolean;
  dump?: string;
  tables?: string[];
  profile: FakerProfile;
  columns?: Record<string, FakerColumnDecl>;
  null_rate: number;
  quality?: { column: string; good: number; bad: number; rate: number };
  seed: number;
}

export interface TargetDecl {
  /** Class name of the target, `spec/<spec>.spec`. */
  spec: string;
  /** Target attribute -> JSONata expression. */
  map: Record<string, string>;
}

/** A validated regime with schema defaults applied. */
export interface Regime {
  name: string;
  description?: string;
  source: string;
  target: string;
  timezone: string;
  tables: TableDecl[];
  context: ContextDecl;
  unpivot?: UnpivotDecl;
  changes: ChangeRuleDecl[];
  aggregate?: AggregateDecl;
  scraper: ScraperSettings;
  averager: AveragerSettings;
  faker: FakerSettings;
  targets: TargetDecl[];
}
