/**
 * Per-symbol parameters of the synthetic market: price level, tick and lot
 * sizes (Binance spot filters, mid-2024 levels), trade-size and queue-size
 * scales, volatility and activity.
 *
 * Prices and quantities are generated as integers (ticks, lots) and turned
 * into doubles with ONE division by a power of ten: `ticks * tickUnits / 10^dp`.
 * IEEE division is correctly rounded, so the result is exactly the double that
 * parsing the decimal string gives (no float noise such as 60000.010000000002).
 */
import { Rng } from './rng.js';

export interface SymbolSpec {
  readonly symbol: string;
  /** Reference price (quote currency) around which the day starts. */
  readonly price: number;
  /** Tick = tickUnits / 10^priceDp (e.g. 1 / 10^2 = 0.01). */
  readonly tickUnits: number;
  readonly priceDp: number;
  /** Lot (quantity step) = lotUnits / 10^qtyDp. */
  readonly lotUnits: number;
  readonly qtyDp: number;
  /** Median aggressor order size (base asset); sizes are lognormal. */
  readonly tradeQtyMedian: number;
  /** Median L1 queue size (base asset). */
  readonly l1QtyMedian: number;
  /** Median size of a deeper book level (base asset). */
  readonly depthQtyMedian: number;
  /** Mean extra ticks between consecutive depth levels (gap = 1 + floor(Exp(mean))). */
  readonly depthGapTicks: number;
  /** Annualised volatility at the base vol level (before regime/session/clustering factors). */
  readonly annualVol: number;
  /** Activity multiplier on the trade intensity. */
  readonly activity: number;
  /** First aggTrade id / trade id / book update id at 2024-01-01T00:00:00Z; grows with the start time. */
  readonly baseAggId: number;
  readonly baseTradeId: number;
  readonly baseUpdateId: number;
}

export const SEED_SYMBOLS: readonly SymbolSpec[] = [
  {
    symbol: 'BTCUSDT',
    price: 60000,
    tickUnits: 1,
    priceDp: 2,
    lotUnits: 1,
    qtyDp: 5,
    tradeQtyMedian: 0.002,
    l1QtyMedian: 1.2,
    depthQtyMedian: 0.25,
    depthGapTicks: 6,
    annualVol: 0.55,
    activity: 1.1,
    baseAggId: 2_900_000_000,
    baseTradeId: 3_400_000_000,
    baseUpdateId: 42_000_000_000,
  },
  {
    symbol: 'ETHUSDT',
    price: 2600,
    tickUnits: 1,
    priceDp: 2,
    lotUnits: 1,
    qtyDp: 4,
    tradeQtyMedian: 0.04,
    l1QtyMedian: 12,
    depthQtyMedian: 3,
    depthGapTicks: 2,
    annualVol: 0.7,
    activity: 1.05,
    baseAggId: 1_900_000_000,
    baseTradeId: 1_350_000_000,
    baseUpdateId: 30_000_000_000,
  },
  {
    symbol: 'BNBUSDT',
    price: 520,
    tickUnits: 1,
    priceDp: 1,
    lotUnits: 1,
    qtyDp: 3,
    tradeQtyMedian: 0.3,
    l1QtyMedian: 25,
    depthQtyMedian: 8,
    depthGapTicks: 0.3,
    annualVol: 0.6,
    activity: 0.9,
    baseAggId: 750_000_000,
    baseTradeId: 780_000_000,
    baseUpdateId: 18_000_000_000,
  },
  {
    symbol: 'XRPUSDT',
    price: 0.55,
    tickUnits: 1,
    priceDp: 4,
    lotUnits: 1,
    qtyDp: 0,
    tradeQtyMedian: 250,
    l1QtyMedian: 60000,
    depthQtyMedian: 20000,
    depthGapTicks: 0.2,
    annualVol: 0.75,
    activity: 0.95,
    baseAggId: 560_000_000,
    baseTradeId: 610_000_000,
    baseUpdateId: 16_000_000_000,
  },
  {
    symbol: 'ADAUSDT',
    price: 0.34,
    tickUnits: 1,
    priceDp: 4,
    lotUnits: 1,
    qtyDp: 1,
    tradeQtyMedian: 400,
    l1QtyMedian: 80000,
    depthQtyMedian: 30000,
    depthGapTicks: 0.2,
    annualVol: 0.75,
    activity: 0.9,
    baseAggId: 420_000_000,
    baseTradeId: 520_000_000,
    baseUpdateId: 12_000_000_000,
  },
  {
    symbol: 'SOLUSDT',
    price: 150,
    tickUnits: 1,
    priceDp: 2,
    lotUnits: 1,
    qtyDp: 3,
    tradeQtyMedian: 1.2,
    l1QtyMedian: 150,
    depthQtyMedian: 40,
    depthGapTicks: 1,
    annualVol: 0.85,
    activity: 1.0,
    baseAggId: 780_000_000,
    baseTradeId: 890_000_000,
    baseUpdateId: 20_000_000_000,
  },
];

export const SEED_SYMBOL_NAMES: readonly string[] = SEED_SYMBOLS.map((s) => s.symbol);

/**
 * Parameters for a symbol outside the seed list: a plausible altcoin whose
 * price level (0.05 .. 500), tick (about 1e-4 of the price) and sizes are drawn
 * from the symbol name's own hash, so they never depend on the run seed.
 */
export function genericSpec(symbol: string): SymbolSpec {
  const r = Rng.derive(0, symbol, 'spec');
  const price = 10 ** (-1.3 + 4 * r.uniform());
  const priceDp = Math.max(0, Math.min(8, 4 - Math.floor(Math.log10(price))));
  const notional = 200; // median trade, quote currency
  const qtyDp = Math.max(0, Math.min(8, Math.floor(Math.log10(price)) + 3));
  return {
    symbol,
    price,
    tickUnits: 1,
    priceDp,
    lotUnits: 1,
    qtyDp,
    tradeQtyMedian: notional / price,
    l1QtyMedian: (notional * 150) / price,
    depthQtyMedian: (notional * 50) / price,
    depthGapTicks: 0.5,
    annualVol: 0.8,
    activity: 0.9,
    baseAggId: 100_000_000 + r.int(100_000_000),
    baseTradeId: 200_000_000 + r.int(100_000_000),
    baseUpdateId: 5_000_000_000 + r.int(1_000_000_000),
  };
}

export function specFor(symbol: string): SymbolSpec {
  return SEED_SYMBOLS.find((s) => s.symbol === symbol) ?? genericSpec(symbol);
}

/** Exact decimal scaling: `n * units / 10^dp` with one correctly rounded division. */
export function scaled(n: number, units: number, dp: number): number {
  return (n * units) / POW10[dp];
}

export const POW10: readonly number[] = [1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12];

/** Size of one tick / one lot as a double (for display and checks). */
export function tickSize(s: SymbolSpec): number {
  return scaled(1, s.tickUnits, s.priceDp);
}

export function lotSize(s: SymbolSpec): number {
  return scaled(1, s.lotUnits, s.qtyDp);
}
