/** Synthetic market: public API (see README.md in this folder). */
export {
  DEFAULT_DATASET_RECIPE,
  DEFAULT_EFFECT,
  DEFAULT_SYNTH,
  GENERATOR_VERSION,
  generate,
  normalizeOptions,
  synthesize,
  synthOptionsFromSource,
  synthSource,
  type EffectChange,
  type SymbolSummary,
  type SynthesizeOptions,
  type SynthOptions,
  type SynthSummary,
} from './synth.js';
export { MODEL, SESSION_PROFILE, sessionMultiplier, SymbolMarket, type MarketTruth } from './market.js';
export { DEFAULT_CHANNEL, type ChannelCounters, type ChannelParams } from './channel.js';
export { SEED_SYMBOLS, SEED_SYMBOL_NAMES, specFor, tickSize, lotSize, type SymbolSpec } from './symbols.js';
export { Rng } from './rng.js';
