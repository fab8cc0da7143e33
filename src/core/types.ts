/**
 * Raw tick contracts (ARCHITECTURE §2).
 *
 * Units: every time is epoch milliseconds UTC held in a float64 (exact below
 * 2^53, i.e. for any date before year 287396). Ids (aggTrade id, book update
 * id) are held in float64 too; importers reject ids >= 2^53 instead of losing
 * precision. Parquet stores them as BIGINT.
 *
 * Batches are columnar: one typed array per column, all of the same length,
 * one symbol and one kind per batch. No per-row objects.
 */

export type Kind = 'trades' | 'quotes' | 'depth';
export const KINDS: readonly Kind[] = ['trades', 'quotes', 'depth'];

/** Rank used by the sequencer's tie-break `(ts_ms, kind rank, recv_seq)`: quotes first, then depth, then trades. */
export const KIND_RANK: Readonly<Record<Kind, number>> = { quotes: 0, depth: 1, trades: 2 };

/** Parquet column types, DuckDB spelling. */
export type ColType = 'BIGINT' | 'DOUBLE' | 'BOOLEAN' | 'VARCHAR' | 'DOUBLE[]';

export interface ColumnSpec {
  readonly name: string;
  readonly type: ColType;
  readonly nullable?: boolean;
}

export const TRADE_COLUMNS: readonly ColumnSpec[] = [
  { name: 'recv_ts_ms', type: 'BIGINT' },
  { name: 'recv_seq', type: 'BIGINT' },
  { name: 'ts_ms', type: 'BIGINT' },
  { name: 'event_ts_ms', type: 'BIGINT' },
  { name: 'symbol', type: 'VARCHAR' },
  { name: 'agg_trade_id', type: 'BIGINT' },
  { name: 'price', type: 'DOUBLE' },
  { name: 'qty', type: 'DOUBLE' },
  { name: 'is_buyer_maker', type: 'BOOLEAN', nullable: true },
  { name: 'first_trade_id', type: 'BIGINT' },
  { name: 'last_trade_id', type: 'BIGINT' },
];

export const QUOTE_COLUMNS: readonly ColumnSpec[] = [
  { name: 'recv_ts_ms', type: 'BIGINT' },
  { name: 'recv_seq', type: 'BIGINT' },
  { name: 'ts_ms', type: 'BIGINT' },
  { name: 'symbol', type: 'VARCHAR' },
  { name: 'update_id', type: 'BIGINT' },
  { name: 'bid_px', type: 'DOUBLE' },
  { name: 'bid_qty', type: 'DOUBLE' },
  { name: 'ask_px', type: 'DOUBLE' },
  { name: 'ask_qty', type: 'DOUBLE' },
];

export const DEPTH_COLUMNS: readonly ColumnSpec[] = [
  { name: 'recv_ts_ms', type: 'BIGINT' },
  { name: 'recv_seq', type: 'BIGINT' },
  { name: 'ts_ms', type: 'BIGINT' },
  { name: 'symbol', type: 'VARCHAR' },
  { name: 'last_update_id', type: 'BIGINT' },
  { name: 'bid_px', type: 'DOUBLE[]' },
  { name: 'bid_qty', type: 'DOUBLE[]' },
  { name: 'ask_px', type: 'DOUBLE[]' },
  { name: 'ask_qty', type: 'DOUBLE[]' },
];

export const COLUMNS_BY_KIND: Readonly<Record<Kind, readonly ColumnSpec[]>> = {
  trades: TRADE_COLUMNS,
  quotes: QUOTE_COLUMNS,
  depth: DEPTH_COLUMNS,
};

/**
 * The Float64Array columns of each batch kind, in schema order: every column
 * but the symbol (one per batch) and is_buyer_maker (an Int8Array); depth's
 * list columns hold `levels` values a row, with n_bid / n_ask beside them.
 */
export const F64_COLUMNS: Readonly<Record<Kind, readonly string[]>> = {
  trades: f64Names(TRADE_COLUMNS),
  quotes: f64Names(QUOTE_COLUMNS),
  depth: f64Names(DEPTH_COLUMNS),
};

function f64Names(cols: readonly ColumnSpec[]): readonly string[] {
  return cols.filter((c) => c.type === 'BIGINT' || c.type === 'DOUBLE' || c.type === 'DOUBLE[]').map((c) => c.name);
}

/** is_buyer_maker encoding in Int8Array columns: 1 = true (taker sold), 0 = false (taker bought), -1 = unknown. */
export const SIDE_UNKNOWN = -1;

export interface TradeBatch {
  readonly kind: 'trades';
  readonly symbol: string;
  readonly length: number;
  readonly recv_ts_ms: Float64Array;
  readonly recv_seq: Float64Array;
  readonly ts_ms: Float64Array;
  readonly event_ts_ms: Float64Array;
  readonly agg_trade_id: Float64Array;
  readonly price: Float64Array;
  readonly qty: Float64Array;
  /** 1 / 0 / -1 (unknown), see SIDE_UNKNOWN. */
  readonly is_buyer_maker: Int8Array;
  readonly first_trade_id: Float64Array;
  readonly last_trade_id: Float64Array;
}

export interface QuoteBatch {
  readonly kind: 'quotes';
  readonly symbol: string;
  readonly length: number;
  readonly recv_ts_ms: Float64Array;
  readonly recv_seq: Float64Array;
  readonly ts_ms: Float64Array;
  readonly update_id: Float64Array;
  readonly bid_px: Float64Array;
  readonly bid_qty: Float64Array;
  readonly ask_px: Float64Array;
  readonly ask_qty: Float64Array;
}

/**
 * Depth snapshots, top `levels` per side, flattened row-major: level j of row i
 * is at `i * levels + j`. Missing levels (thin book) are NaN and `n_bid[i]` /
 * `n_ask[i]` give the real count; in Parquet a row's list holds only real levels.
 */
export interface DepthBatch {
  readonly kind: 'depth';
  readonly symbol: string;
  readonly length: number;
  readonly levels: number;
  readonly recv_ts_ms: Float64Array;
  readonly recv_seq: Float64Array;
  readonly ts_ms: Float64Array;
  readonly last_update_id: Float64Array;
  readonly n_bid: Uint8Array;
  readonly n_ask: Uint8Array;
  readonly bid_px: Float64Array;
  readonly bid_qty: Float64Array;
  readonly ask_px: Float64Array;
  readonly ask_qty: Float64Array;
}

export type TickBatch = TradeBatch | QuoteBatch | DepthBatch;

/**
 * Where producers (importers, synthetic market, recorder) put raw ticks.
 * One call per tick, primitive arguments only, so hot loops allocate nothing.
 * `recv_seq` is assigned by the sink, in call order: arrival order is call order.
 */
export interface RawSink {
  trade(
    symbol: string,
    recvTsMs: number,
    tsMs: number,
    eventTsMs: number,
    aggTradeId: number,
    price: number,
    qty: number,
    isBuyerMaker: number,
    firstTradeId: number,
    lastTradeId: number,
  ): void;
  quote(
    symbol: string,
    recvTsMs: number,
    tsMs: number,
    updateId: number,
    bidPx: number,
    bidQty: number,
    askPx: number,
    askQty: number,
  ): void;
  /** Arrays are read during the call and not retained (callers may reuse them). */
  depth(
    symbol: string,
    recvTsMs: number,
    tsMs: number,
    lastUpdateId: number,
    bidPx: ArrayLike<number>,
    bidQty: ArrayLike<number>,
    nBid: number,
    askPx: ArrayLike<number>,
    askQty: ArrayLike<number>,
    nAsk: number,
  ): void;
}
