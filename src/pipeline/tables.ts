/**
 * The derived tables (ARCHITECTURE §3), declared once: per table kind, every
 * column's name, type and null rule, in file order. Everything else is
 * generated from `TABLES`: the column builders the calculators write rows into
 * (`tableRows(kind)`: one growable typed array per stored column, named like
 * the column), and the Parquet column list of each output part (`cutRows`).
 *
 *   type    kept while rows accumulate      written as
 *   i64     Float64 (exact below 2^53)      BIGINT
 *   f64     Float64                         DOUBLE
 *   bool    Int8 0 / 1                      BOOLEAN
 *   str     string                          VARCHAR
 *   codes   Int8 index into `dict`          VARCHAR (the dictionary's name)
 *   const   not kept (one value per symbol) VARCHAR
 *
 *   nulls   'nan': NaN is written as NULL (f64, i64); 'negative': a value < 0 is
 *           NULL (bool, codes: -1 = unknown); 'never': written as stored.
 *
 * No in-file `symbol` column: the hive key `symbol=` of a part's path carries it
 * (README "Reading"). Every table ends with the slice columns (`SLICE_COLUMNS`).
 *
 * Pure: no IO, no clock. `cutRows` takes the first n rows out of the builders
 * (amortised O(rows) per part).
 */
import { GrowableF64, GrowableI8 } from '../core/growable.js';
import { FlowlabError, UsageError } from '../core/errors.js';
import type { OutColumn } from '../io/duck.js';
import { REGIME_NAMES, SCENARIO_NAMES, VOL_BUCKET_NAMES } from '../calc/slices.js';

export type DerivedKind = 'prices' | 'ofi' | 'cvd' | 'fusion' | 'events';
export const DERIVED_KINDS: readonly DerivedKind[] = ['prices', 'ofi', 'cvd', 'fusion', 'events'];

export type ColumnType = 'i64' | 'f64' | 'bool' | 'str' | 'codes' | 'const';
export type NullRule = 'never' | 'nan' | 'negative';
/** Dictionaries of `codes` columns; 'session' is per symbol (its config's session names). */
export type Dictionary = 'session' | 'regime' | 'vol_bucket' | 'scenario_2x2';

export interface ColumnSpec {
  readonly name: string;
  readonly type: ColumnType;
  readonly nulls: NullRule;
  /** codes columns: the dictionary of names. */
  readonly dict?: Dictionary;
}

/** The slice columns every derived table ends with (codes as in src/calc/slices.ts; -1 = null). */
export const SLICE_COLUMNS = [
  { name: 'session', type: 'codes', nulls: 'negative', dict: 'session' },
  { name: 'regime', type: 'codes', nulls: 'negative', dict: 'regime' },
  { name: 'vol_bucket', type: 'codes', nulls: 'negative', dict: 'vol_bucket' },
  { name: 'scenario_2x2', type: 'codes', nulls: 'negative', dict: 'scenario_2x2' },
  { name: 'fee_tier', type: 'const', nulls: 'never' },
] as const satisfies readonly ColumnSpec[];

const TS = { name: 'ts_ms', type: 'i64', nulls: 'never' } as const satisfies ColumnSpec;

/** The schema: every derived table's columns, in file order. */
export const TABLES = {
  prices: [
    TS,
    { name: 'event_ts_ms', type: 'i64', nulls: 'never' },
    { name: 'price', type: 'f64', nulls: 'never' },
    { name: 'qty', type: 'f64', nulls: 'never' },
    { name: 'agg_trade_id', type: 'i64', nulls: 'never' },
    { name: 'latency_ms', type: 'f64', nulls: 'nan' },
    { name: 'recv_rate_tps', type: 'f64', nulls: 'never' },
    ...SLICE_COLUMNS,
  ],
  ofi: [
    TS,
    { name: 'ofi_value', type: 'f64', nulls: 'nan' },
    { name: 'ofi_z', type: 'f64', nulls: 'nan' },
    { name: 'scale', type: 'f64', nulls: 'nan' },
    ...SLICE_COLUMNS,
  ],
  cvd: [
    TS,
    { name: 'cvd', type: 'f64', nulls: 'never' },
    { name: 'delta', type: 'f64', nulls: 'nan' },
    { name: 'z_raw', type: 'f64', nulls: 'nan' },
    { name: 'z_cvd', type: 'f64', nulls: 'nan' },
    { name: 'scale', type: 'f64', nulls: 'nan' },
    { name: 'sigma_floor', type: 'f64', nulls: 'nan' },
    { name: 'floor_used', type: 'bool', nulls: 'negative' },
    ...SLICE_COLUMNS,
  ],
  fusion: [
    TS,
    { name: 'score', type: 'f64', nulls: 'nan' },
    { name: 'score_z', type: 'f64', nulls: 'nan' },
    { name: 'z_ofi', type: 'f64', nulls: 'nan' },
    { name: 'z_cvd', type: 'f64', nulls: 'nan' },
    { name: 'w_ofi', type: 'f64', nulls: 'never' },
    { name: 'w_cvd', type: 'f64', nulls: 'never' },
    { name: 'cvd_dir', type: 'f64', nulls: 'never' },
    { name: 'gate', type: 'f64', nulls: 'never' },
    { name: 'mid', type: 'f64', nulls: 'nan' },
    { name: 'ofi_flow', type: 'f64', nulls: 'nan' },
    { name: 'cvd_flow', type: 'f64', nulls: 'nan' },
    { name: 'merge_time_diff_ms', type: 'f64', nulls: 'nan' },
    ...SLICE_COLUMNS,
  ],
  events: [
    TS,
    { name: 'event_type', type: 'str', nulls: 'never' },
    { name: 'meta_json', type: 'str', nulls: 'never' },
    ...SLICE_COLUMNS,
  ],
} as const satisfies Record<DerivedKind, readonly ColumnSpec[]>;

type Store<T extends ColumnType> = T extends 'i64' | 'f64'
  ? GrowableF64
  : T extends 'bool' | 'codes'
    ? GrowableI8
    : T extends 'str'
      ? string[]
      : never;

/** The column builders of table `K`: one per stored column, named like it. */
export type Columns<K extends DerivedKind> = {
  readonly [C in (typeof TABLES)[K][number] as C['type'] extends 'const' ? never : C['name']]: Store<C['type']>;
};

/** What every table's rows have besides their columns. */
export interface AnyTableRows {
  readonly kind: DerivedKind;
  /** Rows so far. */
  readonly length: number;
}

/** Rows of one derived table of one symbol, accumulating until `cutRows` hands them out. */
export type TableRows<K extends DerivedKind> = Columns<K> & AnyTableRows & { readonly kind: K };

/** Per-symbol values the written columns need besides the rows. */
export interface TableContext {
  /** Session names (index = session code). */
  readonly sessionNames: readonly string[];
  readonly fee_tier: string;
}

class Rows {
  constructor(readonly kind: DerivedKind) {
    const self = this as unknown as Record<string, unknown>;
    for (const c of TABLES[kind] as readonly ColumnSpec[]) {
      if (c.type === 'const') continue;
      self[c.name] =
        c.type === 'str' ? [] : c.type === 'bool' || c.type === 'codes' ? new GrowableI8() : new GrowableF64();
    }
  }
  /** Rows so far (the ts_ms column's). */
  get length(): number {
    return (this as unknown as { ts_ms: GrowableF64 }).ts_ms.length;
  }
}

/** Empty builders for table `kind`, generated from its schema. */
export function tableRows<K extends DerivedKind>(kind: K): TableRows<K> {
  return new Rows(kind) as unknown as TableRows<K>;
}

function dictionary(d: Dictionary | undefined, ctx: TableContext): readonly string[] {
  switch (d) {
    case 'session':
      return ctx.sessionNames;
    case 'regime':
      return REGIME_NAMES;
    case 'vol_bucket':
      return VOL_BUCKET_NAMES;
    case 'scenario_2x2':
      return SCENARIO_NAMES;
    default:
      throw new FlowlabError(`derived tables: a codes column has no dictionary (${String(d)})`);
  }
}

/**
 * The first `n` rows of `rows` as the Parquet columns of one part (in schema
 * order; `ts` = the ts_ms column, for date partitioning), removed from the
 * builders: copies, except when n is all of a builder's rows, whose own buffer
 * is then handed over (`Growable.takeFront`: no copy, and no dead buffer for
 * V8's external-memory accounting, which schedules its full GCs). Throws if a stored column is shorter than the table (a row
 * written without one of its columns).
 */
export function cutRows(rows: AnyTableRows, n: number, ctx: TableContext): { ts: Float64Array; columns: OutColumn[] } {
  const cols = rows as unknown as Record<string, GrowableF64 | GrowableI8 | string[]>;
  const columns: OutColumn[] = [];
  let ts: Float64Array | null = null;
  for (const c of TABLES[rows.kind] as readonly ColumnSpec[]) {
    if (c.type === 'const') {
      columns.push({ name: c.name, type: 'const', value: ctx.fee_tier });
      continue;
    }
    const g = cols[c.name];
    if (g.length < n)
      throw new FlowlabError(`derived table ${rows.kind}: column ${c.name} has ${g.length} rows, expected ${n}`);
    if (c.type === 'str') {
      const s = g as string[];
      columns.push({ name: c.name, type: 'str', data: s.slice(0, n) });
      s.splice(0, n);
      continue;
    }
    if (c.type === 'bool' || c.type === 'codes') {
      const data = (g as GrowableI8).takeFront(n);
      columns.push(
        c.type === 'bool'
          ? { name: c.name, type: 'bool', data }
          : { name: c.name, type: 'codes', codes: data, names: dictionary(c.dict, ctx) },
      );
      continue;
    }
    const data = (g as GrowableF64).takeFront(n);
    if (c.name === TS.name) ts = data;
    columns.push(
      c.nulls === 'nan' ? { name: c.name, type: c.type, data, nullNaN: true } : { name: c.name, type: c.type, data },
    );
  }
  return { ts: ts!, columns };
}

/**
 * The derived tables to write, checked and in canonical (DERIVED_KINDS) order,
 * duplicates removed; from a list (`--tables fusion,cvd`) or names. Throws a
 * UsageError naming the bad value and the allowed ones.
 */
export function checkTables(tables: string | readonly string[], where = '--tables'): DerivedKind[] {
  const parts = (typeof tables === 'string' ? tables.split(',') : [...tables]).map((t) => t.trim());
  const names = parts.filter((t) => t.length > 0);
  const allowed = DERIVED_KINDS.join(', ');
  const raw = typeof tables === 'string' ? tables : tables.join(',');
  if (names.length === 0) throw new UsageError(`${where}: '${raw}' names no table (expected some of ${allowed})`);
  for (const t of names) {
    if (!(DERIVED_KINDS as readonly string[]).includes(t))
      throw new UsageError(`${where}: '${t}' is not a derived table (expected some of ${allowed})`);
  }
  return DERIVED_KINDS.filter((k) => names.includes(k));
}
