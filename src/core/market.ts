/**
 * Venue and market kind of a dataset's ticks. Book sync rules (spot `U`/`u`
 * vs futures `pu`), bookTicker timestamps (spot has none) and fee tiers differ
 * between Binance spot, USD-M and COIN-M, so every dataset manifest says which
 * one its ticks come from (per symbol and per part file), and replay refuses
 * to mix kinds for one symbol.
 *
 * `unknown` is what datasets written before this field say, and what a source
 * that cannot tell says (e.g. a recorder pointed at a local mock exchange).
 */
import { FlowlabError } from './errors.js';

export const VENUES = ['binance', 'synthetic', 'unknown'] as const;
export type Venue = (typeof VENUES)[number];
export const MARKETS = ['spot', 'usdm', 'coinm', 'unknown'] as const;
export type Market = (typeof MARKETS)[number];

export interface MarketInfo {
  readonly venue: Venue;
  readonly market: Market;
}

export const UNKNOWN_MARKET: MarketInfo = Object.freeze({ venue: 'unknown', market: 'unknown' });
export const BINANCE_SPOT: MarketInfo = Object.freeze({ venue: 'binance', market: 'spot' });
export const BINANCE_USDM: MarketInfo = Object.freeze({ venue: 'binance', market: 'usdm' });
export const BINANCE_COINM: MarketInfo = Object.freeze({ venue: 'binance', market: 'coinm' });
/** The synthetic market models Binance spot symbols (src/synth/README.md). */
export const SYNTHETIC_SPOT: MarketInfo = Object.freeze({ venue: 'synthetic', market: 'spot' });

export function isKnown(m: MarketInfo): boolean {
  return m.venue !== 'unknown' || m.market !== 'unknown';
}

export function sameMarket(a: MarketInfo, b: MarketInfo): boolean {
  return a.venue === b.venue && a.market === b.market;
}

/** `binance/usdm`, for messages. */
export function marketLabel(m: MarketInfo): string {
  return `${m.venue}/${m.market}`;
}

/**
 * The one known market among `ms` (unknown entries are ignored: they are parts
 * written before the field existed); UNKNOWN_MARKET when none is known. Throws
 * when two different known markets are present, naming `what` and both.
 */
export function combineMarkets(ms: Iterable<MarketInfo>, what: string): MarketInfo {
  let found: MarketInfo | null = null;
  for (const m of ms) {
    if (!isKnown(m)) continue;
    if (found === null) found = m;
    else if (!sameMarket(found, m))
      throw new FlowlabError(
        `${what} mixes market kinds ${marketLabel(found)} and ${marketLabel(m)} (book sync rules, timestamps and fees differ; keep them in separate datasets)`,
      );
  }
  return found === null ? UNKNOWN_MARKET : { venue: found.venue, market: found.market };
}

/**
 * A Binance symbol's futures kind: COIN-M contracts are `<BASE>USD_PERP` or
 * `<BASE>USD_<yymmdd>` (an underscore); USD-M contracts have none
 * (`BTCUSDT`, and dated `BTCUSDT_240927` only with a USDT/USDC quote).
 */
export function binanceFuturesKind(symbol: string): Market {
  const s = symbol.toUpperCase();
  const u = s.indexOf('_');
  if (u < 0) return 'usdm';
  const base = s.slice(0, u);
  return base.endsWith('USDT') || base.endsWith('USDC') ? 'usdm' : 'coinm';
}

/**
 * Market of a Binance WebSocket endpoint from its host: stream.binance.com,
 * data-stream.binance.vision and testnet.binance.vision are spot; fstream.*
 * (and stream.binancefuture.com) USD-M; dstream.* COIN-M. Anything else (a
 * local mock exchange, a proxy) is unknown.
 */
export function binanceMarketFromEndpoint(endpoint: string): MarketInfo {
  let host: string;
  try {
    host = new URL(endpoint).hostname.toLowerCase();
  } catch {
    return UNKNOWN_MARKET;
  }
  if (host.startsWith('dstream.') && (host.endsWith('.binance.com') || host.endsWith('.binancefuture.com')))
    return BINANCE_COINM;
  if (host.startsWith('fstream.') && (host.endsWith('.binance.com') || host.endsWith('.binancefuture.com')))
    return BINANCE_USDM;
  if (host === 'stream.binancefuture.com') return BINANCE_USDM;
  if (host.endsWith('stream.binance.com') || host === 'data-stream.binance.vision' || host === 'testnet.binance.vision')
    return BINANCE_SPOT;
  return UNKNOWN_MARKET;
}
